//! Argon2id hashing and verification in kept memory, off the async runtime.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use argon2_rust::params::{Memory, TagLen};
use argon2_rust::{Algorithm, Argon2, Params, Version};

use super::config::{MAX_ITERATIONS, MAX_PARALLELISM};
use super::{Argon2Config, Password, PasswordHashString};
use crate::error::ApiError;
use crate::metrics::{self, ThreadCpuClock, names};

/// Argon2id hashing and verification off the async runtime.
///
/// The `argon2-rust` crate picks its SIMD code at run time (AVX-512, AVX2, SSE2 or NEON);
/// its output is the reference implementation's, bit for bit, and the tests check every
/// string against RustCrypto's `argon2` both ways. The Argon2 memory (19 MiB by default) is
/// kept between hashes, in the crate's own [`argon2_rust::Hasher`], which wipes it after
/// each one. Allocating it for every hash makes the kernel fault in and zero every page of
/// it (the figures: docs/benchmarks.md).
#[derive(Clone)]
pub struct Hasher {
    argon2: Argon2,
    /// The most memory a stored hash may ask of a verification (see [`Argon2Config`]).
    max_memory_kib: u32,
    /// Kept memory not in use; one per concurrent hash at most.
    kept: Arc<Mutex<Vec<argon2_rust::Hasher>>>,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher")
            .field("argon2", &self.argon2)
            .finish()
    }
}

/// Bytes of hash output in the PHC strings we write.
const OUTPUT_LEN: u64 = 32;

impl Hasher {
    pub fn new(config: Argon2Config) -> Result<Self, String> {
        let params = Params::builder()
            .memory(Memory::kib(config.memory_kib.into()))
            .passes(config.iterations)
            .lanes(config.parallelism)
            .tag_len(TagLen::bytes(OUTPUT_LEN))
            .build()
            .map_err(|e| format!("invalid Argon2 parameters: {e}"))?;
        Ok(Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            max_memory_kib: config.max_memory_kib.max(config.memory_kib),
            kept: Arc::default(),
        })
    }

    /// Runs `work` in kept memory, with `argon2`'s parameters. A stored hash that asks for
    /// more memory than this hasher's own parameters gets memory of its own, freed after
    /// it, so that one such hash cannot keep up to the ceiling's memory in a warm function.
    fn in_kept_memory<R>(
        &self,
        argon2: Argon2,
        work: impl FnOnce(&mut argon2_rust::Hasher) -> R,
    ) -> R {
        if argon2.params().memory_blocks() > self.argon2.params().memory_blocks() {
            return work(&mut argon2.hasher());
        }
        let mut hasher = self.kept().pop().unwrap_or_else(|| argon2.hasher());
        hasher.set_argon2(argon2);
        let result = work(&mut hasher);
        self.kept().push(hasher);
        result
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Vec<argon2_rust::Hasher>> {
        // A hash that panicked left no memory half-returned: the list itself is sound.
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hashes synchronously, with a new random salt of 16 bytes: for tools and the blocking
    /// pool.
    pub fn hash_blocking(&self, password: &Password) -> Result<PasswordHashString, ApiError> {
        self.in_kept_memory(self.argon2, |hasher| {
            hasher.hash_password_with_random_salt(password.expose().as_bytes())
        })
        .map(PasswordHashString)
        .map_err(|e| ApiError::internal(format!("argon2 hashing failed: {e}")))
    }

    /// True when `password` matches `hash` (the outputs compared in constant time), in kept
    /// memory. The parameters come from the PHC string, so hashes made with older
    /// parameters, or by another Argon2 implementation, still verify.
    pub(crate) fn verify_blocking(
        &self,
        password: &Password,
        hash: &PasswordHashString,
    ) -> Result<bool, ApiError> {
        let malformed = |e: &dyn fmt::Display| {
            ApiError::internal(format!("stored password hash is malformed: {e}"))
        };
        let stored = argon2_rust::decode_phc(hash.as_str()).map_err(|e| malformed(&e))?;
        if !stored.ad.is_empty() {
            // Never written by us; honouring it would verify what we cannot produce.
            return Err(malformed(&"associated data (data=) is not supported"));
        }
        self.within_ceiling(&stored.params)?;
        let argon2 = Argon2::new(stored.algorithm, stored.version, stored.params);
        let verified = self.in_kept_memory(argon2, |hasher| {
            hasher.verify(password.expose().as_bytes(), &stored.salt, &stored.hash)
        });
        match verified {
            Ok(()) => Ok(true),
            Err(argon2_rust::Error::VerifyMismatch) => Ok(false),
            Err(e) => Err(ApiError::internal(format!(
                "argon2 verification failed: {e}"
            ))),
        }
    }

    /// Refuses a stored hash whose parameters exceed the ceiling, before any memory is
    /// taken: a 500 (the stored data is wrong, not the request), logged and counted.
    fn within_ceiling(&self, params: &Params) -> Result<(), ApiError> {
        let (m, t, p) = (params.memory_kib(), params.passes(), params.lanes());
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

    /// Our hashing must agree with RustCrypto's `argon2` both ways, for every variant and
    /// parameter set we may meet: the stored hashes of earlier releases were written by it.
    #[test]
    fn hashes_agree_with_rustcryptos_argon2_both_ways() {
        use argon2::password_hash::rand_core::OsRng;
        use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
        let password = Password::normalize("a passphrase for the interop check").unwrap();
        let wrong = Password::normalize("a passphrase for the interop chec").unwrap();
        let ours = Hasher::new(Argon2Config {
            memory_kib: 8_192,
            iterations: 2,
            parallelism: 2,
            ..Argon2Config::default()
        })
        .unwrap();
        let mine = ours.hash_blocking(&password).unwrap();
        assert!(mine.as_str().starts_with("$argon2id$v=19$m=8192,t=2,p=2$"));
        let parsed = PasswordHash::new(mine.as_str()).unwrap();
        let theirs = argon2::Argon2::default();
        assert!(
            theirs
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok()
        );
        assert!(
            theirs
                .verify_password(wrong.expose().as_bytes(), &parsed)
                .is_err()
        );
        for (algorithm, m, t, p, len) in [
            (argon2::Algorithm::Argon2id, 19_456, 2, 1, 32),
            (argon2::Algorithm::Argon2id, 9_000, 3, 3, 16),
            (argon2::Algorithm::Argon2i, 8_192, 1, 1, 64),
            (argon2::Algorithm::Argon2d, 8_192, 1, 1, 32),
        ] {
            let params = argon2::Params::new(m, t, p, Some(len)).unwrap();
            let theirs = argon2::Argon2::new(algorithm, argon2::Version::V0x13, params)
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
            assert!(
                !ours.verify_blocking(&wrong, &theirs).unwrap(),
                "{algorithm} m={m}"
            );
        }
        // Sequential hashes share one memory, of this hasher's own size: the stored hashes
        // that asked for more had memory of their own.
        let kept = ours.kept.lock().unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].reserved_blocks(), 8_192);
    }

    /// A string without `v=` is version 16, as the C reference reads it: one written with
    /// version 16 verifies, and a version 19 one stripped of its `v=19` does not.
    #[test]
    fn a_hash_without_a_version_is_read_as_version_16() {
        use argon2::password_hash::rand_core::OsRng;
        use argon2::password_hash::{PasswordHasher, SaltString};
        let password = Password::normalize("a passphrase for the version check").unwrap();
        let ours = Hasher::new(Argon2Config::default()).unwrap();
        let params = argon2::Params::new(8_192, 1, 1, Some(32)).unwrap();
        for (version, verifies) in [
            (argon2::Version::V0x10, true),
            (argon2::Version::V0x13, false),
        ] {
            let theirs = argon2::Argon2::new(argon2::Algorithm::Argon2id, version, params.clone())
                .hash_password(
                    password.expose().as_bytes(),
                    &SaltString::generate(&mut OsRng),
                )
                .unwrap()
                .to_string();
            let stripped = theirs.replace("$v=16$", "$").replace("$v=19$", "$");
            assert!(!stripped.contains("v="), "{theirs}");
            let stored = PasswordHashString(theirs);
            assert!(
                ours.verify_blocking(&password, &stored).unwrap(),
                "{version:?}"
            );
            let stripped = PasswordHashString(stripped);
            assert_eq!(
                ours.verify_blocking(&password, &stripped).unwrap(),
                verifies,
                "{version:?}"
            );
        }
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
        // Nothing was allocated for the refused ones.
        assert!(hasher.kept.lock().unwrap().is_empty());
        // At the ceiling it is computed (and does not match).
        let at_ceiling =
            PasswordHashString(format!("$argon2id$v=19$m=65536,t=1,p=1${salt_and_hash}"));
        assert!(!hasher.verify_blocking(&password, &at_ceiling).unwrap());
        // In memory of its own, not kept: more than the hasher's own parameters.
        assert!(hasher.kept.lock().unwrap().is_empty());
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
        // Associated data, which we never write, is refused as such.
        let with_data = PasswordHashString(
            "$argon2id$v=19$m=8192,t=1,p=1,data=YWQ$c2FsdHNhbHQ$9mD+2Ph6vbrP5LSKKC8h3nONsV4EWxOi1YBY4z2wqYE"
                .into(),
        );
        let error = hasher.verify_blocking(&password, &with_data).unwrap_err();
        assert!(error.to_string().contains("associated data"), "{error}");
    }
}
