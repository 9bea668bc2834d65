// One event at a time: no worker threads to start (docs/performance.md, "Single-threaded runtime").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    send_notices::run(env!("CARGO_PKG_NAME")).await
}
