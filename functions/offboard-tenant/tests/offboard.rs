//! Offboard on fakes, through the payloads the offboarding workflow passes: phase one revokes
//! only the tenant's access entries and suspends its account; phase two detaches its network
//! and closes its account, and the completion holds its VPC block; the guards refuse the
//! platform's own accounts and an account not tagged for the tenant before anything changes;
//! a new request during the grace period cancels phase two; a caught failure stays on the
//! tenant only when this execution was offboarding it.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use vending_domain::fakes::{
    FakeAccounts, FakeBus, FakeDestination, FakeOrganization, FakeRegistry, example_config,
};
use vending_domain::ports::{
    AccessEntrySpec, Accounts as _, ClusterAccess as _, Registry as _, RegistryEntry,
    TenantNetwork as _, TenantStatus,
};
use vending_domain::steps::{Offboard, OffboardProgress, call};
use vending_domain::{Ipv4Cidr, PlatformConfig, StepError, TenantId};

const ACCOUNT: &str = "222233334444";
const TENANT: &str = "payments";
const PHASE_ONE: &str = "offboard-payments-1";

struct World {
    config: PlatformConfig,
    org: FakeOrganization,
    registry: FakeRegistry,
    bus: FakeBus,
    accounts: FakeAccounts,
    destination: FakeDestination,
}

fn tenant() -> TenantId {
    TenantId::parse(TENANT).expect("an id")
}

fn cidr() -> Ipv4Cidr {
    "10.64.0.0/20".parse().expect("a block")
}

fn tagged(tenant: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("vending:tenant".to_owned(), tenant.to_owned())])
}

/// A READY tenant on fakes: its account in the prod OU, two access entries of its roles and a
/// break-glass entry of its account not tagged for it, its VPC attached, its block claimed.
async fn world() -> World {
    let config = example_config();
    let org = FakeOrganization::new(0);
    org.add_account(ACCOUNT, TENANT, "aws+payments@example.com", tagged(TENANT));
    org.set_parent(ACCOUNT, &config.environments["prod"].ou_id);
    let registry = FakeRegistry::default();
    let mut entry = RegistryEntry::new(tenant(), "req-1".into());
    entry.status = TenantStatus::Ready;
    entry.account_id = Some(ACCOUNT.into());
    entry.cidr = Some(cidr());
    registry.put(&entry).await.expect("put");
    registry
        .claim_cidr(cidr(), config.network.pool.max_prefix_length, &tenant())
        .await
        .expect("claimed");
    let accounts = FakeAccounts::default();
    for cluster in &config.clusters {
        let eks = accounts
            .clusters(&cluster.account_id, &config.region, "s")
            .await
            .expect("eks");
        for (role, tags) in [
            ("payments-admin", tagged(TENANT)),
            ("payments-deploy", tagged(TENANT)),
            ("break-glass", BTreeMap::new()),
        ] {
            eks.ensure_access_entry(&AccessEntrySpec {
                cluster: cluster.name.clone(),
                principal_arn: format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
                kubernetes_groups: vec![format!("tenant:payments:{role}")],
                access_policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
                    .into(),
                namespaces: vec!["payments".into()],
                tags,
            })
            .await
            .expect("an entry");
        }
    }
    let net = accounts.network_of(ACCOUNT, &config.region);
    let vpc = net.ensure_vpc(cidr(), &tagged(TENANT)).await.expect("vpc");
    let attachment = net
        .ensure_transit_gateway_attachment(
            &config.network.transit_gateway_id,
            &vpc.id,
            &["subnet-1".into()],
            &tagged(TENANT),
        )
        .await
        .expect("attachment");
    assert!(attachment.created);
    for destination in &config.network.routes_to_transit_gateway {
        net.ensure_route_to_transit_gateway(
            &vpc.main_route_table_id,
            *destination,
            &config.network.transit_gateway_id,
        )
        .await
        .expect("route");
    }
    World {
        config,
        org,
        registry,
        bus: FakeBus::default(),
        accounts,
        destination: FakeDestination::default(),
    }
}

impl World {
    async fn step(&self, payload: Value) -> Result<OffboardProgress, StepError> {
        let services = offboard_tenant::Services {
            org: &self.org,
            registry: &self.registry,
            bus: &self.bus,
            accounts: &self.accounts,
            destination: &self.destination,
        };
        let value = call::<Offboard, _, _>(
            |input| offboard_tenant::handle(&services, &self.config, input),
            payload,
        )
        .await?;
        Ok(serde_json::from_value(value).expect("a progress"))
    }

    async fn begin(&self, execution: &str, close: bool) -> Result<OffboardProgress, StepError> {
        self.step(json!({
            "action": "begin",
            "trigger": {"tenantId": TENANT, "closeAccount": close, "reason": "team gone"},
            "executionName": execution,
        }))
        .await
    }

    async fn then(
        &self,
        action: &str,
        progress: &OffboardProgress,
        execution: &str,
    ) -> Result<OffboardProgress, StepError> {
        self.step(json!({"action": action, "offboarding": progress, "executionName": execution}))
            .await
    }

    fn entry(&self) -> RegistryEntry {
        self.registry.entry(&tenant()).expect("an entry")
    }

    /// The principals with access entries in the tenant's account, per cluster.
    async fn entries(&self) -> Vec<String> {
        let mut out = Vec::new();
        for cluster in &self.config.clusters {
            let eks = self
                .accounts
                .clusters(&cluster.account_id, &self.config.region, "s")
                .await
                .expect("eks");
            for e in eks
                .access_entries(&cluster.name, ACCOUNT)
                .await
                .expect("entries")
            {
                out.push(format!("{}:{}", cluster.name, e.principal_arn));
            }
        }
        out
    }

    fn events(&self) -> Vec<String> {
        self.bus.events().into_iter().map(|(t, _)| t).collect()
    }
}

#[tokio::test]
async fn phase_one_revokes_the_tenants_access_and_suspends_its_account() {
    let w = world().await;
    let grace = w.begin(PHASE_ONE, true).await.expect("phase one");
    let OffboardProgress::Grace {
        grace_seconds,
        close_account,
        ..
    } = &grace
    else {
        panic!("not GRACE: {grace:?}");
    };
    assert!(*close_account);
    let configured = w
        .config
        .offboarding
        .as_ref()
        .expect("offboarding")
        .grace_period_seconds;
    assert!(*grace_seconds <= configured && *grace_seconds + 5 >= configured);
    assert_eq!(
        w.entries().await,
        vec![
            "shared-1:arn:aws:iam::222233334444:role/break-glass".to_owned(),
            "shared-2:arn:aws:iam::222233334444:role/break-glass".to_owned(),
        ],
        "only the entries tagged for the tenant go"
    );
    let suspended = w
        .config
        .offboarding
        .as_ref()
        .expect("offboarding")
        .suspended_ou_id
        .clone();
    assert_eq!(w.org.placement(ACCOUNT).expect("placed").0, suspended);
    let entry = w.entry();
    assert_eq!(entry.status, TenantStatus::Offboarding);
    assert_eq!(
        entry.offboarding.as_ref().map(|o| o.execution.as_str()),
        Some(PHASE_ONE)
    );
    assert_eq!(
        w.registry.holder(&tenant()),
        None,
        "the lease is free for the grace"
    );
    assert_eq!(w.events(), ["TenantOffboarding"]);

    // Phase one again (a re-run) converges: nothing more goes, the grace is not restarted.
    let again = w.begin("offboard-payments-2", true).await.expect("again");
    assert!(matches!(again, OffboardProgress::Grace { .. }));
    assert_eq!(
        w.entry().offboarding.map(|o| o.grace_ends_at),
        entry.offboarding.map(|o| o.grace_ends_at)
    );
    assert_eq!(w.org.count("MoveAccount"), 1);
}

#[tokio::test]
async fn phase_two_detaches_the_network_closes_the_account_and_holds_the_block() {
    let w = world().await;
    let grace = w.begin(PHASE_ONE, true).await.expect("phase one");
    let closing = w
        .then("finish", &grace, PHASE_ONE)
        .await
        .expect("phase two");
    assert!(
        matches!(closing, OffboardProgress::Closing { .. }),
        "{closing:?}"
    );
    let net = w.accounts.network_of(ACCOUNT, &w.config.region);
    let vpc = net
        .tenant_vpc(TENANT)
        .await
        .expect("read")
        .expect("the VPC stays");
    assert!(vpc.attachments.is_empty(), "{vpc:?}");
    assert!(vpc.routes_to_transit_gateway.is_empty(), "{vpc:?}");
    assert_eq!(w.org.count("CloseAccount"), 1);

    let closed = w
        .then("checkClosure", &closing, PHASE_ONE)
        .await
        .expect("closed");
    assert!(
        matches!(
            closed,
            OffboardProgress::Closed {
                account_closed: true,
                ..
            }
        ),
        "{closed:?}"
    );
    let entry = w.entry();
    assert_eq!(entry.status, TenantStatus::Closed);
    assert_eq!(entry.closed_accounts, [ACCOUNT]);
    let held = entry
        .offboarding
        .and_then(|o| o.cidr_held_until)
        .expect("held");
    let now = vending_domain::registry::now_seconds();
    assert!(held >= now + vending_domain::registry::REOPEN_WINDOW_SECONDS - 5);
    assert_eq!(w.events(), ["TenantOffboarding", "TenantOffboarded"]);
    assert_eq!(w.registry.holder(&tenant()), None);
    // The block stays the tenant's while the account can be reopened.
    let claimed = w.registry.claimed_cidrs().await.expect("claims");
    assert!(claimed.iter().all(|(_, owner)| *owner == tenant()));
    assert!(!claimed.is_empty());
}

#[tokio::test]
async fn a_block_whose_hold_ended_returns_to_the_pool() {
    let w = world().await;
    let unit = w.config.network.pool.max_prefix_length;
    w.registry
        .hold_cidr(
            cidr(),
            unit,
            &tenant(),
            vending_domain::registry::now_seconds() - 1,
        )
        .await
        .expect("held");
    assert!(w.registry.claimed_cidrs().await.expect("claims").is_empty());
    let other = TenantId::parse("billing").expect("an id");
    assert_eq!(
        w.registry
            .claim_cidr(cidr(), unit, &other)
            .await
            .expect("claim"),
        vending_domain::ports::Claim::Claimed
    );
}

#[tokio::test]
async fn without_the_flag_the_account_stays_and_nothing_is_held() {
    let w = world().await;
    let grace = w.begin(PHASE_ONE, false).await.expect("phase one");
    let closed = w
        .then("finish", &grace, PHASE_ONE)
        .await
        .expect("phase two");
    assert!(
        matches!(
            closed,
            OffboardProgress::Closed {
                account_closed: false,
                ..
            }
        ),
        "{closed:?}"
    );
    assert_eq!(w.org.count("CloseAccount"), 0);
    let entry = w.entry();
    assert_eq!(entry.status, TenantStatus::Closed);
    assert!(entry.closed_accounts.is_empty());
    assert_eq!(entry.offboarding.and_then(|o| o.cidr_held_until), None);
}

#[tokio::test]
async fn the_platforms_own_accounts_and_untagged_accounts_are_refused_before_anything_changes() {
    for (account, tags, expected) in [
        (
            example_config().network.account_id,
            tagged(TENANT),
            "the network account",
        ),
        (
            example_config().clusters[0].account_id.clone(),
            tagged(TENANT),
            "an account of the shared clusters",
        ),
        (
            vending_domain::fakes::MANAGEMENT_ACCOUNT.to_owned(),
            tagged(TENANT),
            "the organization's management account",
        ),
        (
            ACCOUNT.to_owned(),
            tagged("billing"),
            "did not create or adopt it",
        ),
    ] {
        let w = world().await;
        w.org.add_account(&account, "x", "x@example.com", tags);
        let mut entry = w.entry();
        entry.account_id = Some(account.clone());
        w.registry.put(&entry).await.expect("put");
        let refused = w.begin(PHASE_ONE, true).await.expect_err("refused");
        assert!(
            refused.to_string().contains(expected),
            "{account}: {refused}"
        );
        assert_eq!(w.entry().status, TenantStatus::Ready, "{account}");
        assert_eq!(w.entries().await.len(), 6, "{account}: no entry revoked");
        assert!(w.events().is_empty());
    }
}

#[tokio::test]
async fn a_new_request_during_the_grace_cancels_phase_two() {
    let w = world().await;
    let grace = w.begin(PHASE_ONE, true).await.expect("phase one");
    // What EnsureAccount does for a new request of the tenant.
    let mut entry = w.entry();
    entry.status = TenantStatus::Provisioning;
    entry.offboarding = None;
    entry.request_id = "req-2".into();
    w.registry.put(&entry).await.expect("put");
    let cancelled = w
        .then("finish", &grace, PHASE_ONE)
        .await
        .expect("phase two");
    let OffboardProgress::Cancelled { reason, .. } = cancelled else {
        panic!("not cancelled: {cancelled:?}");
    };
    assert!(reason.contains("req-2"), "{reason}");
    assert_eq!(w.org.count("CloseAccount"), 0);
    let net = w.accounts.network_of(ACCOUNT, &w.config.region);
    let vpc = net.tenant_vpc(TENANT).await.expect("read").expect("vpc");
    assert_eq!(vpc.attachments.len(), 1, "still attached");
}

#[tokio::test]
async fn a_caught_failure_stays_on_the_tenant_only_for_its_own_offboarding() {
    let w = world().await;
    let grace = w.begin(PHASE_ONE, true).await.expect("phase one");
    let failure = json!({"FinishOffboarding": {"Error": "QuotaExceeded", "Cause": "{\"errorMessage\": \"quota used up\"}"}});
    let other = w
        .step(json!({"action": "recordFailure", "executionName": "someone-else",
                     "state": {"trigger": {"tenantId": TENANT}, "offboarding": grace, "failure": failure}}))
        .await
        .expect("reported");
    assert!(matches!(other, OffboardProgress::Failed { .. }));
    assert_eq!(w.entry().failure, None, "not this execution's offboarding");
    let own = w
        .step(json!({"action": "recordFailure", "executionName": PHASE_ONE,
                     "state": {"trigger": {"tenantId": TENANT}, "offboarding": grace, "failure": failure}}))
        .await
        .expect("recorded");
    assert_eq!(
        own,
        OffboardProgress::Failed {
            error: "QuotaExceeded".into(),
            cause: "quota used up".into()
        }
    );
    let entry = w.entry();
    assert_eq!(entry.status, TenantStatus::Offboarding);
    assert_eq!(
        entry.failure.map(|f| f.step),
        Some("FinishOffboarding".into())
    );
    assert_eq!(w.events(), ["TenantOffboarding", "TenantOffboardingFailed"]);
}
