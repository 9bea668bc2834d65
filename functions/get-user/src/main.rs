use get_user::{Config, State, handle};
use lambda_http::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::runtime::init_tracing()?;
    let state = Config::from_env()
        .and_then(|config| State::connect(&config))
        .inspect_err(|e| tracing::error!("{e}"))?;
    shared::runtime::serve(state, handle).await
}
