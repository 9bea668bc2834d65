//! What every `main.rs` does: set up logging, and serve a handler with state built once per
//! cold start.

use std::future::Future;

use lambda_http::{Body, Error, Request, Response, service_fn};

use crate::caller::Authenticator;
use crate::config::{ConfigError, CoreConfig};
use crate::store::Store;

/// The functions' logs: one line per event on stdout, JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`
/// (the template's `LoggingConfig`), at the level of `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`,
/// else INFO. What `lambda_http::tracing::init_default_subscriber` does, but with a plain
/// level instead of an `EnvFilter`, whose per-module directives nobody sets on a Lambda and
/// whose regex engine made every binary ~150 KiB larger.
pub fn init_tracing() {
    use lambda_http::tracing::subscriber::filter::LevelFilter;
    let level = |name| {
        std::env::var(name)
            .ok()
            .and_then(|value| value.trim().parse::<LevelFilter>().ok())
    };
    let level = level("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| level("RUST_LOG"))
        .unwrap_or(LevelFilter::INFO);
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
