//! `GET /users/{user_id}` through the real handler, with API Gateway events of both payload
//! versions, against DynamoDB Local.

use get_user::State;
use serde_json::json;
use shared::runtime::respond;
use shared::testing::{
    Claims, ClaimsShape, Event, Fixture, Payload, assert_looks_missing, assert_problem, body_json,
};
use shared::{AuthMode, Authenticator, Core, UserId};

const ROUTE: &str = "/users/{user_id}";
const PAYLOADS: [Payload; 2] = [Payload::V1, Payload::V2];

fn state(fixture: &Fixture) -> State {
    State(Core::new(
        fixture.store().clone(),
        Authenticator::new(&AuthMode::ApiGateway),
    ))
}

fn get(payload: Payload, id: impl ToString) -> Event {
    Event::new(payload, "GET", ROUTE).user_id(id)
}

#[tokio::test]
async fn a_user_reads_itself_without_any_scope_in_one_request() {
    let fixture = Fixture::new().await;
    let state = state(&fixture);
    let user = fixture.user(&fixture.customer).await;
    for payload in PAYLOADS {
        fixture.table.counter.reset();
        let claims = Claims::user(user.id, fixture.customer.tenant(), "");
        let response = respond(&state, get(payload, user.id).claims(&claims).request()).await;
        assert_eq!(response.status(), 200, "{payload:?}");
        assert_eq!(response.headers()["etag"], "\"1\"");
        assert_eq!(response.headers()["content-type"], "application/json");
        let body = body_json(&response);
        assert_eq!(body, serde_json::to_value(&user).unwrap());
        assert!(body.get("tenant_path").is_none() && body.get("pk").is_none());
        assert_eq!(fixture.table.counter.get(), 1, "one GetItem");
    }
}

#[tokio::test]
async fn a_reader_sees_users_of_its_whole_subtree() {
    let fixture = Fixture::new().await;
    let state = state(&fixture);
    let deep = fixture.user(&fixture.sub_customer).await;
    for (payload, shape) in [
        (Payload::V1, ClaimsShape::Jwt),
        (Payload::V2, ClaimsShape::Jwt),
        (Payload::V1, ClaimsShape::Lambda),
        (Payload::V2, ClaimsShape::Lambda),
    ] {
        for scope in ["users:read", "users:write", "openid users:read"] {
            let claims = Claims::client("reporting", fixture.partner.tenant(), scope);
            let event = get(payload, deep.id).claims(&claims).claims_shape(shape);
            let response = respond(&state, event.request()).await;
            assert_eq!(response.status(), 200, "{payload:?} {shape:?} {scope}");
            assert_eq!(body_json(&response)["id"], json!(deep.id));
        }
    }
}

#[tokio::test]
async fn outside_the_subtree_looks_exactly_like_missing() {
    let fixture = Fixture::new().await;
    let state = state(&fixture);
    let customer_user = fixture.user(&fixture.customer).await;
    for payload in PAYLOADS {
        // A reader beside the user (other partner) and one below it (sub-customer).
        for tenant in [
            fixture.other_partner.tenant(),
            fixture.sub_customer.tenant(),
        ] {
            let claims = Claims::client("reader", tenant, "users:read");
            let outside = respond(
                &state,
                get(payload, customer_user.id).claims(&claims).request(),
            )
            .await;
            let missing_id = UserId::new_random();
            let missing = respond(&state, get(payload, missing_id).claims(&claims).request()).await;
            assert_looks_missing(&outside, &missing);
        }
    }
}

#[tokio::test]
async fn another_user_without_a_read_scope_is_forbidden() {
    let fixture = Fixture::new().await;
    let state = state(&fixture);
    let alice = fixture.user(&fixture.customer).await;
    let bob = fixture.user(&fixture.customer).await;
    for payload in PAYLOADS {
        let claims = Claims::user(bob.id, fixture.customer.tenant(), "openid");
        let response = respond(&state, get(payload, alice.id).claims(&claims).request()).await;
        assert_problem(&response, 403, "forbidden");
    }
}

#[tokio::test]
async fn missing_or_malformed_claims_are_unauthorized() {
    let fixture = Fixture::new().await;
    let state = state(&fixture);
    let user = fixture.user(&fixture.customer).await;
    for payload in PAYLOADS {
        let response = respond(&state, get(payload, user.id).request()).await;
        assert_problem(&response, 401, "unauthorized");
        for claims in [
            json!({"sub": user.id, "tenant_id": "not-a-uuid", "principal_type": "user"}),
            json!({"sub": user.id, "tenant_id": user.tenant_id}),
            json!({"tenant_id": user.tenant_id, "principal_type": "user"}),
            json!({"sub": "someone", "tenant_id": user.tenant_id, "principal_type": "user"}),
        ] {
            let event = get(payload, user.id).raw_claims(claims.clone());
            let response = respond(&state, event.request()).await;
            assert_problem(&response, 401, "unauthorized");
        }
    }
}

#[tokio::test]
async fn a_malformed_user_id_is_a_validation_error() {
    let fixture = Fixture::new().await;
    let state = state(&fixture);
    let claims = Claims::client("reader", fixture.partner.tenant(), "users:read");
    for payload in PAYLOADS {
        for id in [
            "nope",
            "1C234E69-5469-424A-A6D1-FF5658B387A6",
            "..%2F..%2Fetc",
        ] {
            let response = respond(&state, get(payload, id).claims(&claims).request()).await;
            let body = assert_problem(&response, 400, "validation-error");
            assert_eq!(body["errors"][0]["field"], "user_id");
        }
    }
}
