#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run::<set_account_status::State>(env!("CARGO_PKG_NAME")).await
}
