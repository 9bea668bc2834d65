#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    account_events::run().await
}
