//! ProvisionIdentity's recording baseline on fakes, both modes. `service`: the recorder with
//! its role, channel and recording, the rules and the trail are made, a second run changes
//! nothing, a rule deleted and a trail stopped by hand are put back. `controlTower`: nothing
//! is made before Control Tower's recorder is there (`NotReady`), then only the rules are
//! added, Control Tower's recorder is left as it is, and the trail is not called at all.

use vending_domain::config::{BaselineMode, RECORDING_NAME};
use vending_domain::fakes::{CONTROL_TOWER_RECORDER, example_config};
use vending_domain::steps::IdentityRecord;
use vending_domain::{PlatformConfig, StepError};

mod common;

use common::{ACCOUNT, accounts, input};

/// The example config with prod's recording in `controlTower` mode.
fn control_tower() -> PlatformConfig {
    let mut config = example_config();
    vending_domain::fakes::leave_recording_to_control_tower(&mut config, "prod");
    config
}

fn changed(out: &IdentityRecord) -> (Vec<String>, Vec<String>) {
    (
        out.config.as_ref().expect("config").changed.clone(),
        out.trail.as_ref().expect("trail").changed.clone(),
    )
}

#[tokio::test]
async fn service_mode_makes_the_recorder_rules_and_trail_and_puts_back_what_was_undone() {
    let config = example_config();
    let wanted = config.config_of("prod").expect("prod records").clone();
    let accounts = accounts(&config);
    let out = provision_identity::handle(&accounts, &config, input("prod"))
        .await
        .expect("provisioned");
    let rules: Vec<String> = wanted
        .rules
        .iter()
        .map(|r| format!("rule:{}", r.name))
        .collect();
    let (made, trail) = changed(&out);
    assert_eq!(
        made[..4],
        ["role", "recorder", "channel", "recording"],
        "{made:?}"
    );
    assert_eq!(made[4..], rules[..]);
    assert_eq!(trail, ["trail", "logging"]);
    let recording = accounts.recording_of(ACCOUNT);
    assert_eq!(
        recording.recorder(),
        Some((RECORDING_NAME.to_owned(), true))
    );
    let bucket = config.trail_of("prod").and_then(|t| t.bucket.clone());
    assert_eq!(recording.trail(), bucket.map(|b| (b, true)));

    let again = provision_identity::handle(&accounts, &config, input("prod"))
        .await
        .expect("provisioned");
    assert_eq!(
        changed(&again),
        (vec![], vec![]),
        "a second run changes nothing"
    );

    recording.delete_rule(&wanted.rules[0].name);
    recording.stop_logging();
    let repaired = provision_identity::handle(&accounts, &config, input("prod"))
        .await
        .expect("provisioned");
    assert_eq!(
        changed(&repaired),
        (vec![rules[0].clone()], vec!["logging".to_owned()])
    );
}

#[tokio::test]
async fn control_tower_mode_waits_for_enrolment_then_adds_only_the_rules() {
    let config = control_tower();
    let accounts = accounts(&config);
    let err = provision_identity::handle(&accounts, &config, input("prod"))
        .await
        .expect_err("not enrolled yet");
    assert!(matches!(err, StepError::NotReady(_)), "{err:?}");
    assert!(err.to_string().contains("Control Tower"), "{err}");

    let recording = accounts.recording_of(ACCOUNT);
    recording.enrol_in_control_tower();
    let out = provision_identity::handle(&accounts, &config, input("prod"))
        .await
        .expect("provisioned");
    let c = out.config.as_ref().expect("config");
    assert_eq!(c.mode, BaselineMode::ControlTower);
    assert_eq!(c.recorder, CONTROL_TOWER_RECORDER);
    assert!(
        c.changed.iter().all(|p| p.starts_with("rule:")),
        "nothing of Control Tower's: {:?}",
        c.changed
    );
    assert_eq!(
        recording.recorder(),
        Some((CONTROL_TOWER_RECORDER.to_owned(), true))
    );
    let t = out.trail.as_ref().expect("trail");
    assert_eq!(
        (t.mode, t.trail_arn.as_deref()),
        (BaselineMode::ControlTower, None)
    );
    assert_eq!(
        recording.calls.count("EnsureTrail"),
        0,
        "the trail is not called"
    );
    assert_eq!(recording.trail(), None);
}

#[tokio::test]
async fn service_mode_refuses_a_recorder_it_did_not_make() {
    let config = example_config();
    let accounts = accounts(&config);
    accounts.recording_of(ACCOUNT).enrol_in_control_tower();
    let err = provision_identity::handle(&accounts, &config, input("prod"))
        .await
        .expect_err("a recorder of another");
    assert!(matches!(err, StepError::Conflict(_)), "{err:?}");
    assert!(err.to_string().contains(CONTROL_TOWER_RECORDER), "{err}");
}
