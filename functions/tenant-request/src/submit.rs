//! `POST /tenants`: a portal request, validated, recorded by its id, and its vending started.

use serde_json::Value;
use vending_domain::api::Accepted;
use vending_domain::ports::{
    Registry, RegistryEntry, RequestRecord, ScopeClaim, TenantStatus, Workflow,
};
use vending_domain::{PlatformConfig, StepError, TenantRequest, TenantSpec};
use vending_runtime::http::{Answer, invalid};

/// The refusal of a request id used for another request.
fn reused(spec: &TenantSpec, held: &RequestRecord) -> StepError {
    StepError::Conflict(format!(
        "requestId {} was already used for another request (tenant {}): a request id names one request; use a new one for a changed request",
        spec.request_id, held.tenant_id
    ))
}

/// Which attempt of the request to run: the first for a new request id, the recorded one for
/// a repeat, the next one when the tenant's last run of this request failed. Also says what
/// happened, for the answer.
async fn attempt<R: Registry>(
    registry: &R,
    spec: &TenantSpec,
    text: &str,
    body: &Value,
    held: Option<RequestRecord>,
) -> Result<(u32, Option<String>), StepError> {
    let held = match held {
        Some(held) => held,
        None => {
            let fresh = RequestRecord {
                request_id: spec.request_id.clone(),
                tenant_id: spec.tenant_id.clone(),
                spec: text.to_owned(),
                attempt: 1,
                body: body.to_string(),
            };
            if registry.put_request(&fresh).await? {
                return Ok((1, None));
            }
            // Another submission of the same id recorded it meanwhile.
            let held = registry
                .get_request(&spec.request_id)
                .await?
                .ok_or_else(|| {
                    StepError::ConcurrentModification(format!(
                        "request {} was recorded and is gone",
                        spec.request_id
                    ))
                })?;
            if held.spec != text {
                return Err(reused(spec, &held));
            }
            held
        }
    };
    let entry = registry.get(&spec.tenant_id).await?;
    let Some(failure) = entry
        .filter(|e| e.status == TenantStatus::Failed && e.request_id == spec.request_id)
        .and_then(|e| e.failure)
    else {
        return Ok((held.attempt, None));
    };
    if !registry
        .next_attempt(&spec.request_id, held.attempt)
        .await?
    {
        return Err(StepError::ConcurrentModification(format!(
            "request {} is being retried by another submission",
            spec.request_id
        )));
    }
    let next = held.attempt + 1;
    let said = format!(
        "attempt {} failed at {} ({}): {}; attempt {next} started",
        held.attempt, failure.step, failure.error, failure.cause
    );
    Ok((next, Some(said)))
}

/// Takes a portal request (the body of `POST /tenants`).
pub async fn submit<R: Registry, W: Workflow>(
    registry: &R,
    workflow: &W,
    config: &PlatformConfig,
    body: &Value,
) -> Result<Answer, StepError> {
    let spec = TenantRequest::from_value(body)?.validate(config)?;
    let existing = registry.get(&spec.tenant_id).await?;
    vending_domain::plan::immovable(&spec, existing.as_ref()).into_result(())?;
    let text = serde_json::to_string(&spec)
        .map_err(|e| StepError::Internal(format!("encoding the spec: {e}")))?;
    let held = registry.get_request(&spec.request_id).await?;
    if let Some(held) = &held
        && held.spec != text
    {
        return Err(reused(&spec, held));
    }
    if let ScopeClaim::Overlaps(other) = registry.claim_scope(&spec.tenant_id).await? {
        return Err(invalid(
            "tenantId",
            format!(
                "'{}' and the existing tenant '{other}' would reach each other's namespaces (a tenant's access covers <id> and <id>-*): choose an id that neither extends nor is extended by '{other}'",
                spec.tenant_id
            ),
        ));
    }
    let (attempt, said) = attempt(registry, &spec, &text, body, held).await?;
    let created = registry.put_new(&RegistryEntry::for_spec(&spec)).await?;
    let name = crate::execution_name(&spec.request_id, attempt);
    let execution = workflow.start(&name, body).await?;
    tracing::info!(tenant = %spec.tenant_id, request = %spec.request_id, execution = %execution, attempt, new_tenant = created, "vending started");
    Answer::json(
        202,
        &Accepted {
            tenant_id: spec.tenant_id,
            request_id: spec.request_id,
            execution_arn: execution,
            attempt: Some(attempt),
            message: said,
        },
    )
}
