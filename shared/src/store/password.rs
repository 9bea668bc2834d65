//! The password hash and the log of current-password checks.

use aws_sdk_dynamodb::types::AttributeValue;

use super::write::{ATTEMPT_LOG, Record, UserWrite, explain};
use super::{Store, Written};
use crate::audit::{ChangeKind, Origin};
use crate::error::{ApiError, Limited};
use crate::ids::UserId;
use crate::limit::PASSWORD_ATTEMPTS;
use crate::now::Now;
use crate::password::PasswordHashString;
use crate::session::OwnToken;
use crate::tenant::TenantRule;
use crate::user::UserItem;

/// Who sets a password.
#[derive(Clone, Copy, Debug)]
pub enum Setter<'a> {
    /// The user itself, whose current password verified against `verified`, with `token`.
    Own {
        verified: &'a PasswordHashString,
        token: &'a OwnToken,
    },
    /// An API client: a reset.
    Administrator,
}

impl Store {
    /// Begins a check of the current password: logs it against [`PASSWORD_ATTEMPTS`] and
    /// returns the user item (with its hash) in the same conditional `UpdateItem`.
    ///
    /// The attempt is logged before the password is verified, and the log is replaced only
    /// while it is the one the limit was checked against, so concurrent guesses cannot slip
    /// past the limit: each verification needs an entry that a conditional write granted.
    /// Refused with 429 (and the seconds until the lockout ends) once the limit is reached,
    /// 401 for a revoked `own` token, 403 for a disabled account.
    pub async fn begin_password_check(
        &self,
        user_id: UserId,
        rule: TenantRule,
        own: &OwnToken,
        now: &Now,
    ) -> Result<UserItem, ApiError> {
        // The first write assumes an empty log: one request in the common case.
        self.write_logged(
            user_id,
            &PASSWORD_ATTEMPTS,
            Limited::PasswordAttempts,
            &ATTEMPT_LOG,
            Vec::new(),
            now,
            || {
                let mut write = UserWrite::new("", Record::Bookkeeping, rule, None)?;
                write.own_token(own);
                Ok(write)
            },
            |old| explain(old, rule, None, Some(own)),
        )
        .await
    }

    /// Stores a new password hash, clears the attempt log and sets
    /// `credentials_changed_at`, in one conditional write.
    ///
    /// The user itself ([`Setter::Own`]) passes the hash its current password was verified
    /// against: the write only happens while that hash is still stored, the account is
    /// enabled and the token not revoked, so of two concurrent changes exactly one wins (the
    /// other is told its current password is no longer current), and a change verified just
    /// before the account was disabled writes nothing. The token's session is remembered:
    /// its tokens outlive the change, every other token ends. An API client's reset may
    /// recover a disabled account, and ends every token, that session's too.
    pub async fn set_password_hash(
        &self,
        user_id: UserId,
        rule: TenantRule,
        setter: Setter<'_>,
        new_hash: &PasswordHashString,
        now: &Now,
        origin: &Origin,
    ) -> Result<(), ApiError> {
        let kind = match setter {
            Setter::Own { .. } => ChangeKind::PasswordChanged,
            Setter::Administrator => ChangeKind::PasswordReset,
        };
        let record = origin.change(kind, &now.timestamp);
        let mut write = UserWrite::new(
            "SET #hash = :hash, #credentials = :now",
            Record::Change(&record),
            rule,
            None,
        )?;
        write.update("REMOVE #attempts");
        write.value(":hash", AttributeValue::S(new_hash.as_str().to_owned()));
        write.now(now);
        let own = match setter {
            Setter::Own { verified, token } => {
                write.own_token(token);
                write.condition("#hash = :verified_hash");
                write.value(
                    ":verified_hash",
                    AttributeValue::S(verified.as_str().to_owned()),
                );
                match &token.session {
                    Some(session) => {
                        write.update("SET #own_session = :new_session");
                        write.value(
                            ":new_session",
                            AttributeValue::S(session.as_str().to_owned()),
                        );
                    }
                    None => write.update("REMOVE #own_session"),
                }
                Some(token)
            }
            Setter::Administrator => {
                write.update("SET #admin_revoked = :now");
                write.update("REMOVE #own_session");
                None
            }
        };
        match self.update_user(user_id, write).await? {
            Written::Applied(_) => Ok(()),
            Written::Refused(old) => {
                explain(old, rule, None, own)?;
                Err(ApiError::InvalidCurrentPassword)
            }
        }
    }

    /// Clears the attempt log: the current password was right, though nothing changed.
    pub async fn clear_password_attempts(
        &self,
        user_id: UserId,
        rule: TenantRule,
    ) -> Result<(), ApiError> {
        let write = UserWrite::new("REMOVE #attempts", Record::Bookkeeping, rule, None)?;
        match self.update_user(user_id, write).await? {
            Written::Applied(_) => Ok(()),
            Written::Refused(old) => explain(old, rule, None, None).map(|_| ()),
        }
    }
}
