//! Which SDK failures mean "try again later" (503) and which are bugs or misconfiguration
//! (500).

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::decode_user;
use crate::error::ApiError;
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

/// An item as DynamoDB returns it.
pub(super) type Item = HashMap<String, AttributeValue>;

/// The old user item of a failed conditional `UpdateItem`, or the error as an [`ApiError`].
pub(super) fn condition_failure_item<R>(
    error: SdkError<UpdateItemError, R>,
) -> Result<Option<UserItem>, ApiError>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    update_refusal(error)?.map(decode_user).transpose()
}

/// The old item (`ReturnValuesOnConditionCheckFailure = ALL_OLD`) of an `UpdateItem` whose
/// condition failed; any other failure as an [`ApiError`].
pub(super) fn update_refusal<R>(
    error: SdkError<UpdateItemError, R>,
) -> Result<Option<Item>, ApiError>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match error {
        SdkError::ServiceError(service) => match service.into_err() {
            UpdateItemError::ConditionalCheckFailedException(failure) => Ok(failure.item),
            other => Err(service_failure("UpdateItem", &other)),
        },
        other => Err(sdk_error("UpdateItem", other)),
    }
}

/// As [`update_refusal`], for a `PutItem`.
pub(super) fn put_refusal<R>(error: SdkError<PutItemError, R>) -> Result<Option<Item>, ApiError>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match error {
        SdkError::ServiceError(service) => match service.into_err() {
            PutItemError::ConditionalCheckFailedException(failure) => Ok(failure.item),
            other => Err(service_failure("PutItem", &other)),
        },
        other => Err(sdk_error("PutItem", other)),
    }
}

fn service_failure<E>(operation: &'static str, error: &E) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error,
{
    classify(
        operation,
        is_transient(error.code()),
        DisplayErrorContext(error),
    )
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
