//! Reliability and security: concurrent writers, a corpus of hostile requests that must
//! each get the right 4xx and change nothing, DynamoDB throttling and DynamoDB stopped mid-run
//! (the authorisation matrix: authorisation.rs).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use shared::config::{CoreConfig, Env};
use shared::{Store, UserId};
use support::{Functions, Route};
use testkit::FromTemplate;
use testkit::{
    Claims, Event, Fixture, LOCAL_REGION, Payload, Reply, StandIn, TestTable, body_json,
    received_mails,
};

/// Every item of the table, ordered by key, exactly as DynamoDB returns them.
async fn scan_all(store: &Store) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = store
            .client()
            .scan()
            .table_name(store.table())
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("Scan");
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key() {
            Some(key) => start = Some(key.clone()),
            None => break,
        }
    }
    items.sort_by_key(|item| format!("{:?}", item.get("pk")));
    items
}

#[tokio::test]
async fn fifty_concurrent_writers_of_one_version_have_exactly_one_winner() {
    let fixture = Fixture::new().await;
    let functions = Functions::new(fixture.store());
    let admin = Claims::client(
        "partner",
        fixture.partner.tenant(),
        "users:read users:write",
    );

    // Status: one 200, forty-nine 409 that tell the new version.
    let user = fixture.user(&fixture.customer).await;
    let event = Route::Status
        .event(Payload::V2, &user.id.to_string())
        .claims(&admin)
        .json(json!({"enabled": false, "version": 1}));
    let responses =
        futures::future::join_all((0..50).map(|_| functions.call(Route::Status, &event))).await;
    let statuses = count(&responses);
    assert_eq!((statuses[&200], statuses[&409]), (1, 49), "{statuses:?}");
    for response in responses.iter().filter(|r| r.status() == 409) {
        assert_eq!(body_json(response)["current_version"], 2);
    }
    assert_eq!(fixture.stored(user.id).await.unwrap().user.version.get(), 2);

    // Email (not activated, so each write changes the address): one winner, version 2.
    let fresh = fixture.inactive_user(&fixture.customer).await;
    let requests = (0..50).map(|i| {
        Route::Email
            .event(Payload::V1, &fresh.id.to_string())
            .claims(&admin)
            .json(json!({"contact": {"email": format!("writer{i}@new.example")}, "version": 1}))
    });
    let events: Vec<Event> = requests.collect();
    let responses =
        futures::future::join_all(events.iter().map(|e| functions.call(Route::Email, e))).await;
    let statuses = count(&responses);
    assert_eq!((statuses[&200], statuses[&409]), (1, 49), "{statuses:?}");
    let winner = responses
        .iter()
        .find(|r| r.status() == 200)
        .map(body_json)
        .unwrap();
    let stored = fixture.stored(fresh.id).await.unwrap().user;
    assert_eq!(stored.version.get(), 2);
    assert_eq!(
        winner["contact"]["email"],
        json!(stored.contact.email),
        "the stored address is the winner's"
    );

    // Confirmations of one token: one 200, forty-nine 400.
    let activated = fixture.user(&fixture.customer).await;
    let me = Claims::user(activated.id, activated.tenant_id, "");
    let request = Route::Email
        .event(Payload::V2, &activated.id.to_string())
        .claims(&me)
        .json(json!({"contact": {"email": "new@new.example"}, "version": 1}));
    assert_eq!(functions.call(Route::Email, &request).await.status(), 200);
    let token = mailed_token(&functions);
    let confirm = Route::Confirm
        .event(Payload::V2, &activated.id.to_string())
        .json(json!({"token": token}));
    let responses =
        futures::future::join_all((0..50).map(|_| functions.call(Route::Confirm, &confirm))).await;
    let statuses = count(&responses);
    assert_eq!((statuses[&200], statuses[&400]), (1, 49), "{statuses:?}");
    let stored = fixture.stored(activated.id).await.unwrap().user;
    assert_eq!(
        (stored.version.get(), stored.contact.email.as_str()),
        (2, "new@new.example")
    );
}

#[tokio::test]
async fn twenty_concurrent_retries_with_one_key_do_the_work_once() {
    let fixture = Fixture::new().await;
    let functions = Functions::new(fixture.store());
    let admin = Claims::client("partner", fixture.partner.tenant(), "users:write");
    let john = fixture.user(&fixture.customer).await;
    let jane = fixture.user(&fixture.sub_customer).await;
    let clerk = fixture.user(&fixture.sub_customer).await;
    let clerk_hash = fixture.stored(clerk.id).await.unwrap().password_hash;
    let keyed = |route: Route, user: UserId, body: Value| {
        route
            .event(Payload::V2, &user.to_string())
            .claims(&admin)
            .header("idempotency-key", "\"one-key\"")
            .json(body)
    };
    let cases = [
        (
            Route::Status,
            john.id,
            json!({"enabled": false, "version": 1}),
            200,
        ),
        (
            Route::Email,
            jane.id,
            json!({"contact": {"email": "jane@new.example"}, "version": 1}),
            200,
        ),
        (
            Route::Password,
            clerk.id,
            json!({"password": "a fresh passphrase for the clerk"}),
            204,
        ),
    ];
    for (route, user, body, success) in cases {
        let event = keyed(route, user, body);
        let responses =
            futures::future::join_all((0..20).map(|_| functions.call(route, &event))).await;
        // Each retry gets the first answer, or 409 while the first runs; one did the work.
        let replayed = |r: &&Response<Body>| r.headers().contains_key("idempotent-replayed");
        let done = responses
            .iter()
            .filter(|r| r.status() == success && !replayed(r))
            .count();
        assert_eq!(done, 1, "{route:?}: {:?}", count(&responses));
        for response in &responses {
            if response.status() == 409 {
                assert_eq!(
                    body_json(response)["type"],
                    json!(format!(
                        "{}idempotency-key-in-use",
                        shared::error::PROBLEM_TYPE_BASE
                    ))
                );
            } else {
                assert_eq!(response.status(), success, "{route:?}");
            }
        }
        // Once the first is done, every retry is its answer.
        let late = functions.call(route, &event).await;
        assert_eq!(late.status(), success);
        assert!(late.headers().contains_key("idempotent-replayed"));
    }
    let stored = |id| fixture.stored(id);
    assert_eq!(stored(john.id).await.unwrap().user.version.get(), 2);
    assert!(stored(jane.id).await.unwrap().pending_email.is_some());
    assert_eq!(
        received_mails(&functions.mail_dir).len(),
        1,
        "one confirmation mail"
    );
    assert_ne!(stored(clerk.id).await.unwrap().password_hash, clerk_hash);
}

fn count(responses: &[Response<Body>]) -> HashMap<u16, usize> {
    let mut counts = HashMap::from([(200, 0), (400, 0), (409, 0)]);
    for response in responses {
        *counts.entry(response.status().as_u16()).or_default() += 1;
    }
    counts
}

fn mailed_token(functions: &Functions) -> String {
    received_mails(&functions.mail_dir)
        .pop()
        .expect("a mailed token")
        .token
}

/// The first characters of `text`, for a readable failure message.
fn short(text: &str) -> String {
    text.chars().take(30).collect()
}

/// A hostile request and the answer it must get.
struct Case {
    route: Route,
    event: Event,
    status: u16,
    /// Answered with a page (the confirmation page and its form), not problem+json.
    page: bool,
    what: String,
}

#[derive(Default)]
struct Corpus(Vec<Case>);

impl Corpus {
    fn add(&mut self, route: Route, event: Event, status: u16, what: String) {
        let page = route.is_page();
        self.0.push(Case {
            route,
            event,
            status,
            page,
            what,
        });
    }

    fn add_page(&mut self, route: Route, event: Event, status: u16, what: String) {
        self.0.push(Case {
            route,
            event,
            status,
            page: true,
            what,
        });
    }
}

fn hostile_corpus(fixture: &Fixture, target: UserId, clerk: UserId) -> Vec<Case> {
    let mut corpus = Corpus::default();
    let id = target.to_string();
    let me = Claims::user(target, fixture.customer.tenant(), "");
    let admin = Claims::client(
        "partner",
        fixture.partner.tenant(),
        "users:read users:write",
    );
    let json_body = |route: Route| match route {
        Route::Status => json!({"enabled": false, "version": 1}),
        Route::Password => {
            json!({"password": "a perfectly fine passphrase", "current_password": "x"})
        }
        Route::Email => json!({"contact": {"email": "x@new.example"}, "version": 1}),
        _ => json!({"token": "A".repeat(43)}),
    };

    // 1. Path parameters that are not canonical UUIDs: 400 on every route.
    let ids = [
        "nope",
        "../../etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        "1C234E69-5469-424A-A6D1-FF5658B387A6",
        "urn:uuid:1c234e69-5469-424a-a6d1-ff5658b387a6",
        "%7B1c234e69-5469-424a-a6d1-ff5658b387a6%7D",
        "1c234e695469424aa6d1ff5658b387a6",
        "1c234e69-5469-424a-a6d1-ff5658b387a6-00",
        "00000000-0000-0000-0000-00000000000g",
        &"9".repeat(4_000),
    ];
    for route in Route::ALL {
        for bad in ids {
            let mut event = route.event(Payload::V2, bad).claims(&admin);
            if matches!(
                route,
                Route::Status | Route::Password | Route::Email | Route::Confirm
            ) {
                event = event.json(json_body(route));
            }
            if route == Route::ConfirmPage {
                event = event.query("token", &"A".repeat(43));
            }
            corpus.add(
                route,
                event,
                400,
                format!("{route:?} with user id {bad:.40}"),
            );
        }
    }

    // 2. Missing, forged or malformed claims: 401 on the authenticated routes.
    let uuid = target.to_string();
    let tenant = fixture.customer.tenant().to_string();
    let claims: Vec<Option<Value>> = vec![
        None,
        Some(json!({})),
        Some(json!({"sub": uuid})),
        Some(json!({"sub": uuid, "tenant_id": "not-a-tenant", "principal_type": "user"})),
        Some(json!({"sub": uuid, "tenant_id": tenant, "principal_type": "admin"})),
        Some(json!({"sub": 42, "tenant_id": tenant, "principal_type": "client"})),
        Some(
            json!({"sub": uuid, "tenant_id": tenant, "principal_type": "user", "scope": ["users:write"]}),
        ),
        Some(
            json!({"sub": "a b", "tenant_id": tenant, "principal_type": "client", "scope": "users:write"}),
        ),
        Some(json!({"sub": uuid.to_uppercase(), "tenant_id": tenant, "principal_type": "user"})),
    ];
    for route in [Route::Get, Route::Status, Route::Password, Route::Email] {
        for claim in &claims {
            // Payload 1.0 carries claims of any JSON type, as a Lambda authorizer can.
            let mut event = route.event(Payload::V1, &id);
            if let Some(claim) = claim {
                event = event.raw_claims(claim.clone());
            }
            if route != Route::Get {
                event = event.json(json_body(route));
            }
            corpus.add(
                route,
                event,
                401,
                format!("{route:?} with claims {claim:?}"),
            );
        }
    }

    // 3. Bodies that are not what the route takes.
    // Deep, yet under the body limit: the parser's recursion limit must answer, not the size.
    let deep = format!("{}{}", "[".repeat(8_000), "]".repeat(8_000));
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(17 * 1024));
    let bodies: Vec<(&str, Option<&str>, u16)> = vec![
        ("{", Some("application/json"), 400),
        ("", Some("application/json"), 400),
        ("[]", Some("application/json"), 400),
        ("null", Some("application/json"), 400),
        ("\"text\"", Some("application/json"), 400),
        ("{\"version\": 1e400}", Some("application/json"), 400),
        (
            "{\"version\": 18446744073709551616}",
            Some("application/json"),
            400,
        ),
        (&deep, Some("application/json"), 400),
        ("{} {}", Some("application/json"), 400),
        ("{\"a\": \"\u{0}\"}", Some("application/json"), 400),
        (&huge, Some("application/json"), 413),
        ("{}", Some("text/plain"), 415),
        ("{}", None, 415),
        ("{}", Some("application/jsonp"), 415),
        ("{}", Some("multipart/form-data; boundary=x"), 415),
    ];
    for route in [Route::Status, Route::Password, Route::Email, Route::Confirm] {
        let claims = if route == Route::Password {
            &me
        } else {
            &admin
        };
        for (body, content_type, status) in &bodies {
            let event = route
                .event(Payload::V2, &id)
                .claims(claims)
                .body(body, *content_type);
            corpus.add(
                route,
                event,
                *status,
                format!("{route:?} with body {:?} as {content_type:?}", short(body)),
            );
        }
        // Valid JSON truncated at every tenth of its length.
        let full = json_body(route).to_string();
        for cut in (1..10).map(|tenth| full.len() * tenth / 10) {
            let event = route
                .event(Payload::V1, &id)
                .claims(claims)
                .body(&full[..cut], Some("application/json"));
            corpus.add(route, event, 400, format!("{route:?} truncated at {cut}"));
        }
        // Invalid UTF-8, base64-encoded by API Gateway.
        let event = route
            .event(Payload::V2, &id)
            .claims(claims)
            .binary_body(b"{\"a\": \"\xff\xfe\"}", Some("application/json"));
        corpus.add(route, event, 400, format!("{route:?} with invalid UTF-8"));
    }
    let typed: Vec<(Route, Value)> = vec![
        (Route::Status, json!({"enabled": "false", "version": 1})),
        (Route::Status, json!({"enabled": false, "version": "1"})),
        (Route::Status, json!({"enabled": false, "version": 0})),
        (Route::Status, json!({"enabled": false, "version": -3})),
        (
            Route::Status,
            json!({"enabled": false, "version": 1, "enabled2": true}),
        ),
        (
            Route::Email,
            json!({"contact": {"email": ["x@new.example"]}, "version": 1}),
        ),
        (Route::Email, json!({"contact": null, "version": 1})),
        (
            Route::Password,
            json!({"password": null, "current_password": "x"}),
        ),
        (
            Route::Password,
            json!({"password": 15, "current_password": "x"}),
        ),
        (Route::Confirm, json!({"token": 43})),
    ];
    for (route, body) in typed {
        let claims = if route == Route::Password {
            &me
        } else {
            &admin
        };
        let event = route
            .event(Payload::V2, &id)
            .claims(claims)
            .json(body.clone());
        corpus.add(route, event, 400, format!("{route:?} with {body}"));
    }
    let duplicate = r#"{"enabled": true, "enabled": false, "version": 1}"#;
    let event = Route::Status
        .event(Payload::V2, &id)
        .claims(&admin)
        .body(duplicate, Some("application/json"));
    corpus.add(Route::Status, event, 400, "duplicate keys".into());

    // 4. Emails that must never reach a header or the store.
    for email in [
        "john@example.com\r\nBcc: victim@example.com",
        "john@example.com\nX-Injected: 1",
        "John <john@example.com>",
        "john@[127.0.0.1]",
        "john@localhost",
        "@example.com",
        "john@",
        "",
        "john\u{0}@example.com",
        &format!("{}@example.com", "a".repeat(260)),
        // Addresses SES cannot deliver to, or that carry text of their own into the mail.
        "jöhn@example.com",
        "\"john doe\"@example.com",
        "\"Dear customer, call +1 555\"@example.com",
        "john@exa_mple.com",
        "john@xn--.example",
        &format!("a@{}.example", "ü".repeat(240)),
    ] {
        let event = Route::Email
            .event(Payload::V2, &id)
            .claims(&me)
            .json(json!({"contact": {"email": email}, "version": 1}));
        corpus.add(Route::Email, event, 400, format!("email {email:.40?}"));
    }

    // 5. Passwords an API client may not set (no write happens), and current passwords that
    //    cannot be anyone's (refused before any attempt is counted).
    for password in [
        String::new(),
        "short".into(),
        "x".repeat(1_025),
        "🦀".repeat(300),
        "\u{0}".repeat(20),
        "line\r\nbreak passphrase ok".into(),
        "password1".into(),
        "qwertyuiopasdfghjkl".into(),
    ] {
        let event = Route::Password
            .event(Payload::V2, &clerk.to_string())
            .claims(&admin)
            .json(json!({"password": password}));
        corpus.add(
            Route::Password,
            event,
            400,
            format!("policy {password:.20?}"),
        );
    }
    for current in ["x".repeat(1_025), "🦀".repeat(257)] {
        let event = Route::Password
            .event(Payload::V1, &id)
            .claims(&me)
            .json(json!({"password": "a perfectly fine passphrase", "current_password": current}));
        corpus.add(
            Route::Password,
            event,
            400,
            "an impossible current password".into(),
        );
    }

    // 6. Confirmation tokens of every wrong shape (and a well-formed unknown one).
    let tokens = [
        String::new(),
        "short".into(),
        "A".repeat(42),
        "A".repeat(44),
        "A".repeat(43),
        format!("{}=", "A".repeat(42)),
        "+".repeat(43),
        "../../../../../../../../../../etc/passwd/x".into(),
        "ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ".into(),
        format!("{}\u{0}", "A".repeat(42)),
    ];
    for token in &tokens {
        let event = Route::Confirm
            .event(Payload::V2, &id)
            .json(json!({"token": token}));
        corpus.add(Route::Confirm, event, 400, format!("token {token:.20?}"));
        let form = format!(
            "token={}",
            token.replace('+', "%2B").replace('\u{0}', "%00")
        );
        let event = Route::Confirm
            .event(Payload::V1, &id)
            .body(&form, Some("application/x-www-form-urlencoded"));
        corpus.add_page(
            Route::Confirm,
            event,
            400,
            format!("form token {token:.20?}"),
        );
    }
    for token in ["", "short", &"A".repeat(44), "%3Cscript%3E", "A%00"] {
        let event = Route::ConfirmPage
            .event(Payload::V2, &id)
            .query("token", token);
        corpus.add(
            Route::ConfirmPage,
            event,
            400,
            format!("page token {token:.20?}"),
        );
    }
    corpus.0
}

#[tokio::test]
async fn every_hostile_request_gets_its_4xx_and_changes_nothing() {
    let fixture = Fixture::new().await;
    let functions = Functions::new(fixture.store());
    const PASSWORD: &str = "an old and trusted passphrase";
    let target = fixture
        .user_with_password(&fixture.customer, PASSWORD)
        .await;
    let clerk = fixture
        .user_with_password(&fixture.sub_customer, PASSWORD)
        .await;
    let before = scan_all(fixture.store()).await;

    let corpus = hostile_corpus(&fixture, target.id, clerk.id);
    // Pinned: a change that drops cases fails here, not silently.
    assert_eq!(corpus.len(), 258, "the corpus's size");
    let mut failures = Vec::new();
    for case in &corpus {
        let response = functions.call(case.route, &case.event).await;
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let expected_type = if case.page {
            "text/html; charset=utf-8"
        } else {
            "application/problem+json"
        };
        if response.status().as_u16() != case.status || content_type != expected_type {
            failures.push(format!(
                "{}: got {} {content_type}, expected {} {expected_type}: {}",
                case.what,
                response.status(),
                case.status,
                String::from_utf8_lossy(response.body().as_ref())
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n")
    );
    assert_eq!(
        scan_all(fixture.store()).await,
        before,
        "the table is unchanged"
    );
    let mails = std::fs::read_dir(&functions.mail_dir)
        .expect("mail dir")
        .count();
    assert_eq!(mails, 0, "no mail was sent");
    println!(
        "hostile requests: {} cases, all refused with the expected 4xx, table unchanged",
        corpus.len()
    );
}

/// The store as a function builds it (`CoreConfig` → `Https` → `Store::connect`, so the
/// SDK's timeouts and retries of `shared::aws`), at `endpoint`: a fault test that built
/// its own client would pass whatever the functions' wiring did.
fn production_store(endpoint: &str) -> Store {
    let vars: &[(&str, &str)] = &[
        ("TABLE_NAME", "accounts"),
        ("DYNAMODB_ENDPOINT", endpoint),
        ("AWS_REGION", LOCAL_REGION),
        ("DYNAMODB_PRECONNECT", "false"),
    ];
    let config = CoreConfig::load(&Env::new(&vars)).expect("config");
    let https = shared::aws::Https::new(&config.trust).expect("HTTPS client");
    Store::connect(&config, &https).expect("store")
}

/// The bound of a request whose DynamoDB call fails: the SDK's operation budget
/// (`shared::aws::OPERATION_TIMEOUT`, 4 s, docs/behaviour.md) and a little for the handler.
const FAULT_BOUND: Duration = Duration::from_millis(4500);

/// A DynamoDB stand-in that throttles every request, counting them.
async fn throttling_endpoint() -> (String, Arc<AtomicUsize>) {
    let stand_in = StandIn::start(|_| Reply {
        status: "400 Bad Request",
        content_type: "application/x-amz-json-1.0",
        body: r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"throttled by the test"}"#.into(),
    })
    .await;
    (stand_in.endpoint, stand_in.calls)
}

#[tokio::test]
async fn a_throttled_dynamodb_is_a_503_after_bounded_retries_on_every_route() {
    let (endpoint, requests) = throttling_endpoint().await;
    let functions = Functions::new(&production_store(&endpoint));
    let user = UserId::new_random();
    let tenant = shared::TenantId::new_random();
    let admin = Claims::client("partner", tenant, "users:read users:write");
    let me = Claims::user(user, tenant, "");
    let id = user.to_string();
    const FINE: &str = "a perfectly fine passphrase";
    let disable = json!({"enabled": false, "version": 1});
    let own_password = json!({"password": FINE, "current_password": "x"});
    let set_password = json!({"password": FINE});
    let email = json!({"contact": {"email": "x@new.example"}, "version": 1});
    let token = json!({"token": "A".repeat(43)});
    let cases = [
        (Route::Get, Payload::V2, Some(&admin), Value::Null),
        (Route::Status, Payload::V2, Some(&admin), disable),
        (Route::Password, Payload::V2, Some(&me), own_password),
        (Route::Password, Payload::V1, Some(&admin), set_password),
        (Route::Email, Payload::V2, Some(&me), email),
        (Route::Confirm, Payload::V2, None, token),
    ]
    .map(|(route, payload, caller, body)| (route, route.request(payload, &id, caller, body)));
    for (route, event) in &cases {
        requests.store(0, Ordering::SeqCst);
        let started = Instant::now();
        let response = functions.call(*route, event).await;
        let elapsed = started.elapsed();
        assert_eq!(
            response.status(),
            503,
            "{route:?}: {}",
            String::from_utf8_lossy(response.body().as_ref())
        );
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert_eq!(response.headers()["retry-after"], "1");
        assert_eq!(
            requests.load(Ordering::SeqCst),
            3,
            "{route:?}: three attempts, then give up"
        );
        assert!(
            elapsed < FAULT_BOUND,
            "{route:?} answered after {elapsed:?}"
        );
    }
}

/// An endpoint that accepts connections and never answers: each attempt times out, and the
/// operation's budget ends the call at 4 s with a 503, not the function's timeout.
#[tokio::test]
async fn an_unresponsive_dynamodb_is_a_503_within_the_operation_budget() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let held = Arc::new(std::sync::Mutex::new(Vec::new()));
    let holder = held.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = silent.accept().await {
            holder.lock().unwrap().push(socket);
        }
    });
    let functions = Functions::new(&production_store(&endpoint));
    let tenant = shared::TenantId::new_random();
    let admin = Claims::client("partner", tenant, "users:read users:write");
    let id = UserId::new_random().to_string();
    for (route, body) in [
        (Route::Get, Value::Null),
        (Route::Status, json!({"enabled": false, "version": 1})),
    ] {
        let event = route.request(Payload::V2, &id, Some(&admin), body);
        let started = Instant::now();
        // Without the wiring's timeouts the call would wait forever: fail instead.
        let response = tokio::time::timeout(Duration::from_secs(10), functions.call(route, &event))
            .await
            .expect("an answer within 10 s");
        let elapsed = started.elapsed();
        assert_eq!(response.status(), 503, "{route:?}");
        assert_eq!(response.headers()["retry-after"], "1");
        assert!(
            elapsed >= Duration::from_millis(2900) && elapsed < FAULT_BOUND,
            "{route:?}: attempts of 1.5 s within a 4 s budget, answered after {elapsed:?}"
        );
    }
    assert!(
        !held.lock().unwrap().is_empty(),
        "the attempts reached the endpoint"
    );
}

/// DynamoDB Local of this test alone, with its data in a directory so that it survives a
/// restart; stopped when dropped.
struct OwnDynamoDb {
    child: std::process::Child,
    port: u16,
    data: PathBuf,
}

impl OwnDynamoDb {
    async fn start(port: u16, data: PathBuf) -> Self {
        let dir = std::env::var("DYNAMODB_LOCAL_DIR")
            .expect("DYNAMODB_LOCAL_DIR (infra/test.sh sets it to DynamoDB Local's folder)");
        let child = std::process::Command::new("java")
            .arg(format!("-Djava.library.path={dir}/DynamoDBLocal_lib"))
            .args(["-jar", &format!("{dir}/DynamoDBLocal.jar")])
            .args(["-port", &port.to_string(), "-disableTelemetry", "-dbPath"])
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("java runs DynamoDB Local");
        let deadline = Instant::now() + Duration::from_secs(60);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "DynamoDB Local did not start");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Self { child, port, data }
    }

    fn stop(mut self) -> (u16, PathBuf) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (self.port, self.data.clone())
    }
}

impl Drop for OwnDynamoDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn dynamodb_stopped_mid_run_is_a_503_and_everything_works_after_a_restart() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let data = std::env::temp_dir().join(format!("ddb-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&data).expect("data dir");
    let dynamodb = OwnDynamoDb::start(port, data).await;
    let endpoint = format!("http://127.0.0.1:{port}");
    let store = production_store(&endpoint);
    testkit::TableDefinition::from_repository()
        .expect("definition")
        .create(store.client(), "accounts")
        .await
        .expect("table");
    let tenant = shared::TenantPath::root(shared::TenantId::new_random());
    let user = testkit::new_user(
        UserId::new_random(),
        "faulty",
        "faulty@example.com",
        &tenant,
    );
    testkit::put_user(&store, &shared::UserItem::new(user.clone(), tenant.clone()))
        .await
        .expect("user");
    let functions = Functions::new(&store);
    let admin = Claims::client("admin", tenant.tenant(), "users:read users:write");
    let id = user.id.to_string();
    let status = |version: u64, enabled: bool| {
        Route::Status
            .event(Payload::V2, &id)
            .claims(&admin)
            .json(json!({"enabled": enabled, "version": version}))
    };

    let response = functions.call(Route::Status, &status(1, false)).await;
    assert_eq!(response.status(), 200);
    let last_written = store.get_user(user.id).await.expect("read").expect("user");

    // DynamoDB goes away: every route answers 503 quickly; nothing is written.
    let (port, data) = dynamodb.stop();
    const FINE: &str = "a perfectly fine passphrase";
    let email = json!({"contact": {"email": "x@new.example"}, "version": 2});
    let confirm = Route::Confirm.request(Payload::V2, &id, None, json!({"token": "A".repeat(43)}));
    let by_admin =
        |route: Route, payload, body| (route, route.request(payload, &id, Some(&admin), body));
    let cases = [
        by_admin(Route::Get, Payload::V2, Value::Null),
        (Route::Status, status(2, true)),
        by_admin(Route::Email, Payload::V1, email),
        by_admin(Route::Password, Payload::V2, json!({"password": FINE})),
        (Route::Confirm, confirm),
    ];
    for (route, event) in &cases {
        let started = Instant::now();
        let response = functions.call(*route, event).await;
        assert_eq!(response.status(), 503, "{route:?}");
        assert_eq!(response.headers()["retry-after"], "1");
        assert!(
            started.elapsed() < FAULT_BOUND,
            "{route:?} took {:?}",
            started.elapsed()
        );
    }

    // Back again: the whole item is as the last successful write left it, and writes work.
    let _dynamodb = OwnDynamoDb::start(port, data).await;
    let after = store.get_user(user.id).await.expect("read").expect("user");
    assert_eq!(
        after, last_written,
        "every attribute as the last write left it"
    );
    assert_eq!((after.user.version.get(), after.user.enabled), (2, false));
    let response = functions.call(Route::Get, &cases[0].1).await;
    assert_eq!(response.status(), 200);
    let response = functions.call(Route::Status, &status(2, true)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["version"], 3);
}

/// The init phase opens the connection to DynamoDB that the first request then uses: one
/// TCP connection for both. With `DYNAMODB_PRECONNECT=false` none is opened before the first
/// request.
#[tokio::test]
async fn the_connection_opened_during_init_serves_the_first_request() {
    let table = TestTable::new().await;
    let upstream = table.endpoint().trim_start_matches("http://").to_owned();
    for (preconnect, opened_at_init) in [("true", 1), ("false", 0)] {
        // A relay in front of DynamoDB Local that counts the connections it accepts.
        let relay = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", relay.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counted = accepted.clone();
        let upstream = upstream.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = relay.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let mut server = tokio::net::TcpStream::connect(upstream).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
            }
        });
        let vars: &[(&str, &str)] = &[
            ("TABLE_NAME", table.name()),
            ("DYNAMODB_ENDPOINT", &endpoint),
            ("AWS_REGION", LOCAL_REGION),
            ("DYNAMODB_PRECONNECT", preconnect),
        ];
        let config = CoreConfig::load(&Env::new(&vars)).unwrap();
        let https = shared::aws::Https::new(&config.trust).unwrap();
        let store = Store::connect(&config, &https).unwrap();
        store.open_connection().await;
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            opened_at_init,
            "{preconnect}"
        );
        let missing = store.get_user(UserId::new_random()).await.unwrap();
        assert!(missing.is_none());
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "DYNAMODB_PRECONNECT={preconnect}: one connection in all"
        );
    }
}
