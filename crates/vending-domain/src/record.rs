//! The tenant record, version 1: what HandOff stores in the registry, commits beside the
//! tenant's manifests and announces in `TenantReady`. It is the contract with everything
//! downstream (the tenant operator's manifests, consumers of the event), so it is versioned
//! (`apiVersion`), published as a JSON Schema (`docs/schemas/tenant-record-v1.schema.json`),
//! and serialized with a stable key order and no time stamps: the same tenant gives the same
//! bytes.

use crate::config::EksAccessPolicy;
use crate::kube::KubernetesSettings;
use crate::names::{PrincipalArn, TenantId};
use crate::steps::{AccountRecord, NetworkRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The record's `apiVersion`.
pub const RECORD_API_VERSION: &str = "tenant-vending.dev/v1";
/// The record's `kind`.
pub const RECORD_KIND: &str = "TenantRecord";

/// A tenant, as handed to cluster onboarding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantRecord {
    /// Always `tenant-vending.dev/v1`.
    #[cfg_attr(feature = "schema", schemars(extend("const" = "tenant-vending.dev/v1")))]
    pub api_version: String,
    /// Always `TenantRecord`.
    #[cfg_attr(feature = "schema", schemars(extend("const" = "TenantRecord")))]
    pub kind: String,
    /// The tenant id (a DNS-1123 label), the key of everything.
    pub tenant_id: TenantId,
    /// The human name.
    pub display_name: String,
    /// Starts at 1 and grows by one whenever anything else in the record changes; a re-run
    /// that changes nothing keeps it. A destination never takes a lower one.
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::generation")
    )]
    pub generation: u64,
    /// The request that produced this generation.
    pub request_id: String,
    /// Where the tenant is in its life.
    pub lifecycle: Lifecycle,
    /// The environment (`dev`, `prod`).
    pub environment: String,
    /// The tenant's AWS account.
    pub account: AccountRecord,
    /// Who the tenant is, in AWS and in the clusters.
    pub identity: TenantIdentity,
    /// The shared clusters the tenant can reach.
    pub clusters: Vec<TenantCluster>,
    /// The tenant's settings in those clusters.
    pub kubernetes: KubernetesSettings,
    /// The tenant's VPC.
    pub network: NetworkRecord,
    /// Every tag on the tenant's resources.
    pub tags: BTreeMap<String, String>,
    /// What produced the record.
    pub provenance: Provenance,
}

/// The life of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Lifecycle {
    /// Vended and in use.
    Active,
    /// Being offboarded: cordoned in the clusters, no cluster access, the account in the
    /// suspended OU. A new request for the tenant during the grace period brings it back.
    Offboarding,
    /// Offboarded: its manifests are gone from the GitOps destination (this record stays, so
    /// generations never go back), its network is detached, its account closed when asked.
    Closed,
}

/// The tenant's principals and roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantIdentity {
    /// Principals that own the tenant, sorted.
    pub owners: Vec<PrincipalArn>,
    /// Principals with read access, sorted.
    pub viewers: Vec<PrincipalArn>,
    /// The tenant roles, in the config's order.
    pub roles: Vec<TenantRole>,
    /// The tenant's teams in IAM Identity Center, in the order of the config's kinds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<TenantTeam>,
}

/// One kind of team: Identity Store groups assigned a permission set on the tenant's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantTeam {
    /// The kind (`owners`, `viewers`, a role template's name).
    pub kind: String,
    /// The groups' display names, in the request's order.
    pub groups: Vec<String>,
    /// The permission set's name.
    pub permission_set: String,
    /// The role the permission set is in the account, by its full ARN (with its path).
    pub role_arn: String,
    /// The Kubernetes group that role's access entries carry, when the platform maps it into
    /// the clusters (the group of the role template it shares cluster access with).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_group: Option<String>,
    /// The EKS access policy of that role's access entries (its template's), scoped to the
    /// tenant's namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_policy_arn: Option<String>,
}

/// One tenant role and what it is in the clusters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantRole {
    /// The template it was made from (`admin`, `deploy`, ...).
    pub template: String,
    /// The role's ARN.
    pub arn: String,
    /// The Kubernetes group its access entries carry (unique to the tenant).
    pub kubernetes_group: String,
    /// True when the group owns the tenant in the tenant operator (creates namespaces).
    pub tenant_owner: bool,
    /// The ClusterRole the group is bound to in every tenant namespace, when not an owner.
    pub cluster_role: String,
    /// The EKS access policy of the role's access entries, scoped to the tenant's
    /// namespaces; never more than the role's Kubernetes binding grants.
    pub access_policy_arn: String,
}

/// The tenant's access to one shared cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantCluster {
    /// The cluster name.
    pub name: String,
    /// The cluster ARN.
    pub arn: String,
    /// The namespaces the access entries' policies are scoped to.
    pub namespaces: Vec<String>,
    /// The access entries, one per tenant role.
    pub access_entries: Vec<String>,
}

/// What produced a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Provenance {
    /// Always `tenant-vending`.
    pub service: String,
    /// The service's version.
    pub version: String,
}

impl Provenance {
    /// This build of the service.
    pub fn current() -> Provenance {
        Provenance {
            service: "tenant-vending".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

impl TenantRecord {
    /// The record the steps' results make, at generation 1 (`with_generation_after` sets it):
    /// what HandOff hands off and what a plan shows.
    pub fn assemble(
        config: &crate::PlatformConfig,
        spec: crate::TenantSpec,
        account_id: String,
        network: NetworkRecord,
        identity: crate::steps::IdentityRecord,
        teams: &crate::steps::TeamsRecord,
        access: crate::steps::AccessRecord,
    ) -> Result<TenantRecord, crate::StepError> {
        let partition = config.partition();
        let teams = teams
            .assignments
            .iter()
            .map(|a| {
                let template = match &a.cluster_access {
                    Some(t) => Some(config.identity.template(t)?),
                    None => None,
                };
                Ok(TenantTeam {
                    kind: a.kind.clone(),
                    groups: a.groups.iter().map(|g| g.name.clone()).collect(),
                    permission_set: a.permission_set.clone(),
                    role_arn: a
                        .role_arn
                        .clone()
                        .unwrap_or_else(|| crate::plan::KNOWN_AFTER.into()),
                    kubernetes_group: template
                        .map(|t| t.kubernetes_group_for(spec.tenant_id.as_str())),
                    access_policy_arn: template.map(|t| t.access_policy().arn(partition)),
                })
            })
            .collect::<Result<Vec<_>, crate::StepError>>()?;
        let roles = identity
            .roles
            .into_iter()
            .map(|role| {
                let template = config.identity.template(&role.template)?;
                Ok(TenantRole {
                    template: role.template,
                    arn: role.arn,
                    kubernetes_group: role.kubernetes_group,
                    tenant_owner: template.tenant_owner,
                    cluster_role: template.cluster_role.clone(),
                    access_policy_arn: template.access_policy().arn(partition),
                })
            })
            .collect::<Result<Vec<_>, crate::StepError>>()?;
        Ok(TenantRecord {
            api_version: RECORD_API_VERSION.into(),
            kind: RECORD_KIND.into(),
            account: AccountRecord {
                id: account_id,
                ou_id: spec.ou_id.clone(),
                region: config.region.clone(),
            },
            tags: spec.all_tags(),
            generation: 1,
            lifecycle: Lifecycle::Active,
            identity: TenantIdentity {
                owners: spec.owners,
                viewers: spec.viewers,
                roles,
                teams,
            },
            clusters: access
                .clusters
                .into_iter()
                .map(|c| TenantCluster {
                    name: c.name,
                    arn: c.arn,
                    namespaces: c.namespaces,
                    access_entries: c.access_entries,
                })
                .collect(),
            kubernetes: spec.kubernetes,
            tenant_id: spec.tenant_id,
            display_name: spec.display_name,
            request_id: spec.request_id,
            environment: spec.environment,
            network,
            provenance: Provenance::current(),
        })
    }

    /// Sets the generation from the previous record of the tenant: the same as before when
    /// nothing else changed, one more when anything did, 1 for a first record.
    pub fn with_generation_after(mut self, previous: Option<&TenantRecord>) -> TenantRecord {
        self.generation = match previous {
            None => 1,
            Some(prev) => {
                let unchanged = TenantRecord {
                    generation: prev.generation,
                    ..self.clone()
                } == *prev;
                if unchanged {
                    prev.generation
                } else {
                    prev.generation + 1
                }
            }
        };
        self
    }

    /// The record's bytes: pretty JSON in the types' field order, newline-terminated.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Reads a record and checks what the types cannot: the version, the tenant's cluster
    /// settings. Every problem is reported with its field.
    pub fn from_json(text: &str) -> Result<TenantRecord, crate::ValidationErrors> {
        let mut errs = crate::ValidationErrors::default();
        let record: TenantRecord = match serde_json::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                errs.push("record", format!("does not parse: {e}"));
                return Err(errs);
            }
        };
        record.check(&mut errs);
        errs.into_result(record)
    }

    /// The rules of a v1 record.
    pub fn check(&self, errs: &mut crate::ValidationErrors) {
        if self.api_version != RECORD_API_VERSION {
            errs.push(
                "apiVersion",
                format!("'{}' is not {RECORD_API_VERSION}", self.api_version),
            );
        }
        if self.kind != RECORD_KIND {
            errs.push("kind", format!("'{}' is not {RECORD_KIND}", self.kind));
        }
        if self.generation == 0 {
            errs.push("generation", "starts at 1");
        }
        self.kubernetes.check("kubernetes", errs);
        for (i, role) in self.identity.roles.iter().enumerate() {
            if role.kubernetes_group.is_empty() || role.kubernetes_group.starts_with("system:") {
                errs.push(
                    format!("identity.roles[{i}].kubernetesGroup"),
                    "must be set and must not start with 'system:'",
                );
            }
            if role.cluster_role.is_empty()
                || role.cluster_role.contains(['/', '%'])
                || role.cluster_role.chars().any(char::is_whitespace)
            {
                errs.push(
                    format!("identity.roles[{i}].clusterRole"),
                    format!("'{}' is not a ClusterRole name", role.cluster_role),
                );
            }
            let binding = EksAccessPolicy::matching(role.tenant_owner, &role.cluster_role);
            let policy = role
                .access_policy_arn
                .rsplit_once(":cluster-access-policy/")
                .and_then(|(_, name)| {
                    serde_json::from_value::<EksAccessPolicy>(serde_json::Value::from(name)).ok()
                });
            match policy {
                Some(p) if p <= binding => {}
                Some(p) => errs.push(
                    format!("identity.roles[{i}].accessPolicyArn"),
                    format!(
                        "{} grants more than the role's Kubernetes binding ({})",
                        p.name(),
                        binding.name()
                    ),
                ),
                None => errs.push(
                    format!("identity.roles[{i}].accessPolicyArn"),
                    format!(
                        "'{}' is not a namespace-scoped EKS access policy (view, edit or admin)",
                        role.access_policy_arn
                    ),
                ),
            }
        }
    }
}
