//! `revoke-sessions`: ends a user's sessions at the identity provider when the account is
//! disabled or its password changes or is reset (docs/contract.md §3, "Access ends when it
//! should"): Amazon Cognito's `AdminUserGlobalSignOut`, which invalidates the user's
//! refresh tokens (and, with token revocation on, the access and ID tokens they issued).
//!
//! An EventBridge rule on the account bus invokes it with one event; a failure is an error,
//! so that Lambda retries the event and then hands it to the dead-letter queue. Signing out
//! is idempotent, so a redelivered event does no harm. Locally, and in the tests, a
//! directory stands in for Cognito: each sign-out is a JSON file.

use std::path::PathBuf;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, SdkError};
use aws_sdk_cognitoidentityprovider::operation::admin_user_global_sign_out::AdminUserGlobalSignOutError;
use lambda_http::lambda_runtime;
use serde::{Deserialize, Serialize};
use shared::aws::Https;
use shared::config::{AwsRegion, ConfigError, Env, Transport, TrustRoots, var};
use shared::metrics;
use shared::{ApiError, UserId};

/// The events that end sessions: the template's rule matches exactly these `detail-type`s.
pub const KINDS: [&str; 3] = [
    "account.password.changed",
    "account.password.reset",
    "account.disabled",
];

pub struct Config {
    pub region: AwsRegion,
    pub trust: TrustRoots,
    pub sign_out: SignOutConfig,
}

pub enum SignOutConfig {
    Cognito {
        user_pool_id: String,
        endpoint: Option<String>,
    },
    Directory(PathBuf),
}

impl Config {
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let sign_out =
            match env.transport(var::SIGN_OUT_TRANSPORT, "cognito", var::REVOCATIONS_DIR)? {
                Transport::Service => {
                    let user_pool_id = env.required(var::COGNITO_USER_POOL_ID)?;
                    valid_pool_id(&user_pool_id)
                        .map_err(|p| ConfigError::new(var::COGNITO_USER_POOL_ID, p))?;
                    SignOutConfig::Cognito {
                        user_pool_id,
                        endpoint: env.endpoint(var::COGNITO_ENDPOINT)?,
                    }
                }
                Transport::Directory(dir) => SignOutConfig::Directory(dir),
            };
        Ok(Self {
            region: AwsRegion::load(env)?,
            trust: TrustRoots::load(env)?,
            sign_out,
        })
    }
}

/// Cognito's pattern for a user pool id: `<region>_<id>`, at most 55 characters.
fn valid_pool_id(id: &str) -> Result<(), String> {
    let (region, rest) = id.split_once('_').unwrap_or_default();
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let rest_ok = !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric());
    if region_ok && rest_ok && id.len() <= 55 {
        Ok(())
    } else {
        Err(format!("{id:?} is not a user pool id (<region>_<id>)"))
    }
}

/// Where sign-outs go.
pub enum SignOut {
    Cognito {
        client: aws_sdk_cognitoidentityprovider::Client,
        user_pool_id: String,
    },
    /// One JSON file per sign-out (the local stand-in for Cognito).
    Directory(PathBuf),
}

impl SignOut {
    pub fn connect(config: &Config) -> Result<Self, ConfigError> {
        match &config.sign_out {
            SignOutConfig::Cognito {
                user_pool_id,
                endpoint,
            } => {
                let https = Https::new(&config.trust)?;
                let sdk = shared::aws::sdk_config(&config.region, &https, endpoint.as_deref());
                Ok(Self::Cognito {
                    client: aws_sdk_cognitoidentityprovider::Client::new(&sdk),
                    user_pool_id: user_pool_id.clone(),
                })
            }
            SignOutConfig::Directory(dir) => Ok(Self::Directory(shared::config::local_dir(
                var::REVOCATIONS_DIR,
                dir,
            )?)),
        }
    }
}

/// What one event came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The user's sessions were ended.
    SignedOut(UserId),
    /// The identity provider has no such user: nothing to end, and no retry would change it.
    NoSuchUser(UserId),
    /// Not an event that ends sessions (a rule that matches more than it should).
    Ignored,
}

/// The part of an account event's detail this function reads.
#[derive(Deserialize)]
struct Detail {
    user_id: UserId,
}

/// A sign-out as the local stand-in records it.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub user_id: UserId,
    pub event: String,
    pub event_id: String,
}

/// What `main.rs` runs: configuration and client once per cold start, then the runtime loop.
pub async fn run(name: &'static str) -> Result<(), lambda_runtime::Error> {
    let (sign_out, metrics) = shared::runtime::start_events(name, |env| {
        Config::load(env).and_then(|config| SignOut::connect(&config))
    })?;
    shared::runtime::serve_events(
        sign_out,
        metrics,
        |sign_out, event: EventBridgeEvent| async move {
            handle(sign_out, &event)
                .await
                .map(|_| ())
                .map_err(|e| lambda_runtime::Error::from(e.to_string()))
        },
    )
    .await
}

/// One event: the user signed out, or an error for Lambda to retry (and, after the retries,
/// to hand to the dead-letter queue).
pub async fn handle(sign_out: &SignOut, event: &EventBridgeEvent) -> Result<Outcome, ApiError> {
    let event_id = event.id.as_deref().unwrap_or_default();
    if !KINDS.contains(&event.detail_type.as_str()) {
        tracing::warn!(
            event = event.detail_type,
            event_id,
            "not an event that ends sessions"
        );
        return Ok(Outcome::Ignored);
    }
    // A malformed event fails: retried, then kept in the dead-letter queue, never dropped.
    let detail: Detail = serde_json::from_value(event.detail.clone())
        .map_err(|e| ApiError::internal(format!("the event's detail: {e}")))?;
    let user_id = detail.user_id;
    let outcome = sign_out
        .sign_out(user_id, &event.detail_type, event_id)
        .await;
    let name = match &outcome {
        Ok(Outcome::NoSuchUser(_)) => metrics::names::SIGN_OUTS_UNKNOWN_USER,
        Ok(_) => metrics::names::SIGN_OUTS,
        Err(_) => metrics::names::SIGN_OUTS_FAILED,
    };
    metrics::count(name, 1);
    match &outcome {
        Ok(Outcome::NoSuchUser(_)) => {
            tracing::warn!(%user_id, event_id, "the identity provider has no such user")
        }
        Ok(_) => tracing::info!(%user_id, event_id, "sessions ended"),
        Err(error) => tracing::error!(%user_id, event_id, error = %error, "sign-out failed"),
    }
    outcome
}

impl SignOut {
    async fn sign_out(
        &self,
        user_id: UserId,
        event: &str,
        event_id: &str,
    ) -> Result<Outcome, ApiError> {
        match self {
            // The platform's user id is the token's `sub` (docs/contract.md §3): in a pool
            // whose usernames are not an alias attribute, Cognito takes a user's `sub` as
            // its username here (docs/authorizer.md, "Ending sessions at the provider").
            SignOut::Cognito {
                client,
                user_pool_id,
            } => match client
                .admin_user_global_sign_out()
                .user_pool_id(user_pool_id)
                .username(user_id.to_string())
                .send()
                .await
            {
                Ok(_) => Ok(Outcome::SignedOut(user_id)),
                Err(SdkError::ServiceError(e))
                    if matches!(
                        e.err(),
                        AdminUserGlobalSignOutError::UserNotFoundException(_)
                    ) =>
                {
                    Ok(Outcome::NoSuchUser(user_id))
                }
                Err(e) => Err(ApiError::Unavailable {
                    cause: format!(
                        "Cognito AdminUserGlobalSignOut: {}",
                        DisplayErrorContext(&e)
                    ),
                }),
            },
            SignOut::Directory(dir) => {
                let record = Recorded {
                    user_id,
                    event: event.to_owned(),
                    event_id: event_id.to_owned(),
                };
                let text = serde_json::to_string_pretty(&record)
                    .map_err(|e| ApiError::internal(format!("encoding a sign-out: {e}")))?;
                let name = format!("{}-{user_id}-{event}.json", now_nanos());
                shared::config::write_whole(dir, &name, text)
                    .await
                    .map_err(|e| ApiError::Unavailable {
                        cause: format!("writing {name}: {e}"),
                    })?;
                Ok(Outcome::SignedOut(user_id))
            }
        }
    }
}

/// Nanoseconds since 1970 (19 digits until 2286): the local files sort in the order they
/// were written.
fn now_nanos() -> i128 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_pool_ids_are_checked() {
        for good in ["eu-west-1_AbC123", "us-gov-west-1_x"] {
            assert!(valid_pool_id(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "eu-west-1",
            "_abc",
            "eu-west-1_",
            "EU_abc",
            "eu-west-1_a/b",
        ] {
            assert!(valid_pool_id(bad).is_err(), "{bad}");
        }
    }
}
