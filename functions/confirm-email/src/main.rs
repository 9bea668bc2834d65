#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run::<confirm_email::State>().await
}
