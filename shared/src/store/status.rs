//! Enabling and disabling an account.

use aws_sdk_dynamodb::types::AttributeValue;

use super::write::{UserWrite, explain};
use super::{Store, Written};
use crate::audit::{ChangeKind, Origin};
use crate::error::ApiError;
use crate::ids::{UserId, Version};
use crate::now::Now;
use crate::session::OwnToken;
use crate::tenant::TenantRule;
use crate::user::UserItem;

/// A request to enable or disable an account.
#[derive(Clone, Debug)]
pub struct StatusChange {
    pub user_id: UserId,
    /// Which users the caller may change.
    pub rule: TenantRule,
    pub expected: Version,
    pub enabled: bool,
    /// The caller's token when the caller is the user itself: a revoked token or a disabled
    /// account may not change it.
    pub own: Option<OwnToken>,
    pub now: Now,
    pub origin: Origin,
}

impl Store {
    /// One conditional `UpdateItem`: sets `enabled`, grows `version` by one. Disabling also
    /// withdraws a pending email change (its link must not apply to a disabled account) and
    /// sets `credentials_changed_at`, in the same write.
    ///
    /// Asking for the value the account already has, with the right version, changes
    /// nothing and returns the user as it is.
    pub async fn set_enabled(&self, change: &StatusChange) -> Result<UserItem, ApiError> {
        let kind = if change.enabled {
            ChangeKind::Enabled
        } else {
            ChangeKind::Disabled
        };
        let record = change.origin.change(kind, &change.now.timestamp);
        const UPDATE: &str =
            "SET #enabled = :enabled, #version = #version + :one, #updated_at = :now";
        let mut write = UserWrite::versioned(UPDATE, &record, change.rule, change.expected)?;
        if !change.enabled {
            // Ends every earlier token, the session of an own password change included.
            write.update("SET #credentials = :now, #admin_revoked = :now");
            write.update("REMOVE #pending, #own_session");
        }
        write.condition("#enabled <> :enabled");
        if let Some(token) = &change.own {
            write.own_token(token);
        }
        write.value(":enabled", AttributeValue::Bool(change.enabled));
        write.now(&change.now);

        let old = match self.update_user(change.user_id, write).await? {
            Written::Applied(item) => return Ok(item),
            Written::Refused(old) => {
                explain(old, change.rule, Some(change.expected), change.own.as_ref())?
            }
        };
        if old.user.enabled == change.enabled {
            Ok(old)
        } else {
            Err(ApiError::internal(
                "status condition failed although the item satisfies it",
            ))
        }
    }
}
