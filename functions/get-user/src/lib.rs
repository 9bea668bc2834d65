//! `GET /users/{user_id}`: the user object, for the user itself or a caller with
//! `users:read` or `users:write` whose subtree holds the user.

use lambda_http::{Body, Request, Response};
use shared::config::ConfigError;
use shared::http::{path_user_id, user_response};
use shared::runtime::Function;
use shared::{ApiError, Core, CoreConfig};

/// The store and the authenticator.
pub struct State(pub Core);

impl Function for State {
    type Config = CoreConfig;

    fn config() -> Result<CoreConfig, ConfigError> {
        CoreConfig::from_env()
    }

    fn connect(config: &CoreConfig) -> Result<Self, ConfigError> {
        Core::connect(config).map(Self)
    }

    async fn handle(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = self.0.auth.caller(request)?;
        let user_id = path_user_id(request)?;
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
        Ok(user_response(&item))
    }
}
