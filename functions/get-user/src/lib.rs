//! `GET /users/{user_id}`: the user object, for the user itself or a caller with
//! `users:read` or `users:write` whose subtree holds the user.

use lambda_http::{Body, Request, Response};
use shared::http::{finish, path_user_id, user_response};
use shared::{ApiError, Core};

pub type Config = shared::CoreConfig;
pub type State = Core;

pub async fn handle(state: &State, request: Request) -> Response<Body> {
    let result = get_user(state, &request).await;
    finish(&request, result)
}

async fn get_user(state: &State, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = state.auth.caller(request)?;
    let user_id = path_user_id(request)?;
    if !caller.is_user(user_id) && !caller.can_read() {
        return Err(ApiError::Forbidden(
            "reading another user requires the scope users:read or users:write".into(),
        ));
    }
    // Even the user itself is checked against its claimed tenant; a user outside the
    // caller's subtree is reported exactly like a missing one.
    let item = state
        .store
        .get_user(user_id)
        .await?
        .filter(|item| caller.subtree().admits(&item.tenant_path))
        .ok_or(ApiError::NotFound)?;
    Ok(user_response(&item))
}
