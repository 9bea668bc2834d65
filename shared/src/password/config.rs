//! The password policy's and Argon2's settings, from the environment.

use super::{Hasher, MAX_CHARS, PasswordPolicy, SHORTEST_MIN_CHARS};
use crate::config::{ConfigError, Env, var};

/// Argon2id parameters (defaults: OWASP's m = 19 MiB, t = 2, p = 1), and the most memory a
/// stored hash may ask of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Stored PHC strings name their own parameters; one that asks for more memory than
    /// this (or more than [`MAX_ITERATIONS`] passes or [`MAX_PARALLELISM`] lanes) is refused
    /// with a 500 instead of being computed, so that a corrupt or planted hash cannot abort
    /// the process (an allocation beyond the function's memory) or hold it for minutes.
    pub max_memory_kib: u32,
}

/// The most passes and lanes configured or accepted from a stored hash.
pub(crate) const MAX_ITERATIONS: u32 = 16;
pub(crate) const MAX_PARALLELISM: u32 = 8;

/// The default ceiling of a stored hash's memory: 64 MiB, room for stronger parameters
/// later, and with the headroom exactly the smallest Lambda (128 MB).
const DEFAULT_MAX_MEMORY_KIB: u32 = 65_536;

impl Default for Argon2Config {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            max_memory_kib: DEFAULT_MAX_MEMORY_KIB,
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
    /// What the function needs besides the Argon2 memory (binary, runtime, buffers), with a
    /// wide margin over the measured peak (docs/benchmarks.md).
    pub(crate) const HEADROOM_MIB: u64 = 64;

    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let number = |name, default: u64, range| -> Result<u32, ConfigError> {
            // The ranges below all fit in u32.
            env.number(name, default, range).map(|n| n as u32)
        };
        let memory_kib = number(
            var::ARGON2_MEMORY_KIB,
            defaults.argon2.memory_kib.into(),
            8_192..=1_048_576,
        )?;
        let config = Self {
            policy: PasswordPolicy {
                min_chars: number(
                    var::PASSWORD_MIN_LENGTH,
                    defaults.policy.min_chars as u64,
                    SHORTEST_MIN_CHARS as u64..=MAX_CHARS as u64,
                )? as usize,
            },
            argon2: Argon2Config {
                memory_kib,
                iterations: number(
                    var::ARGON2_ITERATIONS,
                    defaults.argon2.iterations.into(),
                    1..=MAX_ITERATIONS.into(),
                )?,
                parallelism: number(
                    var::ARGON2_PARALLELISM,
                    defaults.argon2.parallelism.into(),
                    1..=MAX_PARALLELISM.into(),
                )?,
                // Never below the memory this function hashes with itself.
                max_memory_kib: number(
                    var::ARGON2_MAX_MEMORY_KIB,
                    DEFAULT_MAX_MEMORY_KIB.max(memory_kib).into(),
                    u64::from(memory_kib)..=1_048_576,
                )?,
            },
        };
        Hasher::new(config.argon2).map_err(|e| ConfigError::new(var::ARGON2_MEMORY_KIB, e))?;
        // A hash that does not fit would abort the process at every password operation: the
        // largest a stored hash may ask for must fit.
        let function_mb = env.parsed(var::AWS_LAMBDA_FUNCTION_MEMORY_SIZE, None, |raw| {
            raw.parse::<u64>()
                .ok()
                .filter(|mb| (128..=10_240).contains(mb))
                .map(Some)
                .ok_or_else(|| format!("{raw:?} is not a Lambda memory size (128-10240 MB)"))
        })?;
        let memory_kib = u64::from(config.argon2.max_memory_kib);
        if let Some(function_mb) = function_mb
            && memory_kib.div_ceil(1024) + Self::HEADROOM_MIB > function_mb
        {
            // Name the variable the operator set (the ceiling follows the memory by default).
            let name = if env.optional(var::ARGON2_MAX_MEMORY_KIB).is_some() {
                var::ARGON2_MAX_MEMORY_KIB
            } else {
                var::ARGON2_MEMORY_KIB
            };
            return Err(ConfigError::new(
                name,
                format!(
                    "{memory_kib} KiB of Argon2 memory and {} MiB for the rest do not fit in \
                     {} = {function_mb} MB: lower {name} or give the function more memory",
                    Self::HEADROOM_MIB,
                    var::AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
                ),
            ));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let ceiling_too_big: &[(&str, &str)] = &[
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("ARGON2_MAX_MEMORY_KIB", "131072"),
        ];
        let err = PasswordConfig::load(&Env::new(&ceiling_too_big)).unwrap_err();
        assert_eq!(err.name, "ARGON2_MAX_MEMORY_KIB");
        let below_memory: &[(&str, &str)] = &[
            ("ARGON2_MEMORY_KIB", "65536"),
            ("ARGON2_MAX_MEMORY_KIB", "19456"),
        ];
        let err = PasswordConfig::load(&Env::new(&below_memory)).unwrap_err();
        assert_eq!(err.name, "ARGON2_MAX_MEMORY_KIB");
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
