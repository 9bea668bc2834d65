//! Tables on DynamoDB Local, made from the one definition in `template.yaml`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, Credentials, Intercept, Region, SharedCredentialsProvider,
};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use serde::Deserialize;

use shared::aws::Watch;
use shared::config::TrustRoots;
use shared::store::Store;

/// The SAM template: the single source of the table definition.
pub const TEMPLATE: &str = include_str!("../../template.yaml");

/// What the tests and the local tools read from `template.yaml`, so that they follow the
/// template rather than a copy of it.
pub trait FromTemplate: Sized {
    /// From a parsed template.
    fn from_template(doc: &serde_norway::Value) -> Result<Self, String>;

    /// From the repository's `template.yaml`.
    fn from_repository() -> Result<Self, String> {
        let doc = serde_norway::from_str(TEMPLATE).map_err(|e| format!("template.yaml: {e}"))?;
        Self::from_template(&doc)
    }
}

/// An SDK failure as text, with its causes.
pub fn failure(operation: impl std::fmt::Display, error: impl std::error::Error) -> String {
    format!(
        "{operation}: {}",
        aws_sdk_dynamodb::error::DisplayErrorContext(error)
    )
}

/// DynamoDB Local separates tables by access key and region: use these everywhere locally.
pub const LOCAL_ACCESS_KEY: &str = "local";
pub const LOCAL_REGION: &str = "us-east-1";

/// `DYNAMODB_ENDPOINT`, or DynamoDB Local's usual address.
pub fn local_endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8000".into())
}

/// Watches what a client sends to DynamoDB and receives: counts the HTTP requests (retries
/// included), and registers the secrets of every body (see [`crate::logs`]), so whatever a
/// test or a handler stores or reads is covered by the leak check without anyone naming it.
#[derive(Clone, Debug, Default)]
pub struct RequestCounter(Arc<AtomicUsize>);

impl RequestCounter {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    pub fn reset(&self) {
        self.0.store(0, Ordering::SeqCst);
    }
}

impl RequestCounter {
    /// The interceptor that counts into this counter and registers the secrets it sees.
    pub fn watch(&self) -> impl Intercept + use<> {
        let requests = self.0.clone();
        let register = |body: Option<&[u8]>| {
            if let Some(body) = body {
                crate::logs::register_secrets_in(body);
            }
        };
        Watch::new(
            "RequestCounter",
            move |body| {
                requests.fetch_add(1, Ordering::SeqCst);
                register(body);
            },
            move |_status, body| register(body),
        )
    }
}

/// What every client of DynamoDB Local (tables, streams) or of a stand-in shares: the fixed key and region
/// it files tables under, the endpoint, and the functions' HTTPS client.
pub fn local_sdk_config(endpoint: &str) -> SdkConfig {
    let credentials = Credentials::new(LOCAL_ACCESS_KEY, LOCAL_ACCESS_KEY, None, None, "local");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(LOCAL_REGION))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .endpoint_url(endpoint)
        .http_client(
            shared::aws::http_client(&TrustRoots::AmazonTrustServices).expect("the HTTPS client"),
        )
        .build()
}

/// A client for DynamoDB Local with the functions' timeouts and retries.
pub fn local_client(endpoint: &str, counter: &RequestCounter) -> Client {
    let config = aws_sdk_dynamodb::config::Builder::from(&local_sdk_config(endpoint))
        .timeout_config(shared::aws::timeouts())
        .retry_config(shared::aws::retries())
        .interceptor(counter.watch())
        .build();
    Client::from_conf(config)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableProperties {
    attribute_definitions: Vec<AttributeProperty>,
    key_schema: Vec<KeyProperty>,
    #[serde(default)]
    global_secondary_indexes: Vec<IndexProperty>,
    time_to_live_specification: Option<TtlProperty>,
    stream_specification: Option<StreamProperty>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamProperty {
    stream_view_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeProperty {
    attribute_name: String,
    attribute_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyProperty {
    attribute_name: String,
    key_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexProperty {
    index_name: String,
    key_schema: Vec<KeyProperty>,
    projection: ProjectionProperty,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProjectionProperty {
    projection_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TtlProperty {
    attribute_name: String,
    enabled: bool,
}

/// The table's keys, indexes, TTL and stream as `template.yaml` declares them.
#[derive(Clone, Debug)]
pub struct TableDefinition {
    attributes: Vec<AttributeDefinition>,
    key_schema: Vec<KeySchemaElement>,
    indexes: Vec<GlobalSecondaryIndex>,
    ttl_attribute: Option<String>,
    stream: Option<StreamViewType>,
}

impl FromTemplate for TableDefinition {
    /// Reads the one `AWS::DynamoDB::Table` resource of a CloudFormation/SAM template.
    fn from_template(doc: &serde_norway::Value) -> Result<Self, String> {
        let resources = doc
            .get("Resources")
            .and_then(|r| r.as_mapping())
            .ok_or("template.yaml has no Resources")?;
        let mut tables = resources.values().filter(|resource| {
            resource.get("Type").and_then(|t| t.as_str()) == Some("AWS::DynamoDB::Table")
        });
        let table = tables
            .next()
            .ok_or("template.yaml declares no DynamoDB table")?;
        if tables.next().is_some() {
            return Err("template.yaml declares more than one DynamoDB table".into());
        }
        let properties: TableProperties = serde_norway::from_value(
            table
                .get("Properties")
                .cloned()
                .ok_or("the table has no Properties")?,
        )
        .map_err(|e| format!("table Properties: {e}"))?;

        let attributes = properties
            .attribute_definitions
            .iter()
            .map(|a| {
                AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()?;
        let key_schema = keys(&properties.key_schema)?;
        let indexes = properties
            .global_secondary_indexes
            .iter()
            .map(|index| {
                GlobalSecondaryIndex::builder()
                    .index_name(&index.index_name)
                    .set_key_schema(Some(keys(&index.key_schema)?))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::from(
                                index.projection.projection_type.as_str(),
                            ))
                            .build(),
                    )
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<_, String>>()?;
        let ttl_attribute = properties
            .time_to_live_specification
            .filter(|ttl| ttl.enabled)
            .map(|ttl| ttl.attribute_name);
        let stream = properties
            .stream_specification
            .map(|stream| StreamViewType::from(stream.stream_view_type.as_str()));
        Ok(Self {
            attributes,
            key_schema,
            indexes,
            ttl_attribute,
            stream,
        })
    }
}

impl TableDefinition {
    pub fn ttl_attribute(&self) -> Option<&str> {
        self.ttl_attribute.as_deref()
    }

    /// Creates the table (on-demand) and waits until it is active.
    pub async fn create(&self, client: &Client, name: &str) -> Result<(), String> {
        client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(self.attributes.clone()))
            .set_key_schema(Some(self.key_schema.clone()))
            .set_global_secondary_indexes(if self.indexes.is_empty() {
                None
            } else {
                Some(self.indexes.clone())
            })
            .set_stream_specification(
                self.stream
                    .clone()
                    .map(|view| {
                        StreamSpecification::builder()
                            .stream_enabled(true)
                            .stream_view_type(view)
                            .build()
                    })
                    .transpose()
                    .map_err(|e| e.to_string())?,
            )
            .customize()
            .config_override(administration())
            .send()
            .await
            .map_err(|e| failure(format_args!("CreateTable {name}"), e))?;
        if let Some(attribute) = &self.ttl_attribute {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attribute)
                        .enabled(true)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .customize()
                .config_override(administration())
                .send()
                .await
                .map_err(|e| failure(format_args!("UpdateTimeToLive {name}"), e))?;
        }
        Ok(())
    }
}

/// The settings of a table's creation: not a request of the functions, so not within their
/// budget (DynamoDB Local may take seconds to create a table while the tests load the
/// machine), and sent once: a CreateTable retried after a timed-out attempt finds the
/// table that attempt made.
fn administration() -> aws_sdk_dynamodb::config::Builder {
    let timeouts = TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_secs(60))
        .operation_timeout(Duration::from_secs(60))
        .build();
    aws_sdk_dynamodb::config::Builder::new()
        .timeout_config(timeouts)
        .retry_config(RetryConfig::disabled())
}

fn keys(schema: &[KeyProperty]) -> Result<Vec<KeySchemaElement>, String> {
    schema
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// A fresh table on DynamoDB Local for one test; it deletes itself when dropped, so tests
/// run in parallel without seeing each other's data.
pub struct TestTable {
    pub store: Store,
    pub counter: RequestCounter,
    endpoint: String,
}

impl TestTable {
    pub async fn new() -> Self {
        let endpoint = local_endpoint();
        let counter = RequestCounter::default();
        let client = local_client(&endpoint, &counter);
        let name = format!("test-{}", uuid::Uuid::new_v4().simple());
        let definition = TableDefinition::from_repository().expect("template.yaml table");
        if let Err(e) = definition.create(&client, &name).await {
            panic!(
                "cannot create a test table on DynamoDB Local at {endpoint} ({e}). \
                 Run the tests with infra/test.sh, which starts DynamoDB Local."
            );
        }
        counter.reset();
        Self {
            store: Store::new(client, name),
            counter,
            endpoint,
        }
    }

    pub fn name(&self) -> &str {
        self.store.table()
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Every item of the table, as text: what a reader of the table (or of its backups)
    /// could see. Not counted as a request of the code under test.
    pub async fn everything_stored(&self) -> String {
        let before = self.counter.get();
        let output = self
            .store
            .client()
            .scan()
            .table_name(self.name())
            .send()
            .await
            .expect("scan the test table");
        self.counter.0.store(before, Ordering::SeqCst);
        format!("{:?}", output.items())
    }
}

impl Drop for TestTable {
    fn drop(&mut self) {
        let client = self.store.client().clone();
        let name = self.store.table().to_owned();
        // Drop cannot be async and may run inside a runtime: delete on a thread of its own.
        let deletion = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                let _ = runtime.block_on(client.delete_table().table_name(name).send());
            }
        });
        let _ = deletion.join();
    }
}
