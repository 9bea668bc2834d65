//! The table's stream as Lambda delivers it, without AWS: records read from DynamoDB Local's
//! stream, shaped as the records of Lambda's DynamoDB event, and kept or dropped by the
//! filter criteria that `template.yaml` gives the account-events function.

use std::collections::BTreeMap;

use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::{Value, json};

use crate::table::{FromTemplate, LOCAL_REGION, failure, local_sdk_config};

/// The function whose stream event the template declares.
const FUNCTION: &str = "AccountEventsFunction";

/// Reads every shard of a table's stream from its oldest record on (DynamoDB Local keeps
/// a stream in memory: its oldest record is the table's first write).
pub struct StreamReader {
    client: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    /// Shard id → the iterator of its next records; `None` once a closed shard is read.
    shards: BTreeMap<String, Option<String>>,
}

impl StreamReader {
    /// The stream of `table` on the DynamoDB Local at `endpoint`.
    pub async fn open(
        dynamodb: &aws_sdk_dynamodb::Client,
        endpoint: &str,
        table: &str,
    ) -> Result<Self, String> {
        let described = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| failure(format_args!("DescribeTable {table}"), e))?;
        let stream_arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .ok_or_else(|| format!("table {table} has no stream"))?
            .to_owned();
        Ok(Self {
            client: aws_sdk_dynamodbstreams::Client::new(&local_sdk_config(endpoint)),
            stream_arn,
            shards: BTreeMap::new(),
        })
    }

    pub fn stream_arn(&self) -> &str {
        &self.stream_arn
    }

    /// The records written since the last read, oldest first, each as Lambda's event
    /// record (JSON).
    pub async fn read(&mut self) -> Result<Vec<Value>, String> {
        let described = self
            .client
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .map_err(|e| failure("DescribeStream", e))?;
        let shards = described
            .stream_description()
            .map(|d| d.shards().to_vec())
            .unwrap_or_default();
        for shard in shards {
            let Some(id) = shard.shard_id() else { continue };
            if self.shards.contains_key(id) {
                continue;
            }
            let iterator = self
                .client
                .get_shard_iterator()
                .stream_arn(&self.stream_arn)
                .shard_id(id)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .map_err(|e| failure("GetShardIterator", e))?;
            self.shards
                .insert(id.to_owned(), iterator.shard_iterator().map(str::to_owned));
        }
        let mut records = Vec::new();
        for next in self.shards.values_mut() {
            let Some(iterator) = next.take() else {
                continue;
            };
            let output = self
                .client
                .get_records()
                .shard_iterator(iterator)
                .send()
                .await
                .map_err(|e| failure("GetRecords", e))?;
            *next = output.next_shard_iterator().map(str::to_owned);
            for record in output.records() {
                records.push(lambda_record(record, &self.stream_arn)?);
            }
        }
        Ok(records)
    }
}

/// One stream record as Lambda's DynamoDB event holds it.
fn lambda_record(record: &Record, stream_arn: &str) -> Result<Value, String> {
    let change = record
        .dynamodb()
        .ok_or("a stream record without its change")?;
    let image = |image: Option<
        &std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>,
    >| {
        image
            .map(|image| serde_json::to_value(serde_dynamo::Item::from(image.clone())))
            .transpose()
            .map_err(|e| format!("an image: {e}"))
    };
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": change
            .approximate_creation_date_time()
            .map(|at| at.secs())
            .unwrap_or_default(),
        "Keys": image(change.keys.as_ref())?,
        "SequenceNumber": change.sequence_number(),
        "SizeBytes": change.size_bytes().unwrap_or_default(),
        "StreamViewType": change.stream_view_type().map(|view| view.as_str()),
    });
    for (name, value) in [
        ("NewImage", image(change.new_image.as_ref())?),
        ("OldImage", image(change.old_image.as_ref())?),
    ] {
        if let Some(value) = value {
            dynamodb[name] = value;
        }
    }
    Ok(json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|name| name.as_str()),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": LOCAL_REGION,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }))
}

/// Lambda's DynamoDB event of `records`.
pub fn stream_event(records: &[Value]) -> Value {
    json!({ "Records": records })
}

/// The filter criteria of the account-events function's stream in `template.yaml`: the
/// records Lambda would hand it. Supports what event patterns the template uses: literal
/// values, `prefix` and `exists`.
#[derive(Clone, Debug)]
pub struct StreamFilter {
    patterns: Vec<Value>,
}

impl FromTemplate for StreamFilter {
    fn from_template(doc: &serde_norway::Value) -> Result<Self, String> {
        let events = &doc["Resources"][FUNCTION]["Properties"]["Events"];
        let filters = events
            .as_mapping()
            .and_then(|events| {
                events
                    .values()
                    .find(|event| event["Type"].as_str() == Some("DynamoDB"))
            })
            .and_then(|event| event["Properties"]["FilterCriteria"]["Filters"].as_sequence())
            .ok_or_else(|| format!("{FUNCTION} has no DynamoDB event with filters"))?;
        let patterns = filters
            .iter()
            .map(|filter| {
                let text = filter["Pattern"]
                    .as_str()
                    .ok_or("a filter without a Pattern")?;
                serde_json::from_str(text).map_err(|e| format!("a filter pattern: {e}"))
            })
            .collect::<Result<Vec<Value>, String>>()?;
        if patterns.is_empty() {
            return Err(format!("{FUNCTION}'s stream has no filter"));
        }
        Ok(Self { patterns })
    }
}

impl StreamFilter {
    /// True when any pattern matches `record` (Lambda's rule: filters are ORed).
    pub fn admits(&self, record: &Value) -> bool {
        self.patterns
            .iter()
            .any(|pattern| matches(pattern, Some(record)))
    }
}

fn matches(pattern: &Value, value: Option<&Value>) -> bool {
    match pattern {
        Value::Object(fields) => fields
            .iter()
            .all(|(name, inner)| matches(inner, value.and_then(|v| v.get(name)))),
        Value::Array(options) => options.iter().any(|option| leaf(option, value)),
        _ => false,
    }
}

fn leaf(option: &Value, value: Option<&Value>) -> bool {
    match option {
        Value::Object(rule) => {
            if let Some(exists) = rule.get("exists").and_then(Value::as_bool) {
                value.is_some() == exists
            } else if let Some(prefix) = rule.get("prefix").and_then(Value::as_str) {
                value
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.starts_with(prefix))
            } else {
                false
            }
        }
        literal => value == Some(literal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, pk: &str, write_kind: Option<&str>) -> Value {
        let mut new_image = json!({ "pk": { "S": pk } });
        if let Some(kind) = write_kind {
            new_image["write_kind"] = json!({ "S": kind });
        }
        json!({
            "eventName": name,
            "dynamodb": { "Keys": { "pk": { "S": pk } }, "NewImage": new_image }
        })
    }

    #[test]
    fn the_template_filter_keeps_changes_of_users_only() {
        let filter = StreamFilter::from_repository().unwrap();
        assert!(filter.admits(&record("MODIFY", "USER#1", Some("account.disabled"))));
        assert!(
            !filter.admits(&record("MODIFY", "USER#1", None)),
            "bookkeeping"
        );
        assert!(!filter.admits(&record("INSERT", "USER#1", Some("account.disabled"))));
        assert!(!filter.admits(&record("REMOVE", "USER#1", None)));
        assert!(!filter.admits(&record("MODIFY", "NOTICE#1#user", Some("x"))));
        assert!(!filter.admits(&record("MODIFY", "TENANT#1", Some("x"))));
    }
}
