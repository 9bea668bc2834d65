//! The confirmation pages in a real browser: Debian's Chromium, headless, driven through
//! its ChromeDriver (W3C WebDriver, plain HTTP), against the real `confirm-email` binary
//! under `cargo lambda watch`. `infra/test.sh` installs both (apt); without them this test
//! fails rather than pass unseen.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::language::Language;
use support::{Functions, Route, Watch, workspace_root};
use testkit::{Claims, Fixture, Payload, received_mails};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const NEW_EMAIL: &str = "browser-confirmed@new.example";

/// ChromeDriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Driver {
    async fn start() -> Self {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(program).is_file(),
                "{program} is missing: infra/test.sh installs Debian's chromium and chromium-driver"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = driver
                .http
                .get(format!("{}/status", driver.url))
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            // Not listening yet, or listening and not ready yet: asked again. Any other
            // error is a failure.
            match ready {
                Ok(response) => {
                    let status: Value = response.json().await.expect("chromedriver's status");
                    if status["value"]["ready"] == true {
                        return driver;
                    }
                }
                Err(error) => assert!(error.is_connect(), "chromedriver: {error}"),
            }
            assert!(Instant::now() < deadline, "chromedriver did not get ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A headless Chromium session with a fresh profile whose reader prefers `languages`
    /// (what it sends as Accept-Language), logging the network (so the test sees the
    /// response headers as the browser received them).
    async fn session(&self, profile: &Path, languages: &str) -> Session<'_> {
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                // This machine's closed network refuses Chromium's background connections:
                // switch them off (see the environment notes).
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=800,500",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--accept-lang={languages}"),
                ],
                "prefs": {"intl": {"accept_languages": languages}},
            },
            "goog:loggingPrefs": {"performance": "ALL"},
        }}});
        let answer = self.post("/session", capabilities).await;
        let id = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_owned();
        Session { driver: self, id }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .json(&body)
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .expect("chromedriver answers");
        let answer: Value = response.json().await.expect("JSON");
        answer["value"].clone()
    }

    async fn get(&self, path: &str) -> Value {
        let answer: Value = self
            .http
            .get(format!("{}{path}", self.url))
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("JSON");
        answer["value"].clone()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl Session<'_> {
    async fn open(&self, url: &str) {
        self.driver
            .post(&format!("/session/{}/url", self.id), json!({"url": url}))
            .await;
    }

    async fn title(&self) -> String {
        self.string(&format!("/session/{}/title", self.id)).await
    }

    /// The text of the page's `main`.
    async fn text(&self) -> String {
        let found = self.find("main").await;
        self.string(&format!("/session/{}/element/{found}/text", self.id))
            .await
    }

    /// The page's `<html lang>`.
    async fn lang(&self) -> String {
        let value = self
            .driver
            .post(
                &format!("/session/{}/execute/sync", self.id),
                json!({"script": "return document.documentElement.lang", "args": []}),
            )
            .await;
        value.as_str().unwrap_or_default().to_owned()
    }

    async fn string(&self, path: &str) -> String {
        let value = self.driver.get(path).await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// The WebDriver id of the first element matching `css`.
    async fn find(&self, css: &str) -> String {
        let element = self
            .driver
            .post(
                &format!("/session/{}/element", self.id),
                json!({"using": "css selector", "value": css}),
            )
            .await;
        element
            .as_object()
            .and_then(|e| e.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no {css}: {element}"))
            .to_owned()
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.driver
            .post(
                &format!("/session/{}/element/{element}/click", self.id),
                json!({}),
            )
            .await;
    }

    async fn wait_for_title(&self, title: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.title().await != title {
            assert!(
                Instant::now() < deadline,
                "the page is {:?}, not {title:?}",
                self.title().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn screenshot(&self, path: &Path) {
        use base64ct::Encoding;
        let png = self
            .driver
            .get(&format!("/session/{}/screenshot", self.id))
            .await;
        let bytes =
            base64ct::Base64::decode_vec(png.as_str().expect("a screenshot")).expect("base64 PNG");
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(path, bytes).expect("the screenshot is written");
    }

    /// The headers of every document response the browser received so far (Chrome's
    /// network log), by URL.
    async fn document_headers(&self) -> Vec<(String, Value)> {
        let log = self
            .driver
            .post(
                &format!("/session/{}/se/log", self.id),
                json!({"type": "performance"}),
            )
            .await;
        log.as_array()
            .into_iter()
            .flatten()
            .filter_map(|entry| serde_json::from_str::<Value>(entry["message"].as_str()?).ok())
            .filter(|m| {
                m["message"]["method"] == "Network.responseReceived"
                    && m["message"]["params"]["type"] == "Document"
            })
            .map(|m| {
                let response = &m["message"]["params"]["response"];
                (
                    response["url"].as_str().unwrap_or_default().to_owned(),
                    response["headers"].clone(),
                )
            })
            .collect()
    }

    async fn close(self) {
        let _ = self
            .driver
            .http
            .delete(format!("{}/session/{}", self.driver.url, self.id))
            .send()
            .await;
    }
}

/// `header` of `headers` (Chrome keeps the case it received; HTTP/1.1 from hyper is lower).
fn header<'a>(headers: &'a Value, name: &str) -> &'a str {
    headers
        .as_object()
        .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
        .and_then(|(_, v)| v.as_str())
        .unwrap_or_default()
}

fn assert_security_headers(url: &str, headers: &Value) {
    assert_eq!(
        header(headers, "content-security-policy"),
        "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        "{url}"
    );
    assert_eq!(header(headers, "referrer-policy"), "no-referrer", "{url}");
    assert_eq!(
        header(headers, "x-content-type-options"),
        "nosniff",
        "{url}"
    );
    assert_eq!(header(headers, "cache-control"), "no-store", "{url}");
    assert!(
        header(headers, "content-type").starts_with("text/html"),
        "{url}"
    );
}

#[tokio::test]
async fn a_person_confirms_the_new_address_in_a_browser() {
    let fixture = Fixture::new().await;
    let user = fixture.user(&fixture.customer).await;
    // The change is asked for through the handler; its mail holds the link.
    let functions = Functions::new(fixture.store());
    let change = Route::Email
        .event(Payload::V2, &user.id.to_string())
        .claims(&Claims::of(&user))
        .json(json!({"contact": {"email": NEW_EMAIL}, "version": 1}));
    assert_eq!(functions.call(Route::Email, &change).await.status(), 200);
    let token = received_mails(&functions.mail_dir).remove(0).token;

    let watch = Watch::start(fixture.table.name(), fixture.table.endpoint(), "apigateway");
    let link = format!(
        "{}/users/{}/email/confirmation?token={token}",
        watch.base_url, user.id
    );
    // The first request may wait for `cargo run` of confirm-email.
    watch.wait_for(&link).await;

    let driver = Driver::start().await;
    let profile = std::env::temp_dir().join(format!("chromium-{}", uuid::Uuid::new_v4().simple()));
    let session = driver.session(&profile, "en-GB,en").await;
    let shots: PathBuf = workspace_root().join("target/screenshots");
    std::fs::create_dir_all(&shots).expect("a screenshot directory");

    // The mailed link opens a page that asks, and changes nothing.
    session.open(&link).await;
    assert_eq!(session.title().await, "Confirm your new email address");
    assert_eq!(session.lang().await, "en");
    assert!(session.text().await.contains("Press the button"));
    session
        .screenshot(&shots.join("confirmation-page.png"))
        .await;
    let before = fixture.stored(user.id).await.expect("the user");
    assert_eq!(before.user.contact.email, user.contact.email);
    assert_eq!(before.user.version.get(), 1);
    assert!(
        before.pending_email.is_some(),
        "opening the page changed nothing"
    );

    // The button confirms: the address changes, the success page shows.
    session.click("button[type=submit]").await;
    session.wait_for_title("Email address confirmed").await;
    assert!(
        session
            .text()
            .await
            .contains("Your new email address is confirmed")
    );
    session
        .screenshot(&shots.join("confirmation-done.png"))
        .await;
    let after = fixture.stored(user.id).await.expect("the user");
    assert_eq!(after.user.contact.email, NEW_EMAIL);
    assert_eq!(after.user.version.get(), 2);
    assert!(after.pending_email.is_none());

    // Both pages came with their security headers, as the browser received them.
    // (Chromium's own start page is in the log too: only ours count.)
    let documents: Vec<(String, Value)> = session
        .document_headers()
        .await
        .into_iter()
        .filter(|(url, _)| url.starts_with(&watch.base_url))
        .collect();
    assert_eq!(
        documents.len(),
        2,
        "the page and the answer to its form: {documents:?}"
    );
    for (url, headers) in &documents {
        assert_security_headers(url, headers);
    }
    assert!(
        documents
            .iter()
            .all(|(url, _)| url.contains("/email/confirmation")),
        "{documents:?}"
    );

    // The link again: the token worked once.
    session.open(&link).await;
    session.click("button[type=submit]").await;
    session.wait_for_title("This link is not valid").await;
    session.close().await;
    let _ = std::fs::remove_dir_all(&profile);

    // A reader whose browser asks for German gets the pages in German, whatever the
    // account's own language (the page reads nothing before the button is pressed).
    let reader = fixture.user(&fixture.customer).await;
    let change = Route::Email
        .event(Payload::V2, &reader.id.to_string())
        .claims(&Claims::of(&reader))
        .json(json!({"contact": {"email": "leserin@new.example"}, "version": 1}));
    assert_eq!(functions.call(Route::Email, &change).await.status(), 200);
    let token = received_mails(&functions.mail_dir)
        .into_iter()
        .find(|mail| mail.to == reader.contact.email)
        .expect("the reader's mail")
        .token;
    let link = format!(
        "{}/users/{}/email/confirmation?token={token}",
        watch.base_url, reader.id
    );
    let german = Language::De;
    let profile = std::env::temp_dir().join(format!("chromium-{}", uuid::Uuid::new_v4().simple()));
    let session = driver.session(&profile, "de-DE,de,en-US;q=0.5").await;
    session.open(&link).await;
    assert_eq!(
        session.title().await,
        german.text("page-confirm-title", None)
    );
    assert_eq!(session.lang().await, "de");
    assert!(
        session
            .text()
            .await
            .contains(&german.text("page-confirm-text", None))
    );
    session
        .screenshot(&shots.join("confirmation-page-de.png"))
        .await;
    session.click("button[type=submit]").await;
    session
        .wait_for_title(&german.text("page-confirmed-title", None))
        .await;
    assert_eq!(session.lang().await, "de");
    assert_eq!(
        fixture
            .stored(reader.id)
            .await
            .expect("the reader")
            .user
            .contact
            .email,
        "leserin@new.example"
    );
    session.close().await;
    let _ = std::fs::remove_dir_all(&profile);
}
