//! Every sample trigger in `events/` is recognised, on the fakes of Organizations and the
//! registry; account-created events adopt only what is meant for the platform; near misses
//! are refused with the reason.

use normalize::normalize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use vending_domain::fakes::{FakeOrganization, FakeRegistry, example_config};
use vending_domain::ports::{Registry, RegistryEntry};
use vending_domain::request::AccountTarget;
use vending_domain::trigger::Normalized;
use vending_domain::{StepError, TenantId, TenantSpec};

fn repo(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR")))
        .expect("file in the repo")
}

fn event(name: &str) -> Value {
    serde_json::from_str(&repo(&format!("events/{name}.json"))).expect("JSON")
}

/// An organization holding the accounts the sample events name: Control Tower's in prod's OU
/// (as its event says), Organizations' at the root tagged for dev.
fn organization() -> FakeOrganization {
    let config = example_config();
    let org = FakeOrganization::new(0);
    org.add_account(
        "234567890123",
        "Search Team",
        "search@example.com",
        BTreeMap::new(),
    );
    org.set_parent("234567890123", &config.environments["prod"].ou_id);
    let tag = config
        .adoption
        .environment_tag_key
        .clone()
        .expect("tag key");
    org.add_account(
        "345678901234",
        "data-platform",
        "data@example.com",
        BTreeMap::from([(tag, "dev".to_owned())]),
    );
    org
}

async fn run(org: &FakeOrganization, trigger: &Value) -> Result<Normalized, StepError> {
    normalize(org, &FakeRegistry::default(), &example_config(), trigger).await
}

fn vend(n: Normalized) -> TenantSpec {
    match n {
        Normalized::Vend { spec } => *spec,
        Normalized::Skip { skipped } => panic!("skipped: {}", skipped.reason),
    }
}

async fn reason(org: &FakeOrganization, trigger: &Value) -> String {
    match run(org, trigger).await {
        Err(StepError::InvalidRequest(e)) => e.to_string(),
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
}

#[tokio::test]
async fn every_sample_trigger_is_recognised() {
    let org = organization();
    let body: Value = serde_json::from_str(event("portal-request")["body"].as_str().expect("body"))
        .expect("JSON body");
    let cases = [
        (
            event("control-tower-create-managed-account"),
            "search-team",
            "prod",
        ),
        (
            event("organizations-create-account-result"),
            "data-platform",
            "dev",
        ),
        (event("tenant-requested"), "checkout", "dev"),
        (event("console-rerun"), "payments", "prod"),
        (body, "payments", "prod"),
    ];
    for (trigger, tenant, env) in cases {
        let spec = vend(
            run(&org, &trigger)
                .await
                .unwrap_or_else(|e| panic!("{tenant}: {e}")),
        );
        assert_eq!(
            (spec.tenant_id.as_str(), spec.environment.as_str()),
            (tenant, env),
            "{trigger}"
        );
    }
}

#[tokio::test]
async fn a_masked_organizations_event_is_read_from_organizations() {
    let org = organization();
    let trigger = event("organizations-create-account-result");
    assert_eq!(
        trigger["detail"]["serviceEventDetails"]["createAccountStatus"]["accountName"], "****",
        "CloudTrail masks the name"
    );
    let spec = vend(run(&org, &trigger).await.expect("valid"));
    assert_eq!(
        spec.display_name, "data-platform",
        "the name Organizations gives"
    );
    assert_eq!(
        spec.account,
        AccountTarget::Adopt {
            account_id: "345678901234".into(),
            announced: true,
        }
    );
    assert_eq!(
        spec.request_id, "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
        "the event id"
    );
    for op in ["DescribeAccount", "ListParents", "ListTagsForResource"] {
        assert_eq!(org.count(op), 1, "{op}");
    }
}

#[tokio::test]
async fn an_account_this_service_made_ends_quietly() {
    let org = organization();
    org.add_account(
        "456789012345",
        "payments",
        "aws+payments@example.com",
        BTreeMap::from([("vending:tenant".to_owned(), "payments".to_owned())]),
    );
    let registry = FakeRegistry::default();
    let mut entry = RegistryEntry::new(TenantId::parse("payments").expect("id"), "r-1".into());
    entry.account_id = Some("456789012345".into());
    registry.put(&entry).await.expect("put");
    let mut trigger = event("organizations-create-account-result");
    trigger["detail"]["serviceEventDetails"]["createAccountStatus"]["accountId"] =
        json!("456789012345");
    let out = normalize(&org, &registry, &example_config(), &trigger)
        .await
        .expect("not an error");
    let Normalized::Skip { skipped } = out else {
        panic!("vended an account of its own: {out:?}");
    };
    assert_eq!(skipped.account_id, "456789012345");
    assert!(
        skipped
            .reason
            .contains("created by this service for tenant payments"),
        "{}",
        skipped.reason
    );
    assert!(
        skipped.reason.contains("registry holds it"),
        "{}",
        skipped.reason
    );
    assert_eq!(
        serde_json::to_value(Normalized::Skip { skipped }).expect("json")["skipped"]["accountId"],
        "456789012345",
        "the workflow's Choice looks for $.skipped"
    );
}

#[tokio::test]
async fn accounts_not_meant_for_the_platform_are_skipped_and_control_tower_ous_are_kept() {
    let org = organization();
    // At the root, no environment tag.
    org.add_account(
        "567890123456",
        "security",
        "sec@example.com",
        BTreeMap::new(),
    );
    let mut trigger = event("organizations-create-account-result");
    trigger["detail"]["serviceEventDetails"]["createAccountStatus"]["accountId"] =
        json!("567890123456");
    assert!(matches!(
        run(&org, &trigger).await,
        Ok(Normalized::Skip { .. })
    ));
    // Enrolled by Control Tower in an OU of no environment: skipped, never moved out of it.
    let mut ct = event("control-tower-create-managed-account");
    ct["detail"]["serviceEventDetails"]["createManagedAccountStatus"]["organizationalUnit"]["organizationalUnitId"] =
        json!("ou-ab12-sandbox1");
    let Ok(Normalized::Skip { skipped }) = run(&org, &ct).await else {
        panic!("a Control Tower account outside the environments was adopted");
    };
    assert!(
        skipped.reason.contains("Control Tower"),
        "{}",
        skipped.reason
    );
    // Tagged with an environment the platform does not have.
    let tag = example_config().adoption.environment_tag_key.expect("key");
    org.add_account(
        "678901234567",
        "qa-team",
        "qa@example.com",
        BTreeMap::from([(tag, "staging".to_owned())]),
    );
    trigger["detail"]["serviceEventDetails"]["createAccountStatus"]["accountId"] =
        json!("678901234567");
    let Ok(Normalized::Skip { skipped }) = run(&org, &trigger).await else {
        panic!("adopted into an unknown environment");
    };
    assert!(skipped.reason.contains("staging"), "{}", skipped.reason);
}

#[tokio::test]
async fn near_misses_are_refused_with_a_reason() {
    let org = organization();
    let mut failed_ct = event("control-tower-create-managed-account");
    failed_ct["detail"]["serviceEventDetails"]["createManagedAccountStatus"]["state"] =
        json!("FAILED");
    assert!(reason(&org, &failed_ct).await.contains("FAILED"));

    let mut other_call = event("organizations-create-account-result");
    other_call["detail"]["eventName"] = json!("CloseAccountResult");
    assert!(
        reason(&org, &other_call)
            .await
            .contains("not vending triggers")
    );

    let mut other_source = event("tenant-requested");
    other_source["source"] = json!("aws.ec2");
    assert!(reason(&org, &other_source).await.contains("aws.ec2"));

    // API Gateway's event never enters the workflow: TenantRequest starts it with the body.
    assert!(
        reason(&org, &event("portal-request"))
            .await
            .contains("TenantRequest function")
    );

    let bad_body = json!({"tenantId": "Bad_Name", "requestId": "r1", "environment": "qa", "owners": [], "extra": 1});
    let why = reason(&org, &bad_body).await;
    for field in ["tenantId", "environment", "owners", "extra"] {
        assert!(why.contains(field), "{field} missing from: {why}");
    }

    org.add_account("789012345678", "???", "q@example.com", BTreeMap::new());
    org.set_parent("789012345678", &example_config().environments["dev"].ou_id);
    let mut bad_name = event("organizations-create-account-result");
    bad_name["detail"]["serviceEventDetails"]["createAccountStatus"]["accountId"] =
        json!("789012345678");
    assert!(reason(&org, &bad_name).await.contains("tenantId"));

    let mut gone = event("organizations-create-account-result");
    gone["detail"]["serviceEventDetails"]["createAccountStatus"]["accountId"] =
        json!("999999999999");
    assert!(
        reason(&org, &gone)
            .await
            .contains("not in this organization")
    );

    assert!(
        reason(&org, &json!({"hello": "world"}))
            .await
            .contains("tenantId")
    );
    assert!(reason(&org, &json!([1, 2])).await.contains("trigger"));
    assert!(reason(&org, &json!("text")).await.contains("trigger"));
}
