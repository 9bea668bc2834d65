//! What the account functions have in common, one module per concern of the spec:
//! configuration, callers (claims), tenants, users, the DynamoDB store, errors and HTTP.

pub mod aws;
pub mod caller;
pub mod config;
pub mod email;
pub mod error;
pub mod http;
pub mod ids;
#[cfg(feature = "mail")]
pub mod mail;
pub mod password;
pub mod runtime;
pub mod store;
pub mod tenant;
pub mod token;
pub mod user;

#[cfg(feature = "test-support")]
pub mod testing;

pub use caller::{Authenticator, Caller, Principal};
pub use config::{AuthMode, ConfigError, CoreConfig};
pub use error::{ApiError, FieldError};
pub use ids::{ClientId, TenantId, UserId, Version};
pub use runtime::Core;
pub use store::Store;
pub use tenant::{TenantPath, TenantRule};
pub use user::{Contact, User, UserItem};

/// The current time in the platform's timestamp format (`2019-07-25T07:11:02.807354+00:00`).
pub fn now_timestamp() -> String {
    user::format_timestamp(time::OffsetDateTime::now_utc())
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
