//! The CheckAccount step: one poll of the CreateAccount request. The workflow's Wait and Choice
//! do the waiting; this step never sleeps.

use serde::Deserialize;
use serde_json::Value;
use vending_domain::ports::{CreateAccountState, Organization, Registry};
use vending_domain::steps::AccountProgress;
use vending_domain::{StepError, TenantSpec};

/// What the workflow passes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    /// The validated request.
    pub spec: TenantSpec,
    /// What EnsureAccount (or the previous poll) said.
    pub account: AccountProgress,
}

/// The step.
pub async fn check_account<O: Organization, R: Registry>(
    org: &O,
    registry: &R,
    spec: &TenantSpec,
    account: &AccountProgress,
) -> Result<AccountProgress, StepError> {
    if let Some(id) = &account.account_id {
        return Ok(AccountProgress::ready(id.clone()));
    }
    let request = account
        .create_request_id
        .as_deref()
        .ok_or_else(|| StepError::Internal("no account and no creation request to poll".into()))?;
    match org.create_account_state(request).await? {
        CreateAccountState::InProgress => Ok(AccountProgress::in_progress(request)),
        CreateAccountState::Succeeded { account_id } => {
            if let Some(mut entry) = registry.get(&spec.tenant_id).await? {
                entry.account_id = Some(account_id.clone());
                registry.put(&entry).await?;
            }
            tracing::info!(tenant = %spec.tenant_id, account = %account_id, "account created");
            Ok(AccountProgress::ready(account_id))
        }
        CreateAccountState::Failed { reason } => {
            // A failed request is forgotten, so a re-run after the cause is fixed creates anew.
            if let Some(mut entry) = registry.get(&spec.tenant_id).await? {
                entry.create_account_request_id = None;
                registry.put(&entry).await?;
            }
            let msg = format!("CreateAccount request {request} failed: {reason}");
            Err(match reason.as_str() {
                "EMAIL_ALREADY_EXISTS" | "ACCOUNT_ALREADY_EXISTS" => StepError::Conflict(msg),
                "ACCOUNT_LIMIT_EXCEEDED" => StepError::QuotaExceeded(msg),
                "CONCURRENT_ACCOUNT_MODIFICATION" => StepError::ConcurrentModification(msg),
                _ => StepError::Internal(msg),
            })
        }
    }
}

/// The Lambda payload to the step's JSON result.
pub async fn handle<O: Organization, R: Registry>(
    org: &O,
    registry: &R,
    payload: Value,
) -> Result<Value, StepError> {
    let input: Input = vending_domain::steps::decode(payload)?;
    let progress = check_account(org, registry, &input.spec, &input.account).await?;
    vending_domain::steps::encode(&progress)
}
