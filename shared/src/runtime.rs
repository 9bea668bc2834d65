//! What every `main.rs` does: set up logging, and serve a handler with state built once per
//! cold start.

use std::future::Future;

use lambda_http::{Body, Error, Request, Response, service_fn};

use crate::caller::Authenticator;
use crate::config::CoreConfig;
use crate::store::Store;

/// The runtime's own subscriber: honours `AWS_LAMBDA_LOG_LEVEL` and
/// `AWS_LAMBDA_LOG_FORMAT=JSON` (set by the template's `LoggingConfig`).
pub fn init_tracing() {
    lambda_http::tracing::init_default_subscriber();
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

    pub async fn connect(config: &CoreConfig) -> Self {
        Self::new(
            Store::connect(config).await,
            Authenticator::new(&config.auth),
        )
    }
}
