//! The one error type of the functions, and its one rendering as RFC 9457 problem details.
//!
//! Handlers return `Result<_, ApiError>` and use `?`; [`ApiError::to_response`] is the only
//! place that turns an error into problem+json. Details meant for operators (SDK errors,
//! causes of 500s) are logged by `runtime::respond`, never put into a body.

use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::json;

use crate::ids::Version;

/// Base of every problem `type`; the slug of docs/contract.md §5 follows it.
pub const PROBLEM_TYPE_BASE: &str = "https://accounts.example.com/problems/";

/// Seconds a client should wait after a 503.
pub(crate) const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 1;

/// `Retry-After` of a 409 idempotency-key-in-use: the functions answer within seconds.
pub(crate) const IN_USE_RETRY_AFTER_SECS: u64 = 1;

/// What a handler answers: a response, or the error that `runtime::respond` renders.
pub type Answer = Result<Response<Body>, ApiError>;

/// One problem with one field of the request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// What a `429 too-many-attempts` limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limited {
    /// Wrong current passwords (docs/contract.md §4: 5 in 15 minutes, then a 15-minute lockout).
    PasswordAttempts,
    /// Confirmation mails of email changes (a cool-down and a daily limit per user).
    ConfirmationMails,
}

impl Limited {
    fn reason(self) -> &'static str {
        match self {
            Limited::PasswordAttempts => "too many wrong current passwords",
            Limited::ConfirmationMails => "too many confirmation mails for this user",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("validation error: {detail}")]
    Validation {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("the password breaks the policy")]
    PasswordPolicy { errors: Vec<FieldError> },
    #[error("invalid confirmation token")]
    InvalidToken,
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// A user's token issued before its credentials changed or its account was disabled.
    #[error("token revoked")]
    TokenRevoked,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("wrong current password")]
    InvalidCurrentPassword,
    #[error("account disabled")]
    AccountDisabled,
    #[error("not found")]
    NotFound,
    #[error("version conflict, current version {current}")]
    VersionConflict { current: Version },
    /// `If-Match` named another version (RFC 9110 §13.1.1).
    #[error("precondition failed, current version {current}")]
    PreconditionFailed { current: Version },
    /// Neither `If-Match` nor a body `version` (RFC 6585 §3).
    #[error("precondition required")]
    PreconditionRequired,
    /// An `Idempotency-Key` sent again with another request.
    #[error("idempotency key reused with another payload")]
    IdempotencyKeyReuse,
    /// An `Idempotency-Key` whose first request is still running.
    #[error("idempotency key in use")]
    IdempotencyKeyInUse,
    #[error("confirmation token expired")]
    TokenExpired,
    #[error("payload too large")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type")]
    UnsupportedMediaType { expected: &'static str },
    #[error("too many attempts")]
    TooManyAttempts {
        limited: Limited,
        retry_after_secs: u64,
    },
    /// The mail service refused the message for good (a rejected recipient or sender, a
    /// suspended account): retrying the request cannot help.
    #[error("mail rejected: {cause}")]
    MailRejected { cause: String },
    /// DynamoDB (or another dependency) throttled or could not be reached.
    #[error("unavailable: {cause}")]
    Unavailable { cause: String },
    /// Anything else. The cause is logged, never returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 about one field.
    pub fn invalid_field(
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        let error = FieldError::new(field, code, message);
        ApiError::Validation {
            detail: format!("{}: {}", error.field, error.message),
            errors: vec![error],
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    pub fn status(&self) -> StatusCode {
        self.kind().0
    }

    /// The slug that ends the problem `type` (docs/contract.md §5).
    pub fn slug(&self) -> &'static str {
        self.kind().1
    }

    /// A short summary a person can read (problem `title`, page heading).
    pub fn title(&self) -> &'static str {
        self.kind().2
    }

    /// Status, slug and title of each kind of error, side by side: one table to read
    /// against docs/contract.md §5 (kept as a table, one kind a line).
    #[rustfmt::skip]
    fn kind(&self) -> (StatusCode, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            ApiError::Validation { .. } => (S::BAD_REQUEST, "validation-error", "The request is not valid"),
            ApiError::PasswordPolicy { .. } => (S::BAD_REQUEST, "password-policy", "The new password breaks the password policy"),
            ApiError::InvalidToken => (S::BAD_REQUEST, "invalid-token", "The confirmation token is not valid"),
            ApiError::Unauthorized(_) => (S::UNAUTHORIZED, "unauthorized", "Authentication is required"),
            ApiError::TokenRevoked => (S::UNAUTHORIZED, "token-revoked", "The token has been revoked"),
            ApiError::Forbidden(_) => (S::FORBIDDEN, "forbidden", "The caller may not do this"),
            ApiError::InvalidCurrentPassword => (S::FORBIDDEN, "invalid-current-password", "The current password is wrong"),
            ApiError::AccountDisabled => (S::FORBIDDEN, "account-disabled", "The account is disabled"),
            ApiError::NotFound => (S::NOT_FOUND, "not-found", "No such user"),
            ApiError::VersionConflict { .. } => (S::CONFLICT, "version-conflict", "The user has changed since it was read"),
            ApiError::PreconditionFailed { .. } => (S::PRECONDITION_FAILED, "precondition-failed", "The user does not match If-Match"),
            ApiError::PreconditionRequired => (S::PRECONDITION_REQUIRED, "precondition-required", "The request must say which version it changes"),
            ApiError::IdempotencyKeyReuse => (S::UNPROCESSABLE_ENTITY, "idempotency-key-reuse", "The Idempotency-Key was used for another request"),
            ApiError::IdempotencyKeyInUse => (S::CONFLICT, "idempotency-key-in-use", "A request with this Idempotency-Key is running"),
            ApiError::TokenExpired => (S::GONE, "token-expired", "The confirmation token has expired"),
            ApiError::PayloadTooLarge { .. } => (S::PAYLOAD_TOO_LARGE, "payload-too-large", "The request body is too large"),
            ApiError::UnsupportedMediaType { .. } => (S::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "The request body has the wrong media type"),
            ApiError::TooManyAttempts { .. } => (S::TOO_MANY_REQUESTS, "too-many-attempts", "Too many attempts"),
            ApiError::Unavailable { .. } => (S::SERVICE_UNAVAILABLE, "unavailable", "The service is temporarily unavailable"),
            ApiError::MailRejected { .. } => (S::BAD_GATEWAY, "mail-rejected", "The mail service refused the message"),
            ApiError::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        }
    }

    /// What the caller reads in `detail`: specific, but never internals.
    pub fn detail(&self) -> String {
        match self {
            ApiError::Validation { detail, .. } => detail.clone(),
            ApiError::PasswordPolicy { errors } => format!(
                "the new password breaks {} rule(s) of the password policy",
                errors.len()
            ),
            ApiError::InvalidToken => {
                "the token is unknown, already used, or replaced by a newer request".into()
            }
            ApiError::Unauthorized(detail) | ApiError::Forbidden(detail) => detail.clone(),
            ApiError::TokenRevoked => {
                "the token was issued before the account's password changed or the account \
                 was disabled; sign in again"
                    .into()
            }
            ApiError::InvalidCurrentPassword => {
                "current_password does not match the account's password".into()
            }
            ApiError::AccountDisabled => "a disabled account cannot do this to itself".into(),
            ApiError::NotFound => {
                "the user does not exist or is outside the caller's subtree".into()
            }
            ApiError::PreconditionFailed { current } => {
                format!("If-Match names another version; the current version is {current}")
            }
            ApiError::PreconditionRequired => {
                "send the user's ETag in If-Match, or its version in the body".into()
            }
            ApiError::IdempotencyKeyReuse => {
                "this key was sent before with another method, path or body; use a new key for a new request"
                    .into()
            }
            ApiError::IdempotencyKeyInUse => {
                "the first request with this key has not finished; retry after Retry-After seconds"
                    .into()
            }
            ApiError::VersionConflict { current } => format!(
                "the request was made for another version; the current version is {current}"
            ),
            ApiError::TokenExpired => "request a new email change".into(),
            ApiError::PayloadTooLarge { limit } => {
                format!("the body is larger than {limit} bytes")
            }
            ApiError::UnsupportedMediaType { expected } => {
                format!("the body must be sent as {expected}")
            }
            ApiError::TooManyAttempts {
                limited,
                retry_after_secs,
            } => format!(
                "{}; try again in {retry_after_secs} seconds",
                limited.reason()
            ),
            ApiError::Unavailable { .. } => "try again shortly".into(),
            ApiError::MailRejected { .. } => {
                "the confirmation mail could not be delivered and retrying will not help; \
                 nothing was changed; contact the platform's operator"
                    .into()
            }
            ApiError::Internal(_) => "an unexpected error occurred".into(),
        }
    }

    pub(crate) fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::TooManyAttempts {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            ApiError::Unavailable { .. } => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            ApiError::IdempotencyKeyInUse => Some(IN_USE_RETRY_AFTER_SECS),
            _ => None,
        }
    }

    /// The problem+json response. `instance` is the request path.
    pub fn to_response(&self, instance: &str) -> Response<Body> {
        let status = self.status();
        let mut body = json!({
            "type": format!("{PROBLEM_TYPE_BASE}{}", self.slug()),
            "title": self.title(),
            "status": status.as_u16(),
            "detail": self.detail(),
            "instance": instance,
        });
        match self {
            ApiError::Validation { errors, .. } | ApiError::PasswordPolicy { errors } => {
                body["errors"] = json!(errors);
            }
            ApiError::VersionConflict { current } | ApiError::PreconditionFailed { current } => {
                body["current_version"] = json!(current.get());
            }
            _ => {}
        }

        let mut response = Response::new(Body::Text(body.to_string()));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = self.retry_after_secs() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        // RFC 6750 §3: every 401 names the scheme; a revoked token is an invalid one.
        match self {
            ApiError::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::TokenRevoked => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Bearer error=\"invalid_token\", error_description=\"the token has been revoked\"",
                    ),
                );
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    #[test]
    fn conflict_carries_current_version() {
        let response = ApiError::VersionConflict {
            current: Version::new(4).unwrap(),
        }
        .to_response("/users/x/status");
        assert_eq!(response.status(), 409);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = body_of(&response);
        assert_eq!(body["current_version"], 4);
        assert_eq!(body["status"], 409);
        assert!(
            body["type"]
                .as_str()
                .unwrap()
                .ends_with("/version-conflict")
        );
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let response = ApiError::internal("secret table layout").to_response("/x");
        assert_eq!(response.status(), 500);
        let text = std::str::from_utf8(response.body().as_ref())
            .unwrap()
            .to_owned();
        assert!(!text.contains("secret table layout"));
    }

    #[test]
    fn unavailable_and_too_many_attempts_set_retry_after() {
        let unavailable = ApiError::Unavailable {
            cause: "throttled".into(),
        }
        .to_response("/x");
        assert_eq!(unavailable.status(), 503);
        assert_eq!(unavailable.headers()[header::RETRY_AFTER], "1");
        assert!(!String::from_utf8_lossy(unavailable.body().as_ref()).contains("throttled"));

        let limited = ApiError::TooManyAttempts {
            limited: Limited::ConfirmationMails,
            retry_after_secs: 600,
        }
        .to_response("/x");
        assert_eq!(limited.status(), 429);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "600");
    }

    #[test]
    fn validation_lists_field_errors() {
        let body = body_of(
            &ApiError::invalid_field("version", "required", "is missing").to_response("/x"),
        );
        assert_eq!(body["errors"][0]["field"], "version");
        assert_eq!(body["errors"][0]["code"], "required");
    }
}
