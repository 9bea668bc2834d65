//! The event files under `tests/events/` (for `sam local invoke`) drive the real function
//! binaries, run by `cargo lambda watch` as the Lambda runtime emulator, to the statuses
//! (and, for the stream's batch, the batch item failures) that `tests/events/expected.json`
//! lists, against the demo data of `infra/seed.json`.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{Watch, workspace_root};
use testkit::{DemoSeed, EventManifest, TestTable};

#[tokio::test]
async fn every_event_file_drives_its_function_to_the_expected_status() {
    let dir = workspace_root().join("tests/events");
    let expected = EventManifest::load(&dir).expect("expected.json");

    // Every event file is listed, and every route of both payload versions has one.
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/events")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".json") && name != "expected.json")
        .collect();
    files.sort();
    let mut listed: Vec<String> = expected.events.iter().map(|e| e.event.clone()).collect();
    listed.sort();
    // An event may be sent twice (John's token before and after the disable).
    listed.dedup();
    assert_eq!(files, listed, "expected.json lists exactly the event files");
    for route in [
        "GET /users/{user_id}",
        "PUT /users/{user_id}/status",
        "POST /users/{user_id}/password",
        "PUT /users/{user_id}/email",
        "GET /users/{user_id}/email/confirmation",
        "POST /users/{user_id}/email/confirmation",
    ] {
        for version in ["1.0", "2.0"] {
            let covered = expected.events.iter().any(|e| {
                let event: Value = serde_json::from_str(
                    &std::fs::read_to_string(dir.join(&e.event)).expect("event"),
                )
                .expect("event JSON");
                let (method, resource) = route.split_once(' ').expect("route");
                match version {
                    "2.0" => event["routeKey"] == route,
                    _ => event["httpMethod"] == method && event["resource"] == resource,
                }
            });
            assert!(covered, "no {version} event for {route}");
        }
    }

    let table = TestTable::new().await;
    DemoSeed::repository()
        .write(&table.store)
        .await
        .expect("demo data");
    let watch = Watch::start(table.name(), table.endpoint(), "apigateway");
    let http = reqwest::Client::new();
    for case in &expected.events {
        let event = std::fs::read_to_string(dir.join(&case.event)).expect("event");
        let url = format!(
            "{}/2015-03-31/functions/{}/invocations",
            watch.base_url, case.function
        );
        // The first call to a function may wait for `cargo run`; the emulator may also not
        // be listening yet.
        let request = http
            .post(&url)
            .body(event)
            .timeout(Duration::from_secs(300));
        let response: Value = match support::send_when_listening(request).await {
            Ok(response) if response.status().is_success() => {
                response.json().await.expect("a Lambda response")
            }
            outcome => panic!(
                "{} did not answer: {outcome:?}\n{}",
                case.function,
                watch.logs()
            ),
        };
        let (ok, got) = case.verdict(&response);
        assert!(
            ok,
            "{} ({}): expected {}, got {got}: {response}",
            case.event,
            case.what,
            case.expected()
        );
    }
}

/// `sam local --env-vars` only sets variables the template declares for a function: every
/// variable of the shipped env files must be declared, or it would be silently dropped.
#[test]
fn sam_local_env_files_set_only_declared_variables() {
    let root = workspace_root();
    let template: serde_norway::Value = serde_norway::from_str(
        &std::fs::read_to_string(root.join("template.yaml")).expect("template.yaml"),
    )
    .expect("template");
    let global = &template["Globals"]["Function"]["Environment"]["Variables"];
    for file in ["invoke.env.json", "start-api.env.json"] {
        let env: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("infra/sam-local").join(file)).expect(file),
        )
        .expect("env JSON");
        for (scope, variables) in env.as_object().expect("object") {
            for name in variables.as_object().expect("variables").keys() {
                let declared = if scope == "Parameters" {
                    global.get(name.as_str()).is_some()
                } else {
                    let function = &template["Resources"][scope.as_str()];
                    assert!(function.is_mapping(), "{file}: no function {scope}");
                    global.get(name.as_str()).is_some()
                        || function["Properties"]["Environment"]["Variables"]
                            .get(name.as_str())
                            .is_some()
                };
                assert!(
                    declared,
                    "{file}: {scope}.{name} is not declared in template.yaml"
                );
            }
        }
    }
}
