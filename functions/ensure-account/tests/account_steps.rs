//! EnsureAccount, CheckAccount and PlaceAccount together on fakes of Organizations and the
//! registry: one account per tenant however often the steps run, adoption only with proof,
//! the request id saved before polling, creations restarted when Organizations ends them for
//! a concurrent operation, and namespace scopes that never overlap.

use std::collections::BTreeMap;
use vending_domain::fakes::{FakeIdentity, FakeOrganization, FakeRegistry};
use vending_domain::ports::{Organization, Registry, RegistryEntry};
use vending_domain::request::TenantRequest;
use vending_domain::steps::AccountProgress;
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

async fn ensure(
    org: &FakeOrganization,
    registry: &FakeRegistry,
    spec: &TenantSpec,
) -> Result<AccountProgress, StepError> {
    ensure_account::ensure_account(org, registry, &config(), spec, "exec-1").await
}

/// What the workflow does: EnsureAccount, then CheckAccount until the account is there.
async fn vend_account(
    org: &FakeOrganization,
    registry: &FakeRegistry,
    spec: &TenantSpec,
) -> Result<String, StepError> {
    let mut progress = ensure(org, registry, spec).await?;
    for _ in 0..20 {
        progress = match progress {
            AccountProgress::Succeeded { account_id } => return Ok(account_id),
            AccountProgress::Restart { .. } => ensure(org, registry, spec).await?,
            p => check_account::check_account(org, registry, spec, &p).await?,
        };
    }
    panic!("the account never became ready");
}

#[tokio::test]
async fn a_new_tenant_gets_one_account_and_a_rerun_creates_nothing() {
    let (org, registry, spec) = (
        FakeOrganization::new(2),
        FakeRegistry::default(),
        spec(serde_json::json!({})),
    );
    let first = ensure(&org, &registry, &spec).await.expect("ensured");
    let AccountProgress::InProgress { create_request_id } = &first else {
        panic!("{first:?}");
    };
    let saved = registry.entry(&spec.tenant_id).expect("entry");
    assert_eq!(
        saved.create_account_request_id.as_ref(),
        Some(create_request_id),
        "the request id is saved before any polling"
    );
    assert_eq!(
        (
            org.count("ListAccounts"),
            org.count("ListCreateAccountStatus")
        ),
        (0, 0),
        "a new tenant costs no listing of the organization"
    );
    let account = vend_account(&org, &registry, &spec).await.expect("vended");
    assert_eq!(org.count("CreateAccount"), 1);
    assert_eq!(
        org.member_role(&account).as_deref(),
        Some(config().member_role_name.as_str()),
        "CreateAccount names the configured member role"
    );
    assert_eq!(
        registry.entry(&spec.tenant_id).and_then(|e| e.account_id),
        Some(account.clone())
    );
    // A re-run (same input) finds the account in the registry, checked with DescribeAccount.
    let again = ensure(&org, &registry, &spec).await.expect("ensured");
    assert_eq!(again, AccountProgress::ready(account.clone()));
    assert_eq!(org.count("CreateAccount"), 1, "nothing new is created");
    let iam = FakeIdentity::default();
    let config = config();
    let placed = place_account::place_account(&org, &iam, &config, &spec, &account)
        .await
        .expect("placed");
    assert_eq!(iam.alias().as_deref(), Some("acme-payments"));
    assert_eq!(placed.alias, "acme-payments");
    assert!(placed.moved);
    let (parent, tags) = org.placement(&placed.account_id).expect("account");
    assert_eq!(parent, spec.ou_id);
    assert_eq!(
        tags.get("vending:tenant").map(String::as_str),
        Some("payments")
    );
    assert_eq!(tags.get("CostCenter").map(String::as_str), Some("cc-1"));
    let placed_again = place_account::place_account(&org, &iam, &config, &spec, &account)
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
async fn an_account_that_kept_its_alias_is_reported_with_it() {
    let org = FakeOrganization::new(0);
    let iam = FakeIdentity::default();
    iam.set_alias("their-own-alias");
    let (registry, spec) = (FakeRegistry::default(), spec(serde_json::json!({})));
    let account = vend_account(&org, &registry, &spec).await.expect("vended");
    let placed = place_account::place_account(&org, &iam, &config(), &spec, &account)
        .await
        .expect("placed");
    assert_eq!(
        placed.alias, "their-own-alias",
        "the alias in effect, not the configured one"
    );
}

/// A run that died after CreateAccount and before saving its request id: the intent is in the
/// registry, the creation in Organizations.
async fn died_after_create(
    org: &FakeOrganization,
    registry: &FakeRegistry,
    spec: &TenantSpec,
    tags: &BTreeMap<String, String>,
) -> String {
    let mut entry = RegistryEntry::new(spec.tenant_id.clone(), spec.request_id.clone());
    entry.create_attempts = 1;
    registry.put(&entry).await.expect("intent");
    org.create_account(
        "aws+payments@example.com",
        "payments",
        "OrganizationAccountAccessRole",
        tags,
    )
    .await
    .expect("created")
}

#[tokio::test]
async fn a_step_killed_after_create_account_finds_its_request_again() {
    let (org, registry, spec) = (
        FakeOrganization::new(1),
        FakeRegistry::default(),
        spec(serde_json::json!({})),
    );
    let request = died_after_create(&org, &registry, &spec, &spec.all_tags()).await;
    let progress = ensure(&org, &registry, &spec).await.expect("ensured");
    assert_eq!(progress, AccountProgress::in_progress(request));
    vend_account(&org, &registry, &spec).await.expect("vended");
    assert_eq!(org.count("CreateAccount"), 1, "no second account");
}

#[tokio::test]
async fn a_creation_found_by_name_is_adopted_only_if_the_account_is_tagged_for_the_tenant() {
    // Someone else created an account named "payments" (no tag). Finished: refused at once.
    let (org, registry, spec) = (
        FakeOrganization::new(0),
        FakeRegistry::default(),
        spec(serde_json::json!({})),
    );
    let request = died_after_create(&org, &registry, &spec, &BTreeMap::new()).await;
    org.create_account_state(&request).await.expect("finishes");
    let err = ensure(&org, &registry, &spec)
        .await
        .expect_err("not adopted");
    assert!(
        matches!(&err, StepError::Conflict(m) if m.contains("not tagged vending:tenant=payments")),
        "{err:?}"
    );
    // Still in progress: CheckAccount refuses it when it succeeds.
    let (org, registry) = (FakeOrganization::new(1), FakeRegistry::default());
    died_after_create(&org, &registry, &spec, &BTreeMap::new()).await;
    let err = vend_account(&org, &registry, &spec)
        .await
        .expect_err("not adopted");
    assert!(
        matches!(&err, StepError::Conflict(m) if m.contains("not the tenant's")),
        "{err:?}"
    );
    assert_eq!(
        registry.entry(&spec.tenant_id).and_then(|e| e.account_id),
        None
    );
}

#[tokio::test]
async fn adoption_needs_proof_that_the_account_is_the_tenants() {
    let org = FakeOrganization::new(0);
    let tag = |t: &str| BTreeMap::from([("vending:tenant".to_owned(), t.to_owned())]);
    org.add_account("220987654321", "payments", "p@example.com", tag("payments"));
    org.add_account("310987654321", "search", "s@example.com", tag("search"));
    org.add_account("410987654321", "untagged", "u@example.com", BTreeMap::new());
    let registry = FakeRegistry::default();
    let ours = spec(serde_json::json!({"accountId": "220987654321"}));
    assert_eq!(
        ensure(&org, &registry, &ours).await.expect("adopted"),
        AccountProgress::ready("220987654321")
    );
    let missing = spec(serde_json::json!({"tenantId": "ghost", "accountId": "999999999999"}));
    assert!(matches!(
        ensure(&org, &registry, &missing).await,
        Err(StepError::InvalidRequest(_))
    ));
    let theirs = spec(serde_json::json!({"tenantId": "thief", "accountId": "310987654321"}));
    assert!(matches!(
        ensure(&org, &registry, &theirs).await,
        Err(StepError::Conflict(_))
    ));
    // A request naming an account nobody tagged: no proof.
    let untagged = spec(serde_json::json!({"tenantId": "grabber", "accountId": "410987654321"}));
    let err = ensure(&org, &registry, &untagged)
        .await
        .expect_err("no proof");
    assert!(
        matches!(&err, StepError::Conflict(m) if m.contains("410987654321")),
        "{err:?}"
    );
    assert_eq!(org.count("CreateAccount"), 0);
}

#[tokio::test]
async fn the_platforms_own_accounts_are_never_adopted_whatever_their_tags_or_events_say() {
    let org = FakeOrganization::new(0);
    let config = config();
    let network = config.network.account_id.clone();
    let cluster = config.clusters[0].account_id.clone();
    let management = vending_domain::fakes::MANAGEMENT_ACCOUNT.to_owned();
    for (i, (account, what)) in [
        (&network, "the network account"),
        (&cluster, "shared clusters"),
        (&management, "management account"),
    ]
    .into_iter()
    .enumerate()
    {
        let tenant = format!("grabber{i}");
        let tags = BTreeMap::from([("vending:tenant".to_owned(), tenant.clone())]);
        org.add_account(account, &tenant, &format!("{tenant}@example.com"), tags);
        let registry = FakeRegistry::default();
        // Tagged for the tenant, and as an event would announce it: refused either way.
        let mut adopt = spec(serde_json::json!({"tenantId": tenant, "accountId": account}));
        for announced in [false, true] {
            if let vending_domain::request::AccountTarget::Adopt { announced: a, .. } =
                &mut adopt.account
            {
                *a = announced;
            }
            let err = ensure(&org, &registry, &adopt)
                .await
                .expect_err("a platform account");
            assert!(
                matches!(&err, StepError::InvalidRequest(e) if e.to_string().contains("accountId") && e.to_string().contains(what)),
                "{account}: {err:?}"
            );
        }
        let entry = registry.get(&adopt.tenant_id).await.expect("reads");
        assert_eq!(
            entry.and_then(|e| e.account_id),
            None,
            "{account}: nothing saved"
        );
    }
}

#[tokio::test]
async fn an_email_taken_by_someone_else_ends_in_a_conflict_naming_the_account() {
    let org = FakeOrganization::new(0);
    org.add_account(
        "410987654321",
        "legacy",
        "aws+payments@example.com",
        BTreeMap::new(),
    );
    let registry = FakeRegistry::default();
    let err = vend_account(&org, &registry, &spec(serde_json::json!({})))
        .await
        .expect_err("conflict");
    assert!(
        matches!(&err, StepError::Conflict(m) if m.contains("410987654321") && m.contains("EMAIL_ALREADY_EXISTS")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_email_of_the_tenants_own_earlier_account_adopts_it() {
    let org = FakeOrganization::new(0);
    let spec = spec(serde_json::json!({}));
    org.add_account(
        "510987654321",
        "payments",
        "aws+payments@example.com",
        spec.all_tags(),
    );
    let registry = FakeRegistry::default();
    assert_eq!(
        vend_account(&org, &registry, &spec).await.expect("adopted"),
        "510987654321"
    );
}

#[tokio::test]
async fn a_creation_ended_by_a_concurrent_operation_is_started_again_a_bounded_number_of_times() {
    let (org, registry, spec) = (
        FakeOrganization::new(1),
        FakeRegistry::default(),
        spec(serde_json::json!({})),
    );
    org.fail_next_creation("CONCURRENT_ACCOUNT_MODIFICATION");
    let first = ensure(&org, &registry, &spec).await.expect("ensured");
    let mut polled = check_account::check_account(&org, &registry, &spec, &first)
        .await
        .expect("poll");
    polled = check_account::check_account(&org, &registry, &spec, &polled)
        .await
        .expect("poll");
    assert_eq!(
        polled,
        AccountProgress::Restart {
            reason: "CONCURRENT_ACCOUNT_MODIFICATION".into()
        },
        "a final state of that request: not polled again"
    );
    vend_account(&org, &registry, &spec)
        .await
        .expect("the next creation succeeds");
    assert_eq!(org.count("CreateAccount"), 2);

    let (org, registry) = (FakeOrganization::new(0), FakeRegistry::default());
    for _ in 0..check_account::MAX_CREATE_ATTEMPTS {
        org.fail_next_creation("CONCURRENT_ACCOUNT_MODIFICATION");
    }
    let err = vend_account(&org, &registry, &spec)
        .await
        .expect_err("gives up");
    assert_eq!(err.error_type(), "ConcurrentModification");
    assert_eq!(
        org.count("CreateAccount"),
        check_account::MAX_CREATE_ATTEMPTS as usize
    );
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
    let err = ensure(&org, &registry, &spec).await.expect_err("throttled");
    assert_eq!(err.error_type(), "Throttled");
    // The retry (the workflow's Retry block) converges to one account.
    vend_account(&org, &registry, &spec).await.expect("vended");
    assert_eq!(
        org.count("CreateAccount"),
        2,
        "one throttled call, one real"
    );
    assert_eq!(
        org.count("ListCreateAccountStatus"),
        1,
        "the retry looked for the creation the failed call may have started"
    );
}

#[tokio::test]
async fn a_second_execution_for_a_tenant_being_vended_stops_as_a_duplicate() {
    let (org, registry, spec) = (
        FakeOrganization::new(2),
        FakeRegistry::default(),
        spec(serde_json::json!({})),
    );
    let first = ensure(&org, &registry, &spec).await.expect("first");
    assert!(matches!(first, AccountProgress::InProgress { .. }));
    let second = ensure_account::ensure_account(&org, &registry, &config(), &spec, "exec-2")
        .await
        .expect("second");
    assert_eq!(second, AccountProgress::duplicate("exec-1"));
    assert_eq!(
        org.count("CreateAccount"),
        1,
        "the duplicate created nothing"
    );
    // Once the first execution gives the lease back, a re-run proceeds.
    registry
        .release(&spec.tenant_id, "exec-1")
        .await
        .expect("released");
    let rerun = ensure_account::ensure_account(&org, &registry, &config(), &spec, "exec-3")
        .await
        .expect("re-run");
    assert!(matches!(rerun, AccountProgress::InProgress { .. }));
    assert_eq!(org.count("CreateAccount"), 1);
}

#[tokio::test]
async fn a_tenant_whose_namespaces_would_overlap_anothers_is_refused_either_way() {
    let org = FakeOrganization::new(0);
    let registry = FakeRegistry::default();
    let team = spec(serde_json::json!({"tenantId": "team", "requestId": "r-team"}));
    vend_account(&org, &registry, &team).await.expect("team");
    for (id, request) in [("team-a", "r-a"), ("team-a-b", "r-ab")] {
        let longer = spec(serde_json::json!({"tenantId": id, "requestId": request}));
        let err = vend_account(&org, &registry, &longer)
            .await
            .expect_err("overlaps");
        let StepError::InvalidRequest(errs) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(errs.errors[0].field, "tenantId");
        assert!(errs.errors[0].reason.contains("'team'"), "{err}");
    }
    // The other way: a shorter id whose scope would cover an existing tenant's.
    let (org, registry) = (FakeOrganization::new(0), FakeRegistry::default());
    let pay = spec(serde_json::json!({"tenantId": "pay-eu", "requestId": "r-eu"}));
    vend_account(&org, &registry, &pay).await.expect("pay-eu");
    let shorter = spec(serde_json::json!({"tenantId": "pay", "requestId": "r-pay"}));
    let err = vend_account(&org, &registry, &shorter)
        .await
        .expect_err("overlaps");
    assert!(err.to_string().contains("'pay-eu'"), "{err}");
    // Siblings do not overlap.
    let sibling = spec(serde_json::json!({"tenantId": "pay-us", "requestId": "r-us"}));
    vend_account(&org, &registry, &sibling)
        .await
        .expect("pay-us");
    assert_eq!(
        org.count("CreateAccount"),
        2,
        "nothing was created for the refused ids"
    );
}

#[tokio::test]
async fn a_tenant_beyond_the_creation_cap_is_queued_until_a_creation_ends() {
    let (org, registry) = (FakeOrganization::new(1), FakeRegistry::default());
    let mut config = config();
    config.max_concurrent_account_creations = 1;
    let first = spec(serde_json::json!({}));
    let second = spec(serde_json::json!({"tenantId": "ledger", "requestId": "req-2"}));
    let started = ensure_account::ensure_account(&org, &registry, &config, &first, "exec-1")
        .await
        .expect("the first takes the slot");
    assert!(
        matches!(started, AccountProgress::InProgress { .. }),
        "{started:?}"
    );
    let queued = ensure_account::ensure_account(&org, &registry, &config, &second, "exec-2")
        .await
        .expect("the second waits");
    let AccountProgress::Queued {
        creating,
        retry_after_seconds,
    } = queued
    else {
        panic!("queued: {queued:?}");
    };
    assert_eq!(creating, ["payments"]);
    assert!(
        (30..46).contains(&retry_after_seconds),
        "{retry_after_seconds}"
    );
    let again = ensure_account::ensure_account(&org, &registry, &config, &second, "exec-2")
        .await
        .expect("still waits");
    assert!(
        matches!(again, AccountProgress::Queued { retry_after_seconds: r, .. } if r >= 60),
        "it waits longer each time: {again:?}"
    );
    assert_eq!(
        org.count("CreateAccount"),
        1,
        "no second creation while the cap is reached"
    );
    // CheckAccount sees the first creation end and gives the slot back.
    let mut progress = started;
    while !matches!(progress, AccountProgress::Succeeded { .. }) {
        progress = check_account::check_account(&org, &registry, &first, &progress)
            .await
            .expect("polls");
    }
    assert!(registry.slot_holders().is_empty(), "the slot is free again");
    let next = ensure_account::ensure_account(&org, &registry, &config, &second, "exec-2")
        .await
        .expect("the second's turn");
    assert!(
        matches!(next, AccountProgress::InProgress { .. }),
        "{next:?}"
    );
    assert_eq!(
        registry.slot_holders(),
        [vending_domain::TenantId::parse("ledger").expect("id")]
    );
}
