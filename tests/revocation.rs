//! Access ends when it should (docs/contract.md §3): a user's token issued before an
//! administrative reset, a disable or another session's own password change is refused on
//! every route with `401 token-revoked`; a disabled account acting on itself gets `403
//! account-disabled`; the session that changed its own password continues; API clients are
//! unaffected; and none of it costs a DynamoDB request of its own.

mod support;

use lambda_http::{Body, Response};
use serde_json::{Value, json};
use shared::User;
use support::{Functions, Route};
use testkit::{Claims, Fixture, PAYLOADS, Payload};

const PASSWORD: &str = "an old and trusted passphrase";
const TEMPORARY: &str = "a temporary passphrase for you";
const NEW: &str = "a brand new passphrase for today";

const OWN_ROUTES: [Route; 4] = [Route::Get, Route::Status, Route::Password, Route::Email];

/// The user itself, with `users:write` (so that the status route is open to it), its token
/// issued `age` seconds ago in session `sid`.
fn own(user: &User, age: i64, sid: &str) -> Claims {
    Claims::user(user.id, user.tenant_id, "users:write")
        .issued_at(shared::Now::current().epoch - age)
        .in_session(Some(sid))
}

/// A request the user may make of itself on `route` at `version`, when its token is good.
fn body(route: Route, current_password: &str, version: u64) -> Value {
    match route {
        Route::Status => json!({"enabled": true, "version": version}),
        Route::Password => json!({"password": NEW, "current_password": current_password}),
        Route::Email => json!({"contact": {"email": "moved@new.example"}, "version": version}),
        _ => Value::Null,
    }
}

/// The status and the problem slug of an answer.
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

/// A fixture, every function's handler, and the payload version of the events.
struct Scene {
    fixture: Fixture,
    functions: Functions,
    payload: Payload,
    /// The partner's API client: it may reset and disable users of the sub-customer.
    admin: Claims,
}

impl Scene {
    async fn new(payload: Payload) -> Self {
        let fixture = Fixture::new().await;
        let functions = Functions::new(fixture.store());
        let admin = Claims::client("partner-admin", fixture.partner.tenant(), "users:write");
        Self {
            fixture,
            functions,
            payload,
            admin,
        }
    }

    /// A user of the sub-customer whose password is `PASSWORD`.
    async fn user(&self) -> User {
        let tenant = &self.fixture.sub_customer;
        self.fixture.user_with_password(tenant, PASSWORD).await
    }

    async fn send(
        &self,
        route: Route,
        user: &User,
        claims: &Claims,
        body: Value,
    ) -> Response<Body> {
        let id = user.id.to_string();
        let event = route.request(self.payload, &id, Some(claims), body);
        self.functions.call(route, &event).await
    }

    async fn read(&self, user: &User, claims: &Claims) -> Response<Body> {
        self.send(Route::Get, user, claims, Value::Null).await
    }

    /// The administrator sets `TEMPORARY` as the user's password.
    async fn reset(&self, user: &User) {
        let reset = json!({"password": TEMPORARY});
        let answer = self.send(Route::Password, user, &self.admin, reset).await;
        assert_eq!(answer.status(), 204);
    }

    /// The administrator enables or disables the user at `version`.
    async fn set_enabled(&self, user: &User, enabled: bool, version: u64) {
        let status = json!({"enabled": enabled, "version": version});
        let answer = self.send(Route::Status, user, &self.admin, status).await;
        assert_eq!(answer.status(), 200);
    }
}

#[tokio::test]
async fn an_administrative_reset_revokes_earlier_tokens_on_every_route() {
    for payload in PAYLOADS {
        let scene = Scene::new(payload).await;
        let user = scene.user().await;
        let before = own(&user, 30, "before-the-reset");
        scene.reset(&user).await;

        let stored = scene.fixture.stored(user.id).await.unwrap();
        for route in OWN_ROUTES {
            scene.fixture.table.counter.reset();
            let answer = scene
                .send(route, &user, &before, body(route, TEMPORARY, 1))
                .await;
            assert_revoked(&answer, &format!("{route:?} {payload:?}"));
            // The check rode on the request the route makes anyway: one.
            assert_eq!(scene.fixture.table.counter.get(), 1, "{route:?}");
        }
        // Nothing changed: the whole item, hash and attempt log included.
        assert!(scene.fixture.stored(user.id).await.unwrap() == stored);

        // A token issued after the reset works; API clients are unaffected.
        let after = own(&user, 0, "after-the-reset");
        assert_eq!(scene.read(&user, &after).await.status(), 200);
        assert_eq!(scene.read(&user, &scene.admin).await.status(), 200);
    }
}

#[tokio::test]
async fn a_disable_ends_access_and_re_enabling_does_not_bring_earlier_tokens_back() {
    let scene = Scene::new(Payload::V2).await;
    let user = scene.user().await;
    let before = own(&user, 30, "before-the-disable");
    scene.set_enabled(&user, false, 1).await;

    let disabled = scene.fixture.stored(user.id).await.unwrap();
    let after = own(&user, 0, "after-the-disable");
    for route in OWN_ROUTES {
        let answer = scene
            .send(route, &user, &before, body(route, PASSWORD, 2))
            .await;
        assert_revoked(&answer, &format!("{route:?}"));
        // A token issued after the disable: the account is disabled, on every route.
        let answer = scene
            .send(route, &user, &after, body(route, PASSWORD, 2))
            .await;
        assert_eq!(
            problem(&answer),
            (403, "account-disabled".into()),
            "{route:?}"
        );
    }
    assert!(
        scene.fixture.stored(user.id).await.unwrap() == disabled,
        "nothing changed"
    );
    // API clients still read it.
    assert_eq!(scene.read(&user, &scene.admin).await.status(), 200);

    // Re-enabled: tokens from before the disable stay revoked; new ones work.
    scene.set_enabled(&user, true, 2).await;
    assert_revoked(&scene.read(&user, &before).await, "after re-enabling");
    let now = own(&user, 0, "after-re-enabling");
    assert_eq!(scene.read(&user, &now).await.status(), 200);
}

#[tokio::test]
async fn the_session_that_changed_its_own_password_continues_and_the_others_end() {
    let scene = Scene::new(Payload::V1).await;
    let user = scene.user().await;
    let mine = own(&user, 30, "my-laptop");
    let other = own(&user, 30, "a-stolen-phone");
    let change = body(Route::Password, PASSWORD, 1);
    assert_eq!(
        scene
            .send(Route::Password, &user, &mine, change)
            .await
            .status(),
        204
    );

    assert_revoked(&scene.read(&user, &other).await, "another session");
    let without_session = Claims::user(user.id, user.tenant_id, "")
        .issued_at(shared::Now::current().epoch - 30)
        .in_session(None);
    let answer = scene.read(&user, &without_session).await;
    assert_revoked(&answer, "a token without a session");
    // Mine continues, for reads and writes.
    assert_eq!(scene.read(&user, &mine).await.status(), 200);
    let again = json!({"password": "and yet another passphrase", "current_password": NEW});
    assert_eq!(
        scene
            .send(Route::Password, &user, &mine, again)
            .await
            .status(),
        204
    );

    // An administrative reset makes no exception, not even for that session.
    scene.reset(&user).await;
    assert_revoked(
        &scene.read(&user, &mine).await,
        "the own session after a reset",
    );
}

#[tokio::test]
async fn every_401_names_the_bearer_scheme() {
    let fixture = Fixture::new().await;
    let functions = Functions::new(fixture.store());
    let user = fixture.user(&fixture.customer).await;
    let id = user.id.to_string();
    for route in OWN_ROUTES {
        let event = route.request(Payload::V2, &id, None, body(route, PASSWORD, 1));
        let answer = functions.call(route, &event).await;
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
    let scene = Scene::new(Payload::V2).await;
    let user = scene.user().await;
    let change = body(Route::Password, PASSWORD, 1);
    let functions = &scene.functions;
    let replay = |claims: &Claims| {
        let id = user.id.to_string();
        let event = Route::Password.request(scene.payload, &id, Some(claims), change.clone());
        let event = event.header("idempotency-key", "\"once\"");
        async move { functions.call(Route::Password, &event).await }
    };
    let mine = own(&user, 30, "my-laptop");
    assert_eq!(replay(&mine).await.status(), 204, "the first request");
    assert_eq!(
        replay(&mine).await.status(),
        204,
        "the session's own replay"
    );

    // An administrator resets the password: the replay is refused like the work would be.
    scene.reset(&user).await;
    assert_revoked(&replay(&mine).await, "a replay after a reset");

    // Disabled: a token issued later still gets no stored answer back.
    scene.set_enabled(&user, false, 1).await;
    let later = own(&user, 0, "my-laptop");
    let answer = replay(&later).await;
    assert_eq!(problem(&answer), (403, "account-disabled".into()));
}

/// A session whose tokens a reset ended does not come back by changing the password itself
/// later with a new token: the exemption is for tokens issued after the last reset or
/// disable only.
#[tokio::test]
async fn a_session_ended_by_a_reset_stays_ended_after_its_own_change() {
    let scene = Scene::new(Payload::V2).await;
    let user = scene.user().await;
    let old_token = own(&user, 30, "session-s");
    scene.reset(&user).await;
    // The same session, a token issued after the reset, changes the password itself.
    let new_token = own(&user, 0, "session-s");
    let change = body(Route::Password, TEMPORARY, 1);
    let answer = scene.send(Route::Password, &user, &new_token, change).await;
    assert_eq!(answer.status(), 204);
    assert_eq!(scene.read(&user, &new_token).await.status(), 200);
    let answer = scene.read(&user, &old_token).await;
    assert_revoked(&answer, "a token of the session from before the reset");
    let change = body(Route::Email, PASSWORD, 1);
    let answer = scene.send(Route::Email, &user, &old_token, change).await;
    assert_revoked(&answer, "its write too");
}
