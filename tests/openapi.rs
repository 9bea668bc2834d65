//! `openapi.yaml` stays true: it documents exactly the routes of the router and the
//! template, and the handlers' responses — status, media type and body — match it.

use std::collections::BTreeSet;
use std::path::Path;

mod support;

use lambda_http::{Body, Response};
use serde_json::{Value, json};
use shared::UserId;
use shared::runtime::respond;
use support::Functions;
use testkit::{Claims, Event, Fixture, Payload, received_mails};

fn read(relative: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(relative)).expect(relative)
}

fn openapi() -> Value {
    serde_norway::from_str(&read("openapi.yaml")).expect("openapi.yaml")
}

type Routes = BTreeSet<(String, String)>;

fn documented_routes(doc: &Value) -> Routes {
    let mut routes = Routes::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

fn router_routes() -> Routes {
    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml");
    let router = &manifest["workspace"]["metadata"]["lambda"]["watch"]["router"];
    let mut routes = Routes::new();
    for (path, entries) in router.as_table().expect("router") {
        for entry in entries.as_array().expect("routes") {
            let method = entry["method"].as_str().expect("method");
            routes.insert((method.to_owned(), path.clone()));
        }
    }
    routes
}

fn template_routes() -> Routes {
    let template: serde_norway::Value =
        serde_norway::from_str(&read("template.yaml")).expect("template.yaml");
    let mut routes = Routes::new();
    for resource in template["Resources"]
        .as_mapping()
        .expect("Resources")
        .values()
    {
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for event in events.values() {
            if event["Type"].as_str() == Some("HttpApi") {
                let properties = &event["Properties"];
                routes.insert((
                    properties["Method"]
                        .as_str()
                        .expect("Method")
                        .to_uppercase(),
                    properties["Path"].as_str().expect("Path").to_owned(),
                ));
            }
        }
    }
    routes
}

#[test]
fn the_document_the_router_and_the_template_have_the_same_routes() {
    let doc = openapi();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented = documented_routes(&doc);
    assert_eq!(documented.len(), 6);
    assert_eq!(
        documented,
        router_routes(),
        "openapi.yaml against the router"
    );
    assert_eq!(
        documented,
        template_routes(),
        "openapi.yaml against template.yaml"
    );
}

/// Checks a response against the document: the status is documented for the operation,
/// with the response's media type, and the body validates against its schema.
fn assert_documented(
    doc: &Value,
    method: &str,
    path: &str,
    expected: u16,
    response: &Response<Body>,
) {
    assert_eq!(
        response.status().as_u16(),
        expected,
        "{method} {path}: {}",
        String::from_utf8_lossy(response.body().as_ref())
    );
    let status = response.status().as_u16().to_string();
    let operation = &doc["paths"][path][method.to_lowercase()];
    assert!(operation.is_object(), "{method} {path} is documented");
    let mut pointer = format!(
        "/paths/{}/{}/responses/{status}",
        path.replace('~', "~0").replace('/', "~1"),
        method.to_lowercase()
    );
    let mut documented = doc
        .pointer(&pointer)
        .cloned()
        .unwrap_or_else(|| panic!("{method} {path} does not document {status}"));
    if let Some(reference) = documented.get("$ref").and_then(Value::as_str) {
        pointer = reference.trim_start_matches('#').to_owned();
        documented = doc.pointer(&pointer).cloned().expect("a resolvable $ref");
    }
    let media_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
    let Some(media_type) = media_type else {
        assert!(
            documented.get("content").is_none(),
            "{method} {path} {status} has a body"
        );
        assert!(response.body().is_empty());
        return;
    };
    assert!(
        documented["content"].get(&media_type).is_some(),
        "{method} {path} {status} does not document {media_type}"
    );
    if media_type == "text/html" {
        return;
    }
    // Validate against the schema where it stands in the document, so `$ref`s resolve.
    let location = format!(
        "#{pointer}/content/{}/schema",
        media_type.replace('/', "~1")
    )
    .replace('{', "%7B")
    .replace('}', "%7D");
    let mut schema = doc.clone();
    schema["$ref"] = json!(location);
    let validator = jsonschema::draft202012::new(&schema).expect("a valid schema");
    let body: Value = serde_json::from_slice(response.body().as_ref()).expect("JSON body");
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: {errors:?}\n{body}"
    );
}

#[tokio::test]
async fn every_handler_answers_as_documented() {
    let doc = openapi();
    let fixture = Fixture::new().await;
    let functions = Functions::new(fixture.store());
    let (get_state, status_state, password_state, email_state, mail_dir) = (
        &functions.get,
        &functions.status,
        &functions.password,
        &functions.email,
        &functions.mail_dir,
    );

    let old = "an old and trusted passphrase";
    let user = fixture.user_with_password(&fixture.customer, old).await;
    let fresh = fixture.inactive_user(&fixture.sub_customer).await;
    let me = Claims::user(user.id, user.tenant_id, "");
    let admin = Claims::client(
        "partner",
        fixture.partner.tenant(),
        "users:read users:write",
    );
    let v2 =
        |method: &str, route: &str, id: UserId| Event::new(Payload::V2, method, route).user_id(id);

    let user_path = "/users/{user_id}";
    let status_path = "/users/{user_id}/status";
    let password_path = "/users/{user_id}/password";
    let email_path = "/users/{user_id}/email";
    let confirm_path = "/users/{user_id}/email/confirmation";

    let cases = [
        (v2("GET", user_path, user.id).claims(&me), 200),
        (v2("GET", user_path, user.id), 401),
        (
            v2("GET", user_path, UserId::new_random()).claims(&admin),
            404,
        ),
        (
            v2("GET", user_path, user.id).claims(&Claims::client(
                "c",
                fixture.partner.tenant(),
                "",
            )),
            403,
        ),
        (
            v2("GET", "/users/{user_id}", user.id)
                .claims(&me)
                .path_parameter("user_id", "x"),
            400,
        ),
    ];
    for (event, expected) in &cases {
        assert_documented(
            &doc,
            "GET",
            user_path,
            *expected,
            &respond(get_state, event.request()).await,
        );
    }
    for (body, expected) in [
        (json!({"enabled": false, "version": 1}), 200),
        (json!({"enabled": true, "version": 2}), 200),
        (json!({"enabled": true, "version": 1}), 409),
        (json!({"enabled": 1}), 400),
        (json!({"enabled": true}), 428),
    ] {
        let event = v2("PUT", status_path, user.id).claims(&admin).json(body);
        assert_documented(
            &doc,
            "PUT",
            status_path,
            expected,
            &respond(status_state, event.request()).await,
        );
    }
    let stale = v2("PUT", status_path, user.id)
        .claims(&admin)
        .header("if-match", "\"1\"")
        .json(json!({"enabled": false}));
    assert_documented(
        &doc,
        "PUT",
        status_path,
        412,
        &respond(status_state, stale.request()).await,
    );
    let event = v2("PUT", status_path, user.id)
        .claims(&admin)
        .body("{}", Some("text/plain"));
    assert_documented(
        &doc,
        "PUT",
        status_path,
        415,
        &respond(status_state, event.request()).await,
    );
    for (body, expected) in [
        (json!({"password": "short", "current_password": old}), 400),
        (
            json!({"password": "a brand new passphrase", "current_password": "wrong wrong wrong"}),
            403,
        ),
        (
            json!({"password": "a brand new passphrase", "current_password": old}),
            204,
        ),
    ] {
        let event = v2("POST", password_path, user.id).claims(&me).json(body);
        assert_documented(
            &doc,
            "POST",
            password_path,
            expected,
            &respond(password_state, event.request()).await,
        );
    }
    for (id, claims, address, version, expected) in [
        (fresh.id, &admin, "fresh@new.example", 1, 200),
        (user.id, &me, "me@new.example", 3, 200),
        (user.id, &me, "me@new.example", 1, 409),
        (user.id, &me, "not an address", 3, 400),
        // A second confirmation mail within the cool-down.
        (user.id, &me, "again@new.example", 3, 429),
    ] {
        let body = json!({"contact": {"email": address}, "version": version});
        let event = v2("PUT", email_path, id).claims(claims).json(body);
        assert_documented(
            &doc,
            "PUT",
            email_path,
            expected,
            &respond(email_state, event.request()).await,
        );
    }
    let token = received_mails(mail_dir)
        .pop()
        .expect("a mailed token")
        .token;
    for (event, expected) in [
        (v2("GET", confirm_path, user.id).query("token", &token), 200),
        (v2("GET", confirm_path, user.id), 400),
    ] {
        assert_documented(
            &doc,
            "GET",
            confirm_path,
            expected,
            &respond(&functions.confirm, event.request()).await,
        );
    }
    for (event, expected) in [
        (
            v2("POST", confirm_path, user.id).json(json!({"token": token})),
            200,
        ),
        (
            v2("POST", confirm_path, user.id).json(json!({"token": token})),
            400,
        ),
        (
            v2("POST", confirm_path, user.id).body(
                &format!("token={token}"),
                Some("application/x-www-form-urlencoded"),
            ),
            400,
        ),
    ] {
        assert_documented(
            &doc,
            "POST",
            confirm_path,
            expected,
            &respond(&functions.confirm, event.request()).await,
        );
    }
}
