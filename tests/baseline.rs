//! The account baseline, end to end on the strict sandbox (which refuses a backup selection
//! whose role cannot be passed or does not trust AWS Backup, and a plan deleted while it still
//! has a selection, as AWS does): a prod tenant's account gets the vault, the plan with the
//! config's rules and the tag selection; a re-run writes nothing; a selection or plan removed
//! by hand is named by the drift check and made again by a re-run; a dev tenant, whose environment has no baseline, gets
//! none.

use asl_executor::Status;
use aws_sdk_backup::Client;
use e2e::{calls_of, drift_of, entry, member, portal_body, request, rerun, vending, vending_with};
use serde_json::json;
use vend::local::Local;
use vending_domain::config::{BACKUP_SELECTION_NAME, BackupConfig, RECORDING_NAME};

/// Every AWS call that writes the baseline.
const WRITES: [&str; 12] = [
    "CreateBackupVault",
    "CreateBackupPlan",
    "UpdateBackupPlan",
    "CreateBackupSelection",
    "DeleteBackupSelection",
    "PutConfigurationRecorder",
    "PutDeliveryChannel",
    "StartConfigurationRecorder",
    "PutConfigRule",
    "CreateTrail",
    "UpdateTrail",
    "StartLogging",
];

fn writes(local: &Local) -> Vec<usize> {
    WRITES.iter().map(|op| calls_of(local, op)).collect()
}

/// AWS Backup in the tenant's account, through the member role.
async fn backup_of(local: &Local, id: &str) -> Client {
    let account = entry(local, id).await.account_id.expect("an account");
    Client::new(&member(local, &account).await)
}

fn config(local: &Local) -> BackupConfig {
    local
        .platform
        .config
        .backup_of("prod")
        .expect("the example config has a prod backup baseline")
        .clone()
}

/// The live plan named as the config says: its id and its rules' names.
async fn plan(backup: &Client, name: &str) -> Option<(String, Vec<String>)> {
    let plans = backup.list_backup_plans().send().await.expect("listed");
    let id = plans
        .backup_plans_list()
        .iter()
        .find(|p| p.backup_plan_name() == Some(name))?
        .backup_plan_id()?
        .to_owned();
    let got = backup
        .get_backup_plan()
        .backup_plan_id(&id)
        .send()
        .await
        .expect("read");
    let rules = got
        .backup_plan()
        .map(|p| p.rules().iter().map(|r| r.rule_name().to_owned()).collect())
        .unwrap_or_default();
    Some((id, rules))
}

/// The plan's selections: (name, id).
async fn selections(backup: &Client, plan_id: &str) -> Vec<(String, String)> {
    backup
        .list_backup_selections()
        .backup_plan_id(plan_id)
        .send()
        .await
        .expect("listed")
        .backup_selections_list()
        .iter()
        .map(|s| {
            (
                s.selection_name().unwrap_or_default().to_owned(),
                s.selection_id().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The names of the account's AWS Config recorders.
async fn recorder_names(recorded: &aws_sdk_config::Client) -> Vec<String> {
    recorded
        .describe_configuration_recorders()
        .send()
        .await
        .expect("read")
        .configuration_recorders()
        .iter()
        .filter_map(|r| r.name().map(str::to_owned))
        .collect()
}

async fn vend_sample(local: &Local) {
    let (answer, result) = request(local, &portal_body()).await;
    let result = result.unwrap_or_else(|| panic!("started: {answer}"));
    assert_eq!(result.status, Status::Succeeded, "{result:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prod_account_gets_its_backup_recorder_rules_and_trail_and_a_rerun_writes_nothing() {
    let local = vending(1).await;
    vend_sample(&local).await;
    let wanted = config(&local);
    let backup = backup_of(&local, "payments").await;

    let vaults = backup.list_backup_vaults().send().await.expect("listed");
    assert!(
        vaults
            .backup_vault_list()
            .iter()
            .any(|v| v.backup_vault_name() == Some(wanted.vault_name.as_str())),
        "the vault: {vaults:?}"
    );
    let (plan_id, rules) = plan(&backup, &wanted.plan_name).await.expect("the plan");
    let names: Vec<String> = wanted.rules.iter().map(|r| r.name.clone()).collect();
    assert_eq!(rules, names, "the config's rules");
    let selected = selections(&backup, &plan_id).await;
    assert_eq!(selected.len(), 1, "{selected:?}");
    assert_eq!(selected[0].0, BACKUP_SELECTION_NAME);
    let selection = backup
        .get_backup_selection()
        .backup_plan_id(&plan_id)
        .selection_id(&selected[0].1)
        .send()
        .await
        .expect("read");
    let chosen = selection.backup_selection().expect("a selection");
    assert!(
        chosen
            .iam_role_arn()
            .ends_with(&format!("role/vending/{}", wanted.role_name)),
        "{chosen:?}"
    );
    let tags = chosen.list_of_tags();
    assert_eq!(tags.len(), 1, "{chosen:?}");
    assert_eq!(
        (tags[0].condition_key(), tags[0].condition_value()),
        (
            wanted.selection_tag.key.as_str(),
            wanted.selection_tag.value.as_str()
        )
    );

    // AWS Config records, delivering to the platform's bucket, with the config's rules; the
    // trail logs to the platform's bucket.
    let account = entry(&local, "payments")
        .await
        .account_id
        .expect("an account");
    let sdk = member(&local, &account).await;
    let recorded = aws_sdk_config::Client::new(&sdk);
    let names = recorder_names(&recorded).await;
    assert_eq!(names, [RECORDING_NAME]);
    let status = recorded
        .describe_configuration_recorder_status()
        .send()
        .await
        .expect("read");
    assert!(
        status
            .configuration_recorders_status()
            .iter()
            .all(|s| s.recording()),
        "{status:?}"
    );
    let channels = recorded
        .describe_delivery_channels()
        .send()
        .await
        .expect("read");
    let buckets: Vec<&str> = channels
        .delivery_channels()
        .iter()
        .filter_map(|c| c.s3_bucket_name())
        .collect();
    let recording = local
        .platform
        .config
        .config_of("prod")
        .expect("prod records");
    assert_eq!(
        buckets,
        [recording.delivery_bucket.as_deref().unwrap_or_default()]
    );
    let rules = recorded.describe_config_rules().send().await.expect("read");
    let mut have: Vec<&str> = rules
        .config_rules()
        .iter()
        .filter_map(|r| r.config_rule_name())
        .collect();
    have.sort_unstable();
    let mut named: Vec<&str> = recording.rules.iter().map(|r| r.name.as_str()).collect();
    named.sort_unstable();
    assert_eq!(have, named);
    let trails = aws_sdk_cloudtrail::Client::new(&sdk);
    let trail = trails
        .get_trail()
        .name(RECORDING_NAME)
        .send()
        .await
        .expect("the trail");
    let trail = trail.trail().expect("a trail");
    assert_eq!(
        trail.s3_bucket_name(),
        local
            .platform
            .config
            .trail_of("prod")
            .and_then(|t| t.bucket.as_deref())
    );
    assert_eq!(trail.is_multi_region_trail(), Some(true));
    let logging = trails
        .get_trail_status()
        .name(RECORDING_NAME)
        .send()
        .await
        .expect("read");
    assert_eq!(logging.is_logging(), Some(true));

    // A re-run reads everything and writes nothing.
    let before = writes(&local);
    rerun(&local, "payments").await;
    assert_eq!(writes(&local), before, "{WRITES:?}");
    assert_eq!(
        calls_of(&local, "CreateBackupPlan"),
        1,
        "one plan made, ever"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_selection_or_plan_is_named_by_drift_and_made_again_by_a_rerun() {
    let local = vending(1).await;
    vend_sample(&local).await;
    let wanted = config(&local);
    let backup = backup_of(&local, "payments").await;
    let (plan_id, _) = plan(&backup, &wanted.plan_name).await.expect("the plan");

    // Someone deletes the selection: the plan backs nothing up any more.
    let (_, selection_id) = selections(&backup, &plan_id).await.remove(0);
    backup
        .delete_backup_selection()
        .backup_plan_id(&plan_id)
        .selection_id(&selection_id)
        .send()
        .await
        .expect("deleted");
    // The drift check names it; a re-run makes it again.
    let (status, report) = drift_of(&local, "payments").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["differences"],
        json!([{
            "resource": format!("backup-selection/{}/{BACKUP_SELECTION_NAME}", wanted.plan_name),
            "field": "exists",
            "expected": "yes",
            "actual": "(missing)",
        }]),
        "{report}"
    );
    rerun(&local, "payments").await;
    assert_eq!(
        drift_of(&local, "payments").await.1["differences"],
        json!([])
    );
    let again = selections(&backup, &plan_id).await;
    assert_eq!(again.len(), 1, "made again: {again:?}");
    assert_ne!(again[0].1, selection_id, "a new selection");

    // AWS refuses to delete a plan that has a selection, as the sandbox does.
    let refused = backup
        .delete_backup_plan()
        .backup_plan_id(&plan_id)
        .send()
        .await
        .expect_err("a plan with a selection stays");
    assert_eq!(
        refused.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidRequestException"),
        "{refused:?}"
    );
    // Then the whole plan goes: its selection first, then the plan.
    backup
        .delete_backup_selection()
        .backup_plan_id(&plan_id)
        .selection_id(&again[0].1)
        .send()
        .await
        .expect("deleted");
    backup
        .delete_backup_plan()
        .backup_plan_id(&plan_id)
        .send()
        .await
        .expect("deleted");
    assert!(plan(&backup, &wanted.plan_name).await.is_none());
    rerun(&local, "payments").await;
    let (new_id, rules) = plan(&backup, &wanted.plan_name).await.expect("made again");
    assert_ne!(new_id, plan_id, "a new plan");
    assert_eq!(rules.len(), wanted.rules.len());
    assert_eq!(selections(&backup, &new_id).await.len(), 1);
    assert_eq!(entry(&local, "payments").await.status.as_str(), "READY");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_environment_without_a_baseline_gets_no_backup() {
    let local = vending(1).await;
    assert!(local.platform.config.backup_of("dev").is_none());
    let mut body = portal_body();
    body["tenantId"] = json!("ledger");
    body["requestId"] = json!("portal-ledger");
    body["environment"] = json!("dev");
    let (answer, result) = request(&local, &body).await;
    let result = result.unwrap_or_else(|| panic!("started: {answer}"));
    assert_eq!(result.status, Status::Succeeded, "{result:?}");
    let backup = backup_of(&local, "ledger").await;
    let vaults = backup.list_backup_vaults().send().await.expect("listed");
    assert!(vaults.backup_vault_list().is_empty(), "{vaults:?}");
    let plans = backup.list_backup_plans().send().await.expect("listed");
    assert!(plans.backup_plans_list().is_empty(), "{plans:?}");
    assert_eq!(writes(&local), [0; 12], "{WRITES:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn in_control_tower_mode_its_recorder_and_trail_are_left_and_only_the_rules_added() {
    let mut config = vend::local::example_config().expect("the example config");
    vending_domain::fakes::leave_recording_to_control_tower(&mut config, "prod");
    let local = vending_with(config, 1, None).await;

    // An account Control Tower has not enrolled has no recorder: the step waits for it, then
    // the tenant fails saying so.
    let mut early = portal_body();
    early["tenantId"] = json!("ledger");
    early["requestId"] = json!("portal-ledger");
    let (answer, result) = request(&local, &early).await;
    let result = result.unwrap_or_else(|| panic!("started: {answer}"));
    assert_eq!(result.status, Status::Failed, "{result:?}");
    let failure = entry(&local, "ledger").await.failure.expect("recorded");
    assert_eq!(failure.error, "NotReady", "{failure:?}");
    assert!(failure.cause.contains("Control Tower"), "{failure:?}");

    // Control Tower enrols the accounts it governs from now on.
    let region = local.platform.config.region.clone();
    local
        .sandbox
        .configure(&json!({"controlTowerBaseline": [region]}))
        .expect("configured");
    vend_sample(&local).await;
    let account = entry(&local, "payments")
        .await
        .account_id
        .expect("an account");
    let recorded = aws_sdk_config::Client::new(&member(&local, &account).await);
    let names = recorder_names(&recorded).await;
    assert_eq!(names, ["aws-controltower-BaselineConfigRecorder"]);
    let rules = recorded.describe_config_rules().send().await.expect("read");
    assert_eq!(
        rules.config_rules().len(),
        local
            .platform
            .config
            .config_of("prod")
            .map_or(0, |c| c.rules.len())
    );
    for op in [
        "PutConfigurationRecorder",
        "PutDeliveryChannel",
        "StartConfigurationRecorder",
        "CreateTrail",
        "StartLogging",
    ] {
        assert_eq!(calls_of(&local, op), 0, "{op}: Control Tower's to make");
    }
}
