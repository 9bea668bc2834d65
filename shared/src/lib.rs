//! What the account functions have in common, one module per concern of the contract
//! (docs/contract.md). In reading order:
//!
//! - The domain, plain values and rules that know nothing of AWS or HTTP: [`ids`], [`now`],
//!   [`tenant`], [`user`], [`email`], [`password`], [`confirmation`], [`limit`], [`audit`]
//!   (who changed what), [`session`] (a token's issue time and session, for revocation),
//!   [`language`] (the reader's language and the Fluent messages).
//! - Who calls and how a request is read: [`caller`] (claims, development tokens),
//!   [`idempotency`] (`Idempotency-Key`), [`error`] (the one error type, problem+json),
//!   [`http`] (bodies, path, responses).
//! - The AWS adapters: [`config`] (every environment variable, validated once), [`aws`] (the
//!   SDK's HTTPS client, timeouts and retries), [`store`] (DynamoDB: every write
//!   conditional), [`mail`] (SES or `.eml` files), [`metrics`] (CloudWatch EMF).
//! - The edge every `main.rs` calls: [`runtime`] (start once per cold start, serve, log one
//!   line per request).

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
