//! The ProvisionIdentity step: one role per template of the platform config in the tenant
//! account, named `<tenant>-<template>`, under the permissions boundary (its ARN in the
//! tenant's account), trusted by the platform's principals and the tenant's owners (and
//! viewers where the template says so). A boundary the platform's baseline has not deployed
//! in a new account yet is `NotReady`, retried by the workflow within a budget; a principal
//! IAM says does not exist is an `InvalidRequest` naming the request field that named it.
//! The tenant's roles of templates the config no longer has (named `<tenant>-...`, tagged for
//! the tenant) are deleted.
//!
//! It also ensures the account's baseline where the tenant's environment has one
//! (`environments.<env>.baseline`): AWS Backup (the backup role, vault, plan and selection),
//! AWS Config (in `service` mode the recorder, its role, delivery channel and recording; in
//! `controlTower` mode Control Tower's recorder must be there, and is never changed; the rules
//! in both) and the trail (made in `service` mode; in `controlTower` mode the organization
//! trail covers the account and nothing is called). Each part is read first and repaired when
//! it differs. It is part of this step, not a state of its own, so a happy-path tenant takes
//! no more state transitions.

use std::collections::BTreeMap;
use vending_domain::config::{BackupConfig, BaselineMode};
use vending_domain::plan::role_specs;
use vending_domain::ports::{Accounts, Backups, Identity, Recording, TrailRecord};
use vending_domain::request::TENANT_TAG;
use vending_domain::steps::{AccountInput, IdentityRecord, RoleRecord};
use vending_domain::{PlatformConfig, StepError, TenantSpec, ValidationErrors};

/// IAM's "this principal does not exist" as the request field that named the principal.
fn name_the_field(err: StepError, spec: &TenantSpec) -> StepError {
    let StepError::InvalidRequest(errs) = &err else {
        return err;
    };
    let mut named = ValidationErrors::default();
    for e in &errs.errors {
        let field = (e.field == "principal")
            .then(|| {
                let lists = [("owners", &spec.owners), ("viewers", &spec.viewers)];
                lists.into_iter().find_map(|(name, list)| {
                    list.iter()
                        .position(|p| e.reason.starts_with(p.as_str()))
                        .map(|i| format!("{name}[{i}]"))
                })
            })
            .flatten()
            .unwrap_or_else(|| "identity.trustedPrincipals".to_owned());
        named.push(field, e.reason.clone());
    }
    StepError::InvalidRequest(named)
}

/// The step.
pub async fn provision_identity<I: Identity>(
    iam: &I,
    config: &PlatformConfig,
    spec: &TenantSpec,
    account_id: &str,
) -> Result<IdentityRecord, StepError> {
    let mut roles = Vec::new();
    let specs = role_specs(config, spec, account_id);
    for (template, role) in config.identity.roles.iter().zip(specs) {
        let ensured = iam
            .ensure_role(&role)
            .await
            .map_err(|e| name_the_field(e, spec))?;
        if ensured.created {
            tracing::info!(tenant = %spec.tenant_id, role = %role.name, "created a tenant role");
        }
        roles.push(RoleRecord {
            template: template.name.clone(),
            arn: ensured.id,
            kubernetes_group: template.kubernetes_group_for(spec.tenant_id.as_str()),
        });
    }
    // A role of a template the platform config no longer has goes: the tenant has exactly
    // its templates' roles (GrantClusterAccess then deletes that role's access entries).
    let tenant = spec.tenant_id.as_str();
    let wanted: Vec<String> = config
        .identity
        .roles
        .iter()
        .map(|t| spec.role_name(&t.name))
        .collect();
    for name in iam.tenant_roles(tenant).await? {
        if !wanted.contains(&name) {
            iam.delete_role(&name).await?;
            tracing::info!(tenant, role = %name, "deleted a role of a template the platform no longer has");
        }
    }
    Ok(IdentityRecord {
        roles,
        backup: None,
        config: None,
        trail: None,
    })
}

/// The tags the baseline's parts carry: the tenant they were made for.
fn baseline_tags(spec: &TenantSpec) -> BTreeMap<String, String> {
    BTreeMap::from([(TENANT_TAG.to_owned(), spec.tenant_id.to_string())])
}

/// The account's AWS Backup baseline of the tenant's environment (`backup`).
pub async fn ensure_backup<B: Backups>(
    backups: &B,
    backup: &BackupConfig,
    spec: &TenantSpec,
) -> Result<vending_domain::ports::BackupRecord, StepError> {
    let record = backups.ensure_backup(backup, &baseline_tags(spec)).await?;
    if !record.changed.is_empty() {
        tracing::info!(tenant = %spec.tenant_id, changed = ?record.changed, "ensured the account's backup baseline");
    }
    Ok(record)
}

/// The step on its typed input (`vending_domain::steps::ProvisionIdentity`).
pub async fn handle<A: Accounts>(
    accounts: &A,
    config: &PlatformConfig,
    input: AccountInput,
) -> Result<IdentityRecord, StepError> {
    let iam = accounts
        .identity(&input.account_id, &input.execution_name)
        .await?;
    let mut record = provision_identity(&iam, config, &input.spec, &input.account_id).await?;
    if let Some(backup) = config.backup_of(&input.spec.environment) {
        let backups = accounts
            .backups(&input.account_id, &config.region, &input.execution_name)
            .await?;
        record.backup = Some(ensure_backup(&backups, backup, &input.spec).await?);
    }
    let environment = &input.spec.environment;
    let (recorded, trail) = (config.config_of(environment), config.trail_of(environment));
    if recorded.is_some() || trail.is_some() {
        let recording = accounts
            .recording(&input.account_id, &config.region, &input.execution_name)
            .await?;
        let tags = baseline_tags(&input.spec);
        if let Some(c) = recorded {
            let made = recording.ensure_config(c, &tags).await?;
            if !made.changed.is_empty() {
                tracing::info!(tenant = %input.spec.tenant_id, changed = ?made.changed, "ensured the account's AWS Config");
            }
            record.config = Some(made);
        }
        if let Some(t) = trail {
            record.trail = Some(match (t.mode, &t.bucket) {
                (BaselineMode::Service, Some(bucket)) => {
                    recording.ensure_trail(bucket, &tags).await?
                }
                // Control Tower's organization trail covers the account: nothing to call.
                _ => TrailRecord {
                    mode: BaselineMode::ControlTower,
                    trail_arn: None,
                    changed: Vec::new(),
                },
            });
        }
    }
    Ok(record)
}
