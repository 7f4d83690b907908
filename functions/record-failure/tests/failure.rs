//! RecordFailure on fakes: the failure is stored with its step, announced, and the lease given
//! back; a tenant another execution holds is left to it.

use serde_json::json;
use vending_domain::TenantId;
use vending_domain::fakes::{FakeBus, FakeRegistry, example_config};
use vending_domain::ports::{Lease, Registry, TenantStatus};
use vending_domain::request::TenantRequest;
use vending_domain::steps::{RecordFailureInput, Recorded};

/// What the workflow passes, read as the step's input.
fn input(execution: &str) -> RecordFailureInput {
    let spec = TenantRequest::from_value(&json!({
        "requestId": "req-1", "tenantId": "payments", "environment": "prod",
        "owners": ["arn:aws:iam::123456789012:role/payments-leads"],
        "tags": {"CostCenter": "cc-1"}
    }))
    .expect("reads")
    .validate(&example_config())
    .expect("valid");
    serde_json::from_value(json!({
        "state": {"spec": spec, "failure": {"HandOff": {"Error": "Conflict", "Cause": "{\"errorMessage\": \"stale\", \"errorType\": \"Conflict\"}"}}},
        "executionName": execution
    }))
    .expect("the payload reads")
}

#[tokio::test]
async fn a_failure_is_stored_announced_and_the_lease_given_back() {
    let (registry, bus) = (FakeRegistry::default(), FakeBus::default());
    let tenant = TenantId::parse("payments").expect("id");
    assert_eq!(
        registry.acquire(&tenant, "exec-1").await.expect("lease"),
        Lease::Acquired
    );
    let out = record_failure::handle(&registry, &bus, input("exec-1"))
        .await
        .expect("recorded");
    assert_eq!(
        out,
        Recorded {
            error: "Conflict".into(),
            cause: "stale".into()
        }
    );
    let entry = registry.entry(&tenant).expect("entry");
    assert_eq!(entry.status, TenantStatus::Failed);
    assert_eq!(entry.failure.map(|f| f.step), Some("HandOff".into()));
    assert_eq!(bus.events()[0].0, "TenantFailed");
    assert_eq!(registry.holder(&tenant), None, "the lease is back");
}

#[tokio::test]
async fn a_tenant_another_execution_holds_is_left_to_it() {
    let (registry, bus) = (FakeRegistry::default(), FakeBus::default());
    let tenant = TenantId::parse("payments").expect("id");
    registry
        .acquire(&tenant, "exec-other")
        .await
        .expect("lease");
    let out = record_failure::handle(&registry, &bus, input("exec-1"))
        .await
        .expect("reported");
    assert_eq!(out.error, "Conflict", "still reported to the Fail state");
    assert_eq!(registry.entry(&tenant), None, "not marked FAILED");
    assert!(
        bus.events().is_empty(),
        "no TenantFailed for a tenant being vended"
    );
    assert_eq!(registry.holder(&tenant).as_deref(), Some("exec-other"));
}

#[tokio::test]
async fn a_failed_vending_is_counted_by_the_step_and_error_that_failed_it() {
    use vending_domain::steps::{RecordFailure, call_measured};
    let (registry, bus) = (FakeRegistry::default(), FakeBus::default());
    let payload = serde_json::to_value(input("exec-1")).expect("encodes");
    let (out, measure) = call_measured::<RecordFailure, _, _>(
        |i| record_failure::handle(&registry, &bus, i),
        payload,
        None,
    )
    .await;
    assert!(out.is_ok(), "{out:?}");
    let failed: Vec<_> = measure
        .metrics
        .iter()
        .filter(|m| m.name == "TenantsFailed")
        .collect();
    assert_eq!(failed.len(), 1, "{:?}", measure.metrics);
    assert_eq!(failed[0].dimensions["Step"], "HandOff");
    assert_eq!(failed[0].dimensions["Error"], "Conflict");
    assert_eq!(measure.trace.tenant.as_deref(), Some("payments"));
}
