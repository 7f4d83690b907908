//! What the baseline's handler tests share: the workflow's input for a tenant of an
//! environment, and fake accounts whose IAM holds the platform's boundary.

use serde_json::json;
use vending_domain::PlatformConfig;
use vending_domain::fakes::{FakeAccounts, example_config};
use vending_domain::request::TenantRequest;
use vending_domain::steps::AccountInput;

/// The tenant account of these tests.
pub const ACCOUNT: &str = "222233334444";

/// What the workflow passes for tenant `payments` of `environment`.
pub fn input(environment: &str) -> AccountInput {
    let spec = TenantRequest::from_value(&json!({
        "requestId": "req-1", "tenantId": "payments", "environment": environment,
        "owners": ["arn:aws:iam::123456789012:role/payments-leads"],
        "tags": {"CostCenter": "cc-1"}
    }))
    .expect("reads")
    .validate(&example_config())
    .expect("valid");
    serde_json::from_value(json!({"spec": spec, "accountId": ACCOUNT, "executionName": "exec-1"}))
        .expect("the payload reads")
}

/// Fake accounts whose IAM holds `config`'s permissions boundary.
pub fn accounts(config: &PlatformConfig) -> FakeAccounts {
    FakeAccounts::with_baseline(&[&config.identity.permissions_boundary.arn_in("aws", ACCOUNT)])
}
