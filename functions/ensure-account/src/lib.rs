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
use vending_domain::telemetry::{self, Metric};
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
    if let Some(known) = registry.get(tenant).await? {
        take_back(org, &known, spec).await?;
    }
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
    match entry.status {
        TenantStatus::Offboarding => {
            tracing::info!(tenant = %tenant, request = %spec.request_id, "a new request takes the tenant back: its offboarding is cancelled");
            entry.offboarding = None;
        }
        TenantStatus::Closed => {
            tracing::info!(tenant = %tenant, request = %spec.request_id, "a closed tenant is requested again");
            entry.offboarding = None;
            // Its account was closed: a new one, from a clean start.
            if entry.account_closed() {
                entry.account_id = None;
                entry.create_account_request_id = None;
                entry.create_attempts = 0;
                entry.creation_slot = None;
                entry.queued = 0;
                entry.cidr = None;
            }
        }
        _ => {}
    }
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
            adopt(org, config, spec, account_id, *announced).await?;
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
                        // Beside AccountsCreating when queued: creations against the cap.
                        telemetry::emit(Metric::count("AccountCreationsStarted", 1, &[]));
                        telemetry::emit(Metric::count(
                            "AccountCreationCap",
                            config.max_concurrent_account_creations as usize,
                            &[],
                        ));
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
                                &account_name(&entry),
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

/// The name of the tenant's account: its id, and for a tenant requested again after its
/// account was closed, its id and the line's number (`payments-2`), so a creation of this
/// line is never confused with the closed account's.
pub fn account_name(entry: &RegistryEntry) -> String {
    match entry.closed_accounts.len() {
        0 => entry.tenant_id.to_string(),
        n => format!("{}-{}", entry.tenant_id, n + 1),
    }
}

/// Whether a request may take an offboarding or closed tenant back, checked before anything
/// changes: only a new request (a re-run of the old one would undo the offboarding), not
/// while its account is closing, and never with a closed account's email or id (AWS does not
/// reuse them).
async fn take_back<O: Organization>(
    org: &O,
    known: &RegistryEntry,
    spec: &TenantSpec,
) -> Result<(), StepError> {
    let tenant = &spec.tenant_id;
    let status = known.status;
    if !matches!(status, TenantStatus::Offboarding | TenantStatus::Closed) {
        return Ok(());
    }
    if known.request_id == spec.request_id {
        return Err(StepError::Conflict(format!(
            "{tenant} is {}: a re-run of request {} would undo its offboarding; send a new request (a new requestId) to take the tenant back",
            status.as_str(),
            spec.request_id
        )));
    }
    if status == TenantStatus::Offboarding
        && known
            .offboarding
            .as_ref()
            .is_some_and(|o| o.close_requested_at.is_some())
    {
        return Err(StepError::Conflict(format!(
            "{tenant}'s account is being closed: request the tenant again once its offboarding has ended"
        )));
    }
    for closed in &known.closed_accounts {
        match &spec.account {
            AccountTarget::Adopt { account_id, .. } if account_id == closed => {
                return Err(invalid(
                    "accountId",
                    format!("account {closed} was {tenant}'s and is closed: it cannot be adopted"),
                ));
            }
            AccountTarget::Create { email } => {
                if let Some(old) = org.describe_account(closed).await?
                    && old.email.eq_ignore_ascii_case(email.as_str())
                {
                    return Err(invalid(
                        "accountEmail",
                        format!(
                            "'{}' is the root email of {tenant}'s closed account {closed}, which AWS never gives to another account: give the new account another accountEmail",
                            email.as_str()
                        ),
                    ));
                }
            }
            AccountTarget::Adopt { .. } => {}
        }
    }
    Ok(())
}

/// Checks that an account to adopt is in the organization and is the tenant's.
async fn adopt<O: Organization>(
    org: &O,
    config: &PlatformConfig,
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
    // Whatever its tags say: a tenant's owners in a shared account would reach every tenant,
    // and in the management account the whole organization (IAM Identity Center even makes
    // its roles there with the caller's own IAM rights instead of its service-linked role).
    let shared = match config.shared_account(account_id) {
        Some(what) => Some(what),
        None if org.management_account().await? == account_id => {
            Some("the organization's management account")
        }
        None => None,
    };
    if let Some(what) = shared {
        return Err(invalid(
            "accountId",
            format!("account {account_id} is {what}: a platform account is never a tenant's"),
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
    let Some(found) = org.find_create_request(&account_name(entry)).await? else {
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
