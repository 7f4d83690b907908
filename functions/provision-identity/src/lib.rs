//! The ProvisionIdentity step: one role per template of the platform config in the tenant
//! account, named `<tenant>-<template>`, under the permissions boundary, trusted by the
//! platform's principals and the tenant's owners (and viewers where the template says so).

use serde::Deserialize;
use serde_json::Value;
use vending_domain::config::TenantAudience;
use vending_domain::ports::{Accounts, Identity, RoleSpec};
use vending_domain::steps::{AccountProgress, IdentityRecord, RoleRecord};
use vending_domain::{PlatformConfig, StepError, TenantSpec};

/// What the workflow passes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    /// The validated request.
    pub spec: TenantSpec,
    /// The account.
    pub account: AccountProgress,
    /// The execution, for the assumed-role session name.
    pub execution_name: String,
}

/// The roles the tenant gets, as the config and the request say.
pub fn role_specs(config: &PlatformConfig, spec: &TenantSpec) -> Vec<RoleSpec> {
    let id = &config.identity;
    id.roles
        .iter()
        .map(|template| {
            let mut trusted: Vec<String> = id
                .trusted_principals
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect();
            for audience in &template.trusted_by {
                let members = match audience {
                    TenantAudience::Owners => &spec.owners,
                    TenantAudience::Viewers => &spec.viewers,
                };
                trusted.extend(members.iter().map(|p| p.as_str().to_owned()));
            }
            trusted.sort();
            trusted.dedup();
            RoleSpec {
                name: spec.role_name(&template.name),
                boundary_arn: id.permissions_boundary_arn.clone(),
                trusted,
                managed_policy_arns: template.managed_policy_arns.clone(),
                tags: spec.all_tags(),
            }
        })
        .collect()
}

/// The step.
pub async fn provision_identity<I: Identity>(
    iam: &I,
    config: &PlatformConfig,
    spec: &TenantSpec,
) -> Result<IdentityRecord, StepError> {
    let mut roles = Vec::new();
    for (template, role) in config.identity.roles.iter().zip(role_specs(config, spec)) {
        let ensured = iam.ensure_role(&role).await?;
        if ensured.created {
            tracing::info!(tenant = %spec.tenant_id, role = %role.name, "created a tenant role");
        }
        roles.push(RoleRecord {
            template: template.name.clone(),
            arn: ensured.id,
            kubernetes_group: template.kubernetes_group_for(spec.tenant_id.as_str()),
        });
    }
    Ok(IdentityRecord { roles })
}

/// The Lambda payload to the step's JSON result.
pub async fn handle<A: Accounts>(
    accounts: &A,
    config: &PlatformConfig,
    payload: Value,
) -> Result<Value, StepError> {
    let input: Input = vending_domain::steps::decode(payload)?;
    let account_id = input.account.account_id.as_deref().ok_or_else(|| {
        StepError::Internal("ProvisionIdentity ran before the account existed".into())
    })?;
    let iam = accounts.identity(account_id, &input.execution_name).await;
    let record = provision_identity(&iam, config, &input.spec).await?;
    vending_domain::steps::encode(&record)
}
