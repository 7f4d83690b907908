//! The GrantClusterAccess step: on every shared cluster, an access entry per tenant role with
//! the role's Kubernetes group, and the access policy of the role's template (view for
//! viewers, never more than the role's Kubernetes binding) scoped to the tenant's namespaces,
//! which no other tenant's overlap.

use serde::Deserialize;
use serde_json::Value;
use vending_domain::ports::{AccessEntrySpec, Accounts, ClusterAccess};
use vending_domain::steps::{AccessRecord, ClusterRecord, IdentityRecord};
use vending_domain::{PlatformConfig, StepError, TenantSpec};

/// What the workflow passes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    /// The validated request.
    pub spec: TenantSpec,
    /// The tenant roles.
    pub identity: IdentityRecord,
    /// The execution, for the assumed-role session name.
    pub execution_name: String,
}

/// The step.
pub async fn grant_cluster_access<A: Accounts>(
    accounts: &A,
    config: &PlatformConfig,
    spec: &TenantSpec,
    identity: &IdentityRecord,
    session: &str,
) -> Result<AccessRecord, StepError> {
    let namespaces = spec.namespaces();
    let partition = config.partition();
    let mut clusters = Vec::new();
    for cluster in &config.clusters {
        let eks = accounts
            .clusters(&cluster.account_id, &config.region, session)
            .await?;
        let mut entries = Vec::new();
        for role in &identity.roles {
            let template = config.identity.template(&role.template)?;
            let entry = eks
                .ensure_access_entry(&AccessEntrySpec {
                    cluster: cluster.name.clone(),
                    principal_arn: role.arn.clone(),
                    kubernetes_groups: vec![role.kubernetes_group.clone()],
                    access_policy_arn: template.access_policy().arn(partition),
                    namespaces: namespaces.clone(),
                    tags: spec.all_tags(),
                })
                .await?;
            entries.push(entry.id);
        }
        tracing::info!(tenant = %spec.tenant_id, cluster = %cluster.name, entries = entries.len(), "cluster access granted");
        clusters.push(ClusterRecord {
            name: cluster.name.clone(),
            arn: format!(
                "arn:{partition}:eks:{}:{}:cluster/{}",
                config.region, cluster.account_id, cluster.name
            ),
            access_entries: entries,
            namespaces: namespaces.clone(),
        });
    }
    Ok(AccessRecord { clusters })
}

/// The Lambda payload to the step's JSON result.
pub async fn handle<A: Accounts>(
    accounts: &A,
    config: &PlatformConfig,
    payload: Value,
) -> Result<Value, StepError> {
    let input: Input = vending_domain::steps::decode(payload)?;
    let record = grant_cluster_access(
        accounts,
        config,
        &input.spec,
        &input.identity,
        &input.execution_name,
    )
    .await?;
    vending_domain::steps::encode(&record)
}
