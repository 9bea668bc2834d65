//! `GET /users/{user_id}` through the real handler, with API Gateway events of both payload
//! versions, against DynamoDB Local.

use get_user::State;
use serde_json::json;
use shared::UserId;
use shared::runtime::respond;
use testkit::{Claims, ClaimsShape, Event, Fixture, Harness, PAYLOADS, Payload, body_json};

const ROUTE: &str = "/users/{user_id}";

fn state(fixture: &Fixture) -> State {
    State(fixture.core())
}

fn get(payload: Payload, id: impl ToString) -> Event {
    Event::new(payload, "GET", ROUTE).user_id(id)
}

#[tokio::test]
async fn a_user_reads_itself_without_any_scope_in_one_request() {
    let (fixture, state, user) = Fixture::with_user(state).await;
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
    let (fixture, state) = Fixture::with(state).await;
    let deep = fixture.user(&fixture.sub_customer).await;
    // Every delivery, and a Lambda authorizer's context in a REST API too.
    let lambda_v1 = |claims: &Claims| {
        get(Payload::V1, deep.id)
            .claims(claims)
            .claims_shape(ClaimsShape::Lambda)
    };
    for scope in ["users:read", "users:write", "openid users:read"] {
        let claims = Claims::client("reporting", fixture.partner.tenant(), scope);
        let answers = Harness::new(&state, ROUTE).get(deep.id, &claims).await;
        for response in answers.expect(200).all() {
            assert_eq!(body_json(response)["id"], json!(deep.id));
        }
        let response = respond(&state, lambda_v1(&claims).request()).await;
        assert_eq!(response.status(), 200, "V1 Lambda {scope}");
    }
}

#[tokio::test]
async fn outside_the_subtree_looks_exactly_like_missing() {
    let (fixture, state, customer_user) = Fixture::with_user(state).await;
    let users = Harness::new(&state, ROUTE);
    // A reader beside the user (other partner) and one below it (sub-customer).
    for tenant in [
        fixture.other_partner.tenant(),
        fixture.sub_customer.tenant(),
    ] {
        let reader = Claims::client("reader", tenant, "users:read");
        let outside = users.get(customer_user.id, &reader).await;
        outside.looks_missing(&users.get(UserId::new_random(), &reader).await);
    }
}

#[tokio::test]
async fn another_user_without_a_read_scope_is_forbidden() {
    let (fixture, state, alice) = Fixture::with_user(state).await;
    let users = Harness::new(&state, ROUTE);
    let bob = Claims::user(
        fixture.user(&fixture.customer).await.id,
        fixture.customer.tenant(),
        "openid",
    );
    users
        .get(alice.id, &bob)
        .await
        .expect(403)
        .problem("forbidden");
}

#[tokio::test]
async fn missing_or_malformed_claims_are_unauthorized() {
    let (_fixture, state, user) = Fixture::with_user(state).await;
    let users = Harness::new(&state, ROUTE);
    let anonymous = users.anonymous("GET", user.id, None).await;
    anonymous.expect(401).problem("unauthorized");
    for claims in [
        json!({"sub": user.id, "tenant_id": "not-a-uuid", "principal_type": "user"}),
        json!({"sub": user.id, "tenant_id": user.tenant_id}),
        json!({"tenant_id": user.tenant_id, "principal_type": "user"}),
        json!({"sub": "someone", "tenant_id": user.tenant_id, "principal_type": "user"}),
    ] {
        let answers = users
            .send(|payload| get(payload, user.id).raw_claims(claims.clone()))
            .await;
        answers.expect(401).problem("unauthorized");
    }
}

#[tokio::test]
async fn a_malformed_user_id_is_a_validation_error() {
    let (fixture, state) = Fixture::with(state).await;
    let users = Harness::new(&state, ROUTE);
    let reader = Claims::client("reader", fixture.partner.tenant(), "users:read");
    for id in [
        "nope",
        "1C234E69-5469-424A-A6D1-FF5658B387A6",
        "..%2F..%2Fetc",
    ] {
        let answers = users.get(id, &reader).await;
        let body = answers.expect(400).problem("validation-error");
        assert_eq!(body["errors"][0]["field"], "user_id");
    }
}
