//! The notice mails: a password change or reset to the user's address, an email change to
//! the old address and to the new one. Each is sent once per event (see
//! [`shared::store::NoticeKey`]).

use shared::audit::ChangeKind;
use shared::email::EmailAddress;
use shared::mail::Mail;
use shared::store::NoticeKey;
use shared::{UserId, UserItem};

use crate::event::AccountEvent;

pub const PASSWORD_SUBJECT: &str = "The password of your account was changed";
pub const EMAIL_SUBJECT: &str = "The email address of your account was changed";

const IF_NOT_YOU: &str = "If you did not make this change, contact your administrator at once.";

/// A mail to send once.
#[derive(Debug)]
pub struct Notice {
    pub key: NoticeKey,
    /// Whom it is about: the user's budget counts it.
    pub user_id: UserId,
    pub mail: Mail,
}

/// The notices of `event`, for `user` as the change left it. An account that is not
/// activated gets none: its address is still being set up, and whoever may change it could
/// otherwise make the platform's sender mail any address. An address that cannot be mailed
/// (an old item's) gets none, with a warning: no retry would change that.
pub fn notices(event: &AccountEvent, user: &UserItem) -> Vec<Notice> {
    if !user.user.activated {
        tracing::debug!(event_id = %event.event_id, "no notice: the account is not activated");
        return Vec::new();
    }
    let login = &user.user.login;
    let at = &event.occurred_at;
    let mut notices = Vec::new();
    let mut add = |recipient: &'static str, address: &str, subject: &'static str, text: String| {
        match EmailAddress::parse(address) {
            Ok(to) => notices.push(Notice {
                key: NoticeKey::new(&event.event_id, recipient),
                user_id: user.user.id,
                mail: Mail { to, subject, text },
            }),
            Err(_) => tracing::warn!(
                event_id = %event.event_id,
                recipient,
                "no notice: the address cannot be mailed"
            ),
        }
    };
    match event.kind {
        ChangeKind::PasswordChanged | ChangeKind::PasswordReset => {
            let by = if event.kind == ChangeKind::PasswordReset {
                " by an administrator"
            } else {
                ""
            };
            add(
                "user",
                &user.user.contact.email,
                PASSWORD_SUBJECT,
                format!(
                    "Hello,\n\nthe password of your account {login} was changed{by} at {at} \
                     (UTC).\n\n{IF_NOT_YOU}\n"
                ),
            );
        }
        ChangeKind::EmailChanged => {
            let (Some(old), Some(new)) = (&event.old_email, &event.new_email) else {
                return notices;
            };
            add(
                "old-address",
                old,
                EMAIL_SUBJECT,
                format!(
                    "Hello,\n\nthe email address of your account {login} was changed at {at} \
                     (UTC) from this address to {new}. Mail about the account now goes there.\n\n\
                     {IF_NOT_YOU}\n"
                ),
            );
            add(
                "new-address",
                new,
                EMAIL_SUBJECT,
                format!(
                    "Hello,\n\nthis is now the email address of your account {login}, \
                     since {at} (UTC); it was {old}.\n\n{IF_NOT_YOU}\n"
                ),
            );
        }
        ChangeKind::Disabled | ChangeKind::Enabled | ChangeKind::EmailChangeRequested => {}
    }
    notices
}
