use lambda_http::Error;
use shared::config::{Env, ProcessEnv};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::runtime::init_tracing();
    let config = change_password::Config::load(&Env::new(&ProcessEnv))
        .inspect_err(|e| tracing::error!("{e}"))?;
    let state = change_password::State::connect(&config).await?;
    shared::runtime::serve(state, change_password::handle).await
}
