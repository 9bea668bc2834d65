//! Replays the `sam local` event files through built `bootstrap` binaries (for instance the
//! arm64 ones of `sam build`, run with `qemu-aarch64`), each under a minimal Lambda Runtime
//! API served here: the function asks for its next invocation, gets the event, and posts its
//! response, whose `statusCode` must be the one `tests/events/expected.json` lists.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use shared::testing::EventManifest;

/// What a function posted back.
enum Outcome {
    Response(String),
    Error(String),
}

/// Serves one invocation of `event` on `listener` and reports the function's answer.
fn serve_one(listener: TcpListener, event: String, outcome: mpsc::Sender<Outcome>) {
    std::thread::spawn(move || {
        let mut served = false;
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let event = if served { None } else { Some(event.clone()) };
            served = true;
            let outcome = outcome.clone();
            std::thread::spawn(move || handle_connection(stream, event, outcome));
        }
    });
}

fn handle_connection(stream: TcpStream, mut event: Option<String>, outcome: mpsc::Sender<Outcome>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        if path.ends_with("/runtime/invocation/next") {
            // The first poll gets the event; later polls wait until the process is stopped.
            let Some(event) = event.take() else {
                std::thread::sleep(Duration::from_secs(3600));
                return;
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() + 10_000)
                .unwrap_or_default();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:replay\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n\r\n",
                event.len()
            );
            let _ = writer.write_all(head.as_bytes());
            let _ = writer.write_all(event.as_bytes());
        } else {
            let _ = writer.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}");
            let answer = if path.ends_with("/response") {
                Outcome::Response(body)
            } else {
                Outcome::Error(format!("{path}: {body}"))
            };
            let _ = outcome.send(answer);
        }
    }
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `sam build` directory of each binary: the resource whose `BuildProperties.Binary`
/// names it.
fn build_dirs(template: &str) -> Result<Vec<(String, String)>, String> {
    let doc: serde_norway::Value =
        serde_norway::from_str(template).map_err(|e| format!("template.yaml: {e}"))?;
    let resources = doc["Resources"].as_mapping().ok_or("no Resources")?;
    Ok(resources
        .iter()
        .filter_map(|(name, resource)| {
            let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str()?;
            Some((binary.to_owned(), name.as_str()?.to_owned()))
        })
        .collect())
}

/// `runner`: a program that runs the bootstrap (`qemu-aarch64`), or empty to run it directly.
pub fn replay(
    events_dir: &Path,
    build_dir: &Path,
    runner: &[String],
    env: &[(String, String)],
) -> Result<(), String> {
    let expected = EventManifest::load(events_dir)?;
    let template = std::fs::read_to_string(events_dir.join("../../template.yaml"))
        .map_err(|e| format!("template.yaml: {e}"))?;
    let dirs = build_dirs(&template)?;
    let mut failures = 0;
    for case in &expected.events {
        let resource = dirs
            .iter()
            .find(|(binary, _)| *binary == case.function)
            .map(|(_, resource)| resource.clone())
            .ok_or_else(|| format!("no template resource builds {}", case.function))?;
        let bootstrap: PathBuf = build_dir.join(&resource).join("bootstrap");
        let event =
            std::fs::read_to_string(events_dir.join(&case.event)).map_err(|e| e.to_string())?;
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let (sender, receiver) = mpsc::channel();
        serve_one(listener, event, sender);

        let mut command = match runner.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(&bootstrap);
                command
            }
            None => Command::new(&bootstrap),
        };
        command
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &case.function)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .stdin(Stdio::null());
        let started = Instant::now();
        let _running = Running(
            command
                .spawn()
                .map_err(|e| format!("cannot run {}: {e}", bootstrap.display()))?,
        );
        let status = match receiver.recv_timeout(Duration::from_secs(60)) {
            Ok(Outcome::Response(body)) => serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|response| response["statusCode"].as_u64())
                .map(|status| status.to_string())
                .unwrap_or_else(|| format!("no statusCode in {body}")),
            Ok(Outcome::Error(error)) => format!("error {error}"),
            Err(_) => "no answer within 60 s".to_owned(),
        };
        let ok = status == case.status.to_string();
        failures += usize::from(!ok);
        println!(
            "{} {:<34} {:<20} expected {} got {status} ({} ms)",
            if ok { "ok  " } else { "FAIL" },
            case.event,
            case.function,
            case.status,
            started.elapsed().as_millis()
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
