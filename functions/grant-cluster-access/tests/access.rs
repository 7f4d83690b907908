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
    // The viewers' team role shares the read-only template's access, by its full ARN.
    let team_role = "arn:aws:iam::222233334444:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_TenantViewer_0123456789abcdef";
    let input = json!({
        "spec": spec,
        "identity": {"roles": [role("admin"), role("deploy"), role("read-only")]},
        "teams": {"state": "ASSIGNED", "accountId": "222233334444", "assignments": [{
            "kind": "viewers", "permissionSet": "TenantViewer",
            "permissionSetArn": "arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-0000000000000001",
            "groups": [{"name": "payments-auditors", "id": "g-1"}],
            "roleArn": team_role, "clusterAccess": "read-only"
        }]},
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
    assert_eq!(
        entries.len(),
        8,
        "three roles and a team role on two clusters"
    );
    let team = entries
        .iter()
        .find(|((_, principal), _)| principal == team_role)
        .map(|(_, e)| e)
        .expect("the team role's entry");
    assert_eq!(team.kubernetes_groups, ["tenant:payments:viewers"]);
    for ((_, principal), entry) in entries {
        let wanted = match principal.rsplit('-').next() {
            Some("admin") => "AmazonEKSAdminPolicy",
            Some("deploy") => "AmazonEKSEditPolicy",
            _ if principal.contains("AWSReservedSSO_TenantViewer_") => "AmazonEKSViewPolicy",
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
    // And a team role Identity Center replaced (its set's assignments were removed and made
    // again): the old role's entry goes too.
    let old_team_role = "arn:aws:iam::222233334444:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_TenantViewer_1111111111111111";
    accounts
        .clusters
        .insert(entry(old_team_role.into(), "payments"));
    let input = json!({
        "spec": spec,
        "identity": {"roles": [role("admin"), role("deploy"), role("read-only")]},
        "teams": {"state": "ASSIGNED", "accountId": "222233334444", "assignments": []},
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
    assert!(
        !principals.contains(&old_team_role.to_owned()),
        "{principals:?}"
    );
    assert!(principals.contains(&arn("break-glass")), "{principals:?}");
    assert!(
        principals.contains(&"arn:aws:iam::555566667777:role/billing-legacy".to_owned()),
        "{principals:?}"
    );
    assert!(principals.contains(&arn("admin")), "{principals:?}");
}
