//! `GET /tenants/{tenantId}` and `GET /tenants`: what the registry holds, and where a running
//! execution is.

use vending_domain::api::{TenantList, TenantSummary, TenantView, list_query};
use vending_domain::ports::{ExecutionProgress, Registry, RegistryEntry, TenantStatus, Workflow};
use vending_domain::{StepError, TenantId};
use vending_runtime::http::{Answer, invalid};

/// A tenant id from a path, validated.
pub fn tenant_id(raw: &str) -> Result<TenantId, StepError> {
    TenantId::parse(raw).map_err(|e| invalid("tenantId", e))
}

/// The tenant's entry, or the 404 answer.
pub async fn entry<R: Registry>(
    registry: &R,
    raw: &str,
) -> Result<Result<RegistryEntry, Answer>, StepError> {
    let tenant = tenant_id(raw)?;
    Ok(registry
        .get(&tenant)
        .await?
        .ok_or_else(|| Answer::refusal(404, format!("no tenant '{tenant}'"))))
}

/// The execution working on the tenant: the one holding its lease, else (before any step took
/// the lease) the one its latest request started.
pub async fn execution<R: Registry, W: Workflow>(
    registry: &R,
    workflow: &W,
    entry: &RegistryEntry,
) -> Result<Option<ExecutionProgress>, StepError> {
    if let Some(holder) = registry.lease_holder(&entry.tenant_id).await? {
        return workflow.progress(&holder).await;
    }
    if entry.status != TenantStatus::Requested {
        return Ok(None);
    }
    let Some(request) = registry.get_request(&entry.request_id).await? else {
        return Ok(None);
    };
    workflow
        .progress(&crate::execution_name(&request.request_id, request.attempt))
        .await
}

/// `GET /tenants/{tenantId}`.
pub async fn get<R: Registry, W: Workflow>(
    registry: &R,
    workflow: &W,
    raw: &str,
) -> Result<Answer, StepError> {
    let entry = match entry(registry, raw).await? {
        Ok(entry) => entry,
        Err(not_found) => return Ok(not_found),
    };
    let execution = execution(registry, workflow, &entry).await?;
    Answer::json(200, &TenantView::new(entry, execution))
}

/// `GET /tenants`.
pub async fn list<R: Registry>(registry: &R, query: &str) -> Result<Answer, StepError> {
    let query = list_query(query)?;
    let page = registry.list(&query).await?;
    Answer::json(
        200,
        &TenantList {
            tenants: page.tenants.into_iter().map(TenantSummary::from).collect(),
            next_token: page.next,
        },
    )
}
