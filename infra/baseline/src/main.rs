//! The smallest useful `lambda_http` function, started as the account functions start:
//! a current-thread runtime (docs/performance.md, "Single-threaded runtime"), the same
//! release profile and build script. What every function is compared with in `benchmark
//! run` (cold start, size, memory). It must stay this small.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_: Request| async {
        Ok::<_, std::convert::Infallible>(Response::new(Body::from("hello")))
    }))
    .await
}
