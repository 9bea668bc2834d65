//! What every `main.rs` does: set up logging, and serve a handler with state built once per
//! cold start.

use std::future::Future;

use lambda_http::{Body, Error, Request, Response, service_fn};

use crate::caller::Authenticator;
use lambda_http::tracing::subscriber::filter::LevelFilter;

use crate::config::{ConfigError, CoreConfig, Env, ProcessEnv};
use crate::store::Store;

/// The most verbose level the functions log at, whatever the configuration says: at TRACE
/// the Lambda runtime logs whole events (bodies with passwords, `Authorization` headers,
/// query strings with confirmation tokens) and the AWS SDK whole DynamoDB bodies (hashes).
/// The workspace also compiles TRACE out (`tracing`'s `max_level_debug`).
pub const MOST_VERBOSE: LevelFilter = LevelFilter::DEBUG;

/// The level of `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO: Lambda's names
/// (`TRACE` … `FATAL`, any case) and `OFF`. `TRACE` is capped at [`MOST_VERBOSE`], `FATAL`
/// is `ERROR` (tracing has nothing above it); anything else stops the cold start.
pub fn log_level(env: &Env<'_>) -> Result<LevelFilter, ConfigError> {
    const NAMES: [&str; 2] = ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"];
    for name in NAMES {
        if let Some(raw) = env.optional(name) {
            let level = match raw.trim().to_ascii_uppercase().as_str() {
                "TRACE" | "DEBUG" => MOST_VERBOSE,
                "INFO" => LevelFilter::INFO,
                "WARN" => LevelFilter::WARN,
                "ERROR" | "FATAL" => LevelFilter::ERROR,
                "OFF" => LevelFilter::OFF,
                _ => {
                    return Err(ConfigError::new(
                        name,
                        format!(
                            "{raw:?} is not a log level (TRACE, DEBUG, INFO, WARN, ERROR, FATAL or OFF)"
                        ),
                    ));
                }
            };
            return Ok(level);
        }
    }
    Ok(LevelFilter::INFO)
}

/// The functions' logs: one line per event on stdout, JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`
/// (the template's `LoggingConfig`), at [`log_level`]. What
/// `lambda_http::tracing::init_default_subscriber` does, but with a checked, capped level
/// instead of an `EnvFilter`, whose per-module directives nobody sets on a Lambda and whose
/// regex engine made every binary larger.
pub fn init_tracing() -> Result<(), ConfigError> {
    let level = log_level(&Env::new(&ProcessEnv))?;
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let subscriber = lambda_http::tracing::subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(level);
    if json {
        subscriber.json().init();
    } else {
        subscriber.init();
    }
    tracing::debug!(%level, "logging at DEBUG, the most verbose level");
    Ok(())
}

/// Runs the Lambda runtime loop. The state lives as long as the execution environment, so it
/// is leaked once instead of being reference-counted on every request.
pub async fn serve<S, H, F>(state: S, handler: H) -> Result<(), Error>
where
    S: Send + Sync + 'static,
    H: Fn(&'static S, Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    let state: &'static S = Box::leak(Box::new(state));
    lambda_http::run(service_fn(|request: Request| {
        let response = handler(state, request);
        async move { Ok::<_, std::convert::Infallible>(response.await) }
    }))
    .await
}

/// What the simplest functions need: the store and the authenticator.
pub struct Core {
    pub store: Store,
    pub auth: Authenticator,
}

impl Core {
    pub fn new(store: Store, auth: Authenticator) -> Self {
        Self { store, auth }
    }

    pub fn connect(config: &CoreConfig) -> Result<Self, ConfigError> {
        Ok(Self::new(
            Store::connect(config)?,
            Authenticator::new(&config.auth),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(vars: &[(&str, &str)]) -> Result<LevelFilter, ConfigError> {
        log_level(&Env::new(&vars))
    }

    #[test]
    fn no_configuration_logs_below_debug() {
        assert_eq!(
            level(&[("AWS_LAMBDA_LOG_LEVEL", "TRACE")]),
            Ok(LevelFilter::DEBUG)
        );
        assert_eq!(level(&[("RUST_LOG", "trace")]), Ok(LevelFilter::DEBUG));
        assert_eq!(level(&[]), Ok(LevelFilter::INFO));
        assert_eq!(
            level(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]),
            Ok(LevelFilter::ERROR)
        );
        assert_eq!(
            level(&[("AWS_LAMBDA_LOG_LEVEL", "warn"), ("RUST_LOG", "debug")]),
            Ok(LevelFilter::WARN),
            "Lambda's own setting wins"
        );
        // tracing's static maximum (the workspace's `max_level_debug`) agrees.
        assert!(tracing::level_filters::STATIC_MAX_LEVEL <= LevelFilter::DEBUG);
    }

    #[test]
    fn unknown_levels_stop_the_cold_start_naming_the_variable() {
        for bad in ["verbose", "debug,aws_sdk=trace", "5"] {
            assert_eq!(
                level(&[("AWS_LAMBDA_LOG_LEVEL", bad)]).unwrap_err().name,
                "AWS_LAMBDA_LOG_LEVEL"
            );
            assert_eq!(level(&[("RUST_LOG", bad)]).unwrap_err().name, "RUST_LOG");
        }
    }
}
