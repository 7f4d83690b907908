//! PlaceAccount through its Lambda payload: `spec`, `accountId` and `executionName` in, the
//! placement out as `$.placement`; a member role not yet usable is AccessDenied, which the
//! workflow retries.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use vending_domain::StepError;
use vending_domain::fakes::{FakeAccounts, FakeOrganization, example_config, example_spec};
use vending_domain::steps::{PlaceAccount, call};

const ACCOUNT: &str = "210987654321";

fn organization() -> FakeOrganization {
    let org = FakeOrganization::new(0);
    let tags = BTreeMap::from([("vending:tenant".to_owned(), "payments".to_owned())]);
    org.add_account(ACCOUNT, "payments", "payments@example.com", tags);
    org
}

async fn handle(org: &FakeOrganization, accounts: &FakeAccounts) -> Result<Value, StepError> {
    let payload =
        json!({"spec": example_spec("payments"), "accountId": ACCOUNT, "executionName": "e-1"});
    let config = example_config();
    call::<PlaceAccount, _, _>(
        |i| place_account::handle(org, accounts, &config, i),
        payload,
    )
    .await
}

#[tokio::test]
async fn the_account_is_moved_to_the_tenants_ou_once() {
    let (org, accounts) = (organization(), FakeAccounts::default());
    let first = handle(&org, &accounts).await.expect("placed");
    assert_eq!(first["accountId"], ACCOUNT, "{first}");
    assert_eq!(first["moved"], true, "{first}");
    let again = handle(&org, &accounts).await.expect("placed");
    assert_eq!(again["moved"], false, "{again}");
    let (parent, _) = org.placement(ACCOUNT).expect("the account");
    assert_eq!(parent, example_spec("payments").ou_id);
    assert_eq!(org.count("MoveAccount"), 1);
}

#[tokio::test]
async fn a_member_role_that_is_refused_is_access_denied() {
    let (org, accounts) = (organization(), FakeAccounts::default());
    accounts.deny(ACCOUNT);
    let out = handle(&org, &accounts).await;
    assert!(matches!(out, Err(StepError::AccessDenied(_))), "{out:?}");
    assert_eq!(org.count("MoveAccount"), 0);
}
