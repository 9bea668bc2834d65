//! `devtool follow-bus`: the account bus's rules, locally. Watches the local bus (the
//! directory where `account-events` writes one `PutEvents` entry per file), and delivers
//! each new event, wrapped as EventBridge delivers it, to every function whose
//! `EventBridgeRule` in `template.yaml` matches its `detail-type`, through `cargo lambda
//! watch`. A delivery that fails is retried with backoff, as EventBridge and Lambda retry.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use testkit::FromTemplate;

const POLL: Duration = Duration::from_millis(500);
const MOST_BACKOFF: Duration = Duration::from_secs(30);

/// The template's rules on the bus: which function gets which `detail-type`s.
#[derive(Debug, PartialEq, Eq)]
pub struct BusRules(pub Vec<(String, Vec<String>)>);

impl FromTemplate for BusRules {
    fn from_template(doc: &serde_norway::Value) -> Result<Self, String> {
        let resources = doc["Resources"]
            .as_mapping()
            .ok_or("template.yaml has no Resources")?;
        let mut rules = Vec::new();
        for resource in resources.values() {
            let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str();
            let Some(events) = resource["Properties"]["Events"].as_mapping() else {
                continue;
            };
            for event in events.values() {
                if event["Type"].as_str() != Some("EventBridgeRule") {
                    continue;
                }
                let binary = binary.ok_or("an EventBridgeRule of a function without a Binary")?;
                let kinds = event["Properties"]["Pattern"]["detail-type"]
                    .as_sequence()
                    .ok_or("an EventBridgeRule without a detail-type list")?
                    .iter()
                    .filter_map(|kind| kind.as_str().map(str::to_owned))
                    .collect();
                rules.push((binary.to_owned(), kinds));
            }
        }
        Ok(Self(rules))
    }
}

impl BusRules {
    /// The functions whose rules match `detail_type`.
    pub fn targets(&self, detail_type: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(_, kinds)| kinds.iter().any(|kind| kind == detail_type))
            .map(|(function, _)| function.as_str())
            .collect()
    }
}

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
            let entry: Value = match std::fs::read_to_string(dir.join(&name))
                .map_err(|e| e.to_string())
                .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
            {
                Ok(entry) => entry,
                // Being written: read it at the next poll.
                Err(_) => break,
            };
            let event = envelope(&name, &entry)?;
            let detail_type = entry["DetailType"].as_str().unwrap_or_default();
            let mut all = true;
            for function in rules.targets(detail_type) {
                let url = format!("{invoke_base}/2015-03-31/functions/{function}/invocations");
                match invoke(&http, &url, &event).await {
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

/// A `PutEvents` entry as EventBridge hands it to a rule's target.
fn envelope(name: &str, entry: &Value) -> Result<Value, String> {
    let detail: Value = serde_json::from_str(entry["Detail"].as_str().unwrap_or("null"))
        .map_err(|e| format!("{name}: the detail: {e}"))?;
    Ok(json!({
        "version": "0",
        "id": name.trim_end_matches(".json"),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": "000000000000",
        "time": detail["occurred_at"].as_str().map(|at| at.get(..19).unwrap_or(at).to_owned() + "Z"),
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }))
}

/// Invokes a function with one event; a function error (the runtime's error answer) is a
/// failure, as Lambda's asynchronous invocation counts it.
async fn invoke(http: &reqwest::Client, url: &str, event: &Value) -> Result<(), String> {
    let response = http
        .post(url)
        .json(event)
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let failed = response.headers().contains_key("x-amz-function-error");
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    // An error answer names its type, whichever way the emulator passes it on.
    let error = serde_json::from_str::<Value>(&body).is_ok_and(|v| v.get("errorType").is_some());
    if status.is_success() && !failed && !error {
        Ok(())
    } else {
        Err(format!(
            "{status}: {}",
            body.chars().take(200).collect::<String>()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_rules_send_session_ending_events_to_revoke_sessions() {
        let rules = BusRules::from_repository().unwrap();
        for kind in [
            "account.disabled",
            "account.password.changed",
            "account.password.reset",
        ] {
            assert_eq!(rules.targets(kind), ["revoke-sessions"], "{kind}");
        }
        assert!(rules.targets("account.enabled").is_empty());
    }
}
