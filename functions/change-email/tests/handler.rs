//! The email change through the real handler, with API Gateway events of both payload
//! versions, against DynamoDB Local and a mail directory (its confirmation:
//! functions/confirm-email/tests).

use std::path::{Path, PathBuf};

use lambda_http::{Body, Response};

use change_email::State;
use serde_json::json;
use shared::User;
use shared::email::EmailConfig;
use shared::limit::SlidingLimit;
use shared::mail::Mailer;
use shared::runtime::respond;
use testkit::{
    Claims, Event, Fixture, Harness, PAYLOADS, Payload, assert_problem, body_json, email_change,
    mail_dir, received_mails, retry_after,
};

const PUT_ROUTE: &str = "/users/{user_id}/email";
const NEW_EMAIL: &str = "john.doe@newmail.example";

/// The function with the default mail limit (one a minute, five a day).
fn state_with(fixture: &Fixture, dir: &Path) -> State {
    limited_state(fixture, dir, EmailConfig::mail_limit(60, 5))
}

/// No cool-down between two confirmation mails, five a day.
fn without_cool_down(fixture: &Fixture, dir: &Path) -> State {
    limited_state(fixture, dir, EmailConfig::mail_limit(0, 5))
}

fn limited_state(fixture: &Fixture, dir: &Path, confirmation_mails: SlidingLimit) -> State {
    let (core, email, mailer) = fixture.email_parts(dir, confirmation_mails);
    State::new(core, email, mailer)
}

/// A fixture, its mail directory, the function, and an activated user of the customer
/// tenant.
async fn with_user() -> (Fixture, PathBuf, State, User) {
    Fixture::with_mail_user(state_with).await
}

/// As [`with_user`], with a user that is not activated yet.
async fn with_new_hire() -> (Fixture, PathBuf, State, User) {
    let (fixture, dir, state, _) = with_user().await;
    let user = fixture.inactive_user(&fixture.customer).await;
    (fixture, dir, state, user)
}

/// `user` asks for its own address to become `email`, from version 1.
async fn own_change(state: &State, payload: Payload, user: &User, email: &str) -> Response<Body> {
    respond(
        state,
        email_change(payload, user.id, &Claims::of(user), email, 1).request(),
    )
    .await
}

#[tokio::test]
async fn an_account_that_is_not_activated_changes_at_once_in_one_request() {
    for payload in PAYLOADS {
        let (fixture, dir, state, user) = with_new_hire().await;
        let response = own_change(&state, payload, &user, "  John.Doe@NEWMAIL.Example ").await;
        assert_eq!(response.status(), 200, "{payload:?}");
        assert_eq!(fixture.table.counter.get(), 1);
        let body = body_json(&response);
        assert_eq!(
            body["contact"]["email"], "John.Doe@newmail.example",
            "trimmed, domain lower-cased"
        );
        assert_eq!(body["version"], 2);
        assert_eq!(response.headers()["etag"], "\"2\"");
        assert!(body.get("pending_email_change").is_none());
        assert!(
            received_mails(&dir).is_empty(),
            "no confirmation for an account that is not activated"
        );
        assert_eq!(
            fixture.stored(user.id).await.unwrap().user.contact.email,
            "John.Doe@newmail.example"
        );
    }
}

#[tokio::test]
async fn a_mail_that_cannot_be_sent_is_a_503_and_leaves_no_token() {
    let fixture = Fixture::new().await;
    let dir = mail_dir();
    let mut state = state_with(&fixture, &dir);
    // A mail "directory" that is a file: every write fails.
    let not_a_dir = dir.join("not-a-directory");
    std::fs::write(&not_a_dir, b"").unwrap();
    if let Mailer::Directory { dir, .. } = &mut state.mailer {
        *dir = not_a_dir;
    }
    let user = fixture.user(&fixture.customer).await;
    let response = own_change(&state, Payload::V2, &user, NEW_EMAIL).await;
    assert_problem(&response, 503, "unavailable");
    assert!(response.headers().contains_key("retry-after"));
    let stored = fixture.stored(user.id).await.unwrap();
    assert!(
        stored.pending_email.is_none(),
        "no confirmable token that was never received"
    );
    assert_eq!(stored.user, user);
}

#[tokio::test]
async fn who_may_change_whose_email() {
    let (fixture, dir, state) = Fixture::with_mail(state_with).await;
    let email = Harness::new(&state, PUT_ROUTE);
    let target = fixture.inactive_user(&fixture.sub_customer).await;
    let colleague = fixture.user(&fixture.sub_customer).await;
    let disabled = fixture.disabled_user(&fixture.customer).await;
    let change =
        |address: &str, version: u64| json!({"contact": {"email": address}, "version": version});
    let admin = Claims::client("partner", fixture.partner.tenant(), "users:write");
    let outsider = Claims::client("globex", fixture.other_partner.tenant(), "users:write");

    // Another user without users:write: 403.
    let colleague = Claims::of(&colleague);
    let answers = email.put(target.id, &colleague, change("x@new.example", 1));
    answers.await.expect(403).problem("forbidden");
    // A client outside the subtree: 404, even with a wrong version.
    let answers = email.put(target.id, &outsider, change("x@new.example", 6));
    answers.await.expect(404).problem("not-found");
    // A stale version: 409 with the current one.
    let answers = email
        .put(target.id, &admin, change("x@new.example", 2))
        .await;
    let problem = answers.expect(409).problem("version-conflict");
    assert_eq!(problem["current_version"], 1);
    // A disabled account cannot change its own address.
    let itself = Claims::of(&disabled);
    let answers = email.put(disabled.id, &itself, change("y@new.example", 1));
    answers.await.expect(403).problem("account-disabled");
    // No claims: 401.
    email
        .anonymous("PUT", target.id, Some(change("z@new.example", 1)))
        .await
        .expect(401)
        .problem("unauthorized");
    fixture.assert_unchanged(&target).await;

    // The admin with the right version: changed at once (not activated), each time.
    for payload in PAYLOADS {
        let current = fixture.stored(target.id).await.unwrap().user.version.get();
        let response = respond(
            &state,
            email_change(payload, target.id, &admin, "x@new.example", current).request(),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert_eq!(body_json(&response)["version"], current + 1);
    }
    fixture.assert_unchanged(&disabled).await;
    assert!(received_mails(&dir).is_empty());
}

#[tokio::test]
async fn bad_addresses_and_bodies_are_refused() {
    let (fixture, dir, state, user) = with_user().await;
    let email = Harness::new(&state, PUT_ROUTE);
    let long = format!("{}@example.com", "a".repeat(250));
    for bad in [
        "not-an-address",
        "john@example.com\r\nBcc: victim@example.com",
        "John <john@example.com>",
        &long,
        "",
        "jöhn@example.com",
        "\"john doe\"@example.com",
        "john@exa_mple.com",
    ] {
        let body = json!({"contact": {"email": bad}, "version": 1});
        let answers = email.put(user.id, &Claims::of(&user), body).await;
        let problem = answers.expect(400).problem("validation-error");
        assert_eq!(problem["errors"][0]["field"], "contact.email", "{bad:?}");
    }
    // No version at all (nor If-Match): 428, since the change needs the one it replaces.
    let answers = email
        .put(
            user.id,
            &Claims::of(&user),
            json!({"contact": {"email": NEW_EMAIL}}),
        )
        .await;
    answers.expect(428).problem("precondition-required");
    for body in [
        json!({"contact": {"email": NEW_EMAIL}, "version": 0}),
        json!({"contact": {"email": NEW_EMAIL, "phone": "1"}, "version": 1}),
        json!({"contact": NEW_EMAIL, "version": 1}),
        json!({"email": NEW_EMAIL, "version": 1}),
    ] {
        let answers = email.put(user.id, &Claims::of(&user), body).await;
        answers.expect(400).problem("validation-error");
    }
    fixture.assert_unchanged(&user).await;
    assert!(received_mails(&dir).is_empty());
}

#[tokio::test]
async fn two_requests_within_a_minute_send_one_mail_then_429() {
    for payload in PAYLOADS {
        let (fixture, dir, state, user) = with_user().await;
        let first = own_change(&state, payload, &user, NEW_EMAIL).await;
        assert_eq!(first.status(), 200);
        let pending = fixture.stored(user.id).await.unwrap().pending_email;
        assert!(pending.is_some());

        fixture.table.counter.reset();
        let second = own_change(&state, payload, &user, "other@new.example").await;
        assert_problem(&second, 429, "too-many-attempts");
        let retry_after = retry_after(&second);
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        assert_eq!(
            fixture.table.counter.get(),
            1,
            "refused on the item that the refused direct change returned"
        );
        assert_eq!(received_mails(&dir).len(), 1, "one mail");
        assert_eq!(
            fixture.stored(user.id).await.unwrap().pending_email,
            pending,
            "the pending change stays as it was"
        );
    }
}

#[tokio::test]
async fn twenty_concurrent_requests_send_exactly_one_mail() {
    let (fixture, dir, state, user) = with_user().await;
    let requests = (0..20).map(|i| {
        respond(
            &state,
            email_change(
                Payload::V2,
                user.id,
                &Claims::of(&user),
                &format!("new-{i}@new.example"),
                1,
            )
            .request(),
        )
    });
    let responses = futures::future::join_all(requests).await;
    let ok = responses.iter().filter(|r| r.status() == 200).count();
    let limited = responses.iter().filter(|r| r.status() == 429).count();
    assert_eq!((ok, limited), (1, 19));
    let received = received_mails(&dir);
    assert_eq!(received.len(), 1);
    let stored = fixture.stored(user.id).await.unwrap();
    assert!(
        received[0]
            .text
            .contains(&stored.pending_email.unwrap().email)
    );
    assert_eq!(stored.confirmation_mail_times.len(), 1);
}

#[tokio::test]
async fn at_most_the_daily_limit_of_mails_in_any_24_hours() {
    let (fixture, dir, state, user) = Fixture::with_mail_user(without_cool_down).await;
    // Three mails a day ago (not counted any more) and two within the day.
    let now = shared::Now::current().epoch;
    let day = 24 * 60 * 60;
    fixture
        .set_numbers(
            user.id,
            "confirmation_mail_times",
            &[
                now - day - 3,
                now - day - 2,
                now - day - 1,
                now - 7200,
                now - 3600,
            ],
        )
        .await;
    for _ in 0..3 {
        let response = own_change(&state, Payload::V1, &user, NEW_EMAIL).await;
        assert_eq!(response.status(), 200);
    }
    let response = own_change(&state, Payload::V1, &user, NEW_EMAIL).await;
    assert_problem(&response, 429, "too-many-attempts");
    let retry_after = retry_after(&response) as i64;
    // The oldest of the five leaves the day in about 22 hours.
    assert!(
        (day - 7200 - 5..=day - 7200).contains(&retry_after),
        "{retry_after}"
    );
    assert_eq!(received_mails(&dir).len(), 3);
    assert_eq!(
        fixture
            .stored(user.id)
            .await
            .unwrap()
            .confirmation_mail_times
            .len(),
        5,
        "the log keeps only the last day"
    );
}

#[tokio::test]
async fn internationalised_domains_are_stored_in_their_ascii_form() {
    let (_fixture, _dir, state, user) = with_new_hire().await;
    let response = own_change(&state, Payload::V2, &user, "Jo@Bücher.Example").await;
    assert_eq!(response.status(), 200);
    let stored = body_json(&response)["contact"]["email"].clone();
    assert_eq!(stored, "Jo@xn--bcher-kva.example");
}

#[tokio::test]
async fn if_match_may_name_the_version_of_an_email_change() {
    let (fixture, dir, state, user) = with_new_hire().await;
    let email = Harness::new(&state, PUT_ROUTE);
    let change = json!({"contact": {"email": "x@new.example"}});
    let answers = email
        .send(|payload| {
            Event::new(payload, "PUT", PUT_ROUTE)
                .user_id(user.id)
                .claims(&Claims::of(&user))
                .header("if-match", "\"2\"")
                .json(change.clone())
        })
        .await;
    let problem = answers.expect(412).problem("precondition-failed");
    assert_eq!(problem["current_version"], 1);
    let answers = email.put(user.id, &Claims::of(&user), change.clone()).await;
    answers.expect(428).problem("precondition-required");
    fixture.assert_unchanged(&user).await;

    let event = Event::new(Payload::V2, "PUT", PUT_ROUTE)
        .user_id(user.id)
        .claims(&Claims::of(&user))
        .header("if-match", "\"1\"")
        .json(change);
    let response = respond(&state, event.request()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["version"], 2);
    assert!(received_mails(&dir).is_empty());
}

#[tokio::test]
async fn a_retried_change_with_the_same_key_sends_no_second_mail() {
    for payload in PAYLOADS {
        let (fixture, dir, state, user) = with_user().await;
        let keyed = |email: &str| {
            email_change(payload, user.id, &Claims::of(&user), email, 1)
                .header("idempotency-key", "\"mail-1\"")
        };
        let first = respond(&state, keyed(NEW_EMAIL).request()).await;
        assert_eq!(first.status(), 200, "{payload:?}");
        assert_eq!(received_mails(&dir).len(), 1);
        let pending = fixture.stored(user.id).await.unwrap();

        // Within the mail limit's minute a new request would be a 429; the retry is the
        // first answer again, and nothing is mailed or written.
        let retry = respond(&state, keyed(NEW_EMAIL).request()).await;
        assert_eq!(retry.status(), 200);
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        assert_eq!(body_json(&retry), body_json(&first));
        assert_eq!(received_mails(&dir).len(), 1);
        let after = fixture.stored(user.id).await.unwrap();
        assert_eq!(after.user, pending.user);
        assert_eq!(after.pending_email, pending.pending_email);

        let other = respond(&state, keyed("someone.else@newmail.example").request()).await;
        assert_problem(&other, 422, "idempotency-key-reuse");
        assert_eq!(received_mails(&dir).len(), 1);
    }
}
