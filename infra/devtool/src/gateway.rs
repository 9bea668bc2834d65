//! `devtool api-gateway <port> <functions-url>`: the HTTP API of `template.yaml`, locally.
//! Serves the template's routes on `127.0.0.1:<port>` and invokes each route's function
//! through `cargo lambda watch`'s invoke API (`<functions-url>/2015-03-31/functions/…`) with
//! the payload 2.0 event API Gateway would send (`testkit::gateway`). Answers what API
//! Gateway answers itself: `404` for other routes, `413` over 10 MB, `500` when the function
//! fails, `503` after the 30 s integration timeout.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming as Body};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use testkit::FromTemplate;
use testkit::gateway::{Answer, Incoming, MAX_BODY_BYTES, Routes, event};

/// HTTP APIs wait at most 30 s for an integration.
const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);

struct Front {
    routes: Routes,
    functions_url: String,
    http: reqwest::Client,
}

pub async fn serve(port: &str, functions_url: &str) -> Result<(), String> {
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{port:?} is not a port"))?;
    let routes = Routes::from_repository()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("127.0.0.1:{port}: {e}"))?;
    for route in routes.all() {
        eprintln!("==> {} → {}", route.key(), route.function);
    }
    let http = reqwest::Client::builder()
        .timeout(INTEGRATION_TIMEOUT)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let front = Arc::new(Front {
        routes,
        functions_url: functions_url.trim_end_matches('/').to_owned(),
        http,
    });
    eprintln!("==> API Gateway stand-in on http://127.0.0.1:{port}");
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(connection) => connection,
            Err(e) => {
                eprintln!("==> accept: {e}");
                continue;
            }
        };
        let front = Arc::clone(&front);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let front = Arc::clone(&front);
                async move { Ok::<_, Infallible>(front.answer(request, peer).await) }
            });
            // A client that goes away mid-request is not the stack's problem.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

impl Front {
    async fn answer(&self, request: Request<Body>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let started = Instant::now();
        let method = request.method().as_str().to_owned();
        let path = request.uri().path().to_owned();
        let (answer, function) = self.route(request, peer).await;
        // The path only: a confirmation token travels in the query.
        eprintln!(
            "==> {method} {path} → {} {} ({} ms)",
            function.unwrap_or("gateway"),
            answer.status,
            started.elapsed().as_millis()
        );
        let mut response = Response::builder().status(answer.status);
        for (name, value) in &answer.headers {
            response = response.header(name, value);
        }
        response
            .body(Full::new(Bytes::from(answer.body)))
            .unwrap_or_else(|_| {
                let mut fallback = Response::new(Full::new(Bytes::from_static(
                    br#"{"message":"Internal Server Error"}"#,
                )));
                *fallback.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                fallback
            })
    }

    async fn route(&self, request: Request<Body>, peer: SocketAddr) -> (Answer, Option<&str>) {
        let (parts, body) = request.into_parts();
        let Some((route, parameters)) = self.routes.find(parts.method.as_str(), parts.uri.path())
        else {
            return (Answer::gateway(404, "Not Found"), None);
        };
        let function = Some(route.function.as_str());
        let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => return (Answer::gateway(413, "Request Entity Too Large"), function),
        };
        let epoch_millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or_default();
        let request_id = uuid::Uuid::new_v4().to_string();
        let source_ip = peer.ip().to_string();
        let incoming = Incoming {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query(),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
                .collect(),
            body: &body,
            request_id: &request_id,
            source_ip: &source_ip,
            epoch_millis,
        };
        let event = event(route, &parameters, &incoming);
        let url = format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.functions_url, route.function
        );
        let answer = match self.http.post(&url).json(&event).send().await {
            Ok(response) if response.status().is_success() => match response.bytes().await {
                Ok(bytes) => Answer::from_function(&bytes),
                Err(_) => Answer::gateway(500, "Internal Server Error"),
            },
            // The function failed (Lambda's invocation error): API Gateway's 500.
            Ok(_) => Answer::gateway(500, "Internal Server Error"),
            Err(e) if e.is_timeout() => Answer::gateway(503, "Service Unavailable"),
            Err(_) => Answer::gateway(500, "Internal Server Error"),
        };
        (answer, function)
    }
}
