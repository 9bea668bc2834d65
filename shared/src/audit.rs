//! Who changed a user, how, and through which request. The write that makes a change records
//! it on the item in the same `UpdateItem` (`last_change`, and `write_kind` for the stream's
//! filter); `account-events` reads it back from the table's stream and publishes it.
//! Nothing here is a secret.

use std::fmt;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::{Deserialize, Serialize};

use crate::caller::{Caller, Principal};
use crate::ids::{TenantId, UserId};

/// What a change did: the name of the event it becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChangeKind {
    /// The user changed its own password, giving the current one.
    #[serde(rename = "account.password.changed")]
    PasswordChanged,
    /// An API client set the password.
    #[serde(rename = "account.password.reset")]
    PasswordReset,
    #[serde(rename = "account.disabled")]
    Disabled,
    #[serde(rename = "account.enabled")]
    Enabled,
    /// A confirmation link was mailed; the address has not changed yet.
    #[serde(rename = "account.email.change-requested")]
    EmailChangeRequested,
    #[serde(rename = "account.email.changed")]
    EmailChanged,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 6] = [
        Self::PasswordChanged,
        Self::PasswordReset,
        Self::Disabled,
        Self::Enabled,
        Self::EmailChangeRequested,
        Self::EmailChanged,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::PasswordChanged => "account.password.changed",
            Self::PasswordReset => "account.password.reset",
            Self::Disabled => "account.disabled",
            Self::Enabled => "account.enabled",
            Self::EmailChangeRequested => "account.email.change-requested",
            Self::EmailChanged => "account.email.changed",
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActorType {
    /// A person, by the `sub` of its token.
    User,
    /// An OAuth API client.
    Client,
    /// Whoever followed a confirmation link: the link is the credential, so the actor is
    /// named by the user the link was mailed for.
    ConfirmationLink,
}

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(rename = "type")]
    pub kind: ActorType,
    pub id: String,
    /// The actor's tenant; for a confirmation link, the user's (set by the reader, since the
    /// write does not know it).
    #[serde(default)]
    pub tenant_id: Option<TenantId>,
}

impl Actor {
    pub fn caller(caller: &Caller) -> Self {
        let (kind, id) = match &caller.principal {
            Principal::User(id) => (ActorType::User, id.to_string()),
            Principal::Client(id) => (ActorType::Client, id.to_string()),
        };
        Self {
            kind,
            id,
            tenant_id: Some(caller.tenant_id),
        }
    }

    pub fn confirmation_link(user: UserId) -> Self {
        Self {
            kind: ActorType::ConfirmationLink,
            id: user.to_string(),
            tenant_id: None,
        }
    }
}

/// The API request a change came through: API Gateway's request id (what its access logs
/// and the caller's `x-amzn-RequestId` show), else the Lambda invocation's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(String);

impl RequestId {
    pub(crate) const MAX_LEN: usize = 128;

    /// A request id as it arrived, if it looks like one: 1 to 128 printable ASCII characters
    /// without spaces (API Gateway's are UUIDs or base64-like strings).
    pub fn parse(raw: &str) -> Option<Self> {
        let fits = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw.bytes().all(|b| b.is_ascii_graphic());
        fits.then(|| Self(raw.to_owned()))
    }

    /// The id of `request`. An event without one (a hand-made test event, say) gets a fresh
    /// UUID, so that the change can still be told apart from others.
    pub fn of(request: &Request) -> Self {
        let gateway = match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => context.request_id.as_deref(),
            Some(RequestContext::ApiGatewayV1(context)) => context.request_id.as_deref(),
            _ => None,
        };
        gateway
            .and_then(Self::parse)
            .or_else(|| {
                request
                    .lambda_context_ref()
                    .and_then(|context| Self::parse(&context.request_id))
            })
            .unwrap_or_else(|| Self(uuid::Uuid::new_v4().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who asks for a change, and through which request: what a handler hands the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub actor: Actor,
    pub request_id: RequestId,
}

impl Origin {
    pub fn of(request: &Request, actor: Actor) -> Self {
        Self {
            actor,
            request_id: RequestId::of(request),
        }
    }

    /// A change of `kind` from this origin, made `at` (the platform's timestamp).
    pub fn change(&self, kind: ChangeKind, at: &str) -> Change {
        Change {
            kind,
            actor: self.actor.clone(),
            request_id: self.request_id.clone(),
            at: at.to_owned(),
        }
    }
}

/// A change as the item records it (`last_change`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub kind: ChangeKind,
    pub actor: Actor,
    pub request_id: RequestId,
    /// When it was made (the platform's timestamp, as `updated_at`).
    pub at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialise_as_their_event_names() {
        for kind in ChangeKind::ALL {
            assert_eq!(
                serde_json::to_value(kind).expect("serialises"),
                serde_json::Value::String(kind.name().to_owned())
            );
        }
    }

    #[test]
    fn request_ids_are_bounded_and_printable() {
        // API Gateway's and Lambda's ids.
        for good in ["c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "JKJaXmPLvHcESHA="] {
            assert!(RequestId::parse(good).is_some(), "{good:?}");
        }
        let too_long = "x".repeat(RequestId::MAX_LEN + 1);
        for bad in ["", "a b", "a\nb", &too_long] {
            assert!(RequestId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_request_without_ids_still_gets_one() {
        let request = Request::default();
        let first = RequestId::of(&request);
        assert!(RequestId::parse(first.as_str()).is_some());
        assert_ne!(first, RequestId::of(&request));
    }
}
