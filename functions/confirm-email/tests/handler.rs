//! The confirmation of email changes through the real handler, with API Gateway events of
//! both payload versions, against DynamoDB Local and a mail directory. The changes are asked
//! for through change-email's real handler, so the tokens are those of real mails.

use std::path::{Path, PathBuf};

use confirm_email::FORM;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::email::EmailConfig;
use shared::language::Language;
use shared::limit::SlidingLimit;
use shared::runtime::respond;
use shared::store::StatusChange;
use shared::{TenantRule, User, UserId, Version};
use testkit::{
    Claims, Event, Fixture, Harness, PAYLOADS, Payload, assert_problem, body_json, email_change,
    received_mails,
};

const CONFIRM_ROUTE: &str = "/users/{user_id}/email/confirmation";
const NEW_EMAIL: &str = "john.doe@newmail.example";

/// The two functions of an email change: change-email mails the link (`PUT`), confirm-email
/// applies it (`GET` and `POST` of the confirmation route).
struct Functions {
    change: change_email::State,
    confirm: confirm_email::State,
}

impl Functions {
    async fn call(&self, request: Request) -> Response<Body> {
        if request.method() == "PUT" {
            respond(&self.change, request).await
        } else {
            respond(&self.confirm, request).await
        }
    }

    /// `user` asks for its address to become [`NEW_EMAIL`]; the token of the link that was
    /// mailed into `dir`, the only mail there.
    async fn mailed_token(&self, user: &User, dir: &Path) -> String {
        let request = email_change(Payload::V2, user.id, &Claims::of(user), NEW_EMAIL, 1);
        assert_eq!(self.call(request.request()).await.status(), 200);
        let mut mails = received_mails(dir);
        assert_eq!(mails.len(), 1, "one confirmation mail");
        mails.remove(0).token
    }
}

/// With the default mail limit (one a minute, five a day).
fn state_with(fixture: &Fixture, dir: &Path) -> Functions {
    limited_state(fixture, dir, EmailConfig::mail_limit(60, 5))
}

/// No cool-down between two confirmation mails, five a day.
fn without_cool_down(fixture: &Fixture, dir: &Path) -> Functions {
    limited_state(fixture, dir, EmailConfig::mail_limit(0, 5))
}

fn limited_state(fixture: &Fixture, dir: &Path, confirmation_mails: SlidingLimit) -> Functions {
    Functions {
        confirm: confirm_email::State(fixture.core()),
        change: change_email_state(fixture, dir, confirmation_mails),
    }
}

fn change_email_state(
    fixture: &Fixture,
    dir: &Path,
    confirmation_mails: SlidingLimit,
) -> change_email::State {
    let (core, email, mailer) = fixture.email_parts(dir, confirmation_mails);
    change_email::State::new(core, email, mailer)
}

/// A fixture, its mail directory, the functions, and an activated user of the customer
/// tenant.
async fn with_user() -> (Fixture, PathBuf, Functions, User) {
    Fixture::with_mail_user(state_with).await
}

fn confirm_json(payload: Payload, id: impl ToString, token: &str) -> Event {
    Event::new(payload, "POST", CONFIRM_ROUTE)
        .user_id(id)
        .json(json!({"token": token}))
}

#[tokio::test]
async fn an_activated_account_confirms_through_the_link_sent_to_the_old_address() {
    for payload in PAYLOADS {
        let (fixture, dir, state, user) = with_user().await;
        let old_email = user.contact.email.clone();

        // Request: 200, the address and version stay, a pending change is shown.
        let response = state
            .call(email_change(payload, user.id, &Claims::of(&user), NEW_EMAIL, 1).request())
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            fixture.table.counter.get(),
            2,
            "a refused direct change, then the pending one"
        );
        let body = body_json(&response);
        assert_eq!(body["contact"]["email"], json!(old_email));
        assert_eq!(body["version"], 1);
        let pending = &body["pending_email_change"];
        assert!(
            pending["requested_at"].is_string() && pending["expires_at"].is_string(),
            "{body}"
        );
        assert!(
            !body.to_string().contains(NEW_EMAIL),
            "the new address is not shown"
        );

        // The mail went to the OLD address; the store has only the token's hash.
        let received = received_mails(&dir);
        assert_eq!(received.len(), 1);
        let mail = &received[0];
        assert_eq!(mail.to, old_email);
        assert_eq!(
            mail.subject,
            Language::En.text("confirmation-mail-subject", None)
        );
        assert_eq!(mail.language, "en");
        assert!(mail.text.contains("https://accounts.example.test/users/"));
        let stored = fixture.stored(user.id).await.unwrap();
        let pending = stored.pending_email.clone().expect("pending change");
        assert_eq!(pending.email, NEW_EMAIL);
        // The item as written to DynamoDB (the same serialisation) holds only the hash.
        let item_text = serde_json::to_string(&stored).unwrap();
        assert!(
            !item_text.contains(&mail.token),
            "the token itself is never stored"
        );

        // Following the link: a page with a button; nothing changes.
        let page = Event::new(payload, "GET", CONFIRM_ROUTE)
            .user_id(user.id)
            .query("token", &mail.token);
        let response = state.call(page.request()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
        let html = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        assert!(html.contains("method=\"post\"") && html.contains(&mail.token));
        assert_eq!(
            fixture.stored(user.id).await.unwrap(),
            stored,
            "GET changes nothing"
        );

        // Pressing the button: the new address, version + 1, in one request.
        fixture.table.counter.reset();
        let response = state
            .call(confirm_json(payload, user.id, &mail.token).request())
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(fixture.table.counter.get(), 1);
        let body = body_json(&response);
        assert_eq!(body["contact"]["email"], NEW_EMAIL);
        assert_eq!(body["version"], 2);
        assert!(body.get("pending_email_change").is_none());
        let stored = fixture.stored(user.id).await.unwrap();
        assert_eq!(stored.user.contact.email, NEW_EMAIL);
        assert!(stored.pending_email.is_none());

        // The token works once.
        let response = state
            .call(confirm_json(payload, user.id, &mail.token).request())
            .await;
        assert_problem(&response, 400, "invalid-token");
    }
}

#[tokio::test]
async fn the_page_form_confirms_and_answers_with_pages() {
    let (fixture, dir, state, user) = with_user().await;
    let token = state.mailed_token(&user, &dir).await;
    let form = |token: &str| {
        Event::new(Payload::V2, "POST", CONFIRM_ROUTE)
            .user_id(user.id)
            .body(&format!("token={token}"), Some(FORM))
    };
    let response = state.call(form(&token).request()).await;
    assert_eq!(response.status(), 200);
    assert!(String::from_utf8_lossy(response.body().as_ref()).contains("confirmed"));
    assert_eq!(
        fixture.stored(user.id).await.unwrap().user.contact.email,
        NEW_EMAIL
    );

    let response = state.call(form(&token).request()).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    for bad in ["", "x", "<script>alert(1)</script>"] {
        let response = state.call(form(bad).request()).await;
        assert_eq!(response.status(), 400);
        assert!(!String::from_utf8_lossy(response.body().as_ref()).contains("<script>"));
    }
}

#[tokio::test]
async fn mail_and_pages_are_in_the_readers_language() {
    let (fixture, dir, state, _) = with_user().await;
    let user = fixture
        .user_with(&fixture.customer, |u| u.language = "de-AT".into())
        .await;
    // The mail: in the user's language, saying so.
    let token = state.mailed_token(&user, &dir).await;
    let mail = received_mails(&dir).remove(0);
    assert_eq!(mail.language, "de");
    assert_eq!(
        mail.subject,
        Language::De.text("confirmation-mail-subject", None)
    );
    assert_ne!(
        mail.subject,
        Language::En.text("confirmation-mail-subject", None)
    );
    let mut args = shared::language::FluentArgs::new();
    args.set("login", user.login.as_str());
    args.set("old_email", user.contact.email.as_str());
    args.set("new_email", NEW_EMAIL);
    let link = format!(
        "https://accounts.example.test/users/{}/email/confirmation?token={token}",
        user.id
    );
    args.set("link", link.as_str());
    args.set("hours", 24.0);
    let german = Language::De.text("confirmation-mail-text", Some(&args));
    assert_eq!(
        mail.text.replace("\r\n", "\n").trim_end(),
        german.trim_end()
    );

    // The pages: in the language the browser asks for (the GET reads nothing).
    let page = |accept: Option<&str>| {
        let event = Event::new(Payload::V2, "GET", CONFIRM_ROUTE)
            .user_id(user.id)
            .query("token", &token);
        match accept {
            Some(value) => event.header("accept-language", value),
            None => event,
        }
    };
    for (accept, language) in [
        (Some("ja-JP,ja;q=0.9,en;q=0.5"), Language::Ja),
        (Some("pt-BR, fr;q=0.4, de;q=0"), Language::Fr),
        (Some("de;q=0"), Language::En),
        (None, Language::En),
    ] {
        let response = state.call(page(accept).request()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-language"], language.tag());
        assert_eq!(response.headers()["vary"], "Accept-Language");
        let html = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        assert!(
            html.contains(&format!("<html lang=\"{}\">", language.tag())),
            "{accept:?}: {html}"
        );
        let title = Language::text(language, "page-confirm-title", None);
        assert!(html.contains(&format!("<title>{title}</title>")), "{html}");
        assert!(html.contains(&Language::text(language, "page-confirm-button", None)));
    }

    // An error page too: a token that does not work, read in Spanish.
    let response = state
        .call(
            Event::new(Payload::V2, "POST", CONFIRM_ROUTE)
                .user_id(user.id)
                .header("accept-language", "es")
                .body(
                    "token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                    Some(FORM),
                )
                .request(),
        )
        .await;
    assert_eq!(response.status(), 400);
    let html = String::from_utf8_lossy(response.body().as_ref()).into_owned();
    assert!(html.contains("<html lang=\"es\">"), "{html}");
    let title = Language::Es.text("page-error-invalid-token-title", None);
    assert!(html.contains(&format!("<h1>{title}</h1>")), "{html}");
    // The problem type, for a program that reads the page, in every language.
    assert!(
        html.contains("<p data-problem=\"invalid-token\">"),
        "{html}"
    );
}

#[tokio::test]
async fn a_newer_request_replaces_the_older_token() {
    // No cool-down: two requests in a row each send their mail.
    let (_fixture, dir, state, user) = Fixture::with_mail_user(without_cool_down).await;
    for email in ["first@new.example", "second@new.example"] {
        let response = state
            .call(email_change(Payload::V1, user.id, &Claims::of(&user), email, 1).request())
            .await;
        assert_eq!(response.status(), 200);
    }
    let received = received_mails(&dir);
    assert_eq!(received.len(), 2);
    assert!(received[1].text.contains("second@new.example"));
    let response = state
        .call(confirm_json(Payload::V2, user.id, &received[0].token).request())
        .await;
    assert_problem(&response, 400, "invalid-token");
    let response = state
        .call(confirm_json(Payload::V2, user.id, &received[1].token).request())
        .await;
    assert_eq!(response.status(), 200);
    let body = body_json(&response);
    assert_eq!(body["contact"]["email"], "second@new.example");
}

#[tokio::test]
async fn an_expired_token_is_gone() {
    let (fixture, dir, state, user) = with_user().await;
    let token = state.mailed_token(&user, &dir).await;
    fixture
        .set_number(
            user.id,
            "pending_email.expires_epoch",
            shared::Now::current().epoch - 1,
        )
        .await;
    let response = state
        .call(confirm_json(Payload::V1, user.id, &token).request())
        .await;
    assert_problem(&response, 410, "token-expired");
    fixture.assert_unchanged(&user).await;
}

#[tokio::test]
async fn concurrent_confirmations_of_one_token_have_one_winner() {
    let (fixture, dir, state, user) = with_user().await;
    let token = state.mailed_token(&user, &dir).await;
    let confirmations =
        (0..10).map(|_| state.call(confirm_json(Payload::V2, user.id, &token).request()));
    let responses = futures::future::join_all(confirmations).await;
    let ok = responses.iter().filter(|r| r.status() == 200).count();
    let invalid = responses.iter().filter(|r| r.status() == 400).count();
    assert_eq!((ok, invalid), (1, 9));
    assert_eq!(fixture.stored(user.id).await.unwrap().user.version.get(), 2);
}

#[tokio::test]
async fn malformed_or_unknown_tokens_are_invalid() {
    let fixture = Fixture::new().await;
    let state = confirm_email::State(fixture.core());
    let confirm = Harness::new(&state, CONFIRM_ROUTE);
    let user = fixture.user(&fixture.customer).await;
    let well_formed_unknown = "A".repeat(43);
    let token = |token: &str| Some(json!({"token": token}));
    for bad in [
        "",
        "short",
        "A".repeat(44).as_str(),
        &well_formed_unknown,
        "../../etc/passwd",
    ] {
        let answers = confirm.anonymous("POST", user.id, token(bad)).await;
        answers.expect(400).problem("invalid-token");
    }
    let answers = confirm.anonymous("POST", UserId::new_random(), token(&well_formed_unknown));
    answers.await.expect(400).problem("invalid-token");
    let answers = confirm.anonymous("POST", user.id, Some(json!({}))).await;
    answers.expect(400).problem("validation-error");
    let answers = confirm
        .send(|payload| {
            Event::new(payload, "POST", CONFIRM_ROUTE)
                .user_id(user.id)
                .body("token", Some("text/plain"))
        })
        .await;
    answers.expect(415).problem("unsupported-media-type");
    let answers = confirm.anonymous("GET", user.id, None).await;
    for response in answers.expect(400).all() {
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
    }
    fixture.assert_unchanged(&user).await;
}

#[tokio::test]
async fn disabling_withdraws_a_pending_change_and_its_token() {
    let (fixture, dir, state, user) = with_user().await;
    let token = state.mailed_token(&user, &dir).await;
    let disabled = fixture
        .store()
        .set_enabled(&StatusChange {
            user_id: user.id,
            rule: TenantRule::Subtree(fixture.partner.tenant()),
            expected: Version::FIRST,
            enabled: false,
            own: None,
            now: shared::Now::current(),
            origin: testkit::origin(shared::audit::Actor::confirmation_link(user.id)),
        })
        .await
        .unwrap();
    assert!(
        disabled.pending_email.is_none(),
        "removed in the same write"
    );
    assert!(disabled.credentials_changed_at.is_some());
    let response = state
        .call(confirm_json(Payload::V2, user.id, &token).request())
        .await;
    assert_problem(&response, 400, "invalid-token");
    let stored = fixture.stored(user.id).await.unwrap();
    assert_eq!(stored.user.contact.email, user.contact.email);
}

#[tokio::test]
async fn a_token_never_applies_to_a_disabled_account() {
    let (fixture, dir, state, user) = with_user().await;
    let token = state.mailed_token(&user, &dir).await;
    // Disabled behind the API's back (an item from before disabling withdrew changes).
    fixture.set_enabled_directly(user.id, false).await;
    let before = fixture.stored(user.id).await.unwrap();
    for payload in PAYLOADS {
        let response = state
            .call(confirm_json(payload, user.id, &token).request())
            .await;
        assert_problem(&response, 403, "account-disabled");
    }
    assert_eq!(fixture.stored(user.id).await.unwrap(), before);
}
