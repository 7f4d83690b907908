//! What a request would do, worked out without changing anything (`vend plan`, `POST /plans`):
//! the account it creates, adopts or keeps, its OU and tags, the VPC block it would get, the
//! roles with their boundary and trust, the access entries per cluster, and, for a tenant that
//! exists, how the record it would hand off differs from the one it has. The planned record is
//! built by the same code the hand-off uses (`TenantRecord::assemble`), so a plan and a run
//! cannot disagree on what the request asks; what only AWS will tell (a new account's id, a
//! VPC's id) is written `(known after apply)`, as Terraform writes it.
//!
//! The manifests' diff is the caller's to add (`tenant_manifests::changes`): rendering lives in
//! that crate, which builds on this one.

use crate::PlatformConfig;
use crate::cidr::Ipv4Cidr;
use crate::config::RoleTemplate;
use crate::error::{StepError, ValidationErrors};
use crate::names::{PrincipalArn, TenantId};
use crate::ports::RoleSpec;
use crate::record::TenantRecord;
use crate::registry::{RegistryEntry, TenantStatus};
use crate::request::{AccountTarget, TenantSpec};
use crate::steps::{
    AccessRecord, ClusterRecord, IdentityRecord, NetworkRecord, RoleRecord, SubnetRecord,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What stands where only the run will know the value.
pub const KNOWN_AFTER: &str = "(known after apply)";

/// What the request does to the tenant as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum PlanAction {
    /// A tenant the registry does not hold yet.
    Create,
    /// An existing tenant whose record would change.
    Update,
    /// An existing tenant that already is what the request asks.
    Unchanged,
}

/// Where the tenant's account comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum AccountAction {
    /// `CreateAccount` with the root email.
    Create,
    /// An account that exists, named by the request or an account-created event.
    Adopt,
    /// The account the tenant already has.
    Keep,
}

/// The account part of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccountPlan {
    /// Create, adopt or keep.
    pub action: AccountAction,
    /// The account id, or `(known after apply)` for a new account.
    pub account_id: String,
    /// The root email of a new account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The OU the account is placed in.
    pub ou_id: String,
    /// The account's IAM alias (kept when an adopted account has one already).
    pub alias: String,
    /// The tags the account carries: the request's and the service's.
    pub tags: BTreeMap<String, String>,
}

/// Whether the VPC block is the tenant's already or would be claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum NetworkAction {
    /// The first free block of the tenant's candidates, claimed when the run gets there.
    Claim,
    /// The block the tenant holds.
    Keep,
}

/// The network part of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NetworkPlan {
    /// Claim or keep.
    pub action: NetworkAction,
    /// The block; absent when the pool has none of this size left (the run would fail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<Ipv4Cidr>,
    /// The prefix length asked for.
    pub prefix_length: u8,
    /// The VPC's region.
    pub region: String,
}

/// One tenant role as the run would make it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RolePlan {
    /// The template it is made from.
    pub template: String,
    /// The role's name.
    pub name: String,
    /// Its ARN (the account's id may be `(known after apply)`).
    pub arn: String,
    /// The permissions boundary it is created under.
    pub boundary_arn: String,
    /// The principals its trust policy names.
    pub trusted: Vec<String>,
    /// The managed policies attached.
    pub managed_policy_arns: Vec<String>,
    /// The Kubernetes group its access entries map it to.
    pub kubernetes_group: String,
}

/// One team assignment as AssignTeams would leave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TeamPlan {
    /// The role kind (`owners`, `viewers`, ...).
    pub kind: String,
    /// The permission set assigned, by name.
    pub permission_set: String,
    /// The Identity Store groups assigned it, by name.
    pub groups: Vec<String>,
    /// The `AWSReservedSSO_` role the assignment makes, or `(known after apply)`.
    pub role_arn: String,
    /// The role template whose cluster access the role shares, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_access: Option<String>,
}

/// An environment's account baseline as ProvisionIdentity would ensure it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BaselinePlan {
    /// AWS Backup, where the environment's baseline has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupPlan>,
    /// AWS Config, where the environment's baseline has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigPlan>,
    /// The trail, where the environment's baseline has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail: Option<TrailPlan>,
}

/// The account's AWS Config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConfigPlan {
    /// Who owns the recorder and its channel (`service`, `controlTower`).
    pub mode: String,
    /// `service` mode: the bucket the delivery channel writes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_bucket: Option<String>,
    /// The managed rules, by name.
    pub rules: Vec<String>,
}

/// The account's trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TrailPlan {
    /// Who owns it (`service`, `controlTower`: the organization trail).
    pub mode: String,
    /// `service` mode: the bucket it writes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
}

/// The account's AWS Backup vault, plan and selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BackupPlan {
    /// The vault.
    pub vault_name: String,
    /// The plan.
    pub plan_name: String,
    /// Its rules: name, schedule, and how many days a recovery point is kept.
    pub rules: Vec<BackupRulePlan>,
    /// The selection: resources tagged `key=value`.
    pub selection_tag: String,
    /// The role AWS Backup backs up with (the account's id may be `(known after apply)`).
    pub role_arn: String,
}

/// One rule of a backup plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BackupRulePlan {
    /// Its name.
    pub name: String,
    /// Its cron schedule, in UTC.
    pub schedule: String,
    /// How many days its recovery points are kept.
    pub delete_after_days: u32,
}

/// One access entry as the run would make it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccessEntryPlan {
    /// The tenant role.
    pub principal_arn: String,
    /// Its Kubernetes groups.
    pub kubernetes_groups: Vec<String>,
    /// The namespace-scoped access policy.
    pub access_policy_arn: String,
}

/// One shared cluster's part of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClusterPlan {
    /// The cluster.
    pub name: String,
    /// The account that runs it.
    pub account_id: String,
    /// The namespaces the access policies are scoped to.
    pub namespaces: Vec<String>,
    /// An entry per tenant role.
    pub entries: Vec<AccessEntryPlan>,
}

/// One field of the record that would change, by its JSON path (`identity.owners[1]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    /// Where in the record.
    pub path: String,
    /// What it is now; absent for a field the record does not have yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Value>,
    /// What it would be; absent for a field that would go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Value>,
}

/// What happens to one file of the GitOps destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum FileAction {
    /// A new file.
    Add,
    /// A file whose bytes change.
    Modify,
    /// A file the tenant's folder would lose.
    Delete,
    /// The same bytes.
    Unchanged,
}

/// One file of the hand-off and its diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ManifestChange {
    /// The path under the destination's root.
    pub path: String,
    /// What happens to it.
    pub action: FileAction,
    /// A unified diff (`---`/`+++` headers, three lines of context); empty when unchanged.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub diff: String,
}

/// What a request would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The request planned.
    pub request_id: String,
    /// Its environment.
    pub environment: String,
    /// Create, update or nothing.
    pub action: PlanAction,
    /// Where the tenant stands now; absent for a new tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TenantStatus>,
    /// The generation the handed-off record would have.
    pub generation: u64,
    /// The account.
    pub account: AccountPlan,
    /// The VPC block.
    pub network: NetworkPlan,
    /// The tenant roles.
    pub roles: Vec<RolePlan>,
    /// The teams' Identity Center assignments.
    #[serde(default)]
    pub teams: Vec<TeamPlan>,
    /// The access entries per shared cluster.
    pub clusters: Vec<ClusterPlan>,
    /// The environment's account baseline; absent where it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselinePlan>,
    /// For an existing tenant, each field of its record that would change.
    pub changes: Vec<FieldChange>,
    /// The files the hand-off would write, against what the last hand-off wrote.
    pub manifests: Vec<ManifestChange>,
    /// What the run would refuse or leave as it is, in sentences.
    pub warnings: Vec<String>,
}

/// A plan with the two records behind it, for the caller to render and compare.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The plan, without its manifests yet.
    pub plan: Plan,
    /// The record the run would hand off (with `(known after apply)` where AWS decides).
    pub record: TenantRecord,
    /// The record the tenant has, when it has one.
    pub previous: Option<TenantRecord>,
}

/// The roles the tenant gets in `account_id`, as the config and the request say: what
/// ProvisionIdentity ensures and what a plan shows.
pub fn role_specs(config: &PlatformConfig, spec: &TenantSpec, account_id: &str) -> Vec<RoleSpec> {
    let tags = spec.all_tags();
    config
        .identity
        .roles
        .iter()
        .map(|template| {
            role_spec(
                config,
                template,
                &spec.role_name(&template.name),
                &spec.owners,
                &spec.viewers,
                &tags,
                account_id,
            )
        })
        .collect()
}

/// One role of `template` named `name` in `account_id`, for these owners, viewers and tags
/// (also what drift expects of a record's role).
pub fn role_spec(
    config: &PlatformConfig,
    template: &RoleTemplate,
    name: &str,
    owners: &[PrincipalArn],
    viewers: &[PrincipalArn],
    tags: &BTreeMap<String, String>,
    account_id: &str,
) -> RoleSpec {
    let id = &config.identity;
    RoleSpec {
        name: name.to_owned(),
        boundary_arn: id
            .permissions_boundary
            .arn_in(config.partition(), account_id),
        trusted: id.trusted_for(template, owners, viewers),
        managed_policy_arns: template.managed_policy_arns.clone(),
        tags: tags.clone(),
    }
}

/// What `spec` asks of an existing tenant that does not change in place, as the request field
/// and why: its account once it has one (and so the environment whose OU holds it), and its
/// VPC's size once its block is claimed. Empty for a new tenant. `POST /tenants` refuses such a
/// request (a 400 naming each field) before anything starts; a plan says it would.
pub fn immovable(spec: &TenantSpec, entry: Option<&RegistryEntry>) -> ValidationErrors {
    let mut errs = ValidationErrors::default();
    // A tenant whose account was closed starts a new line: nothing of the old one binds it.
    let Some(entry) = entry.filter(|e| !e.account_closed()) else {
        return errs;
    };
    if let Some(id) = &entry.account_id {
        if let AccountTarget::Adopt { account_id, .. } = &spec.account
            && account_id != id
        {
            errs.push(
                "accountId",
                format!(
                    "the tenant's account is {id}: a tenant's account does not change in place"
                ),
            );
        }
        if let Some(env) = &entry.environment
            && *env != spec.environment
        {
            errs.push(
                "environment",
                format!(
                    "the tenant is in '{env}', whose OU holds its account: an environment does not change in place"
                ),
            );
        }
    }
    if let Some(cidr) = entry.cidr
        && cidr.prefix() != spec.prefix_length
    {
        errs.push(
            "network.prefixLength",
            format!(
                "the tenant's VPC is {cidr}: a VPC's size does not change in place (it stays /{})",
                cidr.prefix()
            ),
        );
    }
    errs
}

fn known_after() -> String {
    KNOWN_AFTER.to_owned()
}

/// The account part: the tenant's account when it has one, else the request's.
fn account(
    config: &PlatformConfig,
    spec: &TenantSpec,
    entry: Option<&RegistryEntry>,
    warnings: &mut Vec<String>,
) -> AccountPlan {
    let held = entry
        .filter(|e| !e.account_closed())
        .and_then(|e| e.account_id.clone());
    let (action, account_id, email) = match (&held, &spec.account) {
        (Some(id), _) => (AccountAction::Keep, id.clone(), None),
        (None, AccountTarget::Create { email }) => (
            AccountAction::Create,
            known_after(),
            Some(email.as_str().to_owned()),
        ),
        (None, AccountTarget::Adopt { account_id, .. }) => {
            (AccountAction::Adopt, account_id.clone(), None)
        }
    };
    if action == AccountAction::Create
        && entry.is_some_and(|e| e.create_account_request_id.is_some())
    {
        warnings.push(
            "account: a CreateAccount request for this tenant is in progress; the run follows it instead of asking again".to_owned(),
        );
    }
    AccountPlan {
        action,
        account_id,
        email,
        ou_id: spec.ou_id.clone(),
        alias: config.account_alias(&spec.tenant_id),
        tags: spec.all_tags(),
    }
}

/// The network part: the block the tenant holds, else its first free candidate.
fn network(
    config: &PlatformConfig,
    spec: &TenantSpec,
    entry: Option<&RegistryEntry>,
    claimed: &[(Ipv4Cidr, TenantId)],
    previous: Option<&TenantRecord>,
    warnings: &mut Vec<String>,
) -> NetworkPlan {
    let pool = &config.network.pool;
    // A tenant whose account was closed claims a block anew (its held one may come back).
    let held = if entry.is_some_and(RegistryEntry::account_closed) {
        None
    } else {
        entry.and_then(|e| e.cidr).or_else(|| {
            claimed
                .iter()
                .find(|(_, owner)| *owner == spec.tenant_id)
                .map(|(cidr, _)| *cidr)
        })
    };
    let (action, cidr) = match held {
        Some(cidr) => (NetworkAction::Keep, Some(cidr)),
        None => {
            let taken: Vec<Ipv4Cidr> = claimed
                .iter()
                .filter(|(_, owner)| *owner != spec.tenant_id)
                .map(|(cidr, _)| *cidr)
                .collect();
            let free = pool.first_free(&spec.tenant_id, spec.prefix_length, &taken);
            if free.is_none() {
                warnings.push(format!(
                    "network.prefixLength: the pool {} has no free /{} left: the run would fail at ProvisionNetwork",
                    pool.cidr, spec.prefix_length
                ));
            }
            (NetworkAction::Claim, free)
        }
    };
    NetworkPlan {
        action,
        cidr,
        prefix_length: spec.prefix_length,
        region: previous.map_or_else(|| config.region.clone(), |p| p.network.region.clone()),
    }
}

/// The network record the run would leave: the tenant's own where it has one, with `(known
/// after apply)` for ids AWS gives.
fn network_record(
    config: &PlatformConfig,
    plan: &NetworkPlan,
    previous: Option<&TenantRecord>,
) -> NetworkRecord {
    if let Some(prev) = previous {
        return prev.network.clone();
    }
    let n = &config.network;
    let cidr = plan.cidr.unwrap_or(n.pool.cidr);
    let subnet_prefix = cidr.prefix() + n.subnet_prefix_delta;
    NetworkRecord {
        region: plan.region.clone(),
        vpc_id: known_after(),
        cidr,
        subnets: (0..u64::from(n.availability_zones))
            .filter_map(|i| cidr.nth_subnet(subnet_prefix, i))
            .map(|c| SubnetRecord {
                id: known_after(),
                zone: known_after(),
                cidr: c,
            })
            .collect(),
        transit_gateway_id: n.transit_gateway_id.clone(),
        transit_gateway_attachment_id: known_after(),
        routes_to_transit_gateway: n.routes_to_transit_gateway.clone(),
        flow_log_id: known_after(),
    }
}

/// `arn:<partition>:iam::<account>:role/<name>`, as IAM answers for a role at the root path.
fn role_arn(config: &PlatformConfig, account_id: &str, name: &str) -> String {
    format!("arn:{}:iam::{account_id}:role/{name}", config.partition())
}

/// Each leaf of two JSON documents that differs, by path.
fn differences(path: &str, from: Option<&Value>, to: Option<&Value>, out: &mut Vec<FieldChange>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match (from, to) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                differences(&join(key), a.get(key), b.get(key), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(&format!("{path}[{i}]"), Some(x), Some(y), out);
            }
        }
        (a, b) if a != b => out.push(FieldChange {
            path: path.to_owned(),
            from: a.cloned(),
            to: b.cloned(),
        }),
        _ => {}
    }
}

/// The fields of `next` that differ from `previous`, leaving out who made it (provenance).
pub fn record_changes(previous: &TenantRecord, next: &TenantRecord) -> Vec<FieldChange> {
    let strip = |r: &TenantRecord| {
        let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("provenance");
        }
        v
    };
    let mut out = Vec::new();
    differences("", Some(&strip(previous)), Some(&strip(next)), &mut out);
    out
}

/// The plan of `spec`, from the tenant's registry entry (if any) and the VPC blocks claimed by
/// every tenant. Reads nothing and writes nothing itself.
pub fn plan(
    config: &PlatformConfig,
    spec: &TenantSpec,
    entry: Option<&RegistryEntry>,
    claimed: &[(Ipv4Cidr, TenantId)],
) -> Result<Planned, StepError> {
    let mut warnings: Vec<String> = immovable(spec, entry)
        .errors
        .into_iter()
        .map(|e| format!("{}: {} (the request would be refused)", e.field, e.reason))
        .collect();
    let previous = entry
        .and_then(|e| e.record.as_deref())
        .map(|text| {
            serde_json::from_str::<TenantRecord>(text).map_err(|e| {
                StepError::Internal(format!(
                    "the registry's record of {} cannot be read: {e}",
                    spec.tenant_id
                ))
            })
        })
        .transpose()?;
    let account = account(config, spec, entry, &mut warnings);
    let network = network(
        config,
        spec,
        entry,
        claimed,
        previous.as_ref(),
        &mut warnings,
    );
    let roles: Vec<RolePlan> = role_specs(config, spec, &account.account_id)
        .into_iter()
        .zip(&config.identity.roles)
        .map(|(role, template)| RolePlan {
            template: template.name.clone(),
            arn: role_arn(config, &account.account_id, &role.name),
            name: role.name,
            boundary_arn: role.boundary_arn,
            trusted: role.trusted,
            managed_policy_arns: role.managed_policy_arns,
            kubernetes_group: template.kubernetes_group_for(spec.tenant_id.as_str()),
        })
        .collect();
    let namespaces = spec.namespaces();
    let partition = config.partition();
    let teams = planned_teams(config, spec, &account.account_id, previous.as_ref());
    // Each role's entry, then each team role's that shares a template's cluster access (a
    // team role not made yet is `(known after apply)`).
    let mut principals: Vec<(String, &str)> = roles
        .iter()
        .map(|r| (r.arn.clone(), r.template.as_str()))
        .collect();
    principals.extend(teams.assignments.iter().filter_map(|a| {
        let arn = a
            .role_arn
            .clone()
            .unwrap_or_else(|| unknown_team_role(&a.permission_set));
        Some((arn, a.cluster_access.as_deref()?))
    }));
    let mut clusters = Vec::new();
    for cluster in &config.clusters {
        let mut entries = Vec::new();
        for (arn, template) in &principals {
            let template = config.identity.template(template)?;
            entries.push(AccessEntryPlan {
                principal_arn: arn.clone(),
                kubernetes_groups: vec![template.kubernetes_group_for(spec.tenant_id.as_str())],
                access_policy_arn: template.access_policy().arn(partition),
            });
        }
        clusters.push(ClusterPlan {
            name: cluster.name.clone(),
            account_id: cluster.account_id.clone(),
            namespaces: namespaces.clone(),
            entries,
        });
    }
    let identity = IdentityRecord {
        roles: roles
            .iter()
            .map(|r| RoleRecord {
                template: r.template.clone(),
                arn: r.arn.clone(),
                kubernetes_group: r.kubernetes_group.clone(),
            })
            .collect(),
        backup: None,
        config: None,
        trail: None,
    };
    let access = AccessRecord {
        clusters: clusters
            .iter()
            .map(|c| ClusterRecord {
                name: c.name.clone(),
                arn: format!(
                    "arn:{partition}:eks:{}:{}:cluster/{}",
                    config.region, c.account_id, c.name
                ),
                access_entries: c
                    .entries
                    .iter()
                    .map(|e| {
                        // An entry the tenant has keeps its ARN (the record lists a
                        // cluster's entries in its roles' order, then its team roles'); a new
                        // one's is EKS's to give.
                        previous
                            .as_ref()
                            .and_then(|p| {
                                let i = p
                                    .identity
                                    .roles
                                    .iter()
                                    .map(|r| r.arn.as_str())
                                    .chain(p.identity.teams.iter().filter_map(|t| {
                                        t.kubernetes_group.as_ref()?;
                                        Some(t.role_arn.as_str())
                                    }))
                                    .position(|arn| arn == e.principal_arn)?;
                                p.clusters
                                    .iter()
                                    .find(|pc| pc.name == c.name)?
                                    .access_entries
                                    .get(i)
                            })
                            .cloned()
                            .unwrap_or_else(known_after)
                    })
                    .collect(),
                namespaces: c.namespaces.clone(),
            })
            .collect(),
    };
    let record = TenantRecord::assemble(
        config,
        spec.clone(),
        account.account_id.clone(),
        network_record(config, &network, previous.as_ref()),
        identity,
        &teams,
        access,
    )?
    .with_generation_after(previous.as_ref());
    let (action, changes) = match &previous {
        None => (PlanAction::Create, Vec::new()),
        Some(prev) => {
            let changes = record_changes(prev, &record);
            let action = if changes.is_empty() {
                PlanAction::Unchanged
            } else {
                PlanAction::Update
            };
            (action, changes)
        }
    };
    let baseline = baseline(config, spec, &account.account_id);
    Ok(Planned {
        plan: Plan {
            tenant_id: spec.tenant_id.clone(),
            request_id: spec.request_id.clone(),
            environment: spec.environment.clone(),
            action,
            status: entry.map(|e| e.status),
            generation: record.generation,
            account,
            network,
            roles,
            teams: teams
                .assignments
                .iter()
                .map(|a| TeamPlan {
                    kind: a.kind.clone(),
                    permission_set: a.permission_set.clone(),
                    groups: a.groups.iter().map(|g| g.name.clone()).collect(),
                    role_arn: a
                        .role_arn
                        .clone()
                        .unwrap_or_else(|| unknown_team_role(&a.permission_set)),
                    cluster_access: a.cluster_access.clone(),
                })
                .collect(),
            clusters,
            baseline,
            changes,
            manifests: Vec::new(),
            warnings,
        },
        record,
        previous,
    })
}

/// The environment's baseline as ProvisionIdentity ensures it in `account_id`.
fn baseline(config: &PlatformConfig, spec: &TenantSpec, account_id: &str) -> Option<BaselinePlan> {
    let env = &spec.environment;
    let plan = BaselinePlan {
        backup: config
            .backup_of(env)
            .map(|backup| backup_plan(config, backup, account_id)),
        config: config.config_of(env).map(|c| ConfigPlan {
            mode: c.mode.as_str().to_owned(),
            delivery_bucket: c.delivery_bucket.clone(),
            rules: c.rules.iter().map(|r| r.name.clone()).collect(),
        }),
        trail: config.trail_of(env).map(|t| TrailPlan {
            mode: t.mode.as_str().to_owned(),
            bucket: t.bucket.clone(),
        }),
    };
    (plan.backup.is_some() || plan.config.is_some() || plan.trail.is_some()).then_some(plan)
}

fn backup_plan(
    config: &PlatformConfig,
    backup: &crate::config::BackupConfig,
    account_id: &str,
) -> BackupPlan {
    BackupPlan {
        vault_name: backup.vault_name.clone(),
        plan_name: backup.plan_name.clone(),
        rules: backup
            .rules
            .iter()
            .map(|r| BackupRulePlan {
                name: r.name.clone(),
                schedule: r.schedule.clone(),
                delete_after_days: r.delete_after_days,
            })
            .collect(),
        selection_tag: format!(
            "{}={}",
            backup.selection_tag.key, backup.selection_tag.value
        ),
        role_arn: backup.role_arn(config.partition(), account_id),
    }
}

/// The role a permission set's first assignment will make: Identity Center names it
/// `AWSReservedSSO_<permission set>_<random suffix>`, so only its prefix is known before.
fn unknown_team_role(permission_set: &str) -> String {
    format!("AWSReservedSSO_{permission_set}_* {KNOWN_AFTER}")
}

/// The teams the request names, as AssignTeams would leave them: a kind the tenant has with
/// the same permission set keeps its role; a new one's role is Identity Center's to make.
fn planned_teams(
    config: &PlatformConfig,
    spec: &TenantSpec,
    account_id: &str,
    previous: Option<&TenantRecord>,
) -> crate::steps::TeamsRecord {
    let mut teams = crate::steps::TeamsRecord::none(account_id);
    let Some(ic) = &config.identity_center else {
        return teams;
    };
    for template in &ic.assignments {
        let Some(names) = spec.teams.get(&template.kind) else {
            continue;
        };
        let role_arn = previous.and_then(|p| {
            p.identity
                .teams
                .iter()
                .find(|t| t.kind == template.kind && t.permission_set == template.permission_set)
                .map(|t| t.role_arn.clone())
        });
        teams.assignments.push(crate::steps::TeamAssignment {
            kind: template.kind.clone(),
            permission_set: template.permission_set.clone(),
            permission_set_arn: KNOWN_AFTER.into(),
            groups: names
                .iter()
                .map(|n| crate::steps::TeamGroup {
                    name: n.clone(),
                    id: KNOWN_AFTER.into(),
                })
                .collect(),
            role_arn,
            cluster_access: ic
                .cluster_template(template, &config.identity.roles)
                .map(|t| t.name.clone()),
        });
    }
    teams
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> PlatformConfig {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../infra/platform-config.json"
        );
        PlatformConfig::from_json(&std::fs::read_to_string(path).expect("the example config"))
            .expect("valid")
    }

    fn spec(change: Value) -> TenantSpec {
        let mut body = json!({
            "requestId": "r-1", "tenantId": "payments", "environment": "prod",
            "owners": ["arn:aws:iam::123456789012:role/payments-leads"],
            "tags": {"CostCenter": "cc-1"}, "network": {"prefixLength": 20}
        });
        for (k, v) in change.as_object().expect("an object") {
            body[k] = v.clone();
        }
        crate::TenantRequest::from_value(&body)
            .and_then(|r| r.validate(&config()))
            .expect("valid")
    }

    fn fields(errs: &ValidationErrors) -> Vec<&str> {
        errs.errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn what_does_not_change_in_place_is_named_once_it_exists() {
        let first = spec(json!({}));
        assert!(immovable(&first, None).errors.is_empty(), "a new tenant");
        let mut entry = RegistryEntry::for_spec(&first);
        let moved = spec(
            json!({"environment": "dev", "network": {"prefixLength": 22},
                                "accountId": "111122223333"}),
        );
        assert!(
            immovable(&moved, Some(&entry)).errors.is_empty(),
            "before an account and a block, a tenant may still move"
        );
        entry.account_id = Some("222233334444".into());
        entry.cidr = Some("10.64.0.0/20".parse().expect("a block"));
        assert_eq!(
            fields(&immovable(&moved, Some(&entry))),
            ["accountId", "environment", "network.prefixLength"]
        );
        assert!(
            immovable(&first, Some(&entry)).errors.is_empty(),
            "the same wish"
        );
    }
}
