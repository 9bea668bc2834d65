//! End to end: the real function binaries under `cargo lambda watch` (the local stack's
//! runtime emulator and router), DynamoDB Local, a mail directory, and development tokens
//! over HTTP.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::language::Language;
use support::Watch;
use testkit::{Claims, Fixture, TEST_DEV_SECRET, mint_dev_token};

struct Api {
    http: reqwest::Client,
    base_url: String,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, headers, body)
    }

    /// Waits for the emulator to route a first request to a started function (the first
    /// call may wait for `cargo run`).
    async fn wait_ready(&self, watch: &Watch, path: &str, token: &str) {
        // The emulator first: a front (the local API Gateway) that listens before it answers
        // a request with a 500 of its own. Any answer of the emulator means it listens.
        let emulator = self
            .http
            .get(&watch.base_url)
            .timeout(Duration::from_secs(60));
        let listening = support::send_when_listening(emulator).await;
        assert!(listening.is_ok(), "cargo lambda watch: {listening:?}");
        // The first request may wait for `cargo run` to build the function.
        let request = self
            .http
            .get(format!("{}{path}", self.base_url))
            .bearer_auth(token)
            .timeout(Duration::from_secs(600));
        let answer = support::send_when_listening(request).await;
        assert!(
            answer
                .as_ref()
                .is_ok_and(|response| response.status() == StatusCode::OK),
            "cargo lambda watch answered {path} with {answer:?}; its log:\n{}",
            watch.logs()
        );
    }
}

#[tokio::test]
async fn the_binaries_serve_every_route_over_http() {
    const OLD: &str = "an old and trusted passphrase";
    const NEW: &str = "a brand new passphrase for today";
    const ADMIN_SET: &str = "set by the partner's provisioning client";
    let fixture = Fixture::new().await;
    let john = fixture.user_with_password(&fixture.customer, OLD).await;
    let clerk = fixture.user_with_password(&fixture.sub_customer, OLD).await;
    let outsider = fixture.user(&fixture.other_partner).await;
    let watch = Watch::start(
        fixture.table.name(),
        fixture.table.endpoint(),
        "development",
    );
    let api = Api {
        http: reqwest::Client::new(),
        base_url: watch.base_url.clone(),
    };
    let mint =
        |claims: &Claims, ttl_secs| mint_dev_token(TEST_DEV_SECRET.as_bytes(), claims, ttl_secs);
    let john_claims = Claims::user(john.id, fixture.customer.tenant(), "");
    let everything = "users:read users:write";
    let john_token = mint(&john_claims, 600);
    let admin_token = mint(
        &Claims::client("partner-admin", fixture.partner.tenant(), everything),
        600,
    );
    let globex = Claims::client("globex", fixture.other_partner.tenant(), everything);
    let outsider_token = mint(&globex, 600);
    let expired_token = mint(&john_claims, -60);
    let forged_token = mint_dev_token(b"another-secret-0123456789abcdef-0123", &john_claims, 600);

    let user_path = format!("/users/{}", john.id);
    let status_path = format!("/users/{}/status", john.id);
    api.wait_ready(&watch, &user_path, &john_token).await;
    use reqwest::Method;

    // The platform's documented flow: fetch the user to learn `version`, then disable.
    let (status, headers, body) = api
        .send(Method::GET, &user_path, Some(&john_token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(body["version"], 1);
    assert_eq!(body["login"], json!(john.login));

    let disable = json!({"enabled": false, "version": 1});
    let (status, headers, body) = api
        .send(
            Method::PUT,
            &status_path,
            Some(&admin_token),
            Some(disable.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["etag"], "\"2\"");
    assert_eq!(body["enabled"], false);
    assert_eq!(body["version"], 2);

    // The same request again is stale now.
    let (status, headers, body) = api
        .send(Method::PUT, &status_path, Some(&admin_token), Some(disable))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(body["current_version"], 2);

    let enable = json!({"enabled": true, "version": 2});
    let (status, _, body) = api
        .send(Method::PUT, &status_path, Some(&admin_token), Some(enable))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["version"], 3);
    assert_eq!(body["enabled"], true);

    // Outside the subtree looks missing; no token, an expired or a forged one is a 401.
    let (status, _, _) = api
        .send(Method::GET, &user_path, Some(&outsider_token), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = api
        .send(
            Method::GET,
            &format!("/users/{}", outsider.id),
            Some(&admin_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for token in [
        None,
        Some(expired_token.as_str()),
        Some(forged_token.as_str()),
    ] {
        let (status, _, body) = api.send(Method::GET, &user_path, token, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, _, body) = api
        .send(
            Method::PUT,
            &status_path,
            Some(&admin_token),
            Some(json!({"enabled": "no"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .ends_with("/validation-error")
    );

    let stored = fixture.stored(john.id).await.expect("john");
    assert_eq!(stored.user.version.get(), 3);
    assert!(stored.user.enabled);

    // The disable ended John's access: his token from before it is revoked, and
    // re-enabling did not bring it back. A token issued now works.
    let (status, headers, body) = api
        .send(Method::GET, &user_path, Some(&john_token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["type"].as_str().unwrap().ends_with("/token-revoked"));
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    let john_token = mint(&Claims::user(john.id, fixture.customer.tenant(), ""), 600);
    let (status, _, body) = api
        .send(Method::GET, &user_path, Some(&john_token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Passwords: self-service with the current one, administrative for a sub-tenant user.
    let password_path = format!("/users/{}/password", john.id);
    let wrong = json!({"password": NEW, "current_password": "not the password"});
    let (status, _, body) = api
        .send(Method::POST, &password_path, Some(&john_token), Some(wrong))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let change = json!({"password": NEW, "current_password": OLD});
    let (status, _, body) = api
        .send(
            Method::POST,
            &password_path,
            Some(&john_token),
            Some(change),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null, "204 has an empty body");
    let clerk_path = format!("/users/{}/password", clerk.id);
    let set = json!({"password": ADMIN_SET});
    let (status, _, body) = api
        .send(Method::POST, &clerk_path, Some(&admin_token), Some(set))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let mut hashes = Vec::new();
    for id in [john.id, clerk.id] {
        let item = fixture.stored(id).await.expect("user");
        hashes.push(item.password_hash.expect("a hash").as_str().to_owned());
    }
    assert_eq!(
        fixture
            .stored(john.id)
            .await
            .expect("john")
            .user
            .version
            .get(),
        3
    );

    // Email: requested by John (activated), mailed to his old address, confirmed by link.
    let email_path = format!("/users/{}/email", john.id);
    let change = json!({"contact": {"email": "john@new.example"}, "version": 3});
    let (status, _, body) = api
        .send(Method::PUT, &email_path, Some(&john_token), Some(change))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 3);
    assert!(body["pending_email_change"]["expires_at"].is_string());
    let (email_token, to) = watch.mailed_token();
    assert_eq!(to, john.contact.email);
    let confirmation = format!("/users/{}/email/confirmation", john.id);
    let page = api
        .http
        .get(format!(
            "{}{confirmation}?token={email_token}",
            api.base_url
        ))
        .send()
        .await
        .expect("the page");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("<form method=\"post\"")
    );
    let confirm = json!({"token": email_token});
    let (status, _, body) = api
        .send(Method::POST, &confirmation, None, Some(confirm.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["contact"]["email"], "john@new.example");
    assert_eq!(body["version"], 4);
    let (status, _, _) = api
        .send(Method::POST, &confirmation, None, Some(confirm))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a token works once");

    // The table's stream, followed as start-local.sh does, reaches the account-events
    // binary: one `PutEvents` entry per change, in order, and the notice mails.
    let follower = watch.follow_stream();
    let expected = [
        "account.disabled",
        "account.enabled",
        "account.password.changed",
        "account.password.reset",
        "account.email.change-requested",
        "account.email.changed",
    ];
    let waited = || format!("{}\nthe functions' log:\n{}", follower.logs(), watch.logs());
    let enough = || watch.events().len() >= expected.len();
    wait_until("the events", Duration::from_secs(600), enough, waited).await;
    let events = watch.events();
    let kinds: Vec<&str> = events
        .iter()
        .map(|entry| entry["DetailType"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, expected);

    // The bus's rules, followed as start-local.sh does, reach the revoke-sessions binary:
    // the user's sessions end at the identity provider's stand-in on each event that ends them.
    let bus = watch.follow_bus();
    let ending = [
        "account.disabled",
        "account.password.changed",
        "account.password.reset",
    ];
    let waited = || format!("{}\nthe functions' log:\n{}", bus.logs(), watch.logs());
    let enough = || watch.revocations().len() >= ending.len();
    wait_until("the sign-outs", Duration::from_secs(600), enough, waited).await;
    let revocations = watch.revocations();
    let signed_out: Vec<(String, String)> = revocations
        .iter()
        .map(|r| (r["event"].to_string(), r["user_id"].to_string()))
        .collect();
    // Each session-ending event's user, in the bus's order.
    let ended: Vec<(String, String)> = events
        .iter()
        .filter(|entry| ending.contains(&entry["DetailType"].as_str().unwrap_or_default()))
        .map(|entry| {
            let detail: Value = serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap();
            (
                entry["DetailType"].to_string(),
                detail["user_id"].to_string(),
            )
        })
        .collect();
    assert_eq!(ended.len(), ending.len());
    assert_eq!(signed_out, ended);
    assert!(
        events
            .iter()
            .all(|entry| entry["Source"] == "platform.accounts")
    );
    let subjects = |to: &str| -> Vec<String> {
        let mut subjects: Vec<String> = testkit::messages(watch.mail_dir())
            .into_iter()
            .filter(|mail| mail.to == to)
            .map(|mail| mail.subject)
            .collect();
        subjects.sort();
        subjects
    };
    let enough = || testkit::messages(watch.mail_dir()).len() >= 5;
    wait_until("the notices", Duration::from_secs(60), enough, || {
        bus.logs()
    })
    .await;
    // A late duplicate would come within a few of the followers' polls (0.5 s): wait, and
    // count again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        testkit::messages(watch.mail_dir()).len(),
        5,
        "the confirmation mail and four notices, none twice"
    );
    let english = |id: &str| Language::En.text(id, None);
    let password_notice = english("notice-password-subject");
    let email_notice = english("notice-email-subject");
    let confirmation = english("confirmation-mail-subject");
    assert_eq!(subjects(&clerk.contact.email), [password_notice.as_str()]);
    assert_eq!(subjects("john@new.example"), [email_notice.as_str()]);
    let mut to_old = vec![
        email_notice.as_str(),
        confirmation.as_str(),
        password_notice.as_str(),
    ];
    to_old.sort();
    assert_eq!(subjects(&john.contact.email), to_old);
    drop(bus);
    drop(follower);

    // The functions ran at the most verbose level they accept (TRACE, capped at DEBUG), and
    // no token, password or hash reached a line.
    drop(api);
    let logs = watch.logs();
    assert!(
        logs.contains("request handled"),
        "function logs captured:\n{logs}"
    );
    assert!(
        logs.contains("logging at DEBUG"),
        "debug lines captured:\n{logs}"
    );
    assert!(!logs.contains(" TRACE "), "nothing below DEBUG:\n{logs}");
    assert!(
        !logs.contains(&email_token),
        "a confirmation token reached the logs"
    );
    for token in [
        &john_token,
        &admin_token,
        &outsider_token,
        &expired_token,
        &forged_token,
    ] {
        let signature = token.rsplit('.').next().unwrap_or(token);
        assert!(!logs.contains(signature), "a token reached the logs");
    }
    for secret in [OLD, NEW, ADMIN_SET, "not the password"] {
        assert!(!logs.contains(secret), "a password reached the logs");
    }
    for hash in &hashes {
        let digest = hash.rsplit('$').next().unwrap_or(hash);
        assert!(!logs.contains(digest), "a password hash reached the logs");
    }
    check_metrics(&logs, &[john.id, clerk.id, outsider.id]);
}

/// Polls `done` until it holds; after `within`, fails with what `logs` then says.
async fn wait_until(
    what: &str,
    within: Duration,
    done: impl Fn() -> bool,
    logs: impl Fn() -> String,
) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} not in time; the log:\n{}",
            logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The functions' CloudWatch metrics, as the EMF documents in their output: names, units and
/// dimensions as documented (docs/metrics.md), no personal value as a dimension, and one
/// flush per invocation.
fn check_metrics(logs: &str, user_ids: &[shared::UserId]) {
    use shared::metrics::names::*;
    use std::collections::{BTreeMap, BTreeSet};
    let documents = testkit::logs::emf_documents(logs).expect("EMF documents are JSON");
    let units: BTreeMap<&str, &str> = [
        (RESPONSES, "Count"),
        (COLD_START, "Count"),
        (MAILS_SENT, "Count"),
        (MAILS_FAILED, "Count"),
        (PASSWORD_HASHES, "Count"),
        (PASSWORD_HASH_TIME, "Milliseconds"),
        (PASSWORD_HASH_CPU_TIME, "Milliseconds"),
        (PASSWORD_VERIFICATIONS, "Count"),
        (PASSWORD_VERIFICATION_TIME, "Milliseconds"),
        (DYNAMODB_ATTEMPTS, "Count"),
        (DYNAMODB_THROTTLES, "Count"),
        (EVENTS_PUBLISHED, "Count"),
        (EVENTS_FAILED, "Count"),
        (NOTICES_DROPPED, "Count"),
        (PASSWORD_HASHES_REFUSED, "Count"),
        (SIGN_OUTS, "Count"),
        (SIGN_OUTS_FAILED, "Count"),
        (SIGN_OUTS_UNKNOWN_USER, "Count"),
        (AUTHORIZATIONS, "Count"),
        (AUTHORIZER_FAILURES, "Count"),
    ]
    .into();
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut flushes: BTreeMap<(String, String), usize> = BTreeMap::new();
    for document in &documents {
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "AccountFunctions", "{document}");
        let dimensions: Vec<&str> = directive["Dimensions"][0]
            .as_array()
            .expect("one dimension set")
            .iter()
            .map(|d| d.as_str().expect("a dimension name"))
            .collect();
        assert_eq!(dimensions[0], "function", "{document}");
        for name in &dimensions {
            assert!(
                ["function", "status", "problem"].contains(name),
                "{document}"
            );
            let value = document[*name].as_str().expect("a dimension value");
            assert!(
                value.len() <= 40
                    && value
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !user_ids.iter().any(|id| value == id.to_string()),
                "a dimension value of high cardinality or personal: {document}"
            );
        }
        let function = document["function"].as_str().unwrap().to_owned();
        let mut names = Vec::new();
        for metric in directive["Metrics"].as_array().expect("metrics") {
            let name = metric["Name"].as_str().expect("a metric name");
            assert_eq!(
                units.get(name).copied(),
                metric["Unit"].as_str(),
                "{document}"
            );
            assert!(!document[name].is_null(), "a value for {name}: {document}");
            seen.entry(function.clone())
                .or_default()
                .insert(name.to_owned());
            names.push(name);
        }
        let request_id = document["request_id"]
            .as_str()
            .expect("the invocation's request id");
        if !names.contains(&COLD_START) {
            // One flush per invocation: one document per dimension set and invocation.
            let key = (request_id.to_owned(), dimensions.join(","));
            *flushes.entry(key).or_default() += 1;
        }
    }
    assert!(flushes.values().all(|&n| n == 1), "{flushes:?}");
    let expect = |function: &str, names: &[&str]| {
        let found = seen.get(function).cloned().unwrap_or_default();
        for name in names {
            assert!(found.contains(*name), "{function} has no {name}: {found:?}");
        }
    };
    for function in ["get-user", "set-account-status", "confirm-email"] {
        expect(function, &[COLD_START, RESPONSES, DYNAMODB_ATTEMPTS]);
    }
    expect(
        "change-password",
        &[
            COLD_START,
            RESPONSES,
            DYNAMODB_ATTEMPTS,
            PASSWORD_HASHES,
            PASSWORD_HASH_TIME,
            PASSWORD_HASH_CPU_TIME,
            PASSWORD_VERIFICATIONS,
            PASSWORD_VERIFICATION_TIME,
        ],
    );
    expect(
        "change-email",
        &[COLD_START, RESPONSES, DYNAMODB_ATTEMPTS, MAILS_SENT],
    );
    expect("account-events", &[COLD_START, EVENTS_PUBLISHED]);
    expect("send-notices", &[COLD_START, DYNAMODB_ATTEMPTS, MAILS_SENT]);
    expect("revoke-sessions", &[COLD_START, SIGN_OUTS]);
    // Answers by status and problem: successes and refusals apart.
    let answers: BTreeSet<(String, String)> = documents
        .iter()
        .filter(|d| !d["responses"].is_null())
        .map(|d| {
            (
                d["status"].as_str().unwrap().to_owned(),
                d["problem"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        answers.contains(&("200".to_owned(), "none".to_owned())),
        "{answers:?}"
    );
    assert!(
        answers.contains(&("401".to_owned(), "unauthorized".to_owned())),
        "{answers:?}"
    );
}

/// The local stack's API Gateway stand-in (`devtool api-gateway`) in front of the real
/// binaries: the template's routes, API Gateway's own answers, and a body that is not UTF-8
/// base64-encoded as in AWS, so that the function answers it (`cargo lambda watch`'s own
/// front answers such a body with a 500 of its own).
#[tokio::test]
async fn the_local_api_gateway_passes_requests_as_api_gateway_does() {
    let fixture = Fixture::new().await;
    let john = fixture.user(&fixture.customer).await;
    let watch = Watch::start(
        fixture.table.name(),
        fixture.table.endpoint(),
        "development",
    );
    let gateway = watch.api_gateway();
    let api = Api {
        http: reqwest::Client::new(),
        base_url: gateway.base_url.clone(),
    };
    let token = mint_dev_token(
        TEST_DEV_SECRET.as_bytes(),
        &Claims::user(john.id, fixture.customer.tenant(), ""),
        600,
    );
    let user_path = format!("/users/{}", john.id);
    api.wait_ready(&watch, &user_path, &token).await;

    let (status, headers, body) = api
        .send(reqwest::Method::GET, &user_path, Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(body["id"], json!(john.id.to_string()));

    let not_utf8: &[u8] = b"\x1e\xff\xfe";
    let response = api
        .http
        .post(format!("{}/users/{}/password", api.base_url, john.id))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(not_utf8)
        .send()
        .await
        .expect("the API answers");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.expect("problem+json");
    assert_eq!(problem["errors"][0]["code"], "malformed-json", "{problem}");

    // The confirmation form, from a browser that sent bytes that are not UTF-8: a page.
    let response = api
        .http
        .post(format!(
            "{}/users/{}/email/confirmation",
            api.base_url, john.id
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"token=\xff".as_slice())
        .send()
        .await
        .expect("the API answers");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    // A status change retried with its Idempotency-Key: the first 200 twice, not a 409.
    let admin = mint_dev_token(
        TEST_DEV_SECRET.as_bytes(),
        &Claims::client("partner", fixture.partner.tenant(), "users:write"),
        600,
    );
    let mut answers = Vec::new();
    for _ in 0..2 {
        let response = api
            .http
            .put(format!("{}/status", api.base_url.clone() + &user_path))
            .bearer_auth(&admin)
            .header("idempotency-key", "\"e2e-disable\"")
            .header("if-match", "\"1\"")
            .json(&json!({"enabled": false}))
            .send()
            .await
            .expect("the API answers");
        let replayed = response.headers().contains_key("idempotent-replayed");
        answers.push((response.status(), replayed, response.text().await.unwrap()));
    }
    assert_eq!((answers[0].0, answers[0].1), (StatusCode::OK, false));
    assert_eq!((answers[1].0, answers[1].1), (StatusCode::OK, true));
    assert_eq!(answers[0].2, answers[1].2);
    assert_eq!(fixture.stored(john.id).await.unwrap().user.version.get(), 2);

    // What is not a route of the template is API Gateway's own 404, wrong methods included.
    for (method, path) in [
        (reqwest::Method::GET, "/nothing".to_owned()),
        (reqwest::Method::DELETE, user_path.clone()),
        (reqwest::Method::GET, format!("{user_path}/status")),
    ] {
        let (status, _, body) = api.send(method.clone(), &path, Some(&token), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(body, json!({"message": "Not Found"}), "{method} {path}");
    }
    // The gateway logs the path, never the query (confirmation tokens travel there).
    let (status, _, _) = api
        .send(
            reqwest::Method::GET,
            &format!(
                "/users/{}/email/confirmation?token=secret-in-the-query",
                john.id
            ),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let logs = gateway.logs();
    assert!(logs.contains("→ confirm-email 400"), "{logs}");
    assert!(!logs.contains("secret-in-the-query"), "{logs}");
}
