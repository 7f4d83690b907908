//! ProvisionIdentity's account baseline on fakes: a prod tenant's account gets the backup
//! role, vault, plan and selection the config names; a second run changes nothing; rules
//! edited or a plan deleted behind the service's back are put back; a dev tenant, whose
//! environment has no baseline, gets no backup call at all.

use vending_domain::config::BackupConfig;
use vending_domain::fakes::{FakeAccounts, example_config};
use vending_domain::steps::IdentityRecord;
use vending_domain::{PlatformConfig, StepError};

mod common;

use common::{ACCOUNT, accounts, input};

/// The example config, what its prod baseline asks, fake accounts, and a first run.
async fn first_prod_run() -> (PlatformConfig, BackupConfig, FakeAccounts, IdentityRecord) {
    let config = example_config();
    let wanted = config
        .backup_of("prod")
        .expect("prod has a baseline")
        .clone();
    let accounts = accounts(&config);
    let out = provision_identity::handle(&accounts, &config, input("prod"))
        .await
        .expect("provisioned");
    (config, wanted, accounts, out)
}

fn changed(out: &IdentityRecord) -> Vec<String> {
    out.backup.as_ref().expect("a backup").changed.clone()
}

#[tokio::test]
async fn a_prod_account_gets_the_configured_backup_and_a_second_run_changes_nothing() {
    let (config, wanted, accounts, out) = first_prod_run().await;
    assert_eq!(changed(&out), ["role", "vault", "plan", "selection"]);
    let backup = out.backup.as_ref().expect("a backup");
    assert_eq!(
        backup.role_arn,
        format!("arn:aws:iam::{ACCOUNT}:role/vending/{}", wanted.role_name)
    );
    assert!(backup.vault_arn.ends_with(&wanted.vault_name), "{backup:?}");
    let fake = accounts.backups_of(ACCOUNT);
    assert_eq!(
        fake.plan_rules(&wanted.plan_name),
        Some(wanted.rules.clone())
    );
    assert_eq!(
        fake.selection_tag(&wanted.plan_name),
        Some(wanted.selection_tag.clone())
    );

    let again = provision_identity::handle(&accounts, &config, input("prod"))
        .await
        .expect("provisioned");
    assert!(changed(&again).is_empty(), "{again:?}");
    assert_eq!(
        again.backup.as_ref().map(|b| &b.plan_arn),
        Some(&backup.plan_arn)
    );
}

#[tokio::test]
async fn edited_rules_and_a_deleted_plan_are_put_back() {
    let (config, wanted, accounts, first) = first_prod_run().await;
    let fake = accounts.backups_of(ACCOUNT);

    fake.edit_rules(&wanted.plan_name, |rules| rules[0].delete_after_days = 1);
    let out = provision_identity::handle(&accounts, &config, input("prod"))
        .await
        .expect("provisioned");
    assert_eq!(changed(&out), ["plan"]);
    assert_eq!(
        fake.plan_rules(&wanted.plan_name),
        Some(wanted.rules.clone())
    );

    fake.delete_plan(&wanted.plan_name);
    let out = provision_identity::handle(&accounts, &config, input("prod"))
        .await
        .expect("provisioned");
    assert_eq!(changed(&out), ["plan", "selection"]);
    let (before, after) = (
        first.backup.expect("a backup"),
        out.backup.expect("a backup"),
    );
    assert_ne!(before.plan_arn, after.plan_arn, "a new plan");
    assert_eq!(before.vault_arn, after.vault_arn, "the vault stays");
}

#[tokio::test]
async fn a_dev_account_gets_no_backup_and_a_backup_failure_fails_the_step() {
    let config = example_config();
    assert!(config.backup_of("dev").is_none());
    let accounts = accounts(&config);
    let out = provision_identity::handle(&accounts, &config, input("dev"))
        .await
        .expect("provisioned");
    assert_eq!(out.backup, None);
    assert_eq!(accounts.backups_of(ACCOUNT).calls.count("EnsureBackup"), 0);

    // A failure of AWS Backup is the step's, typed: the workflow retries a NotReady.
    let fake = accounts.backups_of(ACCOUNT);
    fake.calls.fail_next(
        "EnsureBackup",
        StepError::NotReady("the role is new".into()),
    );
    let err = provision_identity::handle(&accounts, &config, input("prod"))
        .await
        .expect_err("fails");
    assert!(matches!(err, StepError::NotReady(_)), "{err:?}");
}
