//! Configuration from the environment, read and validated once per cold start.
//!
//! Every problem names the variable, so a misconfigured function fails at start-up with a
//! message an operator can act on, instead of failing per request.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The environment variables the functions' own code reads (the SDK's credentials and the
/// runtime's `AWS_LAMBDA_RUNTIME_API` are read by those crates), each a constant of its own
/// name, so that a name in the code is the variable's name. docs/contract.md §7 and the README's configuration table say what each means; the
/// `load` functions check them.
pub mod var {
    macro_rules! names {
        ($($name:ident),* $(,)?) => {
            $(pub const $name: &str = stringify!($name);)*
        };
    }

    names! {
        // Every function: CoreConfig, its region and trust, and the metrics' namespace.
        // TRUSTED_CA_FILE, not the AWS CLI's `AWS_CA_BUNDLE`: machines and CI images set that
        // one for all their tools, and the functions' trust must not widen with them.
        AWS_REGION, TRUSTED_CA_FILE, TABLE_NAME, DYNAMODB_ENDPOINT, DYNAMODB_PRECONNECT,
        AUTH_MODE, DEV_AUTH_SECRET, METRICS_NAMESPACE,
        // Logging (shared::runtime): the template's LoggingConfig, else RUST_LOG.
        AWS_LAMBDA_LOG_LEVEL, RUST_LOG, AWS_LAMBDA_LOG_FORMAT,
        // Passwords (PasswordConfig); Lambda sets the function's memory, in MB.
        PASSWORD_MIN_LENGTH, ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_PARALLELISM,
        ARGON2_MAX_MEMORY_KIB,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
        // Email changes and their mail (EmailConfig, MailConfig).
        CONFIRMATION_URL_BASE, EMAIL_TOKEN_TTL_SECONDS, EMAIL_CHANGE_COOLDOWN_SECONDS,
        EMAIL_CHANGE_DAILY_LIMIT, MAIL_TRANSPORT, MAIL_SENDER, MAIL_DIR, SES_ENDPOINT,
        // Account events (account-events' BusConfig).
        EVENTS_TRANSPORT, EVENT_BUS_NAME, EVENTBRIDGE_ENDPOINT, EVENTS_DIR, EVENT_SOURCE,
        NOTICE_DAILY_LIMIT,
        // The authorizer (authorize's Config): whose tokens, for whom, keys from where.
        JWT_ISSUER, JWT_AUDIENCE, JWKS_URL,
        // Ending sessions at the identity provider (revoke-sessions' Config).
        SIGN_OUT_TRANSPORT, COGNITO_USER_POOL_ID, COGNITO_ENDPOINT, REVOCATIONS_DIR,
    }
}

/// Where configuration comes from: the process environment in Lambda, a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub(crate) struct ProcessEnv;

impl Source for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Source for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

impl Source for &[(&str, &str)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration variable {name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub fn new(name: &'static str, problem: impl Into<String>) -> Self {
        Self {
            name,
            problem: problem.into(),
        }
    }
}

/// Typed access to a [`Source`]. An empty value counts as unset, because SAM passes
/// unset optional parameters as empty strings.
pub struct Env<'a> {
    source: &'a dyn Source,
}

impl<'a> Env<'a> {
    pub fn new(source: &'a dyn Source) -> Self {
        Self { source }
    }

    pub(crate) fn optional(&self, name: &'static str) -> Option<String> {
        self.source
            .get(name)
            .filter(|value| !value.trim().is_empty())
    }

    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name)
            .ok_or_else(|| ConfigError::new(name, "is required but not set"))
    }

    /// A value parsed with `parse`, or `default` when unset.
    pub fn parsed<T>(
        &self,
        name: &'static str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        match self.optional(name) {
            None => Ok(default),
            Some(raw) => parse(raw.trim()).map_err(|problem| ConfigError::new(name, problem)),
        }
    }

    /// An unsigned integer within `range`, or `default` when unset.
    pub fn number(
        &self,
        name: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        self.parsed(name, default, |raw| {
            let value: u64 = raw
                .parse()
                .map_err(|_| format!("expected a whole number, got {raw:?}"))?;
            if range.contains(&value) {
                Ok(value)
            } else {
                Err(format!(
                    "{value} is outside {}..={}",
                    range.start(),
                    range.end()
                ))
            }
        })
    }

    /// An `http://` or `https://` endpoint instead of an AWS service's own (a local stand-in),
    /// or `None` when unset.
    pub fn endpoint(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        self.parsed(name, None, |raw| {
            validate_endpoint(raw).map(|()| Some(raw.to_owned()))
        })
    }

    /// Where a function's outgoing messages go, named by `name`: the AWS `service`, or
    /// `directory`, the files of `dir_name`'s folder (for `sam local`, `cargo lambda` and
    /// the tests).
    pub fn transport(
        &self,
        name: &'static str,
        service: &'static str,
        dir_name: &'static str,
    ) -> Result<Transport, ConfigError> {
        match self.required(name)?.trim() {
            "directory" => Ok(Transport::Directory(PathBuf::from(
                self.required(dir_name)?,
            ))),
            chosen if chosen == service => Ok(Transport::Service),
            other => Err(ConfigError::new(
                name,
                format!("expected `{service}` or `directory`, got {other:?}"),
            )),
        }
    }
}

/// See [`Env::transport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Service,
    Directory(PathBuf),
}

/// The region every function runs in (Lambda sets `AWS_REGION`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsRegion(String);

impl AwsRegion {
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        env.parsed(var::AWS_REGION, None, |raw| {
            let valid = (2..=32).contains(&raw.len())
                && raw
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if valid {
                Ok(Some(Self(raw.to_owned())))
            } else {
                Err(format!("{raw:?} is not an AWS region (like us-east-1)"))
            }
        })?
        .ok_or_else(|| ConfigError::new(var::AWS_REGION, "is required".to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The certificate authorities that AWS endpoints' certificates are checked against.
#[derive(Clone, PartialEq, Eq)]
pub enum TrustRoots {
    /// The Amazon Trust Services roots compiled into every function (`shared::aws`).
    AmazonTrustServices,
    /// The certificates of `TRUSTED_CA_FILE` (PEM), instead of the built-in roots: for an
    /// endpoint of one's own over TLS, such as the benchmark's terminator. Unset in AWS.
    Bundle { path: String, pem: Vec<u8> },
}

impl TrustRoots {
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        env.parsed(var::TRUSTED_CA_FILE, Self::AmazonTrustServices, |path| {
            let pem = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
            const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
            if !pem.windows(BEGIN.len()).any(|window| window == BEGIN) {
                return Err(format!("{path}: no PEM certificate in the file"));
            }
            Ok(Self::Bundle {
                path: path.to_owned(),
                pem,
            })
        })
    }
}

impl fmt::Debug for TrustRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AmazonTrustServices => f.write_str("AmazonTrustServices"),
            Self::Bundle { path, .. } => write!(f, "Bundle({path:?})"),
        }
    }
}

/// How callers are identified.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// Claims of a JWT that API Gateway has already verified (the only mode for AWS).
    ApiGateway,
    /// Local development without API Gateway: the function verifies HS256 bearer tokens
    /// itself with a shared secret.
    Development { secret: DevSecret },
}

impl fmt::Debug for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthMode::ApiGateway => f.write_str("ApiGateway"),
            AuthMode::Development { .. } => f.write_str("Development"),
        }
    }
}

/// The development signing secret; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct DevSecret(String);

impl DevSecret {
    pub(crate) const MIN_LEN: usize = 32;

    pub fn new(secret: String) -> Result<Self, String> {
        if secret.len() < Self::MIN_LEN {
            return Err(format!(
                "must be at least {} bytes long (got {})",
                Self::MIN_LEN,
                secret.len()
            ));
        }
        Ok(Self(secret))
    }

    pub(crate) fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for DevSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DevSecret(..)")
    }
}

/// What every function needs: the table, how to reach DynamoDB, and how to identify callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreConfig {
    pub table_name: String,
    pub region: AwsRegion,
    pub dynamodb_endpoint: Option<String>,
    pub trust: TrustRoots,
    /// Whether the init phase opens the connection to DynamoDB (`DYNAMODB_PRECONNECT`,
    /// default `true`).
    pub preconnect: bool,
    pub auth: AuthMode,
}

impl CoreConfig {
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let table_name = env.required(var::TABLE_NAME)?;
        validate_table_name(&table_name).map_err(|p| ConfigError::new(var::TABLE_NAME, p))?;
        let dynamodb_endpoint = env.endpoint(var::DYNAMODB_ENDPOINT)?;
        let auth = match env.optional(var::AUTH_MODE).as_deref().map(str::trim) {
            None | Some("apigateway") => AuthMode::ApiGateway,
            Some("development") => {
                let secret = env.required(var::DEV_AUTH_SECRET)?;
                AuthMode::Development {
                    secret: DevSecret::new(secret)
                        .map_err(|p| ConfigError::new(var::DEV_AUTH_SECRET, p))?,
                }
            }
            Some(other) => {
                return Err(ConfigError::new(
                    var::AUTH_MODE,
                    format!("expected `apigateway` or `development`, got {other:?}"),
                ));
            }
        };
        Ok(Self {
            table_name,
            region: AwsRegion::load(env)?,
            dynamodb_endpoint,
            trust: TrustRoots::load(env)?,
            preconnect: env.parsed(var::DYNAMODB_PRECONNECT, true, |raw| match raw {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(format!("expected `true` or `false`, got {raw:?}")),
            })?,
            auth,
        })
    }
}

/// DynamoDB's rule: 3 to 255 of `A-Z a-z 0-9 _ - .`.
fn validate_table_name(name: &str) -> Result<(), String> {
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if (3..=255).contains(&name.len()) && valid_chars {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ - .)"
        ))
    }
}

fn validate_endpoint(raw: &str) -> Result<(), String> {
    let uri: ::http::Uri = raw.parse().map_err(|_| format!("{raw:?} is not a URL"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(_)) => Ok(()),
        _ => Err(format!("{raw:?} must be an http:// or https:// URL")),
    }
}

/// A local transport's directory (mail, events; `var` names it), created at cold start if
/// missing.
pub fn local_dir(var: &'static str, dir: &Path) -> Result<PathBuf, ConfigError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| ConfigError::new(var, format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir.to_path_buf())
}

/// Writes `name` in a local transport's directory whole: to a hidden partial file, then
/// renamed, so that a reader (a test, a follower) never sees half of it, and a second write
/// of the same name replaces the first.
pub async fn write_whole(
    dir: &Path,
    name: &str,
    contents: impl AsRef<[u8]>,
) -> std::io::Result<()> {
    let partial = dir.join(format!(".{name}.partial"));
    tokio::fs::write(&partial, contents).await?;
    tokio::fs::rename(&partial, dir.join(name)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads with `vars`, and `AWS_REGION`, which Lambda always sets, unless `vars` has it.
    fn load(vars: &[(&str, &str)]) -> Result<CoreConfig, ConfigError> {
        let mut vars = vars.to_vec();
        if !vars.iter().any(|(name, _)| *name == var::AWS_REGION) {
            vars.push((var::AWS_REGION, "eu-central-1"));
        }
        let vars: &[(&str, &str)] = &vars;
        CoreConfig::load(&Env::new(&vars))
    }

    #[test]
    fn the_region_is_required_and_checked() {
        for bad in ["", "US EAST 1", "us_east_1", "us-east-1;rm"] {
            let vars = [("TABLE_NAME", "accounts"), ("AWS_REGION", bad)];
            assert_eq!(load(&vars).unwrap_err().name, "AWS_REGION", "{bad:?}");
        }
        let config = load(&[("TABLE_NAME", "accounts")]).unwrap();
        assert_eq!(config.region.as_str(), "eu-central-1");
    }

    #[test]
    fn table_name_is_required_and_named_in_the_error() {
        let err = load(&[]).unwrap_err();
        assert_eq!(err.name, "TABLE_NAME");
        assert!(err.to_string().contains("TABLE_NAME"));
    }

    #[test]
    fn defaults_to_api_gateway_auth() {
        let config = load(&[("TABLE_NAME", "accounts")]).unwrap();
        assert_eq!(config.auth, AuthMode::ApiGateway);
        assert_eq!(config.dynamodb_endpoint, None);
    }

    #[test]
    fn malformed_values_name_their_variable() {
        assert_eq!(
            load(&[("TABLE_NAME", "a b")]).unwrap_err().name,
            "TABLE_NAME"
        );
        let bad_endpoint = [
            ("TABLE_NAME", "t1x"),
            ("DYNAMODB_ENDPOINT", "localhost:8000"),
        ];
        assert_eq!(load(&bad_endpoint).unwrap_err().name, "DYNAMODB_ENDPOINT");
        let bad_mode = [("TABLE_NAME", "t1x"), ("AUTH_MODE", "dev")];
        assert_eq!(load(&bad_mode).unwrap_err().name, "AUTH_MODE");
        let no_secret = [("TABLE_NAME", "t1x"), ("AUTH_MODE", "development")];
        assert_eq!(load(&no_secret).unwrap_err().name, "DEV_AUTH_SECRET");
        let short_secret = [
            ("TABLE_NAME", "t1x"),
            ("AUTH_MODE", "development"),
            ("DEV_AUTH_SECRET", "short"),
        ];
        assert_eq!(load(&short_secret).unwrap_err().name, "DEV_AUTH_SECRET");
    }

    #[test]
    fn development_mode_keeps_its_secret_out_of_debug_output() {
        let secret = "0123456789abcdef0123456789abcdef";
        let config = load(&[
            ("TABLE_NAME", "accounts"),
            ("AUTH_MODE", "development"),
            ("DEV_AUTH_SECRET", secret),
            ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
        ])
        .unwrap();
        assert!(matches!(config.auth, AuthMode::Development { .. }));
        assert!(!format!("{config:?}").contains(secret));
    }

    #[test]
    fn aws_endpoints_are_checked_against_the_built_in_roots_unless_a_bundle_is_given() {
        let config = load(&[("TABLE_NAME", "accounts")]).unwrap();
        assert_eq!(config.trust, TrustRoots::AmazonTrustServices);
        crate::aws::http_client(&config.trust).unwrap();

        let dir = std::env::temp_dir().join(format!("ca-bundle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bundle = dir.join("bundle.pem");
        let roots = include_str!("../certs/amazon-trust-services.pem");
        let first = &roots[roots.find("-----BEGIN").unwrap()..];
        let first = &first[..first.find("-----END CERTIFICATE-----").unwrap() + 25];
        std::fs::write(&bundle, first).unwrap();
        let path = bundle.to_str().unwrap();
        let config = load(&[("TABLE_NAME", "accounts"), ("TRUSTED_CA_FILE", path)]).unwrap();
        assert!(matches!(&config.trust, TrustRoots::Bundle { pem, .. } if pem == first.as_bytes()));
        crate::aws::http_client(&config.trust).unwrap();

        // A missing file, or one without a certificate, stops the cold start by name.
        let missing = dir.join("missing.pem");
        let not_pem = dir.join("not.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        for path in [&missing, &not_pem] {
            let vars = [
                ("TABLE_NAME", "accounts"),
                ("TRUSTED_CA_FILE", path.to_str().unwrap()),
            ];
            assert_eq!(load(&vars).unwrap_err().name, "TRUSTED_CA_FILE");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_connection_is_opened_during_init_unless_turned_off() {
        assert!(load(&[("TABLE_NAME", "accounts")]).unwrap().preconnect);
        let off = [("TABLE_NAME", "accounts"), ("DYNAMODB_PRECONNECT", "false")];
        assert!(!load(&off).unwrap().preconnect);
        let bad = [("TABLE_NAME", "accounts"), ("DYNAMODB_PRECONNECT", "no")];
        assert_eq!(load(&bad).unwrap_err().name, "DYNAMODB_PRECONNECT");
    }

    #[test]
    fn numbers_are_range_checked() {
        let vars: &[(&str, &str)] = &[("N", "70")];
        let env = Env::new(&vars);
        assert_eq!(env.number("N", 5, 1..=100).unwrap(), 70);
        assert_eq!(env.number("N", 5, 1..=10).unwrap_err().name, "N");
        assert_eq!(env.number("MISSING", 5, 1..=10).unwrap(), 5);
    }
}
