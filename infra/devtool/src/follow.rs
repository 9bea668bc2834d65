//! `devtool follow-stream`: Lambda's DynamoDB event source, locally. Reads the table's
//! stream on DynamoDB Local, keeps what the template's filter criteria keep, and invokes
//! `account-events` through `cargo lambda watch` with Lambda's DynamoDB event, in batches of
//! up to 100 (the template's `BatchSize`). A reported item failure is retried from that
//! record on, as Lambda does.

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::Value;
use testkit::FromTemplate;
use testkit::{
    RequestCounter, StreamFilter, StreamReader, local_client, local_endpoint, stream_event,
};

/// The template's `BatchSize`.
const BATCH_SIZE: usize = 100;
const POLL: Duration = Duration::from_millis(500);
const MOST_BACKOFF: Duration = Duration::from_secs(30);

pub async fn follow(table: &str, invoke_url: &str) -> Result<(), String> {
    let endpoint = local_endpoint();
    let dynamodb = local_client(&endpoint, &RequestCounter::default());
    let filter = StreamFilter::from_repository()?;
    let mut reader = StreamReader::open(&dynamodb, &endpoint, table).await?;
    let http = reqwest::Client::new();
    let mut pending: VecDeque<Value> = VecDeque::new();
    let mut backoff = POLL;
    eprintln!("==> following the stream of {table}; account-events at {invoke_url}");
    loop {
        match reader.read().await {
            Ok(records) => pending.extend(records.into_iter().filter(|r| filter.admits(r))),
            Err(e) => {
                eprintln!("==> stream: {e}; opening it again");
                tokio::time::sleep(MOST_BACKOFF.min(backoff * 4)).await;
                reader = StreamReader::open(&dynamodb, &endpoint, table).await?;
                continue;
            }
        }
        if pending.is_empty() {
            tokio::time::sleep(POLL).await;
            continue;
        }
        let batch: Vec<Value> = pending.iter().take(BATCH_SIZE).cloned().collect();
        match invoke(&http, invoke_url, &batch).await {
            Ok(None) => {
                pending.drain(..batch.len());
                backoff = POLL;
                eprintln!("==> account-events handled {} change(s)", batch.len());
            }
            Ok(Some(failed)) => {
                // Lambda's rule: the records before the failed one are done.
                let done = batch
                    .iter()
                    .position(|r| r["dynamodb"]["SequenceNumber"].as_str() == Some(failed.as_str()))
                    .unwrap_or(0);
                pending.drain(..done);
                eprintln!("==> account-events failed on a record; again in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = MOST_BACKOFF.min(backoff * 2);
            }
            Err(e) => {
                // The function may still be building (`cargo run` on its first call).
                eprintln!("==> account-events not reachable yet ({e}); again in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = MOST_BACKOFF.min(backoff * 2);
            }
        }
    }
}

/// Invokes the function with one batch: `None` when it handled all of it, else the sequence
/// number of the first record it could not handle.
async fn invoke(
    http: &reqwest::Client,
    url: &str,
    batch: &[Value],
) -> Result<Option<String>, String> {
    let response = http
        .post(url)
        .json(&stream_event(batch))
        .timeout(Duration::from_secs(300))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let answer: Value = response.json().await.map_err(|e| e.to_string())?;
    let failures = answer["batchItemFailures"]
        .as_array()
        .ok_or_else(|| format!("not a batch response: {answer}"))?;
    Ok(failures.first().map(|failure| {
        failure["itemIdentifier"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }))
}
