//! The RecordFailure step: every Catch of the workflow lands here with the error under
//! `failure.<Step>`. The tenant's registry entry becomes FAILED with the step, the error name
//! and the cause, a `TenantFailed` event is put, and the execution gives the tenant's lease
//! back, so a re-run can start. It returns `{error, cause}`, which the
//! workflow's Fail state reports. A failure before the request was validated (no spec) has no
//! tenant to record; it is only reported. Nor is a tenant recorded FAILED by an execution that
//! does not hold its lease while another does: that other execution is vending it. Nor is an
//! offboarding or closed tenant, by a vending refused before it took the lease.

use serde_json::json;
use vending_domain::StepError;
use vending_domain::ports::{EventBus, FailureInfo, Registry, RegistryEntry, TenantStatus};
use vending_domain::steps::{FailedState, RecordFailureInput, Recorded};
use vending_domain::telemetry::{self, Metric};

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
        cause: caught.readable_cause(),
        error: caught.error,
    };
    // A vending that failed, by the step and the error that failed it.
    telemetry::emit(Metric::count(
        "TenantsFailed",
        1,
        &[("Step", &failure.step), ("Error", &failure.error)],
    ));
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
            .unwrap_or_else(|| RegistryEntry::for_spec(&spec));
        // A vending refused before it took the lease of an offboarding or closed tenant
        // (a re-run of its old request) leaves the offboarding's record alone.
        if matches!(
            entry.status,
            TenantStatus::Offboarding | TenantStatus::Closed
        ) && registry.lease_holder(tenant).await?.as_deref() != Some(execution)
        {
            tracing::warn!(tenant = %tenant, status = ?entry.status, step = %failure.step, error = %failure.error, "a vending of an offboarding or closed tenant was refused; its record is left as it is");
            return Ok(Recorded {
                error: failure.error,
                cause: failure.cause,
            });
        }
        entry.status = TenantStatus::Failed;
        entry.request_id = spec.request_id.clone();
        entry.describe(&spec);
        // A vending that failed holding a slot under the account-creation cap gives it back,
        // unless a creation it started may still be in progress: that one keeps its slot until
        // a re-run's CheckAccount sees it end (or the slot lapses).
        if entry.create_account_request_id.is_none()
            && let Some(slot) = entry.creation_slot.take()
        {
            registry.release_creation_slot(tenant, slot).await?;
        }
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

/// The step on its typed input (`vending_domain::steps::RecordFailure`).
pub async fn handle<R: Registry, B: EventBus>(
    registry: &R,
    bus: &B,
    input: RecordFailureInput,
) -> Result<Recorded, StepError> {
    record_failure(registry, bus, input.state, &input.execution_name).await
}
