//! Passwords: the policy of docs/contract.md §4 and Argon2id hashing.
//!
//! Every password is compared and hashed in its NFKC form, so the same password typed on
//! different keyboards (composed or decomposed accents, full-width digits) is one password.
//! Hashing and verifying run on the blocking thread pool, never on the async workers.
//!
//! `secret.rs` holds the types that never show a password or a hash, `policy.rs` the rules
//! and the common-password list, `config.rs` their configuration, `hasher.rs` Argon2id.

mod config;
mod hasher;
mod policy;
mod secret;

pub use config::{Argon2Config, PasswordConfig};
pub use hasher::Hasher;
pub use policy::{PasswordPolicy, PolicyContext};
pub use secret::{Password, PasswordHashString};

/// Longest password, in code points after NFKC.
pub(crate) const MAX_CHARS: usize = 256;
/// Most UTF-8 bytes hashed: nobody makes us hash a megabyte.
pub const MAX_BYTES: usize = 1024;
/// The lowest `PASSWORD_MIN_LENGTH` allowed: no configuration accepts a shorter password.
pub(crate) const SHORTEST_MIN_CHARS: usize = 8;
/// Shortest login or email local part that the "contains" rules look for: a one- or
/// two-letter login inside a password says nothing about the password.
pub(crate) const MIN_IDENTIFIER_CHARS: usize = 3;

/// The NFKC form of `text`, by ICU4X's normaliser: `idna` links it into every function
/// already (for `url`), so NFKC costs its own tables only (what that bought:
/// docs/benchmarks.md).
pub fn nfkc(text: &str) -> String {
    icu_normalizer::ComposingNormalizerBorrowed::new_nfkc()
        .normalize(text)
        .into_owned()
}
