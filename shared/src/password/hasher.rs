//! Argon2id hashing and verification in kept memory, off the async runtime.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params};

use super::config::{MAX_ITERATIONS, MAX_PARALLELISM};
use super::{Argon2Config, Password, PasswordHashString};
use crate::error::ApiError;
use crate::metrics::{self, ThreadCpuClock, names};

/// Argon2id hashing and verification off the async runtime.
///
/// The Argon2 memory (19 MiB by default) is kept between hashes. Allocating it for every
/// hash makes the kernel fault in and zero every page of it, and each blocking-pool
/// thread's malloc arena would keep a copy of its own, so a warm function would grow by a
/// hash's memory per thread (the figures: docs/benchmarks.md).
#[derive(Clone)]
pub struct Hasher {
    argon2: Argon2<'static>,
    /// The most memory a stored hash may ask of a verification (see [`Argon2Config`]).
    max_memory_kib: u32,
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
            max_memory_kib: config.max_memory_kib.max(config.memory_kib),
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
    pub(crate) fn verify_blocking(
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
        self.within_ceiling(&params)?;
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

    /// Refuses a stored hash whose parameters exceed the ceiling, before any memory is
    /// taken: a 500 (the stored data is wrong, not the request), logged and counted.
    fn within_ceiling(&self, params: &Params) -> Result<(), ApiError> {
        let (m, t, p) = (params.m_cost(), params.t_cost(), params.p_cost());
        if m <= self.max_memory_kib && t <= MAX_ITERATIONS && p <= MAX_PARALLELISM {
            return Ok(());
        }
        metrics::count(names::PASSWORD_HASHES_REFUSED, 1);
        Err(ApiError::internal(format!(
            "a stored password hash asks for m={m} KiB, t={t}, p={p}, beyond the ceiling \
             (m <= {} KiB, t <= {MAX_ITERATIONS}, p <= {MAX_PARALLELISM}): not verified",
            self.max_memory_kib
        )))
    }

    /// A new PHC string for `password` with this hasher's parameters.
    pub async fn hash(&self, password: Password) -> Result<PasswordHashString, ApiError> {
        let hasher = self.clone();
        let started = Instant::now();
        let (hash, cpu) = tokio::task::spawn_blocking(move || {
            let cpu = ThreadCpuClock::start();
            let hash = hasher.hash_blocking(&password);
            (hash, cpu.elapsed())
        })
        .await
        .map_err(|e| ApiError::internal(format!("hashing task failed: {e}")))?;
        metrics::timed(names::PASSWORD_HASHES, names::PASSWORD_HASH_TIME, started);
        metrics::cpu_time(names::PASSWORD_HASH_CPU_TIME, cpu);
        hash
    }

    /// True when `password` matches `hash`; see [`Self::verify_blocking`].
    pub async fn verify(
        &self,
        password: Password,
        hash: PasswordHashString,
    ) -> Result<bool, ApiError> {
        let hasher = self.clone();
        let started = Instant::now();
        let verified =
            tokio::task::spawn_blocking(move || hasher.verify_blocking(&password, &hash))
                .await
                .map_err(|e| ApiError::internal(format!("verification task failed: {e}")))?;
        metrics::timed(
            names::PASSWORD_VERIFICATIONS,
            names::PASSWORD_VERIFICATION_TIME,
            started,
        );
        verified
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ..Argon2Config::default()
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
            ..Argon2Config::default()
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

    /// A stored hash that asks for more than the ceiling is refused before its memory is
    /// taken: an error (a logged 500), never an abort, a long computation or a mismatch.
    #[test]
    fn stored_parameters_beyond_the_ceiling_are_refused_unverified() {
        let hasher = Hasher::new(Argon2Config::default()).unwrap();
        let password = Password::normalize("whatever the password is").unwrap();
        let salt_and_hash = "c2FsdHNhbHRzYWx0$9mD+2Ph6vbrP5LSKKC8h3nONsV4EWxOi1YBY4z2wqYE";
        for params in [
            "m=4294967295,t=2,p=1",
            "m=65537,t=2,p=1",
            "m=19456,t=4294967295,p=1",
            "m=19456,t=17,p=1",
            "m=19456,t=2,p=9",
        ] {
            let stored = PasswordHashString(format!("$argon2id$v=19${params}${salt_and_hash}"));
            let error = hasher.verify_blocking(&password, &stored).unwrap_err();
            assert_eq!(error.status(), 500, "{params}");
            assert!(
                error.to_string().contains("beyond the ceiling"),
                "{params}: {error}"
            );
        }
        // At the ceiling it is computed (and does not match).
        let at_ceiling =
            PasswordHashString(format!("$argon2id$v=19$m=65536,t=1,p=1${salt_and_hash}"));
        assert!(!hasher.verify_blocking(&password, &at_ceiling).unwrap());
        // Nothing was allocated for the refused ones beyond the ceiling.
        assert!(hasher.memory.lock().unwrap()[0].len() <= 65_536);
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
}
