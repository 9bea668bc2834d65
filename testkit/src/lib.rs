//! What the tests and the local tools share: a DynamoDB Local table per test, made from the
//! table definition in `template.yaml`, fixtures, API Gateway events, a request harness that
//! runs a case over every payload version, development tokens, and the check that no secret
//! reaches a log. A dev-dependency of the functions and `tests`, a dependency of the local
//! tools; never linked into a Lambda binary.

pub mod bus;
mod demo;
mod events;
mod fixtures;
pub mod gateway;
mod harness;
pub mod idp;
pub mod logs;
mod mail;
mod stand_in;
mod stream;
mod table;

pub use demo::{DEMO_SEED, DemoSeed, EventManifest, ExpectedEvent};
pub use events::{
    Claims, ClaimsShape, Event, Payload, assert_looks_missing, assert_problem, body_json,
    email_change, mint_dev_token, retry_after,
};
pub use fixtures::{Fixture, hash_password, new_user, put_tenant, put_user};
pub use harness::{Answers, DELIVERIES, Harness, PAYLOADS, for_each_payload};
pub use mail::{
    Message, ReceivedMail, directory_mailer, email_config, event_entries, files, json_files,
    mail_dir, messages, received_mails,
};
pub use stand_in::{Reply, StandIn};
pub use stream::{StreamFilter, StreamReader, stream_event};
pub use table::{
    FromTemplate, LOCAL_ACCESS_KEY, LOCAL_REGION, RequestCounter, TEMPLATE, TableDefinition,
    TestTable, local_client, local_endpoint, local_sdk_config,
};

/// A development secret for tests (any 32+ bytes will do).
pub const TEST_DEV_SECRET: &str = "test-secret-0123456789abcdef-0123456789";

/// The origin of a change a test makes through the store directly, as `actor`.
pub fn origin(actor: shared::audit::Actor) -> shared::audit::Origin {
    shared::audit::Origin {
        actor,
        request_id: shared::audit::RequestId::parse("test-request").expect("a valid request id"),
    }
}
