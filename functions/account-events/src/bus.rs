//! Where events go: an EventBridge bus in AWS; locally a directory with one JSON file per
//! event, the `PutEvents` entry, which a person can read and a test can parse.

use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde::Serialize;
use shared::ApiError;
use shared::aws::Https;
use shared::config::{ConfigError, CoreConfig, Env, Transport, var};
use shared::metrics;

use crate::event::AccountEvent;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusConfig {
    EventBridge { bus_name: String, source: String },
    Directory { dir: PathBuf, source: String },
}

impl BusConfig {
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let source = env.required(var::EVENT_SOURCE)?;
        // EventBridge's rule for `Source`; `aws.` is reserved for AWS services.
        if source.is_empty()
            || source.len() > 256
            || source.starts_with("aws.")
            || !source.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ConfigError::new(
                var::EVENT_SOURCE,
                "must be 1 to 256 printable ASCII characters, not starting with `aws.`",
            ));
        }
        match env.transport(var::EVENTS_TRANSPORT, "eventbridge", var::EVENTS_DIR)? {
            Transport::Service => {
                let bus_name = env.required(var::EVENT_BUS_NAME)?;
                if bus_name.is_empty() || bus_name.len() > 1600 {
                    return Err(ConfigError::new(
                        var::EVENT_BUS_NAME,
                        "must be a bus name or ARN",
                    ));
                }
                Ok(Self::EventBridge { bus_name, source })
            }
            Transport::Directory(dir) => Ok(Self::Directory { dir, source }),
        }
    }
}

#[derive(Clone, Debug)]
pub enum Bus {
    EventBridge {
        client: aws_sdk_eventbridge::Client,
        bus_name: String,
        source: String,
    },
    Directory {
        dir: PathBuf,
        source: String,
    },
}

/// A `PutEvents` entry as the local bus writes it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct FileEntry<'a> {
    source: &'a str,
    detail_type: &'a str,
    /// A JSON text, as in `PutEvents`.
    detail: &'a str,
}

/// Tries of an entry that EventBridge reports as failed (its own throttling or faults);
/// the SDK already retries failed requests.
const ENTRY_TRIES: u32 = 3;

impl Bus {
    /// The bus of a function, built once per cold start, over the function's `https`. A
    /// directory is created if missing.
    pub fn connect(
        config: &BusConfig,
        core: &CoreConfig,
        https: &Https,
    ) -> Result<Self, ConfigError> {
        match config {
            BusConfig::EventBridge { bus_name, source } => Ok(Self::EventBridge {
                client: aws_sdk_eventbridge::Client::new(&shared::aws::sdk_config(
                    &core.region,
                    https,
                )),
                bus_name: bus_name.clone(),
                source: source.clone(),
            }),
            BusConfig::Directory { dir, source } => Ok(Self::Directory {
                dir: shared::config::local_dir(var::EVENTS_DIR, dir)?,
                source: source.clone(),
            }),
        }
    }

    /// Publishes `event`; `sequence` (the stream record's sequence number) orders the local
    /// files. An error means the event may not be on the bus: the record must be retried.
    pub async fn publish(
        &self,
        event: &AccountEvent,
        sequence: Option<&str>,
    ) -> Result<(), ApiError> {
        let result = self.put(event, sequence).await;
        let counter = match result {
            Ok(()) => metrics::names::EVENTS_PUBLISHED,
            Err(_) => metrics::names::EVENTS_FAILED,
        };
        metrics::count(counter, 1);
        result
    }

    async fn put(&self, event: &AccountEvent, sequence: Option<&str>) -> Result<(), ApiError> {
        let detail = serde_json::to_string(event)
            .map_err(|e| ApiError::internal(format!("encoding an event: {e}")))?;
        match self {
            Bus::EventBridge {
                client,
                bus_name,
                source,
            } => {
                let entry = PutEventsRequestEntry::builder()
                    .event_bus_name(bus_name)
                    .source(source)
                    .detail_type(event.kind.name())
                    .detail(detail)
                    .build();
                let mut failure = String::new();
                for attempt in 0..ENTRY_TRIES {
                    if attempt > 0 {
                        tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                    }
                    let output = client
                        .put_events()
                        .entries(entry.clone())
                        .send()
                        .await
                        .map_err(|e| ApiError::Unavailable {
                            cause: format!(
                                "EventBridge PutEvents: {}",
                                aws_sdk_eventbridge::error::DisplayErrorContext(&e)
                            ),
                        })?;
                    if output.failed_entry_count() == 0 {
                        return Ok(());
                    }
                    // The code only: messages are not needed to retry and could echo data.
                    failure = output
                        .entries()
                        .iter()
                        .filter_map(|entry| entry.error_code())
                        .collect::<Vec<_>>()
                        .join(", ");
                }
                Err(ApiError::Unavailable {
                    cause: format!("EventBridge refused the entry: {failure}"),
                })
            }
            Bus::Directory { dir, source } => {
                let entry = serde_json::to_string_pretty(&FileEntry {
                    source,
                    detail_type: event.kind.name(),
                    detail: &detail,
                })
                .map_err(|e| ApiError::internal(format!("encoding an entry: {e}")))?;
                let name = format!(
                    "{}-{}.json",
                    file_safe(sequence.unwrap_or(&event.event_id)),
                    event.kind.name()
                );
                // A redelivered record replaces its file with the same content.
                shared::config::write_whole(dir, &name, entry)
                    .await
                    .map_err(|e| ApiError::Unavailable {
                        cause: format!("writing an event to {}: {e}", dir.display()),
                    })
            }
        }
    }
}

/// Keeps `[A-Za-z0-9-]`: stream ids and sequence numbers are such, but they come from outside.
fn file_safe(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect()
}
