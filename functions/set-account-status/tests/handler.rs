//! `PUT /users/{user_id}/status` through the real handler, with API Gateway events of both
//! payload versions, against DynamoDB Local.

use serde_json::{Value, json};
use set_account_status::State;
use shared::idempotency::{Fingerprint, IdempotencyKey, LEASE_SECS, RecordKey};
use shared::runtime::respond;
use shared::store::KeyLease;
use shared::{AuthMode, Authenticator, Core, Now, Store, UserId};
use testkit::{
    Claims, ClaimsShape, Event, Fixture, Harness, PAYLOADS, Payload, RequestCounter,
    assert_problem, body_json, local_client, retry_after,
};

const ROUTE: &str = "/users/{user_id}/status";

fn state(fixture: &Fixture) -> State {
    State(fixture.core())
}

fn put(payload: Payload, id: impl ToString, claims: &Claims, body: Value) -> Event {
    Event::new(payload, "PUT", ROUTE)
        .user_id(id)
        .claims(claims)
        .json(body)
}

#[tokio::test]
async fn disable_then_enable_grows_version_by_one_each_in_one_request() {
    for payload in PAYLOADS {
        let (fixture, state) = Fixture::with(state).await;
        let user = fixture.user(&fixture.sub_customer).await;
        let admin = fixture.admin();

        let body = json!({"enabled": false, "version": 1});
        let response = respond(&state, put(payload, user.id, &admin, body).request()).await;
        assert_eq!(response.status(), 200, "{payload:?}");
        assert_eq!(response.headers()["etag"], "\"2\"");
        assert_eq!(
            fixture.table.counter.get(),
            1,
            "exactly one DynamoDB request"
        );
        let returned = body_json(&response);
        assert_eq!(returned["enabled"], false);
        assert_eq!(returned["version"], 2);
        assert_eq!(returned["id"], json!(user.id));

        let stored = fixture.stored(user.id).await.unwrap();
        assert!(!stored.user.enabled);
        assert_eq!(stored.user.version.get(), 2);
        assert_eq!(serde_json::to_value(&stored.user).unwrap(), returned);

        let body = json!({"enabled": true, "version": 2});
        let response = respond(&state, put(payload, user.id, &admin, body).request()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(body_json(&response)["version"], 3);
        assert_eq!(body_json(&response)["enabled"], true);
        assert_eq!(fixture.table.counter.get(), 1);
    }
}

#[tokio::test]
async fn a_stale_version_is_a_conflict_that_tells_the_current_version() {
    for payload in PAYLOADS {
        let (fixture, state) = Fixture::with(state).await;
        let user = fixture
            .user_with(&fixture.customer, |u| {
                u.version = shared::Version::new(5).unwrap()
            })
            .await;
        let admin = fixture.admin();
        for stale in [1, 4, 6, 99] {
            fixture.table.counter.reset();
            let body = json!({"enabled": false, "version": stale});
            let response = respond(&state, put(payload, user.id, &admin, body).request()).await;
            let problem = assert_problem(&response, 409, "version-conflict");
            assert_eq!(problem["current_version"], 5);
            assert_eq!(
                fixture.table.counter.get(),
                1,
                "no second read to learn the version"
            );
        }
        fixture.assert_unchanged(&user).await;
    }
}

#[tokio::test]
async fn asking_for_the_current_status_changes_nothing() {
    for payload in PAYLOADS {
        let (fixture, state, enabled) = Fixture::with_user(state).await;
        let disabled = fixture.disabled_user(&fixture.customer).await;
        let admin = Claims::client("admin", fixture.customer.tenant(), "users:write");
        for (user, value) in [(&enabled, true), (&disabled, false)] {
            fixture.table.counter.reset();
            let body = json!({"enabled": value, "version": 1});
            let response = respond(&state, put(payload, user.id, &admin, body).request()).await;
            assert_eq!(response.status(), 200);
            assert_eq!(body_json(&response), serde_json::to_value(user).unwrap());
            assert_eq!(fixture.table.counter.get(), 1);
            assert_eq!(&fixture.stored(user.id).await.unwrap().user, user);
        }
        // The same request with a stale version is still a conflict.
        let body = json!({"enabled": true, "version": 2});
        let response = respond(&state, put(payload, enabled.id, &admin, body).request()).await;
        assert_problem(&response, 409, "version-conflict");
    }
}

#[tokio::test]
async fn only_the_callers_subtree_is_reachable_and_outside_looks_missing() {
    let (fixture, state, customer_user) = Fixture::with_user(state).await;
    let status = Harness::new(&state, ROUTE);
    let disable = |version: u64| json!({"enabled": false, "version": version});
    for tenant in [
        fixture.other_partner.tenant(),
        fixture.sub_customer.tenant(),
    ] {
        let outsider = Claims::client("admin", tenant, "users:write");
        let outside = status.put(customer_user.id, &outsider, disable(1)).await;
        let missing = status.put(UserId::new_random(), &outsider, disable(1));
        outside.looks_missing(&missing.await);
    }
    // A wrong version from outside must not reveal the current version either.
    let outsider = Claims::client("admin", fixture.other_partner.tenant(), "users:write");
    let answers = status.put(customer_user.id, &outsider, disable(7)).await;
    let problem = answers.expect(404).problem("not-found");
    assert!(problem.get("current_version").is_none());
    fixture.assert_unchanged(&customer_user).await;
}

#[tokio::test]
async fn a_user_with_users_write_manages_its_subtree() {
    let (fixture, state, admin) = Fixture::with_user(state).await;
    let target = fixture.user(&fixture.sub_customer).await;
    for (payload, shape) in [
        (Payload::V2, ClaimsShape::Lambda),
        (Payload::V1, ClaimsShape::Lambda),
    ] {
        let claims = Claims::user(admin.id, fixture.customer.tenant(), "users:write");
        let current = fixture.stored(target.id).await.unwrap().user;
        let body = json!({"enabled": !current.enabled, "version": current.version.get()});
        let event = put(payload, target.id, &claims, body).claims_shape(shape);
        let response = respond(&state, event.request()).await;
        assert_eq!(response.status(), 200, "{payload:?}");
        assert_eq!(body_json(&response)["version"], current.version.get() + 1);
    }
}

#[tokio::test]
async fn without_users_write_it_is_forbidden() {
    let (fixture, state, user) = Fixture::with_user(state).await;
    let status = Harness::new(&state, ROUTE);
    for scope in ["", "users:read", "users:writer"] {
        let claims = Claims::client("reader", fixture.partner.tenant(), scope);
        let body = json!({"enabled": false, "version": 1});
        let answers = status.put(user.id, &claims, body).await;
        answers.expect(403).problem("forbidden");
    }
    fixture.assert_unchanged(&user).await;
}

#[tokio::test]
async fn a_caller_cannot_disable_itself_nor_revive_itself() {
    let (fixture, state, me) = Fixture::with_user(state).await;
    let status = Harness::new(&state, ROUTE);
    let disabled_me = fixture.disabled_user(&fixture.customer).await;
    let claims = Claims::user(me.id, fixture.customer.tenant(), "users:write");
    let answers = status
        .put(me.id, &claims, json!({"enabled": false, "version": 1}))
        .await;
    let problem = answers.expect(403).problem("forbidden");
    assert!(problem["detail"].as_str().unwrap().contains("own account"));
    // Enabling an enabled self is a no-op.
    let answers = status
        .put(me.id, &claims, json!({"enabled": true, "version": 1}))
        .await;
    answers.expect(200);

    let claims = Claims::user(disabled_me.id, fixture.customer.tenant(), "users:write");
    let answers = status
        .put(
            disabled_me.id,
            &claims,
            json!({"enabled": true, "version": 1}),
        )
        .await;
    answers.expect(403).problem("account-disabled");
    fixture.assert_unchanged(&me).await;
    fixture.assert_unchanged(&disabled_me).await;
}

#[tokio::test]
async fn no_claims_is_unauthorized() {
    let (fixture, state, user) = Fixture::with_user(state).await;
    let status = Harness::new(&state, ROUTE);
    let body = json!({"enabled": false, "version": 1});
    let answers = status.anonymous("PUT", user.id, Some(body)).await;
    let answers = answers.expect(401);
    answers.problem("unauthorized");
    for response in answers.all() {
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }
    assert_eq!(
        fixture.table.counter.get(),
        0,
        "no DynamoDB request without a caller"
    );
}

/// A body, its content type, and the expected status, slug and offending field.
type BadBody<'a> = (&'a str, Option<&'a str>, u16, &'a str, Option<&'a str>);

#[tokio::test]
async fn bad_bodies_are_refused_and_change_nothing() {
    let (fixture, state, user) = Fixture::with_user(state).await;
    let admin = fixture.admin();
    let json = Some("application/json");
    let huge = format!(
        r#"{{"enabled": false, "version": 1, "pad": "{}"}}"#,
        "x".repeat(16 * 1024)
    );
    let cases: Vec<BadBody> = vec![
        ("{", json, 400, "validation-error", Some("body")),
        ("", json, 400, "validation-error", Some("body")),
        ("[]", json, 400, "validation-error", Some("body")),
        ("null", json, 400, "validation-error", Some("body")),
        // No version and no If-Match: the change cannot say which version it replaces.
        (
            r#"{"enabled": false}"#,
            json,
            428,
            "precondition-required",
            None,
        ),
        (
            r#"{"version": 1}"#,
            json,
            400,
            "validation-error",
            Some("enabled"),
        ),
        // `version` may be left out (If-Match), not null.
        (
            r#"{"enabled": false, "version": null}"#,
            json,
            400,
            "validation-error",
            Some("version"),
        ),
        (
            r#"{"enabled": "false", "version": 1}"#,
            json,
            400,
            "validation-error",
            Some("enabled"),
        ),
        (
            r#"{"enabled": false, "version": 0}"#,
            json,
            400,
            "validation-error",
            Some("version"),
        ),
        (
            r#"{"enabled": false, "version": -1}"#,
            json,
            400,
            "validation-error",
            Some("version"),
        ),
        (
            r#"{"enabled": false, "version": 1.5}"#,
            json,
            400,
            "validation-error",
            Some("version"),
        ),
        (
            r#"{"enabled": false, "version": "1"}"#,
            json,
            400,
            "validation-error",
            Some("version"),
        ),
        (
            r#"{"enabled": false, "version": 1, "id": "x"}"#,
            json,
            400,
            "validation-error",
            Some("id"),
        ),
        (
            r#"{"enabled": false, "enabled": true, "version": 1}"#,
            json,
            400,
            "validation-error",
            None,
        ),
        (
            r#"{"enabled": false, "version": 1} trailing"#,
            json,
            400,
            "validation-error",
            Some("body"),
        ),
        (&huge, json, 413, "payload-too-large", None),
        (
            r#"{"enabled": false, "version": 1}"#,
            Some("text/plain"),
            415,
            "unsupported-media-type",
            None,
        ),
        (
            r#"{"enabled": false, "version": 1}"#,
            Some("application/x-www-form-urlencoded"),
            415,
            "unsupported-media-type",
            None,
        ),
        (
            r#"{"enabled": false, "version": 1}"#,
            None,
            415,
            "unsupported-media-type",
            None,
        ),
    ];
    for payload in PAYLOADS {
        for (body, content_type, status, slug, field) in &cases {
            let event = Event::new(payload, "PUT", ROUTE)
                .user_id(user.id)
                .claims(&admin)
                .body(body, *content_type);
            let response = respond(&state, event.request()).await;
            let problem = assert_problem(&response, *status, slug);
            if let Some(field) = field {
                assert_eq!(problem["errors"][0]["field"], *field, "{body:?}: {problem}");
            }
        }
    }
    // `application/json; charset=utf-8` is JSON too.
    let event = Event::new(Payload::V2, "PUT", ROUTE)
        .user_id(user.id)
        .claims(&admin)
        .body(
            r#"{"enabled": true, "version": 1}"#,
            Some("Application/JSON; charset=utf-8"),
        );
    assert_eq!(respond(&state, event.request()).await.status(), 200);
    fixture.assert_unchanged(&user).await;
}

#[tokio::test]
async fn an_unreachable_dynamodb_is_a_503_with_retry_after() {
    let counter = RequestCounter::default();
    // Nothing listens on port 9 (discard) here: every attempt fails to connect.
    let store = Store::new(local_client("http://127.0.0.1:9", &counter), "accounts");
    let state = State(Core::new(store, Authenticator::new(&AuthMode::ApiGateway)));
    let admin = Claims::client("admin", shared::TenantId::new_random(), "users:write");
    let started = std::time::Instant::now();
    let body = json!({"enabled": false, "version": 1});
    let response = respond(
        &state,
        put(Payload::V2, UserId::new_random(), &admin, body).request(),
    )
    .await;
    assert_problem(&response, 503, "unavailable");
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(counter.get(), 3, "bounded retries");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "well before the Lambda timeout"
    );
}

#[tokio::test]
async fn disabling_withdraws_a_pending_email_change_and_marks_the_credentials() {
    for payload in PAYLOADS {
        let (fixture, state) = Fixture::with(state).await;
        // A user with a pending change, as change-email stores it.
        let id = UserId::new_random();
        let user = testkit::new_user(id, "pending", "old@example.com", &fixture.customer);
        let mut item = shared::UserItem::new(user.clone(), fixture.customer.clone());
        let token = shared::confirmation::ConfirmationToken::generate().unwrap();
        let expires = shared::Now::current().later(3600);
        item.pending_email = Some(shared::confirmation::PendingEmail {
            email: "new@new.example".into(),
            token_hash: token.hash(),
            requested_at: shared::Now::current().timestamp,
            expires_at: expires.timestamp,
            expires_epoch: expires.epoch,
        });
        testkit::put_user(fixture.store(), &item).await.unwrap();
        let admin = fixture.admin();

        fixture.table.counter.reset();
        let body = json!({"enabled": false, "version": 1});
        let response = respond(&state, put(payload, user.id, &admin, body).request()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(fixture.table.counter.get(), 1, "one write");
        assert!(body_json(&response).get("pending_email_change").is_none());
        assert!(body_json(&response).get("credentials_changed_at").is_none());
        let stored = fixture.stored(user.id).await.unwrap();
        assert!(stored.pending_email.is_none());
        let marked = stored.credentials_changed_at.clone();
        assert!(marked.is_some());

        // Enabling again leaves the mark as it was.
        let body = json!({"enabled": true, "version": 2});
        let response = respond(&state, put(payload, user.id, &admin, body).request()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            fixture
                .stored(user.id)
                .await
                .unwrap()
                .credentials_changed_at,
            marked
        );
    }
}

#[tokio::test]
async fn if_match_may_name_the_version_and_a_stale_one_is_412() {
    let (fixture, state, user) = Fixture::with_user(state).await;
    let admin = fixture.admin();
    let status = Harness::new(&state, ROUTE);
    let with_if_match = |if_match: &'static str, body: serde_json::Value| {
        let admin = admin.clone();
        move |payload| put(payload, user.id, &admin, body.clone()).header("if-match", if_match)
    };
    // A stale If-Match: 412 with the current version, nothing changed.
    let answers = status
        .send(with_if_match("\"7\"", json!({"enabled": false})))
        .await;
    let problem = answers.expect(412).problem("precondition-failed");
    assert_eq!(problem["current_version"], 1);
    // If-Match and body that disagree: 400.
    let answers = status
        .send(with_if_match(
            "\"1\"",
            json!({"enabled": false, "version": 2}),
        ))
        .await;
    answers.expect(400).problem("validation-error");
    // Neither: 428.
    let answers = status.put(user.id, &admin, json!({"enabled": false})).await;
    answers.expect(428).problem("precondition-required");
    // Not an ETag of a version: 400.
    for bad in ["*", "W/\"1\"", "1", "\"1\", \"2\"", "\"0\""] {
        let answers = status
            .send(with_if_match(bad, json!({"enabled": false})))
            .await;
        answers.expect(400).problem("validation-error");
    }
    fixture.assert_unchanged(&user).await;

    // The current ETag alone, or with the same body version: the change applies.
    for payload in PAYLOADS {
        let current = fixture.stored(user.id).await.unwrap().user;
        let etag = format!("\"{}\"", current.version);
        let body = json!({"enabled": !current.enabled});
        let event = put(payload, user.id, &admin, body).header("if-match", &etag);
        let response = respond(&state, event.request()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["etag"],
            format!("\"{}\"", current.version.get() + 1).as_str()
        );
    }
}

#[tokio::test]
async fn a_retried_status_change_with_the_same_key_gets_its_first_200_not_a_409() {
    for payload in PAYLOADS {
        let (fixture, state, user) = Fixture::with_user(state).await;
        let admin = fixture.admin();
        let keyed = |body: Value, key: &str| {
            put(payload, user.id, &admin, body).header("idempotency-key", key)
        };
        let disable = json!({"enabled": false, "version": 1});

        let first = respond(&state, keyed(disable.clone(), "\"retry-1\"").request()).await;
        assert_eq!(first.status(), 200, "{payload:?}");
        assert_eq!(
            fixture.table.counter.get(),
            3,
            "lease the key, the change, store the answer"
        );
        assert!(first.headers().get("idempotent-replayed").is_none());

        // The retry: the first answer, nothing done again (one request: the lease).
        fixture.table.counter.reset();
        let retry = respond(&state, keyed(disable.clone(), "\"retry-1\"").request()).await;
        assert_eq!(retry.status(), 200);
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        assert_eq!(retry.headers()["etag"], "\"2\"");
        assert_eq!(retry.headers()["content-type"], "application/json");
        assert_eq!(body_json(&retry), body_json(&first));
        assert_eq!(fixture.table.counter.get(), 1);
        let stored = fixture.stored(user.id).await.unwrap().user;
        assert_eq!(stored.version.get(), 2);

        // The same key with another request: 422, nothing changed.
        let enable = json!({"enabled": true, "version": 2});
        let other = respond(&state, keyed(enable.clone(), "\"retry-1\"").request()).await;
        assert_problem(&other, 422, "idempotency-key-reuse");
        let other_if_match =
            keyed(json!({"enabled": false}), "\"retry-1\"").header("if-match", "\"1\"");
        let other = respond(&state, other_if_match.request()).await;
        assert_problem(&other, 422, "idempotency-key-reuse");
        let malformed = respond(
            &state,
            keyed(json!({"enabled": "no"}), "\"retry-1\"").request(),
        )
        .await;
        assert_problem(&malformed, 400, "validation-error");
        assert_eq!(fixture.stored(user.id).await.unwrap().user, stored);

        // Another key is another request.
        let fresh = respond(&state, keyed(enable, "\"retry-2\"").request()).await;
        assert_eq!(fresh.status(), 200);
        assert_eq!(body_json(&fresh)["version"], 3);
    }
}

#[tokio::test]
async fn a_key_belongs_to_one_caller_and_one_user() {
    let (fixture, state, john) = Fixture::with_user(state).await;
    let jane = fixture.user(&fixture.customer).await;
    let admin = fixture.admin();
    let robot = Claims::client("robot", fixture.partner.tenant(), "users:write");
    let keyed = |user: UserId, caller: &Claims| {
        put(
            Payload::V2,
            user,
            caller,
            json!({"enabled": false, "version": 1}),
        )
        .header("idempotency-key", "\"shared-key\"")
    };
    let first = respond(&state, keyed(john.id, &admin).request()).await;
    assert_eq!(first.status(), 200);
    // Another caller with the same key and request: its own request, so a 409 now.
    let robot_answer = respond(&state, keyed(john.id, &robot).request()).await;
    assert_problem(&robot_answer, 409, "version-conflict");
    // The same caller and key for another user: its own request too.
    let jane_answer = respond(&state, keyed(jane.id, &admin).request()).await;
    assert_eq!(jane_answer.status(), 200);
    assert!(jane_answer.headers().get("idempotent-replayed").is_none());
    assert!(!fixture.stored(jane.id).await.unwrap().user.enabled);
}

#[tokio::test]
async fn a_refused_request_releases_its_key_so_a_retry_runs_again() {
    let (fixture, state, user) = Fixture::with_user(state).await;
    let admin = fixture.admin();
    let keyed =
        |body: Value| put(Payload::V2, user.id, &admin, body).header("idempotency-key", "\"k\"");
    // An error is not remembered: the key is released (lease, refused write, release).
    let stale = respond(
        &state,
        keyed(json!({"enabled": false, "version": 7})).request(),
    )
    .await;
    assert_problem(&stale, 409, "version-conflict");
    assert_eq!(fixture.table.counter.get(), 3);
    let again = respond(
        &state,
        keyed(json!({"enabled": false, "version": 7})).request(),
    )
    .await;
    assert_problem(&again, 409, "version-conflict");
    assert!(again.headers().get("idempotent-replayed").is_none());
    // So the key may carry the corrected request.
    let fixed = respond(
        &state,
        keyed(json!({"enabled": false, "version": 1})).request(),
    )
    .await;
    assert_eq!(fixed.status(), 200);
}

#[tokio::test]
async fn malformed_idempotency_keys_are_400_and_change_nothing() {
    let (fixture, state, user) = Fixture::with_user(state).await;
    let too_long = format!("\"{}\"", "k".repeat(256));
    let admin = fixture.admin();
    let status = Harness::new(&state, ROUTE);
    for bad in [
        "",
        "\"\"",
        "unquoted",
        "\"a\";p=1",
        "\"a\", \"b\"",
        "42",
        too_long.as_str(),
    ] {
        fixture.table.counter.reset();
        let answers = status
            .send(|payload| {
                put(
                    payload,
                    user.id,
                    &admin,
                    json!({"enabled": false, "version": 1}),
                )
                .header("idempotency-key", bad)
            })
            .await;
        let problem = answers.expect(400).problem("validation-error");
        assert_eq!(problem["errors"][0]["field"], "Idempotency-Key", "{bad:?}");
        assert_eq!(fixture.table.counter.get(), 0, "{bad:?}");
    }
    fixture.assert_unchanged(&user).await;
}

#[tokio::test]
async fn a_key_whose_first_request_runs_is_409_until_its_lease_ends() {
    let (fixture, state, user) = Fixture::with_user(state).await;
    let admin = fixture.admin();
    let store = &state.0.store;
    // Leases `key` for the request as a first request would have, at `at`.
    let lease_as_first = |key: &'static str, at: Now| {
        let event = put(
            Payload::V2,
            user.id,
            &admin,
            json!({"enabled": false, "version": 1}),
        )
        .header("idempotency-key", key);
        let request = event.request();
        let (caller, user_id) = state.0.caller_and_user(&request).unwrap();
        let record = RecordKey::new(
            &caller,
            user_id,
            &IdempotencyKey::parse(key.as_bytes()).unwrap(),
        );
        let fingerprint = Fingerprint::of(&request, &[]);
        async move {
            let lease = store.lease_key(&record, &fingerprint, &at).await.unwrap();
            assert!(matches!(lease, KeyLease::Granted(_)));
            event
        }
    };

    // A first request that is still running (its lease is fresh): 409, nothing changed.
    let event = lease_as_first("\"running\"", Now::current()).await;
    let busy = respond(&state, event.request()).await;
    assert_problem(&busy, 409, "idempotency-key-in-use");
    assert_eq!(retry_after(&busy), 1);
    fixture.assert_unchanged(&user).await;

    // A first request that died: once its lease is over, the retry takes the key over.
    let event = lease_as_first("\"died\"", Now::current().later(-(LEASE_SECS + 1))).await;
    let taken_over = respond(&state, event.request()).await;
    assert_eq!(taken_over.status(), 200);
    assert_eq!(body_json(&taken_over)["version"], 2);
}
