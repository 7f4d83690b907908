//! ProvisionNetwork on fakes: the claimed block, the VPC and what hangs off it, a re-run that
//! creates nothing, an attachment that takes a while, and a claim that collides.

use serde_json::json;
use vending_domain::fakes::{FakeAccounts, FakeRegistry, example_config};
use vending_domain::ports::{Registry, RegistryEntry};
use vending_domain::request::TenantRequest;
use vending_domain::steps::AccountInput;
use vending_domain::{StepError, TenantSpec};

const ACCOUNT: &str = "222233334444";

fn spec() -> TenantSpec {
    TenantRequest::from_value(&json!({
        "requestId": "req-1", "tenantId": "payments", "environment": "prod",
        "owners": ["arn:aws:iam::123456789012:role/payments-leads"],
        "tags": {"CostCenter": "cc-1"}
    }))
    .expect("reads")
    .validate(&example_config())
    .expect("valid")
}

async fn world() -> (FakeAccounts, FakeRegistry) {
    let registry = FakeRegistry::default();
    registry
        .put(&RegistryEntry::new(spec().tenant_id, "req-1".into()))
        .await
        .expect("entry");
    (FakeAccounts::default(), registry)
}

/// What the workflow passes, read as the step's input.
fn input() -> AccountInput {
    serde_json::from_value(json!({"spec": spec(), "accountId": ACCOUNT, "executionName": "exec-1"}))
        .expect("the payload reads")
}

#[tokio::test]
async fn the_network_is_made_once_from_a_claimed_block() {
    let (accounts, registry) = world().await;
    let config = example_config();
    let out = provision_network::handle(&accounts, &registry, &config, input())
        .await
        .expect("provisioned");
    let net = accounts.network_of(ACCOUNT, &config.region);
    assert_eq!(
        net.counts(),
        [1, 3, 1, 1, 1],
        "VPC, subnets, attachment, route, flow log"
    );
    assert_eq!(net.default_vpcs(), 0);
    assert_eq!(
        accounts.network_of(ACCOUNT, "eu-central-1").default_vpcs(),
        0,
        "every configured region"
    );
    assert_eq!(accounts.hub.routed().len(), 1);
    let entry = registry.entry(&spec().tenant_id).expect("entry");
    assert_eq!(entry.cidr, Some(out.cidr));
    let again = provision_network::handle(&accounts, &registry, &config, input())
        .await
        .expect("again");
    assert_eq!(again, out);
    assert_eq!(net.counts(), [1, 3, 1, 1, 1], "nothing new");
}

#[tokio::test]
async fn a_new_accounts_first_moments_and_a_pending_attachment_are_not_ready() {
    let (accounts, registry) = world().await;
    let config = example_config();
    let net = accounts.network_of(ACCOUNT, &config.region);
    net.calls.fail_next(
        "DescribeVpcs",
        StepError::NotReady("DescribeVpcs: OptInRequired".into()),
    );
    let err = provision_network::handle(&accounts, &registry, &config, input())
        .await
        .expect_err("opt-in");
    assert_eq!(err.error_type(), "NotReady");
    provision_network::handle(&accounts, &registry, &config, input())
        .await
        .expect("the workflow's retry goes through");
}

#[tokio::test]
async fn a_claim_that_collides_with_another_transaction_is_tried_again() {
    let (accounts, registry) = world().await;
    registry.calls.fail_next(
        "claim_cidr",
        StepError::ConcurrentModification("TransactionConflict".into()),
    );
    provision_network::handle(&accounts, &registry, &example_config(), input())
        .await
        .expect("the step claims again");
    assert_eq!(registry.calls.count("claim_cidr"), 2);
}
