#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run::<get_user::State>().await
}
