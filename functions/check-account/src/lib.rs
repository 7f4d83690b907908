//! The CheckAccount step: one poll of the CreateAccount request. The workflow's Wait and Choice
//! do the waiting; this step never sleeps.
//!
//! A creation that succeeded is the tenant's only if the new account carries the tenant's tag
//! (CreateAccount was given it): so a creation EnsureAccount found by name, after a crash, is
//! adopted only with that proof. A creation that failed is forgotten, so a re-run creates anew;
//! `CONCURRENT_ACCOUNT_MODIFICATION` (another account operation ran at the same time) is a
//! final state of that request, so the workflow starts a new one (`RESTART`), a bounded number
//! of times; `EMAIL_ALREADY_EXISTS` adopts the account of that email only if it is the
//! tenant's (a creation of an earlier run), else it is a `Conflict` naming the account.

use vending_domain::ports::{CreateAccountState, Organization, Registry, RegistryEntry};
use vending_domain::request::{AccountTarget, TENANT_TAG};
use vending_domain::steps::{AccountProgress, CheckAccountInput};
use vending_domain::{StepError, TenantSpec};

/// How many CreateAccount requests a tenant may go through (each ended by another account
/// operation running at the same time) before the step gives up.
pub const MAX_CREATE_ATTEMPTS: u32 = 3;

/// The step.
pub async fn check_account<O: Organization, R: Registry>(
    org: &O,
    registry: &R,
    spec: &TenantSpec,
    account: &AccountProgress,
) -> Result<AccountProgress, StepError> {
    let request = match account {
        AccountProgress::InProgress { create_request_id } => create_request_id,
        other => return Ok(other.clone()),
    };
    let tenant = &spec.tenant_id;
    match org.create_account_state(request).await? {
        CreateAccountState::InProgress => Ok(AccountProgress::in_progress(request)),
        CreateAccountState::Succeeded { account_id } => {
            if !spec.owns(&org.account_tags(&account_id).await?) {
                return Err(StepError::Conflict(format!(
                    "account {account_id} made by creation request {request} is not tagged {TENANT_TAG}={tenant}: not the tenant's, not adopted"
                )));
            }
            save_account(registry, spec, &account_id).await?;
            tracing::info!(tenant = %tenant, account = %account_id, "account created");
            Ok(AccountProgress::ready(account_id))
        }
        CreateAccountState::Failed { reason } => {
            failed(org, registry, spec, request, &reason).await
        }
    }
}

async fn save_account<R: Registry>(
    registry: &R,
    spec: &TenantSpec,
    account_id: &str,
) -> Result<(), StepError> {
    if let Some(mut entry) = registry.get(&spec.tenant_id).await? {
        entry.account_id = Some(account_id.to_owned());
        entry.create_account_request_id = None;
        give_slot_back(registry, &mut entry).await?;
        registry.put(&entry).await?;
    }
    Ok(())
}

/// The creation has ended: its slot under the account-creation cap goes to the next tenant.
async fn give_slot_back<R: Registry>(
    registry: &R,
    entry: &mut RegistryEntry,
) -> Result<(), StepError> {
    if let Some(slot) = entry.creation_slot {
        registry
            .release_creation_slot(&entry.tenant_id, slot)
            .await?;
        entry.creation_slot = None;
    }
    Ok(())
}

async fn failed<O: Organization, R: Registry>(
    org: &O,
    registry: &R,
    spec: &TenantSpec,
    request: &str,
    reason: &str,
) -> Result<AccountProgress, StepError> {
    let tenant = &spec.tenant_id;
    let mut attempts = 0;
    // A failed request is forgotten, so a re-run after the cause is fixed creates anew.
    if let Some(mut entry) = registry.get(tenant).await? {
        entry.create_account_request_id = None;
        attempts = entry.create_attempts;
        give_slot_back(registry, &mut entry).await?;
        registry.put(&entry).await?;
    }
    let msg = format!("CreateAccount request {request} failed: {reason}");
    match reason {
        "CONCURRENT_ACCOUNT_MODIFICATION" if attempts < MAX_CREATE_ATTEMPTS => {
            tracing::warn!(tenant = %tenant, request, attempts, "another account operation ran at the same time; a new creation will start");
            Ok(AccountProgress::Restart {
                reason: reason.to_owned(),
            })
        }
        "CONCURRENT_ACCOUNT_MODIFICATION" => Err(StepError::ConcurrentModification(format!(
            "{msg}, {attempts} times: too many account operations at once; re-run the tenant later"
        ))),
        "EMAIL_ALREADY_EXISTS" => {
            let AccountTarget::Create { email } = &spec.account else {
                return Err(StepError::Conflict(msg));
            };
            match org.find_account_by_email(email.as_str()).await? {
                Some(existing) if spec.owns(&org.account_tags(&existing.id).await?) => {
                    save_account(registry, spec, &existing.id).await?;
                    Ok(AccountProgress::ready(existing.id))
                }
                Some(existing) => Err(StepError::Conflict(format!(
                    "{msg}: account {} has the email {} and is not tagged {TENANT_TAG}={tenant}",
                    existing.id,
                    email.as_str()
                ))),
                None => Err(StepError::Conflict(format!(
                    "{msg}: the email {} belongs to an AWS account outside this organization",
                    email.as_str()
                ))),
            }
        }
        "ACCOUNT_LIMIT_EXCEEDED" => Err(StepError::QuotaExceeded(msg)),
        "INVALID_EMAIL" | "INVALID_ADDRESS" => Err(StepError::Conflict(msg)),
        _ => Err(StepError::Internal(msg)),
    }
}

/// The step on its typed input (`vending_domain::steps::CheckAccount`).
pub async fn handle<O: Organization, R: Registry>(
    org: &O,
    registry: &R,
    input: CheckAccountInput,
) -> Result<AccountProgress, StepError> {
    check_account(org, registry, &input.spec, &input.account).await
}
