//! `POST /users/{user_id}/password`: self-service (with the current password) and
//! administrative (an API client for users of its sub-tenants) password changes. `204` on
//! success; `version` does not change.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::audit::{Actor, Origin};
use shared::aws::Https;
use shared::config::{ConfigError, Env, var};
use shared::http::{json_body, no_content, not_null};
use shared::idempotency::{self, Secrets, Verifier};
use shared::password::{
    Hasher, Password, PasswordConfig, PasswordHashString, PasswordPolicy, PolicyContext,
};
use shared::runtime::Function;
use shared::store::Setter;
use shared::{ApiError, Caller, Core, CoreConfig, Now, TenantRule, UserId, UserItem};

pub struct State {
    pub core: Core,
    pub policy: PasswordPolicy,
    pub hasher: Hasher,
}

impl State {
    pub fn new(core: Core, passwords: PasswordConfig) -> Result<Self, ConfigError> {
        let hasher = Hasher::new(passwords.argon2)
            .map_err(|e| ConfigError::new(var::ARGON2_MEMORY_KIB, e))?;
        Ok(Self {
            core,
            policy: passwords.policy,
            hasher,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordRequest {
    password: String,
    #[serde(default, deserialize_with = "not_null")]
    current_password: Option<String>,
}

impl Function for State {
    type Config = PasswordConfig;

    fn config(env: &Env<'_>) -> Result<PasswordConfig, ConfigError> {
        PasswordConfig::load(env)
    }

    fn connect(
        core: Core,
        _: &CoreConfig,
        config: &PasswordConfig,
        _: &Https,
    ) -> Result<Self, ConfigError> {
        Self::new(core, *config)
    }

    async fn handle(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let (caller, user_id) = self.core.caller_and_user(request)?;
        permitted(&caller, user_id)?;
        let valid = || valid_on_its_own(&self.policy, request);
        let work = change_password(self, request, &caller, user_id);
        let store = &self.core.store;
        let secrets = NewPassword(&self.hasher);
        idempotency::once(store, request, &caller, user_id, &secrets, valid, work).await
    }
}

/// Who may ask at all, before anything is read or replayed: the user itself, or an API
/// client with `users:write` (the tenant rule needs the user's item).
fn permitted(caller: &Caller, user_id: UserId) -> Result<(), ApiError> {
    if caller.is_user(user_id) {
        Ok(())
    } else if !caller.is_client() {
        Err(ApiError::Forbidden(
            "a user may change only its own password".into(),
        ))
    } else if !caller.can_write() {
        Err(ApiError::Forbidden(
            "setting a password requires the scope users:write".into(),
        ))
    } else {
        Ok(())
    }
}

async fn change_password(
    state: &State,
    request: &Request,
    caller: &Caller,
    user_id: UserId,
) -> Result<Response<Body>, ApiError> {
    let asking = Asking {
        origin: Origin::of(request, Actor::caller(caller)),
        caller,
        user_id,
    };
    let new_hash = if caller.is_user(user_id) {
        asking.self_service(state, json_body(request)?).await?
    } else {
        asking.administrative(state, json_body(request)?).await?
    };
    let mut response = no_content();
    // What a replay of this request must present again (see `NewPassword`).
    response
        .extensions_mut()
        .insert(Verifier(new_hash.as_str().to_owned()));
    Ok(response)
}

/// The password fields stay out of an `Idempotency-Key`'s fingerprint (a password is never
/// stored, not even as a fast hash), so a replay must prove it sets the same password: the
/// new password must verify against the Argon2id hash the first request wrote, kept with
/// the key's record. Another password with the same key is `422`, never a replayed `204`.
/// (A keyed MAC would be faster, but needs a key outside the table to manage and rotate;
/// a replay is rare, and one verification is what a self-service change costs anyway.)
struct NewPassword<'a>(&'a Hasher);

impl Secrets for NewPassword<'_> {
    fn fields(&self) -> &[&str] {
        &["password", "current_password"]
    }

    async fn presents(
        &self,
        request: &Request,
        verifier: Option<&Verifier>,
    ) -> Result<bool, ApiError> {
        // A record without a verifier cannot prove anything: not a replay.
        let Some(verifier) = verifier else {
            return Ok(false);
        };
        let body: PasswordRequest = json_body(request)?;
        let Some(password) = Password::normalize(&body.password) else {
            return Ok(false);
        };
        let stored = PasswordHashString::from_stored(verifier.0.clone());
        self.0.verify(password, stored).await
    }
}

/// What refuses a request whatever the user: its shape, and the password rules that need no
/// user (length, control characters, common passwords); an identifier is never found in a
/// password when there is none to look for.
fn valid_on_its_own(policy: &PasswordPolicy, request: &Request) -> Result<(), ApiError> {
    let body: PasswordRequest = json_body(request)?;
    if let Some(current) = &body.current_password {
        current_password(current)?;
    }
    let nobody = PolicyContext {
        login: "",
        email: "",
        current: None,
    };
    policy.check(&body.password, nobody).map(drop)
}

/// Who asks to set whose password, through which request.
struct Asking<'a> {
    caller: &'a Caller,
    user_id: UserId,
    origin: Origin,
}

/// The current password as given: any text that could be a password.
fn current_password(text: &str) -> Result<Password, ApiError> {
    Password::normalize(text).ok_or_else(|| {
        ApiError::invalid_field(
            "current_password",
            "too-long",
            "is longer than any password",
        )
    })
}

fn context<'a>(item: &'a UserItem, current: Option<&'a Password>) -> PolicyContext<'a> {
    PolicyContext {
        login: &item.user.login,
        email: &item.user.contact.email,
        current,
    }
}

impl Asking<'_> {
    /// The user itself: the current password must verify (limited to 5 tries in 15
    /// minutes), and the stored hash is replaced only if it is still the one verified.
    async fn self_service(
        &self,
        state: &State,
        body: PasswordRequest,
    ) -> Result<PasswordHashString, ApiError> {
        let (caller, user_id, origin) = (self.caller, self.user_id, &self.origin);
        let current = body.current_password.ok_or_else(|| {
            ApiError::invalid_field(
                "current_password",
                "required",
                "is required to change your own password",
            )
        })?;
        let current = current_password(&current)?;
        let token = caller
            .own_token(user_id)
            .ok_or_else(|| ApiError::Unauthorized("the token says nothing of its issue".into()))?;
        let store = &state.core.store;
        let rule = caller.subtree();
        let now = Now::current();
        let item = store
            .begin_password_check(user_id, rule, token, &now)
            .await?;
        let Some(stored_hash) = item.password_hash.clone() else {
            return Err(ApiError::InvalidCurrentPassword);
        };
        if !state
            .hasher
            .verify(current.clone(), stored_hash.clone())
            .await?
        {
            return Err(ApiError::InvalidCurrentPassword);
        }
        let new_password = match state
            .policy
            .check(&body.password, context(&item, Some(&current)))
        {
            Ok(password) => password,
            Err(violations) => {
                // The current password was right: that resets the count, as a change would.
                store.clear_password_attempts(user_id, rule).await?;
                return Err(violations);
            }
        };
        let new_hash = state.hasher.hash(new_password).await?;
        let setter = Setter::Own {
            verified: &stored_hash,
            token,
        };
        store
            .set_password_hash(user_id, rule, setter, &new_hash, &now, origin)
            .await?;
        Ok(new_hash)
    }

    /// An API client with `users:write`, for a user of a strict sub-tenant of its own
    /// tenant (the platform's rule): no current password needed.
    async fn administrative(
        &self,
        state: &State,
        body: PasswordRequest,
    ) -> Result<PasswordHashString, ApiError> {
        let (caller, user_id, origin) = (self.caller, self.user_id, &self.origin);
        let store = &state.core.store;
        let item = store
            .get_user(user_id)
            .await?
            .filter(|item| caller.subtree().admits(&item.tenant_path))
            .ok_or(ApiError::NotFound)?;
        let rule = TenantRule::SubTenantsOf(caller.tenant_id);
        if !rule.admits(&item.tenant_path) {
            return Err(ApiError::Forbidden(
                "API clients may set passwords only for users of sub-tenants of their own tenant"
                    .into(),
            ));
        }
        let new_password = state.policy.check(&body.password, context(&item, None))?;
        let new_hash = state.hasher.hash(new_password).await?;
        store
            .set_password_hash(
                user_id,
                rule,
                Setter::Administrator,
                &new_hash,
                &Now::current(),
                origin,
            )
            .await?;
        Ok(new_hash)
    }
}
