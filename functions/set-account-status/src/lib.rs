//! `PUT /users/{user_id}/status`: enable or disable an account, with optimistic concurrency
//! on `version`, in one conditional DynamoDB write.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::audit::{Actor, Origin};
use shared::http::{Precondition, json_body, not_null, user_response};
use shared::idempotency::{self, NoSecrets};
use shared::runtime::CoreFunction;
use shared::store::StatusChange;
use shared::{ApiError, Caller, Core, UserId, Version};

/// The store and the authenticator.
pub struct State(pub Core);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusRequest {
    enabled: bool,
    /// Optional when `If-Match` names the version.
    #[serde(default, deserialize_with = "not_null")]
    version: Option<Version>,
}

impl CoreFunction for State {
    fn new(core: Core) -> Self {
        Self(core)
    }

    async fn handle(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let (caller, user_id) = self.0.caller_and_user(request)?;
        // Before anything is read or replayed.
        if !caller.can_write() {
            return Err(ApiError::Forbidden(
                "changing an account's status requires the scope users:write".into(),
            ));
        }
        let valid = || json_body::<StatusRequest>(request).map(drop);
        let work = set_status(&self.0, request, &caller, user_id);
        let store = &self.0.store;
        idempotency::once(store, request, &caller, user_id, &NoSecrets, valid, work).await
    }
}

async fn set_status(
    core: &Core,
    request: &Request,
    caller: &Caller,
    user_id: UserId,
) -> Result<Response<Body>, ApiError> {
    let body: StatusRequest = json_body(request)?;
    let precondition = Precondition::of(request, body.version)?;
    let acting_on_self = caller.is_user(user_id);
    if acting_on_self && !body.enabled {
        return Err(ApiError::Forbidden(
            "a caller cannot disable its own account".into(),
        ));
    }
    let item = core
        .store
        .set_enabled(&StatusChange {
            user_id,
            rule: caller.subtree(),
            expected: precondition.version,
            enabled: body.enabled,
            own: caller.own_token(user_id).cloned(),
            now: shared::Now::current(),
            origin: Origin::of(request, Actor::caller(caller)),
        })
        .await
        .map_err(|e| precondition.explain(e))?;
    Ok(user_response(&item))
}
