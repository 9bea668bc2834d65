//! Identifiers and the revision number, each its own type so that they cannot be mixed up.

use std::fmt;
use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a path or claim value is not an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a UUID in canonical form (lower-case, hyphenated, 36 characters)")]
pub struct NotCanonicalUuid;

/// Parses only the canonical, lower-case hyphenated form: one spelling per identifier keeps
/// keys, logs and comparisons unambiguous (`{…}`, `urn:uuid:` and upper case are refused).
fn parse_canonical_uuid(raw: &str) -> Result<Uuid, NotCanonicalUuid> {
    let uuid = Uuid::try_parse(raw).map_err(|_| NotCanonicalUuid)?;
    let mut buffer = Uuid::encode_buffer();
    if uuid.hyphenated().encode_lower(&mut buffer) == raw {
        Ok(uuid)
    } else {
        Err(NotCanonicalUuid)
    }
}

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }

            pub fn parse_canonical(raw: &str) -> Result<Self, NotCanonicalUuid> {
                parse_canonical_uuid(raw).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }
    };
}

uuid_id!(
    /// A user account.
    UserId
);
uuid_id!(
    /// A tenant of the tenant tree.
    TenantId
);

/// An OAuth API client. Client ids are issued by the identity provider and are not
/// necessarily UUIDs, so this is a bounded, printable string.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ClientId(String);

impl ClientId {
    pub(crate) const MAX_LEN: usize = 256;

    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(format!("must be 1 to {} bytes long", Self::MAX_LEN));
        }
        if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("must not contain white space or control characters".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The revision number of a user object: positive, and grows by exactly one per change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "u64")]
pub struct Version(NonZeroU64);

impl Version {
    pub const FIRST: Version = Version(NonZeroU64::MIN);

    /// The largest version a request may carry: 2^53 - 1, the largest integer every JSON
    /// parser reads exactly (RFC 7493, I-JSON); the OpenAPI document says the same.
    pub(crate) const MAX_JSON: u64 = (1 << 53) - 1;

    pub fn new(value: u64) -> Option<Self> {
        NonZeroU64::new(value).map(Self)
    }

    pub fn get(self) -> u64 {
        self.0.get()
    }

    /// The version after one more change; `None` only at `u64::MAX`, which no account reaches.
    pub fn next(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }
}

impl TryFrom<u64> for Version {
    type Error = &'static str;

    fn try_from(value: u64) -> Result<Self, Self::Error> {
        Version::new(value).ok_or("a version is a positive integer")
    }
}

/// JSON Schema's `integer` is any number without a fractional part, so `10812.0` and `1e3`
/// are versions too (an outside fuzzer sends them); fractions, and numbers above
/// [`Version::MAX_JSON`], are not.
impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        const EXPECTED: &str = "a positive integer of at most 2^53 - 1";

        impl serde::de::Visitor<'_> for Visitor {
            type Value = Version;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Version, E> {
                Some(value)
                    .filter(|value| *value <= Version::MAX_JSON)
                    .and_then(Version::new)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Unsigned(value), &self))
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Version, E> {
                u64::try_from(value)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(value), &self))
                    .and_then(|value| self.visit_u64(value))
            }

            fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Version, E> {
                // Exact: every integer up to MAX_JSON is an f64 without rounding.
                if value.fract() == 0.0 && (1.0..=Version::MAX_JSON as f64).contains(&value) {
                    self.visit_u64(value as u64)
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Float(value), &self))
                }
            }
        }

        deserializer.deserialize_u64(Visitor)
    }
}

impl From<Version> for u64 {
    fn from(version: Version) -> u64 {
        version.get()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_json_schema_integers() {
        let parse = |json: &str| serde_json::from_str::<Version>(json).ok().map(Version::get);
        assert_eq!(parse("7"), Some(7));
        assert_eq!(parse("10812.0"), Some(10812));
        assert_eq!(parse("1e3"), Some(1000));
        assert_eq!(parse("9007199254740991"), Some(Version::MAX_JSON));
        // Read exactly, not within one unit in the last place (a fuzzer sent this one).
        assert_eq!(parse("2251799813685247.0"), Some(2_251_799_813_685_247));
        assert_eq!(parse("9007199254740991.0"), Some(Version::MAX_JSON));
        for bad in [
            "0",
            "-1",
            "0.0",
            "1.5",
            "9007199254740992",
            "9007199254740992.0",
            "1e300",
            "\"3\"",
            "null",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_canonical_uuids_parse() {
        let canonical = "1c234e69-5469-424a-a6d1-ff5658b387a6";
        assert_eq!(
            UserId::parse_canonical(canonical).unwrap().to_string(),
            canonical
        );
        for bad in [
            "1C234E69-5469-424A-A6D1-FF5658B387A6",
            "1c234e695469424aa6d1ff5658b387a6",
            "{1c234e69-5469-424a-a6d1-ff5658b387a6}",
            "urn:uuid:1c234e69-5469-424a-a6d1-ff5658b387a6",
            " 1c234e69-5469-424a-a6d1-ff5658b387a6",
            "../1c234e69-5469-424a-a6d1-ff5658b387a6",
            "",
        ] {
            assert_eq!(
                UserId::parse_canonical(bad),
                Err(NotCanonicalUuid),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn version_is_positive_and_grows_by_one() {
        assert_eq!(Version::new(0), None);
        assert_eq!(Version::FIRST.next(), Version::new(2));
        assert_eq!(Version::new(u64::MAX).unwrap().next(), None);
        assert!(serde_json::from_str::<Version>("0").is_err());
        assert!(serde_json::from_str::<Version>("-1").is_err());
        assert!(serde_json::from_str::<Version>("1.5").is_err());
        assert_eq!(serde_json::from_str::<Version>("7").unwrap().get(), 7);
    }

    #[test]
    fn client_ids_are_bounded_and_printable() {
        assert!(ClientId::parse("svc-backup").is_ok());
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse("a b").is_err());
        assert!(ClientId::parse("a\u{0}").is_err());
        assert!(ClientId::parse(&"x".repeat(257)).is_err());
    }
}
