//! Real API Gateway events (payload 1.0 and 2.0) for handler tests, and development tokens.

use jsonwebtoken::{EncodingKey, Header};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use shared::caller::DEV_TOKEN_ISSUER;
use shared::ids::{TenantId, UserId};

/// The claims a caller presents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub tenant_id: String,
    pub scope: String,
    pub principal_type: String,
    /// `iat`: when made, unless a test says otherwise.
    pub iat: i64,
    /// `sid`: a session of its own, unless a test says otherwise.
    pub sid: Option<String>,
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Claims {
    /// The user itself, without any scope.
    pub fn of(user: &shared::User) -> Self {
        Self::user(user.id, user.tenant_id, "")
    }

    pub fn user(id: UserId, tenant: TenantId, scope: &str) -> Self {
        Self {
            sub: id.to_string(),
            tenant_id: tenant.to_string(),
            scope: scope.to_owned(),
            principal_type: "user".into(),
            iat: now_secs(),
            sid: Some(uuid::Uuid::new_v4().to_string()),
        }
    }

    /// The same principal, its token issued at `iat` (Unix seconds).
    pub fn issued_at(mut self, iat: i64) -> Self {
        self.iat = iat;
        self
    }

    /// The same principal in session `sid` (none: a token without `sid`).
    pub fn in_session(mut self, sid: Option<&str>) -> Self {
        self.sid = sid.map(str::to_owned);
        self
    }

    pub fn client(client_id: &str, tenant: TenantId, scope: &str) -> Self {
        Self {
            sub: client_id.to_owned(),
            tenant_id: tenant.to_string(),
            scope: scope.to_owned(),
            principal_type: "client".into(),
            iat: now_secs(),
            sid: None,
        }
    }

    /// As an HTTP API's JWT authorizer hands them on: every claim a string.
    pub fn to_json(&self) -> Value {
        let mut claims = json!({
            "sub": self.sub,
            "tenant_id": self.tenant_id,
            "scope": self.scope,
            "principal_type": self.principal_type,
            "iat": self.iat.to_string(),
        });
        if let Some(sid) = &self.sid {
            claims["sid"] = json!(sid);
        }
        claims
    }
}

/// Signs a development token (HS256) for `claims`, valid for `ttl_secs` (negative: expired).
pub fn mint_dev_token(secret: &[u8], claims: &Claims, ttl_secs: i64) -> String {
    let now = now_secs();
    let mut body = claims.to_json();
    body["iss"] = json!(DEV_TOKEN_ISSUER);
    body["iat"] = json!(claims.iat);
    body["exp"] = json!(now + ttl_secs);
    shared::caller::install_jwt_provider();
    let token = jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &body,
        &EncodingKey::from_secret(secret),
    )
    .expect("HS256 signing cannot fail");
    // The signature is what makes the token a credential.
    crate::logs::register(token.rsplit('.').next().unwrap_or_default());
    token
}

/// API Gateway payload format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload {
    /// REST API (payload 1.0).
    V1,
    /// HTTP API (payload 2.0).
    V2,
}

/// Where the authorizer puts the claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimsShape {
    /// JWT authorizer (2.0: `authorizer.jwt.claims`; 1.0: `authorizer.claims`).
    Jwt,
    /// Lambda authorizer context (2.0: `authorizer.lambda`; 1.0: the authorizer's fields).
    Lambda,
}

/// An API Gateway proxy event for a route such as `/users/{user_id}/status`.
#[derive(Clone, Debug)]
pub struct Event {
    payload: Payload,
    method: String,
    route: String,
    path_parameters: Vec<(String, String)>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<String>,
    /// The body is base64 (API Gateway's encoding of bodies that are not valid text).
    base64: bool,
    claims: Option<Value>,
    shape: ClaimsShape,
    /// `requestContext.requestId`: a fresh UUID unless a test names one.
    request_id: String,
}

impl Event {
    pub fn new(payload: Payload, method: &str, route: &str) -> Self {
        Self {
            payload,
            method: method.to_owned(),
            route: route.to_owned(),
            path_parameters: Vec::new(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            base64: false,
            claims: None,
            shape: ClaimsShape::Jwt,
            request_id: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Sets API Gateway's request id, which changes record and events carry.
    pub fn request_id(mut self, id: &str) -> Self {
        self.request_id = id.to_owned();
        self
    }

    /// Sets `{user_id}` (any text: tests send invalid ones too).
    pub fn user_id(self, id: impl ToString) -> Self {
        self.path_parameter("user_id", &id.to_string())
    }

    pub fn path_parameter(mut self, name: &str, value: &str) -> Self {
        self.path_parameters
            .push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn query(mut self, name: &str, value: &str) -> Self {
        if name == "token" {
            crate::logs::register_token(value);
        }
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    pub fn claims(mut self, claims: &Claims) -> Self {
        self.claims = Some(claims.to_json());
        self
    }

    /// Claims of any shape, including malformed ones.
    pub fn raw_claims(mut self, claims: Value) -> Self {
        self.claims = Some(claims);
        self
    }

    pub fn claims_shape(mut self, shape: ClaimsShape) -> Self {
        self.shape = shape;
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    /// A JSON body; its passwords and tokens become secrets that no log may show.
    pub fn json(self, body: Value) -> Self {
        for field in ["password", "current_password"] {
            if let Some(password) = body.get(field).and_then(Value::as_str) {
                crate::logs::register(password);
            }
        }
        if let Some(token) = body.get("token").and_then(Value::as_str) {
            crate::logs::register_token(token);
        }
        self.body(&body.to_string(), Some("application/json"))
    }

    /// Raw bytes (invalid UTF-8 included), sent base64-encoded as API Gateway does.
    pub fn binary_body(mut self, bytes: &[u8], content_type: Option<&str>) -> Self {
        use base64ct::Encoding;
        self = self.body(&base64ct::Base64::encode_string(bytes), content_type);
        self.base64 = true;
        self
    }

    pub fn body(mut self, body: &str, content_type: Option<&str>) -> Self {
        self.body = Some(body.to_owned());
        if let Some(content_type) = content_type {
            self = self.header("content-type", content_type);
        }
        self
    }

    fn path(&self) -> String {
        self.path_parameters
            .iter()
            .fold(self.route.clone(), |path, (name, value)| {
                path.replace(&format!("{{{name}}}"), value)
            })
    }

    fn raw_query(&self) -> String {
        self.query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The event as API Gateway would send it.
    pub fn to_json(&self) -> Value {
        let path = self.path();
        let headers: serde_json::Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let path_parameters: serde_json::Map<String, Value> = self
            .path_parameters
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let query: serde_json::Map<String, Value> = self
            .query
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let nullable = |map: serde_json::Map<String, Value>| {
            if map.is_empty() {
                Value::Null
            } else {
                Value::Object(map)
            }
        };
        match self.payload {
            Payload::V2 => {
                let authorizer = match (&self.claims, self.shape) {
                    (None, _) => Value::Null,
                    (Some(claims), ClaimsShape::Jwt) => {
                        json!({"jwt": {"claims": claims, "scopes": null}})
                    }
                    (Some(claims), ClaimsShape::Lambda) => json!({"lambda": claims}),
                };
                let mut event = json!({
                    "version": "2.0",
                    "routeKey": format!("{} {}", self.method, self.route),
                    "rawPath": path,
                    "rawQueryString": self.raw_query(),
                    "headers": headers,
                    "requestContext": {
                        "accountId": "123456789012",
                        "apiId": "api1234567",
                        "domainName": "api1234567.execute-api.us-east-1.amazonaws.com",
                        "domainPrefix": "api1234567",
                        "http": {
                            "method": self.method,
                            "path": path,
                            "protocol": "HTTP/1.1",
                            "sourceIp": "192.0.2.1",
                            "userAgent": "integration-test"
                        },
                        "requestId": self.request_id,
                        "routeKey": format!("{} {}", self.method, self.route),
                        "stage": "$default",
                        "time": "22/Nov/2026:10:00:00 +0000",
                        "timeEpoch": 1_795_341_600_000_i64,
                        "authorizer": authorizer
                    },
                    "isBase64Encoded": self.base64
                });
                if !path_parameters.is_empty() {
                    event["pathParameters"] = Value::Object(path_parameters);
                }
                if !query.is_empty() {
                    event["queryStringParameters"] = Value::Object(query);
                }
                if let Some(body) = &self.body {
                    event["body"] = json!(body);
                }
                if self.claims.is_none() {
                    event["requestContext"]
                        .as_object_mut()
                        .map(|context| context.remove("authorizer"));
                }
                event
            }
            Payload::V1 => {
                let authorizer = match (&self.claims, self.shape) {
                    (None, _) => Value::Null,
                    (Some(claims), ClaimsShape::Jwt) => json!({"claims": claims}),
                    (Some(claims), ClaimsShape::Lambda) => {
                        let mut fields = claims.clone();
                        fields["principalId"] = claims["sub"].clone();
                        fields
                    }
                };
                let multi_headers: serde_json::Map<String, Value> = self
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), json!([v])))
                    .collect();
                let multi_query: serde_json::Map<String, Value> = self
                    .query
                    .iter()
                    .map(|(k, v)| (k.clone(), json!([v])))
                    .collect();
                let mut event = json!({
                    "resource": self.route,
                    "path": path,
                    "httpMethod": self.method,
                    "headers": headers,
                    "multiValueHeaders": multi_headers,
                    "queryStringParameters": nullable(query),
                    "multiValueQueryStringParameters": nullable(multi_query),
                    "pathParameters": nullable(path_parameters),
                    "stageVariables": null,
                    "requestContext": {
                        "accountId": "123456789012",
                        "resourceId": "abc123",
                        "stage": "prod",
                        "requestId": self.request_id,
                        "identity": {"sourceIp": "192.0.2.1", "userAgent": "integration-test"},
                        "resourcePath": self.route,
                        "httpMethod": self.method,
                        "apiId": "api1234567",
                        "path": format!("/prod{path}"),
                        "protocol": "HTTP/1.1",
                        "authorizer": authorizer
                    },
                    "body": self.body,
                    "isBase64Encoded": self.base64
                });
                if self.claims.is_none() {
                    event["requestContext"]
                        .as_object_mut()
                        .map(|context| context.remove("authorizer"));
                }
                event
            }
        }
    }

    /// The event turned into a `lambda_http::Request`, exactly as the runtime would.
    pub fn request(&self) -> Request {
        lambda_http::request::from_str(&self.to_json().to_string())
            .expect("lambda_http accepts the event")
    }
}

/// The JSON body of a response (problem+json included).
pub fn body_json(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap_or_else(|e| {
        panic!(
            "response body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(response.body().as_ref())
        )
    })
}

/// `PUT /users/{user_id}/email` to `email`, made for `version`.
pub fn email_change(
    payload: Payload,
    id: impl ToString,
    claims: &Claims,
    email: &str,
    version: u64,
) -> Event {
    Event::new(payload, "PUT", "/users/{user_id}/email")
        .user_id(id)
        .claims(claims)
        .json(json!({"contact": {"email": email}, "version": version}))
}

/// The `Retry-After` of a response, in seconds.
#[track_caller]
pub fn retry_after(response: &Response<Body>) -> u64 {
    response.headers()[http::header::RETRY_AFTER]
        .to_str()
        .ok()
        .and_then(|secs| secs.parse().ok())
        .expect("Retry-After in seconds")
}

/// Asserts a problem+json response with `status` whose `type` ends with `slug`, and returns
/// its body.
#[track_caller]
pub fn assert_problem(response: &Response<Body>, status: u16, slug: &str) -> Value {
    let body = body_json(response);
    assert_eq!(response.status().as_u16(), status, "status; body: {body}");
    assert_eq!(
        response.headers()[http::header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert_eq!(body["status"], status, "body status: {body}");
    let problem_type = body["type"].as_str().unwrap_or_default();
    assert!(
        problem_type.ends_with(&format!("/{slug}")),
        "type {problem_type:?} should end with {slug}; body: {body}"
    );
    body
}

/// Asserts that `outside` — the answer about a user outside the caller's subtree — is the
/// `404` of a missing user (`missing`), identical apart from `instance`.
#[track_caller]
pub fn assert_looks_missing(outside: &Response<Body>, missing: &Response<Body>) {
    let mut outside = assert_problem(outside, 404, "not-found");
    let mut missing = assert_problem(missing, 404, "not-found");
    for body in [&mut outside, &mut missing] {
        if let Some(fields) = body.as_object_mut() {
            fields.remove("instance");
        }
    }
    assert_eq!(outside, missing);
}
