//! `POST /plans`: what a request would do, read-only. The body is a tenant request, validated
//! as `POST /tenants` validates it (a bad one is a 400 naming every field); the answer is the
//! plan (`vending_domain::plan`) with the manifests' diff against what the tenant's last
//! hand-off committed. It reads the tenant's registry entry and the claimed VPC blocks, and
//! writes nothing: no request is recorded, no scope claimed, no execution started.

use serde_json::Value;
use vending_domain::ports::Registry;
use vending_domain::{PlatformConfig, StepError, TenantRequest};
use vending_runtime::http::Answer;

/// Plans a request (the body of `POST /plans`).
pub async fn plan<R: Registry>(
    registry: &R,
    config: &PlatformConfig,
    body: &Value,
) -> Result<Answer, StepError> {
    let spec = TenantRequest::from_value(body)?.validate(config)?;
    let entry = registry.get(&spec.tenant_id).await?;
    let claimed = registry.claimed_cidrs().await?;
    let planned = vending_domain::plan::plan(config, &spec, entry.as_ref(), &claimed)?;
    let mut plan = planned.plan;
    plan.manifests = tenant_manifests::changes(
        planned.previous.as_ref(),
        &planned.record,
        config.gitops.root(),
    )
    .map_err(|e| match e {
        tenant_manifests::RenderError::Invalid(errs) => StepError::InvalidRequest(errs),
        other => StepError::Internal(other.to_string()),
    })?;
    tracing::info!(tenant = %plan.tenant_id, action = ?plan.action, changes = plan.changes.len(), "planned");
    Answer::json(200, &plan)
}
