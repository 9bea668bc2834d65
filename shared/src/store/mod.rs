//! The DynamoDB store.
//!
//! Every write that depends on what was read is a single conditional write: the condition
//! checks existence, the caller's tenant rule and the expected `version` inside DynamoDB, and
//! `ReturnValuesOnConditionCheckFailure = ALL_OLD` hands back the item as it was, so a failed
//! write is explained (404, 409, no-op …) without a second request and without a window in
//! which another writer could slip in.
//!
//! `write.rs` builds those writes and explains their failures, `errors.rs` sorts SDK
//! failures into 503 and 500; the operations follow, one file per concern.

mod email;
mod errors;
mod idempotency;
mod notices;
mod password;
mod status;
mod write;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::aws::Https;
use crate::config::{ConfigError, CoreConfig};
use crate::error::{ApiError, Limited};
use crate::ids::UserId;
use crate::limit::SlidingLimit;
use crate::now::Now;
use crate::user::{AccessItem, UserItem};

pub use email::{DirectChange, EmailChange};
pub use errors::sdk_error;
pub use idempotency::{KeyLease, LeaseId};
pub use notices::{BudgetKey, Lease, NOTICE_LEASE_SECS, NOTICE_RECORD_SECS, NoticeKey};
pub use password::Setter;
pub use status::StatusChange;
use write::{LogAttribute, UserWrite};

#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
    /// The HTTPS client and endpoint to open a connection to during the init phase, unless
    /// `DYNAMODB_PRECONNECT=false`.
    preconnect: Option<(Https, String)>,
}

/// What one conditional `UpdateItem` did.
enum Written {
    /// It applied: the item as it is now.
    Applied(UserItem),
    /// Its condition failed: the item as it was, if there is one.
    Refused(Option<UserItem>),
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            preconnect: None,
        }
    }

    /// The store of a function: one client per cold start.
    pub fn connect(config: &CoreConfig, https: &Https) -> Result<Self, ConfigError> {
        let sdk =
            crate::aws::sdk_config(&config.region, https, config.dynamodb_endpoint.as_deref());
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(crate::metrics::dynamodb_watch());
        let endpoint = match &config.dynamodb_endpoint {
            Some(endpoint) => endpoint.clone(),
            None => crate::aws::dynamodb_endpoint(&config.region),
        };
        Ok(Self {
            preconnect: config.preconnect.then(|| (https.clone(), endpoint)),
            ..Self::new(
                Client::from_conf(dynamodb.build()),
                config.table_name.clone(),
            )
        })
    }

    /// Opens the connection to DynamoDB that the first request will use, during the init
    /// phase, which runs at full CPU: the TLS handshake then does not wait on the CPU share
    /// of a small function (docs/benchmarks.md has the figures). Never fails.
    pub async fn open_connection(&self) {
        if let Some((https, endpoint)) = &self.preconnect {
            https.open(endpoint).await;
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// One strongly consistent `GetItem`.
    pub async fn get_user(&self, id: UserId) -> Result<Option<UserItem>, ApiError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(UserItem::key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        output.item.map(decode_user).transpose()
    }

    /// What deciding on a user's own token needs of its item: one strongly consistent
    /// `GetItem` of four attributes (a revocation is seen at once), `None` for no such user.
    pub async fn get_access(&self, id: UserId) -> Result<Option<AccessItem>, ApiError> {
        let mut get = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(UserItem::key(id)))
            .consistent_read(true)
            .projection_expression(AccessItem::PROJECTION);
        for (placeholder, attribute) in AccessItem::ATTRIBUTES {
            get = get.expression_attribute_names(placeholder, attribute);
        }
        let output = get.send().await.map_err(|e| sdk_error("GetItem", e))?;
        output.item.map(decode_user).transpose()
    }

    /// A write limited by an event log (see [`crate::limit`]): admits the event to the log
    /// `seen`, then sends `write` (made anew each time) with the new log, on the condition
    /// that the stored log is still `seen`. A refusal is explained by `explain` (404, 409,
    /// 403 …, or the item as it is); the item's log then becomes `seen` for the next try.
    /// Each refusal of that kind means another request logged its event in between, so
    /// within `limit.max` of them the limit itself answers (429); the bound only guards
    /// against a log that keeps being cleared.
    #[allow(clippy::too_many_arguments)]
    async fn write_logged(
        &self,
        user_id: UserId,
        limit: &SlidingLimit,
        limited: Limited,
        log: &LogAttribute,
        mut seen: Vec<i64>,
        now: &Now,
        write: impl Fn() -> Result<UserWrite, ApiError>,
        explain: impl Fn(Option<UserItem>) -> Result<UserItem, ApiError>,
    ) -> Result<UserItem, ApiError> {
        for _ in 0..limit.max + 3 {
            let next = limit.admit(&seen, now.epoch).map_err(|retry_after_secs| {
                ApiError::TooManyAttempts {
                    limited,
                    retry_after_secs,
                }
            })?;
            let mut attempt = write()?;
            attempt.replace_log(log, &seen, &next);
            match self.update_user(user_id, attempt).await? {
                Written::Applied(item) => return Ok(item),
                Written::Refused(old) => seen = (log.read)(explain(old)?),
            }
        }
        Err(ApiError::Unavailable {
            cause: "an event log kept changing".into(),
        })
    }

    /// Sends one conditional `UpdateItem` to a user item.
    async fn update_user(&self, id: UserId, write: UserWrite) -> Result<Written, ApiError> {
        let (update, condition, names, values) = write.into_parts();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(UserItem::key(id)))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let item = output
                    .attributes
                    .ok_or_else(|| ApiError::internal("UpdateItem returned no attributes"))?;
                Ok(Written::Applied(decode_user(item)?))
            }
            Err(error) => errors::condition_failure_item(error).map(Written::Refused),
        }
    }
}

/// A user's item, or the part of it that was projected.
fn decode_user<T: serde::de::DeserializeOwned>(
    item: HashMap<String, AttributeValue>,
) -> Result<T, ApiError> {
    serde_dynamo::from_item(item)
        .map_err(|e| ApiError::internal(format!("malformed user item: {e}")))
}
