#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run::<get_user::State>(env!("CARGO_PKG_NAME")).await
}
