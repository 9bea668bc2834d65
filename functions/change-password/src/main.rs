#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run::<change_password::State>(env!("CARGO_PKG_NAME")).await
}
