// Lambda sends an execution environment one event at a time: a runtime on this thread does
// all the work, without the worker threads whose start was the largest part of the cold
// start beyond the hello world's (README, Benchmarks). Hashing still runs on a blocking thread.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run::<change_email::State>(env!("CARGO_PKG_NAME")).await
}
