//! `PUT /users/{user_id}/email`: a user that is not activated gets the new address at once
//! (`version` + 1); an activated one keeps its address and `version` until the link mailed to
//! the OLD address is followed (that confirmation is the `confirm-email` function's).

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::audit::{Actor, Origin};
use shared::aws::Https;
use shared::config::{ConfigError, Env};
use shared::confirmation::{self, ConfirmationToken, PendingEmail};
use shared::email::{EmailAddress, EmailConfig};
use shared::http::{Precondition, json_body, not_null, user_response};
use shared::idempotency::{self, NoSecrets};
use shared::language::Language;
use shared::mail::{MailConfig, Mailer};
use shared::runtime::Function;
use shared::store::{DirectChange, EmailChange};
use shared::{ApiError, Caller, Core, CoreConfig, Now, UserId, UserItem, Version};

/// Its configuration besides the core's.
pub struct Config {
    pub email: EmailConfig,
    pub mail: MailConfig,
}

impl Config {
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            email: EmailConfig::load(env)?,
            mail: MailConfig::load(env)?,
        })
    }
}

pub struct State {
    pub core: Core,
    pub email: EmailConfig,
    pub mailer: Mailer,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailRequest {
    contact: ContactEmail,
    /// Optional when `If-Match` names the version.
    #[serde(default, deserialize_with = "not_null")]
    version: Option<Version>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactEmail {
    email: String,
}

impl State {
    pub fn new(core: Core, email: EmailConfig, mailer: Mailer) -> Self {
        Self {
            core,
            email,
            mailer,
        }
    }
}

impl Function for State {
    type Config = Config;

    fn config(env: &Env<'_>) -> Result<Config, ConfigError> {
        Config::load(env)
    }

    fn connect(
        core: Core,
        settings: &CoreConfig,
        config: &Config,
        https: &Https,
    ) -> Result<Self, ConfigError> {
        Ok(Self::new(
            core,
            config.email.clone(),
            Mailer::connect(&config.mail, settings, https)?,
        ))
    }

    async fn handle(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let (caller, user_id) = self.core.caller_and_user(request)?;
        // Before anything is read or replayed.
        if !caller.is_user(user_id) && !caller.can_write() {
            return Err(ApiError::Forbidden(
                "changing another user's email requires the scope users:write".into(),
            ));
        }
        let valid = || {
            let body: EmailRequest = json_body(request)?;
            EmailAddress::parse(&body.contact.email).map(drop)
        };
        let work = request_change(self, request, &caller, user_id);
        let store = &self.core.store;
        idempotency::once(store, request, &caller, user_id, &NoSecrets, valid, work).await
    }
}

async fn request_change(
    state: &State,
    request: &Request,
    caller: &Caller,
    user_id: UserId,
) -> Result<Response<Body>, ApiError> {
    let body: EmailRequest = json_body(request)?;
    let precondition = Precondition::of(request, body.version)?;
    let email = EmailAddress::parse(&body.contact.email)?;
    let origin = Origin::of(request, Actor::caller(caller));
    let change = EmailChange {
        user_id,
        rule: caller.subtree(),
        expected: precondition.version,
        email: &email,
        own: caller.own_token(user_id),
        now: Now::current(),
        origin: &origin,
    };
    let store = &state.core.store;
    let explain = |e| precondition.explain(e);
    let item = match store.change_email_now(&change).await.map_err(explain)? {
        DirectChange::Changed(item) => return Ok(user_response(&item)),
        DirectChange::NeedsConfirmation(item) => item,
    };

    // Activated: store the pending change (within the mail limit), then mail the link to
    // the old address.
    let token = ConfirmationToken::generate()?;
    let pending = PendingEmail::new(&email, &token, &change.now, state.email.token_ttl_secs);
    let item = store
        .set_pending_email(&change, &item, &pending, &state.email.confirmation_mails)
        .await
        .map_err(explain)?;
    if let Err(error) = send_confirmation(state, &item, &email, &token).await {
        // Nobody may confirm a token that never reached the user.
        if let Err(withdrawal) = store
            .withdraw_pending_email(user_id, &pending.token_hash)
            .await
        {
            tracing::error!(error = %withdrawal, "could not withdraw an unsent email change");
        }
        return Err(error);
    }
    Ok(user_response(&item))
}

async fn send_confirmation(
    state: &State,
    item: &UserItem,
    new_email: &EmailAddress,
    token: &ConfirmationToken,
) -> Result<(), ApiError> {
    let old_email = EmailAddress::parse(&item.user.contact.email).map_err(|_| {
        ApiError::Forbidden("the account has no valid address to confirm the change with".into())
    })?;
    let link = confirmation::link(&state.email.confirmation_url_base, item.user.id, token);
    let mail = confirmation::mail(
        old_email,
        Language::of_tag(&item.user.language),
        &item.user.login,
        new_email,
        &link,
        state.email.token_ttl_secs,
    );
    state.mailer.send(&mail).await
}
