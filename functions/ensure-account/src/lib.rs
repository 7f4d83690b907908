//! The EnsureAccount step: the tenant gets exactly one account, however often the step runs.
//!
//! It first takes the tenant's lease for the execution: when another execution that has not
//! ended holds it (the same event delivered twice), it answers `DUPLICATE` and the workflow
//! stops quietly, so duplicate deliveries never race each other.
//!
//! Adoption checks that the account is in the organization and not another tenant's. Creation
//! looks first in the registry (a saved request id or account id), then for an account with
//! the tenant's email (ours if tagged for this tenant), then for a creation request already
//! under way for the tenant's account name; only then does it call CreateAccount, and it saves
//! the request id in the registry before the workflow starts polling.

use serde::Deserialize;
use serde_json::Value;
use vending_domain::ports::{Lease, Organization, Registry, RegistryEntry, TenantStatus};
use vending_domain::request::AccountTarget;
use vending_domain::steps::AccountProgress;
use vending_domain::{StepError, TenantSpec, ValidationErrors};

/// What the workflow passes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    /// The validated request.
    pub spec: TenantSpec,
    /// The execution, which takes the tenant's lease.
    pub execution_name: String,
}

fn conflict(msg: String) -> StepError {
    StepError::Conflict(msg)
}

/// The step.
pub async fn ensure_account<O: Organization, R: Registry>(
    org: &O,
    registry: &R,
    spec: &TenantSpec,
    execution: &str,
) -> Result<AccountProgress, StepError> {
    let tenant = &spec.tenant_id;
    if let Lease::HeldBy(other) = registry.acquire(tenant, execution).await? {
        tracing::info!(tenant = %tenant, execution, other = %other, "another execution is vending this tenant; stopping");
        return Ok(AccountProgress::duplicate(other));
    }
    let mut entry = match registry.get(tenant).await? {
        Some(e) => e,
        None => {
            let fresh = RegistryEntry::new(tenant.clone(), spec.request_id.clone());
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
    entry.failure = None;
    if let Some(id) = &entry.account_id {
        registry.put(&entry).await?;
        return Ok(AccountProgress::ready(id.clone()));
    }
    let progress = match &spec.account {
        AccountTarget::Adopt { account_id } => {
            if org.describe_account(account_id).await?.is_none() {
                let mut e = ValidationErrors::default();
                e.push(
                    "accountId",
                    format!("account {account_id} is not in this organization"),
                );
                return Err(StepError::InvalidRequest(e));
            }
            let tags = org.account_tags(account_id).await?;
            if let Some(other) = tags
                .get(vending_domain::request::TENANT_TAG)
                .filter(|t| t.as_str() != tenant.as_str())
            {
                return Err(conflict(format!(
                    "account {account_id} belongs to tenant {other}"
                )));
            }
            entry.account_id = Some(account_id.clone());
            AccountProgress::ready(account_id.clone())
        }
        AccountTarget::Create { email } => {
            if let Some(request) = &entry.create_account_request_id {
                AccountProgress::in_progress(request.clone())
            } else if let Some(existing) = org.find_account_by_email(email.as_str()).await? {
                if !spec.owns(&org.account_tags(&existing.id).await?) {
                    return Err(conflict(format!(
                        "an account with the email {} exists ({}) and is not tagged for {tenant}",
                        email.as_str(),
                        existing.id
                    )));
                }
                entry.account_id = Some(existing.id.clone());
                AccountProgress::ready(existing.id)
            } else {
                let request = match org.find_create_request(tenant.as_str()).await? {
                    Some(r) => r,
                    None => {
                        org.create_account(email.as_str(), tenant.as_str(), &spec.all_tags())
                            .await?
                    }
                };
                entry.create_account_request_id = Some(request.clone());
                AccountProgress::in_progress(request)
            }
        }
    };
    registry.put(&entry).await?;
    tracing::info!(tenant = %tenant, state = ?progress.state, "account ensured");
    Ok(progress)
}

/// The Lambda payload to the step's JSON result.
pub async fn handle<O: Organization, R: Registry>(
    org: &O,
    registry: &R,
    payload: Value,
) -> Result<Value, StepError> {
    let input: Input = vending_domain::steps::decode(payload)?;
    let progress = ensure_account(org, registry, &input.spec, &input.execution_name).await?;
    vending_domain::steps::encode(&progress)
}
