//! The confirmation of an email change, through the link mailed to the old address. No
//! authorizer: the token is the credential. This function only applies pending changes
//! (its role may only `UpdateItem` user items): it has no mail settings and sends nothing.
//!
//! - `GET /users/{user_id}/email/confirmation?token=…`: a page with a button; changes nothing,
//!   because mail scanners open links.
//! - `POST /users/{user_id}/email/confirmation`: JSON `{"token"}` (answers the user object) or
//!   the page's form (answers a page); applies the change once (`version` + 1).
//!
//! Pages are written in the language the browser asks for (`Accept-Language`): the `GET`
//! reads nothing, so it cannot know the user's.

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use shared::audit::{Actor, Origin};
use shared::confirmation::ConfirmationToken;
use shared::http::{body_bytes, json_body, media_type, path_user_id, user_response};
use shared::language::Language;
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
            Method::GET => confirmation_page(request, page_language(request)),
            Method::POST if is_page(request) => confirm_form(self, request).await,
            Method::POST => confirm_json(self, request).await,
            _ => Err(ApiError::NotFound),
        }
    }

    fn render_error(&self, request: &Request, error: &ApiError) -> Response<Body> {
        if is_page(request) {
            error_page(error, page_language(request))
        } else {
            error.to_response(request.uri().path())
        }
    }
}

/// The language the reader's browser asks for.
fn page_language(request: &Request) -> Language {
    Language::negotiate(
        request
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok()),
    )
}

fn query_token(request: &Request) -> Result<ConfirmationToken, ApiError> {
    request
        .query_string_parameters_ref()
        .and_then(|query| query.first("token"))
        .and_then(ConfirmationToken::parse)
        .ok_or(ApiError::InvalidToken)
}

/// The page the mailed link opens: a button that POSTs the token. Changes nothing.
fn confirmation_page(request: &Request, language: Language) -> Result<Response<Body>, ApiError> {
    path_user_id(request)?;
    let token = query_token(request)?;
    // Both the token (base64url) and the form action are fixed alphabets: nothing to escape.
    Ok(html(
        StatusCode::OK,
        language,
        "page-confirm-title",
        &format!(
            "<p>{}</p><form method=\"post\" action=\"confirmation\">\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\
             <button type=\"submit\">{}</button></form>",
            escape(&language.text("page-confirm-text", None)),
            token.as_str(),
            escape(&language.text("page-confirm-button", None)),
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
    let language = page_language(request);
    Ok(html(
        StatusCode::OK,
        language,
        "page-confirmed-title",
        &format!(
            "<p>{}</p>",
            escape(&language.text("page-confirmed-text", None))
        ),
    ))
}

/// An error of the confirmation pages, as a page a person can read: the error's own
/// words where the messages have them (`page-error-<slug>-…`), general ones otherwise.
fn error_page(error: &ApiError, language: Language) -> Response<Body> {
    let specific = format!("page-error-{}", error.slug());
    let id = if language.has(&format!("{specific}-title")) {
        specific.as_str()
    } else {
        "page-error"
    };
    html(
        error.status(),
        language,
        &format!("{id}-title"),
        // The problem type's slug, for programs that read the page (as problem+json's type).
        &format!(
            "<p data-problem=\"{}\">{}</p>",
            error.slug(),
            escape(&language.text(&format!("{id}-text"), None))
        ),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A page in `language`, headed by the message `title`, with `content` (HTML, escaped).
fn html(status: StatusCode, language: Language, title: &str, content: &str) -> Response<Body> {
    let title = escape(&language.text(title, None));
    let lang = language.tag();
    let page = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
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
        (header::CONTENT_LANGUAGE, lang),
        // The page's language is the request's Accept-Language.
        (header::VARY, "Accept-Language"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
