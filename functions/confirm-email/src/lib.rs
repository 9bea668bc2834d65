//! The confirmation of an email change, through the link mailed to the old address. No
//! authorizer: the token is the credential. This function only applies pending changes
//! (its role may only `UpdateItem` user items): it has no mail settings and sends nothing.
//!
//! - `GET /users/{user_id}/email/confirmation?token=…`: a page with a button; changes nothing,
//!   because mail scanners open links.
//! - `POST /users/{user_id}/email/confirmation`: JSON `{"token"}` (answers the user object) or
//!   the page's form (answers a page); applies the change once (`version` + 1).

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use shared::audit::{Actor, Origin};
use shared::confirmation::ConfirmationToken;
use shared::http::{body_bytes, json_body, media_type, path_user_id, user_response};
use shared::runtime::CoreFunction;
use shared::{ApiError, Core, Now, UserId, UserItem};

pub const FORM: &str = "application/x-www-form-urlencoded";

/// The store (the token is the credential: the core's authenticator is never asked).
pub struct State(pub Core);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    token: String,
}

/// The requests a person's browser makes (the page and its form): their errors are pages.
fn is_page(request: &Request) -> bool {
    request.method() == Method::GET || media_type(request).as_deref() == Some(FORM)
}

impl CoreFunction for State {
    fn new(core: Core) -> Self {
        Self(core)
    }

    async fn handle(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        match *request.method() {
            Method::GET => confirmation_page(request),
            Method::POST if is_page(request) => confirm_form(self, request).await,
            Method::POST => confirm_json(self, request).await,
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

async fn confirm(
    state: &State,
    request: &Request,
    user_id: UserId,
    raw_token: &str,
) -> Result<UserItem, ApiError> {
    let token = ConfirmationToken::parse(raw_token).ok_or(ApiError::InvalidToken)?;
    let origin = Origin::of(request, Actor::confirmation_link(user_id));
    state
        .0
        .store
        .confirm_email(user_id, &token.hash(), &Now::current(), &origin)
        .await
}

async fn confirm_json(state: &State, request: &Request) -> Result<Response<Body>, ApiError> {
    let user_id = path_user_id(request)?;
    let body: TokenRequest = json_body(request)?;
    let item = confirm(state, request, user_id, &body.token).await?;
    Ok(user_response(&item))
}

async fn confirm_form(state: &State, request: &Request) -> Result<Response<Body>, ApiError> {
    let user_id = path_user_id(request)?;
    let body: TokenRequest = serde_urlencoded::from_bytes(body_bytes(request)?)
        .map_err(|e| ApiError::invalid_field("token", "invalid", e.to_string()))?;
    confirm(state, request, user_id, &body.token).await?;
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
