//! The Normalize step: every trigger becomes a validated `TenantSpec`, or an `InvalidRequest`
//! naming each bad field, before anything touches AWS.
//!
//! Accepted triggers: a portal request (API Gateway HTTP API v2, `POST /tenants`), a Control
//! Tower `CreateManagedAccount` event (SUCCEEDED only), an Organizations `CreateAccountResult`
//! event from CloudTrail (SUCCEEDED only), the service's own `TenantRequested` event, and a
//! console (re-)run input, which is a tenant request as JSON.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde_json::Value;
use vending_domain::request::TenantRequest;
use vending_domain::{PlatformConfig, StepError, TenantSpec, ValidationErrors};

/// Which kind of trigger a payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerKind {
    /// API Gateway HTTP API v2 event from the portal.
    Portal,
    /// Control Tower lifecycle event.
    ControlTower,
    /// Organizations event via CloudTrail.
    Organizations,
    /// The service's own EventBridge event.
    TenantRequested,
    /// A tenant request given directly (Step Functions console, `vend rerun`).
    Console,
}

fn invalid(field: &str, reason: impl Into<String>) -> StepError {
    let mut e = ValidationErrors::default();
    e.push(field, reason);
    StepError::InvalidRequest(e)
}

/// Names the trigger from its shape.
pub fn kind_of(trigger: &Value) -> Result<TriggerKind, StepError> {
    let source = trigger.get("source").and_then(Value::as_str);
    let event_name = trigger.pointer("/detail/eventName").and_then(Value::as_str);
    match (source, event_name) {
        (Some("aws.controltower"), Some("CreateManagedAccount")) => Ok(TriggerKind::ControlTower),
        (Some("aws.organizations"), Some("CreateAccountResult")) => Ok(TriggerKind::Organizations),
        (Some("tenant-vending"), _)
            if trigger.get("detail-type").and_then(Value::as_str) == Some("TenantRequested") =>
        {
            Ok(TriggerKind::TenantRequested)
        }
        (Some(s), _) => Err(invalid(
            "trigger",
            format!(
                "events from '{s}' ({}) are not vending triggers",
                event_name.unwrap_or("no eventName")
            ),
        )),
        (None, _)
            if trigger.get("requestContext").is_some() && trigger.get("routeKey").is_some() =>
        {
            Ok(TriggerKind::Portal)
        }
        (None, _) if trigger.get("tenantId").is_some() => Ok(TriggerKind::Console),
        _ => Err(invalid(
            "trigger",
            "is not a portal request, an account-created event, a TenantRequested event or a tenant request",
        )),
    }
}

/// Turns an account name into a tenant id candidate: lowercase, runs of other characters
/// become one '-'. The result is still validated as a DNS-1123 label.
fn tenant_id_from_account_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

fn adopted(
    config: &PlatformConfig,
    request_id: &str,
    account_name: &str,
    account_id: &str,
    ou_id: Option<&str>,
) -> TenantRequest {
    let environment = ou_id
        .and_then(|ou| {
            config
                .environments
                .iter()
                .find(|(_, e)| e.ou_id == ou)
                .map(|(name, _)| name.clone())
        })
        .unwrap_or_else(|| config.adoption.default_environment.clone());
    let mut request = TenantRequest::default();
    request.request_id = request_id.to_owned();
    request.tenant_id = tenant_id_from_account_name(account_name);
    request.display_name = Some(account_name.to_owned());
    request.environment = environment;
    request.account_id = Some(account_id.to_owned());
    request.owners = config
        .adoption
        .default_owners
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect();
    request.tags = config.adoption.default_tags.clone();
    request
}

/// Where an account-created event keeps what adoption needs (JSON pointers).
struct AccountEvent {
    /// The creation status object, from the event's root.
    status: &'static str,
    /// The account name, from the status.
    name: &'static str,
    /// The account id, from the status.
    id: &'static str,
    /// The OU id, from the status, when the event has one.
    ou: Option<&'static str>,
}

/// The tenant request for an account that an account-created event reports as SUCCEEDED.
fn adopted_from_event(
    trigger: &Value,
    config: &PlatformConfig,
    shape: &AccountEvent,
) -> Result<TenantRequest, StepError> {
    let st = trigger.pointer(shape.status).unwrap_or(&Value::Null);
    let state = field(st, "/state", "state")?;
    if state != "SUCCEEDED" {
        return Err(invalid(
            "state",
            format!("the account creation ended in {state}; only SUCCEEDED accounts are adopted"),
        ));
    }
    let ou = shape.ou.and_then(|p| st.pointer(p)).and_then(Value::as_str);
    Ok(adopted(
        config,
        field(trigger, "/id", "id")?,
        field(st, shape.name, "accountName")?,
        field(st, shape.id, "accountId")?,
        ou,
    ))
}

fn field<'a>(v: &'a Value, pointer: &str, name: &str) -> Result<&'a str, StepError> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(name, "is missing from the event"))
}

/// Reads the tenant request a trigger carries.
pub fn request_of(
    trigger: &Value,
    config: &PlatformConfig,
) -> Result<(TriggerKind, TenantRequest), StepError> {
    let kind = kind_of(trigger)?;
    let request = match kind {
        TriggerKind::Portal => {
            let event: ApiGatewayV2httpRequest = serde_json::from_value(trigger.clone())
                .map_err(|e| invalid("trigger", format!("is not an HTTP API v2 event: {e}")))?;
            let method = event.request_context.http.method.as_str().to_owned();
            let path = event.raw_path.clone().unwrap_or_default();
            if method != "POST" || path.trim_end_matches('/') != "/tenants" {
                return Err(invalid(
                    "trigger",
                    format!("{method} {path} is not a vending request (POST /tenants)"),
                ));
            }
            if event.is_base64_encoded {
                return Err(invalid("body", "must be JSON text, not base64"));
            }
            let body: Value = serde_json::from_str(event.body.as_deref().unwrap_or_default())
                .map_err(|e| invalid("body", format!("is not JSON: {e}")))?;
            TenantRequest::from_value(&body)?
        }
        TriggerKind::TenantRequested => {
            TenantRequest::from_value(trigger.get("detail").unwrap_or(&Value::Null))?
        }
        TriggerKind::Console => TenantRequest::from_value(trigger)?,
        TriggerKind::ControlTower => adopted_from_event(
            trigger,
            config,
            &AccountEvent {
                status: "/detail/serviceEventDetails/createManagedAccountStatus",
                name: "/account/accountName",
                id: "/account/accountId",
                ou: Some("/organizationalUnit/organizationalUnitId"),
            },
        )?,
        TriggerKind::Organizations => adopted_from_event(
            trigger,
            config,
            &AccountEvent {
                status: "/detail/serviceEventDetails/createAccountStatus",
                name: "/accountName",
                id: "/accountId",
                ou: None,
            },
        )?,
    };
    Ok((kind, request))
}

/// The step: any trigger to a validated spec.
pub fn normalize(trigger: &Value, config: &PlatformConfig) -> Result<TenantSpec, StepError> {
    let (kind, request) = request_of(trigger, config)?;
    let spec = request.validate(config)?;
    tracing::info!(tenant = %spec.tenant_id, request = %spec.request_id, trigger = ?kind, "normalized");
    Ok(spec)
}

/// The Lambda payload the workflow sends (`{"trigger": ..., "executionName": ...}`) to the spec as JSON.
pub fn handle(payload: &Value, config: &PlatformConfig) -> Result<Value, StepError> {
    let trigger = payload
        .get("trigger")
        .ok_or_else(|| invalid("trigger", "is missing from the step input"))?;
    let spec = normalize(trigger, config)?;
    vending_domain::steps::encode(&spec)
}
