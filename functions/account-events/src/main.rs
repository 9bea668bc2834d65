#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    account_events::run(env!("CARGO_PKG_NAME")).await
}
