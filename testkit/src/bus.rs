//! The account bus as its targets receive it: the template's rules (which function gets which
//! events, directly or through a queue), a `PutEvents` entry of the local bus (a file
//! `account-events` wrote) wrapped as EventBridge delivers it to a rule's target, and events
//! wrapped as an SQS queue delivers them to a function. `devtool follow-bus` and the tests
//! use these, so that both route and hand over events as the template says.

use serde_json::{Value, json};
use serde_norway::Value as Yaml;

use crate::FromTemplate;

/// The EventBridge event of a local bus entry named `id` (its file name without `.json`).
pub fn envelope(id: &str, entry: &Value) -> Result<Value, String> {
    let detail: Value = serde_json::from_str(entry["Detail"].as_str().unwrap_or("null"))
        .map_err(|e| format!("{id}: the detail: {e}"))?;
    // EventBridge's `time` is whole seconds, UTC.
    let time = detail["occurred_at"]
        .as_str()
        .and_then(|at| at.get(..19))
        .map(|at| format!("{at}Z"));
    Ok(json!({
        "version": "0",
        "id": id,
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": "000000000000",
        "time": time,
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }))
}

/// The SQS event of one batch of `events`, each a message whose body is the event and whose
/// id is its `id`, as a queue that is a rule's target hands them to its function.
pub fn sqs_event(events: &[Value]) -> Value {
    let records: Vec<Value> = events
        .iter()
        .map(|event| {
            json!({
                "messageId": event["id"],
                "receiptHandle": "local",
                "body": event.to_string(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:local",
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    json!({"Records": records})
}

/// How a rule's event reaches a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// The rule invokes the function with the event.
    Direct,
    /// The rule sends the event to a queue, which hands it to the function in an SQS event.
    Queue,
}

/// One rule's target: the function (its binary), how, and the `detail-type`s it matches.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    pub function: String,
    pub via: Via,
    pub kinds: Vec<String>,
}

/// The template's rules on the bus.
#[derive(Debug, PartialEq, Eq)]
pub struct BusRules(pub Vec<Target>);

impl FromTemplate for BusRules {
    fn from_template(doc: &Yaml) -> Result<Self, String> {
        let resources = doc["Resources"]
            .as_mapping()
            .ok_or("template.yaml has no Resources")?;
        let mut targets = Vec::new();
        for resource in resources.values() {
            let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str();
            for event in events_of(resource, "EventBridgeRule") {
                targets.push(Target {
                    function: binary
                        .ok_or("a rule's function without a Binary")?
                        .to_owned(),
                    via: Via::Direct,
                    kinds: detail_types(&event["Properties"]["Pattern"])?,
                });
            }
            if resource["Type"].as_str() != Some("AWS::Events::Rule") {
                continue;
            }
            let kinds = detail_types(&resource["Properties"]["EventPattern"])?;
            let rule_targets = resource["Properties"]["Targets"].as_sequence();
            for queue in rule_targets
                .into_iter()
                .flatten()
                .filter_map(|t| get_att(&t["Arn"]))
            {
                // The functions that read this queue.
                for reader in resources.values() {
                    let reads = events_of(reader, "SQS")
                        .iter()
                        .any(|event| get_att(&event["Properties"]["Queue"]) == Some(queue));
                    if let (true, Some(binary)) = (
                        reads,
                        reader["Metadata"]["BuildProperties"]["Binary"].as_str(),
                    ) {
                        targets.push(Target {
                            function: binary.to_owned(),
                            via: Via::Queue,
                            kinds: kinds.clone(),
                        });
                    }
                }
            }
        }
        Ok(Self(targets))
    }
}

/// A function's `Events` of SAM type `kind`.
fn events_of<'a>(resource: &'a Yaml, kind: &str) -> Vec<&'a Yaml> {
    resource["Properties"]["Events"]
        .as_mapping()
        .map(|events| {
            events
                .values()
                .filter(|event| event["Type"].as_str() == Some(kind))
                .collect()
        })
        .unwrap_or_default()
}

fn detail_types(pattern: &Yaml) -> Result<Vec<String>, String> {
    Ok(pattern["detail-type"]
        .as_sequence()
        .ok_or("a rule without a detail-type list")?
        .iter()
        .filter_map(|kind| kind.as_str().map(str::to_owned))
        .collect())
}

/// `X.Arn` of `!GetAtt X.Arn`, the way the template names a queue's ARN.
fn get_att(value: &Yaml) -> Option<&str> {
    match value {
        Yaml::Tagged(tagged) if tagged.tag == "GetAtt" => tagged.value.as_str(),
        _ => None,
    }
}

impl BusRules {
    /// The targets whose rules match `detail_type`.
    pub fn targets(&self, detail_type: &str) -> Vec<&Target> {
        self.0
            .iter()
            .filter(|target| target.kinds.iter().any(|kind| kind == detail_type))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_rules_send_each_event_where_the_template_does() {
        let rules = BusRules::from_repository().unwrap();
        let to = |kind: &str| -> Vec<(&str, Via)> {
            let mut targets: Vec<_> = rules
                .targets(kind)
                .iter()
                .map(|t| (t.function.as_str(), t.via))
                .collect();
            targets.sort_by_key(|(function, _)| *function);
            targets
        };
        let notices = ("send-notices", Via::Queue);
        let sign_out = ("revoke-sessions", Via::Direct);
        assert_eq!(to("account.disabled"), [sign_out]);
        assert_eq!(to("account.password.changed"), [sign_out, notices]);
        assert_eq!(to("account.password.reset"), [sign_out, notices]);
        assert_eq!(to("account.email.changed"), [notices]);
        assert!(to("account.enabled").is_empty());
        assert!(to("account.email.change-requested").is_empty());
    }
}
