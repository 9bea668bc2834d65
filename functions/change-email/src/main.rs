use lambda_http::Error;
use shared::config::{Env, ProcessEnv};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::runtime::init_tracing();
    let config = change_email::Config::load(&Env::new(&ProcessEnv))
        .inspect_err(|e| tracing::error!("{e}"))?;
    let state = change_email::State::connect(&config)
        .await
        .inspect_err(|e| tracing::error!("{e}"))?;
    shared::runtime::serve(state, change_email::handle).await
}
