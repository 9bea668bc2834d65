//! Records of notice mails, so that a stream record delivered twice mails once.
//!
//! A notice is leased before it is sent and marked sent after: a redelivery finds it sent
//! (or being sent) and sends nothing. A lease whose sender died before marking it may be
//! taken over once it is [`NOTICE_LEASE_SECS`] old, so a crash delays a notice but does not
//! lose it. Records live under `NOTICE#…` keys (never a user's), and expire by the table's
//! TTL after [`NOTICE_RECORD_SECS`], well after the stream's 24-hour retention, beyond which
//! nothing is redelivered.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use sha2::{Digest, Sha256};

use super::Store;
use super::errors::{Item, put_refusal, sdk_error, update_refusal};
use super::write::numbers;
use crate::email::EmailAddress;
use crate::error::ApiError;
use crate::ids::UserId;
use crate::limit::SlidingLimit;
use crate::now::Now;

/// How long a lease holds before another delivery may take it over: longer than a send.
pub const NOTICE_LEASE_SECS: i64 = 120;

/// The stored attribute of when a notice was leased. Stored names stay as first deployed
/// ("claimed"), so that records written by an earlier version still match.
const LEASE_START: &str = "claimed_epoch";

/// How long a record is kept: two days, twice the stream's retention.
pub const NOTICE_RECORD_SECS: i64 = 2 * 24 * 60 * 60;

/// One notice: the event it is about and which of its recipients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeKey(String);

impl NoticeKey {
    pub fn new(event_id: &str, recipient: &str) -> Self {
        Self(format!("NOTICE#{event_id}#{recipient}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A budget of notices: those about one user, or those to one address, in a sliding window
/// (see [`Store::spend_notice_budget`]). Under `NOTICE#` like the notice records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetKey(String);

impl BudgetKey {
    /// The notices about user `id`.
    pub fn user(id: UserId) -> Self {
        Self(format!("NOTICE#budget#user#{id}"))
    }

    /// The notices to `address`, whoever they are about: a SHA-256 of its lower-cased form,
    /// so that the key names no address.
    pub fn recipient(address: &EmailAddress) -> Self {
        let digest = Sha256::digest(address.as_str().to_lowercase().as_bytes());
        Self(format!("NOTICE#budget#to#{}", hex::encode(digest)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What [`Store::lease_notice`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lease {
    /// This delivery sends the notice, then calls [`Store::notice_sent`] (or
    /// [`Store::release_notice`] if it could not).
    Granted,
    /// Sent already, or being sent by another delivery right now.
    Taken,
}

impl Store {
    /// Leases the sending of `key` at `now`: one conditional `PutItem`.
    pub async fn lease_notice(&self, key: &NoticeKey, now: &Now) -> Result<Lease, ApiError> {
        let result = self
            .put_lease(key.as_str(), "sending")
            .item(LEASE_START, AttributeValue::N(now.epoch.to_string()))
            .item(
                "expires_epoch",
                AttributeValue::N((now.epoch + NOTICE_RECORD_SECS).to_string()),
            )
            .condition_expression(
                "attribute_not_exists(pk) OR (#state = :state AND #leased < :stale)",
            )
            .expression_attribute_names("#leased", LEASE_START)
            .expression_attribute_values(
                ":stale",
                AttributeValue::N((now.epoch - NOTICE_LEASE_SECS).to_string()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(Lease::Granted),
            Err(error) => put_refusal(error).map(|_| Lease::Taken),
        }
    }

    /// Spends one notice of the budget `key` at `now`: true when `limit` admits it, false
    /// when the budget is spent (nothing is written then). Race-free as the user item's
    /// limits are, and one request in the common case: the send time is appended in one
    /// conditional `UpdateItem` while the log holds fewer than `limit.max` times (old ones
    /// included, so this never admits more than the window allows). A full log comes back
    /// with the refusal; its times that left the window are dropped and the log is replaced
    /// by a conditional `PutItem` only while it is still the log the decision was made on,
    /// so concurrent senders cannot both take the last notice. The record expires by the
    /// table's TTL a day after its window.
    pub async fn spend_notice_budget(
        &self,
        key: &BudgetKey,
        limit: &SlidingLimit,
        now: &Now,
    ) -> Result<bool, ApiError> {
        let expires = AttributeValue::N((now.epoch + limit.window_secs + 24 * 60 * 60).to_string());
        let appended = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.as_str().to_owned()))
            .update_expression(
                "SET #times = list_append(if_not_exists(#times, :empty), :now), \
                 expires_epoch = :expires",
            )
            .condition_expression("attribute_not_exists(#times) OR size(#times) < :max")
            .expression_attribute_names("#times", "times")
            .expression_attribute_values(":empty", numbers(&[]))
            .expression_attribute_values(":now", numbers(&[now.epoch]))
            .expression_attribute_values(":expires", expires.clone())
            .expression_attribute_values(":max", AttributeValue::N(limit.max.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let mut seen = match appended {
            Ok(_) => return Ok(true),
            Err(error) => times_of(update_refusal(error)?.as_ref()),
        };
        for _ in 0..limit.max + 3 {
            let Ok(log) = limit.admit(&seen, now.epoch) else {
                return Ok(false);
            };
            let replaced = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", AttributeValue::S(key.as_str().to_owned()))
                .item("times", numbers(&log))
                .item("expires_epoch", expires.clone())
                .condition_expression("#times = :seen")
                .expression_attribute_names("#times", "times")
                .expression_attribute_values(":seen", numbers(&seen))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            match replaced {
                Ok(_) => return Ok(true),
                Err(error) => seen = times_of(put_refusal(error)?.as_ref()),
            }
        }
        Err(ApiError::Unavailable {
            cause: "a notice budget kept changing".into(),
        })
    }

    /// Marks `key`, leased at `now`, as sent.
    pub async fn notice_sent(&self, key: &NoticeKey, now: &Now) -> Result<(), ApiError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.as_str().to_owned()))
            .update_expression("SET #state = :sent")
            .condition_expression("#leased = :leased")
            .expression_attribute_names("#leased", LEASE_START)
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sent", AttributeValue::S("sent".into()))
            .expression_attribute_values(":leased", AttributeValue::N(now.epoch.to_string()))
            .send()
            .await;
        unless_taken_over("UpdateItem", result)
    }

    /// Gives up the lease on `key` taken at `now` (the mail could not be sent), so that the
    /// record's next delivery sends it.
    pub async fn release_notice(&self, key: &NoticeKey, now: &Now) -> Result<(), ApiError> {
        let leased = AttributeValue::N(now.epoch.to_string());
        self.release_lease(key.as_str(), LEASE_START, leased).await
    }

    /// The `PutItem` that leases the record `pk` in `state` (notices and idempotency keys
    /// are leased alike). The caller adds the rest of the record and a condition that
    /// compares `#state` with `:state` (DynamoDB refuses names and values a request leaves
    /// unused).
    pub(super) fn put_lease(&self, pk: &str, state: &'static str) -> PutItemFluentBuilder {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(pk.to_owned()))
            .item("state", AttributeValue::S(state.into()))
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":state", AttributeValue::S(state.into()))
    }

    /// Deletes the record `pk` if its `attribute` still holds this delivery's or request's
    /// `lease` (notices and idempotency keys are leased alike).
    pub(super) async fn release_lease(
        &self,
        pk: &str,
        attribute: &str,
        lease: AttributeValue,
    ) -> Result<(), ApiError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .condition_expression("#lease = :lease")
            .expression_attribute_names("#lease", attribute)
            .expression_attribute_values(":lease", lease)
            .send()
            .await;
        unless_taken_over("DeleteItem", result)
    }
}

/// The send times of a budget record (none when there is no record, or a malformed one:
/// the next write then fails its condition and reads the record again).
fn times_of(item: Option<&Item>) -> Vec<i64> {
    let Some(AttributeValue::L(times)) = item.and_then(|item| item.get("times")) else {
        return Vec::new();
    };
    times
        .iter()
        .filter_map(|time| match time {
            AttributeValue::N(n) => n.parse().ok(),
            _ => None,
        })
        .collect()
}

/// A write conditional on a lease, whose condition failed because another delivery or
/// request took the lease over (this one was slower than the lease): that one finishes the
/// work, so it is no error here.
pub(super) fn unless_taken_over<O, E, R>(
    operation: &'static str,
    result: Result<O, SdkError<E, R>>,
) -> Result<(), ApiError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(service))
            if service.err().code() == Some("ConditionalCheckFailedException") =>
        {
            Ok(())
        }
        Err(error) => Err(sdk_error(operation, error)),
    }
}
