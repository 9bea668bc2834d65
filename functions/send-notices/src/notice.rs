//! The notice mails: a password change or reset to the user's address, an email change to
//! the old address and to the new one. Each is sent once per event (see
//! [`shared::store::NoticeKey`]).

use serde::Deserialize;
use shared::audit::ChangeKind;
use shared::email::EmailAddress;
use shared::language::{FluentArgs, Language};
use shared::mail::Mail;
use shared::store::NoticeKey;
use shared::{UserId, UserItem};

/// An account event as the bus delivers it (an EventBridge event, here in an SQS message's
/// body): its kind and the part of its detail the notices need (docs/events.md).
#[derive(Clone, Debug, Deserialize)]
pub struct NoticeEvent {
    #[serde(rename = "detail-type")]
    pub kind: ChangeKind,
    pub detail: Detail,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Detail {
    /// The stream record's id: the same for every delivery, so each notice goes out once.
    pub event_id: String,
    pub user_id: UserId,
    pub occurred_at: String,
    /// A password change's: the user's address at the change.
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub old_email: Option<String>,
    #[serde(default)]
    pub new_email: Option<String>,
}

/// A mail to send once.
#[derive(Debug)]
pub struct Notice {
    pub key: NoticeKey,
    /// Whom it is about: the user's budget counts it.
    pub user_id: UserId,
    pub mail: Mail,
}

/// The notices of `event`, about `user` as it is now (its login, whether it is activated),
/// to the addresses the event names. An account that is not
/// activated gets none: its address is still being set up, and whoever may change it could
/// otherwise make the platform's sender mail any address. An address that cannot be mailed
/// (an old item's) gets none, with a warning: no retry would change that.
pub fn notices(event: &NoticeEvent, user: &UserItem) -> Vec<Notice> {
    let (kind, event) = (event.kind, &event.detail);
    if !user.user.activated {
        tracing::debug!(event_id = %event.event_id, "no notice: the account is not activated");
        return Vec::new();
    }
    let language = Language::of_tag(&user.user.language);
    let mut args = FluentArgs::new();
    args.set("login", user.user.login.as_str());
    args.set("at", event.occurred_at.as_str());
    let mut notices = Vec::new();
    let mut add =
        |recipient: &'static str, address: &str, subject: &str, text: &str, args: &FluentArgs| {
            match EmailAddress::parse(address) {
                Ok(to) => notices.push(Notice {
                    key: NoticeKey::new(&event.event_id, recipient),
                    user_id: user.user.id,
                    mail: Mail {
                        to,
                        language,
                        subject: language.text(subject, None),
                        text: language.text(text, Some(args)),
                    },
                }),
                Err(_) => tracing::warn!(
                    event_id = %event.event_id,
                    recipient,
                    "no notice: the address cannot be mailed"
                ),
            }
        };
    match kind {
        ChangeKind::PasswordChanged | ChangeKind::PasswordReset => {
            let text = if kind == ChangeKind::PasswordReset {
                "notice-password-reset-text"
            } else {
                "notice-password-changed-text"
            };
            // The address at the change, not one set since: whoever changed the password
            // and then the address must not take the notice with it.
            let to = event.email.as_deref().unwrap_or(&user.user.contact.email);
            add("user", to, "notice-password-subject", text, &args);
        }
        ChangeKind::EmailChanged => {
            let (Some(old), Some(new)) = (&event.old_email, &event.new_email) else {
                return notices;
            };
            args.set("old_email", old.as_str());
            args.set("new_email", new.as_str());
            add(
                "old-address",
                old,
                "notice-email-subject",
                "notice-email-old-text",
                &args,
            );
            add(
                "new-address",
                new,
                "notice-email-subject",
                "notice-email-new-text",
                &args,
            );
        }
        ChangeKind::Disabled | ChangeKind::Enabled | ChangeKind::EmailChangeRequested => {}
    }
    notices
}
