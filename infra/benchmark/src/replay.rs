//! Replays the `sam local` event files through built `bootstrap` binaries (for instance the
//! arm64 ones of `sam build`, run with `qemu-aarch64`), each under a minimal Lambda Runtime
//! API served here: the function asks for its next invocation, gets the event, and posts its
//! response, which must be what `tests/events/expected.json` lists (a `statusCode`, or for
//! the stream's batch a number of batch item failures).

use std::path::{Path, PathBuf};
use std::time::Duration;

use testkit::EventManifest;

use crate::runtime_api::{FunctionProcess, RuntimeApi};

/// `runner`: a program that runs the bootstrap (`qemu-aarch64`), or empty to run it directly.
pub fn replay(
    events_dir: &Path,
    build_dir: &Path,
    runner: &[String],
    env: &[(String, String)],
) -> Result<(), String> {
    let expected = EventManifest::load(events_dir)?;
    let functions = crate::template::functions(&crate::template::repository_template()?)?;
    let mut failures = 0;
    for case in &expected.events {
        let resource = functions
            .iter()
            .find(|f| f.binary == case.function)
            .map(|f| f.resource.clone())
            .ok_or_else(|| format!("no template resource builds {}", case.function))?;
        let bootstrap: PathBuf = build_dir.join(&resource).join("bootstrap");
        let event =
            std::fs::read_to_string(events_dir.join(&case.event)).map_err(|e| e.to_string())?;
        let api = RuntimeApi::start()?;
        let process = FunctionProcess::spawn(&bootstrap, runner, env, &case.function, 128, &api)?;
        let (ok, got) = api
            .next_poll(Duration::from_secs(60))
            .and_then(|_| api.invoke(event, Duration::from_secs(60)))
            .and_then(|answer| answer.json())
            .map_or_else(|e| (false, e), |response| case.verdict(&response));
        let elapsed = process.started.elapsed();
        drop(process);
        failures += usize::from(!ok);
        println!(
            "{} {:<34} {:<20} expected {} got {got} ({} ms)",
            if ok { "ok  " } else { "FAIL" },
            case.event,
            case.function,
            case.expected(),
            elapsed.as_millis()
        );
    }
    println!(
        "{} passed, {failures} failed",
        expected.events.len() - failures
    );
    if failures == 0 {
        Ok(())
    } else {
        Err(format!("{failures} event(s) got another status"))
    }
}
