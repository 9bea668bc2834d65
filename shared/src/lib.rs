//! What the account functions have in common, one module per concern of the spec:
//! configuration, callers (claims), tenants, users, the DynamoDB store, errors and HTTP.

pub mod audit;
pub mod aws;
pub mod caller;
pub mod config;
pub mod confirmation;
pub mod email;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod ids;
#[cfg(feature = "language")]
pub mod language;
pub mod limit;
#[cfg(feature = "mail")]
pub mod mail;
pub mod metrics;
pub mod now;
pub mod password;
pub mod runtime;
pub mod session;
pub mod store;
pub mod tenant;
pub mod user;

pub use caller::{Authenticator, Caller, Principal};
pub use config::{AuthMode, ConfigError, CoreConfig};
pub use error::{ApiError, FieldError};
pub use ids::{ClientId, TenantId, UserId, Version};
pub use now::Now;
pub use runtime::Core;
pub use store::Store;
pub use tenant::{TenantPath, TenantRule};
pub use user::{Contact, User, UserItem};
