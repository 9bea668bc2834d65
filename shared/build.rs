//! Compiles `data/common-passwords.txt` (sorted, one entry per line) into the finite-state
//! transducer that `password::policy` looks passwords up in: smaller in the
//! `change-password` binary than the text (docs/performance.md), and a lookup in time of the password's length.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let list = "data/common-passwords.txt";
    println!("cargo::rerun-if-changed={list}");
    let text = std::fs::read_to_string(list)?;
    // The builder wants its keys in order and each once; the file's test says it is so.
    let set = fst::Set::from_iter(text.lines())?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("common-passwords.fst");
    std::fs::write(out, set.as_fst().as_bytes())?;
    Ok(())
}
