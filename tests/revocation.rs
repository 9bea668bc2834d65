//! Access ends when it should (docs/contract.md §3): a user's token issued before an
//! administrative reset, a disable or another session's own password change is refused on
//! every route with `401 token-revoked`; a disabled account acting on itself gets `403
//! account-disabled`; the session that changed its own password continues; API clients are
//! unaffected; and none of it costs a DynamoDB request of its own.

mod support;

use lambda_http::{Body, Response};
use serde_json::{Value, json};
use shared::{User, UserId};
use support::{Functions, Route};
use testkit::{Claims, Fixture, PAYLOADS, Payload};

const PASSWORD: &str = "an old and trusted passphrase";
const NEW: &str = "a brand new passphrase for today";

fn now() -> i64 {
    shared::Now::current().epoch
}

/// The user itself, with `users:write` (so that the status route is open to it), its token
/// issued `age` seconds ago in session `sid`.
fn own(user: &User, age: i64, sid: &str) -> Claims {
    Claims::user(user.id, user.tenant_id, "users:write")
        .issued_at(now() - age)
        .in_session(Some(sid))
}

/// A request the user may make of itself on `route`, when its token is good.
fn body(route: Route, current_password: &str) -> Value {
    match route {
        Route::Status => json!({"enabled": true, "version": 1}),
        Route::Password => json!({"password": NEW, "current_password": current_password}),
        Route::Email => json!({"contact": {"email": "moved@new.example"}, "version": 1}),
        _ => Value::Null,
    }
}

const OWN_ROUTES: [Route; 4] = [Route::Get, Route::Status, Route::Password, Route::Email];

async fn call(
    functions: &Functions,
    route: Route,
    payload: Payload,
    user: UserId,
    claims: &Claims,
    body: Value,
) -> Response<Body> {
    let event = route.request(payload, &user.to_string(), Some(claims), body);
    functions.call(route, &event).await
}

fn problem(response: &Response<Body>) -> (u16, String) {
    let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap_or_default();
    let slug = body["type"].as_str().unwrap_or_default();
    let slug = slug.rsplit('/').next().unwrap_or_default().to_owned();
    (response.status().as_u16(), slug)
}

fn assert_revoked(response: &Response<Body>, what: &str) {
    assert_eq!(problem(response), (401, "token-revoked".into()), "{what}");
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{what}: {challenge}"
    );
}

/// The partner's API client, which may reset and disable users of the customer tenant.
fn admin(fixture: &Fixture) -> Claims {
    Claims::client("partner-admin", fixture.partner.tenant(), "users:write")
}

#[tokio::test]
async fn an_administrative_reset_revokes_earlier_tokens_on_every_route() {
    let fixture = Fixture::new().await;
    let functions = Functions::new(fixture.store());
    for payload in PAYLOADS {
        let user = fixture
            .user_with_password(&fixture.sub_customer, PASSWORD)
            .await;
        let before = own(&user, 30, "before-the-reset");
        let reset = json!({"password": "a temporary passphrase for you"});
        let admin = admin(&fixture);
        let answer = call(&functions, Route::Password, payload, user.id, &admin, reset).await;
        assert_eq!(answer.status(), 204);

        let stored = fixture.stored(user.id).await.unwrap();
        for route in OWN_ROUTES {
            fixture.table.counter.reset();
            let body = body(route, "a temporary passphrase for you");
            let answer = call(&functions, route, payload, user.id, &before, body).await;
            assert_revoked(&answer, &format!("{route:?} {payload:?}"));
            // The check rode on the request the route makes anyway: one.
            assert_eq!(fixture.table.counter.get(), 1, "{route:?}");
        }
        // Nothing changed: the whole item, hash and attempt log included.
        assert!(fixture.stored(user.id).await.unwrap() == stored);

        // A token issued after the reset works.
        let after = own(&user, 0, "after-the-reset");
        let answer = call(
            &functions,
            Route::Get,
            payload,
            user.id,
            &after,
            Value::Null,
        )
        .await;
        assert_eq!(answer.status(), 200);
        // API clients are unaffected.
        let answer = call(
            &functions,
            Route::Get,
            payload,
            user.id,
            &admin,
            Value::Null,
        )
        .await;
        assert_eq!(answer.status(), 200);
    }
}

#[tokio::test]
async fn a_disable_ends_access_and_re_enabling_does_not_bring_earlier_tokens_back() {
    let fixture = Fixture::new().await;
    let functions = Functions::new(fixture.store());
    let payload = Payload::V2;
    let user = fixture
        .user_with_password(&fixture.customer, PASSWORD)
        .await;
    let admin = admin(&fixture);
    let before = own(&user, 30, "before-the-disable");
    let status = |enabled: bool, version: u64| json!({"enabled": enabled, "version": version});
    let answer = call(
        &functions,
        Route::Status,
        payload,
        user.id,
        &admin,
        status(false, 1),
    )
    .await;
    assert_eq!(answer.status(), 200);

    let disabled = fixture.stored(user.id).await.unwrap();
    for route in OWN_ROUTES {
        let answer = call(
            &functions,
            route,
            payload,
            user.id,
            &before,
            body(route, PASSWORD),
        )
        .await;
        assert_revoked(&answer, &format!("{route:?}"));
        // A token issued after the disable: the account is disabled, on every route.
        let after = own(&user, 0, "after-the-disable");
        let body = match route {
            Route::Email => json!({"contact": {"email": "moved@new.example"}, "version": 2}),
            Route::Status => json!({"enabled": true, "version": 2}),
            _ => body(route, PASSWORD),
        };
        let answer = call(&functions, route, payload, user.id, &after, body).await;
        assert_eq!(
            problem(&answer),
            (403, "account-disabled".into()),
            "{route:?}"
        );
    }
    assert!(
        fixture.stored(user.id).await.unwrap() == disabled,
        "nothing changed"
    );
    // API clients still read it.
    let answer = call(
        &functions,
        Route::Get,
        payload,
        user.id,
        &admin,
        Value::Null,
    )
    .await;
    assert_eq!(answer.status(), 200);

    // Re-enabled: tokens from before the disable stay revoked; new ones work.
    let answer = call(
        &functions,
        Route::Status,
        payload,
        user.id,
        &admin,
        status(true, 2),
    )
    .await;
    assert_eq!(answer.status(), 200);
    let answer = call(
        &functions,
        Route::Get,
        payload,
        user.id,
        &before,
        Value::Null,
    )
    .await;
    assert_revoked(&answer, "after re-enabling");
    let after = own(&user, 0, "after-re-enabling");
    let answer = call(
        &functions,
        Route::Get,
        payload,
        user.id,
        &after,
        Value::Null,
    )
    .await;
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn the_session_that_changed_its_own_password_continues_and_the_others_end() {
    let fixture = Fixture::new().await;
    let functions = Functions::new(fixture.store());
    let payload = Payload::V1;
    let user = fixture
        .user_with_password(&fixture.customer, PASSWORD)
        .await;
    let mine = own(&user, 30, "my-laptop");
    let other = own(&user, 30, "a-stolen-phone");
    let change = body(Route::Password, PASSWORD);
    let answer = call(&functions, Route::Password, payload, user.id, &mine, change).await;
    assert_eq!(answer.status(), 204);

    let answer = call(
        &functions,
        Route::Get,
        payload,
        user.id,
        &other,
        Value::Null,
    )
    .await;
    assert_revoked(&answer, "another session");
    let without_session = Claims::user(user.id, user.tenant_id, "")
        .issued_at(now() - 30)
        .in_session(None);
    let answer = call(
        &functions,
        Route::Get,
        payload,
        user.id,
        &without_session,
        Value::Null,
    )
    .await;
    assert_revoked(&answer, "a token without a session");
    // Mine continues, for reads and writes.
    let answer = call(&functions, Route::Get, payload, user.id, &mine, Value::Null).await;
    assert_eq!(answer.status(), 200);
    let again = json!({"password": "and yet another passphrase", "current_password": NEW});
    let answer = call(&functions, Route::Password, payload, user.id, &mine, again).await;
    assert_eq!(answer.status(), 204);

    // An administrative reset makes no exception, not even for that session.
    let reset = json!({"password": "a temporary passphrase for you"});
    let admin = admin(&fixture);
    let user_below = fixture
        .user_with_password(&fixture.sub_customer, PASSWORD)
        .await;
    let mine_below = own(&user_below, 30, "my-laptop");
    let change = body(Route::Password, PASSWORD);
    let answer = call(
        &functions,
        Route::Password,
        payload,
        user_below.id,
        &mine_below,
        change,
    )
    .await;
    assert_eq!(answer.status(), 204);
    let answer = call(
        &functions,
        Route::Password,
        payload,
        user_below.id,
        &admin,
        reset,
    )
    .await;
    assert_eq!(answer.status(), 204);
    let answer = call(
        &functions,
        Route::Get,
        payload,
        user_below.id,
        &mine_below,
        Value::Null,
    )
    .await;
    assert_revoked(&answer, "the own session after a reset");
}

#[tokio::test]
async fn every_401_names_the_bearer_scheme() {
    let fixture = Fixture::new().await;
    let functions = Functions::new(fixture.store());
    let user = fixture.user(&fixture.customer).await;
    let id = user.id.to_string();
    for route in OWN_ROUTES {
        let answer = functions
            .call(
                route,
                &route.request(Payload::V2, &id, None, body(route, PASSWORD)),
            )
            .await;
        assert_eq!(problem(&answer), (401, "unauthorized".into()), "{route:?}");
        assert_eq!(answer.headers()["www-authenticate"], "Bearer");
    }
    // A user's token without `iat` is refused, whatever else it says.
    let mut claims = Claims::of(&user).to_json();
    claims.as_object_mut().unwrap().remove("iat");
    let event = Route::Get.event(Payload::V2, &id).raw_claims(claims);
    let answer = functions.call(Route::Get, &event).await;
    assert_eq!(problem(&answer), (401, "unauthorized".into()));
}

/// An `Idempotency-Key` replay is no way around revocation: the user's token and account are
/// checked before a stored answer is given back.
#[tokio::test]
async fn a_replay_checks_the_token_and_the_account_first() {
    let fixture = Fixture::new().await;
    let functions = Functions::new(fixture.store());
    let payload = Payload::V2;
    let user = fixture
        .user_with_password(&fixture.sub_customer, PASSWORD)
        .await;
    let mine = own(&user, 30, "my-laptop");
    let keyed = |route: Route, claims: &Claims, body: Value| {
        route
            .request(payload, &user.id.to_string(), Some(claims), body)
            .header("idempotency-key", "\"once\"")
    };
    let change = body(Route::Password, PASSWORD);
    let first = functions
        .call(
            Route::Password,
            &keyed(Route::Password, &mine, change.clone()),
        )
        .await;
    assert_eq!(first.status(), 204);
    let replay = functions
        .call(
            Route::Password,
            &keyed(Route::Password, &mine, change.clone()),
        )
        .await;
    assert_eq!(replay.status(), 204, "the session's own replay");

    // An administrator resets the password: the replay is refused like the work would be.
    let reset = json!({"password": "a temporary passphrase for you"});
    let answer = call(
        &functions,
        Route::Password,
        payload,
        user.id,
        &admin(&fixture),
        reset,
    )
    .await;
    assert_eq!(answer.status(), 204);
    let replay = functions
        .call(
            Route::Password,
            &keyed(Route::Password, &mine, change.clone()),
        )
        .await;
    assert_revoked(&replay, "a replay after a reset");

    // Disabled: a token issued later still gets no stored answer back.
    let status = json!({"enabled": false, "version": 1});
    let answer = call(
        &functions,
        Route::Status,
        payload,
        user.id,
        &admin(&fixture),
        status,
    )
    .await;
    assert_eq!(answer.status(), 200);
    let later = own(&user, 0, "my-laptop");
    let replay = functions
        .call(Route::Password, &keyed(Route::Password, &later, change))
        .await;
    assert_eq!(problem(&replay), (403, "account-disabled".into()));
}

/// A session whose tokens a reset ended does not come back by changing the password itself
/// later with a new token: the exemption is for tokens issued after the last reset or
/// disable only.
#[tokio::test]
async fn a_session_ended_by_a_reset_stays_ended_after_its_own_change() {
    let fixture = Fixture::new().await;
    let functions = Functions::new(fixture.store());
    let payload = Payload::V2;
    let user = fixture
        .user_with_password(&fixture.sub_customer, PASSWORD)
        .await;
    let old_token = own(&user, 30, "session-s");
    let reset = json!({"password": "a temporary passphrase for you"});
    let answer = call(
        &functions,
        Route::Password,
        payload,
        user.id,
        &admin(&fixture),
        reset,
    )
    .await;
    assert_eq!(answer.status(), 204);
    // The same session, a token issued after the reset, changes the password itself.
    let new_token = own(&user, 0, "session-s");
    let change = json!({"password": NEW, "current_password": "a temporary passphrase for you"});
    let answer = call(
        &functions,
        Route::Password,
        payload,
        user.id,
        &new_token,
        change,
    )
    .await;
    assert_eq!(answer.status(), 204);
    let answer = call(
        &functions,
        Route::Get,
        payload,
        user.id,
        &new_token,
        Value::Null,
    )
    .await;
    assert_eq!(answer.status(), 200);
    let answer = call(
        &functions,
        Route::Get,
        payload,
        user.id,
        &old_token,
        Value::Null,
    )
    .await;
    assert_revoked(&answer, "a token of the session from before the reset");
    let change = json!({"contact": {"email": "moved@new.example"}, "version": 1});
    let answer = call(
        &functions,
        Route::Email,
        payload,
        user.id,
        &old_token,
        change,
    )
    .await;
    assert_revoked(&answer, "its write too");
}
