//! The sandbox and the adapters, end to end: real SDK clients, the sandbox's own additions
//! (slow account creation, EKS access entries, faults), the registry's conditional claims.

use e2e::world;
use std::collections::BTreeMap;
use vending_aws::clients::assume_role;
use vending_aws::{Clients, DynamoRegistry, EventBridgeBus, OrganizationsAdapter};
use vending_domain::ports::{
    Claim, CreateAccountState, EventBus, Organization, Registry, RegistryEntry, TenantStatus,
};
use vending_domain::{CidrPool, Ipv4Cidr, StepError, TenantId};

fn tenant(s: &str) -> TenantId {
    TenantId::parse(s).expect("valid tenant id")
}

#[tokio::test(flavor = "multi_thread")]
async fn account_creation_takes_polls_and_accounts_can_be_placed_and_tagged() {
    let w = world(2).await;
    let org = OrganizationsAdapter::new(Clients::from_config(w.config.clone()).organizations);
    let tags = BTreeMap::from([("vending:tenant".to_owned(), "payments".to_owned())]);
    let request = org
        .create_account(
            "aws+payments@example.com",
            "payments",
            "OrganizationAccountAccessRole",
            &tags,
        )
        .await
        .expect("created");
    assert_eq!(
        org.create_account_state(&request).await.expect("polls"),
        CreateAccountState::InProgress
    );
    assert_eq!(
        org.create_account_state(&request).await.expect("polls"),
        CreateAccountState::InProgress
    );
    let CreateAccountState::Succeeded { account_id } =
        org.create_account_state(&request).await.expect("polls")
    else {
        panic!("the third poll should succeed");
    };
    let found = org
        .find_account_by_email("aws+payments@example.com")
        .await
        .expect("lists")
        .expect("found");
    assert_eq!(found.id, account_id);
    assert_eq!(
        org.describe_account("999999999999")
            .await
            .expect("describes"),
        None
    );

    let prod = &w.platform.ou_ids["prod"];
    let parent = org.parent_of(&account_id).await.expect("parent");
    assert_eq!(parent, w.platform.root_id);
    org.move_account(&account_id, &parent, prod)
        .await
        .expect("moved");
    assert_eq!(&org.parent_of(&account_id).await.expect("parent"), prod);
    org.tag_account(
        &account_id,
        &BTreeMap::from([("CostCenter".to_owned(), "cc-1".to_owned())]),
    )
    .await
    .expect("tagged");
    let tags = org.account_tags(&account_id).await.expect("tags");
    assert_eq!(
        (
            tags.get("vending:tenant").map(String::as_str),
            tags.get("CostCenter").map(String::as_str)
        ),
        (Some("payments"), Some("cc-1"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn eks_access_entries_are_served_in_the_eks_wire_format() {
    let w = world(0).await;
    let platform = assume_role(
        &w.config,
        &w.platform.platform_account_id,
        "OrganizationAccountAccessRole",
        "test-run",
    )
    .await;
    let eks = aws_sdk_eks::Client::new(&platform);
    let principal = "arn:aws:iam::210987654321:role/payments-admin";
    let entry = eks
        .create_access_entry()
        .cluster_name("shared-1")
        .principal_arn(principal)
        .kubernetes_groups("tenant-admins")
        .send()
        .await
        .expect("created");
    assert_eq!(
        entry.access_entry().and_then(|e| e.principal_arn()),
        Some(principal)
    );
    let again = eks
        .create_access_entry()
        .cluster_name("shared-1")
        .principal_arn(principal)
        .send()
        .await
        .expect_err("a second create conflicts");
    assert!(matches!(again.as_service_error(), Some(aws_sdk_eks::operation::create_access_entry::CreateAccessEntryError::ResourceInUseException(_))));
    eks.associate_access_policy()
        .cluster_name("shared-1")
        .principal_arn(principal)
        .policy_arn("arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy")
        .access_scope(
            aws_sdk_eks::types::AccessScope::builder()
                .r#type(aws_sdk_eks::types::AccessScopeType::Namespace)
                .namespaces("payments-apps")
                .build(),
        )
        .send()
        .await
        .expect("associated");
    let listed = eks
        .list_associated_access_policies()
        .cluster_name("shared-1")
        .principal_arn(principal)
        .send()
        .await
        .expect("listed");
    let scope = listed
        .associated_access_policies()
        .first()
        .and_then(|p| p.access_scope())
        .expect("a scope");
    assert_eq!(scope.namespaces(), ["payments-apps"]);
    let entries = eks
        .list_access_entries()
        .cluster_name("shared-2")
        .send()
        .await
        .expect("listed");
    assert!(
        entries.access_entries().is_empty(),
        "entries are per cluster"
    );
    let missing = eks
        .describe_access_entry()
        .cluster_name("nope")
        .principal_arn(principal)
        .send()
        .await
        .expect_err("no such cluster");
    assert!(matches!(missing.as_service_error(), Some(aws_sdk_eks::operation::describe_access_entry::DescribeAccessEntryError::ResourceNotFoundException(_))));
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_tenants_claiming_blocks_of_mixed_sizes_at_once_get_ten_separate_blocks() {
    let w = world(0).await;
    let registry = DynamoRegistry::new(
        Clients::from_config(w.config.clone()).dynamodb,
        "tenant-registry",
    );
    registry.ensure_table().await.expect("table");
    let pool = CidrPool {
        cidr: "10.64.0.0/16".parse().expect("cidr"),
        default_prefix_length: 20,
        min_prefix_length: 18,
        max_prefix_length: 22,
    };
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (registry, pool) = (registry.clone(), pool.clone());
        tasks.push(tokio::spawn(async move {
            let t = tenant(&format!("tenant-{i}"));
            // Blocks of different sizes overlap without being equal: the claim must still
            // keep them apart.
            let prefix = if i % 2 == 0 { 20 } else { 22 };
            loop {
                let taken: Vec<Ipv4Cidr> = registry
                    .claimed_cidrs()
                    .await
                    .expect("scan")
                    .into_iter()
                    .map(|(c, _)| c)
                    .collect();
                let candidate = pool
                    .first_free(&t, prefix, &taken)
                    .expect("room in the pool");
                match registry.claim_cidr(candidate, 22, &t).await.expect("claim") {
                    Claim::Claimed => return (t, candidate),
                    Claim::TakenBy(_) => continue,
                }
            }
        }));
    }
    let mut got = Vec::new();
    for task in tasks {
        got.push(task.await.expect("task"));
    }
    for (i, (_, a)) in got.iter().enumerate() {
        for (_, b) in &got[i + 1..] {
            assert!(!a.overlaps(*b), "{a} and {b} overlap");
        }
    }
    let claims = registry.claimed_cidrs().await.expect("scan");
    assert_eq!(
        claims.len(),
        5 * 4 + 5,
        "a /20 holds four /22 pieces, a /22 one"
    );
    // A claim is idempotent for its owner and refused to anyone else.
    let (owner, block) = got[0].clone();
    assert_eq!(
        registry
            .claim_cidr(block, 22, &owner)
            .await
            .expect("re-claim"),
        Claim::Claimed
    );
    assert_eq!(
        registry
            .claim_cidr(block, 22, &tenant("intruder"))
            .await
            .expect("claim"),
        Claim::TakenBy(owner)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_entries_are_written_once_then_updated() {
    let w = world(0).await;
    let registry = DynamoRegistry::new(
        Clients::from_config(w.config.clone()).dynamodb,
        "tenant-registry",
    );
    registry.ensure_table().await.expect("table");
    let mut entry = RegistryEntry::new(tenant("payments"), "req-1".into());
    assert!(registry.put_new(&entry).await.expect("first write"));
    assert!(
        !registry
            .put_new(&entry)
            .await
            .expect("second write is refused")
    );
    entry.status = TenantStatus::Ready;
    entry.account_id = Some("210987654321".into());
    registry.put(&entry).await.expect("update");
    assert_eq!(
        registry.get(&tenant("payments")).await.expect("read"),
        Some(entry)
    );
    assert_eq!(registry.get(&tenant("nobody")).await.expect("read"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_events_reach_a_queue() {
    let w = world(0).await;
    let sqs = aws_sdk_sqs::Client::new(&w.config);
    let events = aws_sdk_eventbridge::Client::new(&w.config);
    events
        .create_event_bus()
        .name("tenant-vending")
        .send()
        .await
        .expect("bus");
    let queue_url = e2e::rule_to_queue(
        &w.config,
        "tenant-vending",
        "tenant-ready",
        &serde_json::json!({"source": ["tenant-vending"], "detail-type": ["TenantReady"]}),
    )
    .await;
    let bus = EventBridgeBus::new(events, "tenant-vending");
    bus.put("TenantFailed", &serde_json::json!({"tenantId": "other"}))
        .await
        .expect("put");
    bus.put("TenantReady", &serde_json::json!({"tenantId": "payments"}))
        .await
        .expect("put");
    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive");
    let bodies: Vec<serde_json::Value> = received
        .messages()
        .iter()
        .filter_map(|m| m.body())
        .map(|b| serde_json::from_str(b).expect("an event"))
        .collect();
    assert_eq!(
        bodies.len(),
        1,
        "only the TenantReady event matches the rule: {bodies:?}"
    );
    assert_eq!(
        bodies[0]["detail"]["tenantId"],
        serde_json::json!("payments")
    );
    assert_eq!(bodies[0]["source"], serde_json::json!("tenant-vending"));
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_errors_are_classified_by_code() {
    let w = world(0).await;
    let org = OrganizationsAdapter::new(Clients::from_config(w.config.clone()).organizations);
    let account = org
        .find_account_by_email("network@sandbox.example.com")
        .await
        .expect("lists")
        .expect("seeded")
        .id;
    // More faults than the SDK's own retries, so the error reaches the adapter.
    w.sandbox
        .inject_fault("MoveAccount", "ConcurrentModificationException", 400, 5)
        .expect("fault");
    let err = org
        .move_account(&account, &w.platform.root_id, &w.platform.ou_ids["dev"])
        .await
        .expect_err("fails");
    assert!(
        matches!(err, StepError::ConcurrentModification(_)),
        "{err:?}"
    );
    w.sandbox.clear_faults().expect("cleared");
    w.sandbox
        .inject_fault("ListParents", "TooManyRequestsException", 400, 5)
        .expect("fault");
    assert!(matches!(
        org.parent_of(&account).await,
        Err(StepError::Throttled(_))
    ));
    w.sandbox.clear_faults().expect("cleared");
    w.sandbox
        .inject_fault("DescribeCreateAccountStatus", "ServiceException", 500, 5)
        .expect("fault");
    assert!(matches!(
        org.create_account_state("car-x").await,
        Err(StepError::Unavailable(_))
    ));
    w.sandbox.clear_faults().expect("cleared");
    assert_eq!(
        org.parent_of(&account).await.expect("works again"),
        w.platform.root_id
    );
}
