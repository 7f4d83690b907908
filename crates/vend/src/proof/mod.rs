//! Proof under crashes, faults and load, on the local platform: the claims of the design
//! (a crash anywhere, a duplicate delivery or a storm of throttling never leaves a half-made
//! tenant) checked over every point, not single ones. `vend proof` runs the full sweep; the
//! end-to-end tests run small versions of each.

pub mod crash;
pub mod offboard;
pub mod scale;
pub mod state;

use serde_json::{Value, json};

/// The sample portal request (`events/portal-request.json`) for `tenant` with `request_id`, as
/// API Gateway gives it to the TenantRequest function.
pub fn portal_request(tenant: &str, request_id: &str) -> Value {
    let mut event: Value = crate::local::repo_file("events/portal-request.json")
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    let mut body: Value =
        serde_json::from_str(event["body"].as_str().unwrap_or("{}")).unwrap_or(Value::Null);
    body["tenantId"] = json!(tenant);
    body["requestId"] = json!(request_id);
    event["body"] = Value::String(body.to_string());
    event
}

/// The execution ARN of a portal answer, when it started one (a 202).
pub fn started_execution(answer: &Value) -> Option<String> {
    let reply: Value =
        serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    reply["executionArn"].as_str().map(str::to_owned)
}
