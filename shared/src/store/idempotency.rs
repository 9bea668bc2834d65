//! Records of `Idempotency-Key`s (see [`crate::idempotency`]): leased with a conditional
//! `PutItem`, then completed with the answer or released, each conditional on the lease, so
//! that a request slower than its lease cannot overwrite the one that took its key over.
//! Records live under `IDEMPOTENCY#…` keys (never a user's, so the account-events stream
//! filter drops them) and expire by the table's TTL.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use uuid::Uuid;

use super::Store;
use super::errors::put_refusal;
use super::notices::unless_taken_over;
use crate::error::ApiError;
use crate::idempotency::record::{
    Fingerprint, KEEP_SECS, LEASE_SECS, RecordKey, StoredAnswer, Verifier,
};
use crate::now::Now;

/// The stored attribute of the id of a key's lease. Stored names stay as first deployed ("claim"), so
/// that records written by an earlier version still match.
const LEASE_ID: &str = "claim";

/// One request's hold on a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseId(String);

/// What [`Store::lease_key`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyLease {
    /// This request runs, then completes or releases the key.
    Granted(LeaseId),
    /// Another request holds the key: with its answer once it is done; `burned` once a
    /// replay presented a secret that did not verify (see [`Store::burn_key`]).
    Held {
        fingerprint: Fingerprint,
        answer: Option<StoredAnswer>,
        burned: bool,
    },
}

impl Store {
    /// Leases `key` for a request with `fingerprint`: free keys, expired records (the TTL
    /// deletes them within days, not at once) and running leases past their end.
    pub async fn lease_key(
        &self,
        key: &RecordKey,
        fingerprint: &Fingerprint,
        now: &Now,
    ) -> Result<KeyLease, ApiError> {
        let lease = LeaseId(Uuid::new_v4().to_string());
        let number = |n: i64| AttributeValue::N(n.to_string());
        let result = self
            .put_lease(key.as_str(), "running")
            .item(LEASE_ID, AttributeValue::S(lease.0.clone()))
            .item(
                "fingerprint",
                AttributeValue::S(fingerprint.as_str().to_owned()),
            )
            .item("lease_epoch", number(now.epoch + LEASE_SECS))
            .item("expires_epoch", number(now.epoch + KEEP_SECS))
            .condition_expression(
                "attribute_not_exists(pk) OR expires_epoch < :now \
                 OR (#state = :state AND lease_epoch < :now)",
            )
            .expression_attribute_values(":now", number(now.epoch))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(KeyLease::Granted(lease)),
            Err(error) => put_refusal(error)?
                .ok_or_else(|| ApiError::internal("a refused lease returned no record"))
                .and_then(held),
        }
    }

    /// Stores the answer of the request that holds `lease` on `key`.
    pub(crate) async fn complete_key(
        &self,
        key: &RecordKey,
        lease: &LeaseId,
        answer: &StoredAnswer,
    ) -> Result<(), ApiError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.as_str().to_owned()))
            .condition_expression("#lease = :lease")
            .expression_attribute_names("#lease", LEASE_ID)
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#body", "body")
            .expression_attribute_values(":lease", AttributeValue::S(lease.0.clone()))
            .expression_attribute_values(":done", AttributeValue::S("done".into()))
            .expression_attribute_values(":status", AttributeValue::N(answer.status.to_string()))
            .expression_attribute_values(":body", AttributeValue::S(answer.body.clone()));
        let mut set = vec!["#state = :done", "#status = :status", "#body = :body"];
        if let Some(content_type) = &answer.content_type {
            update = update
                .expression_attribute_values(":type", AttributeValue::S(content_type.clone()));
            set.push("content_type = :type");
        }
        if let Some(etag) = &answer.etag {
            update = update.expression_attribute_values(":etag", AttributeValue::S(etag.clone()));
            set.push("etag = :etag");
        }
        if let Some(verifier) = &answer.verifier {
            update = update
                .expression_attribute_values(":verifier", AttributeValue::S(verifier.0.clone()));
            set.push("verifier = :verifier");
        }
        let result = update
            .update_expression(format!("SET {}", set.join(", ")))
            .send()
            .await;
        unless_taken_over("UpdateItem", result)
    }

    /// Marks `key` so that no replay is ever verified again: a replay presented a secret that
    /// did not verify against the record's verifier. One guess per key, so that replays are
    /// no way around the current-password limit.
    pub(crate) async fn burn_key(&self, key: &RecordKey) -> Result<(), ApiError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.as_str().to_owned()))
            .update_expression("SET burned = :true")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await;
        unless_taken_over("UpdateItem", result)
    }

    /// Frees `key` held by `lease`: the request failed and changed nothing, so a retry runs.
    pub(crate) async fn release_key(
        &self,
        key: &RecordKey,
        lease: &LeaseId,
    ) -> Result<(), ApiError> {
        let lease = AttributeValue::S(lease.0.clone());
        self.release_lease(key.as_str(), LEASE_ID, lease).await
    }
}

/// The record another request holds.
fn held(item: HashMap<String, AttributeValue>) -> Result<KeyLease, ApiError> {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    };
    let malformed = || ApiError::internal("malformed idempotency record");
    let fingerprint = Fingerprint::from_stored(text("fingerprint").ok_or_else(malformed)?);
    let answer = match text("state").as_deref() {
        Some("done") => {
            let status = match item.get("status") {
                Some(AttributeValue::N(n)) => n.parse().map_err(|_| malformed())?,
                _ => return Err(malformed()),
            };
            Some(StoredAnswer {
                status,
                content_type: text("content_type"),
                etag: text("etag"),
                body: text("body").unwrap_or_default(),
                verifier: text("verifier").map(Verifier),
            })
        }
        Some("running") => None,
        _ => return Err(malformed()),
    };
    let burned = matches!(item.get("burned"), Some(AttributeValue::Bool(true)));
    Ok(KeyLease::Held {
        fingerprint,
        answer,
        burned,
    })
}
