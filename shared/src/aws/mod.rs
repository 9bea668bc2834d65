//! The AWS SDK set-up of every client (DynamoDB, SES, EventBridge, Cognito), built once per
//! cold start.
//!
//! Not the SDK's default loader: in Lambda the region and the credentials are always in the
//! environment, and the loader's provider chains (profile files, SSO, STS web identity, IMDS)
//! cost cold-start time and binary size. Nor the SDK's default HTTPS client: it reads and
//! parses the whole system CA store at every cold start (what that costs:
//! docs/benchmarks.md), while every AWS endpoint chains to one of the Amazon Trust Services
//! roots, which are compiled in here. Trusting five roots instead of ~150 is also the
//! narrower trust.

pub mod partition;

use std::fmt;
use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_http_client::Connector;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use http_body_util::BodyExt;

use crate::config::{AwsRegion, ConfigError, TrustRoots, var};

/// Amazon Root CA 1–4 and Starfield Services Root CA G2, as published at
/// <https://www.amazontrust.com/repository/> (copied from Debian's ca-certificates).
const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("../../certs/amazon-trust-services.pem");

/// What a [`ConfigError`] of the compiled-in trust store names.
const BUILT_IN_ROOTS: &str = "(built-in Amazon Trust Services roots)";

/// Attempts per AWS call (the first try and two retries with backoff).
pub(crate) const MAX_ATTEMPTS: u32 = 3;
/// Budget of one call, retries included: well inside the function timeout, so a dead or
/// throttled service becomes a 503 rather than a Lambda timeout.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(4);
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// The HTTPS client of an AWS client: rustls, trusting only `roots`.
pub fn http_client(roots: &TrustRoots) -> Result<SharedHttpClient, ConfigError> {
    Https::new(roots).map(SharedHttpClient::new)
}

/// An HTTPS client with one connector, so one pool of connections, whatever settings the SDK
/// asks for (always the same: ours), so that [`Https::open`] opens the very connection
/// that the first request then reuses.
#[derive(Clone, Debug)]
pub struct Https(SharedHttpConnector);

impl Https {
    pub fn new(roots: &TrustRoots) -> Result<Self, ConfigError> {
        let (name, pem) = match roots {
            TrustRoots::AmazonTrustServices => {
                (BUILT_IN_ROOTS, AMAZON_TRUST_SERVICES_ROOTS.as_bytes())
            }
            TrustRoots::Bundle { pem, .. } => (var::TRUSTED_CA_FILE, pem.as_slice()),
        };
        let context = TlsContext::builder()
            .with_trust_store(TrustStore::empty().with_pem_certificate(pem))
            .build()
            .map_err(|e| ConfigError::new(name, format!("TLS context: {e}")))?;
        let settings = HttpConnectorSettings::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build();
        let connector = Connector::builder()
            .connector_settings(settings)
            .sleep_impl(TokioSleep::new())
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .tls_context(context)
            .build();
        Ok(Self(SharedHttpConnector::new(connector)))
    }

    /// Opens the connection to `endpoint` (DNS, TCP, TLS) that the next request to it
    /// reuses: an unsigned `GET /`, whose answer is read to its end, so that the connection
    /// goes back to the pool, and dropped. A failure is only logged at DEBUG: the first
    /// request then connects as it would have.
    pub async fn open(&self, endpoint: &str) {
        match self.get(endpoint, usize::MAX).await {
            Ok(_) => tracing::debug!(endpoint, "connection opened"),
            Err(error) => tracing::debug!(endpoint, error, "no connection opened"),
        }
    }

    /// An unsigned `GET` of `url` within [`ATTEMPT_TIMEOUT`], read to its end: the status
    /// and at most `limit` bytes of body (a longer body is an error).
    pub async fn get(&self, url: &str, limit: usize) -> Result<(u16, Vec<u8>), String> {
        let mut request = HttpRequest::new(SdkBody::empty());
        request.set_uri(url).map_err(|e| e.to_string())?;
        let got = async {
            let response = self.0.call(request).await.map_err(|e| format!("{e:?}"))?;
            let status = response.status().as_u16();
            let body = http_body_util::Limited::new(response.into_body(), limit)
                .collect()
                .await
                .map_err(|e| e.to_string())?;
            Ok((status, body.to_bytes().to_vec()))
        };
        tokio::time::timeout(ATTEMPT_TIMEOUT, got)
            .await
            .map_err(|_| "timed out".to_owned())?
    }
}

impl HttpClient for Https {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.clone()
    }
}

/// DynamoDB's regional endpoint, as the SDK resolves it for a region without an endpoint
/// override (the `aws` and `aws-cn` partitions).
pub(crate) fn dynamodb_endpoint(region: &AwsRegion) -> String {
    let region = region.as_str();
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://dynamodb.{region}.{domain}")
}

pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

pub fn retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

/// What every client of a function shares: region, credentials from the environment (read
/// at the first request, as Lambda rotates none within an execution environment), the HTTPS
/// client (one per function: one reading of the trust roots, one pool of connections, kept
/// per host), timeouts and bounded retries; and the client's `endpoint`, where a variable
/// such as `DYNAMODB_ENDPOINT` names one instead of the service's.
pub fn sdk_config(region: &AwsRegion, https: &Https, endpoint: Option<&str>) -> SdkConfig {
    let mut config = SdkConfig::builder();
    config.set_endpoint_url(endpoint.map(str::to_owned));
    config
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.as_str().to_owned()))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(SharedHttpClient::new(https.clone()))
        .timeout_config(timeouts())
        .retry_config(retries())
        .build()
}

/// An SDK interceptor that shows every attempt's request body to `sent`, and every
/// response's status and body to `received`: what the functions' metrics and the tests'
/// request counter watch.
pub struct Watch<Sent, Received> {
    name: &'static str,
    sent: Sent,
    received: Received,
}

impl<Sent, Received> Watch<Sent, Received>
where
    Sent: Fn(Option<&[u8]>) + Send + Sync + 'static,
    Received: Fn(u16, Option<&[u8]>) + Send + Sync + 'static,
{
    pub fn new(name: &'static str, sent: Sent, received: Received) -> Self {
        Self {
            name,
            sent,
            received,
        }
    }
}

impl<Sent, Received> fmt::Debug for Watch<Sent, Received> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl<Sent, Received> Intercept for Watch<Sent, Received>
where
    Sent: Fn(Option<&[u8]>) + Send + Sync + 'static,
    Received: Fn(u16, Option<&[u8]>) + Send + Sync + 'static,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        (self.sent)(context.request().body().bytes());
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        (self.received)(response.status().as_u16(), response.body().bytes());
        Ok(())
    }
}
