//! The DynamoDB store.
//!
//! Every write that depends on what was read is a single conditional write: the condition
//! checks existence, the caller's tenant rule and the expected `version` inside DynamoDB, and
//! `ReturnValuesOnConditionCheckFailure = ALL_OLD` hands back the item as it was, so a failed
//! write is explained (404, 409, no-op …) without a second request and without a window in
//! which another writer could slip in.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::config::{ConfigError, CoreConfig};
use crate::email::{EmailAddress, PendingEmail};
use crate::error::ApiError;
use crate::ids::{UserId, Version};
use crate::password::PasswordHashString;
use crate::tenant::TenantRule;
use crate::token::TokenHash;
use crate::user::UserItem;

/// Error codes that mean "try again later" rather than "this request is wrong".
const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
];

/// A request to change a user's email address.
#[derive(Clone, Debug)]
pub struct EmailChange<'a> {
    pub user_id: UserId,
    pub rule: TenantRule,
    pub expected: Version,
    pub email: &'a EmailAddress,
    /// The caller is the user itself: a disabled account may not change its own address.
    pub acting_on_self: bool,
}

/// How many current-password checks a window allows, and how long a window lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptLimit {
    pub max_attempts: u32,
    pub window_secs: i64,
}

/// SPEC §4: after 5 wrong current passwords in 15 minutes, 429 until the window ends.
pub const PASSWORD_ATTEMPTS: AttemptLimit = AttemptLimit {
    max_attempts: 5,
    window_secs: 15 * 60,
};

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
    pub fn connect(config: &CoreConfig) -> Result<Self, ConfigError> {
        let sdk = crate::aws::sdk_config(&config.region)?;
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk);
        if let Some(endpoint) = &config.dynamodb_endpoint {
            dynamodb = dynamodb.endpoint_url(endpoint);
        }
        Ok(Self::new(
            Client::from_conf(dynamodb.build()),
            config.table_name.clone(),
        ))
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
    pub async fn set_enabled(&self, change: &StatusChange) -> Result<UserItem, ApiError> {
        let mut write = UserWrite::new(
            "SET #enabled = :enabled, #version = #version + :one, #updated_at = :now",
            change.rule,
            Some(change.expected),
        );
        write.condition("#enabled <> :enabled");
        if change.acting_on_self {
            write.condition("#enabled = :true");
        }
        write.value(":enabled", AttributeValue::Bool(change.enabled));
        write.value(":now", AttributeValue::S(change.now.clone()));

        let result = self.update_user(change.user_id, write).await?;
        let old = match result {
            Ok(item) => return Ok(item),
            Err(old) => old,
        };
        let old = explain_user_condition(old, change.rule, Some(change.expected))?;
        if change.acting_on_self && !old.user.enabled {
            Err(ApiError::AccountDisabled)
        } else if old.user.enabled == change.enabled {
            Ok(old)
        } else {
            Err(ApiError::internal(
                "status condition failed although the item satisfies it",
            ))
        }
    }

    /// Begins a check of the current password: counts it against [`PASSWORD_ATTEMPTS`] and
    /// returns the user item (with its hash) in the same `UpdateItem`.
    ///
    /// The count is taken before the password is verified, so concurrent wrong guesses
    /// cannot slip past the limit: each verification needs a slot that a conditional write
    /// granted. A successful change clears the count. Refused with 429 (and the seconds
    /// until the window ends) once the limit is reached, 403 for a disabled account.
    pub async fn begin_password_check(
        &self,
        user_id: UserId,
        rule: TenantRule,
        now: i64,
    ) -> Result<UserItem, ApiError> {
        let limit = PASSWORD_ATTEMPTS;
        let cutoff = now - limit.window_secs;
        let times = [
            (":now", AttributeValue::N(now.to_string())),
            (":cutoff", AttributeValue::N(cutoff.to_string())),
            (":max", AttributeValue::N(limit.max_attempts.to_string())),
        ];
        // A window may end between the two writes; then start over (bounded).
        for _ in 0..3 {
            // No window, or an expired one: this attempt opens a new window.
            let mut open = UserWrite::new("SET #window = :now, #attempts = :one", rule, None);
            open.condition("#enabled = :true");
            open.condition("(attribute_not_exists(#window) OR #window <= :cutoff)");
            times.iter().for_each(|(p, v)| open.value(p, v.clone()));
            let old = match self.update_user(user_id, open).await? {
                Ok(item) => return Ok(item),
                Err(old) => explain_user_condition(old, rule, None)?,
            };
            if !old.user.enabled {
                return Err(ApiError::AccountDisabled);
            }

            // A window is open: take one of its remaining slots.
            let mut take = UserWrite::new("SET #attempts = #attempts + :one", rule, None);
            take.condition("#enabled = :true");
            take.condition("#window > :cutoff");
            take.condition("#attempts < :max");
            times.iter().for_each(|(p, v)| take.value(p, v.clone()));
            let old = match self.update_user(user_id, take).await? {
                Ok(item) => return Ok(item),
                Err(old) => explain_user_condition(old, rule, None)?,
            };
            if !old.user.enabled {
                return Err(ApiError::AccountDisabled);
            }
            if let (Some(start), Some(attempts)) =
                (old.password_window_start, old.password_attempts)
                && start > cutoff
                && attempts >= limit.max_attempts
            {
                return Err(ApiError::TooManyAttempts {
                    retry_after_secs: u64::try_from(start + limit.window_secs - now)
                        .unwrap_or(1)
                        .max(1),
                });
            }
        }
        Err(ApiError::Unavailable {
            cause: "the password attempt window kept changing".into(),
        })
    }

    /// Stores a new password hash and clears the attempt count, in one conditional write.
    /// With `expected` (self-service: the hash the current password was verified against)
    /// the write only happens while that hash is still stored, so of two concurrent changes
    /// exactly one wins; the other is told its current password is no longer current.
    pub async fn set_password_hash(
        &self,
        user_id: UserId,
        rule: TenantRule,
        expected: Option<&PasswordHashString>,
        new_hash: &PasswordHashString,
    ) -> Result<(), ApiError> {
        let mut write = UserWrite::new("SET #hash = :hash REMOVE #attempts, #window", rule, None);
        write.value(":hash", AttributeValue::S(new_hash.as_str().to_owned()));
        if let Some(expected) = expected {
            write.condition("#hash = :expected_hash");
            write.value(
                ":expected_hash",
                AttributeValue::S(expected.as_str().to_owned()),
            );
        }
        match self.update_user(user_id, write).await? {
            Ok(_) => Ok(()),
            Err(old) => {
                explain_user_condition(old, rule, None)?;
                Err(ApiError::InvalidCurrentPassword)
            }
        }
    }

    /// Clears the attempt count: the current password was right, though nothing changed.
    pub async fn clear_password_attempts(
        &self,
        user_id: UserId,
        rule: TenantRule,
    ) -> Result<(), ApiError> {
        let write = UserWrite::new("REMOVE #attempts, #window", rule, None);
        match self.update_user(user_id, write).await? {
            Ok(_) => Ok(()),
            Err(old) => explain_user_condition(old, rule, None).map(|_| ()),
        }
    }

    /// Changes the address of a user that is not activated yet: one conditional `UpdateItem`
    /// that also drops any pending change and grows `version` by one.
    ///
    /// `Ok(Err(item))` when the user turns out to be activated (its item as it is): then the
    /// change needs confirmation, see [`Store::set_pending_email`].
    pub async fn change_email_now(
        &self,
        change: &EmailChange<'_>,
        now: &str,
    ) -> Result<Result<UserItem, UserItem>, ApiError> {
        let mut write = UserWrite::new(
            "SET #contact.#email = :email, #version = #version + :one, #updated_at = :now \
             REMOVE #pending",
            change.rule,
            Some(change.expected),
        );
        write.condition("#activated = :false");
        if change.acting_on_self {
            write.condition("#enabled = :true");
        }
        write.value(
            ":email",
            AttributeValue::S(change.email.as_str().to_owned()),
        );
        write.value(":now", AttributeValue::S(now.to_owned()));
        write.value(":false", AttributeValue::Bool(false));
        let old = match self.update_user(change.user_id, write).await? {
            Ok(item) => return Ok(Ok(item)),
            Err(old) => explain_user_condition(old, change.rule, Some(change.expected))?,
        };
        if change.acting_on_self && !old.user.enabled {
            Err(ApiError::AccountDisabled)
        } else if old.user.activated {
            Ok(Err(old))
        } else {
            Err(ApiError::internal(
                "email condition failed although the item satisfies it",
            ))
        }
    }

    /// Stores a pending change for an activated user, replacing an older one; the address
    /// and `version` stay. One conditional `UpdateItem` (existence, subtree, `version`).
    pub async fn set_pending_email(
        &self,
        change: &EmailChange<'_>,
        pending: &PendingEmail,
    ) -> Result<UserItem, ApiError> {
        let mut write = UserWrite::new(
            "SET #pending = :pending",
            change.rule,
            Some(change.expected),
        );
        write.condition("#activated = :true");
        if change.acting_on_self {
            write.condition("#enabled = :true");
        }
        let pending = serde_dynamo::to_attribute_value(pending)
            .map_err(|e| ApiError::internal(format!("encoding a pending email: {e}")))?;
        write.value(":pending", pending);
        let old = match self.update_user(change.user_id, write).await? {
            Ok(item) => return Ok(item),
            Err(old) => explain_user_condition(old, change.rule, Some(change.expected))?,
        };
        if change.acting_on_self && !old.user.enabled {
            Err(ApiError::AccountDisabled)
        } else {
            Err(ApiError::internal(
                "pending email condition failed although the item satisfies it",
            ))
        }
    }

    /// Removes a pending change if it is still the one with `token_hash` (its mail could not
    /// be sent, so nobody may confirm it).
    pub async fn withdraw_pending_email(
        &self,
        user_id: UserId,
        token_hash: &TokenHash,
    ) -> Result<(), ApiError> {
        let mut write = UserWrite::unscoped("REMOVE #pending");
        write.condition("#pending.#token_hash = :token_hash");
        write.value(
            ":token_hash",
            AttributeValue::S(token_hash.as_str().to_owned()),
        );
        // A newer request or a confirmation got there first: nothing to withdraw.
        self.update_user(user_id, write).await.map(|_| ())
    }

    /// Applies the pending change whose token hashes to `token_hash`: the new address, no
    /// pending change, `version` + 1, in one conditional `UpdateItem`. The token is the
    /// credential, so no tenant rule applies; it works once.
    pub async fn confirm_email(
        &self,
        user_id: UserId,
        token_hash: &TokenHash,
        now_epoch: i64,
        now: &str,
    ) -> Result<UserItem, ApiError> {
        let mut write = UserWrite::unscoped(
            "SET #contact.#email = #pending.#email, #version = #version + :one, \
             #updated_at = :now REMOVE #pending",
        );
        write.condition("#pending.#token_hash = :token_hash");
        write.condition("#pending.#expires > :now_epoch");
        write.value(
            ":token_hash",
            AttributeValue::S(token_hash.as_str().to_owned()),
        );
        write.value(":now_epoch", AttributeValue::N(now_epoch.to_string()));
        write.value(":now", AttributeValue::S(now.to_owned()));
        match self.update_user(user_id, write).await? {
            Ok(item) => Ok(item),
            Err(old) => match old.and_then(|item| item.pending_email) {
                Some(pending) if &pending.token_hash == token_hash => Err(ApiError::TokenExpired),
                // Unknown user, no pending change, or another (newer) token.
                _ => Err(ApiError::InvalidToken),
            },
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
        ("#hash", "password_hash"),
        ("#attempts", "password_attempts"),
        ("#window", "password_window_start"),
        ("#contact", "contact"),
        ("#email", "email"),
        ("#pending", "pending_email"),
        ("#token_hash", "token_hash"),
        ("#expires", "expires_epoch"),
        ("#activated", "activated"),
    ];

    /// `expected`: the version the caller read, for writes that change the user object.
    fn new(update: &'static str, rule: TenantRule, expected: Option<Version>) -> Self {
        let mut conditions = vec!["attribute_exists(#pk)", "contains(#tenant_path, :tenant)"];
        if let TenantRule::SubTenantsOf(_) = rule {
            conditions.push("#tenant_id <> :tenant");
        }
        let mut values = vec![
            (":tenant", AttributeValue::S(rule.tenant().to_string())),
            (":one", AttributeValue::N("1".into())),
            (":true", AttributeValue::Bool(true)),
        ];
        if let Some(expected) = expected {
            conditions.push("#version = :expected");
            values.push((":expected", AttributeValue::N(expected.get().to_string())));
        }
        Self {
            update,
            conditions,
            values,
        }
    }

    /// A write that only needs the item to exist: the confirmation, whose token is the
    /// credential.
    fn unscoped(update: &'static str) -> Self {
        Self {
            update,
            conditions: vec!["attribute_exists(#pk)"],
            values: vec![(":one", AttributeValue::N("1".into()))],
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
    expected: Option<Version>,
) -> Result<UserItem, ApiError> {
    let old = old
        .filter(|item| rule.admits(&item.tenant_path))
        .ok_or(ApiError::NotFound)?;
    if expected.is_some_and(|expected| old.user.version != expected) {
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
    let transient = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => is_transient(service.err().code()),
        _ => false,
    };
    classify(operation, transient, DisplayErrorContext(&error))
}

/// The same for an operation's own service error (already taken out of the `SdkError`).
fn service_error<E>(operation: &'static str, error: E) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error,
{
    classify(
        operation,
        is_transient(error.code()),
        DisplayErrorContext(&error),
    )
}

fn classify(operation: &'static str, transient: bool, cause: impl std::fmt::Display) -> ApiError {
    let cause = format!("{operation}: {cause}");
    if transient {
        ApiError::Unavailable { cause }
    } else {
        ApiError::internal(cause)
    }
}

fn is_transient(code: Option<&str>) -> bool {
    code.is_some_and(|code| TRANSIENT_CODES.contains(&code))
}
