//! `GET /users/{user_id}`: the user object, for the user itself or a caller with
//! `users:read` or `users:write` whose subtree holds the user.

use lambda_http::{Body, Request, Response};
use shared::http::user_response;
use shared::runtime::CoreFunction;
use shared::{ApiError, Core};

/// The store and the authenticator.
pub struct State(pub Core);

impl CoreFunction for State {
    fn new(core: Core) -> Self {
        Self(core)
    }

    async fn handle(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let (caller, user_id) = self.0.caller_and_user(request)?;
        if !caller.is_user(user_id) && !caller.can_read() {
            return Err(ApiError::Forbidden(
                "reading another user requires the scope users:read or users:write".into(),
            ));
        }
        // Even the user itself is checked against its claimed tenant; a user outside the
        // caller's subtree is reported exactly like a missing one.
        let item = self
            .0
            .store
            .get_user(user_id)
            .await?
            .filter(|item| caller.subtree().admits(&item.tenant_path))
            .ok_or(ApiError::NotFound)?;
        // The user itself: a revoked token or a disabled account reads nothing, checked on
        // the item just read (no request of its own).
        if let Some(token) = caller.own_token(user_id) {
            item.admits(token)?;
        }
        Ok(user_response(&item))
    }
}
