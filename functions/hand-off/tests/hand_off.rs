//! HandOff on fakes: the generation follows the registry's previous record, the destination
//! sees one write per change, nothing is marked READY or announced when the destination
//! fails or refuses, and a re-run converges.

use serde_json::{Value, json};
use vending_domain::fakes::{FakeBus, FakeDestination, FakeRegistry};
use vending_domain::ports::TenantStatus;
use vending_domain::request::TenantRequest;
use vending_domain::steps::{HandOff, call};
use vending_domain::{PlatformConfig, StepError, TenantId};

/// The step's ports, on fakes, and the example config.
#[derive(Default)]
struct World {
    registry: FakeRegistry,
    bus: FakeBus,
    destination: FakeDestination,
}

impl World {
    async fn run(&self, payload: Value) -> Result<Value, StepError> {
        run(&self.registry, &self.bus, &self.destination, payload).await
    }
}

/// The step through the payload the workflow passes, as Lambda runs it.
async fn run(
    registry: &FakeRegistry,
    bus: &FakeBus,
    destination: &FakeDestination,
    payload: Value,
) -> Result<Value, StepError> {
    let config = config();
    call::<HandOff, _, _>(
        |input| hand_off::handle(registry, bus, destination, &config, input),
        payload,
    )
    .await
}

fn config() -> PlatformConfig {
    vending_domain::fakes::example_config()
}

fn input(request_id: &str, kubernetes: Value) -> Value {
    let spec = TenantRequest::from_value(&json!({
        "requestId": request_id, "tenantId": "payments", "environment": "prod",
        "owners": ["arn:aws:iam::123456789012:role/payments-leads"],
        "tags": {"CostCenter": "cc-1"}, "kubernetes": kubernetes
    }))
    .expect("reads")
    .validate(&config())
    .expect("valid");
    json!({
        "spec": spec,
        "accountId": "222233334444",
        "network": {
            "region": "eu-west-1", "vpcId": "vpc-1", "cidr": "10.64.0.0/20",
            "subnets": [{"id": "subnet-1", "zone": "eu-west-1a", "cidr": "10.64.0.0/22"}],
            "transitGatewayId": "tgw-0123456789abcdef0", "transitGatewayAttachmentId": "tgw-attach-1",
            "routesToTransitGateway": ["10.0.0.0/8"], "flowLogId": "fl-1"
        },
        "identity": {"roles": [
            {"template": "admin", "arn": "arn:aws:iam::222233334444:role/payments-admin", "kubernetesGroup": "tenant:payments:admins"},
            {"template": "read-only", "arn": "arn:aws:iam::222233334444:role/payments-read-only", "kubernetesGroup": "tenant:payments:viewers"}
        ]},
        "teams": {"state": "ASSIGNED", "accountId": "222233334444", "assignments": []},
        "access": {"clusters": [{
            "name": "shared-1", "arn": "arn:aws:eks:eu-west-1:345678901234:cluster/shared-1",
            "accessEntries": ["entry-1"],
            "namespaces": ["payments", "payments-*"]
        }]},
        "executionName": "exec-1"
    })
}

#[tokio::test]
async fn generations_follow_changes_and_unchanged_bytes_are_not_rewritten() {
    let w = World::default();
    let (registry, bus, destination) = (&w.registry, &w.bus, &w.destination);
    let run = |payload: Value| w.run(payload);
    let first = run(input("req-1", json!({}))).await.expect("hands off");
    assert_eq!(first["record"]["generation"], 1);
    assert_eq!(first["publication"]["outcome"], "written");
    let again = run(input("req-1", json!({}))).await.expect("re-run");
    assert_eq!(again["record"], first["record"]);
    assert_eq!(again["publication"]["outcome"], "unchanged");
    assert_eq!(destination.writes(), 1);
    let update = run(input("req-2", json!({"namespaceQuota": 8})))
        .await
        .expect("update");
    assert_eq!(update["record"]["generation"], 2);
    assert_eq!(destination.writes(), 2);
    let files = destination.files();
    let paths: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        [
            "clusters/shared/records/payments.json",
            "clusters/shared/tenants/payments/network-policies.yaml",
            "clusters/shared/tenants/payments/tenant.yaml"
        ]
    );
    let entry = registry
        .entry(&TenantId::parse("payments").expect("id"))
        .expect("entry");
    assert_eq!(entry.status, TenantStatus::Ready);
    assert_eq!(
        entry.record.as_deref().map(str::as_bytes),
        files
            .get("clusters/shared/records/payments.json")
            .map(Vec::as_slice),
        "the registry holds the committed record's bytes"
    );
    let generations: Vec<Value> = bus
        .events()
        .iter()
        .map(|(_, d)| d["generation"].clone())
        .collect();
    assert_eq!(generations, [json!(1), json!(1), json!(2)]);
}

#[tokio::test]
async fn nothing_is_marked_ready_when_the_destination_fails_and_a_retry_converges() {
    let (registry, bus, destination) = (
        FakeRegistry::default(),
        FakeBus::default(),
        FakeDestination::default(),
    );
    destination.fail_next(StepError::Unavailable("git remote unreachable".into()));
    let err = run(&registry, &bus, &destination, input("req-1", json!({})))
        .await
        .expect_err("the destination failed");
    assert_eq!(err.error_type(), "Unavailable");
    assert!(
        registry
            .entry(&TenantId::parse("payments").expect("id"))
            .is_none()
    );
    assert!(bus.events().is_empty());
    let done = run(&registry, &bus, &destination, input("req-1", json!({})))
        .await
        .expect("the retry hands off");
    assert_eq!(done["record"]["generation"], 1);
    assert_eq!(destination.writes(), 1);
}

#[tokio::test]
async fn a_previous_record_that_cannot_be_read_stops_the_hand_off_and_an_older_shape_continues_its_generation()
 {
    use vending_domain::ports::{Registry, RegistryEntry};
    let w = World::default();
    let tenant = TenantId::parse("payments").expect("id");
    let mut entry = RegistryEntry::new(tenant.clone(), "req-0".into());
    entry.record = Some("not a record".into());
    w.registry.put(&entry).await.expect("put");
    let err = w.run(input("req-1", json!({}))).await.expect_err("refused");
    assert!(err.to_string().contains("cannot be read"), "{err}");
    assert_eq!(
        w.destination.writes(),
        0,
        "nothing written with a reset generation"
    );
    // A record of an older shape (fields since moved): its generation goes on, plus one.
    entry.record = Some(r#"{"apiVersion": "tenant-vending.dev/v1", "generation": 4, "clusters": [{"accessPolicyArn": "x"}]}"#.into());
    w.registry.put(&entry).await.expect("put");
    let out = w.run(input("req-1", json!({}))).await.expect("hands off");
    assert_eq!(out["record"]["generation"], 5);
}
