//! Request and response helpers shared by the handlers: body limits and parsing, path
//! parameters, and the responses that every route builds the same way.

use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::{Deserialize, DeserializeOwned, Deserializer};

use crate::error::{ApiError, FieldError};
use crate::ids::{UserId, Version};
use crate::user::UserItem;

/// Largest accepted request body (docs/contract.md §4).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub const JSON: &str = "application/json";

/// The raw body, refused with 413 when it is over [`MAX_BODY_BYTES`].
pub fn body_bytes(request: &Request) -> Result<&[u8], ApiError> {
    let bytes = request.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    Ok(bytes)
}

/// Which version a write is made for, and who said so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Precondition {
    pub version: Version,
    /// From `If-Match`: a mismatch is then `412`, not the body's `409`.
    pub from_if_match: bool,
}

impl Precondition {
    /// The version of `If-Match: "<version>"` (the ETag of every user response), else of
    /// the body; both, they must agree (400). Neither: 428. `If-Match` takes one strong
    /// ETag of a version: `*`, weak tags and lists are refused (400), since a write here
    /// always needs the one version it changes.
    pub fn of(request: &Request, body_version: Option<Version>) -> Result<Self, ApiError> {
        let invalid = |message: &str| ApiError::invalid_field("If-Match", "invalid", message);
        let header = match request.headers().get(header::IF_MATCH) {
            None => None,
            Some(value) => {
                let etag = value
                    .to_str()
                    .ok()
                    .map(str::trim)
                    .and_then(|v| v.strip_prefix('"')?.strip_suffix('"'))
                    .ok_or_else(|| invalid("must be one strong ETag of the user, like \"3\""))?;
                let version = etag
                    .parse::<u64>()
                    .ok()
                    .and_then(Version::new)
                    .ok_or_else(|| invalid("must be the ETag of a version of the user"))?;
                Some(version)
            }
        };
        match (header, body_version) {
            (Some(header), Some(body)) if header != body => Err(ApiError::invalid_field(
                "version",
                "if-match-mismatch",
                "differs from the version of If-Match",
            )),
            (Some(version), _) => Ok(Self {
                version,
                from_if_match: true,
            }),
            (None, Some(version)) => Ok(Self {
                version,
                from_if_match: false,
            }),
            (None, None) => Err(ApiError::PreconditionRequired),
        }
    }

    /// A store's `409` in the words of the request: `412` when `If-Match` asked.
    pub fn explain(&self, error: ApiError) -> ApiError {
        match error {
            ApiError::VersionConflict { current } if self.from_if_match => {
                ApiError::PreconditionFailed { current }
            }
            other => other,
        }
    }
}

/// The media type of the body without parameters, lower-cased (`application/json`).
pub fn media_type(request: &Request) -> Option<String> {
    let value = request.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    Some(essence.to_ascii_lowercase())
}

/// Parses a JSON body into `T`: 413 when too large, 415 when not sent as JSON, 400 with
/// the offending field when malformed, of the wrong shape, or with duplicate or unknown keys.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    let bytes = body_bytes(request)?;
    if media_type(request).as_deref() != Some(JSON) {
        return Err(ApiError::UnsupportedMediaType { expected: JSON });
    }
    parse_json(bytes)
}

/// Parses JSON text into `T`, naming the offending field in the error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_field(
            "body",
            "required",
            "a JSON body is required",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(json_error)?;
    deserializer
        .end()
        .map_err(|e| ApiError::invalid_field("body", "malformed-json", e.to_string()))?;
    Ok(value)
}

/// For a field that may be left out but is not nullable (`#[serde(default, deserialize_with
/// = "not_null")]`): serde reads `null` as `None` for an `Option`, which would accept a body
/// the document refuses.
pub fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

fn json_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.inner();
    let message = inner.to_string();
    let field_error = if inner.is_syntax() || inner.is_eof() {
        FieldError::new("body", "malformed-json", message)
    } else if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        let field = if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        FieldError::new(field, "required", "is required")
    } else {
        let field = if path == "." { "body".to_owned() } else { path };
        FieldError::new(field, "invalid", message)
    };
    ApiError::Validation {
        detail: format!("{}: {}", field_error.field, field_error.message),
        errors: vec![field_error],
    }
}

/// The `{user_id}` path parameter, which must be a canonical UUID.
pub fn path_user_id(request: &Request) -> Result<UserId, ApiError> {
    let raw = request
        .path_parameters_ref()
        .and_then(|params| params.first("user_id"))
        .ok_or_else(|| ApiError::invalid_field("user_id", "required", "the path has no user id"))?;
    UserId::parse_canonical(raw)
        .map_err(|e| ApiError::invalid_field("user_id", "invalid", e.to_string()))
}

/// `200` with the user object and `ETag: "<version>"`.
pub fn user_response(item: &UserItem) -> Response<Body> {
    let user = &item.user;
    let body = match serde_json::to_string(&item.view(crate::Now::current().epoch)) {
        Ok(body) => body,
        Err(e) => return ApiError::internal(format!("serialising a user: {e}")).to_response(""),
    };
    let mut response = Response::new(Body::Text(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", user.version)) {
        headers.insert(header::ETAG, etag);
    }
    response
}

/// `204` with an empty body.
pub fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Status {
        enabled: bool,
        version: u64,
    }

    fn field_error(text: &str) -> FieldError {
        match parse_json::<Status>(text.as_bytes()).unwrap_err() {
            ApiError::Validation { mut errors, .. } => errors.remove(0),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(field_error(r#"{"enabled": true}"#).field, "version");
        assert_eq!(field_error(r#"{"enabled": true}"#).code, "required");
        assert_eq!(
            field_error(r#"{"enabled": "no", "version": 1}"#).field,
            "enabled"
        );
        assert_eq!(
            field_error(r#"{"enabled": true, "version": 1"#).code,
            "malformed-json"
        );
        assert_eq!(
            field_error(r#"{"enabled": true, "version": 1} x"#).code,
            "malformed-json"
        );
        assert_eq!(field_error("").code, "required");
        let dup = field_error(r#"{"enabled": true, "enabled": false, "version": 1}"#);
        assert_eq!(dup.code, "invalid");
        assert!(dup.message.contains("duplicate"), "{dup:?}");
        assert!(
            field_error(r#"{"enabled": true, "version": 1, "x": 2}"#)
                .message
                .contains("unknown field")
        );
    }

    #[test]
    fn deep_nesting_is_a_validation_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(
            parse_json::<serde_json::Value>(deep.as_bytes()),
            Err(ApiError::Validation { .. })
        ));
    }
}
