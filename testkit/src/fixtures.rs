//! Users and tenants written straight to the table, for tests and the demo seed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use aws_sdk_dynamodb::types::AttributeValue;

use shared::caller::Scopes;
use shared::email::EmailConfig;
use shared::ids::{TenantId, UserId, Version};
use shared::limit::SlidingLimit;
use shared::mail::Mailer;
use shared::password::{Argon2Config, Hasher, Password, PasswordHashString};
use shared::store::Store;
use shared::tenant::TenantPath;
use shared::user::{Contact, User, UserItem};
use shared::{AuthMode, Authenticator, Core};

use crate::events::Claims;
use crate::table::{TestTable, failure};

/// A user as the platform creates one: activated, enabled, version 1.
pub fn new_user(id: UserId, login: &str, email: &str, path: &TenantPath) -> User {
    let now = shared::Now::current().timestamp;
    User {
        id,
        login: login.to_owned(),
        tenant_id: path.tenant(),
        contact: Contact {
            email: email.to_owned(),
            firstname: login.to_owned(),
            lastname: "Doe".to_owned(),
            ..Contact::default()
        },
        activated: true,
        enabled: true,
        language: "en".to_owned(),
        mfa_status: "disabled".to_owned(),
        notifications: vec![
            "quota".into(),
            "reports".into(),
            "backup_daily_report".into(),
        ],
        business_types: Vec::new(),
        idp_id: None,
        personal_tenant_id: None,
        terms_accepted: false,
        created_at: now.clone(),
        updated_at: now,
        version: Version::FIRST,
    }
}

/// An Argon2id hash of `password` with the default parameters.
pub fn hash_password(password: &str) -> PasswordHashString {
    let password = Password::normalize(password).expect("a password of at most 1 KiB");
    Hasher::new(Argon2Config::default())
        .and_then(|hasher| hasher.hash_blocking(&password).map_err(|e| e.to_string()))
        .expect("hashing")
}

/// Writes a user item; refuses to overwrite one.
pub async fn put_user(store: &Store, item: &UserItem) -> Result<(), String> {
    let attributes = serde_dynamo::to_item(item).map_err(|e| e.to_string())?;
    store
        .client()
        .put_item()
        .table_name(store.table())
        .set_item(Some(attributes))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map_err(|e| failure(format_args!("PutItem {}", item.pk), e))?;
    Ok(())
}

/// Writes a tenant item (`TENANT#<id>`) with its name and ancestry.
pub async fn put_tenant(store: &Store, path: &TenantPath, name: &str) -> Result<(), String> {
    let ancestry = path
        .ids()
        .iter()
        .map(|id| AttributeValue::S(id.to_string()))
        .collect();
    let mut request = store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S(format!("TENANT#{}", path.tenant())))
        .item("id", AttributeValue::S(path.tenant().to_string()))
        .item("name", AttributeValue::S(name.to_owned()))
        .item("tenant_path", AttributeValue::L(ancestry));
    if let [.., parent, _] = path.ids() {
        request = request.item("parent_id", AttributeValue::S(parent.to_string()));
    }
    request
        .send()
        .await
        .map_err(|e| failure("PutItem tenant", e))?;
    Ok(())
}

/// A test table with a tenant tree: `partner → customer → sub_customer`, and a second
/// partner beside the first.
pub struct Fixture {
    pub table: TestTable,
    pub partner: TenantPath,
    pub customer: TenantPath,
    pub sub_customer: TenantPath,
    pub other_partner: TenantPath,
    /// Each user item as the fixture last wrote it, whole: what [`Self::assert_unchanged`]
    /// compares with.
    written: Mutex<HashMap<UserId, UserItem>>,
}

impl Fixture {
    pub async fn new() -> Self {
        let table = TestTable::new().await;
        let partner = TenantPath::root(TenantId::new_random());
        let customer = partner.child(TenantId::new_random());
        let sub_customer = customer.child(TenantId::new_random());
        let other_partner = TenantPath::root(TenantId::new_random());
        for (path, name) in [
            (&partner, "Partner"),
            (&customer, "Customer"),
            (&sub_customer, "Sub-customer"),
            (&other_partner, "Other partner"),
        ] {
            put_tenant(&table.store, path, name).await.expect("tenant");
        }
        table.counter.reset();
        crate::logs::capture();
        Self {
            table,
            partner,
            customer,
            sub_customer,
            other_partner,
            written: Mutex::new(HashMap::new()),
        }
    }

    /// A fixture and a function built on it: where a handler test starts.
    pub async fn with<F>(function: impl FnOnce(&Fixture) -> F) -> (Fixture, F) {
        let fixture = Fixture::new().await;
        let function = function(&fixture);
        (fixture, function)
    }

    /// A fixture, a function built on it, and a user of the customer tenant ([`Self::user`]).
    pub async fn with_user<F>(function: impl FnOnce(&Fixture) -> F) -> (Fixture, F, User) {
        let (fixture, function) = Self::with(function).await;
        let user = fixture.user(&fixture.customer).await;
        (fixture, function, user)
    }

    /// A fixture, a fresh mail directory, and a function built on both.
    pub async fn with_mail<F>(
        function: impl FnOnce(&Fixture, &Path) -> F,
    ) -> (Fixture, PathBuf, F) {
        let dir = crate::mail_dir();
        let (fixture, function) = Self::with(|fixture| function(fixture, &dir)).await;
        (fixture, dir, function)
    }

    /// As [`Self::with_mail`], and a user of the customer tenant: where a test of the email
    /// change starts.
    pub async fn with_mail_user<F>(
        function: impl FnOnce(&Fixture, &Path) -> F,
    ) -> (Fixture, PathBuf, F, User) {
        let (fixture, dir, function) = Self::with_mail(function).await;
        let user = fixture.user(&fixture.customer).await;
        (fixture, dir, function, user)
    }

    /// What change-email is made of in a test: this fixture's core, the email settings
    /// with `confirmation_mails` as the limit, and mail written into `dir`.
    pub fn email_parts(
        &self,
        dir: &Path,
        confirmation_mails: SlidingLimit,
    ) -> (Core, EmailConfig, Mailer) {
        let email = crate::email_config(confirmation_mails);
        (self.core(), email, crate::directory_mailer(dir))
    }

    pub fn store(&self) -> &Store {
        &self.table.store
    }

    /// A function's core on this fixture's table, reading claims as API Gateway hands them.
    pub fn core(&self) -> Core {
        Core::new(
            self.store().clone(),
            Authenticator::new(&AuthMode::ApiGateway),
        )
    }

    /// The administrator of the tests: an API client of the partner tenant with
    /// `users:write`, so above the customer and sub-customer tenants.
    pub fn admin(&self) -> Claims {
        Claims::client("admin", self.partner.tenant(), Scopes::WRITE)
    }

    /// Adds an activated, enabled user at version 1 to the tenant at `path`.
    pub async fn user(&self, path: &TenantPath) -> User {
        self.user_with(path, |_| {}).await
    }

    /// Adds a user that is not activated yet (a new hire, say): its address changes at once.
    pub async fn inactive_user(&self, path: &TenantPath) -> User {
        self.user_with(path, |u| u.activated = false).await
    }

    /// Adds a user whose account is disabled.
    pub async fn disabled_user(&self, path: &TenantPath) -> User {
        self.user_with(path, |u| u.enabled = false).await
    }

    /// Adds a user, after letting `edit` change it.
    pub async fn user_with(&self, path: &TenantPath, edit: impl FnOnce(&mut User)) -> User {
        self.add_user(path, None, edit).await
    }

    /// Adds a user whose password is `password` (hashed with the default parameters).
    pub async fn user_with_password(&self, path: &TenantPath, password: &str) -> User {
        self.add_user(path, Some(password), |_| {}).await
    }

    /// Adds a user whose password is `password`, after letting `edit` change it.
    pub async fn user_with_password_and(
        &self,
        path: &TenantPath,
        password: &str,
        edit: impl FnOnce(&mut User),
    ) -> User {
        self.add_user(path, Some(password), edit).await
    }

    /// Adds a user at version 1 of the tenant at `path`, with `password` if any, after
    /// letting `edit` change it.
    async fn add_user(
        &self,
        path: &TenantPath,
        password: Option<&str>,
        edit: impl FnOnce(&mut User),
    ) -> User {
        let id = UserId::new_random();
        let login = format!("user-{}", &id.to_string()[..8]);
        let mut user = new_user(id, &login, &format!("{login}@example.com"), path);
        edit(&mut user);
        let mut item = UserItem::new(user.clone(), path.clone());
        if let Some(password) = password {
            // The hash is registered as a secret when it is written (see `crate::logs`).
            crate::logs::register(password);
            item.password_hash = Some(hash_password(password));
        }
        put_user(self.store(), &item).await.expect("user");
        self.written.lock().expect("written").insert(id, item);
        self.table.counter.reset();
        user
    }

    /// Keeps the item of `id` as it is now as the one the fixture wrote (after a direct
    /// write of one attribute).
    async fn keep_written(&self, id: UserId) {
        if let Some(item) = self.stored(id).await {
            self.written.lock().expect("written").insert(id, item);
        }
    }

    /// Sets a number attribute of a user item directly (to age a window, say); `path` may
    /// name a nested attribute (`pending_email.expires_epoch`).
    pub async fn set_number(&self, id: UserId, path: &str, value: i64) {
        let names: Vec<(String, String)> = path
            .split('.')
            .enumerate()
            .map(|(i, name)| (format!("#n{i}"), name.to_owned()))
            .collect();
        let target = names
            .iter()
            .map(|(p, _)| p.as_str())
            .collect::<Vec<_>>()
            .join(".");
        self.store()
            .client()
            .update_item()
            .table_name(self.store().table())
            .key("pk", AttributeValue::S(UserItem::key(id)))
            .update_expression(format!("SET {target} = :value"))
            .set_expression_attribute_names(Some(names.into_iter().collect()))
            .expression_attribute_values(":value", AttributeValue::N(value.to_string()))
            .send()
            .await
            .expect("UpdateItem");
        self.keep_written(id).await;
        self.table.counter.reset();
    }

    /// Asserts that the stored user is still exactly `user`: nothing changed it. When `user`
    /// is the user as the fixture last wrote it, the whole item must be as written too: the
    /// hash, a pending change, the revocation marks, the attempt and mail logs.
    pub async fn assert_unchanged(&self, user: &User) {
        let stored = self.stored(user.id).await;
        assert_eq!(
            stored.as_ref().map(|item| &item.user),
            Some(user),
            "the stored user changed"
        );
        let written = self.written.lock().expect("written").get(&user.id).cloned();
        if let (Some(written), Some(stored)) = (written.filter(|w| &w.user == user), stored) {
            // The names of what changed only: the values may be hashes.
            let fields = |item: &UserItem| match serde_json::to_value(item) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => serde_json::Map::new(),
            };
            let (before, after) = (fields(&written), fields(&stored));
            let changed: Vec<&String> = before
                .keys()
                .chain(after.keys())
                .filter(|key| before.get(*key) != after.get(*key))
                .collect();
            assert!(changed.is_empty(), "the stored item changed: {changed:?}");
        }
    }

    /// The stored item of a user, read directly.
    pub async fn stored(&self, id: UserId) -> Option<UserItem> {
        let item = self.store().get_user(id).await.expect("GetItem");
        self.table.counter.reset();
        item
    }
}

impl Fixture {
    /// Sets a list of numbers on a user item directly (an event log, say).
    pub async fn set_numbers(&self, id: UserId, attribute: &str, values: &[i64]) {
        let list = values
            .iter()
            .map(|value| AttributeValue::N(value.to_string()))
            .collect();
        self.set_attribute(id, attribute, AttributeValue::L(list))
            .await;
    }

    /// Sets `enabled` of a user item directly, as an operator's tool might.
    pub async fn set_enabled_directly(&self, id: UserId, enabled: bool) {
        self.set_attribute(id, "enabled", AttributeValue::Bool(enabled))
            .await;
    }

    /// Sets a string attribute of a user item directly (`credentials_changed_at`, say).
    pub async fn set_text(&self, id: UserId, attribute: &str, value: &str) {
        self.set_attribute(id, attribute, AttributeValue::S(value.to_owned()))
            .await;
    }

    async fn set_attribute(&self, id: UserId, attribute: &str, value: AttributeValue) {
        self.store()
            .client()
            .update_item()
            .table_name(self.store().table())
            .key("pk", AttributeValue::S(UserItem::key(id)))
            .update_expression("SET #attribute = :value")
            .expression_attribute_names("#attribute", attribute)
            .expression_attribute_values(":value", value)
            .send()
            .await
            .expect("UpdateItem");
        self.keep_written(id).await;
        self.table.counter.reset();
    }
}

/// The leak check: no secret registered in this process (see [`crate::logs`]) may be in
/// its logs.
impl Drop for Fixture {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let leaked = crate::logs::leaks();
        assert_eq!(leaked, 0, "{leaked} secret(s) reached the logs");
    }
}
