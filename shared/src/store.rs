//! The DynamoDB store.
//!
//! Every write that depends on what was read is a single conditional write: the condition
//! checks existence, the caller's tenant rule and the expected `version` inside DynamoDB, and
//! `ReturnValuesOnConditionCheckFailure = ALL_OLD` hands back the item as it was, so a failed
//! write is explained (404, 409, no-op …) without a second request and without a window in
//! which another writer could slip in.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::config::CoreConfig;
use crate::error::ApiError;
use crate::ids::{UserId, Version};
use crate::tenant::TenantRule;
use crate::user::{User, UserItem};

/// Attempts per DynamoDB call (the first try and two retries with backoff).
pub const MAX_ATTEMPTS: u32 = 3;
/// Budget of one DynamoDB call, retries included: well inside the function timeout, so a
/// dead or throttled DynamoDB becomes a 503 rather than a Lambda timeout.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(4);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// Error codes that mean "try again later" rather than "this request is wrong".
const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
];

/// The SDK configuration of every function: timeouts and bounded retries.
pub async fn dynamodb_client(endpoint: Option<&str>) -> Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(client_timeouts())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    Client::new(&loader.load().await)
}

pub fn client_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// A request to enable or disable an account.
#[derive(Clone, Debug)]
pub struct StatusChange {
    pub user_id: UserId,
    /// Which users the caller may change.
    pub rule: TenantRule,
    pub expected: Version,
    pub enabled: bool,
    /// The caller is the user itself: a disabled account may not re-enable itself.
    pub acting_on_self: bool,
    pub now: String,
}

#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The store of a function: one client per cold start.
    pub async fn connect(config: &CoreConfig) -> Self {
        let client = dynamodb_client(config.dynamodb_endpoint.as_deref()).await;
        Self::new(client, config.table_name.clone())
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// One strongly consistent `GetItem`.
    pub async fn get_user(&self, id: UserId) -> Result<Option<UserItem>, ApiError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(UserItem::key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        output.item.map(decode_user).transpose()
    }

    /// One conditional `UpdateItem`: sets `enabled`, grows `version` by one.
    ///
    /// Asking for the value the account already has, with the right version, changes
    /// nothing and returns the user as it is.
    pub async fn set_enabled(&self, change: &StatusChange) -> Result<User, ApiError> {
        let mut write = UserWrite::new(
            "SET #enabled = :enabled, #version = #version + :one, #updated_at = :now",
            change.rule,
            change.expected,
        );
        write.condition("#enabled <> :enabled");
        if change.acting_on_self {
            write.condition("#enabled = :true");
        }
        write.value(":enabled", AttributeValue::Bool(change.enabled));
        write.value(":true", AttributeValue::Bool(true));
        write.value(":now", AttributeValue::S(change.now.clone()));

        let result = self.update_user(change.user_id, write).await?;
        let old = match result {
            Ok(user) => return Ok(user.user),
            Err(old) => old,
        };
        let old = explain_user_condition(old, change.rule, change.expected)?;
        if change.acting_on_self && !old.user.enabled {
            Err(ApiError::AccountDisabled)
        } else if old.user.enabled == change.enabled {
            Ok(old.user)
        } else {
            Err(ApiError::internal(
                "status condition failed although the item satisfies it",
            ))
        }
    }

    /// Sends one conditional `UpdateItem` to a user item. `Ok(Ok(new))` when it applied,
    /// `Ok(Err(old))` when the condition failed (with the item as it was, if any).
    async fn update_user(
        &self,
        id: UserId,
        write: UserWrite,
    ) -> Result<Result<UserItem, Option<UserItem>>, ApiError> {
        let (names, values) = write.placeholders();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(UserItem::key(id)))
            .update_expression(write.update)
            .condition_expression(write.conditions.join(" AND "))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let item = output
                    .attributes
                    .ok_or_else(|| ApiError::internal("UpdateItem returned no attributes"))?;
                Ok(Ok(decode_user(item)?))
            }
            Err(error) => condition_failure_item(error).map(Err),
        }
    }
}

/// A conditional update of a user item. Every such write starts with the same conditions:
/// the item exists, the caller's tenant rule admits it, and its `version` is the one the
/// caller read.
struct UserWrite {
    update: &'static str,
    conditions: Vec<&'static str>,
    values: Vec<(&'static str, AttributeValue)>,
}

impl UserWrite {
    /// Placeholder names → attribute names; only those the expressions use are sent,
    /// since DynamoDB refuses unused ones.
    const NAMES: &'static [(&'static str, &'static str)] = &[
        ("#pk", "pk"),
        ("#tenant_path", "tenant_path"),
        ("#tenant_id", "tenant_id"),
        ("#version", "version"),
        ("#enabled", "enabled"),
        ("#updated_at", "updated_at"),
    ];

    fn new(update: &'static str, rule: TenantRule, expected: Version) -> Self {
        let mut conditions = vec!["attribute_exists(#pk)", "contains(#tenant_path, :tenant)"];
        if let TenantRule::SubTenantsOf(_) = rule {
            conditions.push("#tenant_id <> :tenant");
        }
        conditions.push("#version = :expected");
        Self {
            update,
            conditions,
            values: vec![
                (":tenant", AttributeValue::S(rule.tenant().to_string())),
                (":expected", AttributeValue::N(expected.get().to_string())),
                (":one", AttributeValue::N("1".into())),
            ],
        }
    }

    fn condition(&mut self, condition: &'static str) {
        self.conditions.push(condition);
    }

    fn value(&mut self, placeholder: &'static str, value: AttributeValue) {
        self.values.push((placeholder, value));
    }

    fn uses(&self, placeholder: &str) -> bool {
        std::iter::once(self.update)
            .chain(self.conditions.iter().copied())
            .any(|expression| mentions(expression, placeholder))
    }

    fn placeholders(&self) -> (HashMap<String, String>, HashMap<String, AttributeValue>) {
        let names = Self::NAMES
            .iter()
            .filter(|(placeholder, _)| self.uses(placeholder))
            .map(|(placeholder, name)| ((*placeholder).to_owned(), (*name).to_owned()))
            .collect();
        let values = self
            .values
            .iter()
            .filter(|(placeholder, _)| self.uses(placeholder))
            .map(|(placeholder, value)| ((*placeholder).to_owned(), value.clone()))
            .collect();
        (names, values)
    }
}

/// True when `expression` mentions `placeholder` as a whole token (`:one`, not `:ones`).
fn mentions(expression: &str, placeholder: &str) -> bool {
    expression.match_indices(placeholder).any(|(at, _)| {
        expression[at + placeholder.len()..]
            .chars()
            .next()
            .is_none_or(|next| !(next.is_ascii_alphanumeric() || next == '_'))
    })
}

/// The old item of a failed conditional `UpdateItem`, or the error as an [`ApiError`].
fn condition_failure_item<R>(
    error: SdkError<UpdateItemError, R>,
) -> Result<Option<UserItem>, ApiError>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match error {
        SdkError::ServiceError(service) => match service.into_err() {
            UpdateItemError::ConditionalCheckFailedException(failure) => {
                failure.item.map(decode_user).transpose()
            }
            other => Err(service_error("UpdateItem", other)),
        },
        other => Err(sdk_error("UpdateItem", other)),
    }
}

/// Why a conditional write to a user failed, when the reason is shared by every write:
/// missing or outside the caller's reach (both 404, indistinguishable), or a stale version.
/// Returns the old item when neither applies, for the operation's own reasons.
fn explain_user_condition(
    old: Option<UserItem>,
    rule: TenantRule,
    expected: Version,
) -> Result<UserItem, ApiError> {
    let old = old
        .filter(|item| rule.admits(&item.tenant_path))
        .ok_or(ApiError::NotFound)?;
    if old.user.version != expected {
        return Err(ApiError::VersionConflict {
            current: old.user.version,
        });
    }
    Ok(old)
}

fn decode_user(item: HashMap<String, AttributeValue>) -> Result<UserItem, ApiError> {
    serde_dynamo::from_item(item)
        .map_err(|e| ApiError::internal(format!("malformed user item: {e}")))
}

/// Maps an SDK failure: throttling, timeouts and unreachable endpoints are 503, the rest 500.
pub fn sdk_error<E, R>(operation: &'static str, error: SdkError<E, R>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ApiError::Unavailable {
                cause: format!("{operation}: {}", DisplayErrorContext(&error)),
            }
        }
        SdkError::ServiceError(service) => {
            if is_transient(service.err().code()) {
                ApiError::Unavailable {
                    cause: format!("{operation}: {}", DisplayErrorContext(&error)),
                }
            } else {
                ApiError::internal(format!("{operation}: {}", DisplayErrorContext(&error)))
            }
        }
        _ => ApiError::internal(format!("{operation}: {}", DisplayErrorContext(&error))),
    }
}

fn service_error<E>(operation: &'static str, error: E) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error,
{
    if is_transient(error.code()) {
        ApiError::Unavailable {
            cause: format!("{operation}: {}", DisplayErrorContext(&error)),
        }
    } else {
        ApiError::internal(format!("{operation}: {}", DisplayErrorContext(&error)))
    }
}

fn is_transient(code: Option<&str>) -> bool {
    code.is_some_and(|code| TRANSIENT_CODES.contains(&code))
}
