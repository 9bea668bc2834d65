//! `account-events`: reads the users table's stream and, for every change a write recorded
//! on a user (see [`shared::audit`]), publishes one event to the bus. Nothing else: the
//! notices are `send-notices`' (from the bus), so that no mail can hold back an event.
//!
//! Records are handled in stream order. The first that fails (the bus unreachable) is
//! reported as the batch's item failure: Lambda redelivers it and every record after it, so
//! nothing is dropped and order holds. Redelivery publishes an event again with the same
//! `event_id` (consumers de-duplicate).

pub mod bus;
pub mod event;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_http::lambda_runtime;
use shared::aws::Https;
use shared::config::{ConfigError, Env};
use shared::{ApiError, CoreConfig};

pub use bus::{Bus, BusConfig};
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

/// One batch of stream records.
pub async fn handle(state: &State, event: Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in &event.records {
        if let Err(error) = process(state, record).await {
            tracing::error!(
                event_id = %record.event_id,
                error = %error,
                "record failed; it and the records after it come again"
            );
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = record.change.sequence_number.clone();
            response.batch_item_failures.push(failure);
            break;
        }
    }
    response
}

/// One record: its event published.
pub async fn process(state: &State, record: &EventRecord) -> Result<(), ApiError> {
    let Some(event) = derive(record).map_err(ApiError::internal)? else {
        tracing::debug!(event_id = %record.event_id, "not a change of a user");
        return Ok(());
    };
    state
        .bus
        .publish(&event, record.change.sequence_number.as_deref())
        .await?;
    tracing::info!(
        event = %event.kind,
        event_id = %event.event_id,
        user_id = %event.user_id,
        "event published"
    );
    Ok(())
}
