//! `POST /reruns`: a re-run of every tenant a selector (or a list) names, as one execution of
//! the batch workflow (`workflows/tenant-rerun.asl.json`): a Map that starts each tenant's
//! vending with `startExecution.sync:2`, at most `concurrency` at a time, and waits for it. No
//! client-side loop starts executions, so a batch survives the caller going away, and the
//! account-creation cap holds across it as across every execution.
//!
//! Each tenant re-runs the request that made or last changed it, as `POST
//! /tenants/{tenantId}/rerun` does; a tenant vended from an account-created event (no recorded
//! request), offboarding or closed, or with an execution running on it is skipped, and the answer says why.

use crate::read::{execution, tenant_id};
use crate::rerun::{check_key, stamp};
use serde_json::{Value, json};
use vending_domain::api::{
    BatchAccepted, BatchItem, BatchRerunRequest, DEFAULT_BATCH_CONCURRENCY, MAX_BATCH,
    MAX_BATCH_CONCURRENCY, Skipped,
};
use vending_domain::ports::{Registry, RegistryEntry, TenantQuery, TenantStatus, Workflow};
use vending_domain::registry::MAX_PAGE;
use vending_domain::{StepError, ValidationErrors};
use vending_runtime::http::{Answer, invalid};

/// Step Functions' longest execution name.
const MAX_EXECUTION_NAME: usize = 80;
/// Step Functions' largest execution input, in bytes (256 KiB).
const MAX_INPUT: usize = 256 * 1024;

/// The tenants the body names: the selector's (every page of the listing), or the list's.
async fn selected<R: Registry>(
    registry: &R,
    asked: &BatchRerunRequest,
) -> Result<Vec<RegistryEntry>, StepError> {
    let mut errs = ValidationErrors::default();
    let mut entries = Vec::new();
    match (&asked.selector, &asked.tenants) {
        (Some(selector), None) => {
            let mut query = TenantQuery {
                environment: selector.environment.clone(),
                status: selector.status,
                tags: selector.tags.clone(),
                limit: MAX_PAGE,
                after: None,
            };
            loop {
                let page = registry.list(&query).await?;
                entries.extend(page.tenants);
                if entries.len() > MAX_BATCH {
                    return Err(invalid(
                        "selector",
                        format!(
                            "selects more than {MAX_BATCH} tenants, the most one batch takes: narrow it (environment, status, tags)"
                        ),
                    ));
                }
                match page.next {
                    Some(next) => query.after = Some(next),
                    None => break,
                }
            }
        }
        (None, Some(list)) if !list.is_empty() && list.len() <= MAX_BATCH => {
            for (i, raw) in list.iter().enumerate() {
                let field = format!("tenants[{i}]");
                let id = match tenant_id(raw) {
                    Ok(id) => id,
                    Err(_) => {
                        errs.push(&field, format!("'{raw}' is not a tenant id"));
                        continue;
                    }
                };
                if entries.iter().any(|e: &RegistryEntry| e.tenant_id == id) {
                    continue;
                }
                match registry.get(&id).await? {
                    Some(entry) => entries.push(entry),
                    None => errs.push(&field, format!("no tenant '{id}'")),
                }
            }
        }
        (None, Some(_)) => errs.push("tenants", format!("must name 1 to {MAX_BATCH} tenants")),
        _ => errs.push(
            "selector",
            "give either a selector or a list of tenants (not both, not neither)",
        ),
    }
    errs.into_result(entries).map_err(StepError::InvalidRequest)
}

/// Starts a batch re-run.
pub async fn reruns<R: Registry, W: Workflow>(
    registry: &R,
    workflow: &W,
    body: &Value,
) -> Result<Answer, StepError> {
    // serde reads a struct from an array too; the API takes objects only.
    if !body.is_object() {
        return Err(invalid("body", "must be a JSON object"));
    }
    if body
        .get("selector")
        .is_some_and(|s| !s.is_null() && !s.is_object())
    {
        return Err(invalid(
            "selector",
            "must be an object: {environment, status, tags}",
        ));
    }
    let asked: BatchRerunRequest =
        serde_json::from_value(body.clone()).map_err(|e| invalid("body", e.to_string()))?;
    let concurrency = asked.concurrency.unwrap_or(DEFAULT_BATCH_CONCURRENCY);
    if !(1..=MAX_BATCH_CONCURRENCY).contains(&concurrency) {
        return Err(invalid(
            "concurrency",
            format!("{concurrency} is not from 1 to {MAX_BATCH_CONCURRENCY}"),
        ));
    }
    if let Some(key) = &asked.rerun_id {
        check_key(key)?;
    }
    let entries = selected(registry, &asked).await?;
    let key = asked.rerun_id.clone().unwrap_or_else(stamp);
    let mut tenants = Vec::new();
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for entry in entries {
        let tenant = entry.tenant_id.clone();
        let name = format!("rerun-{key}-{tenant}");
        if name.len() > MAX_EXECUTION_NAME {
            return Err(invalid(
                "rerunId",
                format!(
                    "is too long: with tenant '{tenant}' the execution name '{name}' passes Step Functions' {MAX_EXECUTION_NAME} characters"
                ),
            ));
        }
        if matches!(
            entry.status,
            TenantStatus::Offboarding | TenantStatus::Closed
        ) {
            skipped.push(Skipped {
                tenant_id: tenant,
                reason: format!(
                    "{}: a re-run would undo its offboarding",
                    entry.status.as_str()
                ),
            });
            continue;
        }
        let running = execution(registry, workflow, &entry)
            .await?
            .filter(|e| e.status == "RUNNING");
        if let Some(running) = running {
            // A retried batch finds its own executions running: they are its, not skipped.
            if !running.execution_arn.ends_with(&format!(":{name}")) {
                skipped.push(Skipped {
                    tenant_id: tenant,
                    reason: format!("being vended by {}", running.execution_arn),
                });
                continue;
            }
        }
        let held = registry
            .get_request(&entry.request_id)
            .await?
            .filter(|r| !r.body.is_empty());
        let Some(held) = held else {
            skipped.push(Skipped {
                tenant_id: tenant,
                reason: format!(
                    "vended from an account-created event ({}), not a portal request: redrive its execution instead",
                    entry.request_id
                ),
            });
            continue;
        };
        let input: Value = serde_json::from_str(&held.body).map_err(|e| {
            StepError::Internal(format!(
                "the recorded request {} is not JSON: {e}",
                held.request_id
            ))
        })?;
        items.push(json!({"tenantId": tenant, "name": name, "input": input}));
        tenants.push(BatchItem {
            tenant_id: tenant,
            request_id: held.request_id,
            execution_name: name,
        });
    }
    let mut answer = BatchAccepted {
        execution_arn: None,
        concurrency,
        tenants,
        skipped,
    };
    if items.is_empty() {
        return Answer::json(200, &answer);
    }
    let input = json!({"concurrency": concurrency, "tenants": items});
    if input.to_string().len() > MAX_INPUT {
        return Err(invalid(
            "selector",
            format!(
                "the {} tenants' requests pass the 256 KiB of an execution's input: re-run fewer at once",
                answer.tenants.len()
            ),
        ));
    }
    let arn = workflow
        .start_batch(&format!("batch-{key}"), &input)
        .await?;
    tracing::info!(execution = %arn, tenants = answer.tenants.len(), skipped = answer.skipped.len(), concurrency, "batch re-run started");
    answer.execution_arn = Some(arn);
    Answer::json(202, &answer)
}
