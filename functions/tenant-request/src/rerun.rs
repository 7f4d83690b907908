//! `POST /tenants/{tenantId}/rerun`: the tenant's vending again, with the request that made or
//! last changed it. Every step converges, so a re-run repairs what drifted or failed and
//! changes nothing else; it is refused while an execution works on the tenant.

use crate::read::{entry, execution};
use serde_json::Value;
use vending_domain::api::{Accepted, RerunRequest};
use vending_domain::ports::{Registry, TenantStatus, Workflow};
use vending_domain::{StepError, TenantId};
use vending_runtime::http::{Answer, invalid};

/// The time in milliseconds, in base 36: what names a re-run without a caller's key.
pub(crate) fn stamp() -> String {
    let mut millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut digits = Vec::new();
    loop {
        let d = u32::try_from(millis % 36).unwrap_or(0);
        digits.push(char::from_digit(d, 36).unwrap_or('0'));
        millis /= 36;
        if millis == 0 {
            break;
        }
    }
    digits.into_iter().rev().collect()
}

/// The execution name of a re-run: the caller's key when given (so a retried call starts
/// nothing new), else the tenant and the time in milliseconds (base 36). At most 63
/// characters, within Step Functions' 80.
fn rerun_name(tenant: &TenantId, key: Option<&str>) -> String {
    match key {
        Some(key) => format!("rerun-{key}"),
        None => format!("rerun-{tenant}-{}", stamp()),
    }
}

pub(crate) fn check_key(key: &str) -> Result<(), StepError> {
    if key.is_empty()
        || key.len() > 64
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(
            "rerunId",
            "must have 1 to 64 letters, digits, '-' or '_'",
        ));
    }
    Ok(())
}

/// Starts a re-run of the tenant.
pub async fn rerun<R: Registry, W: Workflow>(
    registry: &R,
    workflow: &W,
    raw: &str,
    body: &Value,
) -> Result<Answer, StepError> {
    if !body.is_object() {
        return Err(invalid("body", "must be a JSON object"));
    }
    let asked: RerunRequest =
        serde_json::from_value(body.clone()).map_err(|e| invalid("body", e.to_string()))?;
    if let Some(key) = &asked.rerun_id {
        check_key(key)?;
    }
    let entry = match entry(registry, raw).await? {
        Ok(entry) => entry,
        Err(not_found) => return Ok(not_found),
    };
    let tenant = entry.tenant_id.clone();
    if matches!(
        entry.status,
        TenantStatus::Offboarding | TenantStatus::Closed
    ) {
        return Err(StepError::Conflict(format!(
            "tenant {tenant} is {}: a re-run would undo its offboarding; post a new request (a new requestId) to take it back",
            entry.status.as_str()
        )));
    }
    let name = rerun_name(&tenant, asked.rerun_id.as_deref());
    if let Some(running) = execution(registry, workflow, &entry)
        .await?
        .filter(|e| e.status == "RUNNING")
    {
        if running.execution_arn.ends_with(&format!(":{name}")) {
            // The same re-run asked again: it is the one running.
            return Answer::json(
                202,
                &accepted(entry.tenant_id, entry.request_id, running.execution_arn),
            );
        }
        return Err(StepError::Conflict(format!(
            "tenant {tenant} is being vended by {}{}: a re-run can start once it ends",
            running.execution_arn,
            running
                .state
                .map(|s| format!(" (at {s})"))
                .unwrap_or_default()
        )));
    }
    let Some(held) = registry
        .get_request(&entry.request_id)
        .await?
        .filter(|r| !r.body.is_empty())
    else {
        return Err(StepError::Conflict(format!(
            "tenant {tenant} was vended from an account-created event ({}), not a portal request: re-run it by redriving its execution from the Step Functions console, or post a request for it",
            entry.request_id
        )));
    };
    let input: Value = serde_json::from_str(&held.body).map_err(|e| {
        StepError::Internal(format!(
            "the recorded request {} is not JSON: {e}",
            held.request_id
        ))
    })?;
    let arn = workflow.start(&name, &input).await?;
    tracing::info!(tenant = %tenant, request = %held.request_id, execution = %arn, "re-run started");
    Answer::json(202, &accepted(tenant, held.request_id, arn))
}

fn accepted(tenant_id: TenantId, request_id: String, execution_arn: String) -> Accepted {
    Accepted {
        message: Some(format!("re-run of request {request_id}")),
        tenant_id,
        request_id,
        execution_arn,
        attempt: None,
    }
}
