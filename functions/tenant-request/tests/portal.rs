//! The portal's request function with fake ports: answers, records, starts.

use serde_json::{Value, json};
use vending_domain::PlatformConfig;
use vending_domain::fakes::{FakeRegistry, FakeWorkflow};
use vending_domain::ports::TenantStatus;

fn repo(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR")))
        .expect("a repo file")
}

fn config() -> PlatformConfig {
    PlatformConfig::from_json(&repo("infra/platform-config.json")).expect("valid config")
}

fn sample() -> Value {
    serde_json::from_str(&repo("events/portal-request.json")).expect("JSON")
}

fn body_of(answer: &Value) -> Value {
    serde_json::from_str(answer["body"].as_str().expect("a body")).expect("JSON body")
}

#[tokio::test]
async fn a_valid_request_is_recorded_and_started_once_however_often_it_is_sent() {
    let (registry, workflow, config) = (FakeRegistry::default(), FakeWorkflow::default(), config());
    let first = tenant_request::handle(&registry, &workflow, &config, sample()).await;
    assert_eq!(first["statusCode"], 202, "{first}");
    let body = body_of(&first);
    assert_eq!(body["tenantId"], "payments");
    assert!(
        body["executionArn"]
            .as_str()
            .unwrap_or_default()
            .ends_with(":portal-portal-7f3c2a9e")
    );
    let mut again = sample();
    again["requestContext"]["requestId"] = json!("another-api-request");
    let second = tenant_request::handle(&registry, &workflow, &config, again).await;
    assert_eq!(body_of(&second), body, "a double submit answers the same");
    assert_eq!(workflow.started().len(), 1, "and starts nothing new");
    let entry = registry
        .entry(&vending_domain::TenantId::parse("payments").expect("id"))
        .expect("recorded");
    assert_eq!(entry.status, TenantStatus::Requested);
}

#[tokio::test]
async fn a_bad_request_gets_a_400_with_every_field_and_starts_nothing() {
    let (registry, workflow, config) = (FakeRegistry::default(), FakeWorkflow::default(), config());
    let mut bad = sample();
    bad["body"] = json!(
        json!({"requestId": "r-1", "tenantId": "Bad_Name", "environment": "prod", "owners": [], "surprise": 1})
            .to_string()
    );
    let answer = tenant_request::handle(&registry, &workflow, &config, bad).await;
    assert_eq!(answer["statusCode"], 400, "{answer}");
    let fields: Vec<String> = body_of(&answer)["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    for f in ["surprise", "tenantId", "owners"] {
        assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
    }
    assert!(workflow.started().is_empty());
    let mut wrong_route = sample();
    wrong_route["rawPath"] = json!("/admin");
    let answer = tenant_request::handle(&registry, &workflow, &config, wrong_route).await;
    assert_eq!(answer["statusCode"], 400);
}
