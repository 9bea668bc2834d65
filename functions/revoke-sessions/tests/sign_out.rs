//! `revoke-sessions` with the events the bus delivers: against the local stand-in (a
//! directory), and against a stand-in of Cognito's endpoint that answers as Cognito does,
//! failing included, through the real SDK client.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use revoke_sessions::{Config, KINDS, Outcome, Recorded, SignOut};
use serde_json::{Value, json};
use shared::UserId;
use shared::config::Env;
use testkit::{Reply, StandIn};

/// An account event as an EventBridge rule delivers it to its target.
fn event(kind: &str, user_id: &str) -> EventBridgeEvent {
    serde_json::from_value(json!({
        "version": "0",
        "id": format!("event-{kind}"),
        "detail-type": kind,
        "source": "platform.accounts",
        "account": "123456789012",
        "time": "2026-12-04T10:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {"event_id": "shard-1:49", "user_id": user_id, "occurred_at": "2026-12-04T10:00:00.000000+00:00"}
    }))
    .expect("an EventBridge event")
}

fn sign_out(vars: &[(&str, &str)]) -> SignOut {
    let mut vars = vars.to_vec();
    vars.extend([
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
    ]);
    let vars: &[(&str, &str)] = &vars;
    SignOut::connect(&Config::load(&Env::new(&vars)).expect("config")).expect("sign-out")
}

/// The sign-outs the directory stand-in recorded, in order.
fn files(dir: &std::path::Path) -> Vec<Recorded> {
    assert!(dir.is_dir(), "the stand-in's directory");
    testkit::json_files(dir)
        .into_iter()
        .map(|recorded| serde_json::from_value(recorded).expect("a sign-out"))
        .collect()
}

/// A sign-out to the directory stand-in, in a directory of its own.
fn directory_sign_out() -> (std::path::PathBuf, SignOut) {
    let dir = std::env::temp_dir().join(format!("revocations-{}", uuid::Uuid::new_v4()));
    let dir_text = dir.display().to_string();
    let sign_out = sign_out(&[
        ("SIGN_OUT_TRANSPORT", "directory"),
        ("REVOCATIONS_DIR", &dir_text),
    ]);
    (dir, sign_out)
}

#[tokio::test]
async fn each_session_ending_event_signs_the_user_out_once_and_others_are_ignored() {
    let (dir, sign_out) = directory_sign_out();
    let user = UserId::new_random();
    for kind in KINDS {
        let outcome = revoke_sessions::handle(&sign_out, &event(kind, &user.to_string())).await;
        assert_eq!(outcome.unwrap(), Outcome::SignedOut(user), "{kind}");
    }
    for kind in ["account.enabled", "account.email.changed"] {
        let outcome = revoke_sessions::handle(&sign_out, &event(kind, &user.to_string())).await;
        assert_eq!(outcome.unwrap(), Outcome::Ignored, "{kind}");
    }
    let recorded = files(&dir);
    let kinds: Vec<&str> = recorded.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(kinds, KINDS);
    assert!(recorded.iter().all(|r| r.user_id == user));
    assert_eq!(recorded[0].event_id, "event-account.password.changed");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_malformed_event_fails_so_that_it_is_retried_and_kept() {
    let (dir, sign_out) = directory_sign_out();
    for user in ["", "not-a-uuid"] {
        let outcome = revoke_sessions::handle(&sign_out, &event("account.disabled", user)).await;
        assert!(outcome.is_err(), "{user:?}");
    }
    let mut no_detail = event("account.disabled", "x");
    no_detail.detail = Value::Null;
    assert!(
        revoke_sessions::handle(&sign_out, &no_detail)
            .await
            .is_err()
    );
    assert!(files(&dir).is_empty());
    // A stand-in that cannot write (its directory gone) fails too.
    std::fs::remove_dir_all(&dir).unwrap();
    let user = UserId::new_random().to_string();
    let outcome = revoke_sessions::handle(&sign_out, &event("account.disabled", &user)).await;
    assert!(outcome.is_err());
}

/// Cognito's JSON protocol: an empty object for success, `__type` for an error.
async fn cognito(status: &'static str, body: &str) -> StandIn {
    let body = body.to_owned();
    StandIn::start(move |_| Reply {
        status,
        content_type: "application/x-amz-json-1.1",
        body: body.clone(),
    })
    .await
}

/// The Cognito sign-out of a function, its client at `endpoint` with the local
/// credentials (a function reads its own from the process environment).
fn cognito_sign_out(endpoint: &str) -> SignOut {
    let config = aws_sdk_cognitoidentityprovider::config::Builder::from(
        &testkit::local_sdk_config(endpoint),
    )
    .build();
    SignOut::Cognito {
        client: aws_sdk_cognitoidentityprovider::Client::from_conf(config),
        user_pool_id: "eu-west-1_AbC123".to_owned(),
    }
}

#[tokio::test]
async fn cognito_is_asked_to_sign_the_user_out_of_the_pool() {
    let stand_in = cognito("200 OK", "{}").await;
    let sign_out = cognito_sign_out(&stand_in.endpoint);
    let user = UserId::new_random();
    let outcome = revoke_sessions::handle(
        &sign_out,
        &event("account.password.reset", &user.to_string()),
    )
    .await;
    assert_eq!(outcome.unwrap(), Outcome::SignedOut(user));
    let bodies = stand_in.bodies();
    assert_eq!(bodies.len(), 1);
    let request: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(
        request,
        json!({"UserPoolId": "eu-west-1_AbC123", "Username": user.to_string()})
    );
}

#[tokio::test]
async fn a_user_cognito_does_not_know_is_done_and_a_failing_cognito_is_retried() {
    let unknown = cognito(
        "400 Bad Request",
        r#"{"__type":"UserNotFoundException","message":"User does not exist."}"#,
    )
    .await;
    let user = UserId::new_random();
    let outcome = revoke_sessions::handle(
        &cognito_sign_out(&unknown.endpoint),
        &event("account.disabled", &user.to_string()),
    )
    .await;
    assert_eq!(outcome.unwrap(), Outcome::NoSuchUser(user));
    assert_eq!(unknown.calls(), 1, "no retry of a user that does not exist");

    for (status, body) in [
        (
            "500 Internal Server Error",
            r#"{"__type":"InternalErrorException","message":"x"}"#,
        ),
        (
            "400 Bad Request",
            r#"{"__type":"TooManyRequestsException","message":"x"}"#,
        ),
        (
            "400 Bad Request",
            r#"{"__type":"NotAuthorizedException","message":"x"}"#,
        ),
    ] {
        let failing = cognito(status, body).await;
        let outcome = revoke_sessions::handle(
            &cognito_sign_out(&failing.endpoint),
            &event("account.disabled", &user.to_string()),
        )
        .await;
        assert!(outcome.is_err(), "{body}: an error, for Lambda to retry");
    }
}

#[test]
fn the_configuration_is_checked() {
    let load = |vars: &[(&str, &str)]| {
        let mut vars = vars.to_vec();
        vars.push(("AWS_REGION", "eu-west-1"));
        let vars: &[(&str, &str)] = &vars;
        Config::load(&Env::new(&vars)).err().map(|e| e.name)
    };
    assert_eq!(load(&[]), Some("SIGN_OUT_TRANSPORT"));
    assert_eq!(
        load(&[("SIGN_OUT_TRANSPORT", "okta")]),
        Some("SIGN_OUT_TRANSPORT")
    );
    assert_eq!(
        load(&[("SIGN_OUT_TRANSPORT", "cognito")]),
        Some("COGNITO_USER_POOL_ID")
    );
    assert_eq!(
        load(&[
            ("SIGN_OUT_TRANSPORT", "cognito"),
            ("COGNITO_USER_POOL_ID", "pool")
        ]),
        Some("COGNITO_USER_POOL_ID")
    );
    assert_eq!(
        load(&[
            ("SIGN_OUT_TRANSPORT", "cognito"),
            ("COGNITO_USER_POOL_ID", "eu-west-1_abc"),
            ("COGNITO_ENDPOINT", "ftp://x")
        ]),
        Some("COGNITO_ENDPOINT")
    );
    assert_eq!(
        load(&[("SIGN_OUT_TRANSPORT", "directory")]),
        Some("REVOCATIONS_DIR")
    );
}

#[test]
fn the_templates_rule_matches_exactly_the_events_that_end_sessions() {
    let template: serde_norway::Value = serde_norway::from_str(testkit::TEMPLATE).unwrap();
    let pattern = &template["Resources"]["RevokeSessionsFunction"]["Properties"]["Events"]["SessionsEnd"]
        ["Properties"]["Pattern"]["detail-type"];
    let kinds: Vec<&str> = pattern
        .as_sequence()
        .expect("a list of detail-types")
        .iter()
        .map(|kind| kind.as_str().expect("a detail-type"))
        .collect();
    assert_eq!(kinds, KINDS);
}
