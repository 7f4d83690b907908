//! CheckAccount through its Lambda payload: `spec` and the `account` progress in, the progress
//! out as the AccountReady? Choice and PlaceAccount (`$.account.accountId`) read it.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use vending_domain::StepError;
use vending_domain::fakes::{FakeOrganization, FakeRegistry, example_spec};
use vending_domain::ports::Organization;
use vending_domain::request::TENANT_TAG;
use vending_domain::steps::{CheckAccount, call};

async fn handle(org: &FakeOrganization, account: Value) -> Result<Value, StepError> {
    let payload =
        json!({"spec": example_spec("payments"), "account": account, "executionName": "e-1"});
    let registry = FakeRegistry::default();
    call::<CheckAccount, _, _>(|i| check_account::handle(org, &registry, i), payload).await
}

#[tokio::test]
async fn a_creation_is_polled_until_the_account_id_is_where_place_account_reads_it() {
    let org = FakeOrganization::new(1);
    let tags = BTreeMap::from([(TENANT_TAG.to_owned(), "payments".to_owned())]);
    let request = org
        .create_account(
            "payments@example.com",
            "payments",
            "OrganizationAccountAccessRole",
            &tags,
        )
        .await
        .expect("creation started");
    let pending = json!({"state": "IN_PROGRESS", "createRequestId": request});
    let polled = handle(&org, pending.clone()).await.expect("polled");
    assert_eq!(polled, pending, "still in progress after one poll");
    let done = handle(&org, polled).await.expect("polled");
    assert_eq!(done["state"], "SUCCEEDED", "{done}");
    assert!(
        done["accountId"].as_str().is_some_and(|id| id.len() == 12),
        "{done}"
    );
    assert_eq!(
        handle(&org, done.clone()).await.expect("passed"),
        done,
        "a done progress passes through"
    );
}

#[tokio::test]
async fn an_account_not_tagged_for_the_tenant_is_a_conflict_and_a_bad_progress_is_internal() {
    let org = FakeOrganization::new(0);
    let request = org
        .create_account(
            "other@example.com",
            "other",
            "OrganizationAccountAccessRole",
            &BTreeMap::new(),
        )
        .await
        .expect("creation started");
    let out = handle(
        &org,
        json!({"state": "IN_PROGRESS", "createRequestId": request}),
    )
    .await;
    assert!(matches!(out, Err(StepError::Conflict(_))), "{out:?}");
    let bad = handle(&org, json!({"state": "SUCCEEDED"})).await;
    let Err(StepError::Internal(message)) = bad else {
        panic!("{bad:?}");
    };
    assert!(message.contains("accountId"), "{message}");
}
