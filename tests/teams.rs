//! Team access through IAM Identity Center, end to end on the strict sandbox (where
//! CreateAccountAssignment is asynchronous, lists an assignment only once made, and makes the
//! permission set's `AWSReservedSSO_` role in the account): the sample request's teams are
//! assigned, polled, and their roles reach the clusters by their full ARN; a re-run makes
//! nothing twice; every bad name is refused with its field; a removed assignment is repaired.

use asl_executor::Status;
use e2e::{calls_of, entry, member, portal_body, request, rerun, vending};
use serde_json::json;
use vend::local::Local;
use vending_domain::ports::TenantStatus;
use vending_domain::record::TenantRecord;

async fn record(local: &Local, id: &str) -> TenantRecord {
    let text = entry(local, id).await.record.expect("a record");
    serde_json::from_str(&text).expect("a record")
}

fn sso(local: &Local) -> aws_sdk_ssoadmin::Client {
    aws_sdk_ssoadmin::Client::new(&local.sdk)
}

/// The groups assigned `permission_set_arn` on `account`.
async fn assigned(local: &Local, account: &str, permission_set_arn: &str) -> Vec<String> {
    let out = sso(local)
        .list_account_assignments()
        .instance_arn(&local.seeded.instance_arn)
        .account_id(account)
        .permission_set_arn(permission_set_arn)
        .send()
        .await
        .expect("listed");
    out.account_assignments()
        .iter()
        .filter_map(|a| a.principal_id().map(str::to_owned))
        .collect()
}

/// The principals of the access entries on the first shared cluster.
async fn access_entries(local: &Local) -> Vec<String> {
    let eks = aws_sdk_eks::Client::new(&member(local, &local.seeded.platform_account_id).await);
    let cluster = &local.platform.config.clusters[0].name;
    eks.list_access_entries()
        .cluster_name(cluster)
        .send()
        .await
        .expect("listed")
        .access_entries()
        .to_vec()
}

/// The ARN of the instance's permission set named `name`.
async fn permission_set(local: &Local, name: &str) -> String {
    let admin = sso(local);
    let instance = &local.seeded.instance_arn;
    let sets = admin
        .list_permission_sets()
        .instance_arn(instance)
        .send()
        .await
        .expect("listed");
    for arn in sets.permission_sets() {
        let described = admin
            .describe_permission_set()
            .instance_arn(instance)
            .permission_set_arn(arn)
            .send()
            .await
            .expect("described");
        if described.permission_set().and_then(|p| p.name()) == Some(name) {
            return arn.clone();
        }
    }
    panic!("no permission set {name}")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sample_tenants_teams_are_assigned_polled_and_reach_the_clusters_by_full_arn() {
    let local = vending(1).await;
    let (answer, result) = request(&local, &portal_body()).await;
    let result = result.unwrap_or_else(|| panic!("started: {answer}"));
    assert_eq!(result.status, Status::Succeeded, "{result:?}");

    // The sandbox answers IN_PROGRESS once (assignmentPolls): the workflow waited and polled.
    let arn = answer["body"]["executionArn"]
        .as_str()
        .expect("an execution");
    let (_, history) = local.wait(arn).await.expect("its history");
    let polls = history
        .iter()
        .filter(|e| {
            e.event_type == "WaitStateEntered"
                && e.to_json().to_string().contains("WaitForAssignments")
        })
        .count();
    assert!(
        polls >= 1,
        "the pending assignments were polled ({polls} waits)"
    );

    let record = record(&local, "payments").await;
    let teams = &record.identity.teams;
    let kinds: Vec<(&str, &str)> = teams
        .iter()
        .map(|t| (t.kind.as_str(), t.permission_set.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [("owners", "TenantOwner"), ("viewers", "TenantViewer")]
    );
    assert_eq!(teams[0].groups, ["payments-admins"]);
    let account = &record.account.id;
    for team in teams {
        assert!(
            team.role_arn.starts_with(&format!(
                "arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/{}/AWSReservedSSO_{}_",
                local.platform.config.region, team.permission_set
            )),
            "the role's full ARN, with its path: {}",
            team.role_arn
        );
    }
    assert_eq!(
        teams[0].kubernetes_group.as_deref(),
        Some("tenant:payments:admins"),
        "the owners' role shares the admin template's cluster access"
    );
    let entries = access_entries(&local).await;
    for team in teams {
        assert!(
            entries.contains(&team.role_arn),
            "{} has an access entry: {entries:?}",
            team.role_arn
        );
    }
    // The Capsule Tenant names the groups.
    let bundle =
        tenant_manifests::bundle(&record, local.platform.config.gitops.root()).expect("renders");
    let tenant = bundle
        .manifests
        .iter()
        .find(|f| f.path.ends_with("tenant.yaml"))
        .expect("a Tenant");
    let text = String::from_utf8_lossy(&tenant.bytes);
    assert!(
        text.contains("teams.tenant-vending.dev/owners: payments-admins"),
        "{text}"
    );

    // A re-run reads first: no assignment is asked for again, and the record is the same.
    let made = calls_of(&local, "CreateAccountAssignment");
    assert_eq!(made, 2, "one per group");
    rerun(&local, "payments").await;
    assert_eq!(calls_of(&local, "CreateAccountAssignment"), made);
    let again = entry(&local, "payments").await;
    assert_eq!(again.status, TenantStatus::Ready);
    assert_eq!(
        again.record.as_deref(),
        Some(
            String::from_utf8(record.to_bytes().expect("bytes"))
                .expect("text")
                .as_str()
        ),
        "the same bytes"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_group_or_permission_set_is_refused_naming_the_field() {
    let local = vending(1).await;
    // A group no identity store has: refused by AssignTeams, the field named in the failure.
    let mut body = portal_body();
    body["teams"] = json!({"owners": ["payments-admins", "no-such-team"]});
    let (_, result) = request(&local, &body).await;
    assert_eq!(result.map(|r| r.status), Some(Status::Failed));
    let failed = entry(&local, "payments").await;
    let failure = failed.failure.expect("recorded");
    assert_eq!(failure.error, "InvalidRequest", "{failure:?}");
    assert!(
        failure.cause.contains("teams.owners[1]") && failure.cause.contains("no-such-team"),
        "{failure:?}"
    );
    assert_eq!(
        calls_of(&local, "CreateAccountAssignment"),
        0,
        "nothing assigned"
    );

    // A kind the config does not have: refused at the API, before anything starts.
    let mut body = portal_body();
    body["requestId"] = json!("portal-kind");
    body["teams"] = json!({"operators": ["payments-admins"]});
    let (answer, result) = request(&local, &body).await;
    assert!(result.is_none(), "not started: {answer}");
    assert_eq!(answer["statusCode"], 400, "{answer}");
    assert!(
        answer["body"].to_string().contains("teams.operators"),
        "{answer}"
    );

    // The platform team deleted a permission set the config names: the config's field.
    sso(&local)
        .delete_permission_set()
        .instance_arn(&local.seeded.instance_arn)
        .permission_set_arn(permission_set(&local, "TenantViewer").await)
        .send()
        .await
        .expect("deleted");
    let mut body = portal_body();
    body["requestId"] = json!("portal-no-set");
    let (_, result) = request(&local, &body).await;
    assert_eq!(result.map(|r| r.status), Some(Status::Failed));
    let failure = entry(&local, "payments").await.failure.expect("recorded");
    assert!(
        failure
            .cause
            .contains("identityCenter.assignments[1].permissionSet"),
        "{failure:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_assignment_is_repaired_by_a_rerun_and_the_new_role_replaces_the_old() {
    let local = vending(1).await;
    let (_, result) = request(&local, &portal_body()).await;
    assert_eq!(result.map(|r| r.status), Some(Status::Succeeded));
    let before = record(&local, "payments").await;
    let account = before.account.id.clone();
    let owners = &before.identity.teams[0];

    // Someone removes the owners' assignment in the console: it was the set's only one in the
    // account, so Identity Center deletes its role too.
    let admin = sso(&local);
    let set = permission_set(&local, "TenantOwner").await;
    let group = assigned(&local, &account, &set).await.remove(0);
    admin
        .delete_account_assignment()
        .instance_arn(&local.seeded.instance_arn)
        .target_id(&account)
        .target_type(aws_sdk_ssoadmin::types::TargetType::AwsAccount)
        .permission_set_arn(&set)
        .principal_type(aws_sdk_ssoadmin::types::PrincipalType::Group)
        .principal_id(&group)
        .send()
        .await
        .expect("removed");
    assert!(assigned(&local, &account, &set).await.is_empty());

    rerun(&local, "payments").await;
    assert_eq!(
        assigned(&local, &account, &set).await,
        [group],
        "assigned again"
    );
    let after = record(&local, "payments").await;
    let new_role = &after.identity.teams[0].role_arn;
    assert_ne!(
        new_role, &owners.role_arn,
        "Identity Center made a new role"
    );
    assert_eq!(after.generation, before.generation + 1);
    let entries = access_entries(&local).await;
    assert!(
        entries.contains(new_role),
        "the new role has the access: {entries:?}"
    );
    assert!(
        !entries.contains(&owners.role_arn),
        "the old role's entry is gone: {entries:?}"
    );
}
