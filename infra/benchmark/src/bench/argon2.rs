//! One Argon2id hash with the default parameters, in CPU time on the hashing thread: ours as
//! shipped (the `password_hash_cpu_time` metric that change-password writes for each
//! administrative reset), ours in this process, and the C implementations: the reference
//! implementation built on this machine with its optimised code path
//! (`infra/argon2_native.c`, built by infra/bench.sh), libsodium and libargon2 (through
//! PyPI's pynacl and argon2-cffi, `infra/argon2_reference.py`), in alternating rounds of the
//! same run.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use shared::metrics::ThreadCpuClock;
use shared::metrics::names::PASSWORD_HASH_CPU_TIME;
use shared::password::{Argon2Config, Hasher, Password};

use super::workload::Op;
use super::{Bench, TIMEOUT};
use crate::runtime_api::RuntimeApi;

/// CPU milliseconds per hash, by implementation, in the order of the report.
pub struct Argon2Figures {
    pub rows: Vec<(&'static str, Vec<f64>)>,
}

pub const SHIPPED: &str = "ours, in change-password (the shipped binary; its metric)";
pub const OURS: &str = "ours in this process: Hasher::hash (argon2-rust, PHC string)";
pub const RAW: &str =
    "RustCrypto argon2 0.5, used before: hash_password_into (new blocks each call)";
pub const KEPT: &str =
    "RustCrypto argon2 0.5, used before: hash_password_into_with_memory (kept blocks)";
pub const NATIVE: &str = "reference C (phc-winner-argon2), built here -O3 -march=native";
pub const NATIVE_AVX2: &str = "reference C, built here -O3 -march=native -mno-avx512f";
pub const LIBSODIUM: &str = "libsodium (pynacl wheel)";
pub const LIBARGON2: &str = "libargon2 (argon2-cffi wheel)";
/// The C implementations the target is measured against: the fastest of them, provided
/// one built here has a figure (the wheels alone are not the reference).
pub const REFERENCES: [&str; 4] = [NATIVE, NATIVE_AVX2, LIBSODIUM, LIBARGON2];
pub const BUILT_HERE: [&str; 2] = [NATIVE, NATIVE_AVX2];

const PASSWORD: &str = "benchmark passphrase number 1 of a chain";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../argon2_reference.py");

/// A process that hashes a count of times per line it reads and answers a JSON line.
struct Reference {
    child: Child,
    to: ChildStdin,
    from: BufReader<std::process::ChildStdout>,
    what: String,
}

impl Reference {
    fn start(mut command: Command, what: String) -> Result<Self, String> {
        let config = Argon2Config::default();
        let mut child = command
            .env("ARGON2_MEMORY_KIB", config.memory_kib.to_string())
            .env("ARGON2_ITERATIONS", config.iterations.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{what}: {e}"))?;
        let to = child.stdin.take().ok_or("no stdin")?;
        let from = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut reference = Self {
            child,
            to,
            from,
            what,
        };
        reference.answer()?;
        Ok(reference)
    }

    fn answer(&mut self) -> Result<serde_json::Value, String> {
        let mut line = String::new();
        self.from.read_line(&mut line).map_err(|e| e.to_string())?;
        serde_json::from_str(&line).map_err(|_| format!("{} failed: {line:?}", self.what))
    }

    /// `count` hashes by each implementation the process has: their CPU milliseconds, by
    /// the implementation's key in the answer (`count` of each, or an error).
    fn hash(&mut self, count: usize, keys: &[&str]) -> Result<Vec<Vec<f64>>, String> {
        writeln!(self.to, "{count}").map_err(|e| e.to_string())?;
        let answer = self.answer()?;
        keys.iter()
            .map(|key| {
                let times = numbers(&answer[*key]);
                if times.len() == count {
                    Ok(times)
                } else {
                    Err(format!(
                        "{}: {} times of {key} for {count}",
                        self.what,
                        times.len()
                    ))
                }
            })
            .collect()
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn numbers(value: &serde_json::Value) -> Vec<f64> {
    match value {
        serde_json::Value::Array(values) => values.iter().filter_map(|v| v.as_f64()).collect(),
        value => value.as_f64().into_iter().collect(),
    }
}

/// The hash times that change-password wrote as its metric, in order, from its output.
fn shipped_hash_times(output: &str) -> Result<Vec<f64>, String> {
    Ok(testkit::logs::emf_documents(output)?
        .iter()
        .flat_map(|document| numbers(&document[PASSWORD_HASH_CPU_TIME]))
        .collect())
}

pub async fn compare(
    bench: &mut Bench<'_>,
    rounds: usize,
    per_round: usize,
) -> Result<Argon2Figures, String> {
    let config = Argon2Config::default();
    let hasher = Hasher::new(config)?;
    let password = Password::normalize(PASSWORD).ok_or("benchmark password too long")?;
    let params = Params::new(
        config.memory_kib,
        config.iterations,
        config.parallelism,
        Some(32),
    )
    .map_err(|e| e.to_string())?;
    let raw = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut blocks = vec![Block::default(); params.block_count()];
    let mut output = [0u8; 32];

    let mut python = Reference::start(
        {
            let mut command = Command::new("python3");
            command.arg(SCRIPT);
            command
        },
        format!("python3 {SCRIPT} (are pynacl and argon2-cffi installed?)"),
    )?;
    // infra/bench.sh builds them; without either, their rows have no figures, and the
    // report judges the target missed (the wheels alone are not the reference).
    let mut native = Vec::new();
    for variable in ["ARGON2_NATIVE", "ARGON2_NATIVE_AVX2"] {
        native.push(match std::env::var(variable) {
            Ok(path) => Some(Reference::start(Command::new(&path), path)?),
            Err(_) => None,
        });
    }

    // change-password as deployed, its output (the EMF documents) kept in a file.
    let log_path = std::env::temp_dir().join(format!("bench-argon2-{}.log", std::process::id()));
    let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let api = RuntimeApi::start()?;
    let process = bench.spawn_logging("change-password", &api, log)?;
    api.next_poll(TIMEOUT)?;

    let mut rows: Vec<(&'static str, Vec<f64>)> = [
        SHIPPED,
        OURS,
        RAW,
        KEPT,
        NATIVE,
        NATIVE_AVX2,
        LIBSODIUM,
        LIBARGON2,
    ]
    .into_iter()
    .map(|name| (name, Vec::new()))
    .collect();
    let salt = *b"0123456789abcdef";
    let mut resets = 0;
    // Round 0 is a warm-up (page faults, lazy initialisation) and is not reported.
    for round in 0..=rounds {
        let count = if round == 0 { 1 } else { per_round };
        for _ in 0..count {
            let event = bench.workload.event(Op::PasswordAdmin).await?;
            let answer = api.invoke(event, TIMEOUT)?;
            bench.workload.observe(Op::PasswordAdmin, &answer)?;
            api.next_poll(TIMEOUT)?;
            resets += 1;
        }
        let mut ours = Vec::new();
        let mut fresh = Vec::new();
        let mut kept = Vec::new();
        for _ in 0..count {
            ours.push(cpu_ms(|| {
                hasher
                    .hash_blocking(&password)
                    .map(drop)
                    .map_err(|e| e.to_string())
            })?);
            fresh.push(cpu_ms(|| {
                raw.hash_password_into(PASSWORD.as_bytes(), &salt, &mut output)
                    .map_err(|e| e.to_string())
            })?);
            kept.push(cpu_ms(|| {
                raw.hash_password_into_with_memory(
                    PASSWORD.as_bytes(),
                    &salt,
                    &mut output,
                    &mut blocks,
                )
                .map_err(|e| e.to_string())
            })?);
        }
        let mut built_here = Vec::new();
        for reference in native.iter_mut() {
            built_here.push(match reference {
                Some(reference) => reference.hash(count, &["cpu_ms"])?.remove(0),
                None => Vec::new(),
            });
        }
        let mut wheels = python.hash(count, &["libsodium", "argon2-cffi"])?;
        let (libargon2, libsodium) = (wheels.remove(1), wheels.remove(0));
        if round > 0 {
            let mut built_here = built_here.into_iter();
            for (row, times) in rows.iter_mut().skip(1).zip([
                ours,
                fresh,
                kept,
                built_here.next().unwrap_or_default(),
                built_here.next().unwrap_or_default(),
                libsodium,
                libargon2,
            ]) {
                row.1.extend(times);
            }
        }
    }
    process.stop()?;
    let output =
        std::fs::read_to_string(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let _ = std::fs::remove_file(&log_path);
    let shipped = shipped_hash_times(&output)?;
    if shipped.len() != resets {
        return Err(format!(
            "change-password wrote {} hash times for {resets} resets",
            shipped.len()
        ));
    }
    // The first was the warm-up round's.
    rows[0].1.extend(&shipped[1..]);
    Ok(Argon2Figures { rows })
}

/// CPU milliseconds that `f` took on this thread.
fn cpu_ms(f: impl FnOnce() -> Result<(), String>) -> Result<f64, String> {
    let clock = ThreadCpuClock::start();
    f()?;
    let cpu = clock
        .elapsed()
        .ok_or("the thread's CPU clock cannot be read")?;
    Ok(cpu.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_hash_times_are_read_from_the_emf_documents_in_order() {
        let output = format!(
            "{{\"level\":\"INFO\",\"message\":\"password set\"}}\n\
             {{\"_aws\":{{}},\"function\":\"change-password\",\"{PASSWORD_HASH_CPU_TIME}\":14.5}}\n\
             {{\"_aws\":{{}},\"function\":\"change-password\",\"responses\":1}}\n\
             {{\"_aws\":{{}},\"{PASSWORD_HASH_CPU_TIME}\":[15.25]}}\n"
        );
        assert_eq!(shipped_hash_times(&output), Ok(vec![14.5, 15.25]));
    }
}
