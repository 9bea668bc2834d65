//! The conditional update of a user item, and the explanation of a failed one.

use std::borrow::Cow;
use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::audit::Change;
use crate::error::ApiError;
use crate::ids::Version;
use crate::now::Now;
use crate::session::OwnToken;
use crate::tenant::TenantRule;
use crate::user::UserItem;

/// A conditional update of a user item. Every such write starts with the same conditions:
/// the item exists, the caller's tenant rule admits it, and (for writes that change the user
/// object) its `version` is the one the caller read. And every write says what it is
/// ([`Record`]), so that the table's stream shows changes and hides bookkeeping.
pub(super) struct UserWrite {
    update: Vec<Cow<'static, str>>,
    conditions: Vec<Cow<'static, str>>,
    values: Vec<(Cow<'static, str>, AttributeValue)>,
}

impl UserWrite {
    /// Placeholder names → attribute names; only those the expressions use are sent,
    /// since DynamoDB refuses unused ones.
    const NAMES: &'static [(&'static str, &'static str)] = &[
        ("#pk", "pk"),
        ("#tenant_path", "tenant_path"),
        ("#tenant_id", "tenant_id"),
        ("#version", "version"),
        ("#enabled", "enabled"),
        ("#updated_at", "updated_at"),
        ("#hash", "password_hash"),
        ("#attempts", "password_attempt_times"),
        ("#contact", "contact"),
        ("#email", "email"),
        ("#pending", "pending_email"),
        ("#mails", "confirmation_mail_times"),
        ("#token_hash", "token_hash"),
        ("#expires", "expires_epoch"),
        ("#activated", "activated"),
        ("#credentials", "credentials_changed_at"),
        ("#last_change", "last_change"),
        ("#write_kind", "write_kind"),
        ("#own_session", "own_change_session"),
        ("#admin_revoked", "admin_revoked_at"),
    ];

    /// `expected`: the version the caller read, for writes that change the user object.
    pub fn new(
        update: &'static str,
        record: Record<'_>,
        rule: TenantRule,
        expected: Option<Version>,
    ) -> Result<Self, ApiError> {
        let mut write = Self::unscoped(update, record)?;
        write.condition("contains(#tenant_path, :tenant)");
        if let TenantRule::SubTenantsOf(_) = rule {
            write.condition("#tenant_id <> :tenant");
        }
        write.value(":tenant", AttributeValue::S(rule.tenant().to_string()));
        if let Some(expected) = expected {
            write.condition("#version = :expected");
            write.value(":expected", AttributeValue::N(expected.get().to_string()));
        }
        Ok(write)
    }

    /// A change of the user object that the caller asks for against the version it read.
    pub(crate) fn versioned(
        update: &'static str,
        change: &Change,
        rule: TenantRule,
        expected: Version,
    ) -> Result<Self, ApiError> {
        Self::new(update, Record::Change(change), rule, Some(expected))
    }

    /// A write that only needs the item to exist: the confirmation, whose token is the
    /// credential.
    pub(crate) fn unscoped(update: &'static str, record: Record<'_>) -> Result<Self, ApiError> {
        let mut write = Self {
            update: vec![Cow::Borrowed(update)],
            conditions: vec![Cow::Borrowed("attribute_exists(#pk)")],
            values: vec![
                (Cow::Borrowed(":one"), AttributeValue::N("1".into())),
                (Cow::Borrowed(":true"), AttributeValue::Bool(true)),
            ],
        };
        match record {
            Record::Change(change) => {
                write.update("SET #last_change = :last_change, #write_kind = :write_kind");
                write.value(":last_change", encode(change)?);
                write.value(":write_kind", encode(&change.kind)?);
            }
            Record::Bookkeeping => write.update("REMOVE #write_kind"),
        }
        Ok(write)
    }

    /// Adds a clause to the update expression (`SET …` or `REMOVE …`).
    pub fn update(&mut self, clause: impl Into<Cow<'static, str>>) {
        self.update.push(clause.into());
    }

    pub fn condition(&mut self, condition: &'static str) {
        self.conditions.push(Cow::Borrowed(condition));
    }

    pub fn value(&mut self, placeholder: impl Into<Cow<'static, str>>, value: AttributeValue) {
        self.values.push((placeholder.into(), value));
    }

    /// The user acts on itself with `token`: the write also requires that the token is not
    /// revoked and the account is enabled, the check [`UserItem::admits`] makes of an item
    /// read, so that it costs no request of its own; [`explain`] tells which failed.
    pub fn own_token(&mut self, token: &OwnToken) {
        self.condition("#enabled = :true");
        let mut current =
            String::from("(attribute_not_exists(#credentials) OR #credentials <= :not_before");
        self.value(":not_before", AttributeValue::S(token.not_before.clone()));
        if let Some(session) = &token.session {
            // The session of the own last change, if its token outlived every reset and
            // disable (see `UserItem::admits`).
            current.push_str(
                " OR (#own_session = :session AND \
                 (attribute_not_exists(#admin_revoked) OR #admin_revoked <= :not_before))",
            );
            self.value(":session", AttributeValue::S(session.as_str().to_owned()));
        }
        current.push(')');
        self.conditions.push(Cow::Owned(current));
    }

    /// Sets the platform timestamp `:now` (for `updated_at` and the like).
    pub fn now(&mut self, now: &Now) {
        self.value(":now", AttributeValue::S(now.timestamp.clone()));
    }

    /// Stores `log` as the event log `attribute`, only while the stored log is still `seen`:
    /// the one a limit was checked against (see [`crate::limit`]).
    pub(crate) fn replace_log(&mut self, attribute: &LogAttribute, seen: &[i64], log: &[i64]) {
        let key = attribute.key;
        if seen.is_empty() {
            self.conditions
                .push(Cow::Owned(format!("attribute_not_exists(#{key})")));
        } else {
            self.conditions
                .push(Cow::Owned(format!("#{key} = :seen_{key}")));
            self.value(format!(":seen_{key}"), numbers(seen));
        }
        self.update(format!("SET #{key} = :{key}"));
        self.value(format!(":{key}"), numbers(log));
    }

    fn uses(&self, placeholder: &str) -> bool {
        self.update
            .iter()
            .chain(&self.conditions)
            .map(|expression| expression.as_ref())
            .any(|expression| mentions(expression, placeholder))
    }

    /// The update expression, the condition expression and their placeholders.
    pub fn into_parts(
        self,
    ) -> (
        String,
        String,
        HashMap<String, String>,
        HashMap<String, AttributeValue>,
    ) {
        let names = Self::NAMES
            .iter()
            .filter(|(placeholder, _)| self.uses(placeholder))
            .map(|(placeholder, name)| ((*placeholder).to_owned(), (*name).to_owned()))
            .collect();
        let values = self
            .values
            .iter()
            .filter(|(placeholder, _)| self.uses(placeholder))
            .map(|(placeholder, value)| (placeholder.to_string(), value.clone()))
            .collect();
        (
            update_expression(&self.update),
            self.conditions.join(" AND "),
            names,
            values,
        )
    }
}

/// What a write is, for the table's stream (see [`crate::audit`]).
#[derive(Clone, Copy, Debug)]
pub(super) enum Record<'a> {
    /// It changes the user: `last_change` and `write_kind` say how, by whom, through which
    /// request. Applied or not, it is one `UpdateItem`, as before.
    Change(&'a Change),
    /// It only keeps the item's books (an attempt log, a withdrawn pending change): no event.
    Bookkeeping,
}

fn encode<T: serde::Serialize>(value: &T) -> Result<AttributeValue, ApiError> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| ApiError::internal(format!("encoding a change record: {e}")))
}

/// An attribute that holds an event log: `#key` in [`UserWrite::NAMES`], whose values are
/// `:key` (the new log) and `:seen_key` (the log the limit was checked against).
pub(super) struct LogAttribute {
    key: &'static str,
    /// The log as an item holds it.
    pub read: fn(UserItem) -> Vec<i64>,
}

/// The times of current-password checks.
pub(super) const ATTEMPT_LOG: LogAttribute = LogAttribute {
    key: "attempts",
    read: |item| item.password_attempt_times,
};

/// The times of confirmation mails.
pub(super) const MAIL_LOG: LogAttribute = LogAttribute {
    key: "mails",
    read: |item| item.confirmation_mail_times,
};

/// Joins clauses into one update expression: every `SET` action after one `SET`, every
/// `REMOVE` after one `REMOVE` (DynamoDB allows each keyword once).
fn update_expression(clauses: &[impl AsRef<str>]) -> String {
    let mut set = Vec::new();
    let mut remove = Vec::new();
    for clause in clauses {
        let clause = clause.as_ref();
        if let Some(actions) = clause.strip_prefix("SET ") {
            set.push(actions);
        } else if let Some(actions) = clause.strip_prefix("REMOVE ") {
            remove.push(actions);
        }
    }
    let mut expression = String::new();
    if !set.is_empty() {
        expression.push_str("SET ");
        expression.push_str(&set.join(", "));
    }
    if !remove.is_empty() {
        if !expression.is_empty() {
            expression.push(' ');
        }
        expression.push_str("REMOVE ");
        expression.push_str(&remove.join(", "));
    }
    expression
}

pub(super) fn numbers(times: &[i64]) -> AttributeValue {
    AttributeValue::L(
        times
            .iter()
            .map(|at| AttributeValue::N(at.to_string()))
            .collect(),
    )
}

/// True when `expression` mentions `placeholder` as a whole token (`:one`, not `:ones`).
fn mentions(expression: &str, placeholder: &str) -> bool {
    expression.match_indices(placeholder).any(|(at, _)| {
        expression[at + placeholder.len()..]
            .chars()
            .next()
            .is_none_or(|next| !(next.is_ascii_alphanumeric() || next == '_'))
    })
}

/// Why a conditional write to a user failed, when the reason is shared by every write:
/// missing or outside the caller's reach (both 404, indistinguishable), the user's own
/// token revoked (401) or its account disabled (403), or a stale version. Returns the old
/// item when none applies, for the operation's own reasons.
pub(super) fn explain(
    old: Option<UserItem>,
    rule: TenantRule,
    expected: Option<Version>,
    own: Option<&OwnToken>,
) -> Result<UserItem, ApiError> {
    let old = old
        .filter(|item| rule.admits(&item.tenant_path))
        .ok_or(ApiError::NotFound)?;
    if let Some(token) = own {
        old.admits(token)?;
    }
    if expected.is_some_and(|expected| old.user.version != expected) {
        return Err(ApiError::VersionConflict {
            current: old.user.version,
        });
    }
    Ok(old)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_join_into_one_set_and_one_remove() {
        assert_eq!(
            update_expression(&["SET a = :a", "REMOVE b", "SET c = :c", "REMOVE d"]),
            "SET a = :a, c = :c REMOVE b, d"
        );
        assert_eq!(update_expression(&["REMOVE b"]), "REMOVE b");
    }

    #[test]
    fn placeholders_are_matched_whole() {
        assert!(mentions("SET a = :one", ":one"));
        assert!(!mentions("SET a = :ones", ":one"));
    }
}
