//! The platform config: the platform team's choices, read once at start-up and validated
//! completely, so a bad config fails loudly at init rather than half-way through a tenant.

mod baseline;
mod identity;
mod recording;
mod teams;

pub use identity::{
    EksAccessPolicy, IdentityConfig, PermissionsBoundary, RoleTemplate, TRUST_POLICY_MAX_CHARS,
    TenantAudience, policy_chars, trust_policy,
};

pub use baseline::{
    BACKUP_ROLE_PATH, BACKUP_SELECTION_NAME, BackupConfig, BackupRule, BaselineConfig,
    DEFAULT_BACKUP_ROLE, SelectionTag,
};
pub use recording::{
    BaselineMode, ConfigBaseline, DEFAULT_CONFIG_ROLE, ManagedRule, RECORDING_NAME, TrailBaseline,
};
pub use teams::{AssignmentTemplate, IdentityCenterConfig, MAX_TEAMS_PER_KIND, check_group_names};

use crate::cidr::CidrPool;
use crate::error::ValidationErrors;
use crate::kube::{IngressSettings, KubernetesSettings, NetworkPolicyProfile};
use crate::names::PrincipalArn;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything the platform team configures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlatformConfig {
    /// The home region of the service and of tenant networks.
    pub region: String,
    /// Regions where tenant accounts lose their default VPCs.
    pub regions: Vec<String>,
    /// The role assumed in member accounts (created by Organizations or Control Tower).
    pub member_role_name: String,
    /// Root email of new accounts; `{tenant}` is replaced by the tenant id.
    pub account_email_pattern: String,
    /// The IAM alias of tenant accounts; `{tenant}` is replaced by the tenant id. Aliases are
    /// unique across AWS, so it usually carries the organization's name (`acme-{tenant}`).
    pub account_alias_pattern: String,
    /// At most this many account creations in progress at once, across every execution
    /// (Organizations and Control Tower take only a few account operations at a time; AFT's
    /// cap is 5): a tenant beyond it waits for a slot in the workflow.
    #[serde(default = "default_creation_cap")]
    pub max_concurrent_account_creations: u32,
    /// Environments by name (`dev`, `prod`): where their accounts go.
    pub environments: BTreeMap<String, Environment>,
    /// Tag keys every request must carry.
    #[serde(default)]
    pub required_tags: Vec<String>,
    /// Tenant networks.
    pub network: NetworkConfig,
    /// Tenant roles.
    pub identity: IdentityConfig,
    /// The shared EKS clusters tenants get access to.
    pub clusters: Vec<ClusterConfig>,
    /// How accounts made outside the portal become tenants.
    pub adoption: AdoptionConfig,
    /// Tenants' settings in the shared clusters, unless a request asks otherwise.
    #[serde(default)]
    pub kubernetes: KubernetesConfig,
    /// Where tenant manifests are committed for the tenant operator.
    pub gitops: GitOpsConfig,
    /// How tenants are offboarded; without it, offboarding is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offboarding: Option<OffboardingConfig>,
    /// Team access through IAM Identity Center; without it, a request may not name teams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_center: Option<IdentityCenterConfig>,
}

/// How tenants are offboarded (`workflows/tenant-offboarding.asl.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OffboardingConfig {
    /// The OU an offboarded tenant's account moves to in phase one (a suspended OU, whose
    /// service control policies deny nearly everything).
    pub suspended_ou_id: String,
    /// How long phase one lasts before phase two removes things, in seconds (a new request
    /// for the tenant cancels the offboarding meanwhile). Seven days unless set.
    #[serde(default = "default_grace")]
    pub grace_period_seconds: u64,
    /// Accounts never offboarded, besides the management, network and cluster accounts,
    /// which are never offboarded anyway (a shared-services account, say).
    #[serde(default)]
    pub protected_accounts: Vec<String>,
}

/// `ou-xxxx-yyyyyyyy`: lower-case letters and digits.
fn is_ou_id(id: &str) -> bool {
    id.strip_prefix("ou-").is_some_and(|rest| {
        let parts: Vec<&str> = rest.split('-').collect();
        parts.len() == 2
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
    })
}

/// A week: the grace period unless the config sets one.
pub const DEFAULT_GRACE_SECONDS: u64 = 7 * 24 * 3600;

/// The longest grace period: a Standard execution lasts at most a year.
pub const MAX_GRACE_SECONDS: u64 = 180 * 24 * 3600;

fn default_grace() -> u64 {
    DEFAULT_GRACE_SECONDS
}

/// The account-creation cap unless the config says otherwise (AFT's).
pub const DEFAULT_CREATION_CAP: u32 = 5;

fn default_creation_cap() -> u32 {
    DEFAULT_CREATION_CAP
}

/// The defaults of a tenant's settings in the shared clusters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubernetesConfig {
    /// How many namespaces a tenant may create.
    pub namespace_quota: u32,
    /// Hard limits shared by a tenant's namespaces.
    #[serde(default)]
    pub resource_quota: BTreeMap<String, String>,
    /// Labels tenants' pods are scheduled on.
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    /// Allowed IngressClasses; the first is the default.
    #[serde(default)]
    pub ingress_classes: Vec<String>,
    /// Allowed ingress hostnames; `{tenant}` is replaced by the tenant id.
    #[serde(default)]
    pub ingress_hostnames: Vec<String>,
    /// Allowed StorageClasses; the first is the default.
    #[serde(default)]
    pub storage_classes: Vec<String>,
    /// The network isolation of tenant namespaces.
    pub network_policy_profile: NetworkPolicyProfile,
    /// Namespaces no tenant may reach: names, or prefixes followed by `*`. A tenant whose
    /// scope (`<id>`, `<id>-*`) would overlap one is refused. What EKS, Kubernetes and common
    /// add-ons install when absent (`crate::scope::default_reserved`).
    #[serde(default = "crate::scope::default_reserved")]
    pub reserved_namespaces: Vec<crate::scope::NamespacePattern>,
}

impl Default for KubernetesConfig {
    fn default() -> KubernetesConfig {
        KubernetesConfig {
            namespace_quota: 3,
            resource_quota: BTreeMap::new(),
            node_selector: BTreeMap::new(),
            ingress_classes: Vec::new(),
            ingress_hostnames: Vec::new(),
            storage_classes: Vec::new(),
            network_policy_profile: NetworkPolicyProfile::Isolated,
            reserved_namespaces: crate::scope::default_reserved(),
        }
    }
}

impl KubernetesConfig {
    /// A tenant's settings: these defaults, with what its request asks for.
    pub fn settings_for(
        &self,
        tenant: &str,
        asked: Option<&crate::request::KubernetesRequest>,
    ) -> KubernetesSettings {
        let asked = asked.cloned().unwrap_or_default();
        KubernetesSettings {
            namespace_quota: asked.namespace_quota.unwrap_or(self.namespace_quota),
            resource_quota: asked
                .resource_quota
                .unwrap_or_else(|| self.resource_quota.clone()),
            node_selector: self.node_selector.clone(),
            ingress: IngressSettings {
                classes: self.ingress_classes.clone(),
                hostnames: self
                    .ingress_hostnames
                    .iter()
                    .map(|h| h.replace("{tenant}", tenant))
                    .collect(),
            },
            storage_classes: self.storage_classes.clone(),
            network_policy_profile: asked
                .network_policy_profile
                .unwrap_or(self.network_policy_profile),
        }
    }
}

/// Where tenant manifests go: a git repository or an S3 bucket (what Flux's Bucket source
/// reads), with the same paths in both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum GitOpsConfig {
    /// A git repository.
    Git(GitDestinationConfig),
    /// An S3 bucket.
    S3(S3DestinationConfig),
}

impl GitOpsConfig {
    /// The folder (git) or key prefix (S3) under which the destination keeps tenants.
    pub fn root(&self) -> &str {
        match self {
            GitOpsConfig::Git(git) => &git.directory,
            GitOpsConfig::S3(s3) => &s3.prefix,
        }
    }
}

/// A git repository that Argo CD or Flux syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitDestinationConfig {
    /// The remote: `https://` (or `http://`), `git://` or `file://`. Not SSH: the hand-off
    /// bootstrap carries no SSH client (docs/deploy.md); use an HTTPS token instead.
    pub url: String,
    /// The branch hand-offs commit to.
    #[serde(default = "default_branch")]
    pub branch: String,
    /// The folder of the repository that holds `tenants/` and `records/` (empty: the root).
    #[serde(default)]
    pub directory: String,
    /// A Secrets Manager secret holding the HTTP credentials, `{"username", "password"}` (the
    /// password may be a token). None for open remotes.
    #[serde(default)]
    pub credentials_secret_arn: Option<String>,
    /// The commits' author.
    #[serde(default = "default_author_name")]
    pub author_name: String,
    /// The commits' author email.
    #[serde(default = "default_author_email")]
    pub author_email: String,
}

fn default_branch() -> String {
    "main".into()
}

fn default_author_name() -> String {
    "tenant-vending".into()
}

fn default_author_email() -> String {
    "tenant-vending@noreply.invalid".into()
}

/// An S3 bucket that Flux's Bucket source reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3DestinationConfig {
    /// The bucket.
    pub bucket: String,
    /// The key prefix that holds `tenants/` and `records/` (empty: the bucket's root).
    #[serde(default)]
    pub prefix: String,
}

/// True when the authority of `url` (`scheme://authority/path`) names a user.
fn has_user_info(url: &str) -> bool {
    url.split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or(""))
        .is_some_and(|authority| authority.contains('@'))
}

/// True for git's short SSH form, `user@host:path` (no scheme).
fn is_scp_like(url: &str) -> bool {
    !url.contains("://")
        && url
            .split_once(':')
            .is_some_and(|(host, _)| host.contains('@') && !host.contains('/'))
}

/// True for a relative folder path without `..`, `.` or empty parts (empty is the root).
pub fn is_relative_folder(s: &str) -> bool {
    s.is_empty()
        || s.split('/')
            .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains('\\'))
}

fn is_bucket_name(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
        && b.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && b.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric())
}

impl GitOpsConfig {
    fn check(&self, errs: &mut ValidationErrors) {
        match self {
            GitOpsConfig::Git(git) => {
                let scheme_ok = ["file://", "git://", "https://", "http://"]
                    .iter()
                    .any(|p| git.url.starts_with(p) && git.url.len() > p.len());
                if git.url.starts_with("ssh://") || is_scp_like(&git.url) {
                    errs.push(
                        "gitops.git.url",
                        format!(
                            "'{}' is an SSH remote, which the hand-off does not speak: use the repository's https:// URL with a token in gitops.git.credentialsSecretArn",
                            git.url
                        ),
                    );
                } else if !scheme_ok {
                    errs.push(
                        "gitops.git.url",
                        format!(
                            "'{}' is not an https://, http://, git:// or file:// URL",
                            git.url
                        ),
                    );
                } else if has_user_info(&git.url) {
                    // The config is not secret; the URL shows up in logs and errors.
                    errs.push(
                        "gitops.git.url",
                        "carries a user or password: put the credentials in the secret of gitops.git.credentialsSecretArn".to_owned(),
                    );
                }
                let branch_ok = !git.branch.is_empty()
                    && git.branch.split('/').all(|p| {
                        !p.is_empty()
                            && !p.starts_with('.')
                            && !p.ends_with(".lock")
                            && p.bytes().all(|b| {
                                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
                            })
                    })
                    && !git.branch.contains("..");
                if !branch_ok {
                    errs.push(
                        "gitops.git.branch",
                        format!("'{}' is not a branch name", git.branch),
                    );
                }
                if !is_relative_folder(&git.directory) {
                    errs.push(
                        "gitops.git.directory",
                        "must be a relative folder without '.' or '..' parts",
                    );
                }
                if let Some(arn) = &git.credentials_secret_arn
                    && !arn.starts_with("arn:aws:secretsmanager:")
                {
                    errs.push(
                        "gitops.git.credentialsSecretArn",
                        "must be a Secrets Manager secret ARN",
                    );
                }
                if git.author_name.trim().is_empty() || !git.author_email.contains('@') {
                    errs.push(
                        "gitops.git.authorEmail",
                        "needs a name and an email address",
                    );
                }
            }
            GitOpsConfig::S3(s3) => {
                if !is_bucket_name(&s3.bucket) {
                    errs.push(
                        "gitops.s3.bucket",
                        format!("'{}' is not an S3 bucket name", s3.bucket),
                    );
                }
                if !is_relative_folder(&s3.prefix) {
                    errs.push(
                        "gitops.s3.prefix",
                        "must be a relative key prefix without '.' or '..' parts",
                    );
                }
            }
        }
    }
}

/// How accounts created outside the portal (Control Tower, Organizations) become tenants. Only
/// accounts meant for the platform are adopted: those in an environment's OU, or (for
/// accounts Organizations creates at the root) those carrying `environmentTagKey` with an
/// environment's name. Any other account-created event ends quietly, as skipped
/// (`crate::trigger::adopt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdoptionConfig {
    /// The account tag whose value names the environment an account outside the environments'
    /// OUs is adopted into; none: such accounts are not adopted.
    #[serde(default)]
    pub environment_tag_key: Option<String>,
    /// The owners of an adopted tenant.
    pub default_owners: Vec<PrincipalArn>,
    /// The tags of an adopted tenant (they must satisfy `requiredTags`).
    pub default_tags: BTreeMap<String, String>,
}

/// One environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Environment {
    /// The organizational unit id its accounts are placed in (`ou-xxxx-yyyyyyyy`).
    pub ou_id: String,
    /// What every account of the environment gets beside its network and roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineConfig>,
}

/// Tenant networks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkConfig {
    /// The network account: it owns the transit gateway (shared with the organization through
    /// RAM) and its route tables.
    pub account_id: String,
    /// Where VPC ranges come from.
    pub pool: CidrPool,
    /// How many availability zones get subnets.
    pub availability_zones: u8,
    /// How much smaller than the VPC each subnet is (4 turns a /20 VPC into /24 subnets).
    pub subnet_prefix_delta: u8,
    /// The transit gateway tenant VPCs attach to.
    pub transit_gateway_id: String,
    /// The transit gateway route table the attachment is associated with.
    pub transit_gateway_route_table_id: String,
    /// Destinations routed to the transit gateway from tenant subnets.
    pub routes_to_transit_gateway: Vec<crate::cidr::Ipv4Cidr>,
    /// The S3 bucket (its ARN, `arn:aws:s3:::name`) that receives every tenant VPC's flow logs,
    /// usually in a log archive account.
    pub flow_logs_bucket_arn: String,
}

/// One shared cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterConfig {
    /// The cluster name.
    pub name: String,
    /// The account that runs it (the platform account).
    pub account_id: String,
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// The partition of a region: China and GovCloud have their own.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn has_prefix_and_hex(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl PlatformConfig {
    /// The AWS partition of the home region (`aws`, `aws-cn`, `aws-us-gov`): ARNs are built in it.
    pub fn partition(&self) -> &'static str {
        partition_of(&self.region)
    }

    /// What the account is to the platform, when it is one of the platform's own accounts the
    /// config names (the network account, a cluster account, a protected account): such an
    /// account is never offboarded. The management account is Organizations' to name.
    pub fn platform_account(&self, account: &str) -> Option<&'static str> {
        if let Some(what) = self.shared_account(account) {
            return Some(what);
        }
        self.offboarding
            .as_ref()
            .filter(|o| o.protected_accounts.iter().any(|a| a == account))
            .map(|_| "protected by the platform config (offboarding.protectedAccounts)")
    }

    /// What the account is when it holds what every tenant shares (the network account, a
    /// cluster account): such an account is never a tenant's, since a tenant's roles there
    /// would reach every other tenant.
    pub fn shared_account(&self, account: &str) -> Option<&'static str> {
        if account == self.network.account_id {
            return Some("the network account");
        }
        if self.clusters.iter().any(|c| c.account_id == account) {
            return Some("an account of the shared clusters");
        }
        None
    }

    /// The environment whose OU is `ou_id`, if any.
    pub fn environment_of_ou(&self, ou_id: &str) -> Option<&str> {
        self.environments
            .iter()
            .find(|(_, e)| e.ou_id == ou_id)
            .map(|(name, _)| name.as_str())
    }

    /// The AWS Backup baseline of an environment's accounts, if it has one.
    pub fn backup_of(&self, environment: &str) -> Option<&BackupConfig> {
        self.environments
            .get(environment)?
            .baseline
            .as_ref()?
            .backup
            .as_ref()
    }

    /// The AWS Config baseline of an environment's accounts, if it has one.
    pub fn config_of(&self, environment: &str) -> Option<&ConfigBaseline> {
        self.environments
            .get(environment)?
            .baseline
            .as_ref()?
            .config
            .as_ref()
    }

    /// The CloudTrail baseline of an environment's accounts, if it has one.
    pub fn trail_of(&self, environment: &str) -> Option<&TrailBaseline> {
        self.environments
            .get(environment)?
            .baseline
            .as_ref()?
            .trail
            .as_ref()
    }

    /// The account alias of a tenant.
    pub fn account_alias(&self, tenant: &crate::names::TenantId) -> String {
        self.account_alias_pattern
            .replace("{tenant}", tenant.as_str())
    }

    /// Parses and validates a config given as JSON text.
    pub fn from_json(text: &str) -> Result<PlatformConfig, ValidationErrors> {
        let config: PlatformConfig = serde_json::from_str(text).map_err(|e| {
            let mut errs = ValidationErrors::default();
            errs.push("config", format!("does not parse: {e}"));
            errs
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every rule the types cannot express.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        if let Some(off) = &self.offboarding {
            if !is_ou_id(&off.suspended_ou_id) {
                errs.push(
                    "offboarding.suspendedOuId",
                    format!(
                        "'{}' is not an OU id (ou-xxxx-yyyyyyyy)",
                        off.suspended_ou_id
                    ),
                );
            }
            if off.grace_period_seconds > MAX_GRACE_SECONDS {
                errs.push(
                    "offboarding.gracePeriodSeconds",
                    format!("must be at most {MAX_GRACE_SECONDS} (180 days)"),
                );
            }
            for a in &off.protected_accounts {
                if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                    errs.push(
                        "offboarding.protectedAccounts",
                        format!("'{a}' is not a 12-digit account id"),
                    );
                }
            }
        }
        if !is_region(&self.region) {
            errs.push(
                "region",
                format!("'{}' is not an AWS region name", self.region),
            );
        }
        if self.regions.is_empty() {
            errs.push("regions", "must name at least one region");
        }
        for r in &self.regions {
            if !is_region(r) {
                errs.push("regions", format!("'{r}' is not an AWS region name"));
            }
        }
        if !(1..=20).contains(&self.max_concurrent_account_creations) {
            errs.push(
                "maxConcurrentAccountCreations",
                format!(
                    "must be 1 to 20 (it is {})",
                    self.max_concurrent_account_creations
                ),
            );
        }
        if self.member_role_name.is_empty() || self.member_role_name.len() > 64 {
            errs.push(
                "memberRoleName",
                "must be an IAM role name of 1 to 64 characters",
            );
        }
        if !self.account_email_pattern.contains("{tenant}")
            || !self.account_email_pattern.contains('@')
        {
            errs.push(
                "accountEmailPattern",
                "must contain '{tenant}' and '@' (aws+{tenant}@example.com)",
            );
        }
        let alias_ok = self.account_alias_pattern.contains("{tenant}")
            && self.account_alias_pattern.len() <= 31
            && !self.account_alias_pattern.starts_with('-')
            && !self.account_alias_pattern.ends_with('-')
            && self
                .account_alias_pattern
                .replace("{tenant}", "")
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !alias_ok {
            errs.push(
                "accountAliasPattern",
                "must contain '{tenant}', at most 31 characters, only lowercase letters, digits and '-' (acme-{tenant}), so every tenant's alias fits IAM's 63",
            );
        }
        if self.environments.is_empty() {
            errs.push("environments", "must define at least one environment");
        }
        for (name, env) in &self.environments {
            if !is_ou_id(&env.ou_id) {
                errs.push(
                    format!("environments.{name}.ouId"),
                    format!("'{}' is not an OU id (ou-xxxx-yyyyyyyy)", env.ou_id),
                );
            }
            if let Some(baseline) = &env.baseline {
                baseline.check(&format!("environments.{name}.baseline"), &mut errs);
            }
        }
        let n = &self.network;
        if let Err(e) = n.pool.check() {
            errs.push("network.pool", e);
        }
        if !(1..=6).contains(&n.availability_zones) {
            errs.push("network.availabilityZones", "must be between 1 and 6");
        }
        let smallest_subnet =
            u16::from(n.pool.max_prefix_length) + u16::from(n.subnet_prefix_delta);
        if n.subnet_prefix_delta == 0 || smallest_subnet > 28 {
            errs.push(
                "network.subnetPrefixDelta",
                "must be at least 1 and keep subnets of the smallest VPC at /28 or larger",
            );
        }
        if (1u32 << n.subnet_prefix_delta) < u32::from(n.availability_zones) {
            errs.push(
                "network.subnetPrefixDelta",
                "leaves fewer subnets than availability zones",
            );
        }
        if !has_prefix_and_hex(&n.transit_gateway_id, "tgw-") {
            errs.push(
                "network.transitGatewayId",
                "must be a transit gateway id (tgw-...)",
            );
        }
        if !has_prefix_and_hex(&n.transit_gateway_route_table_id, "tgw-rtb-") {
            errs.push(
                "network.transitGatewayRouteTableId",
                "must be a transit gateway route table id (tgw-rtb-...)",
            );
        }
        if !is_account_id(&n.account_id) {
            errs.push("network.accountId", "must be a 12-digit account id");
        }
        let bucket_ok = n
            .flow_logs_bucket_arn
            .strip_prefix("arn:aws:s3:::")
            .is_some_and(is_bucket_name);
        if !bucket_ok {
            errs.push(
                "network.flowLogsBucketArn",
                "must be an S3 bucket ARN (arn:aws:s3:::bucket-name)",
            );
        }
        let units = n
            .pool
            .max_prefix_length
            .saturating_sub(n.pool.min_prefix_length);
        if units > 6 {
            errs.push(
                "network.pool",
                "minPrefixLength and maxPrefixLength may differ by at most 6 (a block is claimed as at most 64 units in one transaction)",
            );
        }
        self.identity.check(&mut errs);
        if let Some(ic) = &self.identity_center {
            ic.check(&self.identity.roles, &mut errs);
        }
        if self.clusters.is_empty() {
            errs.push("clusters", "must name at least one shared cluster");
        }
        for (i, c) in self.clusters.iter().enumerate() {
            if c.name.is_empty() || c.name.len() > 100 {
                errs.push(
                    format!("clusters[{i}].name"),
                    "must be an EKS cluster name of 1 to 100 characters",
                );
            }
            if !is_account_id(&c.account_id) {
                errs.push(
                    format!("clusters[{i}].accountId"),
                    "must be a 12-digit account id",
                );
            }
        }
        if let Some(key) = &self.adoption.environment_tag_key
            && let Err(list) = crate::names::Tags::validate(
                &BTreeMap::from([(key.clone(), String::new())]),
                "adoption.environmentTagKey",
            )
        {
            errs.errors.extend(list);
        }
        if self.adoption.default_owners.is_empty() {
            errs.push("adoption.defaultOwners", "must name at least one owner");
        }
        for required in &self.required_tags {
            if !self.adoption.default_tags.contains_key(required) {
                errs.push(
                    format!("adoption.defaultTags.{required}"),
                    "is required by requiredTags",
                );
            }
        }
        for (i, pattern) in self.kubernetes.ingress_hostnames.iter().enumerate() {
            if !pattern.contains("{tenant}") {
                errs.push(
                    format!("kubernetes.ingressHostnames[{i}]"),
                    "must contain '{tenant}' so tenants do not share hostnames",
                );
            }
        }
        self.kubernetes
            .settings_for("tenant", None)
            .check("kubernetes", &mut errs);
        self.gitops.check(&mut errs);
        errs.into_result(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A valid config, shared by the tests of this crate.
    pub(crate) fn sample() -> serde_json::Value {
        json!({
            "region": "eu-west-1",
            "regions": ["eu-west-1", "eu-central-1"],
            "memberRoleName": "OrganizationAccountAccessRole",
            "accountEmailPattern": "aws+{tenant}@example.com",
            "accountAliasPattern": "acme-{tenant}",
            "environments": {"dev": {"ouId": "ou-ab12-dev00001"}, "prod": {"ouId": "ou-ab12-prod0001"}},
            "requiredTags": ["CostCenter"],
            "network": {
                "pool": {"cidr": "10.64.0.0/12", "defaultPrefixLength": 20, "minPrefixLength": 18, "maxPrefixLength": 22},
                "availabilityZones": 3,
                "subnetPrefixDelta": 2,
                "transitGatewayId": "tgw-0123456789abcdef0",
                "transitGatewayRouteTableId": "tgw-rtb-0123456789abcdef0",
                "routesToTransitGateway": ["10.0.0.0/8"],
                "accountId": "210987654321",
                "flowLogsBucketArn": "arn:aws:s3:::org-vpc-flow-logs"
            },
            "identity": {
                "permissionsBoundary": {"customerManaged": {"name": "tenant-boundary"}},
                "trustedPrincipals": ["arn:aws:iam::123456789012:role/platform-admins"],
                "roles": [
                    {"name": "admin", "managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"], "kubernetesGroup": "tenant:{tenant}:admins", "tenantOwner": true},
                    {"name": "deploy", "managedPolicyArns": [], "kubernetesGroup": "tenant:{tenant}:deployers", "clusterRole": "edit"},
                    {"name": "read-only", "managedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"], "kubernetesGroup": "tenant:{tenant}:viewers", "trustedBy": ["owners", "viewers"]}
                ]
            },
            "clusters": [
                {"name": "shared-eu-1", "accountId": "345678901234"},
                {"name": "shared-eu-2", "accountId": "345678901234"}
            ],
            "adoption": {
                "environmentTagKey": "TenantEnvironment",
                "defaultOwners": ["arn:aws:iam::123456789012:role/platform-admins"],
                "defaultTags": {"CostCenter": "platform"}
            },
            "kubernetes": {
                "namespaceQuota": 5,
                "resourceQuota": {"requests.cpu": "8", "requests.memory": "16Gi", "pods": "200"},
                "nodeSelector": {"node.acme.io/pool": "tenants"},
                "ingressClasses": ["nginx"],
                "ingressHostnames": ["{tenant}.apps.example.com"],
                "storageClasses": ["gp3", "gp3-encrypted"],
                "networkPolicyProfile": "isolated"
            },
            "gitops": {"git": {"url": "https://git.example.com/platform/tenants.git", "credentialsSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gitops-AbCdEf"}}
        })
    }

    #[test]
    fn arns_are_built_in_the_partition_of_the_home_region() {
        for (region, partition) in [
            ("eu-west-1", "aws"),
            ("cn-north-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
        ] {
            assert_eq!(partition_of(region), partition, "{region}");
        }
    }

    #[test]
    fn the_sample_config_is_valid() {
        let c = PlatformConfig::from_json(&sample().to_string()).expect("valid");
        assert_eq!(c.identity.roles.len(), 3);
    }

    #[test]
    fn bad_configs_fail_with_every_field_named() {
        let mut bad = sample();
        bad["region"] = json!("Ireland");
        bad["environments"]["dev"]["ouId"] = json!("Workloads/Dev");
        bad["network"]["subnetPrefixDelta"] = json!(1);
        bad["network"]["transitGatewayId"] = json!("tgw-zz");
        bad["identity"]["roles"][1]["name"] = json!("admin");
        bad["clusters"][0]["accountId"] = json!("x");
        bad["kubernetes"]["resourceQuota"]["requests.memory"] = json!("16GB");
        bad["gitops"]["git"]["branch"] = json!("main..x");
        let errs = PlatformConfig::from_json(&bad.to_string()).expect_err("invalid");
        let fields: Vec<&str> = errs.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "region",
                "environments.dev.ouId",
                "network.subnetPrefixDelta",
                "network.transitGatewayId",
                "identity.roles[1].name",
                "clusters[0].accountId",
                "kubernetes.resourceQuota.requests.memory",
                "gitops.git.branch"
            ]
        );
        let mut unknown = sample();
        unknown["surprise"] = json!(1);
        let errs = PlatformConfig::from_json(&unknown.to_string()).expect_err("unknown field");
        assert!(errs.to_string().contains("surprise"), "{errs}");
    }

    #[test]
    fn git_remotes_are_http_git_or_file_and_ssh_is_refused_by_name() {
        for url in [
            "https://git.example.com/platform/tenants.git",
            "http://127.0.0.1:8080/tenants.git",
            "git://127.0.0.1/tenants.git",
            "file:///srv/git/tenants.git",
            "https://git.example.com/acme/a@b.git",
        ] {
            let mut c = sample();
            c["gitops"]["git"]["url"] = json!(url);
            PlatformConfig::from_json(&c.to_string()).expect(url);
        }
        for (url, says) in [
            ("ssh://git@github.com/acme/tenants.git", "SSH remote"),
            ("git@github.com:acme/tenants.git", "SSH remote"),
            ("ftp://example.com/tenants.git", "is not an https://"),
            ("https://", "is not an https://"),
            (
                "https://bot:t0ken@git.example.com/a.git",
                "carries a user or password",
            ),
        ] {
            let mut c = sample();
            c["gitops"]["git"]["url"] = json!(url);
            let errs = PlatformConfig::from_json(&c.to_string()).expect_err(url);
            assert_eq!(errs.errors.len(), 1, "{errs}");
            assert_eq!(errs.errors[0].field, "gitops.git.url");
            assert!(errs.to_string().contains(says), "{url}: {errs}");
        }
    }
}
