use lambda_http::Error;
use shared::CoreConfig;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::runtime::init_tracing();
    let config = CoreConfig::from_env().inspect_err(|e| tracing::error!("{e}"))?;
    let state = get_user::State::connect(&config).inspect_err(|e| tracing::error!("{e}"))?;
    shared::runtime::serve(state, get_user::handle).await
}
