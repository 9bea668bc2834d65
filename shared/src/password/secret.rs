//! A password and its hash, as types whose `Debug` never shows them.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{MAX_BYTES, nfkc};

/// A password from a request in NFKC form. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub(super) String);

impl Password {
    /// NFKC of `raw`, or `None` when either form is longer than [`MAX_BYTES`].
    pub fn normalize(raw: &str) -> Option<Self> {
        if raw.len() > MAX_BYTES {
            return None;
        }
        let normalized = nfkc(raw);
        (normalized.len() <= MAX_BYTES).then_some(Self(normalized))
    }

    pub(super) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// An Argon2 PHC string (`$argon2id$v=19$m=…`). Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHashString(pub(super) String);

impl PasswordHashString {
    /// A PHC string read back from storage (an idempotency record's verifier).
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHashString(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let password = Password::normalize("hunter2 hunter2 hunter2").unwrap();
        assert!(!format!("{password:?}").contains("hunter2"));
        let hash = PasswordHashString("$argon2id$v=19$secret".into());
        assert!(!format!("{hash:?}").contains("secret"));
    }
}
