//! From a stream record to an account event: the change its write recorded on the item
//! (`last_change`, `write_kind`), with the item's old and new images for the details.

use aws_lambda_events::event::dynamodb::EventRecord;
use serde::{Deserialize, Serialize};
use shared::audit::{Actor, ChangeKind, RequestId};
use shared::{TenantId, TenantPath, UserId, UserItem, Version};

/// One account event: the `Detail` of its EventBridge entry. Never a password, hash,
/// token or token hash: only what the user object, `last_change` and the addresses hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountEvent {
    /// The `DetailType`.
    #[serde(skip)]
    pub kind: ChangeKind,
    /// The stream record's id: the same for every delivery of the record, so consumers
    /// drop redeliveries.
    pub event_id: String,
    pub occurred_at: String,
    pub user_id: UserId,
    pub tenant_id: TenantId,
    pub tenant_path: TenantPath,
    pub version: Version,
    pub actor: Actor,
    pub request_id: RequestId,
    /// Password changes and resets, disables: tokens issued before it should be refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_changed_at: Option<String>,
    /// Password changes and resets: the user's address at the change, where the notice
    /// goes (an address changed after it must not take the notice with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Email changes and change requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_email: Option<String>,
}

#[derive(Deserialize)]
struct Key {
    pk: String,
}

/// The event of `record`, if its write changed a user; `None` for everything else (inserts
/// and deletions, notice records, bookkeeping writes). A record that claims a change but
/// cannot be read is an error: it goes back to the stream, and after the retries to the
/// on-failure queue, rather than being dropped.
pub fn derive(record: &EventRecord) -> Result<Option<AccountEvent>, String> {
    if record.event_name != "MODIFY" {
        return Ok(None);
    }
    let key: Key = serde_dynamo::from_item(record.change.keys.clone())
        .map_err(|e| format!("unreadable keys: {e}"))?;
    if !key.pk.starts_with("USER#") {
        return Ok(None);
    }
    let new: UserItem = serde_dynamo::from_item(record.change.new_image.clone())
        .map_err(|e| format!("unreadable new image of {}: {e}", key.pk))?;
    let Some(kind) = new.write_kind else {
        return Ok(None);
    };
    let old: Option<UserItem> = serde_dynamo::from_item(record.change.old_image.clone()).ok();
    let change = new
        .last_change
        .clone()
        .ok_or_else(|| format!("{} has a write_kind but no last_change", key.pk))?;
    if old.as_ref().and_then(|old| old.last_change.as_ref()) == Some(&change) {
        // The write kept the last change as it was: a write from outside the store (an
        // operator's, a test fixture's) left `write_kind` in place. Not a change.
        return Ok(None);
    }
    if change.kind != kind {
        return Err(format!(
            "{}: write_kind {kind} disagrees with last_change {}",
            key.pk, change.kind
        ));
    }
    let mut event = AccountEvent {
        kind,
        event_id: record.event_id.clone(),
        occurred_at: change.at,
        user_id: new.user.id,
        tenant_id: new.user.tenant_id,
        tenant_path: new.tenant_path.clone(),
        version: new.user.version,
        actor: Actor {
            // A confirmation link names no tenant of its own: the user's.
            tenant_id: change.actor.tenant_id.or(Some(new.user.tenant_id)),
            ..change.actor
        },
        request_id: change.request_id,
        credentials_changed_at: None,
        email: None,
        old_email: None,
        new_email: None,
    };
    if matches!(
        kind,
        ChangeKind::PasswordChanged | ChangeKind::PasswordReset
    ) {
        event.email = Some(new.user.contact.email.clone());
    }
    match kind {
        ChangeKind::PasswordChanged | ChangeKind::PasswordReset | ChangeKind::Disabled => {
            event.credentials_changed_at = Some(
                new.credentials_changed_at
                    .clone()
                    .ok_or_else(|| format!("{}: {kind} without credentials_changed_at", key.pk))?,
            );
        }
        ChangeKind::Enabled => {}
        ChangeKind::EmailChangeRequested => {
            let pending = new
                .pending_email
                .as_ref()
                .ok_or_else(|| format!("{}: {kind} without a pending change", key.pk))?;
            event.old_email = Some(new.user.contact.email.clone());
            event.new_email = Some(pending.email.clone());
        }
        ChangeKind::EmailChanged => {
            let old = old
                .as_ref()
                .ok_or_else(|| format!("{}: {kind} without an old image", key.pk))?;
            event.old_email = Some(old.user.contact.email.clone());
            event.new_email = Some(new.user.contact.email.clone());
        }
    }
    Ok(Some(event))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// The first record of the shipped stream event: John disabled by the partner's client.
    fn disabled() -> Value {
        let batch: Value = serde_json::from_str(include_str!(
            "../../../tests/events/account-events.stream.json"
        ))
        .unwrap();
        batch["Records"][0].clone()
    }

    fn derived(record: Value) -> Result<Option<AccountEvent>, String> {
        derive(&serde_json::from_value(record).unwrap())
    }

    #[test]
    fn a_disable_becomes_its_event() {
        let event = derived(disabled()).unwrap().unwrap();
        assert_eq!(event.kind, ChangeKind::Disabled);
        assert_eq!(event.version.get(), 2);
        assert_eq!(event.actor.id, "acme-provisioning");
        assert!(event.credentials_changed_at.is_some());
        assert_eq!(event.event_id, disabled()["eventID"].as_str().unwrap());
    }

    #[test]
    fn what_is_not_a_change_of_a_user_is_no_event() {
        let mut insert = disabled();
        insert["eventName"] = json!("INSERT");
        assert!(derived(insert).unwrap().is_none());

        let mut bookkeeping = disabled();
        bookkeeping["dynamodb"]["NewImage"]
            .as_object_mut()
            .unwrap()
            .remove("write_kind");
        assert!(derived(bookkeeping).unwrap().is_none());

        let mut notice = disabled();
        notice["dynamodb"]["Keys"]["pk"] = json!({"S": "NOTICE#x#user"});
        assert!(derived(notice).unwrap().is_none());

        // An outside write that left the last change as it was.
        let mut outside = disabled();
        outside["dynamodb"]["OldImage"]["last_change"] =
            outside["dynamodb"]["NewImage"]["last_change"].clone();
        assert!(derived(outside).unwrap().is_none());
    }

    #[test]
    fn a_mark_without_its_record_is_an_error_not_a_silent_drop() {
        let mut unrecorded = disabled();
        unrecorded["dynamodb"]["NewImage"]
            .as_object_mut()
            .unwrap()
            .remove("last_change");
        assert!(derived(unrecorded).is_err());

        let mut disagreeing = disabled();
        disagreeing["dynamodb"]["NewImage"]["write_kind"] = json!({"S": "account.enabled"});
        assert!(derived(disagreeing).is_err());
    }
}
