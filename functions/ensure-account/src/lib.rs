//! The EnsureAccount step: the tenant gets exactly one account, however often the step runs.
//!
//! First it takes the tenant's lease for the execution: when another execution that has not
//! ended holds it (the same event delivered twice), it answers `DUPLICATE` and the workflow
//! stops quietly, so duplicate deliveries never race each other. Then it claims the tenant's
//! namespace scope, refused when another tenant's overlaps it (`vending_domain::scope`).
//!
//! Adoption needs proof that the account is the tenant's: an AWS account-created event that
//! announced it (Normalize's adoption), or the account's `vending:tenant` tag naming the
//! tenant. Creation looks first in the registry (a saved account id, checked with
//! DescribeAccount, or a saved CreateAccount request id), never through the whole
//! organization. The intent to create is written to the registry before CreateAccount is
//! called: only when an earlier attempt may have died between the two does the step look for
//! a creation under way for the tenant's account name (and it adopts what it finds only with
//! the tag as proof; CheckAccount checks an in-progress one when it succeeds). The request id
//! is saved before the workflow starts polling.

use vending_domain::ports::{
    CreateAccountState, Lease, Organization, Registry, RegistryEntry, ScopeClaim, Slot,
    TenantStatus,
};
use vending_domain::request::{AccountTarget, TENANT_TAG};
use vending_domain::steps::{AccountProgress, TenantInput, queued_wait};
use vending_domain::{PlatformConfig, StepError, TenantSpec, ValidationErrors};

fn invalid(field: &str, reason: String) -> StepError {
    let mut e = ValidationErrors::default();
    e.push(field, reason);
    StepError::InvalidRequest(e)
}

/// The refusal of a tenant whose namespaces another tenant's would reach, or the reverse.
pub fn overlap(spec: &TenantSpec, other: &vending_domain::TenantId) -> StepError {
    let id = &spec.tenant_id;
    invalid(
        "tenantId",
        format!(
            "'{id}' and the existing tenant '{other}' would reach each other's namespaces (a tenant's access covers <id> and <id>-*): choose an id that neither extends nor is extended by '{other}'"
        ),
    )
}

/// The step.
pub async fn ensure_account<O: Organization, R: Registry>(
    org: &O,
    registry: &R,
    config: &PlatformConfig,
    spec: &TenantSpec,
    execution: &str,
) -> Result<AccountProgress, StepError> {
    let tenant = &spec.tenant_id;
    if let Lease::HeldBy(other) = registry.acquire(tenant, execution).await? {
        tracing::info!(tenant = %tenant, execution, other = %other, "another execution is vending this tenant; stopping");
        return Ok(AccountProgress::duplicate(other));
    }
    if let ScopeClaim::Overlaps(other) = registry.claim_scope(tenant).await? {
        return Err(overlap(spec, &other));
    }
    let mut entry = match registry.get(tenant).await? {
        Some(e) => e,
        None => {
            let fresh = RegistryEntry::for_spec(spec);
            if !registry.put_new(&fresh).await? {
                return Err(StepError::ConcurrentModification(format!(
                    "the registry entry of {tenant} appeared while it was being created"
                )));
            }
            fresh
        }
    };
    entry.status = TenantStatus::Provisioning;
    entry.request_id = spec.request_id.clone();
    entry.describe(spec);
    entry.failure = None;
    if let Some(id) = entry.account_id.clone() {
        if org.describe_account(&id).await?.is_none() {
            return Err(StepError::Conflict(format!(
                "the registry says {tenant}'s account is {id}, which is not in this organization any more"
            )));
        }
        registry.put(&entry).await?;
        return Ok(AccountProgress::ready(id));
    }
    let progress = match &spec.account {
        AccountTarget::Adopt {
            account_id,
            announced,
        } => {
            adopt(org, spec, account_id, *announced).await?;
            entry.account_id = Some(account_id.clone());
            AccountProgress::ready(account_id.clone())
        }
        AccountTarget::Create { email } => {
            if let Some(request) = &entry.create_account_request_id {
                AccountProgress::in_progress(request.clone())
            } else if let Some(progress) = earlier_creation(org, spec, &entry).await? {
                if let AccountProgress::Succeeded { account_id } = &progress {
                    entry.account_id = Some(account_id.clone());
                } else if let AccountProgress::InProgress { create_request_id } = &progress {
                    entry.create_account_request_id = Some(create_request_id.clone());
                }
                progress
            } else {
                match registry
                    .take_creation_slot(tenant, config.max_concurrent_account_creations)
                    .await?
                {
                    Slot::Full(creating) => {
                        entry.queued += 1;
                        let wait = queued_wait(entry.queued, tenant);
                        tracing::info!(tenant = %tenant, cap = config.max_concurrent_account_creations, creating = ?creating, wait, "the account-creation cap is reached; waiting for a slot");
                        AccountProgress::Queued {
                            creating: creating.iter().map(ToString::to_string).collect(),
                            retry_after_seconds: wait,
                        }
                    }
                    Slot::Taken(slot) => {
                        entry.queued = 0;
                        // The intent first: a step that dies after CreateAccount and before
                        // saving the request id leaves this count behind, which tells the next
                        // run to look. The slot is the tenant's until CheckAccount sees the
                        // creation end (or it lapses).
                        entry.creation_slot = Some(slot);
                        entry.create_attempts += 1;
                        registry.put(&entry).await?;
                        let request = org
                            .create_account(
                                email.as_str(),
                                tenant.as_str(),
                                &config.member_role_name,
                                &spec.all_tags(),
                            )
                            .await?;
                        entry.create_account_request_id = Some(request.clone());
                        AccountProgress::in_progress(request)
                    }
                }
            }
        }
    };
    registry.put(&entry).await?;
    tracing::info!(tenant = %tenant, progress = ?progress, "account ensured");
    Ok(progress)
}

/// Checks that an account to adopt is in the organization and is the tenant's.
async fn adopt<O: Organization>(
    org: &O,
    spec: &TenantSpec,
    account_id: &str,
    announced: bool,
) -> Result<(), StepError> {
    let tenant = &spec.tenant_id;
    if org.describe_account(account_id).await?.is_none() {
        return Err(invalid(
            "accountId",
            format!("account {account_id} is not in this organization"),
        ));
    }
    let tags = org.account_tags(account_id).await?;
    match tags.get(TENANT_TAG) {
        Some(t) if t == tenant.as_str() => Ok(()),
        Some(other) => Err(StepError::Conflict(format!(
            "account {account_id} belongs to tenant {other}"
        ))),
        // An AWS account-created event announced the account in an environment's OU.
        None if announced => Ok(()),
        None => Err(StepError::Conflict(format!(
            "account {account_id} is not tagged {TENANT_TAG}={tenant}: an account is adopted by a request only once the platform team has tagged it for the tenant"
        ))),
    }
}

/// A creation an earlier attempt started and may not have saved (it died between the two):
/// found by the tenant's account name, adopted only with proof.
async fn earlier_creation<O: Organization>(
    org: &O,
    spec: &TenantSpec,
    entry: &RegistryEntry,
) -> Result<Option<AccountProgress>, StepError> {
    if entry.create_attempts == 0 {
        return Ok(None);
    }
    let tenant = &spec.tenant_id;
    let Some(found) = org.find_create_request(tenant.as_str()).await? else {
        return Ok(None);
    };
    Ok(Some(match found.state {
        CreateAccountState::Succeeded { account_id } => {
            if !spec.owns(&org.account_tags(&account_id).await?) {
                return Err(StepError::Conflict(format!(
                    "account {account_id}, created under the name {tenant} by request {}, is not tagged {TENANT_TAG}={tenant}: not adopted",
                    found.id
                )));
            }
            AccountProgress::ready(account_id)
        }
        // CheckAccount checks the tag when the creation succeeds.
        _ => AccountProgress::in_progress(found.id),
    }))
}

/// The step on its typed input (`vending_domain::steps::EnsureAccount`).
pub async fn handle<O: Organization, R: Registry>(
    org: &O,
    registry: &R,
    config: &PlatformConfig,
    input: TenantInput,
) -> Result<AccountProgress, StepError> {
    ensure_account(org, registry, config, &input.spec, &input.execution_name).await
}
