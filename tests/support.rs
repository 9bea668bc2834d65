//! What the end-to-end tests share: `cargo lambda watch` with the functions' environment.
// Each test target uses a different part of this module.
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use lambda_http::{Body, Response};
use shared::email::{EmailAddress, EmailConfig};
use shared::mail::Mailer;
use shared::password::PasswordConfig;
use shared::runtime::respond;
use shared::{AuthMode, Authenticator, Core, Store};
use testkit::{Claims, Event, Payload, TEST_DEV_SECRET, received_mails};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// `cargo lambda watch` with the functions' environment; stopped (with its process group)
/// when dropped. Its output goes to a log file that the test reads afterwards.
pub struct Watch {
    process: Logged,
    mail_dir: PathBuf,
    events_dir: PathBuf,
    dir: PathBuf,
    table: String,
    endpoint: String,
    pub base_url: String,
}

/// A process started by [`spawn_logged`], in a process group of its own: stopped with its
/// children when dropped (cargo lambda runs each function as a child process).
pub struct Logged {
    child: Child,
    log: PathBuf,
}

impl Logged {
    /// What it has written so far (lossy: a log check must not miss a line over one bad
    /// byte).
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        stop_group(&mut self.child);
    }
}

/// `devtool follow-stream`.
pub type Follower = Logged;

/// Starts `command` in the workspace, in a process group of its own (so that it can be
/// stopped with its children), its output going to `log`.
fn spawn_logged(command: &mut Command, log: PathBuf, expectation: &str) -> Logged {
    let log_file = std::fs::File::create(&log).expect("log file");
    let child = command
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log handle"))
        .stderr(log_file)
        .process_group(0)
        .spawn()
        .expect(expectation);
    Logged { child, log }
}

/// Stops a child started in its own process group, and the group. `--` matters: procps
/// `kill -TERM -PID` reads the group as an option and signals every process (-1) instead.
fn stop_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-s", "TERM", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.wait();
}

/// `devtool api-gateway`, stopped when dropped.
pub struct Gateway {
    pub process: Logged,
    pub base_url: String,
}

impl Gateway {
    pub fn logs(&self) -> String {
        self.process.logs()
    }
}

impl Watch {
    /// `auth_mode`: `development` (bearer tokens signed with the test secret) or
    /// `apigateway` (claims in the events). The functions run at the most verbose level
    /// they accept (`TRACE`, which they cap at DEBUG), so the log checks see everything
    /// they could ever write.
    pub fn start(table: &str, endpoint: &str, auth_mode: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("e2e-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let port = free_port();
        let env_file = dir.join("functions.env");
        std::fs::write(
            &env_file,
            format!(
                "TABLE_NAME={table}\nDYNAMODB_ENDPOINT={endpoint}\nAUTH_MODE={auth_mode}\n\
                 DEV_AUTH_SECRET={TEST_DEV_SECRET}\nAWS_ACCESS_KEY_ID=local\n\
                 AWS_SECRET_ACCESS_KEY=local\nAWS_REGION=us-east-1\nAWS_LAMBDA_LOG_LEVEL=TRACE\n\
                 CONFIRMATION_URL_BASE=http://127.0.0.1:{port}\nMAIL_TRANSPORT=directory\n\
                 MAIL_SENDER=no-reply@accounts.example.com\nMAIL_DIR={}\n\
                 EVENTS_TRANSPORT=directory\nEVENT_SOURCE=platform.accounts\nEVENTS_DIR={}\n\
                 SIGN_OUT_TRANSPORT=directory\nREVOCATIONS_DIR={}\n",
                dir.join("mail").display(),
                dir.join("events").display(),
                dir.join("revocations").display()
            ),
        )
        .expect("env file");
        let log = dir.join("watch.log");
        let mail_dir = dir.join("mail");
        let events_dir = dir.join("events");
        let process = spawn_logged(
            Command::new("cargo")
                .args([
                    "lambda",
                    "watch",
                    "--ignore-changes",
                    "--invoke-address",
                    "127.0.0.1",
                ])
                .args(["--invoke-port", &port.to_string()])
                .arg("--env-file")
                .arg(&env_file),
            log,
            "cargo lambda is installed (infra/test.sh installs it)",
        );
        Self {
            process,
            mail_dir,
            events_dir,
            dir,
            table: table.to_owned(),
            endpoint: endpoint.to_owned(),
            base_url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Follows the table's stream into `account-events`, as `infra/start-local.sh` does
    /// (`devtool follow-stream`), until dropped.
    pub fn follow_stream(&self) -> Follower {
        let log = self.dir.join("follow.log");
        let invoke_url = format!(
            "{}/2015-03-31/functions/account-events/invocations",
            self.base_url
        );
        spawn_logged(
            Command::new("cargo")
                .args(["run", "--quiet", "-p", "devtool", "--", "follow-stream"])
                .arg(&self.table)
                .arg(invoke_url)
                .env("DYNAMODB_ENDPOINT", &self.endpoint),
            log,
            "cargo runs the dev tool",
        )
    }

    /// Delivers the local bus's events by the template's rules, as `infra/start-local.sh`
    /// does (`devtool follow-bus`), until dropped.
    pub fn follow_bus(&self) -> Logged {
        spawn_logged(
            Command::new("cargo")
                .args(["run", "--quiet", "-p", "devtool", "--", "follow-bus"])
                .arg(&self.events_dir)
                .arg(&self.base_url),
            self.dir.join("follow-bus.log"),
            "cargo runs the dev tool",
        )
    }

    /// The sign-outs `revoke-sessions` recorded (its local stand-in for Cognito), in order.
    pub fn revocations(&self) -> Vec<serde_json::Value> {
        testkit::json_files(&self.dir.join("revocations"))
    }

    /// `devtool api-gateway` in front of these functions, as `infra/start-local.sh` runs it,
    /// until dropped.
    pub fn api_gateway(&self) -> Gateway {
        let log = self.dir.join("api-gateway.log");
        let port = free_port();
        let process = spawn_logged(
            Command::new("cargo")
                .args(["run", "--quiet", "-p", "devtool", "--", "api-gateway"])
                .arg(port.to_string())
                .arg(&self.base_url),
            log,
            "cargo runs the dev tool",
        );
        Gateway {
            process,
            base_url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The `PutEvents` entries `account-events` wrote, in stream order.
    pub fn events(&self) -> Vec<serde_json::Value> {
        testkit::event_entries(&self.events_dir)
    }

    pub fn mail_dir(&self) -> &Path {
        &self.mail_dir
    }

    /// Waits until `url` answers 200 (the first request to a function may wait for
    /// `cargo run`).
    pub async fn wait_for(&self, url: &str) {
        // The first request may wait for `cargo run` to build the function.
        let request = reqwest::Client::new()
            .get(url)
            .timeout(std::time::Duration::from_secs(600));
        let answer = send_when_listening(request).await;
        assert!(
            answer
                .as_ref()
                .is_ok_and(|response| response.status() == 200),
            "{url} answered {answer:?}; the functions' log:\n{}",
            self.logs()
        );
    }

    /// The confirmation token of the only mail in the mail directory, and its recipient.
    pub fn mailed_token(&self) -> (String, String) {
        let mut mails = received_mails(&self.mail_dir);
        assert_eq!(mails.len(), 1, "one confirmation mail");
        let mail = mails.remove(0);
        (mail.token, mail.to)
    }

    pub fn logs(&self) -> String {
        self.process.logs()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Get,
    Status,
    Password,
    Email,
    ConfirmPage,
    Confirm,
}

impl Route {
    pub const ALL: [Route; 6] = [
        Route::Get,
        Route::Status,
        Route::Password,
        Route::Email,
        Route::ConfirmPage,
        Route::Confirm,
    ];

    pub fn method_and_path(self) -> (&'static str, &'static str) {
        match self {
            Route::Get => ("GET", "/users/{user_id}"),
            Route::Status => ("PUT", "/users/{user_id}/status"),
            Route::Password => ("POST", "/users/{user_id}/password"),
            Route::Email => ("PUT", "/users/{user_id}/email"),
            Route::ConfirmPage => ("GET", "/users/{user_id}/email/confirmation"),
            Route::Confirm => ("POST", "/users/{user_id}/email/confirmation"),
        }
    }

    pub fn event(self, payload: Payload, id: &str) -> Event {
        let (method, path) = self.method_and_path();
        Event::new(payload, method, path).user_id(id)
    }

    /// An event of this route for user `id`, from `caller` (none: no claims), with `body`
    /// as JSON (null: no body).
    pub fn request(
        self,
        payload: Payload,
        id: &str,
        caller: Option<&Claims>,
        body: serde_json::Value,
    ) -> Event {
        let mut event = self.event(payload, id);
        if let Some(caller) = caller {
            event = event.claims(caller);
        }
        if body.is_null() {
            event
        } else {
            event.json(body)
        }
    }

    pub fn is_page(self) -> bool {
        self == Route::ConfirmPage
    }
}

/// Every function's handler, with state built as in `main.rs`.
pub struct Functions {
    pub get: get_user::State,
    pub status: set_account_status::State,
    pub password: change_password::State,
    pub email: change_email::State,
    pub confirm: confirm_email::State,
    pub mail_dir: PathBuf,
}

impl Functions {
    pub fn new(store: &Store) -> Self {
        let core = || Core::new(store.clone(), Authenticator::new(&AuthMode::ApiGateway));
        let mail_dir = std::env::temp_dir().join(format!("mail-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&mail_dir).expect("mail dir");
        Self {
            get: get_user::State(core()),
            status: set_account_status::State(core()),
            password: change_password::State::new(core(), PasswordConfig::default())
                .expect("state"),
            confirm: confirm_email::State(core()),
            email: change_email::State {
                core: core(),
                email: EmailConfig {
                    confirmation_url_base: "https://accounts.example.test".into(),
                    token_ttl_secs: 3600,
                    confirmation_mails: EmailConfig::mail_limit(60, 5),
                },
                mailer: Mailer::Directory {
                    dir: mail_dir.clone(),
                    sender: EmailAddress::parse("no-reply@accounts.example.test").expect("sender"),
                },
            },
            mail_dir,
        }
    }

    pub async fn call(&self, route: Route, event: &Event) -> Response<Body> {
        let request = event.request();
        match route {
            Route::Get => respond(&self.get, request).await,
            Route::Status => respond(&self.status, request).await,
            Route::Password => respond(&self.password, request).await,
            Route::Email => respond(&self.email, request).await,
            Route::ConfirmPage | Route::Confirm => respond(&self.confirm, request).await,
        }
    }
}

/// Sends `request` once something listens: a refused connection (the emulator is still
/// starting) is tried again for up to 10 minutes; any answer, and any other error (a
/// timeout, a reset), is the outcome, so that a failure is never retried into a pass.
pub async fn send_when_listening(
    request: reqwest::RequestBuilder,
) -> reqwest::Result<reqwest::Response> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    loop {
        let attempt = request
            .try_clone()
            .expect("a request with a body in memory")
            .send()
            .await;
        match attempt {
            Err(error) if error.is_connect() && std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            outcome => return outcome,
        }
    }
}
