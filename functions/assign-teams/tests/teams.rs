//! AssignTeams on fakes, through the payloads the workflow passes: assignments are read before
//! they are made, polled until made, then each permission set's role is known by its full ARN;
//! a re-run makes nothing twice; every name that finds nothing is reported with its field; a
//! removed assignment is made again, and its new role replaces the old one.

use serde_json::json;
use vending_domain::fakes::{FakeAccounts, FakeTeamAccess, example_config};
use vending_domain::request::TenantRequest;
use vending_domain::steps::{AssignTeamsInput, TeamsRecord, TeamsState};
use vending_domain::{PlatformConfig, StepError, TenantSpec};

const ACCOUNT: &str = "222233334444";

fn spec(teams: serde_json::Value) -> TenantSpec {
    TenantRequest::from_value(&json!({
        "requestId": "req-1", "tenantId": "payments", "environment": "prod",
        "owners": ["arn:aws:iam::123456789012:role/payments-leads"],
        "tags": {"CostCenter": "cc-1"}, "teams": teams
    }))
    .expect("reads")
    .validate(&example_config())
    .expect("valid")
}

fn assign(spec: &TenantSpec) -> AssignTeamsInput {
    serde_json::from_value(json!({
        "action": "assign", "spec": spec, "accountId": ACCOUNT, "executionName": "exec-1"
    }))
    .expect("the payload reads")
}

fn check(teams: &TeamsRecord) -> AssignTeamsInput {
    serde_json::from_value(json!({"action": "check", "teams": teams, "executionName": "exec-1"}))
        .expect("the payload reads")
}

/// Identity Center with the example config's permission sets and two groups, linked to the
/// tenant account's IAM.
fn identity_center(polls: u32, accounts: &FakeAccounts) -> FakeTeamAccess {
    let sso = FakeTeamAccess::new(polls);
    sso.add_permission_set("TenantOwner");
    sso.add_permission_set("TenantViewer");
    sso.add_group("payments-admins");
    sso.add_group("payments-auditors");
    sso.link(ACCOUNT, accounts.identity_of(ACCOUNT));
    sso
}

/// Runs the step as the workflow does: assign, then check until ASSIGNED; returns the result
/// and how many polls it took.
async fn run(
    sso: &FakeTeamAccess,
    accounts: &FakeAccounts,
    config: &PlatformConfig,
    spec: &TenantSpec,
) -> Result<(TeamsRecord, usize), StepError> {
    let mut teams = assign_teams::handle(sso, accounts, config, assign(spec)).await?;
    let mut polls = 0;
    while teams.state == TeamsState::InProgress {
        polls += 1;
        assert!(polls < 10, "the assignments end");
        teams = assign_teams::handle(sso, accounts, config, check(&teams)).await?;
    }
    Ok((teams, polls))
}

#[tokio::test]
async fn pending_assignments_are_polled_then_each_permission_set_role_is_known() {
    let accounts = FakeAccounts::default();
    let sso = identity_center(2, &accounts);
    let spec = spec(json!({"viewers": ["payments-auditors"], "owners": ["payments-admins"]}));
    let config = example_config();
    let (teams, polls) = run(&sso, &accounts, &config, &spec)
        .await
        .expect("assigned");
    assert_eq!(polls, 3, "two IN_PROGRESS answers, then SUCCEEDED");
    assert_eq!(sso.assignments().len(), 2);
    let kinds: Vec<&str> = teams.assignments.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["owners", "viewers"], "in the config's order");
    let owners = &teams.assignments[0];
    let role = owners.role_arn.as_deref().expect("the role is known");
    assert!(
        role.starts_with(&format!(
            "arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/"
        )) && role.contains("/AWSReservedSSO_TenantOwner_"),
        "the full ARN, with its path: {role}"
    );
    assert_eq!(owners.cluster_access.as_deref(), Some("admin"));
    assert_eq!(
        teams.cluster_roles().count(),
        2,
        "both kinds share a template's cluster access"
    );
}

#[tokio::test]
async fn a_rerun_reads_first_and_makes_nothing_twice() {
    let accounts = FakeAccounts::default();
    let sso = identity_center(0, &accounts);
    let spec = spec(json!({"owners": ["payments-admins"]}));
    let config = example_config();
    let (first, _) = run(&sso, &accounts, &config, &spec)
        .await
        .expect("assigned");
    let made = sso.calls.count("CreateAccountAssignment");
    let (again, polls) = run(&sso, &accounts, &config, &spec)
        .await
        .expect("assigned");
    assert_eq!(polls, 0, "nothing to wait for");
    assert_eq!(sso.calls.count("CreateAccountAssignment"), made);
    assert_eq!(again, first, "the same assignments and roles");
}

#[tokio::test]
async fn every_name_that_finds_nothing_is_reported_with_its_field() {
    let accounts = FakeAccounts::default();
    let sso = FakeTeamAccess::new(0);
    sso.add_permission_set("TenantOwner");
    sso.add_group("payments-admins");
    let spec =
        spec(json!({"owners": ["payments-admins", "nobody"], "viewers": ["payments-auditors"]}));
    let err = run(&sso, &accounts, &example_config(), &spec)
        .await
        .expect_err("refused");
    let StepError::InvalidRequest(errs) = err else {
        panic!("an invalid request: {err:?}");
    };
    let fields: Vec<&str> = errs.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "teams.owners[1]",
            "identityCenter.assignments[1].permissionSet",
            "teams.viewers[0]"
        ]
    );
    assert_eq!(
        sso.calls.count("CreateAccountAssignment"),
        0,
        "nothing is assigned"
    );
}

#[tokio::test]
async fn a_failed_assignment_fails_the_step_with_identity_centers_reason() {
    let accounts = FakeAccounts::default();
    let sso = identity_center(1, &accounts);
    let group = sso.add_group("payments-oncall");
    sso.fail_group(&group, "the account is not in the organization");
    let spec = spec(json!({"owners": ["payments-oncall"]}));
    let err = run(&sso, &accounts, &example_config(), &spec)
        .await
        .expect_err("failed");
    assert!(
        err.to_string()
            .contains("the account is not in the organization"),
        "{err}"
    );
}

#[tokio::test]
async fn a_removed_assignment_is_made_again_with_a_new_role() {
    let accounts = FakeAccounts::default();
    let sso = identity_center(0, &accounts);
    let spec = spec(json!({"owners": ["payments-admins"]}));
    let config = example_config();
    let (first, _) = run(&sso, &accounts, &config, &spec)
        .await
        .expect("assigned");
    let owners = &first.assignments[0];
    sso.remove(ACCOUNT, &owners.permission_set_arn, &owners.groups[0].id);
    let (again, _) = run(&sso, &accounts, &config, &spec)
        .await
        .expect("assigned");
    assert_eq!(sso.assignments().len(), 1, "made again");
    assert_ne!(
        again.assignments[0].role_arn, owners.role_arn,
        "Identity Center made a new role, with another suffix"
    );
}

#[tokio::test]
async fn a_request_without_teams_assigns_nothing() {
    let accounts = FakeAccounts::default();
    let sso = FakeTeamAccess::new(0);
    let spec = spec(json!({}));
    let (teams, polls) = run(&sso, &accounts, &example_config(), &spec)
        .await
        .expect("nothing to do");
    assert_eq!((teams.assignments.len(), polls), (0, 0));
    assert!(sso.calls.all().is_empty(), "Identity Center is not called");
}
