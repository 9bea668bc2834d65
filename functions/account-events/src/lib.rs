//! `account-events`: reads the users table's stream and, for every change a write recorded
//! on a user (see [`shared::audit`]), publishes one event to the bus. Nothing else: the
//! notices are `send-notices`' (from the bus), so that no mail can hold back an event.
//!
//! A batch's events are published up to ten a call, users side by side and each user's in
//! stream order ([`Bus::publish_all`]). The first record that fails (the bus unreachable)
//! is reported as the batch's item failure: Lambda redelivers it and every record after it,
//! so nothing is dropped and each user's order holds. Redelivery publishes an event again
//! with the same `event_id` (consumers de-duplicate).

pub mod bus;
pub mod event;

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_http::lambda_runtime;
use shared::CoreConfig;
use shared::aws::Https;
use shared::config::{ConfigError, Env};

pub use bus::{Bus, BusConfig, Outgoing};
pub use event::{AccountEvent, derive};

pub struct Config {
    pub core: CoreConfig,
    pub bus: BusConfig,
}

impl Config {
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            core: CoreConfig::load(env)?,
            bus: BusConfig::load(env)?,
        })
    }
}

pub struct State {
    pub bus: Bus,
}

impl State {
    pub fn connect(config: &Config) -> Result<Self, ConfigError> {
        let https = Https::new(&config.core.trust)?;
        Ok(Self {
            bus: Bus::connect(&config.bus, &config.core, &https)?,
        })
    }
}

/// What `main.rs` runs: logging, configuration and clients once per cold start, then the
/// runtime loop.
/// `name` is the `function` dimension of its metrics, flushed after each invocation.
pub async fn run(name: &'static str) -> Result<(), lambda_runtime::Error> {
    let (state, metrics) = shared::runtime::start_events(name, |env| {
        Config::load(env).and_then(|config| State::connect(&config))
    })?;
    shared::runtime::serve_events(state, metrics, |state, event: Event| async move {
        Ok(handle(state, event).await)
    })
    .await
}

/// One batch of stream records: every record's event derived, then published (see
/// [`Bus::publish_all`]). The first record that cannot be derived or published is the
/// batch's item failure: Lambda delivers it and every record after it again.
pub async fn handle(state: &State, batch: Event) -> DynamoDbEventResponse {
    let records = &batch.records;
    let mut derived = Vec::new();
    let mut cutoff = records.len();
    for (index, record) in records.iter().enumerate() {
        match derive(record) {
            Ok(Some(event)) => derived.push((index, event)),
            Ok(None) => tracing::debug!(event_id = %record.event_id, "not a change of a user"),
            Err(error) => {
                tracing::error!(
                    event_id = %record.event_id,
                    %error,
                    "record cannot be read; it and the records after it come again"
                );
                cutoff = index;
                break;
            }
        }
    }
    let outgoing: Vec<Outgoing<'_>> = derived
        .iter()
        .map(|(index, event)| Outgoing {
            event,
            sequence: records[*index].change.sequence_number.as_deref(),
        })
        .collect();
    let failed = match state.bus.publish_all(&outgoing).await {
        Some(position) => derived[position].0.min(cutoff),
        None => cutoff,
    };
    let mut response = DynamoDbEventResponse::default();
    if let Some(record) = records.get(failed) {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = record.change.sequence_number.clone();
        response.batch_item_failures.push(failure);
    }
    response
}
