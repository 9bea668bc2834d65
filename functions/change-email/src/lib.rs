//! Email change with confirmation:
//!
//! - `PUT /users/{user_id}/email`: a user that is not activated gets the new address at once
//!   (`version` + 1); an activated one keeps its address and `version` until the link mailed
//!   to the OLD address is followed.
//! - `GET /users/{user_id}/email/confirmation?token=…`: a page with a button; changes nothing,
//!   because mail scanners open links.
//! - `POST /users/{user_id}/email/confirmation`: JSON `{"token"}` or the page's form; applies
//!   the change once (`version` + 1).

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use shared::config::{ConfigError, Env, ProcessEnv};
use shared::email::{EmailAddress, EmailConfig, PendingEmail};
use shared::http::{body_bytes, json_body, media_type, path_user_id, user_response};
use shared::mail::{Mail, MailConfig, Mailer};
use shared::runtime::Function;
use shared::store::{DirectChange, EmailChange};
use shared::token::ConfirmationToken;
use shared::{ApiError, Core, CoreConfig, Now, UserId, UserItem, Version};

pub const FORM: &str = "application/x-www-form-urlencoded";
pub const MAIL_SUBJECT: &str = "Confirm the new email address of your account";

pub struct Config {
    pub core: CoreConfig,
    pub email: EmailConfig,
    pub mail: MailConfig,
}

impl Config {
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            core: CoreConfig::load(env)?,
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
    version: Version,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactEmail {
    email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    token: String,
}

/// The confirmation routes that a person's browser opens: their errors are pages too.
fn is_page(request: &Request) -> bool {
    request.uri().path().ends_with("/email/confirmation")
        && (request.method() == Method::GET || media_type(request).as_deref() == Some(FORM))
}

impl Function for State {
    type Config = Config;

    fn config() -> Result<Config, ConfigError> {
        Config::load(&Env::new(&ProcessEnv))
    }

    fn connect(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self {
            core: Core::connect(&config.core)?,
            email: config.email.clone(),
            mailer: Mailer::connect(&config.mail, &config.core.region)?,
        })
    }

    async fn handle(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let confirmation = request.uri().path().ends_with("/email/confirmation");
        match (request.method().clone(), confirmation) {
            (Method::PUT, false) => request_change(self, request).await,
            (Method::GET, true) => confirmation_page(request),
            (Method::POST, true) if is_page(request) => confirm_form(self, request).await,
            (Method::POST, true) => confirm_json(self, request).await,
            _ => Err(ApiError::NotFound),
        }
    }

    fn render_error(&self, request: &Request, error: &ApiError) -> Response<Body> {
        if is_page(request) {
            error_page(error)
        } else {
            error.to_response(request.uri().path())
        }
    }
}

async fn request_change(state: &State, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = state.core.auth.caller(request)?;
    let user_id = path_user_id(request)?;
    let acting_on_self = caller.is_user(user_id);
    if !acting_on_self && !caller.can_write() {
        return Err(ApiError::Forbidden(
            "changing another user's email requires the scope users:write".into(),
        ));
    }
    let body: EmailRequest = json_body(request)?;
    let email = EmailAddress::parse(&body.contact.email)?;
    let change = EmailChange {
        user_id,
        rule: caller.subtree(),
        expected: body.version,
        email: &email,
        acting_on_self,
        now: Now::current(),
    };
    let store = &state.core.store;
    let item = match store.change_email_now(&change).await? {
        DirectChange::Changed(item) => return Ok(user_response(&item)),
        DirectChange::NeedsConfirmation(item) => item,
    };

    // Activated: store the pending change (within the mail limit), then mail the link to
    // the old address.
    let token = ConfirmationToken::generate()?;
    let expires = change.now.later(state.email.token_ttl_secs);
    let pending = PendingEmail {
        email: email.to_string(),
        token_hash: token.hash(),
        requested_at: change.now.timestamp.clone(),
        expires_at: expires.timestamp,
        expires_epoch: expires.epoch,
    };
    let item = store
        .set_pending_email(&change, &item, &pending, &state.email.confirmation_mails)
        .await?;
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
    let link = state.email.confirmation_link(item.user.id, token);
    let hours = state.email.token_ttl_secs as f64 / 3600.0;
    let text = format!(
        "Hello {login},\n\n\
         someone asked to change the email address of your account from\n\
         {old_email} to {new_email}.\n\n\
         To confirm the change, open this link within {hours} hours and press the button:\n\n\
         {link}\n\n\
         If you did not ask for this, ignore this message: nothing changes.\n",
        login = item.user.login,
    );
    state
        .mailer
        .send(&Mail {
            to: old_email,
            subject: MAIL_SUBJECT,
            text,
        })
        .await
}

fn query_token(request: &Request) -> Result<ConfirmationToken, ApiError> {
    request
        .query_string_parameters_ref()
        .and_then(|query| query.first("token"))
        .and_then(ConfirmationToken::parse)
        .ok_or(ApiError::InvalidToken)
}

/// The page the mailed link opens: a button that POSTs the token. Changes nothing.
fn confirmation_page(request: &Request) -> Result<Response<Body>, ApiError> {
    path_user_id(request)?;
    let token = query_token(request)?;
    // Both the token (base64url) and the form action are fixed alphabets: nothing to escape.
    Ok(html(
        StatusCode::OK,
        "Confirm your new email address",
        &format!(
            "<p>Press the button to confirm the new email address of your account.</p>\
             <form method=\"post\" action=\"confirmation\">\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\
             <button type=\"submit\">Confirm the new address</button></form>",
            token.as_str()
        ),
    ))
}

async fn confirm(state: &State, user_id: UserId, raw_token: &str) -> Result<UserItem, ApiError> {
    let token = ConfirmationToken::parse(raw_token).ok_or(ApiError::InvalidToken)?;
    state
        .core
        .store
        .confirm_email(user_id, &token.hash(), &Now::current())
        .await
}

async fn confirm_json(state: &State, request: &Request) -> Result<Response<Body>, ApiError> {
    let user_id = path_user_id(request)?;
    let body: TokenRequest = json_body(request)?;
    let item = confirm(state, user_id, &body.token).await?;
    Ok(user_response(&item))
}

async fn confirm_form(state: &State, request: &Request) -> Result<Response<Body>, ApiError> {
    let user_id = path_user_id(request)?;
    let body: TokenRequest = serde_urlencoded::from_bytes(body_bytes(request)?)
        .map_err(|e| ApiError::invalid_field("token", "invalid", e.to_string()))?;
    confirm(state, user_id, &body.token).await?;
    Ok(html(
        StatusCode::OK,
        "Email address confirmed",
        "<p>Your new email address is confirmed. You can close this page.</p>",
    ))
}

/// An error of the confirmation pages, as a page a person can read.
fn error_page(error: &ApiError) -> Response<Body> {
    html(
        error.status(),
        &escape(error.title()),
        &format!("<p>{}.</p>", escape(&error.detail())),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html(status: StatusCode, title: &str, content: &str) -> Response<Body> {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body><main><h1>{title}</h1>{content}</main></body></html>"
    );
    let mut response = Response::new(Body::Text(page));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        // The token is in the page's URL: never send it on as a referrer.
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
