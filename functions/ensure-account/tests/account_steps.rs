//! EnsureAccount, CheckAccount and PlaceAccount together on fakes of Organizations and the
//! registry: one account per tenant however often the steps run, adoption rules, and the
//! request id saved before polling.

use std::collections::BTreeMap;
use vending_domain::fakes::{FakeIdentity, FakeOrganization, FakeRegistry};
use vending_domain::request::TenantRequest;
use vending_domain::steps::{AccountProgress, AccountState};
use vending_domain::{PlatformConfig, StepError, TenantSpec};

fn config() -> PlatformConfig {
    vending_domain::fakes::example_config()
}

fn spec(extra: serde_json::Value) -> TenantSpec {
    let mut req = serde_json::json!({
        "requestId": "req-1", "tenantId": "payments", "environment": "prod",
        "owners": ["arn:aws:iam::123456789012:role/payments-leads"], "tags": {"CostCenter": "cc-1"}
    });
    if let (Some(r), Some(e)) = (req.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    TenantRequest::from_value(&req)
        .expect("reads")
        .validate(&config())
        .expect("valid")
}

async fn vend_account(
    org: &FakeOrganization,
    registry: &FakeRegistry,
    spec: &TenantSpec,
) -> AccountProgress {
    let mut progress = ensure_account::ensure_account(org, registry, spec, "exec-1")
        .await
        .expect("ensured");
    for _ in 0..10 {
        if progress.state == AccountState::Succeeded {
            return progress;
        }
        progress = check_account_poll(org, registry, spec, &progress).await;
    }
    panic!("the account never became ready");
}

async fn check_account_poll(
    org: &FakeOrganization,
    registry: &FakeRegistry,
    spec: &TenantSpec,
    p: &AccountProgress,
) -> AccountProgress {
    // CheckAccount lives in its own crate; its logic is exercised through its public function.
    check_account::check_account(org, registry, spec, p)
        .await
        .expect("polled")
}

#[tokio::test]
async fn a_new_tenant_gets_one_account_and_a_rerun_creates_nothing() {
    let (org, registry, spec) = (
        FakeOrganization::new(2),
        FakeRegistry::default(),
        spec(serde_json::json!({})),
    );
    let first = ensure_account::ensure_account(&org, &registry, &spec, "exec-1")
        .await
        .expect("ensured");
    assert_eq!(first.state, AccountState::InProgress);
    let saved = registry.entry(&spec.tenant_id).expect("entry");
    assert_eq!(
        saved.create_account_request_id, first.create_request_id,
        "the request id is saved before any polling"
    );
    let done = vend_account(&org, &registry, &spec).await;
    assert_eq!(org.count("CreateAccount"), 1);
    assert_eq!(
        registry.entry(&spec.tenant_id).and_then(|e| e.account_id),
        done.account_id
    );
    // A re-run (same input) finds the account in the registry.
    let again = ensure_account::ensure_account(&org, &registry, &spec, "exec-1")
        .await
        .expect("ensured");
    assert_eq!(
        again,
        AccountProgress::ready(done.account_id.clone().unwrap_or_default())
    );
    assert_eq!(org.count("CreateAccount"), 1, "nothing new is created");
    let iam = FakeIdentity::default();
    let config = config();
    let placed = place_account::place_account(&org, &iam, &config, &spec, &done)
        .await
        .expect("placed");
    assert_eq!(iam.alias().as_deref(), Some("acme-payments"));
    assert!(placed.moved);
    let (parent, tags) = org.placement(&placed.account_id).expect("account");
    assert_eq!(parent, spec.ou_id);
    assert_eq!(
        tags.get("vending:tenant").map(String::as_str),
        Some("payments")
    );
    assert_eq!(tags.get("CostCenter").map(String::as_str), Some("cc-1"));
    let placed_again = place_account::place_account(&org, &iam, &config, &spec, &done)
        .await
        .expect("placed");
    assert!(!placed_again.moved);
    assert_eq!(org.count("MoveAccount"), 1, "a re-run moves nothing");
    assert_eq!(
        org.count("TagResource"),
        0,
        "the account got its tags at creation, so neither run tags it again"
    );
}

#[tokio::test]
async fn a_step_killed_after_create_account_finds_its_request_again() {
    let (org, registry, spec) = (
        FakeOrganization::new(1),
        FakeRegistry::default(),
        spec(serde_json::json!({})),
    );
    // The registry write after CreateAccount is lost: the step died in between.
    let request = vending_domain::ports::Organization::create_account(
        &org,
        "aws+payments@example.com",
        "payments",
        &spec.all_tags(),
    )
    .await
    .expect("created");
    let progress = ensure_account::ensure_account(&org, &registry, &spec, "exec-1")
        .await
        .expect("ensured");
    assert_eq!(
        progress.create_request_id.as_deref(),
        Some(request.as_str())
    );
    assert_eq!(org.count("CreateAccount"), 1, "no second account");
}

#[tokio::test]
async fn adoption_checks_the_account_is_here_and_not_anothers() {
    let org = FakeOrganization::new(0);
    org.add_account("210987654321", "payments", "p@example.com", BTreeMap::new());
    org.add_account(
        "310987654321",
        "search",
        "s@example.com",
        BTreeMap::from([("vending:tenant".to_owned(), "search".to_owned())]),
    );
    let registry = FakeRegistry::default();
    let ours = spec(serde_json::json!({"accountId": "210987654321"}));
    assert_eq!(
        ensure_account::ensure_account(&org, &registry, &ours, "exec-1")
            .await
            .expect("adopted"),
        AccountProgress::ready("210987654321")
    );
    let missing = spec(serde_json::json!({"tenantId": "ghost", "accountId": "999999999999"}));
    assert!(matches!(
        ensure_account::ensure_account(&org, &registry, &missing, "exec-1").await,
        Err(StepError::InvalidRequest(_))
    ));
    let theirs = spec(serde_json::json!({"tenantId": "thief", "accountId": "310987654321"}));
    assert!(matches!(
        ensure_account::ensure_account(&org, &registry, &theirs, "exec-1").await,
        Err(StepError::Conflict(_))
    ));
    assert_eq!(org.count("CreateAccount"), 0);
}

#[tokio::test]
async fn an_email_taken_by_someone_else_is_a_conflict() {
    let org = FakeOrganization::new(0);
    org.add_account(
        "410987654321",
        "legacy",
        "aws+payments@example.com",
        BTreeMap::new(),
    );
    let registry = FakeRegistry::default();
    let err =
        ensure_account::ensure_account(&org, &registry, &spec(serde_json::json!({})), "exec-1")
            .await
            .expect_err("conflict");
    assert!(matches!(err, StepError::Conflict(_)), "{err:?}");
    assert_eq!(org.count("CreateAccount"), 0);
}

#[tokio::test]
async fn transient_failures_surface_with_their_stable_names() {
    let (org, registry, spec) = (
        FakeOrganization::new(0),
        FakeRegistry::default(),
        spec(serde_json::json!({})),
    );
    org.fail_next(
        "CreateAccount",
        StepError::Throttled("CreateAccount".into()),
    );
    let err = ensure_account::ensure_account(&org, &registry, &spec, "exec-1")
        .await
        .expect_err("throttled");
    assert_eq!(err.error_type(), "Throttled");
    // The retry (the workflow's Retry block) converges to one account.
    let done = vend_account(&org, &registry, &spec).await;
    assert!(done.account_id.is_some());
    assert_eq!(
        org.count("CreateAccount"),
        2,
        "one throttled call, one real"
    );
}

#[tokio::test]
async fn a_second_execution_for_a_tenant_being_vended_stops_as_a_duplicate() {
    let (org, registry, spec) = (
        FakeOrganization::new(2),
        FakeRegistry::default(),
        spec(serde_json::json!({})),
    );
    let first = ensure_account::ensure_account(&org, &registry, &spec, "exec-1")
        .await
        .expect("first");
    assert_eq!(first.state, AccountState::InProgress);
    let second = ensure_account::ensure_account(&org, &registry, &spec, "exec-2")
        .await
        .expect("second");
    assert_eq!(second, AccountProgress::duplicate("exec-1"));
    assert_eq!(
        org.count("CreateAccount"),
        1,
        "the duplicate created nothing"
    );
    // Once the first execution gives the lease back, a re-run proceeds.
    vending_domain::ports::Registry::release(&registry, &spec.tenant_id, "exec-1")
        .await
        .expect("released");
    let rerun = ensure_account::ensure_account(&org, &registry, &spec, "exec-3")
        .await
        .expect("re-run");
    assert_eq!(rerun.state, AccountState::InProgress);
    assert_eq!(org.count("CreateAccount"), 1);
}
