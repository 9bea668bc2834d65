//! Account events from end to end, without AWS: changes through the real handlers, the
//! table's stream read from DynamoDB Local, kept or dropped by the template's filter
//! criteria, and handed to the real `account-events` handler as Lambda's DynamoDB event;
//! then the events the template's rule sends to the notices' queue, handed to the real
//! `send-notices` handler as Lambda's SQS event. The bus is a directory, the mail too.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use account_events::{Bus, State};
use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use serde_json::{Value, json};
use shared::email::EmailAddress;
use shared::language::Language;
use shared::mail::Mailer;
use shared::{User, UserItem};
use support::{Functions, Route};
use testkit::FromTemplate;
use testkit::bus::{BusRules, Via};
use testkit::{
    Claims, Fixture, Message, Payload, Reply, StandIn, StreamFilter, StreamReader, messages,
    received_mails, stream_event,
};

const OLD_PASSWORD: &str = "an old and trusted passphrase";
const NEW_PASSWORD: &str = "a brand new passphrase for today";
const RESET_PASSWORD: &str = "set by the partner for a fresh start";
const NEW_EMAIL: &str = "new-address@example.com";
const SOURCE: &str = "platform.accounts.test";

fn temp_dir(kind: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{kind}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("a directory");
    dir
}

fn events_state(events: &Path) -> State {
    State {
        bus: Bus::Directory {
            dir: events.to_path_buf(),
            source: SOURCE.into(),
        },
    }
}

fn notices_state(fixture: &Fixture, mail: &Path) -> send_notices::State {
    send_notices::State {
        store: fixture.store().clone(),
        mailer: Mailer::Directory {
            dir: mail.to_path_buf(),
            sender: EmailAddress::parse("no-reply@accounts.example.test").expect("sender"),
        },
        notice_budget: send_notices::notice_budget(
            send_notices::DEFAULT_NOTICE_DAILY_LIMIT as usize,
        ),
    }
}

/// The table's stream so far through `account-events`, which must report no failure: the
/// records the template's filter admitted, and the bus's entries, in stream order.
async fn published(fixture: &Fixture) -> (Vec<Value>, Vec<Value>) {
    let (admitted, _) = stream(fixture).await;
    let events_dir = temp_dir("events");
    let response =
        account_events::handle(&events_state(&events_dir), lambda_event(&admitted)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    (admitted, entries(&events_dir))
}

/// The bus's `entries` that the template's rules send to send-notices' queue, as the queue
/// hands them to the function: one batch, a message per event.
fn queued(entries: &[Value]) -> SqsEvent {
    let rules = BusRules::from_repository().expect("the template's rules");
    let events: Vec<Value> = entries
        .iter()
        .filter(|entry| {
            let kind = entry["DetailType"].as_str().unwrap_or_default();
            let targets = rules.targets(kind);
            targets
                .iter()
                .any(|t| t.function == "send-notices" && t.via == Via::Queue)
        })
        .map(|entry| {
            let id = detail(entry)["event_id"].as_str().unwrap().to_owned();
            testkit::bus::envelope(&id, entry).expect("an event")
        })
        .collect();
    serde_json::from_value(testkit::bus::sqs_event(&events)).expect("Lambda's SQS event")
}

/// The messages a response reports as failed (their ids).
fn failed_messages(response: &SqsBatchResponse) -> Vec<String> {
    let failures = response.batch_item_failures.iter();
    failures.map(|f| f.item_identifier.clone()).collect()
}

/// The `PutEvents` entries in `dir`, in stream order.
fn entries(dir: &Path) -> Vec<Value> {
    testkit::event_entries(dir)
}

/// The catalogue's schema of the event `kind` (`docs/events/`).
fn event_schema(kind: &str) -> Value {
    let path = support::workspace_root().join(format!("docs/events/{kind}.schema.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("a schema per event kind"))
        .expect("JSON")
}

#[test]
fn the_catalogue_has_one_schema_per_event_kind_and_no_other() {
    let mut documented: Vec<String> =
        std::fs::read_dir(support::workspace_root().join("docs/events"))
            .expect("docs/events")
            .map(|entry| {
                entry
                    .expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
    documented.sort();
    let mut kinds: Vec<String> = shared::audit::ChangeKind::ALL
        .iter()
        .map(|kind| format!("{kind}.schema.json"))
        .collect();
    kinds.sort();
    assert_eq!(documented, kinds);
    for kind in shared::audit::ChangeKind::ALL {
        let schema = event_schema(kind.name());
        assert_eq!(
            schema["additionalProperties"], false,
            "{kind}: a new field must be documented"
        );
        jsonschema::draft202012::new(&schema).expect("a valid schema");
    }
}

fn detail(entry: &Value) -> Value {
    serde_json::from_str(entry["Detail"].as_str().expect("Detail is a JSON text")).expect("JSON")
}

/// Everything on the stream so far, split into what the template's filter hands the
/// function and what it drops.
async fn stream(fixture: &Fixture) -> (Vec<Value>, Vec<Value>) {
    let client = fixture.store().client();
    let mut reader = StreamReader::open(client, fixture.table.endpoint(), fixture.table.name())
        .await
        .expect("the table's stream");
    let filter = StreamFilter::from_repository().expect("the template's filter");
    reader
        .read()
        .await
        .expect("records")
        .into_iter()
        .partition(|record| filter.admits(record))
}

fn lambda_event(records: &[Value]) -> StreamEvent {
    serde_json::from_value(stream_event(records)).expect("Lambda's DynamoDB event")
}

struct Scene {
    fixture: Fixture,
    functions: Functions,
    user: User,
    partner: Claims,
}

/// The admitted stream records of one user's own password change, disable and enable.
async fn three_records_of_one_user() -> Vec<Value> {
    let scene = scene().await;
    scene.own_password_change("req-a").await;
    scene.set_enabled("req-b", false, 1).await;
    scene.set_enabled("req-c", true, 2).await;
    let (admitted, _) = stream(&scene.fixture).await;
    assert_eq!(admitted.len(), 3);
    admitted
}

/// The records a response reports as failed (their sequence numbers).
fn reported(response: &DynamoDbEventResponse) -> Vec<Option<String>> {
    let failures = response.batch_item_failures.iter();
    failures.map(|f| f.item_identifier.clone()).collect()
}

async fn scene() -> Scene {
    let fixture = Fixture::new().await;
    let functions = Functions::new(fixture.store());
    let user = fixture
        .user_with_password(&fixture.customer, OLD_PASSWORD)
        .await;
    let partner = Claims::client(
        "partner-app",
        fixture.partner.tenant(),
        "users:read users:write",
    );
    Scene {
        fixture,
        functions,
        user,
        partner,
    }
}

impl Scene {
    async fn call(
        &self,
        route: Route,
        request_id: &str,
        claims: Option<&Claims>,
        body: Value,
    ) -> u16 {
        let mut event = route
            .event(Payload::V2, &self.user.id.to_string())
            .request_id(request_id)
            .json(body);
        if let Some(claims) = claims {
            event = event.claims(claims);
        }
        self.functions.call(route, &event).await.status().as_u16()
    }

    /// The user changes its own password, OLD_PASSWORD to NEW_PASSWORD: 204.
    async fn own_password_change(&self, request_id: &str) {
        let body = json!({"current_password": OLD_PASSWORD, "password": NEW_PASSWORD});
        let own = Claims::of(&self.user);
        let status = self
            .call(Route::Password, request_id, Some(&own), body)
            .await;
        assert_eq!(status, 204);
    }

    /// The user gives a wrong current password: 403, and only the attempt log changes.
    async fn wrong_password(&self, request_id: &str) {
        let body = json!({"current_password": "not the current one", "password": NEW_PASSWORD});
        let own = Claims::of(&self.user);
        let status = self
            .call(Route::Password, request_id, Some(&own), body)
            .await;
        assert_eq!(status, 403);
    }

    /// The partner's client enables or disables the user at `version`: 200.
    async fn set_enabled(&self, request_id: &str, enabled: bool, version: u64) {
        let body = json!({"enabled": enabled, "version": version});
        let status = self
            .call(Route::Status, request_id, Some(&self.partner), body)
            .await;
        assert_eq!(status, 200);
    }

    async fn stored(&self) -> UserItem {
        self.fixture.stored(self.user.id).await.expect("the user")
    }

    /// One change of every kind, through the handlers, with bookkeeping writes between.
    async fn every_change(&self) {
        self.wrong_password("req-wrong-password").await;
        self.own_password_change("req-password-changed").await;
        let reset = json!({"password": RESET_PASSWORD});
        assert_eq!(
            self.call(
                Route::Password,
                "req-password-reset",
                Some(&self.partner),
                reset
            )
            .await,
            204
        );
        self.set_enabled("req-disabled", false, 1).await;
        self.set_enabled("req-enabled", true, 2).await;
        // A token issued after the disable: the disable ended the earlier ones.
        let own = Claims::of(&self.user);
        let change = json!({"contact": {"email": NEW_EMAIL}, "version": 3});
        assert_eq!(
            self.call(Route::Email, "req-email-requested", Some(&own), change)
                .await,
            200
        );
        let token = received_mails(&self.functions.mail_dir).remove(0).token;
        let confirm = json!({"token": token});
        assert_eq!(
            self.call(Route::Confirm, "req-email-confirmed", None, confirm)
                .await,
            200
        );
    }
}

#[tokio::test]
async fn every_change_is_recorded_on_the_item_with_its_actor_and_request() {
    let scene = scene().await;
    scene.wrong_password("req-1").await;
    let item = scene.stored().await;
    assert_eq!(item.write_kind, None, "a failed check is bookkeeping");
    assert_eq!(item.last_change, None);

    scene.fixture.table.counter.reset();
    scene.set_enabled("req-2", false, 1).await;
    assert_eq!(scene.fixture.table.counter.get(), 1, "still one UpdateItem");
    let item = scene.stored().await;
    let change = item.last_change.clone().expect("the change is recorded");
    assert_eq!(
        serde_json::to_value(&change).unwrap(),
        json!({
            "kind": "account.disabled",
            "actor": {"type": "client", "id": "partner-app", "tenant_id": scene.fixture.partner.tenant()},
            "request_id": "req-2",
            "at": item.user.updated_at,
        })
    );
    assert_eq!(item.write_kind, Some(shared::audit::ChangeKind::Disabled));
    assert_eq!(
        item.credentials_changed_at.as_deref(),
        Some(change.at.as_str())
    );

    // A bookkeeping write keeps the record of the last change but clears the stream's mark.
    scene.set_enabled("req-3", true, 2).await;
    scene.wrong_password("req-4").await;
    let item = scene.stored().await;
    assert_eq!(item.write_kind, None);
    assert_eq!(item.last_change.expect("kept").request_id.as_str(), "req-3");

    // The user object shows none of it.
    let answer = scene
        .functions
        .call(
            Route::Get,
            &Route::Get
                .event(Payload::V2, &scene.user.id.to_string())
                .claims(&scene.partner),
        )
        .await;
    let body = testkit::body_json(&answer);
    for hidden in ["last_change", "write_kind", "credentials_changed_at"] {
        assert!(body.get(hidden).is_none(), "{hidden} in {body}");
    }
}

#[tokio::test]
async fn every_change_becomes_one_event_and_its_notices_once() {
    let scene = scene().await;
    scene.every_change().await;
    // A write from outside the store (an operator's) leaves the last change's mark: the
    // filter lets it through, and the function finds no new change in it.
    scene
        .fixture
        .set_enabled_directly(scene.user.id, false)
        .await;
    let (admitted, dropped) = stream(&scene.fixture).await;
    assert_eq!(
        admitted.len(),
        7,
        "one record per change, and the outside write"
    );
    assert!(
        dropped.len() >= 4,
        "inserts and the attempt-log writes are dropped by the filter: {}",
        dropped.len()
    );

    let events_dir = temp_dir("events");
    let mail_dir = temp_dir("notices");
    let state = events_state(&events_dir);
    let response = account_events::handle(&state, lambda_event(&admitted)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let entries = entries(&events_dir);
    let notices_state = notices_state(&scene.fixture, &mail_dir);
    let queue = queued(&entries);
    assert_eq!(
        queue.records.len(),
        3,
        "two password events and the address change"
    );
    let response = send_notices::handle(&notices_state, queue.clone()).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["DetailType"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "account.password.changed",
            "account.password.reset",
            "account.disabled",
            "account.enabled",
            "account.email.change-requested",
            "account.email.changed",
        ]
    );
    let user = &scene.user;
    let item = scene.stored().await;
    let requests = [
        "req-password-changed",
        "req-password-reset",
        "req-disabled",
        "req-enabled",
        "req-email-requested",
        "req-email-confirmed",
    ];
    let record_ids: Vec<&str> = admitted
        .iter()
        .map(|r| r["eventID"].as_str().unwrap())
        .collect();
    for (index, entry) in entries.iter().enumerate() {
        assert_eq!(entry["Source"], SOURCE);
        let detail = detail(entry);
        assert_eq!(
            detail["event_id"], record_ids[index],
            "stable per stream record"
        );
        assert_eq!(detail["user_id"], json!(user.id));
        assert_eq!(detail["tenant_id"], json!(user.tenant_id));
        assert_eq!(detail["tenant_path"], json!(item.tenant_path));
        assert_eq!(detail["request_id"], requests[index]);
        assert!(detail["occurred_at"].is_string());
        assert!(detail["version"].is_u64());
    }
    let details: Vec<Value> = entries.iter().map(detail).collect();
    let own_actor = json!({"type": "user", "id": user.id, "tenant_id": user.tenant_id});
    let partner_actor =
        json!({"type": "client", "id": "partner-app", "tenant_id": scene.fixture.partner.tenant()});
    let link_actor =
        json!({"type": "confirmation-link", "id": user.id, "tenant_id": user.tenant_id});
    assert_eq!(details[0]["actor"], own_actor);
    assert_eq!(details[1]["actor"], partner_actor);
    assert_eq!(details[2]["actor"], partner_actor);
    assert_eq!(details[4]["actor"], own_actor);
    assert_eq!(details[5]["actor"], link_actor);
    for credentials in [&details[0], &details[1], &details[2]] {
        assert!(
            credentials["credentials_changed_at"].is_string(),
            "{credentials}"
        );
    }
    assert_eq!(
        details[2]["credentials_changed_at"],
        details[2]["occurred_at"]
    );
    assert!(details[3].get("credentials_changed_at").is_none());
    for email in [&details[4], &details[5]] {
        assert_eq!(email["old_email"], json!(user.contact.email));
        assert_eq!(email["new_email"], NEW_EMAIL);
    }
    assert_eq!(
        [
            details[2]["version"].as_u64(),
            details[3]["version"].as_u64(),
            details[5]["version"].as_u64()
        ],
        [Some(2), Some(3), Some(4)]
    );
    // Every Detail is what the catalogue's JSON Schema of its kind says, no more.
    for entry in &entries {
        let kind = entry["DetailType"].as_str().unwrap();
        let validator = jsonschema::draft202012::new(&event_schema(kind)).expect("a schema");
        let detail = detail(entry);
        let errors: Vec<String> = validator
            .iter_errors(&detail)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{kind}: {errors:?} in {detail}");
    }
    // No secret in any event: only the captured secrets' registry knows them all.
    let everything = entries.iter().map(Value::to_string).collect::<String>();
    for secret in [
        OLD_PASSWORD,
        NEW_PASSWORD,
        RESET_PASSWORD,
        "$argon2",
        "token_hash",
        "password_hash",
    ] {
        assert!(!everything.contains(secret), "{secret} in an event");
    }

    let notices = messages(&mail_dir);
    let recipients = |subject: &str| -> Vec<String> {
        let mut to: Vec<String> = notices
            .iter()
            .filter(|m| m.subject == subject)
            .map(|m| m.to.clone())
            .collect();
        to.sort();
        to
    };
    assert_eq!(
        recipients(&Language::En.text("notice-password-subject", None)),
        [user.contact.email.clone(), user.contact.email.clone()],
        "a change and a reset"
    );
    let mut both = vec![user.contact.email.clone(), NEW_EMAIL.to_owned()];
    both.sort();
    assert_eq!(
        recipients(&Language::En.text("notice-email-subject", None)),
        both
    );
    assert_eq!(notices.len(), 4);
    // The queue hands a message out again (a timeout, a retry): no second notice.
    let response = send_notices::handle(&notices_state, queue).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(messages(&mail_dir), notices, "no second notice");

    // Lambda delivers a batch again (a retry, a bisection): the same events.
    let again = account_events::handle(&state, lambda_event(&admitted)).await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(
        crate::entries(&events_dir),
        entries,
        "the same files, the same content"
    );

    // Or out of order (a bisected batch's halves): still the same events.
    let mut reversed = admitted.clone();
    reversed.reverse();
    let response = account_events::handle(&state, lambda_event(&reversed)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(crate::entries(&events_dir), entries);

    // What the filter drops, the function would drop too.
    let dropped_response = account_events::handle(&state, lambda_event(&dropped)).await;
    assert!(dropped_response.batch_item_failures.is_empty());
    assert_eq!(crate::entries(&events_dir).len(), 6);
    assert_eq!(testkit::logs::leaks(), 0, "a secret reached the logs");
}

/// A mail that cannot go out holds back no event: account-events publishes every event
/// (it has no mail to send), and send-notices reports the message of the notice it could not
/// send, which comes again and is sent once the mail works.
#[tokio::test]
async fn a_notice_that_cannot_be_sent_comes_back_and_holds_back_no_event() {
    let scene = scene().await;
    scene.own_password_change("req-a").await;
    scene.set_enabled("req-b", false, 1).await;
    let (admitted, entries) = published(&scene.fixture).await;
    assert_eq!(admitted.len(), 2);
    assert_eq!(entries.len(), 2, "both events, the disable included");

    // The mail cannot be written (its directory is a file): the notice's message fails.
    let blocked = temp_dir("blocked").join("a-file");
    std::fs::write(&blocked, "not a directory").unwrap();
    let queue = queued(&entries);
    assert_eq!(
        queue.records.len(),
        1,
        "the password change; the disable has no notice"
    );
    let broken = notices_state(&scene.fixture, &blocked);
    let response = send_notices::handle(&broken, queue.clone()).await;
    assert_eq!(
        failed_messages(&response),
        [queue.records[0].message_id.clone().unwrap()]
    );

    // Handed out again once the mail works: the notice is sent (its lease was released).
    let mail_dir = temp_dir("notices");
    let working = notices_state(&scene.fixture, &mail_dir);
    let response = send_notices::handle(&working, queue).await;
    assert!(response.batch_item_failures.is_empty());
    let notices: Vec<Message> = messages(&mail_dir);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].to, scene.user.contact.email);

    // A message that is not an account event fails: to the dead-letter queue, not dropped.
    let mut poison = queued(&entries);
    poison.records[0].body = Some("{\"detail-type\": \"account.password.changed\"}".into());
    let response = send_notices::handle(&working, poison).await;
    assert_eq!(response.batch_item_failures.len(), 1);
}

/// EventBridge that accepts or fails the n-th `PutEvents` entry as `answers` says
/// (accepted past the end).
async fn event_bridge(answers: Vec<bool>) -> StandIn {
    StandIn::start(move |call| {
        let body = if answers.get(call).copied().unwrap_or(true) {
            json!({"FailedEntryCount": 0, "Entries": [{"EventId": format!("id-{call}")}]})
        } else {
            json!({"FailedEntryCount": 1, "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}]})
        };
        Reply {
            status: "200 OK",
            content_type: "application/x-amz-json-1.1",
            body: body.to_string(),
        }
    })
    .await
}

/// A bus on an EventBridge stand-in.
fn bus(stand_in: &StandIn) -> Bus {
    let config = testkit::local_sdk_config(&stand_in.endpoint);
    Bus::EventBridge {
        client: aws_sdk_eventbridge::Client::new(&config),
        bus_name: "accounts-test".into(),
        source: SOURCE.into(),
    }
}

#[tokio::test]
async fn entries_eventbridge_fails_are_retried_and_a_record_it_keeps_failing_is_reported() {
    let admitted = three_records_of_one_user().await;
    let state = |bus: Bus| State { bus };
    let sequence = |index: usize| {
        admitted[index]["dynamodb"]["SequenceNumber"]
            .as_str()
            .map(str::to_owned)
    };

    // Some entries fail once: retried within the invocation, nothing reported.
    let flaky = event_bridge(vec![true, false, true]).await;
    let response = account_events::handle(&state(bus(&flaky)), lambda_event(&admitted)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(flaky.calls(), 4, "three entries, one of them twice");

    // The second entry keeps failing: the first record is done, the second is reported,
    // the third is not even tried (Lambda redelivers both, in order).
    let failing = event_bridge(vec![true, false, false, false]).await;
    let response = account_events::handle(&state(bus(&failing)), lambda_event(&admitted)).await;
    assert_eq!(reported(&response), [sequence(1)]);
    assert_eq!(failing.calls(), 4, "one, then three tries of the second");

    // Everything fails: the first record is reported, nothing is lost.
    let down = event_bridge(vec![false; 10]).await;
    let response = account_events::handle(&state(bus(&down)), lambda_event(&admitted)).await;
    assert_eq!(reported(&response), [sequence(0)]);
}

/// EventBridge that answers each `PutEvents` entry by entry: an entry whose detail names a
/// user of `failing` fails, every other one is accepted.
async fn entry_by_entry_event_bridge(failing: Vec<String>) -> StandIn {
    StandIn::answering(Duration::ZERO, move |call, body| {
        let request: Value = serde_json::from_str(body).unwrap_or_default();
        let results: Vec<Value> = request["Entries"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(n, entry)| {
                let detail = entry["Detail"].as_str().unwrap_or_default();
                if failing.iter().any(|user| detail.contains(user.as_str())) {
                    json!({"ErrorCode": "InternalFailure", "ErrorMessage": "stand-in"})
                } else {
                    json!({"EventId": format!("id-{call}-{n}")})
                }
            })
            .collect();
        let failed = results
            .iter()
            .filter(|r| r.get("ErrorCode").is_some())
            .count();
        Reply {
            status: "200 OK",
            content_type: "application/x-amz-json-1.1",
            body: json!({"FailedEntryCount": failed, "Entries": results}).to_string(),
        }
    })
    .await
}

/// The `PutEvents` calls a stand-in received: for each, its entries' (user, version) pairs.
fn calls(stand_in: &StandIn) -> Vec<Vec<(String, u64)>> {
    stand_in
        .bodies()
        .iter()
        .map(|body| {
            let request: Value = serde_json::from_str(body).expect("a PutEvents request");
            request["Entries"]
                .as_array()
                .expect("entries")
                .iter()
                .map(|entry| {
                    let detail: Value =
                        serde_json::from_str(entry["Detail"].as_str().expect("a detail"))
                            .expect("JSON");
                    (
                        detail["user_id"].as_str().expect("a user").to_owned(),
                        detail["version"].as_u64().expect("a version"),
                    )
                })
                .collect()
        })
        .collect()
}

/// `rounds` status changes of each of `users` new users, round by round, so that the
/// stream interleaves them: the users and the admitted records.
async fn interleaved_changes(users: usize, rounds: u64) -> (Fixture, Vec<User>, Vec<Value>) {
    let fixture = Fixture::new().await;
    let functions = Functions::new(fixture.store());
    let partner = Claims::client("partner-app", fixture.partner.tenant(), "users:write");
    let mut created = Vec::new();
    for _ in 0..users {
        created.push(fixture.user(&fixture.customer).await);
    }
    for version in 1..=rounds {
        for user in &created {
            let body = json!({"enabled": version % 2 == 0, "version": version});
            let event =
                Route::Status.request(Payload::V2, &user.id.to_string(), Some(&partner), body);
            assert_eq!(functions.call(Route::Status, &event).await.status(), 200);
        }
    }
    let (admitted, _) = stream(&fixture).await;
    assert_eq!(admitted.len(), users * rounds as usize);
    (fixture, created, admitted)
}

#[tokio::test]
async fn a_batch_goes_out_ten_entries_a_call_users_side_by_side_each_in_its_order() {
    let (_fixture, users, admitted) = interleaved_changes(12, 3).await;
    let stand_in = entry_by_entry_event_bridge(Vec::new()).await;
    let response = account_events::handle(
        &State {
            bus: bus(&stand_in),
        },
        lambda_event(&admitted),
    )
    .await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    // Three waves (each user's first, second, third change) of twelve entries: 10 + 2 a wave.
    let calls = calls(&stand_in);
    let sizes: Vec<usize> = calls.iter().map(Vec::len).collect();
    let mut sorted = sizes.clone();
    sorted.sort();
    assert_eq!(sorted, [2, 2, 2, 10, 10, 10], "{sizes:?}");
    for call in &calls {
        let mut in_call: Vec<&String> = call.iter().map(|(user, _)| user).collect();
        in_call.sort();
        in_call.dedup();
        assert_eq!(
            in_call.len(),
            call.len(),
            "two entries of one user in a call: {call:?}"
        );
    }
    // Every event once, and each user's in its order: a wave's calls all come before the
    // next wave's.
    let received: Vec<(String, u64)> = calls.into_iter().flatten().collect();
    assert_eq!(received.len(), 36);
    for user in &users {
        let versions: Vec<u64> = received
            .iter()
            .filter(|(id, _)| *id == user.id.to_string())
            .map(|(_, version)| *version)
            .collect();
        assert_eq!(versions, [2, 3, 4], "user {}", user.id);
    }
}

#[tokio::test]
async fn an_entry_that_keeps_failing_holds_back_its_user_only_and_comes_again() {
    let (_fixture, users, admitted) = interleaved_changes(5, 2).await;
    let stuck = users[1].id.to_string();
    let sequence = |index: usize| {
        admitted[index]["dynamodb"]["SequenceNumber"]
            .as_str()
            .map(str::to_owned)
    };
    let failing = entry_by_entry_event_bridge(vec![stuck.clone()]).await;
    let response =
        account_events::handle(&State { bus: bus(&failing) }, lambda_event(&admitted)).await;
    // The stuck user's first record (the second of the stream) is reported: Lambda delivers
    // it and every record after it again.
    assert_eq!(reported(&response), [sequence(1)]);
    let sent = calls(&failing);
    let tried: Vec<&(String, u64)> = sent
        .iter()
        .flatten()
        .filter(|(user, _)| *user == stuck)
        .collect();
    assert_eq!(
        tried,
        [
            &(stuck.clone(), 2),
            &(stuck.clone(), 2),
            &(stuck.clone(), 2)
        ],
        "its first event three times, its second never"
    );
    // Every other user's events went out, each user's in order.
    for user in users.iter().filter(|u| u.id.to_string() != stuck) {
        let versions: Vec<u64> = sent
            .iter()
            .flatten()
            .filter(|(id, _)| *id == user.id.to_string())
            .map(|(_, version)| *version)
            .collect();
        assert_eq!(versions, [2, 3], "user {}", user.id);
    }

    // The redelivery, from the reported record on, to a bus that works again: nothing is
    // lost, and the stuck user's events go out in order.
    let working = entry_by_entry_event_bridge(Vec::new()).await;
    let response =
        account_events::handle(&State { bus: bus(&working) }, lambda_event(&admitted[1..])).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let again: Vec<(String, u64)> = calls(&working).into_iter().flatten().collect();
    let stuck_versions: Vec<u64> = again
        .iter()
        .filter(|(id, _)| *id == stuck)
        .map(|(_, version)| *version)
        .collect();
    assert_eq!(stuck_versions, [2, 3]);
    assert_eq!(again.len(), 9, "the nine records from the reported one on");
}

#[tokio::test]
async fn a_poison_record_is_reported_not_dropped() {
    let scene = scene().await;
    scene.set_enabled("req-b", false, 1).await;
    let (mut admitted, _) = stream(&scene.fixture).await;
    // A record whose new image claims a change but is not a user item.
    admitted[0]["dynamodb"]["NewImage"]["version"] = json!({"S": "not a number"});
    let events_dir = temp_dir("events");
    let state = events_state(&events_dir);
    let response = account_events::handle(&state, lambda_event(&admitted)).await;
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "to the retries, then the on-failure queue"
    );
    assert!(entries(&events_dir).is_empty());
}

#[tokio::test]
async fn a_poison_record_mid_batch_publishes_the_records_before_it_only() {
    let mut admitted = three_records_of_one_user().await;
    admitted[1]["dynamodb"]["NewImage"]["version"] = json!({"S": "not a number"});
    let events_dir = temp_dir("events");
    let response =
        account_events::handle(&events_state(&events_dir), lambda_event(&admitted)).await;
    let sequence = admitted[1]["dynamodb"]["SequenceNumber"]
        .as_str()
        .map(str::to_owned);
    assert_eq!(
        reported(&response),
        [sequence],
        "from the poison record on, again"
    );
    let published = entries(&events_dir);
    assert_eq!(
        published.len(),
        1,
        "the first record's event only: {published:?}"
    );
    assert_eq!(published[0]["DetailType"], "account.password.changed");
}

/// The direct path cannot flood: an account that is not activated gets no notice however
/// often its address changes, and one activated user gets at most the daily budget of
/// notices however often an administrator resets its password. Every event is published.
#[tokio::test]
async fn notices_are_budgeted_and_none_go_to_an_account_that_is_not_activated() {
    let fixture = Fixture::new().await;
    let functions = Functions::new(fixture.store());
    let partner = Claims::client("partner-app", fixture.partner.tenant(), "users:write");
    let new_hire = fixture.inactive_user(&fixture.customer).await;
    for version in 1..=6u64 {
        let change = json!({"contact": {"email": format!("anyone-{version}@flood.example")}, "version": version});
        let event = Route::Email.request(
            Payload::V2,
            &new_hire.id.to_string(),
            Some(&partner),
            change,
        );
        assert_eq!(functions.call(Route::Email, &event).await.status(), 200);
    }
    let clerk = fixture
        .user_with_password(&fixture.sub_customer, OLD_PASSWORD)
        .await;
    for n in 0..12 {
        let reset = json!({"password": format!("{RESET_PASSWORD} number {n}")});
        let event =
            Route::Password.request(Payload::V2, &clerk.id.to_string(), Some(&partner), reset);
        assert_eq!(functions.call(Route::Password, &event).await.status(), 204);
    }

    let (admitted, _) = stream(&fixture).await;
    let events_dir = temp_dir("events");
    let mail_dir = temp_dir("notices");
    let state = events_state(&events_dir);
    let response = account_events::handle(&state, lambda_event(&admitted)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let queue = queued(&entries(&events_dir));
    let notices_state = notices_state(&fixture, &mail_dir);
    let response = send_notices::handle(&notices_state, queue.clone()).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let kinds: Vec<String> = entries(&events_dir)
        .iter()
        .map(|e| e["DetailType"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "account.email.changed")
            .count(),
        6
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "account.password.reset")
            .count(),
        12
    );
    let notices = messages(&mail_dir);
    assert_eq!(notices.len(), 10, "the daily budget, not one per reset");
    assert!(
        notices.iter().all(|m| m.to == clerk.contact.email),
        "none to the new hire's addresses"
    );

    // A redelivery sends nothing more and spends nothing more.
    let again = send_notices::handle(&notices_state, queue).await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(messages(&mail_dir).len(), 10);
    assert_eq!(entries(&events_dir).len(), 18);
}

#[tokio::test]
async fn a_notice_is_written_in_its_users_language() {
    let fixture = Fixture::new().await;
    let functions = Functions::new(fixture.store());
    let partner = Claims::client("partner-app", fixture.partner.tenant(), "users:write");
    let mut users = Vec::new();
    for (tag, language) in [
        ("de-CH", Language::De),
        ("ja", Language::Ja),
        ("pt", Language::En),
    ] {
        let user = fixture
            .user_with_password_and(&fixture.customer, OLD_PASSWORD, |u| u.language = tag.into())
            .await;
        let reset = json!({"password": RESET_PASSWORD});
        let event =
            Route::Password.request(Payload::V2, &user.id.to_string(), Some(&partner), reset);
        assert_eq!(functions.call(Route::Password, &event).await.status(), 204);
        users.push((user, language));
    }
    let (admitted, _) = stream(&fixture).await;
    let events_dir = temp_dir("events");
    let mail_dir = temp_dir("notices");
    let response =
        account_events::handle(&events_state(&events_dir), lambda_event(&admitted)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let queue = queued(&entries(&events_dir));
    let response = send_notices::handle(&notices_state(&fixture, &mail_dir), queue).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let notices = messages(&mail_dir);
    assert_eq!(notices.len(), 3);
    for (user, language) in users {
        let notice = notices
            .iter()
            .find(|m| m.to == user.contact.email)
            .expect("the user's notice");
        assert_eq!(notice.language, language.tag());
        assert_eq!(
            notice.subject,
            language.text("notice-password-subject", None)
        );
        assert!(notice.text.contains(&user.login), "{}", notice.text);
        // The reset's own words, whole, not the self-service change's (which some languages
        // word alike up to the time): the text around the time.
        let mut args = shared::language::FluentArgs::new();
        args.set("login", user.login.as_str());
        args.set("at", "AT");
        let reset = language.text("notice-password-reset-text", Some(&args));
        let (before, after) = reset.split_once("AT").expect("the time in the text");
        let body = notice.text.replace("\r\n", "\n");
        assert!(
            body.starts_with(before) && body.trim_end().ends_with(after.trim_end()),
            "{body}\n---\n{reset}"
        );
    }
}

/// Concurrent senders cannot both take the last notice of a budget.
#[tokio::test]
async fn a_notice_budget_is_spent_race_free() {
    let fixture = Fixture::new().await;
    let store = fixture.store();
    let budget = send_notices::notice_budget(10);
    let key = shared::store::BudgetKey::recipient(
        &EmailAddress::parse("Someone@Example.com").expect("an address"),
    );
    let now = shared::Now::current();
    let spends = (0..25).map(|_| store.spend_notice_budget(&key, &budget, &now));
    let granted = futures::future::join_all(spends)
        .await
        .into_iter()
        .map(|spent| spent.expect("DynamoDB Local answers"))
        .filter(|&granted| granted)
        .count();
    assert_eq!(granted, 10);
    // The same address in another case shares the budget; a day later it is free again.
    let same = shared::store::BudgetKey::recipient(
        &EmailAddress::parse("someone@example.com").expect("an address"),
    );
    assert_eq!(same, key);
    assert!(
        !store
            .spend_notice_budget(&same, &budget, &now)
            .await
            .unwrap()
    );
    let tomorrow = now.later(24 * 60 * 60 + 1);
    assert!(
        store
            .spend_notice_budget(&same, &budget, &tomorrow)
            .await
            .unwrap()
    );
}

/// A notice's lease whose sender died (no mark, no release) is taken over after its lease,
/// and a notice marked sent is never leased again.
#[tokio::test]
async fn a_notice_lease_whose_sender_died_is_taken_over_after_its_lease() {
    use shared::store::{Lease, NOTICE_LEASE_SECS, NoticeKey};
    let fixture = Fixture::new().await;
    let store = fixture.store();
    let key = NoticeKey::new("event-of-a-dead-sender", "user");
    let now = shared::Now::current();
    assert_eq!(
        store.lease_notice(&key, &now).await.unwrap(),
        Lease::Granted
    );
    let within = now.later(NOTICE_LEASE_SECS - 1);
    assert_eq!(
        store.lease_notice(&key, &within).await.unwrap(),
        Lease::Taken
    );
    let after = now.later(NOTICE_LEASE_SECS + 1);
    assert_eq!(
        store.lease_notice(&key, &after).await.unwrap(),
        Lease::Granted
    );
    store.notice_sent(&key, &after).await.unwrap();
    let much_later = now.later(10 * NOTICE_LEASE_SECS);
    assert_eq!(
        store.lease_notice(&key, &much_later).await.unwrap(),
        Lease::Taken
    );
}

/// SES answering `status` with `body` (its JSON protocol's error), counting the calls.
async fn ses(status: &'static str, body: &'static str) -> StandIn {
    StandIn::start(move |_| Reply {
        status,
        content_type: "application/json",
        body: body.into(),
    })
    .await
}

fn ses_notices(fixture: &Fixture, stand_in: &StandIn) -> send_notices::State {
    let config = testkit::local_sdk_config(&stand_in.endpoint);
    send_notices::State {
        mailer: Mailer::Ses {
            client: aws_sdk_sesv2::Client::new(&config),
            sender: EmailAddress::parse("no-reply@accounts.example.test").expect("sender"),
        },
        ..notices_state(fixture, &temp_dir("unused"))
    }
}

/// An address SES refuses for good is logged and not retried (the message is done, and a
/// redelivery does not call SES again); a throttled SES fails the message, to come again.
#[tokio::test]
async fn a_refused_address_is_not_retried_and_a_throttled_mail_is() {
    let scene = scene().await;
    scene.own_password_change("req-a").await;
    let queue = queued(&published(&scene.fixture).await.1);
    assert_eq!(queue.records.len(), 1);

    let throttled = ses(
        "429 Too Many Requests",
        r#"{"__type":"TooManyRequestsException","message":"slow down"}"#,
    )
    .await;
    let response =
        send_notices::handle(&ses_notices(&scene.fixture, &throttled), queue.clone()).await;
    assert_eq!(response.batch_item_failures.len(), 1, "to come again");

    let refusing = ses(
        "400 Bad Request",
        r#"{"__type":"MessageRejected","message":"rejected"}"#,
    )
    .await;
    let state = ses_notices(&scene.fixture, &refusing);
    let response = send_notices::handle(&state, queue.clone()).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "done: no retry changes a refusal"
    );
    assert_eq!(refusing.calls(), 1);
    // What SES was asked: the notice with its language as a message header.
    let request: Value = serde_json::from_str(&refusing.bodies()[0]).expect("SendEmail's JSON");
    assert_eq!(
        request["Content"]["Simple"]["Headers"],
        json!([{"Name": "Content-Language", "Value": "en"}]),
        "{request}"
    );
    let response = send_notices::handle(&state, queue).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(refusing.calls(), 1, "a redelivery does not ask SES again");
}

/// The queue hands one message to several executions at once (a visibility timeout that
/// ran out): its notice still goes out once.
#[tokio::test]
async fn concurrent_deliveries_of_one_event_send_its_notice_once() {
    let scene = scene().await;
    scene.own_password_change("req-a").await;
    let queue = queued(&published(&scene.fixture).await.1);
    let mail_dir = temp_dir("notices");
    let state = notices_state(&scene.fixture, &mail_dir);
    let deliveries = (0..8).map(|_| send_notices::handle(&state, queue.clone()));
    let responses = futures::future::join_all(deliveries).await;
    // A delivery that found the lease taken is done too: none is reported.
    assert!(responses.iter().all(|r| r.batch_item_failures.is_empty()));
    assert_eq!(
        messages(&mail_dir).len(),
        1,
        "one notice however many deliveries"
    );
}
