//! The AWS SDK set-up of every client (DynamoDB, SES), built once per cold start.
//!
//! Not the SDK's default loader: in Lambda the region and the credentials are always in the
//! environment, and the loader's provider chains (profile files, SSO, STS web identity, IMDS)
//! cost cold-start time and binary size. Nor the SDK's default HTTPS client: it reads and
//! parses the whole system CA store at every cold start (what that costs:
//! docs/benchmarks.md), while every AWS endpoint chains to one of the Amazon Trust Services
//! roots, which are compiled in here. Trusting five roots instead of ~150 is also the
//! narrower trust.

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::config::{AwsRegion, ConfigError};

/// Amazon Root CA 1–4 and Starfield Services Root CA G2, as published at
/// <https://www.amazontrust.com/repository/> (copied from Debian's ca-certificates).
const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("../certs/amazon-trust-services.pem");

/// What a [`ConfigError`] of the compiled-in trust store names.
const BUILT_IN_ROOTS: &str = "(built-in Amazon Trust Services roots)";

/// Attempts per AWS call (the first try and two retries with backoff).
pub const MAX_ATTEMPTS: u32 = 3;
/// Budget of one call, retries included: well inside the function timeout, so a dead or
/// throttled service becomes a 503 rather than a Lambda timeout.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(4);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// The HTTPS client of every AWS client: rustls, Amazon Trust Services roots only.
pub fn http_client() -> Result<SharedHttpClient, String> {
    let trust = TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS.as_bytes());
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| format!("TLS context: {e}"))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https())
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
/// client, timeouts and bounded retries.
pub fn sdk_config(region: &AwsRegion) -> Result<SdkConfig, ConfigError> {
    let http = http_client().map_err(|e| ConfigError::new(BUILT_IN_ROOTS, e))?;
    Ok(SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.as_str().to_owned()))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(http)
        .timeout_config(timeouts())
        .retry_config(retries())
        .build())
}
