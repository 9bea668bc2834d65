//! A request harness: one case of a handler test, run through the real handler over every way
//! API Gateway hands a function its request — HTTP API (payload 2.0) with a JWT authorizer,
//! REST API (payload 1.0), and a Lambda authorizer — so that a test reads like its spec:
//!
//! ```text
//! harness.put(user, &caller, json!({"enabled": false, "version": 9})).await
//!     .expect(409)
//!     .problem("version-conflict");
//! ```
//!
//! A case that changes something runs once per payload version too, so it is for cases
//! whose answer does not depend on what an earlier run did (refusals, reads, no-ops); a
//! flow that changes a user starts from its own fixture with [`for_each_payload`].

use std::future::Future;

use lambda_http::{Body, Response};
use serde_json::Value;
use shared::runtime::{Function, respond};

use crate::events::{
    Claims, ClaimsShape, Event, Payload, assert_looks_missing, assert_problem, body_json,
};

/// Every way an event reaches a function, as (payload version, where the claims are).
pub const DELIVERIES: [(Payload, ClaimsShape); 3] = [
    (Payload::V2, ClaimsShape::Jwt),
    (Payload::V1, ClaimsShape::Jwt),
    (Payload::V2, ClaimsShape::Lambda),
];

/// The payload versions, for flows that start from a fixture of their own each.
pub const PAYLOADS: [Payload; 2] = [Payload::V1, Payload::V2];

/// Runs `flow` once per payload version.
pub async fn for_each_payload<Fut: Future<Output = ()>>(flow: impl Fn(Payload) -> Fut) {
    for payload in PAYLOADS {
        flow(payload).await;
    }
}

/// One function and one of its routes (`/users/{user_id}/status`, say).
pub struct Harness<'a, F> {
    function: &'a F,
    route: &'static str,
    deliveries: &'static [(Payload, ClaimsShape)],
}

impl<'a, F: Function> Harness<'a, F> {
    pub fn new(function: &'a F, route: &'static str) -> Self {
        Self {
            function,
            route,
            deliveries: &DELIVERIES,
        }
    }

    /// The same function and route, delivered once, in `payload` (a step of a flow that
    /// changes something).
    pub fn only(&self, payload: Payload) -> Self {
        let deliveries: &'static [(Payload, ClaimsShape)] = match payload {
            Payload::V1 => &[(Payload::V1, ClaimsShape::Jwt)],
            Payload::V2 => &[(Payload::V2, ClaimsShape::Jwt)],
        };
        Self {
            function: self.function,
            route: self.route,
            deliveries,
        }
    }

    pub async fn get(&self, user: impl ToString, caller: &Claims) -> Answers {
        self.call("GET", user, Some(caller), None).await
    }

    pub async fn put(&self, user: impl ToString, caller: &Claims, body: Value) -> Answers {
        self.call("PUT", user, Some(caller), Some(body)).await
    }

    pub async fn post(&self, user: impl ToString, caller: &Claims, body: Value) -> Answers {
        self.call("POST", user, Some(caller), Some(body)).await
    }

    /// Without any claims (no authorizer ran, or the route has none).
    pub async fn anonymous(
        &self,
        method: &str,
        user: impl ToString,
        body: Option<Value>,
    ) -> Answers {
        self.call(method, user, None, body).await
    }

    async fn call(
        &self,
        method: &str,
        user: impl ToString,
        caller: Option<&Claims>,
        body: Option<Value>,
    ) -> Answers {
        let user = user.to_string();
        self.send(|payload| {
            let mut event = Event::new(payload, method, self.route).user_id(&user);
            if let Some(caller) = caller {
                event = event.claims(caller);
            }
            match &body {
                Some(body) => event.json(body.clone()),
                None => event,
            }
        })
        .await
    }

    /// Any event, built for each payload version and delivered each way.
    pub async fn send(&self, event: impl Fn(Payload) -> Event) -> Answers {
        let mut answers = Vec::new();
        for &(payload, shape) in self.deliveries {
            let event = event(payload).claims_shape(shape);
            let response = respond(self.function, event.request()).await;
            answers.push((format!("{payload:?} {shape:?}"), response));
        }
        Answers(answers)
    }
}

/// The answers to one case, one per delivery.
pub struct Answers(Vec<(String, Response<Body>)>);

impl Answers {
    /// Every answer has `status`.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        for (delivery, response) in &self.0 {
            assert_eq!(
                response.status().as_u16(),
                status,
                "{delivery}: {}",
                String::from_utf8_lossy(response.body().as_ref())
            );
        }
        self
    }

    /// Every answer is problem+json of its status with `slug`; the first one's body.
    #[track_caller]
    pub fn problem(&self, slug: &str) -> Value {
        let mut first = None;
        for (_, response) in &self.0 {
            let body = assert_problem(response, response.status().as_u16(), slug);
            first.get_or_insert(body);
        }
        first.unwrap_or_default()
    }

    /// Every answer is exactly the `404` of a missing user (`missing`, delivered alike),
    /// apart from `instance`: a user outside the caller's subtree looks missing.
    #[track_caller]
    pub fn looks_missing(&self, missing: &Answers) {
        for ((_, outside), (_, missing)) in self.0.iter().zip(&missing.0) {
            assert_looks_missing(outside, missing);
        }
    }

    /// The first answer's JSON body.
    pub fn json(&self) -> Value {
        body_json(self.first())
    }

    pub fn first(&self) -> &Response<Body> {
        &self.0[0].1
    }

    pub fn all(&self) -> impl Iterator<Item = &Response<Body>> {
        self.0.iter().map(|(_, response)| response)
    }
}
