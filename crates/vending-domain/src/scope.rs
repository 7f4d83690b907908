//! Namespace scopes: which Kubernetes namespaces of the shared clusters a tenant's access
//! reaches, and the rule that keeps tenants apart.
//!
//! A tenant `t` owns the namespace `t` and every namespace starting with `t-`: its EKS access
//! policies are scoped to `t` and `t-*`, and EKS reads the trailing `*` as a wildcard. So a
//! tenant `team` would reach the namespaces of a tenant `team-a`, and a tenant `kube` would
//! reach `kube-system`. The rule: no tenant's scope may overlap another tenant's (either way)
//! or a reserved namespace pattern of the platform config. Reserved patterns are checked when
//! a request is validated; tenants against each other when the registry claims the scope
//! (`Registry::claim_scope`), atomically, so of two overlapping requests at once one wins.

use crate::names::TenantId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One namespace, or every namespace that starts with a prefix (written `prefix*`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum NamespacePattern {
    /// Exactly this namespace.
    Exact(String),
    /// Every namespace starting with this text.
    Prefix(String),
}

impl NamespacePattern {
    /// Reads `name` or `prefix*`: a DNS-1123 label, or the start of one followed by `*`.
    pub fn parse(s: &str) -> Result<NamespacePattern, String> {
        let (text, prefix) = match s.strip_suffix('*') {
            Some(p) => (p, true),
            None => (s, false),
        };
        let chars_ok = !text.is_empty()
            && text.len() <= 63
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !text.starts_with('-');
        if !chars_ok || (!prefix && text.ends_with('-')) || text.contains('*') {
            return Err(format!(
                "'{s}' is not a namespace name or a namespace prefix followed by '*' (kube-*)"
            ));
        }
        Ok(if prefix {
            NamespacePattern::Prefix(text.to_owned())
        } else {
            NamespacePattern::Exact(text.to_owned())
        })
    }

    /// True when some namespace matches both patterns.
    pub fn overlaps(&self, other: &NamespacePattern) -> bool {
        use NamespacePattern::{Exact, Prefix};
        match (self, other) {
            (Exact(a), Exact(b)) => a == b,
            (Exact(a), Prefix(p)) | (Prefix(p), Exact(a)) => a.starts_with(p.as_str()),
            (Prefix(p), Prefix(q)) => p.starts_with(q.as_str()) || q.starts_with(p.as_str()),
        }
    }
}

impl TryFrom<String> for NamespacePattern {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        NamespacePattern::parse(&s)
    }
}

impl From<NamespacePattern> for String {
    fn from(p: NamespacePattern) -> String {
        p.to_string()
    }
}

impl fmt::Display for NamespacePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NamespacePattern::Exact(n) => f.write_str(n),
            NamespacePattern::Prefix(p) => write!(f, "{p}*"),
        }
    }
}

/// The namespaces a tenant owns: `<id>` and `<id>-*`, as its access entries are scoped.
pub fn tenant_scope(tenant: &TenantId) -> [NamespacePattern; 2] {
    [
        NamespacePattern::Exact(tenant.as_str().to_owned()),
        NamespacePattern::Prefix(format!("{tenant}-")),
    ]
}

/// True when two different tenants' scopes share a namespace: one id is the other followed by
/// `-` and more. The same id is the same tenant, not an overlap.
pub fn tenants_overlap(a: &TenantId, b: &TenantId) -> bool {
    a != b && (a.as_str().starts_with(&format!("{b}-")) || b.as_str().starts_with(&format!("{a}-")))
}

/// The ids whose scope would cover this tenant's: every part of the id before a `-`
/// (`team-a-b` has `team` and `team-a`). Claimed rows of the registry are keyed by these.
pub fn enclosing_ids(tenant: &TenantId) -> Vec<String> {
    let s = tenant.as_str();
    s.match_indices('-')
        .map(|(i, _)| s[..i].to_owned())
        .collect()
}

/// The first reserved pattern the tenant's scope overlaps, if any.
pub fn reserved_overlap<'a>(
    tenant: &TenantId,
    reserved: &'a [NamespacePattern],
) -> Option<&'a NamespacePattern> {
    let scope = tenant_scope(tenant);
    reserved
        .iter()
        .find(|r| scope.iter().any(|s| s.overlaps(r)))
}

/// What EKS, Kubernetes and common add-ons install: no tenant may reach them.
pub fn default_reserved() -> Vec<NamespacePattern> {
    [
        "default",
        "kube-*",
        "amazon-*",
        "aws-*",
        "eks-*",
        "capsule-*",
        "cert-manager*",
        "argocd*",
        "flux-system",
        "ingress-nginx",
        "karpenter",
        "istio-*",
        "gatekeeper-system",
        "kyverno*",
        "monitoring",
        "external-dns",
        "external-secrets",
        "velero",
        "calico-*",
        "tigera-operator",
        "cilium*",
    ]
    .iter()
    .filter_map(|p| NamespacePattern::parse(p).ok())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TenantId {
        TenantId::parse(s).expect("tenant id")
    }

    #[test]
    fn tenants_overlap_when_one_id_extends_the_other_past_a_dash() {
        for (a, b, overlap) in [
            ("team", "team-a", true),
            ("team-a", "team", true),
            ("team", "team-a-b", true),
            ("team-a", "team-b", false),
            ("team", "teams", false),
            ("team", "steam", false),
            ("team", "team", false),
            ("payments", "payments-eu", true),
        ] {
            assert_eq!(tenants_overlap(&t(a), &t(b)), overlap, "{a} {b}");
            // The scopes say the same.
            let scopes = tenant_scope(&t(a))
                .iter()
                .any(|x| tenant_scope(&t(b)).iter().any(|y| x.overlaps(y)));
            assert_eq!(scopes, overlap || a == b, "{a} {b} by scopes");
        }
    }

    #[test]
    fn enclosing_ids_are_the_parts_before_each_dash() {
        assert_eq!(enclosing_ids(&t("team-a-b")), ["team", "team-a"]);
        assert!(enclosing_ids(&t("payments")).is_empty());
    }

    #[test]
    fn a_tenant_cannot_reach_the_clusters_own_namespaces() {
        let reserved = default_reserved();
        for (id, hit) in [
            ("kube", Some("kube-*")),
            ("cert", Some("cert-manager*")),
            ("monitoring", Some("monitoring")),
            ("aws", Some("aws-*")),
            ("eks", Some("eks-*")),
            ("flux", Some("flux-system")),
            ("awsome", None),
            ("payments", None),
            ("kubernetes-team", None),
        ] {
            let got = reserved_overlap(&t(id), &reserved).map(ToString::to_string);
            assert_eq!(got.as_deref(), hit, "{id}");
        }
    }

    #[test]
    fn patterns_are_names_or_prefixes() {
        assert_eq!(
            NamespacePattern::parse("kube-*"),
            Ok(NamespacePattern::Prefix("kube-".into()))
        );
        assert_eq!(
            NamespacePattern::parse("default"),
            Ok(NamespacePattern::Exact("default".into()))
        );
        for bad in ["", "*", "Kube-*", "a*b", "-x", "x-"] {
            assert!(NamespacePattern::parse(bad).is_err(), "{bad}");
        }
    }
}
