//! A user's own token, as far as revocation needs it: when it was issued and in which
//! session (docs/contract.md §3, "Access ends when it should").

use crate::now::format_timestamp;

/// What a user's token says of its issue, checked against the user's own item when the
/// user acts on itself (docs/contract.md §3, "Access ends when it should"): a token issued
/// before `credentials_changed_at` is revoked, unless its session made the user's own last
/// password change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnToken {
    /// `iat` in the platform's timestamp format, at the last microsecond of its second: a
    /// token passes while `credentials_changed_at <= not_before`, one string comparison
    /// that DynamoDB's condition makes as the code does. `iat` has whole seconds, so a token
    /// issued in the second of a change, before it, still passes.
    pub not_before: String,
    /// `sid`, when the token has one.
    pub session: Option<SessionId>,
}

/// A token's session (`sid`): 1 to 128 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    pub(crate) const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let visible = raw.bytes().all(|b| b.is_ascii_graphic());
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !visible {
            return Err(format!(
                "must be 1 to {} visible ASCII characters",
                Self::MAX_LEN
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The most a token's `iat` may lie ahead of this function's clock.
pub(crate) const IAT_LEEWAY_SECS: i64 = 60;

impl OwnToken {
    /// `iat` (Unix seconds) and `sid`, checked: an `iat` before 1970 or more than
    /// [`IAT_LEEWAY_SECS`] ahead of `now` is malformed.
    pub fn new(iat: i64, session: Option<SessionId>, now: i64) -> Result<Self, String> {
        if iat < 0 || iat > now.saturating_add(IAT_LEEWAY_SECS) {
            return Err("is not a time up to now".into());
        }
        let at = time::OffsetDateTime::from_unix_timestamp(iat)
            .map_err(|_| "is not a time up to now".to_owned())?
            + time::Duration::microseconds(999_999);
        Ok(Self {
            not_before: format_timestamp(at),
            session,
        })
    }
}
