//! The leak check of every fixture, proven to fire: a secret registered where the test
//! support makes it, then logged, fails the test that logged it.
//!
//! Its own test binary (own process) because secrets and the log capture are per process:
//! the planted leak would fail every other test's fixture.

use std::panic::AssertUnwindSafe;

use serde_json::json;
use shared::UserId;
use testkit::{Event, Fixture, Payload};

#[tokio::test]
async fn a_fixture_fails_its_test_when_a_secret_reaches_the_logs() {
    let fixture = Fixture::new().await;
    // A password as a test sends it: the event builder registers it.
    let planted = "a planted passphrase 0123";
    let _event = Event::new(Payload::V2, "POST", "/users/{user_id}/password")
        .user_id(UserId::new_random())
        .json(json!({"password": planted}));
    assert_eq!(testkit::logs::leaks(), 0, "nothing logged yet");

    // The most verbose level a function accepts still reaches the capture.
    tracing::debug!("a careless line: {planted}");
    assert!(testkit::logs::captured().contains(planted));
    assert_eq!(testkit::logs::leaks(), 1);

    let dropped = std::panic::catch_unwind(AssertUnwindSafe(|| drop(fixture)));
    let message = dropped.expect_err("the fixture must fail the test");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("1 secret(s) reached the logs"),
        "{message}"
    );
    assert!(
        !message.contains(planted),
        "the failure does not repeat the secret"
    );
}
