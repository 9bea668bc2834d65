//! The user object: its public shape (the platform's user API) and its stored item.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{Change, ChangeKind};
use crate::confirmation::PendingEmail;
use crate::error::ApiError;
use crate::ids::{TenantId, UserId, Version};
use crate::password::PasswordHashString;
use crate::session::OwnToken;
use crate::tenant::TenantPath;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Contact {
    pub email: String,
    pub firstname: String,
    pub lastname: String,
    pub phone: String,
    pub address1: String,
    pub address2: String,
    pub city: String,
    pub state: String,
    pub zipcode: String,
    pub country: String,
}

/// The user object as every 200 response returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub login: String,
    pub tenant_id: TenantId,
    pub contact: Contact,
    pub activated: bool,
    pub enabled: bool,
    pub language: String,
    pub mfa_status: String,
    pub notifications: Vec<String>,
    pub business_types: Vec<String>,
    pub idp_id: Option<Uuid>,
    pub personal_tenant_id: Option<Uuid>,
    pub terms_accepted: bool,
    pub created_at: String,
    pub updated_at: String,
    pub version: Version,
}

/// The DynamoDB item of a user: the public object plus what only the store sees.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserItem {
    /// Partition key, `USER#<id>`.
    pub pk: String,
    #[serde(flatten)]
    pub user: User,
    /// Ancestry of the user's tenant, root first (see [`crate::tenant`]).
    pub tenant_path: TenantPath,
    /// Argon2id PHC string; absent until a password is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<PasswordHashString>,
    /// When current-password checks began (Unix seconds), for
    /// [`crate::limit::PASSWORD_ATTEMPTS`]; cleared by a right current password.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub password_attempt_times: Vec<i64>,
    /// An email change waiting for confirmation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_email: Option<PendingEmail>,
    /// When confirmation mails were sent (Unix seconds), for the email change's limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub confirmation_mail_times: Vec<i64>,
    /// When the password last changed or the account was last disabled (the platform's
    /// timestamp): a token checker can refuse tokens issued before it. Not part of the
    /// user object, whose `version` counts profile changes only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_changed_at: Option<String>,
    /// The session (`sid`) of the user's own last password change, whose tokens outlive it
    /// (your session continues, the others end); removed by a reset or a disable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_change_session: Option<String>,
    /// When an administrative reset or a disable last ended every token: a session's token
    /// issued before it never comes back, even if that session later changes the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_revoked_at: Option<String>,
    /// The last change: its kind, actor and request (see [`crate::audit`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change: Option<Change>,
    /// What the write that left the item in this state changed: set by every write that
    /// changes the user, removed by bookkeeping writes (the attempt logs), so that the
    /// stream's filter can keep only changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_kind: Option<ChangeKind>,
}

impl UserItem {
    pub fn key(id: UserId) -> String {
        format!("USER#{id}")
    }

    pub fn new(user: User, tenant_path: TenantPath) -> Self {
        Self {
            pk: Self::key(user.id),
            user,
            tenant_path,
            password_hash: None,
            password_attempt_times: Vec::new(),
            pending_email: None,
            confirmation_mail_times: Vec::new(),
            credentials_changed_at: None,
            own_change_session: None,
            admin_revoked_at: None,
            last_change: None,
            write_kind: None,
        }
    }

    /// The user object as responses show it at `now` (Unix seconds): the public fields, and
    /// when an email change waits for confirmation, when it was asked for and when it expires
    /// (not the address). An expired change no longer waits for anything, so it is not shown.
    pub fn view(&self, now: i64) -> UserView<'_> {
        UserView {
            user: &self.user,
            pending_email_change: self
                .pending_email
                .as_ref()
                .filter(|pending| pending.expires_epoch > now)
                .map(|pending| PendingView {
                    requested_at: &pending.requested_at,
                    expires_at: &pending.expires_at,
                }),
        }
    }
}

impl UserItem {
    /// Whether the user's own `token` may still act on this item (see [`Access::admits`]).
    /// The store's writes make the same check in their condition (`UserWrite::own_token`).
    pub fn admits(&self, token: &OwnToken) -> Result<(), ApiError> {
        self.access().admits(token)
    }

    pub fn access(&self) -> Access<'_> {
        Access {
            enabled: self.user.enabled,
            credentials_changed_at: self.credentials_changed_at.as_deref(),
            own_change_session: self.own_change_session.as_deref(),
            admin_revoked_at: self.admin_revoked_at.as_deref(),
        }
    }
}

/// What deciding on a user's own token needs of the user's item: the functions read it as
/// part of the item, `authorize` as a projection ([`AccessItem`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access<'a> {
    pub enabled: bool,
    pub credentials_changed_at: Option<&'a str>,
    pub own_change_session: Option<&'a str>,
    pub admin_revoked_at: Option<&'a str>,
}

impl Access<'_> {
    /// `401 token-revoked` when `token` was issued before `credentials_changed_at` (unless
    /// its session made the user's own last password change, and no reset or disable came
    /// after the token), `403 account-disabled` when the account is disabled.
    pub fn admits(&self, token: &OwnToken) -> Result<(), ApiError> {
        let after = |at: Option<&str>| at.is_some_and(|at| at > token.not_before.as_str());
        let own_session = token
            .session
            .as_ref()
            .is_some_and(|sid| self.own_change_session == Some(sid.as_str()));
        let exempt = own_session && !after(self.admin_revoked_at);
        let revoked = after(self.credentials_changed_at);
        if revoked && !exempt {
            Err(ApiError::TokenRevoked)
        } else if !self.enabled {
            Err(ApiError::AccountDisabled)
        } else {
            Ok(())
        }
    }
}

/// The attributes of a user's item that [`Access`] needs, as one projected read returns
/// them ([`crate::Store::get_access`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AccessItem {
    pub enabled: bool,
    #[serde(default)]
    pub credentials_changed_at: Option<String>,
    #[serde(default)]
    pub own_change_session: Option<String>,
    #[serde(default)]
    pub admin_revoked_at: Option<String>,
}

impl AccessItem {
    /// The attributes to project, each with the placeholder [`Self::PROJECTION`] names it
    /// by (placeholders, so that no attribute can collide with a reserved word).
    pub(crate) const ATTRIBUTES: [(&'static str, &'static str); 4] = [
        ("#enabled", "enabled"),
        ("#credentials", "credentials_changed_at"),
        ("#own_session", "own_change_session"),
        ("#admin_revoked", "admin_revoked_at"),
    ];
    /// The `ProjectionExpression` of those placeholders: a constant, not built per request.
    pub(crate) const PROJECTION: &'static str =
        "#enabled, #credentials, #own_session, #admin_revoked";

    pub fn access(&self) -> Access<'_> {
        Access {
            enabled: self.enabled,
            credentials_changed_at: self.credentials_changed_at.as_deref(),
            own_change_session: self.own_change_session.as_deref(),
            admin_revoked_at: self.admin_revoked_at.as_deref(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct UserView<'a> {
    #[serde(flatten)]
    pub user: &'a User,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_email_change: Option<PendingView<'a>>,
}

#[derive(Debug, Serialize)]
pub struct PendingView<'a> {
    pub requested_at: &'a str,
    pub expires_at: &'a str,
}

impl std::fmt::Debug for UserItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only what identifies the item: stored secrets must never reach a log line.
        f.debug_struct("UserItem")
            .field("id", &self.user.id)
            .field("tenant_id", &self.user.tenant_id)
            .field("version", &self.user.version)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_pending_change_is_not_shown() {
        let path = TenantPath::root(TenantId::new_random());
        let user: User = serde_json::from_value(serde_json::json!({
            "id": UserId::new_random(), "login": "JohnDoe", "tenant_id": path.tenant(),
            "contact": {"email": "john@example.com"}, "activated": true, "enabled": true,
            "language": "en", "mfa_status": "disabled", "notifications": [],
            "business_types": [], "idp_id": null, "personal_tenant_id": null,
            "terms_accepted": false, "created_at": "", "updated_at": "", "version": 1
        }))
        .unwrap();
        let mut item = UserItem::new(user, path);
        item.pending_email = Some(PendingEmail {
            email: "new@new.example".into(),
            token_hash: crate::confirmation::ConfirmationToken::generate()
                .unwrap()
                .hash(),
            requested_at: "2026-01-01T00:00:00.000000+00:00".into(),
            expires_at: "2026-01-01T01:00:00.000000+00:00".into(),
            expires_epoch: 1_000,
        });
        let shown = |now| serde_json::to_value(item.view(now)).unwrap();
        assert!(shown(999)["pending_email_change"].is_object());
        assert!(shown(1_000).get("pending_email_change").is_none());
        assert!(shown(999).get("credentials_changed_at").is_none());
    }

    #[test]
    fn the_projection_names_every_attribute_of_access() {
        let placeholders: Vec<&str> = AccessItem::ATTRIBUTES.iter().map(|(p, _)| *p).collect();
        assert_eq!(AccessItem::PROJECTION, placeholders.join(", "));
    }
}
