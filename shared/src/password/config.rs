//! The password policy's and Argon2's settings, from the environment.

use super::{Hasher, MAX_CHARS, PasswordPolicy, SHORTEST_MIN_CHARS};
use crate::config::{ConfigError, Env, var};

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
                    var::PASSWORD_MIN_LENGTH,
                    defaults.policy.min_chars as u64,
                    SHORTEST_MIN_CHARS as u64..=MAX_CHARS as u64,
                )? as usize,
            },
            argon2: Argon2Config {
                memory_kib: number(
                    var::ARGON2_MEMORY_KIB,
                    defaults.argon2.memory_kib.into(),
                    8_192..=1_048_576,
                )?,
                iterations: number(
                    var::ARGON2_ITERATIONS,
                    defaults.argon2.iterations.into(),
                    1..=16,
                )?,
                parallelism: number(
                    var::ARGON2_PARALLELISM,
                    defaults.argon2.parallelism.into(),
                    1..=8,
                )?,
            },
        };
        Hasher::new(config.argon2).map_err(|e| ConfigError::new(var::ARGON2_MEMORY_KIB, e))?;
        // A hash that does not fit would abort the process at every password operation.
        let function_mb = env.parsed(var::AWS_LAMBDA_FUNCTION_MEMORY_SIZE, None, |raw| {
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
                var::ARGON2_MEMORY_KIB,
                format!(
                    "{memory_kib} KiB of Argon2 memory and {} MiB for the rest do not fit in \
                     {} = {function_mb} MB: lower {} or give the function more memory",
                    Self::HEADROOM_MIB,
                    var::AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
                    var::ARGON2_MEMORY_KIB,
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
