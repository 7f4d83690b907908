//! A tenant request (what a portal, an event or a console re-run asks for) and the tenant spec
//! it becomes once every field has been checked against the platform config.

use crate::config::PlatformConfig;
use crate::error::ValidationErrors;
use crate::names::{AccountEmail, PrincipalArn, Tags, TenantId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The fields a request may carry; anything else is refused by name.
const FIELDS: [&str; 12] = [
    "requestId",
    "tenantId",
    "displayName",
    "environment",
    "accountEmail",
    "accountId",
    "owners",
    "viewers",
    "tags",
    "network",
    "kubernetes",
    "teams",
];

/// A request as received, before validation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct TenantRequest {
    /// The caller's idempotency key; execution names derive from it.
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::RequestId"))]
    pub request_id: String,
    /// The tenant id (a DNS-1123 label).
    #[cfg_attr(feature = "schema", schemars(with = "crate::TenantId"))]
    pub tenant_id: String,
    /// A human name; the tenant id when absent.
    pub display_name: Option<String>,
    /// An environment of the platform config (`dev`, `prod`).
    pub environment: String,
    /// The new account's root email; derived from the config's pattern when absent.
    pub account_email: Option<String>,
    /// An existing account to adopt instead of creating one.
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<crate::schema::AccountId>")
    )]
    pub account_id: Option<String>,
    /// Principals that own the tenant (at least one).
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Vec<crate::PrincipalArn>", length(min = 1))
    )]
    pub owners: Vec<String>,
    /// Principals with read access.
    #[cfg_attr(feature = "schema", schemars(with = "Vec<crate::PrincipalArn>"))]
    #[serde(default)]
    pub viewers: Vec<String>,
    /// The tenant's own tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Network wishes.
    pub network: Option<NetworkRequest>,
    /// Cluster wishes, over the platform's defaults.
    pub kubernetes: Option<KubernetesRequest>,
    /// Identity Store groups (by display name) per kind of team of the platform config's
    /// `identityCenter` (`{"owners": ["payments-admins"]}`), each assigned that kind's
    /// permission set on the tenant's account.
    #[serde(default)]
    pub teams: BTreeMap<String, Vec<String>>,
    /// What reading the JSON found wrong (unknown fields, wrong shapes), reported by
    /// `validate` together with everything else, so a caller learns every problem at once.
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    read_errors: ValidationErrors,
    /// True when an AWS account-created event announced `account_id` (set by adoption, never
    /// read from a request): proof enough that the account is meant for the tenant.
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub announced_account: bool,
}

/// The network a tenant asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkRequest {
    /// The VPC's prefix length (20 for a /20).
    pub prefix_length: u8,
}

/// What a tenant may ask of the shared clusters; the rest comes from the platform config.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubernetesRequest {
    /// How many namespaces the tenant may create.
    pub namespace_quota: Option<u32>,
    /// Hard limits shared by the tenant's namespaces (replaces the platform's whole quota).
    pub resource_quota: Option<BTreeMap<String, String>>,
    /// The network isolation of the tenant's namespaces.
    pub network_policy_profile: Option<crate::kube::NetworkPolicyProfile>,
}

/// Where the tenant's account comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "mode")]
pub enum AccountTarget {
    /// Create a new account with this root email.
    Create {
        /// The root email.
        email: AccountEmail,
    },
    /// Adopt an account that already exists.
    Adopt {
        /// Its 12-digit id.
        account_id: String,
        /// True when an AWS account-created event announced it (Control Tower, Organizations):
        /// proof that it is new and meant for the platform. A request naming an account needs
        /// the account tagged `vending:tenant=<tenant>` instead.
        #[serde(default)]
        announced: bool,
    },
}

/// A validated request: every field checked, every default filled in from the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSpec {
    /// The caller's idempotency key.
    pub request_id: String,
    /// The tenant id.
    pub tenant_id: TenantId,
    /// The human name.
    pub display_name: String,
    /// The environment.
    pub environment: String,
    /// The OU its account goes to.
    pub ou_id: String,
    /// Where the account comes from.
    pub account: AccountTarget,
    /// Owners, sorted and unique.
    pub owners: Vec<PrincipalArn>,
    /// Viewers, sorted and unique.
    pub viewers: Vec<PrincipalArn>,
    /// The tenant's tags (the service adds its own `vending:` tags on top).
    pub tags: Tags,
    /// The VPC's prefix length.
    pub prefix_length: u8,
    /// The tenant's settings in the shared clusters.
    pub kubernetes: crate::kube::KubernetesSettings,
    /// Identity Store groups per kind of team (checked against the config's kinds).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub teams: BTreeMap<String, Vec<String>>,
}

/// The tag key that marks a resource as the tenant's: looked up before anything is created.
pub const TENANT_TAG: &str = "vending:tenant";
/// The tag key that names the request that created a resource.
pub const REQUEST_TAG: &str = "vending:request";

impl TenantSpec {
    /// The service's own tags, on every resource it creates.
    pub fn service_tags(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (TENANT_TAG.to_owned(), self.tenant_id.to_string()),
            (REQUEST_TAG.to_owned(), self.request_id.clone()),
        ])
    }

    /// The tenant's tags plus the service's.
    pub fn all_tags(&self) -> BTreeMap<String, String> {
        let mut tags = self.tags.0.clone();
        tags.extend(self.service_tags());
        tags
    }

    /// The Kubernetes namespaces the tenant owns in the shared clusters: its id and any
    /// namespace that starts with `<id>-` (EKS access scopes accept a trailing `*`). No other
    /// tenant's scope overlaps them (see `crate::scope`).
    pub fn namespaces(&self) -> Vec<String> {
        crate::scope::tenant_scope(&self.tenant_id)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The name of a tenant role made from the template `template`.
    pub fn role_name(&self, template: &str) -> String {
        format!("{}-{template}", self.tenant_id)
    }

    /// True when `tags` mark a resource as this tenant's.
    pub fn owns(&self, tags: &BTreeMap<String, String>) -> bool {
        tags.get(TENANT_TAG).map(String::as_str) == Some(self.tenant_id.as_str())
    }
}

/// A field read into its type; absent and `null` are alike (a form's empty optional field).
fn field<T: DeserializeOwned>(
    obj: &Map<String, Value>,
    key: &str,
    errs: &mut ValidationErrors,
) -> Option<T> {
    let v = obj.get(key).filter(|v| !v.is_null())?;
    match serde_json::from_value(v.clone()) {
        Ok(t) => Some(t),
        Err(e) => {
            errs.push(key, format!("has the wrong shape: {e}"));
            None
        }
    }
}

/// Checks a request id: it becomes part of execution names, so AWS's name rules apply.
fn check_request_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 {
        return Err(format!(
            "must have 1 to 64 characters (it has {})",
            id.len()
        ));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("may contain only letters, digits, '-' and '_'".into());
    }
    Ok(())
}

/// The most owners a request may name (trust policies have a size quota; a team role is the
/// usual owner).
pub const MAX_OWNERS: usize = 10;
/// The most viewers a request may name.
pub const MAX_VIEWERS: usize = 20;

/// Every tenant role's trust policy must fit IAM's size quota.
fn check_trust_size(
    config: &PlatformConfig,
    tenant: &str,
    owners: &[PrincipalArn],
    viewers: &[PrincipalArn],
    errs: &mut ValidationErrors,
) {
    use crate::config::{TRUST_POLICY_MAX_CHARS, TenantAudience, policy_chars, trust_policy};
    for template in &config.identity.roles {
        let trusted = config.identity.trusted_for(template, owners, viewers);
        let size = policy_chars(&trust_policy(&trusted));
        if size > TRUST_POLICY_MAX_CHARS {
            let field =
                if template.trusted_by.contains(&TenantAudience::Viewers) && !viewers.is_empty() {
                    "viewers"
                } else {
                    "owners"
                };
            errs.push(
                field,
                format!(
                    "the trust policy of {tenant}-{} would have {size} characters, more than IAM's {TRUST_POLICY_MAX_CHARS}: name fewer principals",
                    template.name
                ),
            );
            return;
        }
    }
}

fn principals(list: &[String], field: &str, errs: &mut ValidationErrors) -> Vec<PrincipalArn> {
    let mut out = BTreeSet::new();
    for (i, p) in list.iter().enumerate() {
        match PrincipalArn::parse(p) {
            Ok(arn) => {
                if !out.insert(arn) {
                    errs.push(format!("{field}[{i}]"), format!("'{p}' is listed twice"));
                }
            }
            Err(e) => errs.push(format!("{field}[{i}]"), format!("'{p}' {e}")),
        }
    }
    out.into_iter().collect()
}

/// Checks a request's `teams`: each kind is one of the config's `identityCenter` kinds, and
/// its group names are display names (whether the groups exist is AssignTeams' to find).
fn check_teams(
    config: &PlatformConfig,
    teams: &BTreeMap<String, Vec<String>>,
    errs: &mut ValidationErrors,
) {
    for (kind, names) in teams {
        let known = config.identity_center.as_ref().map(|ic| {
            ic.assignments
                .iter()
                .map(|a| a.kind.as_str())
                .collect::<Vec<_>>()
        });
        match known {
            None => errs.push(
                format!("teams.{kind}"),
                "this platform does not assign teams (its config has no identityCenter)",
            ),
            Some(kinds) if !kinds.contains(&kind.as_str()) => errs.push(
                format!("teams.{kind}"),
                format!(
                    "'{kind}' is not a kind of team of this platform (known: {})",
                    kinds.join(", ")
                ),
            ),
            Some(_) => crate::config::check_group_names(kind, names, errs),
        }
    }
}

impl TenantRequest {
    /// Reads a request from JSON. Only a value that is not an object is refused here; unknown
    /// fields and fields of the wrong shape are named by `validate`, with every other problem.
    pub fn from_value(value: &Value) -> Result<TenantRequest, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let Some(obj) = value.as_object() else {
            errs.push("request", "must be a JSON object");
            return Err(errs);
        };
        for k in obj.keys() {
            if !FIELDS.contains(&k.as_str()) {
                errs.push(
                    k.clone(),
                    format!("is not a known field (known: {})", FIELDS.join(", ")),
                );
            }
        }
        let mut req = TenantRequest::default();
        for (key, slot) in [
            ("requestId", &mut req.request_id),
            ("tenantId", &mut req.tenant_id),
            ("environment", &mut req.environment),
        ] {
            match field::<String>(obj, key, &mut errs) {
                Some(v) => *slot = v,
                None if obj.get(key).is_none_or(Value::is_null) => errs.push(key, "is required"),
                None => {}
            }
        }
        req.display_name = field(obj, "displayName", &mut errs);
        req.account_email = field(obj, "accountEmail", &mut errs);
        req.account_id = field(obj, "accountId", &mut errs);
        req.owners = field(obj, "owners", &mut errs).unwrap_or_default();
        req.viewers = field(obj, "viewers", &mut errs).unwrap_or_default();
        req.tags = field(obj, "tags", &mut errs).unwrap_or_default();
        req.network = field(obj, "network", &mut errs);
        req.kubernetes = field(obj, "kubernetes", &mut errs);
        req.teams = field(obj, "teams", &mut errs).unwrap_or_default();
        req.read_errors = errs;
        Ok(req)
    }

    /// Checks every field against AWS's and Kubernetes' rules and the platform config.
    pub fn validate(&self, config: &PlatformConfig) -> Result<TenantSpec, ValidationErrors> {
        let read = &self.read_errors;
        let mut errs = ValidationErrors::default();
        if let Err(e) = check_request_id(&self.request_id) {
            errs.push("requestId", e);
        }
        let tenant_id = TenantId::parse(&self.tenant_id)
            .map_err(|e| errs.push("tenantId", format!("'{}' {e}", self.tenant_id)))
            .ok();
        let display_name = self
            .display_name
            .clone()
            .unwrap_or_else(|| self.tenant_id.clone());
        if display_name.trim().is_empty() || display_name.chars().count() > 64 {
            errs.push("displayName", "must have 1 to 64 characters");
        }
        let ou_id = match config.environments.get(&self.environment) {
            Some(env) => env.ou_id.clone(),
            None => {
                let known: Vec<&str> = config.environments.keys().map(String::as_str).collect();
                errs.push(
                    "environment",
                    format!(
                        "'{}' is not an environment of this platform (known: {})",
                        self.environment,
                        known.join(", ")
                    ),
                );
                String::new()
            }
        };
        let account = match (&self.account_id, &self.account_email) {
            (Some(_), Some(_)) => {
                errs.push("accountId", "give either accountId (adopt an account) or accountEmail (create one), not both");
                None
            }
            (Some(id), None) => {
                if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
                    Some(AccountTarget::Adopt {
                        account_id: id.clone(),
                        announced: self.announced_account,
                    })
                } else {
                    errs.push(
                        "accountId",
                        format!("'{id}' is not a 12-digit AWS account id"),
                    );
                    None
                }
            }
            (None, email) => {
                let email = email.clone().unwrap_or_else(|| {
                    config
                        .account_email_pattern
                        .replace("{tenant}", &self.tenant_id)
                });
                match AccountEmail::parse(&email) {
                    Ok(email) => Some(AccountTarget::Create { email }),
                    Err(e) => {
                        errs.push("accountEmail", format!("'{email}' {e}"));
                        None
                    }
                }
            }
        };
        if self.owners.is_empty() {
            errs.push("owners", "needs at least one IAM principal ARN");
        }
        for (field, list, max) in [
            ("owners", &self.owners, MAX_OWNERS),
            ("viewers", &self.viewers, MAX_VIEWERS),
        ] {
            if list.len() > max {
                errs.push(
                    field,
                    format!(
                        "at most {max} principals (there are {}): name a role the people share instead",
                        list.len()
                    ),
                );
            }
        }
        let owners = principals(&self.owners, "owners", &mut errs);
        let viewers = principals(&self.viewers, "viewers", &mut errs);
        check_trust_size(config, &self.tenant_id, &owners, &viewers, &mut errs);
        if let Some(id) = &tenant_id
            && let Some(reserved) =
                crate::scope::reserved_overlap(id, &config.kubernetes.reserved_namespaces)
        {
            errs.push(
                "tenantId",
                format!(
                    "'{id}' would reach namespaces the platform reserves ({reserved}): a tenant's access covers {id} and {id}-*; choose another id"
                ),
            );
        }
        let tags = match Tags::validate(&self.tags, "tags") {
            Ok(t) => Some(t),
            Err(list) => {
                errs.errors.extend(list);
                None
            }
        };
        for required in &config.required_tags {
            if !self.tags.contains_key(required) {
                errs.push(format!("tags.{required}"), "is required by the platform");
            }
        }
        let pool = &config.network.pool;
        let prefix_length = self
            .network
            .as_ref()
            .map_or(pool.default_prefix_length, |n| n.prefix_length);
        if !(pool.min_prefix_length..=pool.max_prefix_length).contains(&prefix_length) {
            errs.push(
                "network.prefixLength",
                format!(
                    "/{prefix_length} is outside what the pool allows (/{} to /{})",
                    pool.min_prefix_length, pool.max_prefix_length
                ),
            );
        }
        let kubernetes = config
            .kubernetes
            .settings_for(&self.tenant_id, self.kubernetes.as_ref());
        // Hostnames derive from the tenant id: a bad id is reported once, as the id.
        if tenant_id.is_some() {
            kubernetes.check("kubernetes", &mut errs);
        }
        check_teams(config, &self.teams, &mut errs);
        // A field that could not be read is reported once, as read; the checks above saw only
        // its default value.
        let mut all = read.clone();
        all.errors.extend(
            errs.errors
                .into_iter()
                .filter(|e| !read.errors.iter().any(|r| r.field == e.field)),
        );
        let errs = all;
        match (tenant_id, account, tags) {
            (Some(tenant_id), Some(account), Some(tags)) if errs.errors.is_empty() => {
                Ok(TenantSpec {
                    request_id: self.request_id.clone(),
                    tenant_id,
                    display_name,
                    environment: self.environment.clone(),
                    ou_id,
                    account,
                    owners,
                    viewers,
                    tags,
                    prefix_length,
                    kubernetes,
                    teams: self.teams.clone(),
                })
            }
            _ => Err(errs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::sample;
    use serde_json::json;

    fn config() -> PlatformConfig {
        PlatformConfig::from_json(&sample().to_string()).expect("valid config")
    }

    fn good() -> Value {
        json!({
            "requestId": "req-0001",
            "tenantId": "payments",
            "displayName": "Payments",
            "environment": "prod",
            "owners": ["arn:aws:iam::123456789012:role/payments-leads"],
            "tags": {"CostCenter": "cc-1234"},
            "network": {"prefixLength": 20}
        })
    }

    fn errors(v: Value) -> Vec<String> {
        let errs = match TenantRequest::from_value(&v) {
            Ok(req) => req.validate(&config()).expect_err("should be rejected"),
            Err(e) => e,
        };
        errs.errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn null_is_an_absent_optional_field_and_a_missing_required_one() {
        let mut nulls = good();
        for key in [
            "displayName",
            "accountEmail",
            "accountId",
            "network",
            "kubernetes",
            "viewers",
        ] {
            nulls[key] = Value::Null;
        }
        let spec = TenantRequest::from_value(&nulls)
            .expect("reads")
            .validate(&config())
            .expect("valid: a form's empty optional fields");
        assert_eq!(spec.prefix_length, 20);
        let mut missing = good();
        missing["tenantId"] = Value::Null;
        let errs = TenantRequest::from_value(&missing)
            .and_then(|r| r.validate(&config()))
            .expect_err("tenantId is required");
        assert!(
            errs.errors
                .iter()
                .any(|e| e.field == "tenantId" && e.reason == "is required"),
            "{errs:?}"
        );
    }

    #[test]
    fn a_good_request_becomes_a_spec_with_defaults() {
        let spec = TenantRequest::from_value(&good())
            .expect("reads")
            .validate(&config())
            .expect("valid");
        assert_eq!(spec.ou_id, "ou-ab12-prod0001");
        assert_eq!(
            spec.account,
            AccountTarget::Create {
                email: AccountEmail::parse("aws+payments@example.com").expect("email")
            }
        );
        assert_eq!(spec.prefix_length, 20);
        assert_eq!(spec.kubernetes.namespace_quota, 5);
        assert_eq!(
            spec.kubernetes.ingress.hostnames,
            ["payments.apps.example.com"]
        );
        assert_eq!(
            spec.kubernetes.network_policy_profile,
            crate::kube::NetworkPolicyProfile::Isolated
        );
        let mut asks = good();
        asks["kubernetes"] = json!({"namespaceQuota": 9, "resourceQuota": {"pods": "50"}, "networkPolicyProfile": "open"});
        let spec = TenantRequest::from_value(&asks)
            .expect("reads")
            .validate(&config())
            .expect("valid");
        assert_eq!(spec.kubernetes.namespace_quota, 9);
        assert_eq!(
            spec.kubernetes.resource_quota,
            BTreeMap::from([("pods".to_owned(), "50".to_owned())])
        );
        assert_eq!(
            spec.kubernetes.network_policy_profile,
            crate::kube::NetworkPolicyProfile::Open
        );
        let mut adopt = good();
        adopt["accountId"] = json!("210987654321");
        let spec = TenantRequest::from_value(&adopt)
            .expect("reads")
            .validate(&config())
            .expect("valid");
        assert_eq!(
            spec.account,
            AccountTarget::Adopt {
                account_id: "210987654321".into(),
                announced: false,
            }
        );
    }

    #[test]
    fn bad_requests_name_every_field() {
        let with = |k: &str, v: Value| {
            let mut r = good();
            r[k] = v;
            r
        };
        let without = |k: &str| {
            let mut r = good();
            r.as_object_mut().map(|m| m.remove(k));
            r
        };
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (with("tenantId", json!("Payments_Team")), vec!["tenantId"]),
            (with("tenantId", json!("x")), vec!["tenantId"]),
            (
                with("accountEmail", json!("not-an-email")),
                vec!["accountEmail"],
            ),
            (with("environment", json!("staging")), vec!["environment"]),
            (
                with("network", json!({"prefixLength": 8})),
                vec!["network.prefixLength"],
            ),
            (with("owners", json!([])), vec!["owners"]),
            (with("owners", json!(["alice"])), vec!["owners[0]"]),
            (without("owners"), vec!["owners"]),
            (with("surprise", json!(true)), vec!["surprise"]),
            (with("tags", json!({})), vec!["tags.CostCenter"]),
            (
                with("tags", json!({"CostCenter": "x", "aws:x": "y"})),
                vec!["tags.aws:x"],
            ),
            (with("requestId", json!("has space")), vec!["requestId"]),
            (without("tenantId"), vec!["tenantId"]),
            (with("accountId", json!("12345")), vec!["accountId"]),
            (
                with("owners", json!("arn:aws:iam::123456789012:role/x")),
                vec!["owners"],
            ),
            (
                with("kubernetes", json!({"namespaceQuota": 0})),
                vec!["kubernetes.namespaceQuota"],
            ),
            (
                with(
                    "kubernetes",
                    json!({"resourceQuota": {"requests.cpu": "lots"}}),
                ),
                vec!["kubernetes.resourceQuota.requests.cpu"],
            ),
            (
                with("kubernetes", json!({"networkPolicyProfile": "wide-open"})),
                vec!["kubernetes"],
            ),
            (with("kubernetes", json!({"quota": 3})), vec!["kubernetes"]),
            (with("tenantId", json!("kube")), vec!["tenantId"]),
            (with("tenantId", json!("cert")), vec!["tenantId"]),
            (
                with("owners", json!(["arn:aws:iam::123456789012:root"])),
                vec!["owners[0]"],
            ),
            (
                with("viewers", json!(["arn:aws:iam::123456789012:role/*"])),
                vec!["viewers[0]"],
            ),
            (
                with("tags", json!({"CostCenter": "x", "costcenter": "y"})),
                vec!["tags.costcenter"],
            ),
        ];
        for (req, want) in cases {
            assert_eq!(errors(req.clone()), want, "{req}");
        }
        assert_eq!(errors(json!([1])), ["request"]);
    }

    #[test]
    fn owners_and_viewers_are_bounded_so_trust_policies_fit_iam() {
        let arns = |n: usize, name: &str| -> Vec<String> {
            (0..n)
                .map(|i| format!("arn:aws:iam::123456789012:role/{name}-{i:02}"))
                .collect()
        };
        let mut r = good();
        r["owners"] = json!(arns(MAX_OWNERS + 1, "owner"));
        assert_eq!(errors(r), ["owners"]);
        let mut r = good();
        r["viewers"] = json!(arns(MAX_VIEWERS + 1, "viewer"));
        assert_eq!(errors(r), ["viewers"]);
        // Within the counts, but long names overflow the 2048 characters of a trust policy.
        let long = "a-really-long-role-name-that-someone-chose-for-reasons-of-their-own";
        let mut r = good();
        r["owners"] = json!(arns(MAX_OWNERS, &long[..60]));
        r["viewers"] = json!(arns(MAX_VIEWERS, &long[..60]));
        let got = TenantRequest::from_value(&r)
            .expect("reads")
            .validate(&config())
            .expect_err("too big");
        assert!(
            got.errors
                .iter()
                .any(|e| e.reason.contains("more than IAM's 2048")),
            "{got}"
        );
    }
}
