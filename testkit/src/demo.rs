//! The demo data set of `infra/seed.json`: the local stack seeds it, and the event-file
//! tests run against it.

use std::collections::HashMap;

use serde::Deserialize;

use shared::ids::{TenantId, UserId};
use shared::store::Store;
use shared::tenant::TenantPath;
use shared::user::UserItem;

use crate::events::Claims;
use crate::fixtures::{hash_password, new_user, put_tenant, put_user};

/// `infra/seed.json`.
pub const DEMO_SEED: &str = include_str!("../../infra/seed.json");

#[derive(Debug, Deserialize)]
pub struct DemoSeed {
    /// The password of every demo user.
    pub demo_password: String,
    pub tenants: Vec<DemoTenant>,
    pub users: Vec<DemoUser>,
    pub clients: Vec<DemoClient>,
}

#[derive(Debug, Deserialize)]
pub struct DemoTenant {
    pub id: TenantId,
    pub name: String,
    pub parent: Option<TenantId>,
}

#[derive(Debug, Deserialize)]
pub struct DemoUser {
    pub name: String,
    pub id: UserId,
    pub login: String,
    pub tenant: TenantId,
    pub email: String,
    pub firstname: String,
    pub lastname: String,
    pub activated: bool,
    pub enabled: bool,
    /// Its mails' language (BCP 47); English when not given.
    #[serde(default = "english")]
    pub language: String,
    pub scope: String,
}

fn english() -> String {
    "en".to_owned()
}

#[derive(Debug, Deserialize)]
pub struct DemoClient {
    pub name: String,
    pub id: String,
    pub tenant: TenantId,
    pub scope: String,
}

impl DemoSeed {
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("seed: {e}"))
    }

    /// The repository's demo data.
    pub fn repository() -> Self {
        Self::parse(DEMO_SEED).expect("infra/seed.json is valid")
    }

    /// Each tenant's ancestry, resolved from the parent links (parents listed first).
    pub fn tenant_paths(&self) -> Result<HashMap<TenantId, TenantPath>, String> {
        let mut paths: HashMap<TenantId, TenantPath> = HashMap::new();
        for tenant in &self.tenants {
            let path = match tenant.parent {
                None => TenantPath::root(tenant.id),
                Some(parent) => paths
                    .get(&parent)
                    .ok_or_else(|| format!("tenant {} is listed before its parent", tenant.name))?
                    .child(tenant.id),
            };
            paths.insert(tenant.id, path);
        }
        Ok(paths)
    }

    /// Writes the tenants and users; users that exist already are left as they are.
    pub async fn write(&self, store: &Store) -> Result<(), String> {
        let paths = self.tenant_paths()?;
        let password_hash = hash_password(&self.demo_password);
        for tenant in &self.tenants {
            put_tenant(store, &paths[&tenant.id], &tenant.name).await?;
        }
        for user in &self.users {
            let path = paths
                .get(&user.tenant)
                .ok_or_else(|| format!("user {} has an unknown tenant", user.login))?;
            let mut record = new_user(user.id, &user.login, &user.email, path);
            record.contact.firstname = user.firstname.clone();
            record.contact.lastname = user.lastname.clone();
            record.activated = user.activated;
            record.enabled = user.enabled;
            record.language = user.language.clone();
            let mut item = UserItem::new(record, path.clone());
            item.password_hash = Some(password_hash.clone());
            match put_user(store, &item).await {
                Ok(()) => {}
                Err(e) if e.contains("ConditionalCheckFailed") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Every demo principal: its name, claims and a description.
    pub fn principals(&self) -> Vec<(String, Claims, String)> {
        let users = self.users.iter().map(|user| {
            let claims = Claims::user(user.id, user.tenant, &user.scope);
            (user.name.clone(), claims, format!("user {}", user.login))
        });
        let clients = self.clients.iter().map(|client| {
            let claims = Claims::client(&client.id, client.tenant, &client.scope);
            (
                client.name.clone(),
                claims,
                format!("API client {}", client.id),
            )
        });
        users.chain(clients).collect()
    }
}

/// `tests/events/expected.json`: the function each event file is for and the status it
/// must get, in the order the events run against freshly seeded demo data.
#[derive(Debug, Deserialize)]
pub struct EventManifest {
    pub events: Vec<ExpectedEvent>,
}

#[derive(Debug, Deserialize)]
pub struct ExpectedEvent {
    pub event: String,
    pub function: String,
    /// What an HTTP function answers: the response's `statusCode`.
    #[serde(default)]
    pub status: Option<u16>,
    /// What the stream function answers: how many `batchItemFailures`.
    #[serde(default)]
    pub batch_item_failures: Option<usize>,
    pub what: String,
}

impl ExpectedEvent {
    /// What the function should answer, in words.
    pub fn expected(&self) -> String {
        match (self.status, self.batch_item_failures) {
            (Some(status), _) => format!("status {status}"),
            (None, Some(failures)) => format!("{failures} batch item failure(s)"),
            (None, None) => "nothing (expected.json names neither)".into(),
        }
    }

    /// What a function's `response` (its whole JSON answer) got, in the same words, and
    /// whether that is what was expected.
    pub fn verdict(&self, response: &serde_json::Value) -> (bool, String) {
        match (self.status, self.batch_item_failures) {
            (Some(status), None) => {
                let got = response["statusCode"].as_u64();
                (got == Some(u64::from(status)), format!("status {got:?}"))
            }
            (None, Some(failures)) => {
                let got = response["batchItemFailures"].as_array().map(Vec::len);
                (
                    got == Some(failures),
                    format!("{got:?} batch item failure(s)"),
                )
            }
            _ => (false, "a case that names both or neither".into()),
        }
    }
}

impl EventManifest {
    /// Reads `expected.json` of an events directory.
    pub fn load(events_dir: &std::path::Path) -> Result<Self, String> {
        let path = events_dir.join("expected.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}
