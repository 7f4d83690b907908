//! EnsureAccount through its Lambda payload: `spec` and `executionName` in, the account
//! progress out as the AccountReady? Choice reads it (`state`), with the lease taken.

use serde_json::{Value, json};
use vending_domain::StepError;
use vending_domain::fakes::{FakeOrganization, FakeRegistry, example_config, example_spec};
use vending_domain::steps::{EnsureAccount, call};

async fn handle(org: &FakeOrganization, registry: &FakeRegistry, execution: &str) -> Value {
    let payload = json!({"spec": example_spec("payments"), "executionName": execution});
    let config = example_config();
    call::<EnsureAccount, _, _>(
        |i| ensure_account::handle(org, registry, &config, i),
        payload,
    )
    .await
    .expect("ensured")
}

#[tokio::test]
async fn a_new_tenant_is_in_progress_and_a_second_execution_is_a_duplicate() {
    let (org, registry) = (FakeOrganization::new(1), FakeRegistry::default());
    let first = handle(&org, &registry, "e-1").await;
    assert_eq!(first["state"], "IN_PROGRESS", "{first}");
    assert!(first["createRequestId"].is_string(), "{first}");
    assert_eq!(
        handle(&org, &registry, "e-1").await,
        first,
        "the same execution again"
    );
    let other = handle(&org, &registry, "e-2").await;
    assert_eq!(other, json!({"state": "DUPLICATE", "heldBy": "e-1"}));
    assert_eq!(org.count("CreateAccount"), 1);
}

#[tokio::test]
async fn a_payload_without_the_spec_is_internal_and_names_it() {
    let (org, registry) = (FakeOrganization::new(0), FakeRegistry::default());
    let config = example_config();
    let out = call::<EnsureAccount, _, _>(
        |i| ensure_account::handle(&org, &registry, &config, i),
        json!({"executionName": "e"}),
    )
    .await;
    let Err(StepError::Internal(message)) = out else {
        panic!("{out:?}");
    };
    assert!(message.contains("spec"), "{message}");
}
