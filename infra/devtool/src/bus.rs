//! `devtool follow-bus`: the account bus's rules, locally. Watches the local bus (the
//! directory where `account-events` writes one `PutEvents` entry per file), and delivers
//! each new event, wrapped as EventBridge delivers it, to every function that a rule in
//! `template.yaml` sends it to: a function's own `EventBridgeRule` (revoke-sessions), or a
//! rule whose target is a queue that a function reads (send-notices, one message per
//! event). Through `cargo lambda watch`; a delivery that fails is retried with backoff, as
//! EventBridge and SQS redeliver.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use testkit::FromTemplate;
use testkit::bus::{BusRules, Via};

const POLL: Duration = Duration::from_millis(500);
const MOST_BACKOFF: Duration = Duration::from_secs(30);

pub async fn follow(events_dir: &str, invoke_base: &str) -> Result<(), String> {
    let rules = BusRules::from_repository()?;
    let http = reqwest::Client::new();
    let dir = Path::new(events_dir);
    let mut delivered: BTreeSet<String> = BTreeSet::new();
    let mut backoff = POLL;
    eprintln!(
        "==> following the bus in {events_dir}; rules: {:?}",
        rules.0
    );
    loop {
        let mut failed = false;
        for name in new_files(dir, &delivered) {
            let Ok(entry) = std::fs::read_to_string(dir.join(&name))
                .map_err(|e| e.to_string())
                .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()))
            else {
                // Being written: read it at the next poll.
                break;
            };
            let event = testkit::bus::envelope(name.trim_end_matches(".json"), &entry)?;
            let detail_type = entry["DetailType"].as_str().unwrap_or_default();
            let mut all = true;
            for target in rules.targets(detail_type) {
                let function = &target.function;
                let url = format!("{invoke_base}/2015-03-31/functions/{function}/invocations");
                let payload = match target.via {
                    Via::Direct => event.clone(),
                    Via::Queue => testkit::bus::sqs_event(std::slice::from_ref(&event)),
                };
                match invoke(&http, &url, &payload).await {
                    Ok(()) => eprintln!("==> {detail_type} delivered to {function}"),
                    Err(e) => {
                        eprintln!(
                            "==> {detail_type} to {function} failed ({e}); again in {backoff:?}"
                        );
                        all = false;
                    }
                }
            }
            if !all {
                // Every target again: each is idempotent, as EventBridge's retries need.
                failed = true;
                break;
            }
            delivered.insert(name);
        }
        if failed {
            tokio::time::sleep(backoff).await;
            backoff = MOST_BACKOFF.min(backoff * 2);
        } else {
            backoff = POLL;
            tokio::time::sleep(POLL).await;
        }
    }
}

/// The bus's files not yet delivered, in the order they were written (their names begin
/// with the stream's sequence number).
fn new_files(dir: &Path, delivered: &BTreeSet<String>) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json") && !delivered.contains(name))
        .collect();
    names.sort();
    names
}

/// Invokes a function with one payload: a function error (the runtime's error answer) or
/// an SQS batch with failed items is a failure, as Lambda and SQS count them.
async fn invoke(http: &reqwest::Client, url: &str, payload: &Value) -> Result<(), String> {
    let response = http
        .post(url)
        .json(payload)
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let failed = response.headers().contains_key("x-amz-function-error");
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let answer = serde_json::from_str::<Value>(&body).unwrap_or(Value::Null);
    // An error answer names its type, whichever way the emulator passes it on.
    let error = answer.get("errorType").is_some();
    let items_failed = answer["batchItemFailures"]
        .as_array()
        .is_some_and(|failures| !failures.is_empty());
    if status.is_success() && !failed && !error && !items_failed {
        Ok(())
    } else {
        Err(format!(
            "{status}: {}",
            body.chars().take(200).collect::<String>()
        ))
    }
}
