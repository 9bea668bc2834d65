//! Who is calling: read from the claims of a JWT that API Gateway verified, or — in the
//! explicit development mode — from an HS256 bearer token the function verifies itself.
//!
//! Missing or malformed claims are a 401; there is never a default identity.

mod provider;

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

use crate::config::AuthMode;
use crate::error::ApiError;
use crate::ids::{ClientId, TenantId, UserId};
use crate::session::{OwnToken, SessionId};
use crate::tenant::TenantRule;

pub use provider::install as install_jwt_provider;

/// Issuer of development tokens; a token from any other issuer is refused in development mode.
pub const DEV_TOKEN_ISSUER: &str = "accounts-local-dev";

/// The authenticated principal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// A person, whose `sub` is their user id.
    User(UserId),
    /// An OAuth API client.
    Client(ClientId),
}

/// The scopes this API knows; others in the claim are ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scopes {
    pub users_read: bool,
    pub users_write: bool,
}

impl Scopes {
    pub const READ: &'static str = "users:read";
    pub const WRITE: &'static str = "users:write";

    pub fn parse(scope: &str) -> Self {
        let mut scopes = Scopes::default();
        for item in scope.split_ascii_whitespace() {
            match item {
                Self::READ => scopes.users_read = true,
                Self::WRITE => scopes.users_write = true,
                _ => {}
            }
        }
        scopes
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    pub tenant_id: TenantId,
    pub scopes: Scopes,
    /// When and in which session a `user` principal's token was issued (`iat`, `sid`);
    /// `None` for API clients, which have no user item to be revoked by.
    pub token: Option<OwnToken>,
}

impl Caller {
    /// True when the caller is the user `id` acting on itself.
    pub fn is_user(&self, id: UserId) -> bool {
        self.principal == Principal::User(id)
    }

    pub fn is_client(&self) -> bool {
        matches!(self.principal, Principal::Client(_))
    }

    pub fn can_read(&self) -> bool {
        self.scopes.users_read || self.scopes.users_write
    }

    pub fn can_write(&self) -> bool {
        self.scopes.users_write
    }

    /// The caller's subtree: the users it may see or change with the right scope.
    pub fn subtree(&self) -> TenantRule {
        TenantRule::Subtree(self.tenant_id)
    }

    /// The caller that verified `claims` name, checked as every function checks them (the
    /// claims of `authorize`'s context are these, handed on).
    pub fn from_claims(claims: &HashMap<String, Value>) -> Result<Self, ApiError> {
        Claims::Values(claims).caller()
    }

    /// The caller's token, when the caller is the user `id` acting on itself: what the
    /// user's item is checked against (revocation, a disabled account).
    pub fn own_token(&self, id: UserId) -> Option<&OwnToken> {
        self.token.as_ref().filter(|_| self.is_user(id))
    }
}

/// Where a request's claims live, in the shapes API Gateway delivers them.
enum Claims<'a> {
    /// HTTP API JWT authorizer: every claim a string.
    Strings(&'a HashMap<String, String>),
    /// Lambda authorizer context, REST authorizer claims, or a decoded development token.
    Values(&'a HashMap<String, Value>),
    Object(&'a serde_json::Map<String, Value>),
}

impl<'a> Claims<'a> {
    /// A claim that, when present, must be a string.
    fn get(&self, name: &str) -> Result<Option<&'a str>, ApiError> {
        if let Claims::Strings(map) = self {
            return Ok(map.get(name).map(String::as_str));
        }
        match self.value(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.as_str())),
            Some(_) => Err(malformed(name, "must be a string")),
        }
    }

    fn required(&self, name: &str) -> Result<&'a str, ApiError> {
        self.get(name)?
            .ok_or_else(|| ApiError::Unauthorized(format!("the claim `{name}` is missing")))
    }

    fn caller(&self) -> Result<Caller, ApiError> {
        let sub = self.required("sub")?;
        let tenant_id = TenantId::parse_canonical(self.required("tenant_id")?)
            .map_err(|e| malformed("tenant_id", &e.to_string()))?;
        let principal = match self.required("principal_type")? {
            "user" => Principal::User(
                UserId::parse_canonical(sub)
                    .map_err(|e| malformed("sub", &format!("of a user {e}")))?,
            ),
            "client" => Principal::Client(ClientId::parse(sub).map_err(|e| malformed("sub", &e))?),
            _ => return Err(malformed("principal_type", "must be `user` or `client`")),
        };
        let scopes = Scopes::parse(self.get("scope")?.unwrap_or_default());
        let token = match principal {
            Principal::User(_) => Some(self.own_token()?),
            Principal::Client(_) => None,
        };
        Ok(Caller {
            principal,
            tenant_id,
            scopes,
            token,
        })
    }

    /// `iat` (required of a user's token) and `sid` (optional).
    fn own_token(&self) -> Result<OwnToken, ApiError> {
        let iat = self
            .seconds("iat")?
            .ok_or_else(|| ApiError::Unauthorized("the claim `iat` is missing".into()))?;
        let session = self
            .get("sid")?
            .map(SessionId::parse)
            .transpose()
            .map_err(|e| malformed("sid", &e))?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        OwnToken::new(iat, session, now).map_err(|e| malformed("iat", &e))
    }

    /// A NumericDate claim: a JSON integer, or its decimal digits as a string (an HTTP API's
    /// JWT authorizer hands every claim on as a string).
    fn seconds(&self, name: &str) -> Result<Option<i64>, ApiError> {
        let invalid = || malformed(name, "must be whole seconds since 1970");
        if let Some(Value::Number(n)) = self.value(name) {
            return n.as_i64().map(Some).ok_or_else(invalid);
        }
        match self.get(name).map_err(|_| invalid())? {
            None => Ok(None),
            Some(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
                text.parse().map(Some).map_err(|_| invalid())
            }
            Some(_) => Err(invalid()),
        }
    }

    /// A claim as a JSON value; `None` for the all-strings shape (see [`Self::get`]).
    fn value(&self, name: &str) -> Option<&'a Value> {
        match self {
            Claims::Strings(_) => None,
            Claims::Values(map) => map.get(name),
            Claims::Object(map) => map.get(name),
        }
    }
}

fn malformed(claim: &str, problem: &str) -> ApiError {
    ApiError::Unauthorized(format!("the claim `{claim}` is malformed: {problem}"))
}

/// Identifies callers according to the configured [`AuthMode`].
pub struct Authenticator {
    development: Option<(DecodingKey, Validation)>,
}

impl Authenticator {
    pub fn new(mode: &AuthMode) -> Self {
        match mode {
            AuthMode::ApiGateway => Self { development: None },
            AuthMode::Development { secret } => {
                provider::install();
                tracing::warn!(
                    "DEVELOPMENT AUTH MODE: bearer tokens are verified with a local shared secret \
                     and API Gateway claims are ignored. Never use this mode in AWS."
                );
                let mut validation = Validation::new(Algorithm::HS256);
                validation.set_issuer(&[DEV_TOKEN_ISSUER]);
                validation.set_required_spec_claims(&["exp", "iss", "sub"]);
                validation.leeway = 0;
                Self {
                    development: Some((DecodingKey::from_secret(secret.expose()), validation)),
                }
            }
        }
    }

    pub fn caller(&self, request: &Request) -> Result<Caller, ApiError> {
        match &self.development {
            None => claims_from_context(request)?.caller(),
            Some((key, validation)) => {
                let token = bearer_token(request)?;
                let data = jsonwebtoken::decode::<HashMap<String, Value>>(token, key, validation)
                    .map_err(|_| {
                    ApiError::Unauthorized("the bearer token is invalid or expired".into())
                })?;
                Claims::Values(&data.claims).caller()
            }
        }
    }
}

fn claims_from_context(request: &Request) -> Result<Claims<'_>, ApiError> {
    let missing = || ApiError::Unauthorized("the request carries no authorizer claims".into());
    match request.request_context_ref().ok_or_else(missing)? {
        RequestContext::ApiGatewayV2(context) => {
            let authorizer = context.authorizer.as_ref().ok_or_else(missing)?;
            match &authorizer.jwt {
                Some(jwt) if !jwt.claims.is_empty() => Ok(Claims::Strings(&jwt.claims)),
                _ if !authorizer.fields.is_empty() => Ok(Claims::Values(&authorizer.fields)),
                _ => Err(missing()),
            }
        }
        RequestContext::ApiGatewayV1(context) => {
            let fields = &context.authorizer.fields;
            match fields.get("claims") {
                Some(Value::Object(claims)) => Ok(Claims::Object(claims)),
                Some(_) => Err(malformed("claims", "must be an object")),
                None if !fields.is_empty() => Ok(Claims::Values(fields)),
                None => Err(missing()),
            }
        }
        #[allow(unreachable_patterns)]
        _ => Err(missing()),
    }
}

fn bearer_token(request: &Request) -> Result<&str, ApiError> {
    let header = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("a bearer token is required".into()))?;
    header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_ignore_unknown_entries() {
        let scopes = Scopes::parse("openid users:read  profile");
        assert!(scopes.users_read && !scopes.users_write);
        assert_eq!(Scopes::parse(""), Scopes::default());
        assert!(!Scopes::parse("users:write:all").users_write);
    }

    fn caller_of(pairs: &[(&str, &str)]) -> Result<Caller, ApiError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Claims::Strings(&map).caller()
    }

    #[test]
    fn claims_make_a_caller_or_a_401() {
        let user = "1c234e69-5469-424a-a6d1-ff5658b387a6";
        let tenant = "ede9f834-70b3-476c-83d9-736f9f8c7dae";
        let caller = caller_of(&[
            ("sub", user),
            ("tenant_id", tenant),
            ("principal_type", "user"),
            ("iat", "1700000000"),
        ])
        .unwrap();
        assert!(caller.is_user(UserId::parse_canonical(user).unwrap()));
        assert!(!caller.can_read());

        for claims in [
            vec![("tenant_id", tenant), ("principal_type", "user")],
            vec![("sub", user), ("principal_type", "user")],
            vec![("sub", user), ("tenant_id", tenant)],
            vec![
                ("sub", "not-a-uuid"),
                ("tenant_id", tenant),
                ("principal_type", "user"),
            ],
            vec![
                ("sub", user),
                ("tenant_id", "x"),
                ("principal_type", "user"),
            ],
            vec![
                ("sub", user),
                ("tenant_id", tenant),
                ("principal_type", "admin"),
            ],
            vec![
                ("sub", "a b"),
                ("tenant_id", tenant),
                ("principal_type", "client"),
            ],
        ] {
            let err = caller_of(&claims).unwrap_err();
            assert_eq!(err.status(), 401, "{claims:?}");
        }
    }

    #[test]
    fn a_users_token_carries_iat_and_maybe_sid() {
        let user = "1c234e69-5469-424a-a6d1-ff5658b387a6";
        let tenant = "ede9f834-70b3-476c-83d9-736f9f8c7dae";
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut claims = vec![
                ("sub", user),
                ("tenant_id", tenant),
                ("principal_type", "user"),
            ];
            claims.extend_from_slice(extra);
            caller_of(&claims)
        };
        let caller = with(&[("iat", "1700000000"), ("sid", "session-1")]).unwrap();
        let token = caller.token.clone().unwrap();
        assert_eq!(token.not_before, "2023-11-14T22:13:20.999999+00:00");
        assert_eq!(token.session.unwrap().as_str(), "session-1");
        let id = UserId::parse_canonical(user).unwrap();
        assert!(caller.own_token(id).is_some());
        assert!(caller.own_token(UserId::new_random()).is_none());
        for bad in [
            vec![],
            vec![("iat", "")],
            vec![("iat", "-5")],
            vec![("iat", "1.5")],
            vec![("iat", "99999999999")],
            vec![("iat", "1700000000"), ("sid", "")],
            vec![("iat", "1700000000"), ("sid", "has space")],
        ] {
            assert_eq!(with(&bad).unwrap_err().status(), 401, "{bad:?}");
        }
        // Numbers, as a Lambda authorizer or a development token has them.
        let mut map = HashMap::new();
        for (k, v) in [
            ("sub", user),
            ("tenant_id", tenant),
            ("principal_type", "user"),
        ] {
            map.insert(k.to_owned(), Value::from(v));
        }
        map.insert("iat".to_owned(), Value::from(1_700_000_000));
        assert!(Claims::Values(&map).caller().is_ok());
        map.insert("iat".to_owned(), Value::from(1.5));
        assert_eq!(Claims::Values(&map).caller().unwrap_err().status(), 401);
        // API clients need neither.
        let client = caller_of(&[
            ("sub", "c1"),
            ("tenant_id", tenant),
            ("principal_type", "client"),
        ]);
        assert_eq!(client.unwrap().token, None);
    }

    #[test]
    fn non_string_claims_are_malformed() {
        let mut map = HashMap::new();
        map.insert("sub".to_owned(), Value::from(5));
        assert_eq!(Claims::Values(&map).caller().unwrap_err().status(), 401);
    }
}
