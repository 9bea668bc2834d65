use lambda_http::Error;
use shared::CoreConfig;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::runtime::init_tracing();
    let config = CoreConfig::from_env().inspect_err(|e| tracing::error!("{e}"))?;
    let state =
        set_account_status::State::connect(&config).inspect_err(|e| tracing::error!("{e}"))?;
    shared::runtime::serve(state, set_account_status::handle).await
}
