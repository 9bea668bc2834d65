//! Where events go: an EventBridge bus in AWS; locally a directory with one JSON file per
//! event, the `PutEvents` entry, which a person can read and a test can parse.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde::Serialize;
use shared::ApiError;
use shared::UserId;
use shared::aws::Https;
use shared::config::{ConfigError, CoreConfig, Env, Transport, var};
use shared::metrics;

use crate::event::AccountEvent;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusConfig {
    EventBridge {
        bus_name: String,
        source: String,
        /// Another endpoint than EventBridge's (a test's or the benchmark's stand-in).
        endpoint: Option<String>,
    },
    Directory {
        dir: PathBuf,
        source: String,
    },
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
                Ok(Self::EventBridge {
                    bus_name,
                    source,
                    endpoint: env.endpoint(var::EVENTBRIDGE_ENDPOINT)?,
                })
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

/// The most entries one `PutEvents` call takes.
const ENTRIES_PER_CALL: usize = 10;

/// An event to publish, with the stream record's sequence number (which orders the local
/// bus's files).
#[derive(Clone, Copy)]
pub struct Outgoing<'a> {
    pub event: &'a AccountEvent,
    pub sequence: Option<&'a str>,
}

impl Bus {
    /// The bus of a function, built once per cold start, over the function's `https`. A
    /// directory is created if missing.
    pub fn connect(
        config: &BusConfig,
        core: &CoreConfig,
        https: &Https,
    ) -> Result<Self, ConfigError> {
        match config {
            BusConfig::EventBridge {
                bus_name,
                source,
                endpoint,
            } => {
                let sdk = shared::aws::sdk_config(&core.region, https, endpoint.as_deref());
                Ok(Self::EventBridge {
                    client: aws_sdk_eventbridge::Client::new(&sdk),
                    bus_name: bus_name.clone(),
                    source: source.clone(),
                })
            }
            BusConfig::Directory { dir, source } => Ok(Self::Directory {
                dir: shared::config::local_dir(var::EVENTS_DIR, dir)?,
                source: source.clone(),
            }),
        }
    }

    /// Publishes `events`, given in stream order, and answers the index of the first that
    /// may not be on the bus (`None`: all are); Lambda must deliver it and every record
    /// after it again.
    ///
    /// Up to ten entries a `PutEvents` call, and the calls of a wave at once: the n-th event
    /// of each user goes in the n-th wave, so that a user's event goes out only once its
    /// earlier one is on the bus (per-user order), while users do not wait for each other.
    /// An entry that keeps failing holds back its user's later events; other users' go on
    /// (a redelivery publishes them again, with the same `event_id`).
    pub async fn publish_all(&self, events: &[Outgoing<'_>]) -> Option<usize> {
        let mut waves: Vec<Vec<usize>> = Vec::new();
        let mut per_user: HashMap<UserId, usize> = HashMap::new();
        for (index, outgoing) in events.iter().enumerate() {
            let n = per_user.entry(outgoing.event.user_id).or_default();
            if waves.len() <= *n {
                waves.push(Vec::new());
            }
            waves[*n].push(index);
            *n += 1;
        }
        let mut failed_users = HashSet::new();
        let mut first_failed: Option<usize> = None;
        for wave in waves {
            let ready: Vec<usize> = wave
                .into_iter()
                .filter(|&index| !failed_users.contains(&events[index].event.user_id))
                .collect();
            let calls = ready
                .chunks(ENTRIES_PER_CALL)
                .map(|chunk| self.put(events, chunk));
            let results = futures::future::join_all(calls).await;
            for (&index, result) in ready.iter().zip(results.into_iter().flatten()) {
                let event = events[index].event;
                match result {
                    Ok(()) => {
                        metrics::count(metrics::names::EVENTS_PUBLISHED, 1);
                        tracing::info!(
                            event = %event.kind,
                            event_id = %event.event_id,
                            user_id = %event.user_id,
                            "event published"
                        );
                    }
                    Err(error) => {
                        metrics::count(metrics::names::EVENTS_FAILED, 1);
                        tracing::error!(
                            event_id = %event.event_id,
                            %error,
                            "event not published; it and the records after it come again"
                        );
                        failed_users.insert(event.user_id);
                        first_failed = Some(first_failed.map_or(index, |first| first.min(index)));
                    }
                }
            }
        }
        first_failed
    }

    /// One call's worth of `events` (the indices of `chunk`): a result for each, in order.
    async fn put(&self, events: &[Outgoing<'_>], chunk: &[usize]) -> Vec<Result<(), ApiError>> {
        let details: Vec<Result<String, ApiError>> = chunk
            .iter()
            .map(|&index| {
                serde_json::to_string(events[index].event)
                    .map_err(|e| ApiError::internal(format!("encoding an event: {e}")))
            })
            .collect();
        match self {
            Bus::EventBridge {
                client,
                bus_name,
                source,
            } => {
                let mut results: Vec<Result<(), ApiError>> = Vec::with_capacity(chunk.len());
                let mut entries = Vec::with_capacity(chunk.len());
                for (&index, detail) in chunk.iter().zip(details) {
                    match detail {
                        Ok(detail) => {
                            entries.push(Some(
                                PutEventsRequestEntry::builder()
                                    .event_bus_name(bus_name)
                                    .source(source)
                                    .detail_type(events[index].event.kind.name())
                                    .detail(detail)
                                    .build(),
                            ));
                            results.push(Err(ApiError::internal("not sent")));
                        }
                        Err(error) => {
                            entries.push(None);
                            results.push(Err(error));
                        }
                    }
                }
                // Positions (in `chunk`) still to put: each try sends only the failed ones.
                let mut pending: Vec<usize> =
                    (0..chunk.len()).filter(|&k| entries[k].is_some()).collect();
                for attempt in 0..ENTRY_TRIES {
                    if pending.is_empty() {
                        break;
                    }
                    if attempt > 0 {
                        tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                    }
                    let sent = pending.iter().filter_map(|&k| entries[k].clone()).collect();
                    let output = match client.put_events().set_entries(Some(sent)).send().await {
                        Ok(output) => output,
                        Err(e) => {
                            let cause = format!(
                                "EventBridge PutEvents: {}",
                                aws_sdk_eventbridge::error::DisplayErrorContext(&e)
                            );
                            for &k in &pending {
                                results[k] = Err(ApiError::Unavailable {
                                    cause: cause.clone(),
                                });
                            }
                            break;
                        }
                    };
                    // Results come in the order of the entries sent; one with an event id and
                    // no error is on the bus.
                    let mut still = Vec::new();
                    for (position, &k) in pending.iter().enumerate() {
                        match output.entries().get(position) {
                            Some(result)
                                if result.error_code().is_none() && result.event_id().is_some() =>
                            {
                                results[k] = Ok(())
                            }
                            result => {
                                // The code only: messages are not needed to retry and could
                                // echo data.
                                let code = result.and_then(|r| r.error_code()).unwrap_or("none");
                                results[k] = Err(ApiError::Unavailable {
                                    cause: format!("EventBridge refused the entry: {code}"),
                                });
                                still.push(k);
                            }
                        }
                    }
                    pending = still;
                }
                results
            }
            Bus::Directory { dir, source } => {
                let mut results = Vec::with_capacity(chunk.len());
                for (&index, detail) in chunk.iter().zip(details) {
                    let Outgoing { event, sequence } = events[index];
                    results.push(match detail {
                        Ok(detail) => write_entry(dir, source, event, sequence, &detail).await,
                        Err(error) => Err(error),
                    });
                }
                results
            }
        }
    }
}

/// One entry as a file of the local bus; a redelivered record replaces its file with the
/// same content.
async fn write_entry(
    dir: &std::path::Path,
    source: &str,
    event: &AccountEvent,
    sequence: Option<&str>,
    detail: &str,
) -> Result<(), ApiError> {
    let entry = serde_json::to_string_pretty(&FileEntry {
        source,
        detail_type: event.kind.name(),
        detail,
    })
    .map_err(|e| ApiError::internal(format!("encoding an entry: {e}")))?;
    let name = format!(
        "{}-{}.json",
        file_safe(sequence.unwrap_or(&event.event_id)),
        event.kind.name()
    );
    shared::config::write_whole(dir, &name, entry)
        .await
        .map_err(|e| ApiError::Unavailable {
            cause: format!("writing an event to {}: {e}", dir.display()),
        })
}

/// Keeps `[A-Za-z0-9-]`: stream ids and sequence numbers are such, but they come from outside.
fn file_safe(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect()
}
