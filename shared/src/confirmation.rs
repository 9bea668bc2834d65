//! The life of an email change's confirmation: its token (256 random bits, sent once by mail,
//! stored only as SHA-256), the pending change stored on the user item, the link and the
//! text of the mail. The store only writes what this module makes.

use std::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::email::EmailAddress;
use crate::error::ApiError;
use crate::ids::UserId;
use crate::now::Now;

/// Random bytes in a token.
pub(crate) const TOKEN_BYTES: usize = 32;
/// Length of a token in unpadded base64url.
pub(crate) const TOKEN_CHARS: usize = 43;

/// A confirmation token as it travels in the link. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfirmationToken(String);

impl ConfirmationToken {
    /// A fresh token from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, ApiError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|e| ApiError::internal(format!("no randomness for a token: {e}")))?;
        Ok(Self(Base64UrlUnpadded::encode_string(&bytes)))
    }

    /// A token of the right shape (43 base64url characters), or `None`.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut bytes = [0u8; TOKEN_BYTES];
        (raw.len() == TOKEN_CHARS
            && Base64UrlUnpadded::decode(raw, &mut bytes).is_ok_and(|d| d.len() == TOKEN_BYTES))
        .then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }
}

impl fmt::Debug for ConfirmationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConfirmationToken(..)")
    }
}

/// The SHA-256 of a token, in hex: all the store ever keeps. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// An email change waiting for confirmation, stored on the user item.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEmail {
    /// The new address.
    pub email: String,
    pub token_hash: TokenHash,
    pub requested_at: String,
    pub expires_at: String,
    /// `expires_at` in Unix seconds, for the confirmation's condition expression.
    pub expires_epoch: i64,
}

impl fmt::Debug for PendingEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingEmail")
            .field("requested_at", &self.requested_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl PendingEmail {
    /// The change to `email`, confirmed by `token` until `ttl_secs` after `now`.
    pub fn new(email: &EmailAddress, token: &ConfirmationToken, now: &Now, ttl_secs: i64) -> Self {
        let expires = now.later(ttl_secs);
        Self {
            email: email.to_string(),
            token_hash: token.hash(),
            requested_at: now.timestamp.clone(),
            expires_at: expires.timestamp,
            expires_epoch: expires.epoch,
        }
    }
}

/// The link of the confirmation mail: `base` is the API's public URL.
pub fn link(base: &str, user_id: UserId, token: &ConfirmationToken) -> String {
    format!(
        "{base}/users/{user_id}/email/confirmation?token={}",
        token.as_str()
    )
}

/// The confirmation mail, to the account's current address `to`, in the user's language.
#[cfg(feature = "mail")]
pub fn mail(
    to: EmailAddress,
    language: crate::language::Language,
    login: &str,
    new_email: &EmailAddress,
    link: &str,
    ttl_secs: i64,
) -> crate::mail::Mail {
    let mut args = fluent_bundle::FluentArgs::new();
    args.set("login", login);
    args.set("old_email", to.as_str());
    args.set("new_email", new_email.as_str());
    args.set("link", link);
    args.set("hours", ttl_secs as f64 / 3600.0);
    crate::mail::Mail {
        subject: language.text("confirmation-mail-subject", None),
        text: language.text("confirmation-mail-text", Some(&args)),
        to,
        language,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_well_formed_and_hashed() {
        let a = ConfirmationToken::generate().unwrap();
        let b = ConfirmationToken::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), TOKEN_CHARS);
        assert_eq!(ConfirmationToken::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.hash().as_str().len(), 64);
        assert_ne!(a.hash(), b.hash());
        assert!(!format!("{a:?}{:?}", a.hash()).contains(a.as_str()));
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        let good = ConfirmationToken::generate().unwrap();
        for bad in [
            "",
            "short",
            &good.as_str()[..42],
            &format!("{}A", good.as_str()),
            &format!("{}=", &good.as_str()[..42]),
            &good.as_str().replace(|_: char| true, "+"),
            "ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ\u{0}",
        ] {
            assert_eq!(ConfirmationToken::parse(bad), None, "{bad:?}");
        }
    }
}
