//! GrantClusterAccess on fakes: on every cluster, an entry per role with its template's policy
//! (viewers view), scoped to the tenant's namespaces.

use serde_json::json;
use std::collections::BTreeMap;
use vending_domain::fakes::{FakeAccounts, example_config};
use vending_domain::ports::AccessEntrySpec;
use vending_domain::request::TENANT_TAG;
use vending_domain::request::TenantRequest;
use vending_domain::steps::{GrantClusterAccess, call};

#[tokio::test]
async fn each_role_gets_its_templates_policy_scoped_to_the_tenants_namespaces() {
    let spec = TenantRequest::from_value(&json!({
        "requestId": "req-1", "tenantId": "payments", "environment": "prod",
        "owners": ["arn:aws:iam::123456789012:role/payments-leads"],
        "tags": {"CostCenter": "cc-1"}
    }))
    .expect("reads")
    .validate(&example_config())
    .expect("valid");
    let role = |t: &str| json!({"template": t, "arn": format!("arn:aws:iam::222233334444:role/payments-{t}"), "kubernetesGroup": format!("tenant:payments:{t}")});
    let input = json!({
        "spec": spec,
        "identity": {"roles": [role("admin"), role("deploy"), role("read-only")]},
        "executionName": "exec-1"
    });
    let accounts = FakeAccounts::default();
    let config = example_config();
    let out = call::<GrantClusterAccess, _, _>(
        |i| grant_cluster_access::handle(&accounts, &config, i),
        input,
    )
    .await
    .expect("granted");
    assert_eq!(out["clusters"].as_array().map(Vec::len), Some(2));
    let entries = accounts.clusters.entries();
    assert_eq!(entries.len(), 6, "three roles on two clusters");
    for ((_, principal), entry) in entries {
        let wanted = match principal.rsplit('-').next() {
            Some("admin") => "AmazonEKSAdminPolicy",
            Some("deploy") => "AmazonEKSEditPolicy",
            _ => "AmazonEKSViewPolicy",
        };
        assert!(
            entry.access_policy_arn.ends_with(wanted),
            "{principal}: {}",
            entry.access_policy_arn
        );
        assert_eq!(entry.namespaces, ["payments", "payments-*"]);
    }
}

#[tokio::test]
async fn an_entry_of_a_role_the_tenant_no_longer_has_goes_and_others_stay() {
    let spec = TenantRequest::from_value(&json!({
        "requestId": "req-1", "tenantId": "payments", "environment": "prod",
        "owners": ["arn:aws:iam::123456789012:role/payments-leads"],
        "tags": {"CostCenter": "cc-1"}
    }))
    .expect("reads")
    .validate(&example_config())
    .expect("valid");
    let arn = |t: &str| format!("arn:aws:iam::222233334444:role/payments-{t}");
    let role = |t: &str| json!({"template": t, "arn": arn(t), "kubernetesGroup": format!("tenant:payments:{t}")});
    let accounts = FakeAccounts::default();
    let config = example_config();
    let cluster = config.clusters[0].name.clone();
    let entry = |principal: String, tenant: &str| AccessEntrySpec {
        cluster: cluster.clone(),
        principal_arn: principal,
        kubernetes_groups: vec!["g".into()],
        access_policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy".into(),
        namespaces: vec!["payments".into()],
        tags: BTreeMap::from([(TENANT_TAG.to_owned(), tenant.to_owned())]),
    };
    // A role of a template the config dropped, a cluster admin's entry in the tenant's account
    // that the service did not make, and another tenant's role.
    accounts.clusters.insert(entry(arn("legacy"), "payments"));
    accounts
        .clusters
        .insert(entry(arn("break-glass"), "platform"));
    accounts.clusters.insert(entry(
        "arn:aws:iam::555566667777:role/billing-legacy".into(),
        "billing",
    ));
    let input = json!({
        "spec": spec,
        "identity": {"roles": [role("admin"), role("deploy"), role("read-only")]},
        "executionName": "exec-1"
    });
    call::<GrantClusterAccess, _, _>(
        |i| grant_cluster_access::handle(&accounts, &config, i),
        input,
    )
    .await
    .expect("granted");
    let principals: Vec<String> = accounts
        .clusters
        .entries()
        .into_keys()
        .filter(|(c, _)| *c == cluster)
        .map(|(_, p)| p)
        .collect();
    assert!(!principals.contains(&arn("legacy")), "{principals:?}");
    assert!(principals.contains(&arn("break-glass")), "{principals:?}");
    assert!(
        principals.contains(&"arn:aws:iam::555566667777:role/billing-legacy".to_owned()),
        "{principals:?}"
    );
    assert!(principals.contains(&arn("admin")), "{principals:?}");
}
