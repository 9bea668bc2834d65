//! The email change: at once for an account that is not activated, else a pending change
//! that its confirmation applies.

use aws_sdk_dynamodb::types::AttributeValue;

use super::write::{MAIL_LOG, Record, UserWrite, explain};
use super::{Store, Written};
use crate::audit::{ChangeKind, Origin};
use crate::confirmation::{PendingEmail, TokenHash};
use crate::email::EmailAddress;
use crate::error::{ApiError, Limited};
use crate::ids::{UserId, Version};
use crate::limit::SlidingLimit;
use crate::now::Now;
use crate::session::OwnToken;
use crate::tenant::TenantRule;
use crate::user::UserItem;

/// A request to change a user's email address.
#[derive(Clone, Debug)]
pub struct EmailChange<'a> {
    pub user_id: UserId,
    pub rule: TenantRule,
    pub expected: Version,
    pub email: &'a EmailAddress,
    /// The caller's token when the caller is the user itself: a revoked token or a disabled
    /// account may not change its address.
    pub own: Option<&'a OwnToken>,
    pub now: Now,
    pub origin: &'a Origin,
}

/// What [`Store::change_email_now`] did.
#[derive(Debug)]
pub enum DirectChange {
    /// The account is not activated: the address changed.
    Changed(UserItem),
    /// The account is activated: nothing changed; the change needs confirmation. The item
    /// as it is (its confirmation mail log included).
    NeedsConfirmation(UserItem),
}

impl Store {
    /// Changes the address of a user that is not activated yet: one conditional `UpdateItem`
    /// that also drops any pending change and grows `version` by one.
    pub async fn change_email_now(
        &self,
        change: &EmailChange<'_>,
    ) -> Result<DirectChange, ApiError> {
        let record = change
            .origin
            .change(ChangeKind::EmailChanged, &change.now.timestamp);
        const UPDATE: &str =
            "SET #contact.#email = :email, #version = #version + :one, #updated_at = :now";
        let mut write = UserWrite::versioned(UPDATE, &record, change.rule, change.expected)?;
        write.update("REMOVE #pending");
        write.condition("#activated = :false");
        if let Some(token) = change.own {
            write.own_token(token);
        }
        write.value(
            ":email",
            AttributeValue::S(change.email.as_str().to_owned()),
        );
        write.now(&change.now);
        write.value(":false", AttributeValue::Bool(false));
        let old = match self.update_user(change.user_id, write).await? {
            Written::Applied(item) => return Ok(DirectChange::Changed(item)),
            Written::Refused(old) => explain(old, change.rule, Some(change.expected), change.own)?,
        };
        if old.user.activated {
            Ok(DirectChange::NeedsConfirmation(old))
        } else {
            Err(ApiError::internal(
                "email condition failed although the item satisfies it",
            ))
        }
    }

    /// Stores a pending change for an activated user, replacing an older one, and logs its
    /// confirmation mail against `limit`, in one conditional `UpdateItem` (existence,
    /// subtree, `version`, and the mail log still being `item`'s): a mail may be sent only
    /// when this returns. The address and `version` stay. Over the limit: 429 with the
    /// seconds to wait, and nothing changes.
    pub async fn set_pending_email(
        &self,
        change: &EmailChange<'_>,
        item: &UserItem,
        pending: &PendingEmail,
        limit: &SlidingLimit,
    ) -> Result<UserItem, ApiError> {
        let pending: AttributeValue = serde_dynamo::to_attribute_value(pending)
            .map_err(|e| ApiError::internal(format!("encoding a pending email: {e}")))?;
        let record = change
            .origin
            .change(ChangeKind::EmailChangeRequested, &change.now.timestamp);
        self.write_logged(
            change.user_id,
            limit,
            Limited::ConfirmationMails,
            &MAIL_LOG,
            item.confirmation_mail_times.clone(),
            &change.now,
            || {
                const UPDATE: &str = "SET #pending = :pending";
                let mut write =
                    UserWrite::versioned(UPDATE, &record, change.rule, change.expected)?;
                write.condition("#activated = :true");
                if let Some(token) = change.own {
                    write.own_token(token);
                }
                write.value(":pending", pending.clone());
                Ok(write)
            },
            |old| explain(old, change.rule, Some(change.expected), change.own),
        )
        .await
    }

    /// Removes a pending change if it is still the one with `token_hash` (its mail could not
    /// be sent, so nobody may confirm it). Its entry in the mail log stays: a transport that
    /// keeps failing is not retried faster than the limit allows.
    pub async fn withdraw_pending_email(
        &self,
        user_id: UserId,
        token_hash: &TokenHash,
    ) -> Result<(), ApiError> {
        let mut write = UserWrite::unscoped("REMOVE #pending", Record::Bookkeeping)?;
        write.condition("#pending.#token_hash = :token_hash");
        write.value(
            ":token_hash",
            AttributeValue::S(token_hash.as_str().to_owned()),
        );
        // A newer request or a confirmation got there first: nothing to withdraw.
        self.update_user(user_id, write).await.map(|_| ())
    }

    /// Applies the pending change whose token hashes to `token_hash`: the new address, no
    /// pending change, `version` + 1, in one conditional `UpdateItem` that also requires the
    /// account to be enabled. The token is the credential, so no tenant rule applies; it
    /// works once.
    pub async fn confirm_email(
        &self,
        user_id: UserId,
        token_hash: &TokenHash,
        now: &Now,
        origin: &Origin,
    ) -> Result<UserItem, ApiError> {
        let record = origin.change(ChangeKind::EmailChanged, &now.timestamp);
        let mut write = UserWrite::unscoped(
            "SET #contact.#email = #pending.#email, #version = #version + :one, \
             #updated_at = :now",
            Record::Change(&record),
        )?;
        write.update("REMOVE #pending");
        write.condition("#pending.#token_hash = :token_hash");
        write.condition("#pending.#expires > :now_epoch");
        write.condition("#enabled = :true");
        write.value(
            ":token_hash",
            AttributeValue::S(token_hash.as_str().to_owned()),
        );
        write.value(":now_epoch", AttributeValue::N(now.epoch.to_string()));
        write.now(now);
        match self.update_user(user_id, write).await? {
            Written::Applied(item) => Ok(item),
            Written::Refused(Some(old))
                if old
                    .pending_email
                    .as_ref()
                    .is_some_and(|pending| &pending.token_hash == token_hash) =>
            {
                if !old.user.enabled {
                    Err(ApiError::AccountDisabled)
                } else {
                    Err(ApiError::TokenExpired)
                }
            }
            // Unknown user, no pending change, or another (newer) token.
            Written::Refused(_) => Err(ApiError::InvalidToken),
        }
    }
}
