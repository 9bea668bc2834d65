//! The local stand-in for the HTTP API in front of the functions (`devtool api-gateway`):
//! the routes of `template.yaml`, each request turned into the payload 2.0 event that API
//! Gateway sends, and the function's answer turned back into HTTP.
//!
//! `cargo lambda watch` has an HTTP front of its own, but it answers a body that is not
//! UTF-8 with its own `500 text/plain` before any function runs. API Gateway base64-encodes
//! such a body, so the function answers it (a problem+json `400`); this front does the same.

use std::collections::BTreeMap;

use base64ct::{Base64, Encoding};
use serde_json::{Map, Value, json};

use crate::table::FromTemplate;

/// The largest request body the HTTP API takes (10 MB); larger ones get its `413`.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// One route of the HTTP API: `GET /users/{user_id}` → `get-user`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
    /// The function's binary (`BuildProperties.Binary`), the name `cargo lambda watch` knows.
    pub function: String,
}

impl Route {
    /// API Gateway's `routeKey`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The path parameters when `path` is this route's, else `None`.
    fn parameters(&self, path: &str) -> Option<BTreeMap<String, String>> {
        let pattern: Vec<&str> = self.path.split('/').collect();
        let actual: Vec<&str> = path.split('/').collect();
        if pattern.len() != actual.len() {
            return None;
        }
        let mut parameters = BTreeMap::new();
        for (expected, segment) in pattern.iter().zip(&actual) {
            match expected.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) if !segment.is_empty() => {
                    parameters.insert(name.to_owned(), (*segment).to_owned());
                }
                Some(_) => return None,
                None if expected == segment => {}
                None => return None,
            }
        }
        Some(parameters)
    }
}

/// The routes of every function's `HttpApi` events in `template.yaml`.
#[derive(Clone, Debug)]
pub struct Routes(Vec<Route>);

impl FromTemplate for Routes {
    fn from_template(doc: &serde_norway::Value) -> Result<Self, String> {
        let resources = doc["Resources"]
            .as_mapping()
            .ok_or("template.yaml has no Resources")?;
        let mut routes = Vec::new();
        for resource in resources.values() {
            if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
                continue;
            }
            let Some(events) = resource["Properties"]["Events"].as_mapping() else {
                continue;
            };
            for event in events.values() {
                if event["Type"].as_str() != Some("HttpApi") {
                    continue;
                }
                let field = |name: &str| {
                    event["Properties"][name]
                        .as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("an HttpApi event without {name}"))
                };
                let function = resource["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .ok_or("a function with an HttpApi event but no BuildProperties.Binary")?;
                routes.push(Route {
                    method: field("Method")?.to_ascii_uppercase(),
                    path: field("Path")?,
                    function: function.to_owned(),
                });
            }
        }
        if routes.is_empty() {
            return Err("template.yaml declares no HttpApi route".into());
        }
        Ok(Self(routes))
    }
}

impl Routes {
    pub fn all(&self) -> &[Route] {
        &self.0
    }

    /// The route of `method` and `path`, with its path parameters. HTTP APIs answer any
    /// other request `404 {"message":"Not Found"}` themselves, wrong method included.
    pub fn find(&self, method: &str, path: &str) -> Option<(&Route, BTreeMap<String, String>)> {
        self.0.iter().find_map(|route| {
            (route.method == method)
                .then(|| route.parameters(path))
                .flatten()
                .map(|parameters| (route, parameters))
        })
    }
}

/// What API Gateway knows of a request when it invokes the function.
#[derive(Clone, Debug)]
pub struct Incoming<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// Names lower-cased, in arrival order; a name may come more than once.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: &'a [u8],
    pub request_id: &'a str,
    pub source_ip: &'a str,
    pub epoch_millis: i64,
}

/// The payload 2.0 event of `request` on `route`: duplicate headers and query parameters
/// joined with commas, cookies apart, and the body as text only when it is declared text and
/// is UTF-8; any other body is base64-encoded, as API Gateway does.
pub fn event(route: &Route, parameters: &BTreeMap<String, String>, request: &Incoming) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &request.headers {
        // Header values that are not UTF-8 are read as Latin-1, like every HTTP/1 stack.
        let value: String = match std::str::from_utf8(value) {
            Ok(text) => text.to_owned(),
            Err(_) => value.iter().map(|&b| char::from(b)).collect(),
        };
        if name == "cookie" {
            cookies.extend(value.split(';').map(|c| c.trim().to_owned()));
            continue;
        }
        match headers.get_mut(name) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => {
                headers.insert(name.clone(), Value::String(value));
            }
        }
    }
    let mut query = Map::new();
    for (name, value) in form_urlencoded::parse(request.query.unwrap_or_default().as_bytes()) {
        match query.get_mut(name.as_ref()) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => {
                query.insert(name.into_owned(), Value::String(value.into_owned()));
            }
        }
    }
    let text = is_text(headers.get("content-type").and_then(Value::as_str));
    let (body, base64) = match std::str::from_utf8(request.body) {
        _ if request.body.is_empty() => (Value::Null, false),
        Ok(body) if text => (Value::String(body.to_owned()), false),
        _ => (Value::String(Base64::encode_string(request.body)), true),
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.key(),
        "rawPath": request.path,
        "rawQueryString": request.query.unwrap_or_default(),
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent").cloned().unwrap_or(Value::from("")),
            },
            "requestId": request.request_id,
            "routeKey": route.key(),
            "stage": "$default",
            "time": time_of(request.epoch_millis),
            "timeEpoch": request.epoch_millis,
        },
        "isBase64Encoded": base64,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !parameters.is_empty() {
        event["pathParameters"] = json!(parameters);
    }
    if !body.is_null() {
        event["body"] = body;
    }
    event
}

/// The content types whose bodies HTTP APIs pass as text (when they are UTF-8).
fn is_text(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return true;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/") || essence == "application/json" || essence.ends_with("+json")
}

/// `24/Nov/2026:10:00:00 +0000`, API Gateway's `requestContext.time`.
fn time_of(epoch_millis: i64) -> String {
    let format = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    );
    time::OffsetDateTime::from_unix_timestamp(epoch_millis.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// An HTTP answer of the front: status, headers (a name may repeat) and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// API Gateway's own JSON answers: `{"message":"Not Found"}` and the like.
    pub fn gateway(status: u16, message: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: json!({ "message": message }).to_string().into_bytes(),
        }
    }

    /// The function's payload 2.0 response (`statusCode`, `headers`, `multiValueHeaders`,
    /// `cookies`, `body`, `isBase64Encoded`) as HTTP. A response API Gateway could not read
    /// is its `500`.
    pub fn from_function(response: &[u8]) -> Self {
        Self::parse(response).unwrap_or_else(|| Self::gateway(500, "Internal Server Error"))
    }

    fn parse(response: &[u8]) -> Option<Self> {
        let response: Value = serde_json::from_slice(response).ok()?;
        let status = u16::try_from(response.get("statusCode")?.as_u64()?).ok()?;
        let mut headers = Vec::new();
        if let Some(map) = response.get("headers").and_then(Value::as_object) {
            for (name, value) in map {
                headers.push((name.clone(), value.as_str()?.to_owned()));
            }
        }
        if let Some(map) = response.get("multiValueHeaders").and_then(Value::as_object) {
            for (name, values) in map {
                if headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                    continue;
                }
                for value in values.as_array()? {
                    headers.push((name.clone(), value.as_str()?.to_owned()));
                }
            }
        }
        for cookie in response
            .get("cookies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            headers.push(("set-cookie".into(), cookie.as_str()?.to_owned()));
        }
        let body = match response.get("body").and_then(Value::as_str) {
            None => Vec::new(),
            Some(body) if response["isBase64Encoded"] == json!(true) => {
                Base64::decode_vec(body).ok()?
            }
            Some(body) => body.as_bytes().to_vec(),
        };
        Some(Self {
            status,
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming<'a>(
        method: &'a str,
        path: &'a str,
        headers: &[(&str, &[u8])],
        body: &'a [u8],
    ) -> Incoming<'a> {
        Incoming {
            method,
            path,
            query: None,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.to_vec()))
                .collect(),
            body,
            request_id: "req-1",
            source_ip: "127.0.0.1",
            epoch_millis: 1_795_500_000_123,
        }
    }

    #[test]
    fn the_routes_are_the_templates() {
        let routes = Routes::from_repository().unwrap();
        let keys: Vec<(String, &str)> = routes
            .all()
            .iter()
            .map(|r| (r.key(), r.function.as_str()))
            .collect();
        for expected in [
            ("GET /users/{user_id}".to_owned(), "get-user"),
            (
                "PUT /users/{user_id}/status".to_owned(),
                "set-account-status",
            ),
            (
                "POST /users/{user_id}/password".to_owned(),
                "change-password",
            ),
            ("PUT /users/{user_id}/email".to_owned(), "change-email"),
            (
                "GET /users/{user_id}/email/confirmation".to_owned(),
                "confirm-email",
            ),
            (
                "POST /users/{user_id}/email/confirmation".to_owned(),
                "confirm-email",
            ),
        ] {
            assert!(keys.contains(&expected), "{expected:?} in {keys:?}");
        }
        assert_eq!(keys.len(), 6);

        let (route, parameters) = routes.find("PUT", "/users/abc/status").unwrap();
        assert_eq!(route.function, "set-account-status");
        assert_eq!(parameters["user_id"], "abc");
        assert!(routes.find("GET", "/users/abc/status").is_none());
        assert!(routes.find("GET", "/users//").is_none());
        assert!(routes.find("GET", "/users/").is_none());
        assert!(routes.find("GET", "/users/a/b").is_none());
    }

    #[test]
    fn a_body_that_is_not_utf8_is_base64_encoded() {
        let routes = Routes::from_repository().unwrap();
        let (route, parameters) = routes.find("POST", "/users/u1/password").unwrap();
        let bytes = b"\x1e\xff\xfe";
        let event = event(
            route,
            &parameters,
            &incoming(
                "POST",
                "/users/u1/password",
                &[("content-type", b"application/json")],
                bytes,
            ),
        );
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["body"], Base64::encode_string(bytes));
        assert_eq!(event["routeKey"], "POST /users/{user_id}/password");
        assert_eq!(event["pathParameters"]["user_id"], "u1");
        assert_eq!(event["requestContext"]["requestId"], "req-1");

        // lambda_http reads it as the function will see it in AWS.
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(request.body().as_ref(), bytes);
    }

    #[test]
    fn text_stays_text_and_duplicates_are_joined() {
        let routes = Routes::from_repository().unwrap();
        let (route, parameters) = routes.find("PUT", "/users/u1/email").unwrap();
        let mut request = incoming(
            "PUT",
            "/users/u1/email",
            &[
                ("content-type", b"application/json; charset=utf-8"),
                ("x-many", b"a"),
                ("x-many", b"b"),
                ("cookie", b"a=1; b=2"),
            ],
            "{\"é\":1}".as_bytes(),
        );
        request.query = Some("t=a%2Bb&t=c&u=");
        let event = event(route, &parameters, &request);
        assert_eq!(event["isBase64Encoded"], false);
        assert_eq!(event["body"], "{\"é\":1}");
        assert_eq!(event["headers"]["x-many"], "a,b");
        assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
        assert!(event["headers"].get("cookie").is_none());
        assert_eq!(
            event["queryStringParameters"],
            json!({ "t": "a+b,c", "u": "" })
        );
        assert_eq!(
            event["requestContext"]["time"],
            "24/Nov/2026:06:00:00 +0000"
        );

        // A form is not text to API Gateway: base64, as the function gets it in AWS.
        let form = incoming(
            "PUT",
            "/users/u1/email",
            &[("content-type", b"application/x-www-form-urlencoded")],
            b"token=x",
        );
        assert_eq!(
            super::event(route, &parameters, &form)["isBase64Encoded"],
            true
        );
    }

    #[test]
    fn function_answers_become_http() {
        let answer = Answer::from_function(
            br#"{"statusCode":409,"headers":{"content-type":"application/problem+json"},
                "multiValueHeaders":{"content-type":["ignored"],"vary":["a","b"]},
                "cookies":["c=1"],"body":"e30=","isBase64Encoded":true}"#,
        );
        assert_eq!(answer.status, 409);
        assert_eq!(answer.body, b"{}");
        assert_eq!(
            answer.headers,
            vec![
                (
                    "content-type".to_owned(),
                    "application/problem+json".to_owned()
                ),
                ("vary".to_owned(), "a".to_owned()),
                ("vary".to_owned(), "b".to_owned()),
                ("set-cookie".to_owned(), "c=1".to_owned()),
            ]
        );
        let broken = Answer::from_function(b"not json");
        assert_eq!(broken.status, 500);
        assert_eq!(broken.body, br#"{"message":"Internal Server Error"}"#);
    }
}
