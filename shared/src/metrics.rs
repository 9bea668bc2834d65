//! CloudWatch metrics in the Embedded Metric Format (EMF): the code counts through the
//! `metrics` facade, `metrics_cloudwatch_embedded` collects, and after each invocation its
//! runtime layer writes one JSON document on stdout, which CloudWatch Logs turns into metrics
//! (no API call, nothing on the request's path). A cold start writes one document more, with
//! the `cold_start` count.
//!
//! Dimensions are of low cardinality only: the function, and per metric a status, a problem
//! slug or an outcome. Never a user id, tenant, address or request id; the invocation's
//! request id is a property of the document (searchable in the logs, not a dimension).

use std::time::Instant;

use aws_smithy_runtime_api::client::interceptors::Intercept;
use metrics_cloudwatch_embedded::{Builder, Collector};

use crate::aws::Watch;
use crate::config::{ConfigError, Env, var};

/// Where the metrics go when `METRICS_NAMESPACE` is unset.
pub(crate) const DEFAULT_NAMESPACE: &str = "AccountFunctions";

/// The names, so that the template's dashboard and alarms and the code agree.
pub mod names {
    /// Count, by `status` and `problem` (the slug, `none` for a success).
    pub const RESPONSES: &str = "responses";
    /// Count, once per execution environment (its own document).
    pub const COLD_START: &str = "cold_start";
    /// Count of mails handed to SES (or written locally), and of those refused or failed.
    pub const MAILS_SENT: &str = "mails_sent";
    pub const MAILS_FAILED: &str = "mails_failed";
    /// Count of notices not sent: over a user's or an address's daily budget.
    pub const NOTICES_DROPPED: &str = "notices_dropped";
    /// Count and Milliseconds of Argon2id hashes and verifications.
    pub const PASSWORD_HASHES: &str = "password_hashes";
    pub const PASSWORD_HASH_TIME: &str = "password_hash_time";
    /// Milliseconds of CPU the hash itself took on its thread: the cost of the parameters,
    /// whatever the function waited for (the benchmark reads it from change-password).
    pub const PASSWORD_HASH_CPU_TIME: &str = "password_hash_cpu_time";
    pub const PASSWORD_VERIFICATIONS: &str = "password_verifications";
    pub const PASSWORD_VERIFICATION_TIME: &str = "password_verification_time";
    /// Count of stored hashes refused unverified: parameters beyond the ceiling.
    pub const PASSWORD_HASHES_REFUSED: &str = "password_hashes_refused";
    /// Count of DynamoDB attempts (retries included) and of throttled ones.
    pub const DYNAMODB_ATTEMPTS: &str = "dynamodb_attempts";
    pub const DYNAMODB_THROTTLES: &str = "dynamodb_throttles";
    /// Count of events put on the bus, and of entries it failed.
    pub const EVENTS_PUBLISHED: &str = "events_published";
    pub const EVENTS_FAILED: &str = "events_failed";
    /// Count of `authorize`'s answers, by `decision` (allow, deny) and `reason`.
    pub const AUTHORIZATIONS: &str = "authorizations";
    /// Count of users whose sessions revoke-sessions ended, of sign-outs that failed, and of
    /// users Cognito did not know (usernames that are not the platform's user ids?).
    pub const SIGN_OUTS: &str = "sign_outs";
    pub const SIGN_OUTS_FAILED: &str = "sign_outs_failed";
    pub const SIGN_OUTS_UNKNOWN_USER: &str = "sign_outs_unknown_user";
    /// Count of requests `authorize` denied because the JWKS or DynamoDB was unreachable.
    pub const AUTHORIZER_FAILURES: &str = "authorizer_failures";
}

/// The collector of `function`'s metrics, installed as the `metrics` recorder: once per cold
/// start, before the runtime loop.
pub fn collector(env: &Env<'_>, function: &'static str) -> Result<&'static Collector, ConfigError> {
    let namespace = env
        .optional(var::METRICS_NAMESPACE)
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
    let valid = !namespace.is_empty()
        && namespace.len() <= 255
        && namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/#:".contains(c));
    if !valid {
        return Err(ConfigError::new(
            var::METRICS_NAMESPACE,
            "must be 1 to 255 of the characters CloudWatch allows in a namespace (letters, digits, . _ - / # :)",
        ));
    }
    let collector = Builder::new()
        .cloudwatch_namespace(namespace)
        .with_dimension("function", function)
        .lambda_cold_start_metric(names::COLD_START)
        .with_lambda_request_id("request_id")
        .init()
        .map_err(|e| ConfigError::new(var::METRICS_NAMESPACE, format!("metrics: {e}")))?;
    describe_units();
    Ok(collector)
}

/// The unit of every metric (the collector takes them from the descriptions).
fn describe_units() {
    use metrics::Unit::{Count, Milliseconds};
    use names::*;
    for name in [
        RESPONSES,
        COLD_START,
        MAILS_SENT,
        MAILS_FAILED,
        NOTICES_DROPPED,
        PASSWORD_HASHES,
        PASSWORD_VERIFICATIONS,
        PASSWORD_HASHES_REFUSED,
        DYNAMODB_ATTEMPTS,
        DYNAMODB_THROTTLES,
        EVENTS_PUBLISHED,
        EVENTS_FAILED,
        AUTHORIZATIONS,
        AUTHORIZER_FAILURES,
        SIGN_OUTS,
        SIGN_OUTS_FAILED,
        SIGN_OUTS_UNKNOWN_USER,
    ] {
        metrics::describe_counter!(name, Count, "");
    }
    for name in [
        PASSWORD_HASH_TIME,
        PASSWORD_HASH_CPU_TIME,
        PASSWORD_VERIFICATION_TIME,
    ] {
        metrics::describe_histogram!(name, Milliseconds, "");
    }
}

/// One answer of an HTTP function.
pub fn response(status: u16, problem: &'static str) {
    metrics::counter!(names::RESPONSES, "status" => status.to_string(), "problem" => problem)
        .increment(1);
}

/// One answer of `authorize`.
pub fn authorization(allowed: bool, reason: &'static str) {
    let decision = if allowed { "allow" } else { "deny" };
    metrics::counter!(names::AUTHORIZATIONS, "decision" => decision, "reason" => reason)
        .increment(1);
}

/// Counts one `count` and records its time, in milliseconds, as `time`.
pub fn timed(count: &'static str, time: &'static str, started: Instant) {
    metrics::counter!(count).increment(1);
    metrics::histogram!(time).record(started.elapsed().as_secs_f64() * 1000.0);
}

/// Records `cpu` (see [`ThreadCpuClock`]), in milliseconds, as the histogram `name`;
/// nothing when the clock could not be read.
pub fn cpu_time(name: &'static str, cpu: Option<std::time::Duration>) {
    if let Some(cpu) = cpu {
        metrics::histogram!(name).record(cpu.as_secs_f64() * 1000.0);
    }
}

/// The CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`, to the nanosecond): what
/// a computation cost, without the time its thread waited for a core.
pub struct ThreadCpuClock(Option<std::time::Duration>);

impl ThreadCpuClock {
    pub fn start() -> Self {
        Self(Self::now())
    }

    /// The CPU time this thread used since [`Self::start`]; `None` if the clock could not
    /// be read (never a made-up figure).
    pub fn elapsed(&self) -> Option<std::time::Duration> {
        Self::now()?.checked_sub(self.0?)
    }

    fn now() -> Option<std::time::Duration> {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid timespec for the call to write; nothing else is shared.
        let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
        if status != 0 {
            return None;
        }
        Some(std::time::Duration::new(
            u64::try_from(now.tv_sec).ok()?,
            u32::try_from(now.tv_nsec).ok()?,
        ))
    }
}

/// Adds `n` to the counter `name`.
pub fn count(name: &'static str, n: u64) {
    metrics::counter!(name).increment(n);
}

/// The error codes of throttled DynamoDB requests (in the body's `__type`).
const THROTTLING_CODES: [&str; 3] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
];

/// The interceptor of the store's client: counts DynamoDB attempts (each retry is one) and
/// the attempts DynamoDB throttled.
pub(crate) fn dynamodb_watch() -> impl Intercept {
    Watch::new(
        "DynamoDbMetrics",
        |_| count(names::DYNAMODB_ATTEMPTS, 1),
        |status, body| {
            if status == 400
                && let Some(body) = body
                && let Ok(text) = std::str::from_utf8(body)
                && THROTTLING_CODES.iter().any(|code| text.contains(code))
            {
                count(names::DYNAMODB_THROTTLES, 1);
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thread_cpu_clock_counts_work_and_not_waits() {
        let clock = ThreadCpuClock::start();
        std::thread::sleep(std::time::Duration::from_millis(60));
        let waited = clock.elapsed().expect("the thread's CPU clock");
        assert!(waited < std::time::Duration::from_millis(20), "{waited:?}");

        // Work until the clock shows 10 ms of CPU: it advances only while this thread runs,
        // however busy the machine (at most 10 s of wall time).
        let clock = ThreadCpuClock::start();
        let give_up = Instant::now() + std::time::Duration::from_secs(10);
        let mut spins = 0u64;
        while clock.elapsed().expect("the clock") < std::time::Duration::from_millis(10) {
            assert!(Instant::now() < give_up, "the CPU clock does not advance");
            spins = std::hint::black_box(spins + 1);
        }
        assert!(spins > 0);
    }

    #[test]
    fn a_namespace_cloudwatch_would_refuse_stops_the_cold_start_naming_the_variable() {
        for bad in ["has space", "ünïcode", &"n".repeat(256)] {
            let vars: &[(&str, &str)] = &[(var::METRICS_NAMESPACE, bad)];
            match collector(&Env::new(&vars), "get-user") {
                Err(error) => assert_eq!(error.name, var::METRICS_NAMESPACE, "{bad:?}"),
                Ok(_) => panic!("{bad:?} was accepted"),
            }
        }
    }
}
