//! The GrantClusterAccess step: on every shared cluster, an access entry per tenant role with
//! the role's Kubernetes group, and the access policy of the role's template (view for
//! viewers, never more than the role's Kubernetes binding) scoped to the tenant's namespaces,
//! which no other tenant's overlap.

use std::collections::BTreeSet;
use vending_domain::ports::{AccessEntrySpec, Accounts, ClusterAccess};
use vending_domain::request::TENANT_TAG;
use vending_domain::steps::{AccessRecord, ClusterRecord, GrantInput, IdentityRecord, TeamsRecord};
use vending_domain::{PlatformConfig, StepError, TenantSpec};

/// The step.
pub async fn grant_cluster_access<A: Accounts>(
    accounts: &A,
    config: &PlatformConfig,
    spec: &TenantSpec,
    identity: &IdentityRecord,
    teams: &TeamsRecord,
    session: &str,
) -> Result<AccessRecord, StepError> {
    let namespaces = spec.namespaces();
    let partition = config.partition();
    // Each tenant role, then each permission set role that shares a template's cluster access:
    // (principal, the template).
    let mut principals: Vec<(&str, &str)> = identity
        .roles
        .iter()
        .map(|r| (r.arn.as_str(), r.template.as_str()))
        .collect();
    principals.extend(teams.cluster_roles());
    let mut clusters = Vec::new();
    for cluster in &config.clusters {
        let eks = accounts
            .clusters(&cluster.account_id, &config.region, session)
            .await?;
        let mut entries = Vec::new();
        for &(principal, template) in &principals {
            let template = config.identity.template(template)?;
            let entry = eks
                .ensure_access_entry(&AccessEntrySpec {
                    cluster: cluster.name.clone(),
                    principal_arn: principal.to_owned(),
                    kubernetes_groups: vec![template.kubernetes_group_for(spec.tenant_id.as_str())],
                    access_policy_arn: template.access_policy().arn(partition),
                    namespaces: namespaces.clone(),
                    tags: spec.all_tags(),
                })
                .await?;
            entries.push(entry.id);
        }
        let removed = remove_stale_entries(&eks, &cluster.name, spec, &principals).await?;
        tracing::info!(tenant = %spec.tenant_id, cluster = %cluster.name, entries = entries.len(), removed, "cluster access granted");
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

/// Deletes the tenant's access entries on `cluster` of roles it no longer has (a role template
/// the platform config dropped, a permission set role Identity Center replaced): entries of
/// principals in the tenant's account, tagged for the tenant, that are not among `principals`. Entries not tagged for the tenant (a
/// cluster admin's break-glass role, say) are left alone. Runs after the wanted entries are in
/// place; returns how many went.
async fn remove_stale_entries<C: ClusterAccess>(
    eks: &C,
    cluster: &str,
    spec: &TenantSpec,
    principals: &[(&str, &str)],
) -> Result<usize, StepError> {
    // Every role is in the tenant's account; its ARN's fifth field names it.
    let Some(account) = principals
        .first()
        .and_then(|(arn, _)| arn.split(':').nth(4))
    else {
        return Ok(0);
    };
    let wanted: BTreeSet<&str> = principals.iter().map(|(arn, _)| *arn).collect();
    let mut removed = 0;
    for entry in eks.access_entries(cluster, account).await? {
        let tenant_tagged =
            entry.tags.get(TENANT_TAG).map(String::as_str) == Some(spec.tenant_id.as_str());
        if tenant_tagged && !wanted.contains(entry.principal_arn.as_str()) {
            eks.remove_access_entry(cluster, &entry.principal_arn)
                .await?;
            tracing::info!(tenant = %spec.tenant_id, %cluster, principal = %entry.principal_arn, "removed the access entry of a role the tenant no longer has");
            removed += 1;
        }
    }
    Ok(removed)
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
        &input.teams,
        &input.execution_name,
    )
    .await
}
