//! The tenant tree and the subtree rules.
//!
//! Every user item stores its tenant's ancestry (`tenant_path`: root first, the user's own
//! tenant last), so "is this user in the caller's subtree" is a membership test that a
//! DynamoDB condition expression can evaluate in the same request as the write — no walk up
//! the tree at request time.

use serde::{Deserialize, Serialize};

use crate::ids::TenantId;

/// Ancestry of a tenant, root first, the tenant itself last. Never empty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<TenantId>", into = "Vec<TenantId>")]
pub struct TenantPath(Vec<TenantId>);

impl TenantPath {
    pub fn root(tenant: TenantId) -> Self {
        Self(vec![tenant])
    }

    /// The path of a child tenant of this one.
    pub fn child(&self, tenant: TenantId) -> Self {
        let mut path = self.0.clone();
        path.push(tenant);
        Self(path)
    }

    /// The tenant this path leads to.
    pub fn tenant(&self) -> TenantId {
        // The constructor guarantees at least one element.
        self.0[self.0.len() - 1]
    }

    /// True when `tenant` is this tenant or one of its ancestors: the subtree of `tenant`
    /// holds this tenant.
    pub(crate) fn in_subtree_of(&self, tenant: TenantId) -> bool {
        self.0.contains(&tenant)
    }

    /// True when this tenant is a strict descendant of `tenant` (a sub-tenant).
    pub(crate) fn strictly_below(&self, tenant: TenantId) -> bool {
        self.in_subtree_of(tenant) && self.tenant() != tenant
    }

    pub fn ids(&self) -> &[TenantId] {
        &self.0
    }
}

impl TryFrom<Vec<TenantId>> for TenantPath {
    type Error = &'static str;

    fn try_from(path: Vec<TenantId>) -> Result<Self, Self::Error> {
        if path.is_empty() {
            Err("a tenant path has at least one tenant")
        } else {
            Ok(Self(path))
        }
    }
}

impl From<TenantPath> for Vec<TenantId> {
    fn from(path: TenantPath) -> Self {
        path.0
    }
}

/// Which users a caller may act on, relative to the caller's tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantRule {
    /// The caller's subtree: its own tenant and every descendant.
    Subtree(TenantId),
    /// Strict descendants only: the platform's rule for administrative password changes.
    SubTenantsOf(TenantId),
}

impl TenantRule {
    pub fn admits(&self, path: &TenantPath) -> bool {
        match *self {
            TenantRule::Subtree(tenant) => path.in_subtree_of(tenant),
            TenantRule::SubTenantsOf(tenant) => path.strictly_below(tenant),
        }
    }

    /// The anchor tenant of the rule.
    pub fn tenant(&self) -> TenantId {
        match *self {
            TenantRule::Subtree(tenant) | TenantRule::SubTenantsOf(tenant) => tenant,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtree_and_sub_tenant_rules() {
        let (partner, customer, sub, other) = (
            TenantId::new_random(),
            TenantId::new_random(),
            TenantId::new_random(),
            TenantId::new_random(),
        );
        let customer_path = TenantPath::root(partner).child(customer);
        let sub_path = customer_path.child(sub);

        assert!(TenantRule::Subtree(partner).admits(&sub_path));
        assert!(TenantRule::Subtree(customer).admits(&customer_path));
        assert!(!TenantRule::Subtree(sub).admits(&customer_path));
        assert!(!TenantRule::Subtree(other).admits(&sub_path));

        assert!(TenantRule::SubTenantsOf(customer).admits(&sub_path));
        assert!(!TenantRule::SubTenantsOf(customer).admits(&customer_path));
        assert_eq!(sub_path.tenant(), sub);
    }

    #[test]
    fn empty_paths_do_not_deserialize() {
        assert!(serde_json::from_str::<TenantPath>("[]").is_err());
    }
}
