// Lambda sends an execution environment one event at a time: a runtime on this thread does
// all the work without starting worker threads, which cost the cold start more than anything
// else in it (docs/benchmarks.md). Password hashing still runs on a blocking thread.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run::<confirm_email::State>(env!("CARGO_PKG_NAME")).await
}
