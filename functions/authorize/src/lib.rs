//! `authorize`: a Lambda REQUEST authorizer for HTTP APIs (payload 2.0, simple responses)
//! that ends access when it should (docs/contract.md §3, "Access ends when it should").
//!
//! It verifies the bearer token itself against the identity provider's JWKS (RS256 or
//! ES256; `iss`, `aud`, `exp` and `nbf` within [`LEEWAY_SECS`]), reads the caller's claims
//! as every function does ([`Caller::from_claims`]), and for a `user` principal reads the
//! user's item once, a projection, to refuse the tokens of unknown and disabled users and
//! those issued before the user's credentials changed. API clients pass without a read.
//! Whatever it cannot check, it denies: an unreachable JWKS or table is a deny and a metric.

pub mod jwks;

use std::collections::HashMap;

use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use jsonwebtoken::{Algorithm, Validation};
use lambda_http::lambda_runtime;
use serde_json::{Map, Value};
use shared::aws::Https;
use shared::config::{ConfigError, Env, var};
use shared::{ApiError, Caller, CoreConfig, Principal, Store};

pub use jwks::{Key, KeySet, Missing};

/// The most a token's `exp` may lie behind, and its `nbf` ahead of, this function's clock.
pub const LEEWAY_SECS: u64 = 60;

/// The claims handed on as the authorizer's context: what the functions read of a caller.
pub const CONTEXT_CLAIMS: [&str; 6] = ["sub", "tenant_id", "scope", "principal_type", "iat", "sid"];

pub struct Config {
    pub core: CoreConfig,
    /// `iss`: the identity provider, an HTTPS URL.
    pub issuer: String,
    /// `aud` (or an access token's `client_id`): the application the tokens are for.
    pub audience: String,
    /// Where the provider publishes its keys: `JWKS_URL`, by default the issuer's
    /// `/.well-known/jwks.json` (Amazon Cognito's, Auth0's; Okta and Keycloak publish theirs
    /// elsewhere, docs/authorizer.md).
    pub jwks_url: String,
}

impl Config {
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let issuer = env.required(var::JWT_ISSUER)?.trim().to_owned();
        secure_url(&issuer).map_err(|p| ConfigError::new(var::JWT_ISSUER, p))?;
        let default_jwks = format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'));
        let jwks_url = env.parsed(var::JWKS_URL, default_jwks, |raw| {
            secure_url(raw).map(|()| raw.to_owned())
        })?;
        Ok(Self {
            core: CoreConfig::load(env)?,
            issuer,
            audience: env.required(var::JWT_AUDIENCE)?.trim().to_owned(),
            jwks_url,
        })
    }
}

/// An `https://` URL, or `http://` to this machine only (a local identity provider): keys
/// fetched in the clear from elsewhere could be anyone's.
fn secure_url(raw: &str) -> Result<(), String> {
    let uri: http::Uri = raw.parse().map_err(|_| format!("{raw:?} is not a URL"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("https"), Some(_)) => Ok(()),
        (Some("http"), Some("127.0.0.1" | "localhost" | "[::1]")) => Ok(()),
        _ => Err(format!(
            "{raw:?} must be an https:// URL (http:// only to 127.0.0.1 or localhost)"
        )),
    }
}

pub struct State {
    pub store: Store,
    pub keys: KeySet,
    pub issuer: String,
    pub audience: String,
}

impl State {
    pub fn connect(config: &Config) -> Result<Self, ConfigError> {
        let https = Https::new(&config.core.trust)?;
        Ok(Self {
            store: Store::connect(&config.core, &https)?,
            keys: KeySet::new(config.jwks_url.clone(), https),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        })
    }
}

/// Why a request was denied, or for whom it was allowed: the `reason` of the
/// `authorizations` metric and of the log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    User,
    Client,
    /// No `Authorization: Bearer <token>` header.
    NoToken,
    /// Not a JWT, or its claims are not a caller's.
    Malformed,
    /// An algorithm other than RS256 and ES256 (`none`, HMAC …), or not its key's.
    Algorithm,
    /// A `kid` the provider's key set does not have.
    UnknownKey,
    Signature,
    /// Expired, not yet valid, or from another issuer or for another audience.
    Claims,
    UnknownUser,
    Revoked,
    Disabled,
    /// The JWKS could not be fetched.
    KeysUnavailable,
    /// DynamoDB could not be read.
    StoreUnavailable,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::User => "user",
            Reason::Client => "client",
            Reason::NoToken => "no-token",
            Reason::Malformed => "malformed",
            Reason::Algorithm => "algorithm",
            Reason::UnknownKey => "unknown-key",
            Reason::Signature => "signature",
            Reason::Claims => "claims",
            Reason::UnknownUser => "unknown-user",
            Reason::Revoked => "revoked",
            Reason::Disabled => "disabled",
            Reason::KeysUnavailable => "keys-unavailable",
            Reason::StoreUnavailable => "store-unavailable",
        }
    }
}

/// The answer: allowed with the claims to hand on, or denied and why.
#[derive(Debug, PartialEq)]
pub enum Decision {
    Allow(Reason, Map<String, Value>),
    Deny(Reason),
}

impl Decision {
    pub fn reason(&self) -> Reason {
        match self {
            Decision::Allow(reason, _) | Decision::Deny(reason) => *reason,
        }
    }

    pub fn response(self) -> ApiGatewayV2CustomAuthorizerSimpleResponse<Value> {
        let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
        if let Decision::Allow(_, context) = self {
            response.is_authorized = true;
            response.context = Value::Object(context);
        }
        response
    }
}

/// What `main.rs` runs: configuration, clients and the key set once per cold start (while
/// init runs at full CPU), then the runtime loop.
pub async fn run(name: &'static str) -> Result<(), lambda_runtime::Error> {
    shared::caller::install_jwt_provider();
    let (state, metrics) = shared::runtime::start_events(name, |env| {
        Config::load(env).and_then(|config| State::connect(&config))
    })?;
    tokio::join!(state.store.open_connection(), state.keys.load());
    shared::runtime::serve_events(
        state,
        metrics,
        |state, request: ApiGatewayV2CustomAuthorizerV2Request| async move {
            Ok(handle(state, &request).await.response())
        },
    )
    .await
}

/// One request: the decision, counted and logged (the reason, never the token).
pub async fn handle(state: &State, request: &ApiGatewayV2CustomAuthorizerV2Request) -> Decision {
    let decision = decide(state, request).await;
    let reason = decision.reason();
    let allowed = matches!(decision, Decision::Allow(..));
    shared::metrics::authorization(allowed, reason.as_str());
    tracing::info!(allowed, reason = reason.as_str(), "authorization");
    decision
}

async fn decide(state: &State, request: &ApiGatewayV2CustomAuthorizerV2Request) -> Decision {
    let Some(token) = bearer_token(request) else {
        return Decision::Deny(Reason::NoToken);
    };
    let claims = match verify(state, token).await {
        Ok(claims) => claims,
        Err(reason) => return Decision::Deny(reason),
    };
    let Ok(caller) = Caller::from_claims(&claims) else {
        return Decision::Deny(Reason::Malformed);
    };
    let context: Map<String, Value> = CONTEXT_CLAIMS
        .iter()
        .filter_map(|name| Some(((*name).to_owned(), claims.get(*name)?.clone())))
        .collect();
    let (id, token) = match (&caller.principal, &caller.token) {
        (Principal::Client(_), _) => return Decision::Allow(Reason::Client, context),
        (Principal::User(id), Some(token)) => (id, token),
        // Claims::caller gives every user a token; were that ever to change, a user would
        // be denied here rather than pass unchecked.
        (Principal::User(_), None) => return Decision::Deny(Reason::Malformed),
    };
    match state.store.get_access(*id).await {
        Err(error) => {
            shared::metrics::count(shared::metrics::names::AUTHORIZER_FAILURES, 1);
            tracing::error!(error = %error, "the user's item could not be read");
            Decision::Deny(Reason::StoreUnavailable)
        }
        Ok(None) => Decision::Deny(Reason::UnknownUser),
        Ok(Some(item)) => match item.access().admits(token) {
            Ok(()) => Decision::Allow(Reason::User, context),
            Err(ApiError::AccountDisabled) => Decision::Deny(Reason::Disabled),
            Err(_) => Decision::Deny(Reason::Revoked),
        },
    }
}

/// `Authorization: Bearer <token>` (the scheme in any case, RFC 7235 §2.1).
fn bearer_token(request: &ApiGatewayV2CustomAuthorizerV2Request) -> Option<&str> {
    let value = request
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The token's claims, once its signature, algorithm, issuer, audience and times are checked.
async fn verify(state: &State, token: &str) -> Result<HashMap<String, Value>, Reason> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Reason::Malformed)?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err(Reason::Algorithm);
    }
    // RFC 7515 §4.1.11: a header extension the verifier does not know must be refused, and
    // this one knows none.
    if header.crit.is_some() {
        return Err(Reason::Malformed);
    }
    let kid = header.kid.as_deref().ok_or(Reason::UnknownKey)?;
    let key = state.keys.key(kid).await.map_err(|missing| match missing {
        Missing::Unknown => Reason::UnknownKey,
        Missing::Unavailable => Reason::KeysUnavailable,
    })?;
    if key.algorithm != header.alg {
        return Err(Reason::Algorithm);
    }
    let mut validation = Validation::new(key.algorithm);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    validation.set_issuer(&[&state.issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    // `aud`, or an access token's `client_id` (Amazon Cognito's carry no `aud`): checked
    // below, as API Gateway's JWT authorizer checks them.
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<HashMap<String, Value>>(token, &key.decoding, &validation)
        .map_err(|error| match error.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => Reason::Signature,
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => Reason::Algorithm,
            jsonwebtoken::errors::ErrorKind::InvalidToken
            | jsonwebtoken::errors::ErrorKind::Base64(_)
            | jsonwebtoken::errors::ErrorKind::Json(_)
            | jsonwebtoken::errors::ErrorKind::Utf8(_) => Reason::Malformed,
            _ => Reason::Claims,
        })?;
    if !for_audience(&data.claims, &state.audience) {
        return Err(Reason::Claims);
    }
    Ok(data.claims)
}

/// `aud` (a string or a list) names `audience`; without `aud`, `client_id` is it.
fn for_audience(claims: &HashMap<String, Value>, audience: &str) -> bool {
    match (claims.get("aud"), claims.get("client_id")) {
        (Some(Value::String(aud)), _) => aud == audience,
        (Some(Value::Array(auds)), _) => auds.iter().any(|aud| aud.as_str() == Some(audience)),
        (Some(_), _) => false,
        (None, Some(Value::String(client))) => client == audience,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn urls_must_be_https_but_to_this_machine() {
        assert!(secure_url("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc").is_ok());
        assert!(secure_url("http://127.0.0.1:9000/jwks.json").is_ok());
        assert!(secure_url("http://localhost/jwks.json").is_ok());
        assert!(secure_url("http://idp.example.com/jwks.json").is_err());
        assert!(secure_url("http://127.0.0.1.example.com/jwks.json").is_err());
        assert!(secure_url("ftp://idp.example.com/").is_err());
        assert!(secure_url("idp.example.com").is_err());
    }

    #[test]
    fn the_audience_is_aud_or_else_client_id() {
        let claims =
            |value: Value| -> HashMap<String, Value> { serde_json::from_value(value).unwrap() };
        assert!(for_audience(&claims(json!({"aud": "app"})), "app"));
        assert!(for_audience(&claims(json!({"aud": ["x", "app"]})), "app"));
        assert!(for_audience(&claims(json!({"client_id": "app"})), "app"));
        assert!(!for_audience(
            &claims(json!({"aud": "x", "client_id": "app"})),
            "app"
        ));
        assert!(!for_audience(&claims(json!({"aud": 1})), "app"));
        assert!(!for_audience(&claims(json!({})), "app"));
    }
}
