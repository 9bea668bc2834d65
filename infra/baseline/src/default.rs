//! The same hello world on Tokio's default (multi-threaded) runtime, as `lambda_http`'s
//! examples start: an informative row of the benchmark, never a target's reference.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_: Request| async {
        Ok::<_, std::convert::Infallible>(Response::new(Body::from("hello")))
    }))
    .await
}
