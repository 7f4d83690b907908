//! Every sample trigger in `events/` is accepted; near misses are refused with the reason.

use normalize::{TriggerKind, kind_of, normalize};
use serde_json::{Value, json};
use vending_domain::request::AccountTarget;
use vending_domain::{PlatformConfig, StepError};

fn repo(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR")))
        .expect("file in the repo")
}

fn config() -> PlatformConfig {
    PlatformConfig::from_json(&repo("infra/platform-config.json"))
        .expect("the example platform config is valid")
}

fn event(name: &str) -> Value {
    serde_json::from_str(&repo(&format!("events/{name}.json"))).expect("JSON")
}

fn reason(trigger: &Value) -> String {
    match normalize(trigger, &config()) {
        Err(StepError::InvalidRequest(e)) => e.to_string(),
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
}

#[test]
fn every_sample_trigger_is_accepted() {
    let cases = [
        ("portal-request", TriggerKind::Portal, "payments", "prod"),
        (
            "control-tower-create-managed-account",
            TriggerKind::ControlTower,
            "search-team",
            "prod",
        ),
        (
            "organizations-create-account-result",
            TriggerKind::Organizations,
            "data-platform",
            "dev",
        ),
        (
            "tenant-requested",
            TriggerKind::TenantRequested,
            "checkout",
            "dev",
        ),
        ("console-rerun", TriggerKind::Console, "payments", "prod"),
    ];
    for (name, kind, tenant, env) in cases {
        let trigger = event(name);
        assert_eq!(kind_of(&trigger).expect(name), kind, "{name}");
        let spec = normalize(&trigger, &config()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (spec.tenant_id.as_str(), spec.environment.as_str()),
            (tenant, env),
            "{name}"
        );
    }
}

#[test]
fn account_events_adopt_the_account_and_portal_requests_create_one() {
    let spec = normalize(&event("control-tower-create-managed-account"), &config()).expect("valid");
    assert_eq!(
        spec.account,
        AccountTarget::Adopt {
            account_id: "234567890123".into()
        }
    );
    assert_eq!(
        spec.ou_id, "ou-ab12-prod0001",
        "the event's OU picks the environment"
    );
    assert_eq!(
        spec.request_id, "9f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
        "the event id is the request id"
    );
    let spec = normalize(&event("portal-request"), &config()).expect("valid");
    assert!(matches!(spec.account, AccountTarget::Create { .. }));
    assert_eq!(spec.request_id, "portal-7f3c2a9e");
}

#[test]
fn near_misses_are_refused_with_a_reason() {
    let mut failed_ct = event("control-tower-create-managed-account");
    failed_ct["detail"]["serviceEventDetails"]["createManagedAccountStatus"]["state"] =
        json!("FAILED");
    assert!(reason(&failed_ct).contains("FAILED"));

    let mut other_call = event("organizations-create-account-result");
    other_call["detail"]["eventName"] = json!("CloseAccountResult");
    assert!(reason(&other_call).contains("not vending triggers"));

    let mut other_source = event("tenant-requested");
    other_source["source"] = json!("aws.ec2");
    assert!(reason(&other_source).contains("aws.ec2"));

    let mut get = event("portal-request");
    get["requestContext"]["http"]["method"] = json!("GET");
    assert!(reason(&get).contains("POST /tenants"));

    let mut bad_body = event("portal-request");
    bad_body["body"] = json!(
        "{\"tenantId\": \"Bad_Name\", \"requestId\": \"r1\", \"environment\": \"qa\", \"owners\": [], \"extra\": 1}"
    );
    let why = reason(&bad_body);
    for field in ["tenantId", "environment", "owners", "extra"] {
        assert!(why.contains(field), "{field} missing from: {why}");
    }

    let mut bad_name = event("organizations-create-account-result");
    bad_name["detail"]["serviceEventDetails"]["createAccountStatus"]["accountName"] = json!("???");
    assert!(reason(&bad_name).contains("tenantId"));

    assert!(reason(&json!({"hello": "world"})).contains("trigger"));
    assert!(reason(&json!([1, 2])).contains("trigger"));
}
