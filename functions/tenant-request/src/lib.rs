//! The portal's request function, behind `POST /tenants` on the HTTP API (IAM authorization;
//! a Backstage software template calls it).
//!
//! The body is validated with the domain's own rules (a bad one gets a 400 with every bad
//! field, and nothing is recorded or started), the tenant's namespace scope is claimed
//! (another tenant's overlapping it is a 400 naming `tenantId`), and the request is recorded
//! by its id: the same id with another body is a 409. Then the workflow starts under a name
//! derived from the request id, with the body as input; the API Gateway event never enters
//! the workflow. Submitting the same request twice starts nothing new; submitting it again
//! after its run FAILED starts a new attempt (`portal-<requestId>-<attempt>`) and says so.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde_json::{Value, json};
use vending_domain::ports::{
    Registry, RegistryEntry, RequestRecord, ScopeClaim, TenantStatus, Workflow,
};
use vending_domain::{PlatformConfig, StepError, TenantRequest, TenantSpec, ValidationErrors};

/// The execution name of a request's attempt: its id (already restricted to letters, digits,
/// `-` and `_`, at most 64 characters) under a fixed prefix, and the attempt after the first.
pub fn execution_name(request_id: &str, attempt: u32) -> String {
    if attempt <= 1 {
        format!("portal-{request_id}")
    } else {
        format!("portal-{request_id}-{attempt}")
    }
}

fn response(status: u16, body: &Value) -> Value {
    json!({
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": body.to_string(),
    })
}

fn invalid(field: &str, reason: impl Into<String>) -> StepError {
    let mut e = ValidationErrors::default();
    e.push(field, reason);
    StepError::InvalidRequest(e)
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

/// The request body of a `POST /tenants` event.
pub fn body_of(event: &Value) -> Result<Value, StepError> {
    let event: ApiGatewayV2httpRequest = serde_json::from_value(event.clone())
        .map_err(|e| invalid("request", format!("is not an HTTP API request: {e}")))?;
    let method = event.request_context.http.method.as_str().to_owned();
    let path = event.raw_path.clone().unwrap_or_default();
    if method != "POST" || path.trim_end_matches('/') != "/tenants" {
        return Err(invalid(
            "request",
            format!("{method} {path} is not a vending request (POST /tenants)"),
        ));
    }
    if event.is_base64_encoded {
        return Err(invalid("body", "must be JSON text, not base64"));
    }
    serde_json::from_str(event.body.as_deref().unwrap_or_default())
        .map_err(|e| invalid("body", format!("is not JSON: {e}")))
}

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

async fn submit<R: Registry, W: Workflow>(
    registry: &R,
    workflow: &W,
    config: &PlatformConfig,
    event: &Value,
) -> Result<Value, StepError> {
    let body = body_of(event)?;
    let spec = TenantRequest::from_value(&body)?.validate(config)?;
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
    let (attempt, said) = attempt(registry, &spec, &text, held).await?;
    let created = registry
        .put_new(&RegistryEntry::new(
            spec.tenant_id.clone(),
            spec.request_id.clone(),
        ))
        .await?;
    let name = execution_name(&spec.request_id, attempt);
    let execution = workflow.start(&name, &body).await?;
    tracing::info!(tenant = %spec.tenant_id, request = %spec.request_id, execution = %execution, attempt, new_tenant = created, "vending started");
    let mut answer = json!({
        "tenantId": spec.tenant_id,
        "requestId": spec.request_id,
        "executionArn": execution,
        "attempt": attempt,
    });
    if let Some(said) = said {
        answer["message"] = json!(said);
    }
    Ok(response(202, &answer))
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
