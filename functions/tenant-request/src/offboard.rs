//! `DELETE /tenants/{tenantId}`: starts the offboarding workflow for the tenant. What this
//! function can check without Organizations is checked here, so a caller hears at once: the
//! body, the tenant, its status, and the accounts the config names as the platform's own.
//! Phase one checks everything again (the management account, the account's tag) before it
//! changes anything.

use crate::read::entry;
use crate::rerun::{check_key, stamp};
use serde_json::Value;
use vending_domain::api::{OffboardAccepted, OffboardBody};
use vending_domain::ports::{Registry, TenantStatus, Workflow};
use vending_domain::steps::OffboardRequest;
use vending_domain::{PlatformConfig, StepError};
use vending_runtime::http::{Answer, invalid};

/// Starts an offboarding of the tenant.
pub async fn offboard<R: Registry, W: Workflow>(
    registry: &R,
    workflow: &W,
    config: &PlatformConfig,
    raw: &str,
    body: &Value,
) -> Result<Answer, StepError> {
    if !body.is_object() {
        return Err(invalid("body", "must be a JSON object"));
    }
    let asked: OffboardBody =
        serde_json::from_value(body.clone()).map_err(|e| invalid("body", e.to_string()))?;
    if let Some(key) = &asked.offboarding_id {
        check_key(key).map_err(|_| {
            invalid(
                "offboardingId",
                "must have 1 to 64 letters, digits, '-' or '_'",
            )
        })?;
    }
    if config.offboarding.is_none() {
        return Err(StepError::Conflict(
            "the platform config has no offboarding section: offboarding is off".into(),
        ));
    }
    let entry = match entry(registry, raw).await? {
        Ok(entry) => entry,
        Err(not_found) => return Ok(not_found),
    };
    let tenant = entry.tenant_id.clone();
    let input = serde_json::to_value(OffboardRequest {
        tenant_id: tenant.to_string(),
        close_account: asked.close_account,
        reason: asked.reason.clone(),
    })
    .map_err(|e| StepError::Internal(format!("encoding the offboarding: {e}")))?;
    // The workflow's own validation, so the answer names the same fields.
    OffboardRequest::from_value(&input)?;
    match entry.status {
        TenantStatus::Closed => {
            return Err(StepError::Conflict(format!("{tenant} is closed already")));
        }
        TenantStatus::Requested | TenantStatus::Provisioning => {
            return Err(StepError::Conflict(format!(
                "{tenant} is being vended: offboard it once that execution has ended"
            )));
        }
        TenantStatus::Ready | TenantStatus::Failed | TenantStatus::Offboarding => {}
    }
    if let Some(account) = &entry.account_id
        && let Some(why) = config.platform_account(account)
    {
        return Err(invalid(
            "tenantId",
            format!("{tenant}'s account {account} is {why}: it is never offboarded"),
        ));
    }
    if let Some(holder) = registry.lease_holder(&tenant).await? {
        return Err(StepError::Conflict(format!(
            "execution {holder} works on {tenant}: offboard it once that one has ended"
        )));
    }
    let name = match &asked.offboarding_id {
        Some(key) => format!("offboard-{key}"),
        None => format!("offboard-{tenant}-{}", stamp()),
    };
    let arn = workflow.start_offboarding(&name, &input).await?;
    tracing::info!(tenant = %tenant, execution = %arn, close_account = asked.close_account, "offboarding started");
    Answer::json(
        202,
        &OffboardAccepted {
            tenant_id: tenant,
            execution_arn: arn,
            close_account: asked.close_account,
        },
    )
}
