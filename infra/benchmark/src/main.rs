//! The benchmark of infra/bench.sh, and the replay of built bootstraps of
//! infra/check-sam-build.sh: both run real function binaries against a Lambda Runtime API
//! of their own (`runtime_api.rs`).
//!
//!   benchmark run [--quick] <bin-dir> <report.md> [arm64-dir]
//!                                             the benchmarks (see bench/)
//!   benchmark replay-events <events-dir> <build-dir> [runner …]
//!                                             run each event file through its built
//!                                             `bootstrap` (see replay.rs)

mod bench;
mod http1;
mod replay;
mod runtime_api;
mod template;

use std::path::Path;
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["replay-events", events, build, runner @ ..] => {
            let runner: Vec<String> = runner.iter().map(|s| (*s).to_owned()).collect();
            // The functions get this process's environment, as under `sam local`.
            let env: Vec<(String, String)> = std::env::vars().collect();
            replay::replay(Path::new(events), Path::new(build), &runner, &env)
        }
        ["run", rest @ ..] => match bench::Options::parse(rest) {
            Ok(options) => bench::run(&options).await,
            Err(e) => Err(e),
        },
        _ => Err(
            "usage: benchmark run [--quick] <bin-dir> <report.md> [arm64-dir] | \
                  replay-events <events-dir> <build-dir> [runner …]"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("benchmark: {e}");
            ExitCode::FAILURE
        }
    }
}
