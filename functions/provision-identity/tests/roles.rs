//! ProvisionIdentity on fakes: one role per template under the boundary of the tenant's own
//! account, trusted by exactly the platform and the tenant's audiences; a boundary the
//! baseline has not deployed yet is `NotReady`; a principal IAM does not know is named by the
//! request field that named it.

use serde_json::json;
use vending_domain::config::PermissionsBoundary;
use vending_domain::fakes::{FakeAccounts, example_config};
use vending_domain::request::TenantRequest;
use vending_domain::steps::AccountInput;
use vending_domain::{StepError, TenantSpec, ValidationErrors};

const ACCOUNT: &str = "222233334444";

fn spec() -> TenantSpec {
    TenantRequest::from_value(&json!({
        "requestId": "req-1", "tenantId": "payments", "environment": "prod",
        "owners": ["arn:aws:iam::123456789012:role/payments-leads"],
        "viewers": ["arn:aws:iam::123456789012:role/finance-auditors"],
        "tags": {"CostCenter": "cc-1"}
    }))
    .expect("reads")
    .validate(&example_config())
    .expect("valid")
}

fn boundary() -> String {
    example_config()
        .identity
        .permissions_boundary
        .arn_in("aws", ACCOUNT)
}

/// What the workflow passes, read as the step's input.
fn input() -> AccountInput {
    serde_json::from_value(json!({"spec": spec(), "accountId": ACCOUNT, "executionName": "exec-1"}))
        .expect("the payload reads")
}

#[tokio::test]
async fn roles_carry_the_accounts_own_boundary_and_trust_exactly_their_audiences() {
    let accounts = FakeAccounts::with_baseline(&[&boundary()]);
    let out = provision_identity::handle(&accounts, &example_config(), input())
        .await
        .expect("provisioned");
    assert_eq!(out.roles.len(), 3);
    let iam = accounts.identity_of(ACCOUNT);
    assert!(
        boundary().starts_with(&format!("arn:aws:iam::{ACCOUNT}:policy/platform/")),
        "built for the tenant's account: {}",
        boundary()
    );
    let admin = iam.role("payments-admin").expect("admin");
    assert_eq!(admin.boundary_arn, boundary());
    assert_eq!(
        admin.trusted,
        [
            "arn:aws:iam::123456789012:role/payments-leads",
            "arn:aws:iam::123456789012:role/platform-admins"
        ]
    );
    let viewer = iam.role("payments-read-only").expect("read-only");
    assert!(
        viewer
            .trusted
            .contains(&"arn:aws:iam::123456789012:role/finance-auditors".to_owned())
    );
    // A re-run converges on the same roles.
    provision_identity::handle(&accounts, &example_config(), input())
        .await
        .expect("again");
}

#[tokio::test]
async fn a_boundary_not_yet_in_a_new_account_is_not_ready_and_an_aws_managed_one_always_is() {
    let accounts = FakeAccounts::default();
    let err = provision_identity::handle(&accounts, &example_config(), input())
        .await
        .expect_err("no boundary yet");
    assert_eq!(err.error_type(), "NotReady");
    assert!(err.to_string().contains(&boundary()), "{err}");
    // The baseline arrives; the workflow's retry goes through.
    accounts.identity_of(ACCOUNT).add_policy(&boundary());
    provision_identity::handle(&accounts, &example_config(), input())
        .await
        .expect("now ready");
    let mut config = example_config();
    config.identity.permissions_boundary = PermissionsBoundary::AwsManaged {
        name: "PowerUserAccess".into(),
    };
    provision_identity::handle(&FakeAccounts::default(), &config, input())
        .await
        .expect("AWS-managed boundaries exist everywhere");
}

#[tokio::test]
async fn a_principal_iam_does_not_know_is_named_by_its_request_field() {
    let accounts = FakeAccounts::with_baseline(&[&boundary()]);
    let mut said = ValidationErrors::default();
    said.push(
        "principal",
        "arn:aws:iam::123456789012:role/finance-auditors: IAM says this principal does not exist",
    );
    accounts
        .identity_of(ACCOUNT)
        .calls
        .fail_next("GetRole", StepError::InvalidRequest(said));
    let err = provision_identity::handle(&accounts, &example_config(), input())
        .await
        .expect_err("refused");
    let StepError::InvalidRequest(errs) = err else {
        panic!("{err:?}")
    };
    assert_eq!(errs.errors[0].field, "viewers[0]");
}

#[tokio::test]
async fn a_member_role_that_cannot_be_assumed_is_access_denied() {
    let accounts = FakeAccounts::with_baseline(&[&boundary()]);
    accounts.deny(ACCOUNT);
    let err = provision_identity::handle(&accounts, &example_config(), input())
        .await
        .expect_err("denied");
    assert_eq!(err.error_type(), "AccessDenied");
    assert!(err.to_string().contains(ACCOUNT));
}

#[tokio::test]
async fn a_role_of_a_template_the_config_dropped_is_deleted_and_others_stay() {
    use vending_domain::ports::{Identity as _, RoleSpec};
    let accounts = FakeAccounts::with_baseline(&[&boundary()]);
    let iam = accounts.identity_of(ACCOUNT);
    let role = |name: &str, tenant: &str| RoleSpec {
        name: name.into(),
        boundary_arn: boundary(),
        trusted: vec!["arn:aws:iam::123456789012:role/platform-admins".into()],
        managed_policy_arns: Vec::new(),
        tags: [("vending:tenant".to_owned(), tenant.to_owned())].into(),
    };
    // An older config's template, and a role the tenant's account holds for someone else.
    iam.ensure_role(&role("payments-legacy", "payments"))
        .await
        .expect("made");
    iam.ensure_role(&role("payments-break-glass", "platform"))
        .await
        .expect("made");
    provision_identity::handle(&accounts, &example_config(), input())
        .await
        .expect("provisioned");
    assert!(iam.role("payments-legacy").is_none(), "deleted");
    assert!(
        iam.role("payments-break-glass").is_some(),
        "not the tenant's"
    );
    assert!(iam.role("payments-admin").is_some());
}
