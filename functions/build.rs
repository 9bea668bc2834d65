//! The build script of every function and of the benchmark's baseline (each `Cargo.toml`
//! names it): release binaries for
//! Linux are linked without `.eh_frame` and `.eh_frame_hdr`, the unwind tables (what
//! that saves: docs/performance.md, "No unwind tables in release binaries").
//!
//! Nothing in them reads those tables: the release profile aborts on panic instead of
//! unwinding, and it strips the symbols, so a backtrace would be a list of bare addresses.
//! Without the tables a panic still prints its message and aborts; `RUST_BACKTRACE` then
//! prints no frames. Tests and debug builds unwind, so they keep their tables.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Every package that names this script (the functions, the benchmark's baseline) has a
    // Cargo.toml beside it; an edit of this file rebuilds the script, and so reruns it.
    println!("cargo::rerun-if-changed=Cargo.toml");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    // `PROFILE` is "release" for `--release`, whose `panic = "abort"` (Cargo.toml) is what
    // makes the tables dead; CARGO_CFG_PANIC cannot tell, it reads "unwind" under either.
    if var("PROFILE") != "release" || var("CARGO_CFG_TARGET_OS") != "linux" {
        return Ok(());
    }
    // An INSERT script adds to the linker's default layout (GNU ld and lld alike) instead
    // of replacing it.
    let script = PathBuf::from(var("OUT_DIR")).join("no-unwind-tables.ld");
    std::fs::write(
        &script,
        "SECTIONS { /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) } } INSERT AFTER .text;\n",
    )?;
    println!("cargo::rustc-link-arg-bins=-Wl,--no-eh-frame-hdr");
    println!("cargo::rustc-link-arg-bins=-Wl,-T,{}", script.display());
    Ok(())
}
