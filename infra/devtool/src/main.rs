//! Local stack helper.
//!
//!   devtool create-table <table>              create the table from template.yaml (if absent)
//!   devtool seed <table> <seed.json>          write the demo tenants and users
//!   devtool tokens <seed.json> <base-url>     print development tokens and curl lines
//!   devtool follow-stream <table> <invoke-url>
//!                                             hand the table's stream to account-events
//!   devtool follow-bus <events-dir> <functions-url>
//!                                             deliver the local bus's events by the template's rules
//!   devtool api-gateway <port> <functions-url>
//!                                             serve the template's HTTP API routes
//!
//! DynamoDB is reached at `DYNAMODB_ENDPOINT`; tokens are signed with `DEV_AUTH_SECRET`.
//! The benchmark and the replay of built bootstraps are `infra/benchmark`'s.

mod bus;
mod follow;
mod gateway;

use std::process::ExitCode;

use shared::Store;
use testkit::FromTemplate;
use testkit::{
    DemoSeed, RequestCounter, TableDefinition, local_client, local_endpoint, mint_dev_token,
};

/// Development tokens live for half a day: long enough for a working session.
const TOKEN_TTL_SECS: i64 = 12 * 60 * 60;

fn store(table: &str) -> Store {
    Store::new(
        local_client(&local_endpoint(), &RequestCounter::default()),
        table,
    )
}

async fn create_table(table: &str) -> Result<(), String> {
    let store = store(table);
    let existing = store
        .client()
        .list_tables()
        .send()
        .await
        .map_err(|e| format!("ListTables: {}", aws_error(&e)))?;
    if existing.table_names().iter().any(|name| name == table) {
        println!("table {table} exists");
        return Ok(());
    }
    TableDefinition::from_repository()?
        .create(store.client(), table)
        .await?;
    println!("created table {table} from template.yaml");
    Ok(())
}

async fn seed(table: &str, seed_path: &str) -> Result<(), String> {
    let seed = load(seed_path)?;
    seed.write(&store(table)).await?;
    println!(
        "seeded {} tenants and {} users into {table}",
        seed.tenants.len(),
        seed.users.len()
    );
    Ok(())
}

fn load(path: &str) -> Result<DemoSeed, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    DemoSeed::parse(&text).map_err(|e| format!("{path}: {e}"))
}

fn tokens(seed_path: &str, base_url: &str) -> Result<(), String> {
    let seed = load(seed_path)?;
    let secret = std::env::var("DEV_AUTH_SECRET").map_err(|_| "DEV_AUTH_SECRET is not set")?;
    let john = seed
        .users
        .iter()
        .find(|u| u.name == "john")
        .map(|u| u.id.to_string())
        .unwrap_or_default();
    println!(
        "# Development tokens (valid {} h). Paste the exports into your shell:",
        TOKEN_TTL_SECS / 3600
    );
    let principals = seed.principals();
    for (name, claims, what) in &principals {
        let variable = format!("TOKEN_{}", name.to_uppercase().replace('-', "_"));
        let token = mint_dev_token(secret.as_bytes(), claims, TOKEN_TTL_SECS);
        let scope = if claims.scope.is_empty() {
            "no scopes"
        } else {
            &claims.scope
        };
        println!("# {what}, tenant {}, {scope}", claims.tenant_id);
        println!("export {variable}={token}");
    }
    println!("# Every demo user's password: {:?}", seed.demo_password);
    println!();
    println!("# Try (after sourcing the exports):");
    println!("#   curl -s {base_url}/users/{john} -H \"Authorization: Bearer $TOKEN_JOHN\"");
    println!(
        "#   curl -s {base_url}/users/{john} -H \"Authorization: Bearer $TOKEN_PARTNER_CLIENT\""
    );
    println!(
        "#   curl -s -X PUT {base_url}/users/{john}/status -H \"Authorization: Bearer $TOKEN_PARTNER_CLIENT\" \
         -H 'Content-Type: application/json' -d '{{\"enabled\": false, \"version\": 1}}'"
    );
    Ok(())
}

fn aws_error(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["create-table", table] => create_table(table).await,
        ["seed", table, seed_path] => seed(table, seed_path).await,
        ["tokens", seed_path, base_url] => tokens(seed_path, base_url),
        ["follow-stream", table, invoke_url] => follow::follow(table, invoke_url).await,
        ["follow-bus", events_dir, invoke_base] => bus::follow(events_dir, invoke_base).await,
        ["api-gateway", port, functions_url] => gateway::serve(port, functions_url).await,
        _ => Err(
            "usage: devtool create-table <table> | seed <table> <seed.json> | \
                  tokens <seed.json> <base-url> | follow-stream <table> <invoke-url> | \
                  follow-bus <events-dir> <functions-url> | api-gateway <port> <functions-url>"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("devtool: {e}");
            ExitCode::FAILURE
        }
    }
}
