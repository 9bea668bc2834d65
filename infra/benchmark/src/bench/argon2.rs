//! One Argon2id hash with the default parameters: our code against libsodium and libargon2
//! (through PyPI's pynacl and argon2-cffi, `infra/argon2_reference.py`), in alternating
//! rounds of the same run, timing only the hash.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use shared::password::{Argon2Config, Hasher, Password};

/// Milliseconds per hash, by implementation, in the order of the report.
pub struct Argon2Figures {
    pub rows: Vec<(&'static str, Vec<f64>)>,
}

pub const OURS: &str = "ours: Hasher::hash (argon2 crate, PHC string)";
pub const RAW: &str = "argon2 crate, hash_password_into (new blocks each call)";
pub const KEPT: &str = "argon2 crate, hash_password_into_with_memory (kept blocks)";
pub const LIBSODIUM: &str = "libsodium (pynacl)";
pub const LIBARGON2: &str = "libargon2 (argon2-cffi)";
/// The C implementations the target is measured against.
pub const REFERENCES: [&str; 2] = [LIBSODIUM, LIBARGON2];

const PASSWORD: &str = "benchmark passphrase number 1 of a chain";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../argon2_reference.py");

pub fn compare(rounds: usize, per_round: usize) -> Result<Argon2Figures, String> {
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

    let mut python = Command::new("python3")
        .arg(SCRIPT)
        .env("ARGON2_MEMORY_KIB", config.memory_kib.to_string())
        .env("ARGON2_ITERATIONS", config.iterations.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("python3 {SCRIPT}: {e}"))?;
    let mut to_python = python.stdin.take().ok_or("no stdin")?;
    let mut from_python = BufReader::new(python.stdout.take().ok_or("no stdout")?);
    let mut read_line = || -> Result<serde_json::Value, String> {
        let mut line = String::new();
        from_python
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        serde_json::from_str(&line).map_err(|_| {
            format!("{SCRIPT} failed (are pynacl and argon2-cffi installed?): {line:?}")
        })
    };
    read_line()?;

    let mut rows: Vec<(&'static str, Vec<f64>)> = [OURS, RAW, KEPT, LIBSODIUM, LIBARGON2]
        .into_iter()
        .map(|name| (name, Vec::new()))
        .collect();
    let salt = *b"0123456789abcdef";
    // Round 0 is a warm-up (page faults, lazy initialisation) and is not reported.
    for round in 0..=rounds {
        let count = if round == 0 { 1 } else { per_round };
        let mut ours = Vec::new();
        let mut fresh = Vec::new();
        let mut kept = Vec::new();
        for _ in 0..count {
            ours.push(timed(|| {
                hasher
                    .hash_blocking(&password)
                    .map(drop)
                    .map_err(|e| e.to_string())
            })?);
            fresh.push(timed(|| {
                raw.hash_password_into(PASSWORD.as_bytes(), &salt, &mut output)
                    .map_err(|e| e.to_string())
            })?);
            kept.push(timed(|| {
                raw.hash_password_into_with_memory(
                    PASSWORD.as_bytes(),
                    &salt,
                    &mut output,
                    &mut blocks,
                )
                .map_err(|e| e.to_string())
            })?);
        }
        writeln!(to_python, "{count}").map_err(|e| e.to_string())?;
        let reference = read_line()?;
        let from_python = |key: &str| -> Vec<f64> {
            reference[key]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
                .unwrap_or_default()
        };
        if round > 0 {
            for (row, times) in rows.iter_mut().zip([
                ours,
                fresh,
                kept,
                from_python("libsodium"),
                from_python("argon2-cffi"),
            ]) {
                row.1.extend(times);
            }
        }
    }
    drop(to_python);
    let _ = python.wait();
    Ok(Argon2Figures { rows })
}

/// Milliseconds that `f` took.
fn timed(f: impl FnOnce() -> Result<(), String>) -> Result<f64, String> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed().as_secs_f64() * 1000.0)
}
