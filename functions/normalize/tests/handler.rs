//! Normalize through its Lambda payload: the Parameters the workflow's Normalize state passes
//! in, and out the JSON that the Vend? Choice and EnsureAccount read.

use serde_json::{Value, json};
use vending_domain::fakes::{FakeOrganization, FakeRegistry, example_config};
use vending_domain::steps::{Normalize, call};
use vending_domain::{StepError, TenantSpec};

fn rerun() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/console-rerun.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("the sample")).expect("JSON")
}

async fn handle(payload: Value) -> Result<Value, StepError> {
    let (org, registry) = (FakeOrganization::new(0), FakeRegistry::default());
    let config = example_config();
    call::<Normalize, _, _>(|i| normalize::handle(&org, &registry, &config, i), payload).await
}

#[tokio::test]
async fn a_rerun_comes_out_as_the_spec_the_account_steps_read() {
    let out = handle(json!({"trigger": rerun(), "executionName": "e-1"}))
        .await
        .expect("normalized");
    let spec: TenantSpec = serde_json::from_value(out["spec"].clone()).expect("a spec");
    assert_eq!(spec.tenant_id.as_str(), "payments");
    assert!(out.get("skipped").is_none(), "{out}");
}

#[tokio::test]
async fn a_trigger_that_is_no_request_is_refused_by_field_and_a_bad_payload_is_internal() {
    let refused =
        handle(json!({"trigger": {"tenantId": "Bad_Name"}, "executionName": "e-1"})).await;
    let Err(StepError::InvalidRequest(errors)) = refused else {
        panic!("{refused:?}");
    };
    assert!(errors.to_string().contains("tenantId"), "{errors}");
    let broken = handle(json!({"trigger": rerun()})).await;
    let Err(StepError::Internal(message)) = broken else {
        panic!("{broken:?}");
    };
    assert!(message.contains("executionName"), "{message}");
}
