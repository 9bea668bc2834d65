//! Passwords: the policy of SPEC §4 and Argon2id hashing.
//!
//! Every password is compared and hashed in its NFKC form, so the same password typed on
//! different keyboards (composed or decomposed accents, full-width digits) is one password.
//! Hashing and verifying run on the blocking thread pool, never on the async workers.

use std::fmt;

use std::sync::{Arc, Mutex, PoisonError};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::config::{ConfigError, Env};
use crate::error::{ApiError, FieldError};

/// Longest password, in code points after NFKC.
pub const MAX_CHARS: usize = 256;
/// Most UTF-8 bytes hashed: nobody makes us hash a megabyte.
pub const MAX_BYTES: usize = 1024;
/// The lowest `PASSWORD_MIN_LENGTH` allowed: no configuration accepts a shorter password.
pub const SHORTEST_MIN_CHARS: usize = 8;
/// Shortest login or email local part that the "contains" rules look for: a one- or
/// two-letter login inside a password says nothing about the password.
pub const MIN_IDENTIFIER_CHARS: usize = 3;

/// A password from a request in NFKC form. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// NFKC of `raw`, or `None` when either form is longer than [`MAX_BYTES`].
    pub fn normalize(raw: &str) -> Option<Self> {
        if raw.len() > MAX_BYTES {
            return None;
        }
        let normalized: String = raw.nfkc().collect();
        (normalized.len() <= MAX_BYTES).then_some(Self(normalized))
    }

    fn expose(&self) -> &str {
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
pub struct PasswordHashString(String);

impl PasswordHashString {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHashString(..)")
    }
}

/// What the policy compares a new password with.
#[derive(Debug, Clone, Copy)]
pub struct PolicyContext<'a> {
    pub login: &'a str,
    pub email: &'a str,
    /// The current password, in self-service: the new one must differ.
    pub current: Option<&'a Password>,
}

/// The configurable part of the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_chars: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_chars: 15 }
    }
}

impl PasswordPolicy {
    /// Checks `raw` against every rule and reports every violation at once; on success,
    /// the password in NFKC form.
    pub fn check(&self, raw: &str, context: PolicyContext<'_>) -> Result<Password, ApiError> {
        let violation =
            |code: &'static str, message: String| FieldError::new("password", code, message);
        let mut errors = Vec::new();
        // Normalising is linear, but there is no point in it for a body-sized string.
        if raw.len() > 4 * MAX_BYTES {
            errors.push(violation(
                "too-long",
                format!("must be at most {MAX_BYTES} bytes of UTF-8"),
            ));
            return Err(ApiError::PasswordPolicy { errors });
        }
        let normalized: String = raw.nfkc().collect();
        let chars = normalized.chars().count();
        if chars < self.min_chars {
            errors.push(violation(
                "too-short",
                format!(
                    "must be at least {} characters long (has {chars})",
                    self.min_chars
                ),
            ));
        }
        if chars > MAX_CHARS {
            errors.push(violation(
                "too-long",
                format!("must be at most {MAX_CHARS} characters long"),
            ));
        }
        if raw.len() > MAX_BYTES || normalized.len() > MAX_BYTES {
            errors.push(violation(
                "too-long",
                format!("must be at most {MAX_BYTES} bytes of UTF-8"),
            ));
        }
        if normalized.chars().any(char::is_control) || raw.chars().any(char::is_control) {
            errors.push(violation(
                "control-character",
                "must not contain control characters".into(),
            ));
        }
        let lowered = normalized.to_lowercase();
        if is_common(&lowered) {
            errors.push(violation(
                "common-password",
                "is a commonly used password".into(),
            ));
        }
        if contains_identifier(&lowered, context.login) {
            errors.push(violation(
                "contains-login",
                "must not contain the login".into(),
            ));
        }
        let local_part = context
            .email
            .rsplit_once('@')
            .map_or("", |(local, _)| local);
        if contains_identifier(&lowered, local_part) {
            errors.push(violation(
                "contains-email",
                "must not contain the local part of the email address".into(),
            ));
        }
        if context
            .current
            .is_some_and(|current| current.expose() == normalized)
        {
            errors.push(violation(
                "same-as-current",
                "must differ from the current password".into(),
            ));
        }
        // Report one `too-long` even when both limits are broken.
        errors.dedup_by(|a, b| a.code == b.code);
        if errors.is_empty() {
            Ok(Password(normalized))
        } else {
            Err(ApiError::PasswordPolicy { errors })
        }
    }
}

/// The common-password list of the `passwords` crate (99,838 entries), in NFKC, lower-cased,
/// sorted by bytes, deduplicated, one per line, without the entries shorter than
/// [`SHORTEST_MIN_CHARS`] (the length rule refuses those whatever the configuration);
/// `data/README.md` says how it is made, and a test checks it against the crate. One string
/// instead of the crate's table of 100k `&str` makes the binary 5 MB smaller and spares 100k
/// relocations at every cold start.
static COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// Whether `lowered` (an NFKC, lower-cased password) is a line of [`COMMON_PASSWORDS`]: a
/// binary search whose probes widen to the line around them.
fn is_common(lowered: &str) -> bool {
    let list = COMMON_PASSWORDS.as_bytes();
    let needle = lowered.as_bytes();
    // `low` and `high` are always at the start of a line (or the end of the list).
    let (mut low, mut high) = (0, list.len());
    while low < high {
        let middle = low + (high - low) / 2;
        let start = list[low..middle]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(low, |i| low + i + 1);
        let end = list[middle..high]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(high, |i| middle + i);
        match list[start..end].cmp(needle) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => low = end + 1,
            std::cmp::Ordering::Greater => high = start,
        }
    }
    false
}

fn contains_identifier(lowered_password: &str, identifier: &str) -> bool {
    let identifier: String = identifier.nfkc().collect::<String>().to_lowercase();
    identifier.chars().count() >= MIN_IDENTIFIER_CHARS && lowered_password.contains(&identifier)
}

/// Argon2id parameters (defaults: OWASP's m = 19 MiB, t = 2, p = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Password policy and hashing parameters, from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PasswordConfig {
    pub policy: PasswordPolicy,
    pub argon2: Argon2Config,
}

impl PasswordConfig {
    pub const MIN_LENGTH: &'static str = "PASSWORD_MIN_LENGTH";
    pub const MEMORY_KIB: &'static str = "ARGON2_MEMORY_KIB";
    pub const ITERATIONS: &'static str = "ARGON2_ITERATIONS";
    pub const PARALLELISM: &'static str = "ARGON2_PARALLELISM";
    /// Set by Lambda: the function's memory in MB.
    pub const FUNCTION_MEMORY: &'static str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
    /// What the function needs besides the Argon2 memory (binary, runtime, buffers), with a
    /// wide margin over the measured peak (docs/benchmarks.md).
    pub const HEADROOM_MIB: u64 = 64;

    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let number = |name, default: u64, range| -> Result<u32, ConfigError> {
            // The ranges below all fit in u32.
            env.number(name, default, range).map(|n| n as u32)
        };
        let config = Self {
            policy: PasswordPolicy {
                min_chars: number(
                    Self::MIN_LENGTH,
                    defaults.policy.min_chars as u64,
                    SHORTEST_MIN_CHARS as u64..=MAX_CHARS as u64,
                )? as usize,
            },
            argon2: Argon2Config {
                memory_kib: number(
                    Self::MEMORY_KIB,
                    defaults.argon2.memory_kib.into(),
                    8_192..=1_048_576,
                )?,
                iterations: number(Self::ITERATIONS, defaults.argon2.iterations.into(), 1..=16)?,
                parallelism: number(Self::PARALLELISM, defaults.argon2.parallelism.into(), 1..=8)?,
            },
        };
        Hasher::new(config.argon2).map_err(|e| ConfigError::new(Self::MEMORY_KIB, e))?;
        // A hash that does not fit would abort the process at every password operation.
        let function_mb = env.parsed(Self::FUNCTION_MEMORY, None, |raw| {
            raw.parse::<u64>()
                .ok()
                .filter(|mb| (128..=10_240).contains(mb))
                .map(Some)
                .ok_or_else(|| format!("{raw:?} is not a Lambda memory size (128-10240 MB)"))
        })?;
        let memory_kib = u64::from(config.argon2.memory_kib);
        if let Some(function_mb) = function_mb
            && memory_kib.div_ceil(1024) + Self::HEADROOM_MIB > function_mb
        {
            return Err(ConfigError::new(
                Self::MEMORY_KIB,
                format!(
                    "{memory_kib} KiB of Argon2 memory and {} MiB for the rest do not fit in \
                     {} = {function_mb} MB: lower {} or give the function more memory",
                    Self::HEADROOM_MIB,
                    Self::FUNCTION_MEMORY,
                    Self::MEMORY_KIB,
                ),
            ));
        }
        Ok(config)
    }
}

/// Argon2id hashing and verification off the async runtime.
///
/// The Argon2 memory (19 MiB by default) is kept between hashes. Allocating it for every
/// hash costs about a third of the hash (the kernel faults in and zeroes every page), and
/// each blocking-pool thread's malloc arena would keep a copy of its own: a warm function
/// grew to ~300 MB that way (see docs/benchmarks.md).
#[derive(Clone)]
pub struct Hasher {
    argon2: Argon2<'static>,
    /// Block buffers not in use; one per concurrent hash at most.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher")
            .field("params", self.argon2.params())
            .finish()
    }
}

/// Bytes of hash output in the PHC strings we write (the crate's default).
const OUTPUT_LEN: usize = Params::DEFAULT_OUTPUT_LEN;

impl Hasher {
    pub fn new(config: Argon2Config) -> Result<Self, String> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            Some(OUTPUT_LEN),
        )
        .map_err(|e| format!("invalid Argon2 parameters: {e}"))?;
        Ok(Self {
            argon2: Argon2::new(Algorithm::Argon2id, argon2::Version::V0x13, params),
            memory: Arc::default(),
        })
    }

    /// Runs `argon2` over `password` and `salt` into `output`, in kept memory.
    fn compute(
        &self,
        argon2: &Argon2<'_>,
        password: &Password,
        salt: &[u8],
        output: &mut [u8],
    ) -> Result<(), argon2::Error> {
        let mut blocks = self.kept_memory().pop().unwrap_or_default();
        let needed = argon2.params().block_count();
        if blocks.len() < needed {
            // Only the first hash, or a stored hash with more memory than the current default.
            blocks.resize(needed, Block::default());
        }
        let result = argon2.hash_password_into_with_memory(
            password.expose().as_bytes(),
            salt,
            output,
            &mut blocks,
        );
        self.kept_memory().push(blocks);
        result
    }

    fn kept_memory(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Block>>> {
        // A hash that panicked left no buffer half-returned: the list itself is sound.
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hashes synchronously: for tools and the blocking pool.
    pub fn hash_blocking(&self, password: &Password) -> Result<PasswordHashString, ApiError> {
        let failed =
            |e: &dyn fmt::Display| ApiError::internal(format!("argon2 hashing failed: {e}"));
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
        let raw_salt = salt
            .as_salt()
            .decode_b64(&mut salt_bytes)
            .map_err(|e| failed(&e))?;
        let mut output = [0u8; OUTPUT_LEN];
        self.compute(&self.argon2, password, raw_salt, &mut output)
            .map_err(|e| failed(&e))?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(argon2::Version::V0x13.into()),
            params: ParamsString::try_from(self.argon2.params()).map_err(|e| failed(&e))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&output).map_err(|e| failed(&e))?),
        };
        Ok(PasswordHashString(hash.to_string()))
    }

    /// True when `password` matches `hash`, as the crate's `verify_password` decides it
    /// (constant-time comparison of the outputs), but in kept memory. The parameters come
    /// from the PHC string, so hashes made with older parameters still verify.
    pub fn verify_blocking(
        &self,
        password: &Password,
        hash: &PasswordHashString,
    ) -> Result<bool, ApiError> {
        let malformed = |e: &dyn fmt::Display| {
            ApiError::internal(format!("stored password hash is malformed: {e}"))
        };
        let parsed = PasswordHash::new(hash.as_str()).map_err(|e| malformed(&e))?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(malformed(&"no salt or no hash"));
        };
        let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| malformed(&e))?;
        let version = parsed
            .version
            .map(argon2::Version::try_from)
            .transpose()
            .map_err(|e| malformed(&e))?
            .unwrap_or_default();
        let params = Params::try_from(&parsed).map_err(|e| malformed(&e))?;
        let argon2 = Argon2::new(algorithm, version, params);
        let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
        let raw_salt = salt
            .decode_b64(&mut salt_bytes)
            .map_err(|e| malformed(&e))?;
        let mut output = vec![0u8; expected.len()];
        self.compute(&argon2, password, raw_salt, &mut output)
            .map_err(|e| ApiError::internal(format!("argon2 verification failed: {e}")))?;
        let computed = Output::new(&output).map_err(|e| malformed(&e))?;
        // `Output`'s equality is constant-time.
        Ok(computed == expected)
    }

    /// A new PHC string for `password` with this hasher's parameters.
    pub async fn hash(&self, password: Password) -> Result<PasswordHashString, ApiError> {
        let hasher = self.clone();
        tokio::task::spawn_blocking(move || hasher.hash_blocking(&password))
            .await
            .map_err(|e| ApiError::internal(format!("hashing task failed: {e}")))?
    }

    /// True when `password` matches `hash`; see [`Self::verify_blocking`].
    pub async fn verify(
        &self,
        password: Password,
        hash: PasswordHashString,
    ) -> Result<bool, ApiError> {
        let hasher = self.clone();
        tokio::task::spawn_blocking(move || hasher.verify_blocking(&password, &hash))
            .await
            .map_err(|e| ApiError::internal(format!("verification task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGIN: &str = "JohnDoe";
    const EMAIL: &str = "johndoe@mysite.com";

    fn codes(raw: &str, current: Option<&Password>) -> Vec<&'static str> {
        let context = PolicyContext {
            login: LOGIN,
            email: EMAIL,
            current,
        };
        match PasswordPolicy::default().check(raw, context) {
            Ok(_) => Vec::new(),
            Err(ApiError::PasswordPolicy { errors }) => errors.iter().map(|e| e.code).collect(),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn any_unicode_of_the_right_length_is_accepted() {
        for ok in [
            "correct horse battery staple",
            "пароль-который-трудно-угадать",
            "🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀",
            "長い長いパスワードです、覚えやすい",
            "كلمة مرور طويلة جدا للاختبار",
            "   fifteen spaces and words   ",
        ] {
            assert_eq!(codes(ok, None), Vec::<&str>::new(), "{ok}");
        }
    }

    #[test]
    fn length_is_counted_in_code_points_after_nfkc() {
        // 14 crabs are 56 bytes but 14 characters: too short.
        assert_eq!(codes(&"🦀".repeat(14), None), ["too-short"]);
        // "ﬃ" (one code point) is "ffi" (three) under NFKC.
        assert_eq!(codes(&"ﬃ".repeat(5), None), Vec::<&str>::new());
        assert_eq!(codes(&"xy".repeat(129)[..257], None), ["too-long"]);
        // 256 four-byte characters are exactly 1,024 bytes: the longest password there is.
        assert_eq!(codes(&"🦀".repeat(256), None), Vec::<&str>::new());
        // Over both limits, reported once.
        assert_eq!(codes(&"🦀".repeat(257), None), ["too-long"]);
        assert_eq!(codes(&"🦀".repeat(2_000), None), ["too-long"]);
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let found = codes("johndoe\u{7}", None);
        assert!(found.contains(&"too-short"));
        assert!(found.contains(&"control-character"));
        assert!(found.contains(&"contains-login"));
        assert!(found.contains(&"contains-email"));
    }

    #[test]
    fn common_passwords_are_refused_case_insensitively() {
        let policy = PasswordPolicy { min_chars: 8 };
        let context = PolicyContext {
            login: "x",
            email: "",
            current: None,
        };
        for common in [
            "password1",
            "PASSWORD1",
            "Password1",
            "qwertyuiop",
            "iloveyou",
        ] {
            assert!(policy.check(common, context).is_err(), "{common}");
        }
    }

    #[test]
    fn the_current_password_is_compared_in_nfkc() {
        let decomposed = "cafe\u{301} au lait sans sucre";
        let composed = "caf\u{e9} au lait sans sucre";
        let current = Password::normalize(decomposed).unwrap();
        assert_eq!(codes(composed, Some(&current)), ["same-as-current"]);
    }

    #[test]
    fn short_identifiers_are_not_searched() {
        let context = PolicyContext {
            login: "jo",
            email: "ab@x.example",
            current: None,
        };
        assert!(
            PasswordPolicy::default()
                .check("a long jolly password abc", context)
                .is_ok()
        );
    }

    #[tokio::test]
    async fn nfc_and_nfd_forms_hash_and_verify_as_one_password() {
        let hasher = Hasher::new(Argon2Config::default()).unwrap();
        let nfc = Password::normalize("Gr\u{fc}\u{df}e aus K\u{f6}ln am Rhein").unwrap();
        let nfd = Password::normalize("Gru\u{308}\u{df}e aus Ko\u{308}ln am Rhein").unwrap();
        let hash = hasher.hash(nfc.clone()).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify(nfd, hash.clone()).await.unwrap());
        let other = Password::normalize("Grusse aus Koln am Rhein").unwrap();
        assert!(!hasher.verify(other, hash).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_with_older_parameters_still_verify() {
        let old = Hasher::new(Argon2Config {
            memory_kib: 8_192,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        let current = Hasher::new(Argon2Config::default()).unwrap();
        let password = Password::normalize("an old but good passphrase").unwrap();
        let hash = old.hash(password.clone()).await.unwrap();
        assert!(hash.as_str().contains("m=8192,t=1,p=1"));
        assert!(current.verify(password, hash).await.unwrap());
    }

    /// Our hashing in kept memory must agree with the crate's own `PasswordHasher` and
    /// `PasswordVerifier`, both ways, for every variant and parameter set we may meet.
    #[test]
    fn kept_memory_agrees_with_the_crates_own_hashing() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let password = Password::normalize("a passphrase for the interop check").unwrap();
        let ours = Hasher::new(Argon2Config {
            memory_kib: 8_192,
            iterations: 2,
            parallelism: 2,
        })
        .unwrap();
        let mine = ours.hash_blocking(&password).unwrap();
        let parsed = PasswordHash::new(mine.as_str()).unwrap();
        assert!(
            Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok()
        );
        for (algorithm, m, t, p, len) in [
            (Algorithm::Argon2id, 19_456, 2, 1, 32),
            (Algorithm::Argon2id, 9_000, 3, 3, 16),
            (Algorithm::Argon2i, 8_192, 1, 1, 64),
            (Algorithm::Argon2d, 8_192, 1, 1, 32),
        ] {
            let params = Params::new(m, t, p, Some(len)).unwrap();
            let theirs = Argon2::new(algorithm, argon2::Version::V0x13, params)
                .hash_password(
                    password.expose().as_bytes(),
                    &SaltString::generate(&mut OsRng),
                )
                .unwrap()
                .to_string();
            let theirs = PasswordHashString(theirs);
            assert!(
                ours.verify_blocking(&password, &theirs).unwrap(),
                "{algorithm} m={m}"
            );
            let wrong = Password::normalize("a passphrase for the interop chec").unwrap();
            assert!(
                !ours.verify_blocking(&wrong, &theirs).unwrap(),
                "{algorithm} m={m}"
            );
        }
        // Sequential hashes share one buffer, grown to the largest parameters seen.
        let kept = ours.memory.lock().unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].len(), 19_456);
    }

    #[test]
    fn a_malformed_stored_hash_is_an_error_not_a_mismatch() {
        let hasher = Hasher::new(Argon2Config::default()).unwrap();
        let password = Password::normalize("whatever the password is").unwrap();
        for stored in [
            "",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ",
            "$scrypt$ln=1$abc$def",
        ] {
            let stored = PasswordHashString(stored.into());
            assert!(
                hasher.verify_blocking(&password, &stored).is_err(),
                "{stored:?}"
            );
        }
    }

    #[test]
    fn every_listed_password_is_found_and_nothing_else() {
        let lines: Vec<&str> = COMMON_PASSWORDS.lines().collect();
        assert!(lines.len() > 46_000);
        for line in &lines {
            assert!(is_common(line), "{line:?}");
        }
        for absent in [
            "",
            " ",
            "a perfectly fine passphrase",
            "passwor\u{0}",
            "password0000000000",
            "\u{10ffff}",
        ] {
            assert!(!is_common(absent), "{absent:?}");
        }
        // Between every two neighbours there is a string that is not listed.
        for pair in lines.windows(2).step_by(97) {
            assert!(!is_common(&format!("{}\u{0}", pair[0])));
        }
    }

    /// The list is exactly the `passwords` crate's, in the form [`is_common`] expects. The
    /// crate's own data file is found through `cargo metadata`.
    #[test]
    fn the_list_is_the_passwords_crates_list_normalised() {
        let rustc = std::process::Command::new("rustc")
            .arg("-vV")
            .output()
            .unwrap();
        let host = String::from_utf8(rustc.stdout)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
            .unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // Offline, for this platform only: the packages of other platforms may not be here.
        let metadata = std::process::Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--offline"])
            .args(["--filter-platform", &host])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo metadata");
        let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout).unwrap();
        let manifest = metadata["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "passwords")
            .and_then(|p| p["manifest_path"].as_str())
            .expect("the passwords crate (a dev-dependency)");
        let json = std::path::Path::new(manifest)
            .with_file_name("data")
            .join("common-passwords.json");
        let source: Vec<String> =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(source.len(), 99_838);
        let mut expected: Vec<String> = source
            .iter()
            .map(|entry| entry.nfkc().collect::<String>().to_lowercase())
            .filter(|entry| entry.chars().count() >= SHORTEST_MIN_CHARS)
            .collect();
        expected.sort();
        expected.dedup();
        let ours: Vec<&str> = COMMON_PASSWORDS.lines().collect();
        assert_eq!(ours, expected);
        // And the crate agrees that its own entries are common.
        assert!(
            source
                .iter()
                .step_by(101)
                .all(passwords::analyzer::is_common_password)
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let password = Password::normalize("hunter2 hunter2 hunter2").unwrap();
        assert!(!format!("{password:?}").contains("hunter2"));
        let hash = PasswordHashString("$argon2id$v=19$secret".into());
        assert!(!format!("{hash:?}").contains("secret"));
    }

    #[test]
    fn config_is_validated() {
        let vars: &[(&str, &str)] = &[("ARGON2_MEMORY_KIB", "1024")];
        assert_eq!(
            PasswordConfig::load(&Env::new(&vars)).unwrap_err().name,
            "ARGON2_MEMORY_KIB"
        );
        let vars: &[(&str, &str)] = &[("PASSWORD_MIN_LENGTH", "4")];
        assert_eq!(
            PasswordConfig::load(&Env::new(&vars)).unwrap_err().name,
            "PASSWORD_MIN_LENGTH"
        );
        let vars: &[(&str, &str)] = &[];
        assert_eq!(
            PasswordConfig::load(&Env::new(&vars)).unwrap(),
            PasswordConfig::default()
        );
    }

    #[test]
    fn argon2_memory_must_fit_in_the_function_with_headroom() {
        let fits: &[(&str, &str)] = &[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")];
        assert!(
            PasswordConfig::load(&Env::new(&fits)).is_ok(),
            "19 MiB + 64 in 128"
        );
        let too_big: &[(&str, &str)] = &[
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
            ("ARGON2_MEMORY_KIB", "462848"),
        ];
        let err = PasswordConfig::load(&Env::new(&too_big)).unwrap_err();
        assert_eq!(err.name, "ARGON2_MEMORY_KIB");
        assert!(
            err.problem
                .contains("AWS_LAMBDA_FUNCTION_MEMORY_SIZE = 512 MB"),
            "{err}"
        );
        let just: &[(&str, &str)] = &[
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
            ("ARGON2_MEMORY_KIB", "458752"),
        ];
        assert!(
            PasswordConfig::load(&Env::new(&just)).is_ok(),
            "448 MiB + 64 in 512"
        );
        let malformed: &[(&str, &str)] = &[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots")];
        assert_eq!(
            PasswordConfig::load(&Env::new(&malformed))
                .unwrap_err()
                .name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
        );
    }
}
