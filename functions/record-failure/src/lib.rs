//! The RecordFailure step: every Catch of the workflow lands here with the error under
//! `failure.<Step>`. The tenant's registry entry becomes FAILED with the step, the error name
//! and the cause, a `TenantFailed` event is put, and the execution gives the tenant's lease
//! back, so a re-run can start. It returns `{error, cause}`, which the
//! workflow's Fail state reports. A failure before the request was validated (no spec) has no
//! tenant to record; it is only reported. Nor is a tenant recorded FAILED by an execution that
//! does not hold its lease while another does: that other execution is vending it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use vending_domain::ports::{EventBus, FailureInfo, Registry, RegistryEntry, TenantStatus};
use vending_domain::{StepError, TenantSpec};

/// The workflow state as the Catch left it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedState {
    /// The validated request, when Normalize got that far.
    pub spec: Option<TenantSpec>,
    /// The caught error, keyed by the step that failed.
    pub failure: BTreeMap<String, CaughtError>,
}

/// An error as Step Functions' Catch hands it over.
#[derive(Debug, Deserialize)]
pub struct CaughtError {
    /// The error name.
    #[serde(rename = "Error")]
    pub error: String,
    /// The cause (for a Lambda error, its JSON).
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// What the workflow passes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    /// The whole state.
    pub state: FailedState,
    /// The execution, whose tenant lease is given back.
    pub execution_name: String,
}

/// The error and cause the Fail state reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recorded {
    /// The error name.
    pub error: String,
    /// The cause, readable.
    pub cause: String,
}

/// A Lambda error's cause is `{"errorMessage": ..., "errorType": ...}`: keep the message.
fn readable_cause(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| v.get("errorMessage")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| cause.to_owned())
}

/// The step.
pub async fn record_failure<R: Registry, B: EventBus>(
    registry: &R,
    bus: &B,
    state: FailedState,
    execution: &str,
) -> Result<Recorded, StepError> {
    let Some((step, caught)) = state.failure.into_iter().next() else {
        return Err(StepError::Internal(
            "RecordFailure ran without a caught error".into(),
        ));
    };
    let failure = FailureInfo {
        step,
        error: caught.error,
        cause: readable_cause(&caught.cause),
    };
    if let Some(spec) = state.spec {
        let tenant = &spec.tenant_id;
        if let Some(holder) = registry.lease_holder(tenant).await?
            && holder != execution
        {
            tracing::warn!(tenant = %tenant, holder = %holder, step = %failure.step, error = %failure.error, "failed while another execution vends the tenant; its record is left to that one");
            return Ok(Recorded {
                error: failure.error,
                cause: failure.cause,
            });
        }
        let mut entry = registry
            .get(tenant)
            .await?
            .unwrap_or_else(|| RegistryEntry::new(tenant.clone(), spec.request_id.clone()));
        entry.status = TenantStatus::Failed;
        entry.request_id = spec.request_id.clone();
        entry.failure = Some(failure.clone());
        registry.put(&entry).await?;
        bus.put(
            "TenantFailed",
            &json!({
                "tenantId": tenant,
                "requestId": spec.request_id,
                "step": failure.step,
                "error": failure.error,
                "cause": failure.cause,
            }),
        )
        .await?;
        registry.release(tenant, execution).await?;
        tracing::warn!(tenant = %tenant, step = %failure.step, error = %failure.error, "vending failed");
    } else {
        tracing::warn!(step = %failure.step, error = %failure.error, "a trigger was refused before it named a valid tenant");
    }
    Ok(Recorded {
        error: failure.error,
        cause: failure.cause,
    })
}

/// The Lambda payload to the step's JSON result.
pub async fn handle<R: Registry, B: EventBus>(
    registry: &R,
    bus: &B,
    payload: Value,
) -> Result<Value, StepError> {
    let input: Input = vending_domain::steps::decode(payload)?;
    let recorded = record_failure(registry, bus, input.state, &input.execution_name).await?;
    vending_domain::steps::encode(&recorded)
}
