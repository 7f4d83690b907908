//! The GrantClusterAccess step: on every shared cluster, an access entry per tenant role with
//! the role's Kubernetes group, and the access policy of the role's template (view for
//! viewers, never more than the role's Kubernetes binding) scoped to the tenant's namespaces,
//! which no other tenant's overlap.

use vending_domain::ports::{AccessEntrySpec, Accounts, ClusterAccess};
use vending_domain::steps::{AccessRecord, ClusterRecord, GrantInput, IdentityRecord};
use vending_domain::{PlatformConfig, StepError, TenantSpec};

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

/// The step on its typed input (`vending_domain::steps::GrantClusterAccess`).
pub async fn handle<A: Accounts>(
    accounts: &A,
    config: &PlatformConfig,
    input: GrantInput,
) -> Result<AccessRecord, StepError> {
    grant_cluster_access(
        accounts,
        config,
        &input.spec,
        &input.identity,
        &input.execution_name,
    )
    .await
}
