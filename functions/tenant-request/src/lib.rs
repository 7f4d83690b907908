//! The portal's request function, behind `POST /tenants` on the HTTP API (IAM authorization;
//! a Backstage software template calls it).
//!
//! The request is validated exactly as the workflow's Normalize step validates it (the same
//! code), so a bad request gets a 400 with every bad field and nothing is recorded or started.
//! A valid one is recorded in the registry (a conditional write: an entry that exists is left
//! to the workflow) and the workflow is started under a name derived from the request id, with
//! the request body as input: submitting the same request twice starts nothing new.

use serde_json::{Value, json};
use vending_domain::ports::{Registry, RegistryEntry, Workflow};
use vending_domain::{PlatformConfig, StepError};

/// The execution name of a request: its id (already restricted to letters, digits, `-` and
/// `_`, at most 64 characters) under a fixed prefix.
pub fn execution_name(request_id: &str) -> String {
    format!("portal-{request_id}")
}

fn response(status: u16, body: &Value) -> Value {
    json!({
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": body.to_string(),
    })
}

/// A step error as an HTTP answer: the caller's fault is a 4xx with the fields, AWS's a 503.
fn refusal(e: &StepError) -> Value {
    match e {
        StepError::InvalidRequest(errors) => response(
            400,
            &json!({"message": "invalid request", "errors": errors.errors}),
        ),
        StepError::Conflict(m) => response(409, &json!({"message": m})),
        StepError::Throttled(_)
        | StepError::Unavailable(_)
        | StepError::ConcurrentModification(_) => response(
            503,
            &json!({"message": "try again shortly", "error": e.error_type()}),
        ),
        _ => response(
            500,
            &json!({"message": "internal error", "error": e.error_type()}),
        ),
    }
}

async fn submit<R: Registry, W: Workflow>(
    registry: &R,
    workflow: &W,
    config: &PlatformConfig,
    event: &Value,
) -> Result<Value, StepError> {
    if normalize::kind_of(event)? != normalize::TriggerKind::Portal {
        return Err(StepError::InvalidRequest({
            let mut e = vending_domain::ValidationErrors::default();
            e.push("request", "is not an HTTP API request");
            e
        }));
    }
    let spec = normalize::normalize(event, config)?;
    // Normalize has parsed the body already; it is JSON.
    let body: Value = serde_json::from_str(event["body"].as_str().unwrap_or("{}"))
        .map_err(|e| StepError::Internal(format!("the body parsed once and not twice: {e}")))?;
    let created = registry
        .put_new(&RegistryEntry::new(
            spec.tenant_id.clone(),
            spec.request_id.clone(),
        ))
        .await?;
    let name = execution_name(&spec.request_id);
    let execution = workflow.start(&name, &body).await?;
    tracing::info!(tenant = %spec.tenant_id, request = %spec.request_id, execution = %execution, new_tenant = created, "vending started");
    Ok(response(
        202,
        &json!({
            "tenantId": spec.tenant_id,
            "requestId": spec.request_id,
            "executionArn": execution,
        }),
    ))
}

/// The Lambda payload (an HTTP API v2 event) to an HTTP API v2 response.
pub async fn handle<R: Registry, W: Workflow>(
    registry: &R,
    workflow: &W,
    config: &PlatformConfig,
    event: Value,
) -> Value {
    match submit(registry, workflow, config, &event).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(error = %e, "request refused");
            refusal(&e)
        }
    }
}
