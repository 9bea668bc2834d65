//! `POST /users/{user_id}/password` through the real handler, with API Gateway events of
//! both payload versions, against DynamoDB Local.

use change_password::State;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use shared::password::{Argon2Config, Hasher, Password, PasswordConfig};
use shared::runtime::respond;
use shared::{User, UserId, UserItem};
use testkit::{
    Claims, DELIVERIES, Event, Fixture, Harness, PAYLOADS, Payload, assert_problem, retry_after,
};

const ROUTE: &str = "/users/{user_id}/password";
const OLD: &str = "an old and trusted passphrase";
const NEW: &str = "a brand new passphrase for today";

fn state(fixture: &Fixture) -> State {
    let core = fixture.core();
    State::new(core, PasswordConfig::default()).unwrap()
}

fn post(payload: Payload, id: impl ToString, claims: &Claims, body: Value) -> Event {
    Event::new(payload, "POST", ROUTE)
        .user_id(id)
        .claims(claims)
        .json(body)
}

/// A fixture, the function, and a user of the customer tenant whose password is `OLD`.
async fn with_password() -> (Fixture, State, User) {
    let (fixture, state) = Fixture::with(state).await;
    let user = fixture.user_with_password(&fixture.customer, OLD).await;
    (fixture, state, user)
}

/// A self-service change of `user`'s own password, delivered once.
async fn own_change(state: &State, payload: Payload, user: &User, body: Value) -> Response<Body> {
    respond(state, post(payload, user.id, &own(user), body).request()).await
}

fn own(user: &User) -> Claims {
    Claims::user(user.id, user.tenant_id, "")
}

/// "Logs in": verifies `password` against the stored hash.
async fn can_log_in(fixture: &Fixture, id: UserId, password: &str) -> bool {
    let item = fixture.stored(id).await.expect("user");
    let hash = item.password_hash.expect("a password hash");
    let hasher = Hasher::new(Argon2Config::default()).unwrap();
    hasher
        .verify(Password::normalize(password).unwrap(), hash)
        .await
        .unwrap()
}

fn without_secrets(item: UserItem) -> User {
    item.user
}

#[tokio::test]
async fn self_service_change_then_log_in_with_the_new_password_only() {
    for payload in PAYLOADS {
        let (fixture, state, user) = with_password().await;
        let body = json!({"password": NEW, "current_password": OLD});
        let response = own_change(&state, payload, &user, body).await;
        assert_eq!(response.status(), 204, "{payload:?}");
        assert!(response.body().is_empty());
        assert_eq!(
            fixture.table.counter.get(),
            2,
            "one counted read, one conditional write"
        );

        assert!(can_log_in(&fixture, user.id, NEW).await);
        assert!(!can_log_in(&fixture, user.id, OLD).await);
        let stored = fixture.stored(user.id).await.unwrap();
        assert!(
            stored.password_attempt_times.is_empty(),
            "a success clears the count"
        );
        assert_eq!(
            without_secrets(stored),
            user,
            "version and the user object are unchanged"
        );
        assert!(
            testkit::logs::captured().contains("request handled"),
            "the handlers' logs are captured"
        );
    }
}

#[tokio::test]
async fn self_service_needs_the_right_current_password() {
    let (fixture, state, user) = with_password().await;
    for payload in PAYLOADS {
        let response = own_change(&state, payload, &user, json!({"password": NEW})).await;
        let problem = assert_problem(&response, 400, "validation-error");
        assert_eq!(problem["errors"][0]["field"], "current_password");

        let body = json!({"password": NEW, "current_password": "not the password at all"});
        let response = own_change(&state, payload, &user, body).await;
        assert_problem(&response, 403, "invalid-current-password");

        let body = json!({"password": NEW, "current_password": "x".repeat(1025)});
        let response = own_change(&state, payload, &user, body).await;
        assert_problem(&response, 400, "validation-error");
    }
    assert!(can_log_in(&fixture, user.id, OLD).await);
    let stored = fixture.stored(user.id).await.unwrap();
    assert_eq!(stored.password_attempt_times.len(), 2);
}

#[tokio::test]
async fn five_wrong_passwords_lock_for_fifteen_minutes_and_a_success_resets() {
    let (fixture, state, user) = with_password().await;
    let wrong = json!({"password": NEW, "current_password": "wrong wrong wrong"});
    let right = json!({"password": NEW, "current_password": OLD});

    // Four failures, then the right password: the count starts over.
    for _ in 0..4 {
        let response = own_change(&state, Payload::V2, &user, wrong.clone()).await;
        assert_problem(&response, 403, "invalid-current-password");
    }
    let response = own_change(&state, Payload::V2, &user, right).await;
    assert_eq!(response.status(), 204);
    let back = json!({"password": OLD, "current_password": NEW});

    for _ in 0..5 {
        let response = own_change(&state, Payload::V1, &user, wrong.clone()).await;
        assert_problem(&response, 403, "invalid-current-password");
    }
    // Locked now, even with the right password.
    let response = own_change(&state, Payload::V1, &user, back.clone()).await;
    assert_problem(&response, 429, "too-many-attempts");
    let retry_after = retry_after(&response);
    assert!((890..=900).contains(&retry_after), "{retry_after}");
    assert!(can_log_in(&fixture, user.id, NEW).await);

    // 15 minutes after the fifth attempt, checks are allowed again.
    let ended = shared::Now::current().epoch - 15 * 60 - 1;
    fixture
        .set_numbers(user.id, "password_attempt_times", &[ended; 5])
        .await;
    let response = own_change(&state, Payload::V1, &user, back).await;
    assert_eq!(response.status(), 204);
    assert!(can_log_in(&fixture, user.id, OLD).await);
}

#[tokio::test]
async fn twenty_concurrent_wrong_guesses_get_at_most_five_verifications() {
    let (fixture, state, user) = with_password().await;
    let wrong = json!({"password": NEW, "current_password": "a guess that is wrong"});
    let requests = (0..20).map(|_| {
        respond(
            &state,
            post(Payload::V2, user.id, &own(&user), wrong.clone()).request(),
        )
    });
    let responses = futures::future::join_all(requests).await;
    let verified = responses.iter().filter(|r| r.status() == 403).count();
    let limited = responses.iter().filter(|r| r.status() == 429).count();
    assert_eq!((verified, limited), (5, 15));
    assert_eq!(
        fixture
            .stored(user.id)
            .await
            .unwrap()
            .password_attempt_times
            .len(),
        5
    );
}

#[tokio::test]
async fn two_concurrent_changes_with_the_right_password_have_one_winner() {
    let (fixture, state, user) = with_password().await;
    let first = json!({"password": "first candidate passphrase", "current_password": OLD});
    let second = json!({"password": "second candidate passphrase", "current_password": OLD});
    let (a, b) = tokio::join!(
        respond(
            &state,
            post(Payload::V2, user.id, &own(&user), first).request()
        ),
        respond(
            &state,
            post(Payload::V1, user.id, &own(&user), second).request()
        ),
    );
    let statuses = [a.status().as_u16(), b.status().as_u16()];
    assert!(
        statuses == [204, 403] || statuses == [403, 204],
        "{statuses:?}"
    );
    let (winner, loser) = if statuses[0] == 204 {
        ("first candidate passphrase", b)
    } else {
        ("second candidate passphrase", a)
    };
    assert_problem(&loser, 403, "invalid-current-password");
    assert!(
        can_log_in(&fixture, user.id, winner).await,
        "the stored hash is the winner's"
    );
    assert!(!can_log_in(&fixture, user.id, OLD).await);
}

#[tokio::test]
async fn a_disabled_account_cannot_change_its_own_password() {
    let (fixture, state) = Fixture::with(state).await;
    let user = fixture
        .user_with_password_and(&fixture.customer, OLD, |u| u.enabled = false)
        .await;
    for payload in PAYLOADS {
        let body = json!({"password": NEW, "current_password": OLD});
        let response = own_change(&state, payload, &user, body).await;
        assert_problem(&response, 403, "account-disabled");
    }
    assert!(can_log_in(&fixture, user.id, OLD).await);
    let stored = fixture.stored(user.id).await.unwrap();
    assert!(stored.password_attempt_times.is_empty());
}

#[tokio::test]
async fn policy_violations_are_all_reported_and_a_right_current_password_resets_the_count() {
    let (fixture, state, user) = with_password().await;
    let wrong = json!({"password": NEW, "current_password": "wrong wrong wrong"});
    own_change(&state, Payload::V2, &user, wrong).await;

    let bad = format!("{}\u{7}", user.login);
    let body = json!({"password": bad, "current_password": OLD});
    let response = own_change(&state, Payload::V2, &user, body).await;
    let problem = assert_problem(&response, 400, "password-policy");
    let codes: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    for code in [
        "too-short",
        "control-character",
        "contains-login",
        "contains-email",
    ] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }
    assert!(
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["field"] == "password")
    );

    // NFKC: the current password with another normalisation is still the current one.
    let body = json!({"password": OLD.replace('a', "\u{ff41}"), "current_password": OLD});
    let response = own_change(&state, Payload::V1, &user, body).await;
    let problem = assert_problem(&response, 400, "password-policy");
    assert_eq!(problem["errors"][0]["code"], "same-as-current");

    let stored = fixture.stored(user.id).await.unwrap();
    assert!(stored.password_attempt_times.is_empty());
    assert!(can_log_in(&fixture, user.id, OLD).await);
}

#[tokio::test]
async fn nfc_and_nfd_spellings_are_one_password() {
    let (fixture, state) = Fixture::with(state).await;
    let nfd = "Gru\u{308}\u{df}e aus Ko\u{308}ln, sagt der Ba\u{308}r";
    let nfc = "Gr\u{fc}\u{df}e aus K\u{f6}ln, sagt der B\u{e4}r";
    assert_ne!(nfd, nfc);
    let user = fixture.user_with_password(&fixture.customer, nfd).await;
    let body = json!({"password": NEW, "current_password": nfc});
    let response = own_change(&state, Payload::V2, &user, body).await;
    assert_eq!(response.status(), 204);
    // And back: set an NFC password, log in with NFD.
    let body = json!({"password": nfc, "current_password": NEW});
    let response = own_change(&state, Payload::V1, &user, body).await;
    assert_eq!(response.status(), 204);
    assert!(can_log_in(&fixture, user.id, nfd).await);
    // Emoji, CJK and right-to-left text are passwords like any other.
    let mut current = nfd.to_owned();
    for password in [
        "🦀 crabs all the way down 🦀",
        "長い長いパスワードです、覚えやすい",
        "كلمة مرور طويلة جدا للاختبار",
    ] {
        let body = json!({"password": password, "current_password": current});
        let response = own_change(&state, Payload::V2, &user, body).await;
        assert_eq!(response.status(), 204, "{password}");
        assert!(can_log_in(&fixture, user.id, password).await);
        current = password.to_owned();
    }
}

#[tokio::test]
async fn an_api_client_sets_passwords_only_below_its_own_tenant() {
    let (fixture, state) = Fixture::with(state).await;
    let password = Harness::new(&state, ROUTE);
    let deep = fixture.user_with_password(&fixture.sub_customer, OLD).await;
    let customer_user = fixture.user_with_password(&fixture.customer, OLD).await;
    let stranger = fixture
        .user_with_password(&fixture.other_partner, OLD)
        .await;
    let partner_client = Claims::client("partner-admin", fixture.partner.tenant(), "users:write");
    let customer_client =
        Claims::client("customer-admin", fixture.customer.tenant(), "users:write");
    let set = |password: &str| json!({"password": password});

    for (client, target) in [
        (&partner_client, &deep),
        (&partner_client, &customer_user),
        (&customer_client, &deep),
    ] {
        fixture.table.counter.reset();
        password.post(target.id, client, set(NEW)).await.expect(204);
        assert_eq!(
            fixture.table.counter.get(),
            2 * DELIVERIES.len(),
            "GetItem + conditional UpdateItem"
        );
        assert!(can_log_in(&fixture, target.id, NEW).await);
    }

    // Its own tenant: forbidden by the platform's rule.
    password
        .post(customer_user.id, &customer_client, set(OLD))
        .await
        .expect(403)
        .problem("forbidden");
    // Outside its subtree: like a missing user.
    for outside in [stranger.id, UserId::new_random()] {
        let answers = password.post(outside, &customer_client, set(NEW)).await;
        answers.expect(404).problem("not-found");
    }
    // Without users:write, or as a user principal: forbidden.
    let reader = Claims::client("reader", fixture.partner.tenant(), "users:read");
    let admin_user = Claims::user(customer_user.id, fixture.customer.tenant(), "users:write");
    for caller in [&reader, &admin_user] {
        let answers = password.post(deep.id, caller, set(OLD)).await;
        answers.expect(403).problem("forbidden");
    }
    // The policy applies to administrative changes too.
    password
        .post(deep.id, &partner_client, set("password1"))
        .await
        .expect(400)
        .problem("password-policy");
    // current_password is ignored for a client, but must still be a string if sent.
    let null_current = json!({"password": OLD, "current_password": null});
    let answers = password.post(deep.id, &partner_client, null_current).await;
    let problem = answers.expect(400).problem("validation-error");
    assert_eq!(problem["errors"][0]["field"], "current_password");

    assert!(can_log_in(&fixture, stranger.id, OLD).await);
    assert!(can_log_in(&fixture, deep.id, NEW).await);
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let (fixture, state) = Fixture::with(state).await;
    let password = Harness::new(&state, ROUTE);
    let user = fixture.user_with_password(&fixture.customer, OLD).await;
    let change = json!({"password": NEW, "current_password": OLD});
    password
        .anonymous("POST", user.id, Some(change))
        .await
        .expect(401)
        .problem("unauthorized");
    let huge = json!({"password": "x".repeat(17 * 1024), "current_password": OLD});
    let answers = password.post(user.id, &own(&user), huge).await;
    answers.expect(413).problem("payload-too-large");
    for (body, media_type, status, slug) in [
        (
            "password=x",
            "application/x-www-form-urlencoded",
            415,
            "unsupported-media-type",
        ),
        (
            r#"{"password": "#,
            "application/json",
            400,
            "validation-error",
        ),
        (
            r#"{"password": 5, "current_password": "x"}"#,
            "application/json",
            400,
            "validation-error",
        ),
    ] {
        let answers = password
            .send(|payload| {
                Event::new(payload, "POST", ROUTE)
                    .user_id(user.id)
                    .claims(&own(&user))
                    .body(body, Some(media_type))
            })
            .await;
        answers.expect(status).problem(slug);
    }
    assert!(can_log_in(&fixture, user.id, OLD).await);
}

#[tokio::test]
async fn a_change_verified_just_before_the_account_was_disabled_writes_nothing() {
    let (fixture, state, user) = with_password().await;
    let store = fixture.store();
    let rule = shared::TenantRule::Subtree(user.tenant_id);
    let now = shared::Now::current();
    let token = shared::session::OwnToken::new(now.epoch, None, now.epoch).unwrap();
    // The handler's steps, with an administrator's disable between verification and write.
    let item = store
        .begin_password_check(user.id, rule, &token, &now)
        .await
        .unwrap();
    let verified = item.password_hash.clone().unwrap();
    assert!(
        state
            .hasher
            .verify(Password::normalize(OLD).unwrap(), verified.clone())
            .await
            .unwrap()
    );
    fixture.set_enabled_directly(user.id, false).await;
    let new_hash = state
        .hasher
        .hash(Password::normalize(NEW).unwrap())
        .await
        .unwrap();
    let written = store
        .set_password_hash(
            user.id,
            rule,
            shared::store::Setter::Own {
                verified: &verified,
                token: &token,
            },
            &new_hash,
            &now,
            &testkit::origin(shared::audit::Actor::confirmation_link(user.id)),
        )
        .await;
    assert!(
        matches!(written, Err(shared::ApiError::AccountDisabled)),
        "{written:?}"
    );
    assert!(can_log_in(&fixture, user.id, OLD).await);
    assert!(
        fixture
            .stored(user.id)
            .await
            .unwrap()
            .credentials_changed_at
            .is_none()
    );

    // An API client may still reset the password of the disabled account (a recovery).
    let client = Claims::client("partner", fixture.partner.tenant(), "users:write");
    let body = json!({"password": NEW});
    let response = respond(&state, post(Payload::V2, user.id, &client, body).request()).await;
    assert_eq!(response.status(), 204);
    assert!(can_log_in(&fixture, user.id, NEW).await);
}

#[tokio::test]
async fn no_window_boundary_lets_more_than_five_guesses_through() {
    let (fixture, state, user) = with_password().await;
    // Four wrong guesses at the very end of a quarter of an hour …
    let now = shared::Now::current().epoch;
    fixture
        .set_numbers(user.id, "password_attempt_times", &[now - 895; 4])
        .await;
    let wrong = json!({"password": NEW, "current_password": "wrong wrong wrong"});
    let response = own_change(&state, Payload::V2, &user, wrong.clone()).await;
    assert_problem(&response, 403, "invalid-current-password");
    // … and the fifth locks for 15 minutes from itself, though the four leave the window in
    // seconds: even the right password waits.
    let right = json!({"password": NEW, "current_password": OLD});
    let response = own_change(&state, Payload::V1, &user, right).await;
    assert_problem(&response, 429, "too-many-attempts");
    let retry_after = retry_after(&response);
    assert!((890..=900).contains(&retry_after), "{retry_after}");
    assert!(can_log_in(&fixture, user.id, OLD).await);
}

#[tokio::test]
async fn a_password_change_marks_the_credentials_but_not_the_version() {
    let (fixture, state, user) = with_password().await;
    let body = json!({"password": NEW, "current_password": OLD});
    let response = own_change(&state, Payload::V2, &user, body).await;
    assert_eq!(response.status(), 204);
    let stored = fixture.stored(user.id).await.unwrap();
    assert!(stored.credentials_changed_at.is_some());
    assert_eq!(stored.user, user, "the user object and its version stay");
}

#[tokio::test]
async fn a_retried_change_with_the_same_key_is_answered_without_a_second_hash() {
    for payload in PAYLOADS {
        let (fixture, state, user) = with_password().await;
        let keyed = |body: Value| {
            post(payload, user.id, &own(&user), body).header("idempotency-key", "\"pw-1\"")
        };
        let body = json!({"password": NEW, "current_password": OLD});
        let first = respond(&state, keyed(body.clone()).request()).await;
        assert_eq!(first.status(), 204, "{payload:?}");
        let hash = fixture.stored(user.id).await.unwrap().password_hash;

        // The retry: 204 again, from the record and the user's item (its token checked: two
        // requests), the hash untouched.
        fixture.table.counter.reset();
        let retry = respond(&state, keyed(body.clone()).request()).await;
        assert_eq!(retry.status(), 204);
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        assert!(retry.body().is_empty());
        assert_eq!(fixture.table.counter.get(), 2);
        assert_eq!(fixture.stored(user.id).await.unwrap().password_hash, hash);
        assert!(can_log_in(&fixture, user.id, NEW).await);

        // Neither password is stored in any form but the Argon2 hash: they are not part of
        // the fingerprint, so the same key with other fields is refused, with other
        // passwords it is the same request.
        let stored = fixture.table.everything_stored().await;
        assert!(stored.contains("IDEMPOTENCY#"), "{stored}");
        for secret in [NEW, OLD] {
            assert!(!stored.contains(secret));
        }
        let other = respond(&state, keyed(json!({"password": NEW})).request()).await;
        assert_problem(&other, 422, "idempotency-key-reuse");
        // A request that is refused on its own is refused as without a key, never replayed.
        let wrong_type = json!({"password": [NEW], "current_password": OLD});
        let refused = respond(&state, keyed(wrong_type).request()).await;
        assert_problem(&refused, 400, "validation-error");
        let too_short = json!({"password": "short", "current_password": OLD});
        let refused = respond(&state, keyed(too_short).request()).await;
        assert_problem(&refused, 400, "password-policy");
        // The same new password with another current one is the same request, replayed.
        let other_current = json!({"password": NEW, "current_password": "not the old one at all"});
        let replayed = respond(&state, keyed(other_current).request()).await;
        assert_eq!(replayed.status(), 204);
        assert_eq!(replayed.headers()["idempotent-replayed"], "true");
        assert_eq!(fixture.stored(user.id).await.unwrap().password_hash, hash);
        // The same key with another new password is not a retry: it is refused, and the
        // password stays the one the first request set (the replay verified the presented
        // password against the Argon2id hash kept with the key).
        let other_password = json!({"password": "yet another passphrase", "current_password": OLD});
        let refused = respond(&state, keyed(other_password).request()).await;
        assert_problem(&refused, 422, "idempotency-key-reuse");
        assert_eq!(fixture.stored(user.id).await.unwrap().password_hash, hash);
        assert!(can_log_in(&fixture, user.id, NEW).await);
        assert!(!can_log_in(&fixture, user.id, "yet another passphrase").await);
        // One guess per key: after a wrong one, not even the right password is replayed, so
        // replays are no way around the current-password limit.
        let right_again = respond(&state, keyed(body.clone()).request()).await;
        assert_problem(&right_again, 422, "idempotency-key-reuse");
    }
}

/// An administrator who reuses a key to reset a leaked temporary password again is told the
/// truth: same key and password replayed, another password `422` and nothing changed.
#[tokio::test]
async fn an_administrative_reset_with_a_reused_key_is_replayed_only_for_the_same_password() {
    let (fixture, state) = Fixture::with(state).await;
    let user = fixture.user_with_password(&fixture.sub_customer, OLD).await;
    let client = Claims::client("partner-admin", fixture.partner.tenant(), "users:write");
    for payload in PAYLOADS {
        let reset = |password: &str| {
            post(payload, user.id, &client, json!({"password": password}))
                .header("idempotency-key", &format!("\"reset-{payload:?}\""))
                .request()
        };
        let first = respond(&state, reset(NEW)).await;
        assert_eq!(first.status(), 204, "{payload:?}");
        let hash = fixture.stored(user.id).await.unwrap().password_hash;
        let replay = respond(&state, reset(NEW)).await;
        assert_eq!(replay.status(), 204);
        assert_eq!(replay.headers()["idempotent-replayed"], "true");
        let other = respond(&state, reset("a second temporary passphrase")).await;
        assert_problem(&other, 422, "idempotency-key-reuse");
        assert_eq!(fixture.stored(user.id).await.unwrap().password_hash, hash);
        assert!(can_log_in(&fixture, user.id, NEW).await);
    }
}

/// A caller that lost `users:write` after its first request does not get the stored answer
/// back: the caller is authorised before anything is replayed.
#[tokio::test]
async fn a_replay_is_authorised_first() {
    let (fixture, state) = Fixture::with(state).await;
    let user = fixture.user_with_password(&fixture.sub_customer, OLD).await;
    let tenant = fixture.partner.tenant();
    let writer = Claims::client("partner-admin", tenant, "users:write");
    let demoted = Claims::client("partner-admin", tenant, "users:read");
    let reset = |claims: &Claims| {
        post(Payload::V2, user.id, claims, json!({"password": NEW}))
            .header("idempotency-key", "\"demoted\"")
            .request()
    };
    assert_eq!(respond(&state, reset(&writer)).await.status(), 204);
    let replay = respond(&state, reset(&demoted)).await;
    assert_problem(&replay, 403, "forbidden");
    assert!(replay.headers().get("idempotent-replayed").is_none());
}

/// Off-boarding may set a random password before or after the disable: an administrative
/// reset of a disabled account is allowed, and marks the credentials like any reset.
#[tokio::test]
async fn an_administrative_reset_of_a_disabled_account_is_allowed() {
    let (fixture, state) = Fixture::with(state).await;
    let user = fixture
        .user_with_password_and(&fixture.sub_customer, OLD, |u| u.enabled = false)
        .await;
    let client = Claims::client("partner-admin", fixture.partner.tenant(), "users:write");
    for payload in PAYLOADS {
        let before = fixture.stored(user.id).await.unwrap();
        let password = format!("an off-boarding passphrase {payload:?}");
        let reset = post(payload, user.id, &client, json!({"password": password}));
        let response = respond(&state, reset.request()).await;
        assert_eq!(response.status(), 204, "{payload:?}");
        let after = fixture.stored(user.id).await.unwrap();
        assert!(!after.user.enabled, "still disabled");
        assert_ne!(after.password_hash, before.password_hash);
        assert_ne!(after.credentials_changed_at, before.credentials_changed_at);
        assert!(can_log_in(&fixture, user.id, &password).await);
    }
}
