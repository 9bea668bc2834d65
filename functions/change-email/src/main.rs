#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run::<change_email::State>(env!("CARGO_PKG_NAME")).await
}
