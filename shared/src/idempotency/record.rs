//! What an `Idempotency-Key` is and what is kept of it: the key as sent, the record's key,
//! the request's fingerprint and the answer stored for a retry (see [`super`]).

use http::{HeaderName, HeaderValue, header};
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};

use crate::caller::{Caller, Principal};
use crate::error::ApiError;
use crate::ids::UserId;

pub(crate) const HEADER: HeaderName = HeaderName::from_static("idempotency-key");

/// Set on a replayed answer, as Stripe's API does, so a client can tell a replay.
pub(crate) const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The longest key, in characters (the issue's bound; the draft sets none).
pub(crate) const MAX_KEY_CHARS: usize = 255;

/// How long a key is remembered: the draft's suggestion of 24 hours.
pub(crate) const KEEP_SECS: i64 = 24 * 60 * 60;

/// How long a first request holds its key before a retry may take it over: three times the
/// functions' 10-second timeout, so a request that died does not block its key for a day.
pub const LEASE_SECS: i64 = 30;

/// Put in a successful response's extensions by a route with [`super::Secrets`]: what its replays
/// are checked against. Stored with the answer, never sent to the client; its `Debug`
/// never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier(pub String);

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier(..)")
    }
}

/// A key as the client sent it: an sf-string (RFC 9651) of 1 to [`MAX_KEY_CHARS`] characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The request's key, if it sent one; a malformed one is a 400.
    pub fn of(request: &Request) -> Result<Option<Self>, ApiError> {
        let mut values = request.headers().get_all(HEADER).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(invalid("must be sent once"));
        }
        Self::parse(value.as_bytes()).map(Some)
    }

    pub fn parse(raw: &[u8]) -> Result<Self, ApiError> {
        let item: sfv::Item = sfv::Parser::new(raw)
            .parse()
            .map_err(|_| invalid("must be a structured-field string, like \"4f9a1c…\""))?;
        let sfv::BareItem::String(key) = item.bare_item else {
            return Err(invalid(
                "must be a structured-field string, in double quotes",
            ));
        };
        if !item.params.is_empty() {
            return Err(invalid("takes no parameters"));
        }
        let key = key.as_str();
        if key.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if key.chars().count() > MAX_KEY_CHARS {
            return Err(invalid("must be at most 255 characters long"));
        }
        Ok(Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn invalid(message: &str) -> ApiError {
    ApiError::invalid_field("Idempotency-Key", "invalid", message)
}

/// The partition key of a key's record: a hash of the caller, the user and the key, so that
/// two callers (or two users of one caller) never share a key, and the item's key is short.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordKey(String);

impl RecordKey {
    pub fn new(caller: &Caller, user_id: UserId, key: &IdempotencyKey) -> Self {
        let (kind, id) = match &caller.principal {
            Principal::User(id) => ("user", id.to_string()),
            Principal::Client(id) => ("client", id.to_string()),
        };
        let scope = [
            kind,
            &id,
            &caller.tenant_id.to_string(),
            &user_id.to_string(),
            key.as_str(),
        ];
        Self(format!("IDEMPOTENCY#{}", digest(&scope)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What tells a retry from another request with the same key: a SHA-256 of the method, the
/// path, `If-Match`, `Content-Type` and the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of `request`; the string values of `secret_fields` of a JSON object
    /// body are left out (their names stay in, and values of another type, which no valid
    /// request has, stay as they are).
    pub fn of(request: &Request, secret_fields: &[&str]) -> Self {
        let header = |name: header::HeaderName| {
            request
                .headers()
                .get(name)
                .map_or(&b""[..], HeaderValue::as_bytes)
        };
        let body: &[u8] = request.body().as_ref();
        let redacted = redact(body, secret_fields);
        let parts: [&[u8]; 5] = [
            request.method().as_str().as_bytes(),
            request.uri().path().as_bytes(),
            header(header::IF_MATCH),
            header(header::CONTENT_TYPE),
            redacted.as_deref().unwrap_or(body),
        ];
        Self(digest(&parts))
    }

    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `body` with the string values of `fields` replaced by one placeholder, when `body` is a
/// JSON object; `None` when there is nothing to leave out. Only strings: a body whose
/// password is an array must not look like a retry of one whose password was a string.
fn redact(body: &[u8], fields: &[&str]) -> Option<Vec<u8>> {
    if fields.is_empty() {
        return None;
    }
    let serde_json::Value::Object(mut object) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    for field in fields {
        if let Some(value @ serde_json::Value::String(_)) = object.get_mut(*field) {
            *value = serde_json::Value::String("(secret)".into());
        }
    }
    serde_json::to_vec(&object).ok()
}

/// SHA-256 over length-prefixed parts, so that no two lists of parts hash alike.
fn digest<T: AsRef<[u8]>>(parts: &[T]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        let part = part.as_ref();
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// A successful answer, as remembered for a retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub body: String,
    /// See [`Verifier`].
    pub verifier: Option<Verifier>,
}

impl StoredAnswer {
    /// What is kept of `response`: status, body and the headers a client reads. `None` for
    /// what is not remembered (errors, and bodies that are not text, which no route answers).
    pub fn of(response: &Response<Body>) -> Option<Self> {
        if !response.status().is_success() {
            return None;
        }
        let body = match response.body() {
            Body::Empty => String::new(),
            Body::Text(text) => text.clone(),
            _ => return None,
        };
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        Some(Self {
            status: response.status().as_u16(),
            content_type: header(header::CONTENT_TYPE),
            etag: header(header::ETAG),
            body,
            verifier: response.extensions().get::<Verifier>().cloned(),
        })
    }

    /// The answer again, marked as a replay.
    pub fn replay(&self) -> Result<Response<Body>, ApiError> {
        let body = if self.body.is_empty() {
            Body::Empty
        } else {
            Body::Text(self.body.clone())
        };
        let mut builder = Response::builder()
            .status(self.status)
            .header(header::CACHE_CONTROL, "no-store")
            .header(REPLAYED, "true");
        if let Some(content_type) = &self.content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        if let Some(etag) = &self.etag {
            builder = builder.header(header::ETAG, etag);
        }
        builder
            .body(body)
            .map_err(|e| ApiError::internal(format!("replaying a stored answer: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<String, String> {
        IdempotencyKey::parse(raw.as_bytes())
            .map(|k| k.0)
            .map_err(|e| e.detail())
    }

    #[test]
    fn keys_are_structured_field_strings_of_1_to_255_characters() {
        assert_eq!(
            parse(r#""8e03978e-40d5-43e8-bc93-6894a57f9324""#).unwrap(),
            "8e03978e-40d5-43e8-bc93-6894a57f9324"
        );
        assert_eq!(parse(r#"  "a \"b\" \\c"  "#).unwrap(), r#"a "b" \c"#);
        assert_eq!(
            parse(&format!("\"{}\"", "k".repeat(255))).unwrap().len(),
            255
        );
        for bad in [
            "",
            r#""""#,
            "8e03978e",
            "\"unterminated",
            "\"tab\there\"",
            "\"a\", \"b\"",
            "\"a\";p=1",
            "42",
            ":YWJj:",
            "\"é\"",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse(&format!("\"{}\"", "k".repeat(256))).is_err());
    }

    #[test]
    fn the_fingerprint_leaves_secrets_out_but_not_the_rest() {
        let request = |body: &str| {
            http::Request::builder()
                .method("POST")
                .uri("/users/x/password")
                .header("content-type", "application/json")
                .body(Body::Text(body.to_owned()))
                .unwrap()
        };
        let of = |body: &str| Fingerprint::of(&request(body), &["password", "current_password"]);
        assert_eq!(
            of(r#"{"password":"one long passphrase"}"#),
            of(r#"{"password":"another passphrase"}"#)
        );
        assert_ne!(
            of(r#"{"password":"one long passphrase"}"#),
            of(r#"{"password":"one long passphrase","current_password":"x"}"#)
        );
        // Values of another type are not secrets, and not the same request.
        for other_type in [
            r#"{"password":["one long passphrase"]}"#,
            r#"{"password":null}"#,
            r#"{"password":{"a":1}}"#,
        ] {
            assert_ne!(of(r#"{"password":"one long passphrase"}"#), of(other_type));
        }
        let whole = |body: &str| Fingerprint::of(&request(body), &[]);
        assert_ne!(whole(r#"{"enabled":true}"#), whole(r#"{"enabled":false}"#));
        assert_eq!(whole(r#"{"enabled":true}"#), whole(r#"{"enabled":true}"#));
    }
}
