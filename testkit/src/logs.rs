//! Every test process that uses a [`crate::Fixture`] logs at the most verbose level into one
//! buffer, and every secret a test touches is registered here by the support code that
//! makes or sees it, never by hand:
//!
//! - passwords and tokens in request bodies and queries ([`crate::Event`]),
//! - every Argon2 hash and SHA-256 token hash sent to DynamoDB (the test table's client
//!   reads its own requests, [`register_secrets_in`]), so also those the handlers write,
//! - confirmation tokens and their hashes in mails ([`crate::received_mails`]),
//! - development tokens ([`crate::mint_dev_token`]).
//!
//! A fixture checks, when dropped, that none of them reached a log line. Secrets and logs
//! are per process, so a test that plants a leak on purpose lives in a test binary of its
//! own (`tests/leak_detector.rs`).

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use sha2::{Digest, Sha256};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        lock(&self.0).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock left whole entries: keep using them.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

static LOGS: OnceLock<Buffer> = OnceLock::new();
static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Starts the capture for this process (once), at TRACE: more than the functions ever log
/// (they cap at DEBUG, and the workspace compiles TRACE out). Panics if another subscriber
/// was installed first: a capture that sees nothing would pass every check.
pub fn capture() {
    LOGS.get_or_init(|| {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(buffer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("the log capture must be this process's only tracing subscriber");
        buffer
    });
}

/// Everything captured so far.
pub fn captured() -> String {
    LOGS.get()
        .map(|buffer| String::from_utf8_lossy(&lock(&buffer.0)).into_owned())
        .unwrap_or_default()
}

/// A secret that must never be logged.
pub fn register(secret: impl Into<String>) {
    let secret = secret.into();
    // Shorter strings than this would match by chance (and no secret here is that short).
    if secret.len() >= 8 {
        lock(&SECRETS).push(secret);
    }
}

/// A confirmation token, and the hash the store keeps of it.
pub fn register_token(token: &str) {
    register(token);
    register(hex::encode(Sha256::digest(token.as_bytes())));
}

/// Registers every secret in a DynamoDB request or response body: Argon2 PHC strings
/// (whole, and their hash part alone) and SHA-256 hex digests (token hashes).
pub fn register_secrets_in(body: &[u8]) {
    fn walk(value: &serde_json::Value) {
        match value {
            serde_json::Value::String(text) => {
                if text.starts_with("$argon2") {
                    register(text.as_str());
                    register(text.rsplit('$').next().unwrap_or_default());
                } else if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                    register(text.as_str());
                }
            }
            serde_json::Value::Array(values) => values.iter().for_each(walk),
            serde_json::Value::Object(map) => map.values().for_each(walk),
            _ => {}
        }
    }
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
        walk(&json);
    }
}

/// How many registered secrets appear in the captured logs (never which: the count is what
/// a failing test prints).
pub fn leaks() -> usize {
    let logs = captured();
    lock(&SECRETS)
        .iter()
        .filter(|secret| logs.contains(secret.as_str()))
        .count()
}

/// The CloudWatch EMF documents in a function's output, in order: each line's JSON from its
/// `{"_aws"` on (a line may carry a prefix, such as `cargo lambda watch`'s). An error names
/// the first such text that is not JSON.
pub fn emf_documents(output: &str) -> Result<Vec<serde_json::Value>, String> {
    output
        .lines()
        .filter_map(|line| line.find("{\"_aws\"").map(|start| &line[start..]))
        .map(|text| serde_json::from_str(text).map_err(|e| format!("an EMF document: {e}: {text}")))
        .collect()
}
