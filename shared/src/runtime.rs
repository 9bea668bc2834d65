//! What every `main.rs` does: set up logging, and serve a [`Function`] whose state is built
//! once per cold start.

use std::future::Future;
use std::pin::Pin;

use lambda_http::{Body, Error, IntoResponse, Request, Response};
use metrics_cloudwatch_embedded::Collector;

use crate::aws::Https;
use crate::aws::partition::OwnPartition;
use crate::error::ApiError;

use crate::caller::{Authenticator, Caller};
use crate::ids::UserId;
use lambda_http::tracing::subscriber::filter::LevelFilter;

use crate::config::{AwsRegion, ConfigError, CoreConfig, Env, ProcessEnv, var};
use crate::metrics;
use crate::store::Store;

/// The most verbose level the functions log at, whatever the configuration says: at TRACE
/// the Lambda runtime logs whole events (bodies with passwords, `Authorization` headers,
/// query strings with confirmation tokens) and the AWS SDK whole DynamoDB bodies (hashes).
/// The workspace also compiles TRACE out (`tracing`'s `max_level_debug`).
pub(crate) const MOST_VERBOSE: LevelFilter = LevelFilter::DEBUG;

/// The level of `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO: Lambda's names
/// (`TRACE` … `FATAL`, any case) and `OFF`. `TRACE` is capped at [`MOST_VERBOSE`], `FATAL`
/// is `ERROR` (tracing has nothing above it); anything else stops the cold start.
pub(crate) fn log_level(env: &Env<'_>) -> Result<LevelFilter, ConfigError> {
    for name in [var::AWS_LAMBDA_LOG_LEVEL, var::RUST_LOG] {
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
pub(crate) fn init_tracing() -> Result<(), ConfigError> {
    let env = Env::new(&ProcessEnv);
    let level = log_level(&env)?;
    let json = env
        .optional(var::AWS_LAMBDA_LOG_FORMAT)
        .is_some_and(|f| f.eq_ignore_ascii_case("json"));
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

pub use crate::error::Answer;

/// One Lambda function: its configuration, its state (built once per cold start) and its
/// handler, a plain async function of (state, request) that tests call directly.
pub trait Function: Sized + Send + Sync + 'static {
    /// What it is configured with besides the [`CoreConfig`] of every function.
    type Config;

    /// That configuration, read from `env` and checked.
    fn config(env: &Env<'_>) -> Result<Self::Config, ConfigError>;

    /// The state of an execution environment around `core`, which [`run`] built from
    /// `settings` (and whose connection it opens next): the other clients, built
    /// synchronously over `https`, the store's.
    fn connect(
        core: Core,
        settings: &CoreConfig,
        config: &Self::Config,
        https: &Https,
    ) -> Result<Self, ConfigError>;

    fn handle(&self, request: &Request) -> impl Future<Output = Answer> + Send;

    /// How an error is shown: problem+json, unless the function serves pages.
    fn render_error(&self, request: &Request, error: &ApiError) -> Response<Body> {
        error.to_response(request.uri().path())
    }
}

/// A function whose state is [`Core`] (the store and the authenticator) and whose
/// configuration is [`CoreConfig`]: it only says how it wraps the core and handles requests.
pub trait CoreFunction: Sized + Send + Sync + 'static {
    fn new(core: Core) -> Self;

    fn handle(&self, request: &Request) -> impl Future<Output = Answer> + Send;

    /// As [`Function::render_error`].
    fn render_error(&self, request: &Request, error: &ApiError) -> Response<Body> {
        error.to_response(request.uri().path())
    }
}

impl<T: CoreFunction> Function for T {
    type Config = ();

    fn config(_env: &Env<'_>) -> Result<(), ConfigError> {
        Ok(())
    }

    fn connect(
        core: Core,
        _settings: &CoreConfig,
        _config: &(),
        _https: &Https,
    ) -> Result<Self, ConfigError> {
        Ok(T::new(core))
    }

    async fn handle(&self, request: &Request) -> Answer {
        CoreFunction::handle(self, request).await
    }

    fn render_error(&self, request: &Request, error: &ApiError) -> Response<Body> {
        CoreFunction::render_error(self, request, error)
    }
}

/// What every `main.rs` runs: logging, configuration and state once per cold start (a
/// failed start is logged, naming the variable), the connection to DynamoDB opened while
/// init runs at full CPU, then the Lambda runtime loop. `name` (the crate's) is the
/// `function` dimension of its metrics.
pub async fn run<F: Function>(name: &'static str) -> Result<(), Error> {
    init_tracing()?;
    let env = Env::new(&ProcessEnv);
    let started = async {
        let (settings, config) = (CoreConfig::load(&env)?, F::config(&env)?);
        let https = Https::new(&settings.trust)?;
        // Dropped before the connection's DNS lookup, which runs on Tokio's blocking pool.
        let partition = OwnPartition::install(&settings.region);
        let core = Core::connect(&settings, &https)?;
        let store = core.store.clone();
        let function = F::connect(core, &settings, &config, &https)?;
        drop(partition);
        store.open_connection().await;
        Ok::<_, ConfigError>((function, metrics::collector(&env, name)?))
    };
    let (function, metrics) = started.await.inspect_err(|e| tracing::error!("{e}"))?;
    serve(function, metrics).await
}

/// The start of a function driven by events rather than HTTP requests (the table's stream,
/// the bus, a queue, an authorizer's requests): logging, then its state from the
/// environment and its metrics' collector, once per cold start. A failed start is logged,
/// naming the variable.
pub fn start_events<S>(
    name: &'static str,
    state: impl FnOnce(&Env<'_>) -> Result<S, ConfigError>,
) -> Result<(S, &'static Collector), Error> {
    init_tracing()?;
    let env = Env::new(&ProcessEnv);
    // `state` builds its clients synchronously, within the guard's life.
    let partition = AwsRegion::load(&env)
        .ok()
        .map(|region| OwnPartition::install(&region));
    let started = state(&env);
    drop(partition);
    let started = started.and_then(|state| Ok((state, metrics::collector(&env, name)?)));
    Ok(started.inspect_err(|e| tracing::error!("{e}"))?)
}

/// The runtime loop of such a function: `handle` answers each event's payload with `state`,
/// leaked once for the execution environment, and the metrics are flushed after each
/// invocation. An `Err` fails the invocation, which Lambda then retries where it retries.
pub async fn serve_events<S, T, R, F, Fut>(
    state: S,
    collector: &'static Collector,
    handle: F,
) -> Result<(), Error>
where
    S: Sync + 'static,
    T: for<'de> serde::Deserialize<'de>,
    R: serde::Serialize,
    F: Fn(&'static S, T) -> Fut,
    Fut: Future<Output = Result<R, Error>>,
{
    let state: &'static S = Box::leak(Box::new(state));
    // Boxed: the runtime's layers nest deeper than the compiler's default limit allows in
    // `main`'s future.
    let runtime: Pin<Box<dyn Future<Output = Result<(), Error>>>> =
        Box::pin(metrics_cloudwatch_embedded::lambda::handler::run(
            collector,
            move |event: lambda_http::lambda_runtime::LambdaEvent<T>| handle(state, event.payload),
        ));
    runtime.await
}

/// Runs the Lambda runtime loop, flushing the metrics after each invocation. The state lives
/// as long as the execution environment, so it is leaked once instead of being
/// reference-counted on every request.
pub async fn serve<F: Function>(function: F, metrics: &'static Collector) -> Result<(), Error> {
    let function: &'static F = Box::leak(Box::new(function));
    metrics_cloudwatch_embedded::lambda::handler::run_http(
        metrics,
        move |request: Request| async move { Ok::<_, Error>(Ready(respond(function, request).await)) },
    )
    .await
}

/// A response as the runtime sends it. lambda_http's `IntoResponse` for a `Response<B>`
/// decodes every text body again by its `charset`, through `encoding_rs` and its tables of
/// every legacy encoding (docs/performance.md); ours are
/// already UTF-8 text or empty, so this hands them over as that conversion leaves them.
struct Ready(Response<Body>);

impl IntoResponse for Ready {
    fn into_response(self) -> Pin<Box<dyn Future<Output = Response<Body>> + Send>> {
        let (parts, body) = self.0.into_parts();
        let body = match body {
            // What lambda_http's conversion makes of an empty body.
            Body::Empty => Body::Text(String::new()),
            body => body,
        };
        Box::pin(std::future::ready(Response::from_parts(parts, body)))
    }
}

/// One request through a function: the handler's answer, or its error rendered, and one log
/// line (method, path, status and, for errors, the slug and for 5xx the cause — never the
/// query, headers or body).
pub async fn respond<F: Function>(function: &F, request: Request) -> Response<Body> {
    let result = function.handle(&request).await;
    let method = request.method();
    let path = request.uri().path();
    match result {
        Ok(response) => {
            let status = response.status().as_u16();
            tracing::info!(%method, path, status, "request handled");
            metrics::response(status, "none");
            response
        }
        Err(error) => {
            let status = error.status().as_u16();
            let slug = error.slug();
            if error.status().is_server_error() {
                // Causes never contain secrets: no error is built from a password, hash or
                // token.
                tracing::error!(%method, path, status, slug, error = %error, "request failed");
            } else {
                tracing::info!(%method, path, status, slug, "request refused");
            }
            metrics::response(status, slug);
            function.render_error(&request, &error)
        }
    }
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

    pub fn connect(config: &CoreConfig, https: &Https) -> Result<Self, ConfigError> {
        Ok(Self::new(
            Store::connect(config, https)?,
            Authenticator::new(&config.auth),
        ))
    }

    /// The caller, then the user of the path (`{user_id}`): what every authenticated route
    /// reads first, in this order (no caller is a 401 whatever the path says).
    pub fn caller_and_user(&self, request: &Request) -> Result<(Caller, UserId), ApiError> {
        let caller = self.auth.caller(request)?;
        Ok((caller, crate::http::path_user_id(request)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Ready` hands over every kind of response the functions make as lambda_http's own
    /// conversion would: status, headers and body.
    #[tokio::test]
    async fn ready_responses_are_what_lambda_http_would_make_of_them() {
        let text = |content_type: &'static str, body: &str| {
            let mut response = Response::new(Body::Text(body.to_owned()));
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(content_type),
            );
            response
        };
        let made = [
            crate::http::no_content(),
            ApiError::NotFound.to_response("/users/u1"),
            text("application/json", r#"{"display_name":"Zoë 山田"}"#),
            text("text/html; charset=utf-8", "<p>ünïcode</p>"),
        ];
        for response in made {
            let theirs = clone(&response).into_response().await;
            let ours = Ready(response).into_response().await;
            assert_eq!(ours.status(), theirs.status());
            assert_eq!(ours.headers(), theirs.headers());
            assert_eq!(ours.body(), theirs.body(), "{:?}", theirs.headers());
        }
    }

    fn clone(response: &Response<Body>) -> Response<Body> {
        let mut copy = Response::new(response.body().clone());
        *copy.status_mut() = response.status();
        *copy.headers_mut() = response.headers().clone();
        copy
    }

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
