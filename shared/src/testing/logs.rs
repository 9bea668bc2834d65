//! Every test process that uses a [`super::Fixture`] logs at debug level into one buffer,
//! and each fixture checks, when dropped, that none of the secrets it handed out or was
//! told about (passwords, their hashes, confirmation tokens) reached a log line.

use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
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

static LOGS: OnceLock<Buffer> = OnceLock::new();

/// Starts the capture for this process (once).
pub fn capture() {
    LOGS.get_or_init(|| {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(buffer.clone())
            .finish();
        // A test that installed its own subscriber first keeps it.
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    });
}

/// Everything captured so far.
pub fn captured() -> String {
    LOGS.get()
        .and_then(|buffer| {
            buffer
                .0
                .lock()
                .ok()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        })
        .unwrap_or_default()
}
