//! Kubernetes' own rules for the values a tenant carries into its clusters: object names,
//! label keys and values, resource quantities and the tenant's cluster settings. Checked when
//! a request is validated and again before a manifest is rendered, so a record read from a
//! file is held to the same rules.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A DNS-1123 label (namespace names, most object names): 1 to 63 lowercase letters, digits
/// and '-', starting and ending with a letter or digit.
pub fn is_dns1123_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1123 subdomain (class names, hostnames without a wildcard): dot-separated labels,
/// at most 253 characters.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && !s.is_empty() && s.split('.').all(is_dns1123_label)
}

fn is_name_part(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
}

/// A qualified name (label keys, resource names in a quota): an optional DNS-1123 subdomain
/// prefix and '/', then a name of at most 63 characters.
pub fn is_qualified_name(s: &str) -> bool {
    match s.split_once('/') {
        Some((prefix, name)) => is_dns1123_subdomain(prefix) && is_name_part(name),
        None => is_name_part(s),
    }
}

/// A label value: empty, or at most 63 characters of the name alphabet.
pub fn is_label_value(s: &str) -> bool {
    s.is_empty() || is_name_part(s)
}

/// A resource quantity as the API server parses it (`500m`, `16Gi`, `1e3`, `100`): the
/// pattern of the CRD schemas, `^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$`,
/// without a sign (a negative quota makes no sense).
pub fn is_quantity(s: &str) -> bool {
    fn number(s: &str) -> bool {
        match s.split_once('.') {
            Some((int, frac)) => {
                (!int.is_empty() || !frac.is_empty())
                    && int.bytes().all(|b| b.is_ascii_digit())
                    && frac.bytes().all(|b| b.is_ascii_digit())
                    // "1." is a number, ".5" is, "." is not.
                    && !(int.is_empty() && frac.is_empty())
            }
            None => !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
        }
    }
    let digits_end = s
        .bytes()
        .position(|b| !(b.is_ascii_digit() || b == b'.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(digits_end);
    if !number(num) || (num.starts_with('.') && num.len() == 1) {
        return false;
    }
    match suffix {
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "n" | "u" | "m" | "k" | "M" | "G" | "T"
        | "P" | "E" => true,
        exp => exp
            .strip_prefix(['e', 'E'])
            .map(|e| e.strip_prefix(['+', '-']).unwrap_or(e))
            .is_some_and(number),
    }
}

/// How a tenant's namespaces are isolated from the rest of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum NetworkPolicyProfile {
    /// No policy: the cluster's defaults apply.
    Open,
    /// Pods accept traffic only from the tenant's own namespaces.
    Isolated,
}

/// The ingress a tenant may use.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngressSettings {
    /// Allowed IngressClasses; the first is the default.
    pub classes: Vec<String>,
    /// Allowed hostnames.
    pub hostnames: Vec<String>,
}

/// A tenant's settings in the shared clusters, as the tenant operator enforces them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubernetesSettings {
    /// How many namespaces the tenant may create.
    pub namespace_quota: u32,
    /// Hard limits shared by all the tenant's namespaces (`requests.cpu: "8"`).
    pub resource_quota: BTreeMap<String, String>,
    /// Labels the tenant's pods are scheduled on.
    pub node_selector: BTreeMap<String, String>,
    /// Ingress classes and hostnames.
    pub ingress: IngressSettings,
    /// Allowed StorageClasses; the first is the default.
    pub storage_classes: Vec<String>,
    /// The network isolation of the tenant's namespaces.
    pub network_policy_profile: NetworkPolicyProfile,
}

/// The most namespaces one tenant may have (Capsule's quota is an int32; this is a sane cap).
pub const MAX_NAMESPACE_QUOTA: u32 = 1000;

impl KubernetesSettings {
    /// Every rule, each broken one reported with its field (under `at`).
    pub fn check(&self, at: &str, errs: &mut crate::ValidationErrors) {
        if !(1..=MAX_NAMESPACE_QUOTA).contains(&self.namespace_quota) {
            errs.push(
                format!("{at}.namespaceQuota"),
                format!("must be between 1 and {MAX_NAMESPACE_QUOTA}"),
            );
        }
        check_quota(&self.resource_quota, &format!("{at}.resourceQuota"), errs);
        for (key, value) in &self.node_selector {
            if !is_qualified_name(key) {
                errs.push(
                    format!("{at}.nodeSelector"),
                    format!("'{key}' is not a label key"),
                );
            }
            if !is_label_value(value) {
                errs.push(
                    format!("{at}.nodeSelector.{key}"),
                    format!("'{value}' is not a label value"),
                );
            }
        }
        for class in &self.ingress.classes {
            if !is_dns1123_subdomain(class) {
                errs.push(
                    format!("{at}.ingress.classes"),
                    format!("'{class}' is not a class name (DNS-1123 subdomain)"),
                );
            }
        }
        for host in &self.ingress.hostnames {
            if !is_dns1123_subdomain(host) || !host.contains('.') {
                errs.push(
                    format!("{at}.ingress.hostnames"),
                    format!("'{host}' is not a fully qualified hostname"),
                );
            }
        }
        for class in &self.storage_classes {
            if !is_dns1123_subdomain(class) {
                errs.push(
                    format!("{at}.storageClasses"),
                    format!("'{class}' is not a class name (DNS-1123 subdomain)"),
                );
            }
        }
    }
}

/// Checks a quota's resource names and quantities.
pub fn check_quota(quota: &BTreeMap<String, String>, at: &str, errs: &mut crate::ValidationErrors) {
    for (resource, quantity) in quota {
        if !is_qualified_name(resource) {
            errs.push(at, format!("'{resource}' is not a resource name"));
        }
        if !is_quantity(quantity) {
            errs.push(
                format!("{at}.{resource}"),
                format!("'{quantity}' is not a quantity (8, 500m, 16Gi)"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_follow_the_api_servers_grammar() {
        for good in [
            "1", "500m", "16Gi", "1.5", ".5", "1.", "1e3", "2E-2", "100k", "0",
        ] {
            assert!(is_quantity(good), "{good}");
        }
        for bad in [
            "", "-1", "1.2.3", "16GB", "Gi", ".", "1e", "1 Gi", "ten", "1ki",
        ] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn names_and_labels_follow_kubernetes() {
        assert!(is_dns1123_label("team-a"));
        assert!(!is_dns1123_label("Team-a"));
        assert!(!is_dns1123_label("-a"));
        assert!(!is_dns1123_label(&"a".repeat(64)));
        assert!(is_dns1123_subdomain("ingress.example.com"));
        assert!(!is_dns1123_subdomain("*.example.com"));
        assert!(is_qualified_name("requests.cpu"));
        assert!(is_qualified_name("example.com/gpu"));
        assert!(is_qualified_name("node-pool"));
        assert!(!is_qualified_name("Example.com/gpu"));
        assert!(!is_qualified_name("a/b/c"));
        assert!(is_label_value(""));
        assert!(is_label_value("Tenants_1"));
        assert!(!is_label_value("no spaces"));
    }
}
