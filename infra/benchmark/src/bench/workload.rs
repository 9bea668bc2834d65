//! The operations the benchmark drives, and the API Gateway (payload 2.0) events for each:
//! valid requests that succeed one after another, so that every invocation does the full
//! work of its kind (versions follow the responses, passwords change in a chain, every
//! confirmation has a fresh token). For `account-events`, the event is a one-record batch
//! of the table's real stream (read from DynamoDB Local) after a password reset. For
//! `send-notices`, an SQS batch of one message, the reset's event as the bus delivers it,
//! whose notice is mailed. For `authorize`, the
//! event is an HTTP API's REQUEST authorizer event (payload 2.0) bearing a fresh token of
//! an identity provider the workload makes, whose JWKS it serves.

use serde_json::{Value, json};
use shared::audit::{Actor, ActorType};
use shared::confirmation::ConfirmationToken;
use shared::confirmation::PendingEmail;
use shared::email::EmailAddress;
use shared::password::PasswordHashString;
use shared::{ClientId, TenantPath, TenantRule, UserId, UserItem};
use testkit::FromTemplate;
use testkit::idp::{Alg, Idp};
use testkit::{
    Claims, Event, Fixture, Payload, Reply, StandIn, StreamFilter, StreamReader, hash_password,
    new_user, put_user, stream_event,
};

use crate::runtime_api::Answer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Get,
    Status,
    EmailNow,
    EmailPending,
    Confirm,
    PasswordAdmin,
    PasswordSelf,
    /// One stream record (a password reset) through account-events: its event published.
    Events,
    /// One queued event (a password reset) through send-notices: its notice mailed.
    Notice,
    /// A user's token through authorize: verified, then the user's item read once.
    AuthorizeUser,
    /// An API client's token through authorize: verified, no read.
    AuthorizeClient,
    /// An `account.disabled` event through revoke-sessions: one Cognito sign-out (a
    /// stand-in of Cognito's endpoint), no DynamoDB request.
    SignOut,
}

impl Op {
    pub const ALL: [Op; 12] = [
        Op::Get,
        Op::Status,
        Op::EmailNow,
        Op::EmailPending,
        Op::Confirm,
        Op::PasswordAdmin,
        Op::PasswordSelf,
        Op::Events,
        Op::Notice,
        Op::AuthorizeUser,
        Op::AuthorizeClient,
        Op::SignOut,
    ];

    pub fn function(self) -> &'static str {
        match self {
            Op::Get => "get-user",
            Op::Status => "set-account-status",
            Op::EmailNow | Op::EmailPending => "change-email",
            Op::Confirm => "confirm-email",
            Op::PasswordAdmin | Op::PasswordSelf => "change-password",
            Op::Events => "account-events",
            Op::Notice => "send-notices",
            Op::AuthorizeUser | Op::AuthorizeClient => "authorize",
            Op::SignOut => "revoke-sessions",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Op::Get => "get user",
            Op::Status => "set status",
            Op::EmailNow => "email, not activated",
            Op::EmailPending => "email, activated (+ mail)",
            Op::Confirm => "email confirmation",
            Op::PasswordAdmin => "password, administrative",
            Op::PasswordSelf => "password, self-service",
            Op::Events => "stream record (a reset)",
            Op::Notice => "queued event (a reset's notice)",
            Op::AuthorizeUser => "authorize, user token",
            Op::AuthorizeClient => "authorize, client token",
            Op::SignOut => "sign-out (account.disabled)",
        }
    }

    /// Most DynamoDB requests the operation may make (issue #7); `None`: no target.
    pub fn request_target(self) -> Option<usize> {
        match self {
            Op::Get | Op::Status | Op::EmailNow | Op::Confirm => Some(1),
            Op::PasswordAdmin | Op::PasswordSelf => Some(2),
            // Publishing only: no table request.
            Op::Events => Some(0),
            // The user's item, the notice's claim, the user's and the address's budgets, and
            // the notice's mark.
            Op::Notice => Some(5),
            // The user's item, one projected GetItem; a client's token needs none.
            Op::AuthorizeUser => Some(1),
            Op::AuthorizeClient => Some(0),
            // Cognito's, not DynamoDB's.
            Op::SignOut => Some(0),
            Op::EmailPending => None,
        }
    }

    fn expected_status(self) -> u16 {
        match self {
            Op::PasswordAdmin | Op::PasswordSelf => 204,
            _ => 200,
        }
    }
}

/// The partner's API client, the caller of the administrative operations.
const CLIENT: &str = "bench-partner-client";
/// Whose tokens `authorize` accepts, and for whom (its `JWT_ISSUER` and `JWT_AUDIENCE`).
const ISSUER: &str = "https://idp.example.com/benchmark";
const AUDIENCE: &str = "accounts-api";

/// What the events of every operation need: users in a tenant tree, the callers, and for
/// each operation the state that the next valid request depends on.
pub struct Workload {
    pub fixture: Fixture,
    partner_reader: Claims,
    partner_writer: Claims,
    customer: TenantPath,
    get: UserId,
    /// The activated, enabled user whose tokens `authorize` is given; nothing changes it.
    authorize: UserId,
    /// The identity provider that signs the tokens `authorize` checks.
    idp: Idp,
    /// Where its JWKS is served (`JWKS_URL`).
    jwks_url: String,
    /// A stand-in of Cognito's endpoint (`COGNITO_ENDPOINT`), answering every sign-out.
    cognito_url: String,
    /// A stand-in of SES's endpoint (`SES_ENDPOINT`), accepting every mail.
    ses_url: String,
    status: Tracked,
    email_now: Tracked,
    password_admin: (UserId, u64),
    password_self: (UserId, u64),
    enabled: bool,
    count: u64,
    stream: StreamSource,
}

/// The user whose resets make the stream records, and the stream.
struct StreamSource {
    user: UserId,
    hash: PasswordHashString,
    reader: StreamReader,
    filter: StreamFilter,
}

/// A user and the `version` its next change must name.
struct Tracked {
    id: UserId,
    version: u64,
}

/// The `n`th password of a chain: long enough, not common, without the login.
fn passphrase(n: u64) -> String {
    format!("benchmark passphrase number {n} of a chain")
}

impl Workload {
    pub async fn new() -> Result<Self, String> {
        let fixture = Fixture::new().await;
        let partner = fixture.partner.clone();
        let customer = fixture.customer.clone();
        let client = ClientId::parse(CLIENT)?;
        let partner_reader = Claims::client(client.as_str(), partner.tenant(), "users:read");
        let partner_writer = Claims::client(client.as_str(), partner.tenant(), "users:write");
        let get = fixture.user(&customer).await.id;
        let authorize = fixture.user(&customer).await.id;
        let idp = Idp::new(ISSUER, AUDIENCE);
        let jwks_url = format!(
            "{}/jwks.json",
            serve("application/json", idp.jwks().to_string())?
        );
        // Cognito's JSON protocol: `{}` is AdminUserGlobalSignOut's success.
        let cognito_url = serve("application/x-amz-json-1.1", "{}".to_owned())?;
        // SES v2's SendEmail answer.
        let ses_url = serve("application/json", r#"{"MessageId":"bench"}"#.to_owned())?;
        let status = fixture.user(&customer).await.id;
        let email_now = fixture
            .user_with(&customer, |u| u.activated = false)
            .await
            .id;
        let password_admin = fixture.user(&customer).await.id;
        let password_self = fixture
            .user_with_password(&customer, &passphrase(0))
            .await
            .id;
        let first = shared::Version::FIRST.get();
        let stream = StreamSource {
            user: fixture.user(&customer).await.id,
            hash: hash_password(&passphrase(0)),
            reader: StreamReader::open(
                fixture.store().client(),
                fixture.table.endpoint(),
                fixture.table.name(),
            )
            .await?,
            filter: StreamFilter::from_repository()?,
        };
        Ok(Self {
            fixture,
            partner_reader,
            partner_writer,
            customer,
            get,
            authorize,
            idp,
            jwks_url,
            cognito_url,
            ses_url,
            status: Tracked {
                id: status,
                version: first,
            },
            email_now: Tracked {
                id: email_now,
                version: first,
            },
            password_admin: (password_admin, 0),
            password_self: (password_self, 0),
            enabled: true,
            count: 0,
            stream,
        })
    }

    pub fn table(&self) -> &str {
        self.fixture.table.name()
    }

    /// `authorize`'s `JWT_ISSUER`.
    pub fn issuer(&self) -> &str {
        &self.idp.issuer
    }

    /// `authorize`'s `JWT_AUDIENCE`.
    pub fn audience(&self) -> &str {
        &self.idp.audience
    }

    /// `authorize`'s `JWKS_URL`: the stand-in serving the provider's keys.
    pub fn jwks_url(&self) -> &str {
        &self.jwks_url
    }

    /// `revoke-sessions`' `COGNITO_ENDPOINT`.
    pub fn cognito_url(&self) -> &str {
        &self.cognito_url
    }

    /// `change-email`'s and `send-notices`' `SES_ENDPOINT`.
    pub fn ses_url(&self) -> &str {
        &self.ses_url
    }

    /// The next valid event of `op`, as the Runtime API hands it over.
    pub async fn event(&mut self, op: Op) -> Result<String, String> {
        self.count += 1;
        let n = self.count;
        let event = match op {
            Op::Get => Event::new(Payload::V2, "GET", "/users/{user_id}")
                .user_id(self.get)
                .claims(&self.partner_reader),
            Op::Status => Event::new(Payload::V2, "PUT", "/users/{user_id}/status")
                .user_id(self.status.id)
                .claims(&self.partner_writer)
                .json(json!({"enabled": !self.enabled, "version": self.status.version})),
            Op::EmailNow => Event::new(Payload::V2, "PUT", "/users/{user_id}/email")
                .user_id(self.email_now.id)
                .claims(&self.partner_writer)
                .json(json!({
                    "contact": {"email": format!("renamed-{n}@new.example")},
                    "version": self.email_now.version,
                })),
            Op::EmailPending => {
                // A fresh user each time (written before the invocation, outside the timing):
                // one user may be sent one confirmation mail a minute.
                let id = self.fixture.user(&self.customer).await.id;
                Event::new(Payload::V2, "PUT", "/users/{user_id}/email")
                    .user_id(id)
                    .claims(&self.partner_writer)
                    .json(json!({
                        "contact": {"email": format!("renamed-{n}@new.example")},
                        "version": shared::Version::FIRST.get(),
                    }))
            }
            Op::Confirm => {
                let (id, token) = self.pending_change().await?;
                Event::new(Payload::V2, "POST", "/users/{user_id}/email/confirmation")
                    .user_id(id)
                    .json(json!({"token": token.as_str()}))
            }
            Op::PasswordAdmin => {
                let (id, step) = self.password_admin;
                Event::new(Payload::V2, "POST", "/users/{user_id}/password")
                    .user_id(id)
                    .claims(&self.partner_writer)
                    .json(json!({"password": passphrase(step + 1)}))
            }
            Op::Events => return self.stream_record(&format!("bench-{n}")).await,
            // The reset's event as the rule hands it to the queue, a new event id each time
            // (a repeated one would find its notice sent already).
            Op::Notice => {
                let detail = json!({
                    "event_id": format!("bench-notice-{n}"),
                    "user_id": self.stream.user.to_string(),
                    "occurred_at": "2026-12-04T10:00:00.000000+00:00",
                });
                let entry = json!({
                    "Source": "platform.accounts",
                    "DetailType": "account.password.reset",
                    "Detail": detail.to_string(),
                });
                let event = testkit::bus::envelope(&format!("bench-notice-{n}"), &entry)?;
                return Ok(testkit::bus::sqs_event(&[event]).to_string());
            }
            // Signed afresh for each event (outside the timing), so that none expires however
            // long the run; RS256 for both principals, so that their rows differ by the read.
            Op::AuthorizeUser => {
                let mut claims = self.idp.claims(&self.authorize.to_string());
                claims["tenant_id"] = json!(self.customer.tenant().to_string());
                claims["principal_type"] = json!("user");
                claims["scope"] = json!("users:read users:write");
                claims["sid"] = json!("bench-session");
                let bearer = format!("Bearer {}", self.idp.token(Alg::Rs256, &claims));
                return Ok(testkit::idp::authorizer_event(Some(&bearer)).to_string());
            }
            Op::AuthorizeClient => {
                let mut claims = self.idp.claims(CLIENT);
                claims["tenant_id"] = json!(self.fixture.partner.tenant().to_string());
                claims["principal_type"] = json!("client");
                claims["scope"] = json!("users:read");
                let bearer = format!("Bearer {}", self.idp.token(Alg::Rs256, &claims));
                return Ok(testkit::idp::authorizer_event(Some(&bearer)).to_string());
            }
            Op::SignOut => {
                return Ok(json!({
                    "version": "0", "id": format!("bench-{n}"), "detail-type": "account.disabled",
                    "source": "platform.accounts", "account": "123456789012",
                    "time": "2026-12-04T10:00:00Z", "region": "us-east-1", "resources": [],
                    "detail": {"event_id": format!("bench-{n}"), "user_id": self.authorize.to_string()}
                })
                .to_string());
            }
            Op::PasswordSelf => {
                let (id, step) = self.password_self;
                Event::new(Payload::V2, "POST", "/users/{user_id}/password")
                    .user_id(id)
                    .claims(&Claims::user(id, self.customer.tenant(), ""))
                    .json(json!({
                        "password": passphrase(step + 1),
                        "current_password": passphrase(step),
                    }))
            }
        };
        Ok(event.to_json().to_string())
    }

    /// Checks the function's answer to the last event of `op`, and follows the state.
    pub fn observe(&mut self, op: Op, answer: &Answer) -> Result<(), String> {
        if matches!(op, Op::Events | Op::Notice) {
            let response = answer.json()?;
            return match response["batchItemFailures"].as_array() {
                Some(failures) if failures.is_empty() => Ok(()),
                _ => Err(format!("{}: {response}", op.label())),
            };
        }
        if op == Op::SignOut {
            // The runtime's answer to a handler that returned `()`.
            let response = answer.json()?;
            return if response.is_null() {
                Ok(())
            } else {
                Err(format!("{}: {response}", op.label()))
            };
        }
        if matches!(op, Op::AuthorizeUser | Op::AuthorizeClient) {
            // Allowed, for the token's own subject: a deny would be timed as well as an allow.
            let response = answer.json()?;
            let sub = match op {
                Op::AuthorizeUser => self.authorize.to_string(),
                _ => CLIENT.to_owned(),
            };
            return if response["isAuthorized"] == true && response["context"]["sub"] == sub {
                Ok(())
            } else {
                Err(format!("{}: {response}", op.label()))
            };
        }
        let status = answer.status()?;
        if status != op.expected_status() {
            let body = answer.body_json().unwrap_or(Value::Null);
            return Err(format!(
                "{}: expected {}, got {status} {body}",
                op.label(),
                op.expected_status()
            ));
        }
        let version = || {
            answer
                .body_json()
                .and_then(|body| body["version"].as_u64())
                .ok_or_else(|| format!("{}: no version in the response", op.label()))
        };
        match op {
            Op::Status => {
                self.status.version = version()?;
                self.enabled = !self.enabled;
            }
            Op::EmailNow => self.email_now.version = version()?,
            Op::PasswordAdmin => self.password_admin.1 += 1,
            Op::PasswordSelf => self.password_self.1 += 1,
            Op::Get
            | Op::Confirm
            | Op::EmailPending
            | Op::Events
            | Op::Notice
            | Op::AuthorizeUser
            | Op::AuthorizeClient
            | Op::SignOut => {}
        }
        Ok(())
    }

    /// Resets the stream user's password through the store (outside the timing), and
    /// returns the stream record of that write as Lambda's DynamoDB event.
    async fn stream_record(&mut self, request_id: &str) -> Result<String, String> {
        self.reset(self.stream.user, request_id).await?;
        let source = &mut self.stream;
        let key = format!("USER#{}", source.user);
        for _ in 0..500 {
            let record = source
                .reader
                .read()
                .await?
                .into_iter()
                .rev()
                .find(|r| source.filter.admits(r) && r["dynamodb"]["Keys"]["pk"]["S"] == key);
            if let Some(record) = record {
                return Ok(stream_event(&[record]).to_string());
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Err("the reset's stream record did not appear".into())
    }

    /// A stream batch of `users` records, one per user (new users, each reset once by an
    /// administrator), as the Runtime API hands account-events a batch: the bulk change of
    /// many users at once.
    pub async fn stream_batch(&mut self, users: usize) -> Result<String, String> {
        let mut keys = std::collections::HashSet::new();
        for n in 0..users {
            let user = self.fixture.user(&self.customer).await.id;
            self.reset(user, &format!("bench-batch-{}-{n}", self.count))
                .await?;
            keys.insert(format!("USER#{user}"));
        }
        self.count += 1;
        let source = &mut self.stream;
        let mut records = Vec::new();
        for _ in 0..500 {
            records.extend(source.reader.read().await?.into_iter().filter(|r| {
                source.filter.admits(r)
                    && r["dynamodb"]["Keys"]["pk"]["S"]
                        .as_str()
                        .is_some_and(|key| keys.contains(key))
            }));
            if records.len() >= users {
                return Ok(stream_event(&records).to_string());
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Err(format!(
            "{} of {users} stream records appeared",
            records.len()
        ))
    }

    /// `user`'s password reset by the partner's client: one stream record.
    async fn reset(&self, user: UserId, request_id: &str) -> Result<(), String> {
        let origin = shared::audit::Origin {
            actor: Actor {
                kind: ActorType::Client,
                id: CLIENT.into(),
                tenant_id: Some(self.fixture.partner.tenant()),
            },
            request_id: shared::audit::RequestId::parse(request_id).ok_or("a request id")?,
        };
        self.fixture
            .store()
            .set_password_hash(
                user,
                TenantRule::SubTenantsOf(self.fixture.partner.tenant()),
                shared::store::Setter::Administrator,
                &self.stream.hash,
                &shared::Now::current(),
                &origin,
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// A new activated user with a pending email change, and its token (written before the
    /// invocation, outside the timing).
    async fn pending_change(&mut self) -> Result<(UserId, ConfirmationToken), String> {
        let id = UserId::new_random();
        let login = format!("confirm-{}", &id.to_string()[..8]);
        let user = new_user(id, &login, &format!("{login}@example.com"), &self.customer);
        let token = ConfirmationToken::generate().map_err(|e| e.to_string())?;
        let new_email =
            EmailAddress::parse(&format!("{login}@new.example")).map_err(|e| e.to_string())?;
        let mut item = UserItem::new(user, self.customer.clone());
        item.pending_email = Some(PendingEmail::new(
            &new_email,
            &token,
            &shared::Now::current(),
            3600,
        ));
        put_user(self.fixture.store(), &item).await?;
        Ok((id, token))
    }
}

/// Serves `body` as `content_type` to every request, from a stand-in on its own runtime
/// (a function may call it during init: `authorize` fetches its keys there), and returns
/// its endpoint.
fn serve(content_type: &'static str, body: String) -> Result<String, String> {
    serve_answering(std::time::Duration::ZERO, move |_| Reply {
        status: "200 OK",
        content_type,
        body: body.clone(),
    })
}

/// A stand-in of EventBridge's endpoint that accepts every `PutEvents` entry, each call
/// after `latency` (the network's and the service's time, as in AWS).
pub fn event_bridge(latency: std::time::Duration) -> Result<String, String> {
    serve_answering(latency, |body| {
        let request: Value = serde_json::from_str(body).unwrap_or_default();
        let entries = request["Entries"].as_array().map_or(0, Vec::len);
        let results: Vec<Value> = (0..entries)
            .map(|n| json!({"EventId": format!("bench-{n}")}))
            .collect();
        Reply {
            status: "200 OK",
            content_type: "application/x-amz-json-1.1",
            body: json!({"FailedEntryCount": 0, "Entries": results}).to_string(),
        }
    })
}

/// Answers each request's body with `reply`, after `latency`, from a stand-in on its own
/// runtime; returns its endpoint.
fn serve_answering(
    latency: std::time::Duration,
    reply: impl Fn(&str) -> Reply + Send + Sync + 'static,
) -> Result<String, String> {
    let (sender, endpoint) = std::sync::mpsc::channel();
    super::on_its_own_runtime(async move {
        let stand_in = StandIn::answering(latency, move |_, body| reply(body)).await;
        if sender.send(stand_in.endpoint.clone()).is_ok() {
            // Serves until the benchmark ends.
            std::future::pending::<()>().await;
        }
    });
    endpoint
        .recv()
        .map_err(|_| "a stand-in did not start".to_owned())
}
