//! A fake of AWS Config and CloudTrail in one tenant account: its one recorder (the service's
//! or Control Tower's), the delivery channel, the rules, and the service's trail.

use super::{Calls, lock};
use crate::config::{BaselineMode, ConfigBaseline, RECORDING_NAME};
use crate::error::StepError;
use crate::ports::{ConfigRecord, Recording, TrailRecord};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Control Tower's recorder in an enrolled account.
pub const CONTROL_TOWER_RECORDER: &str = "aws-controltower-BaselineConfigRecorder";

#[derive(Debug, Default)]
struct Account {
    role: bool,
    /// The recorder: its name, and whether it records.
    recorder: Option<(String, bool)>,
    channel: Option<String>,
    rules: BTreeMap<String, String>,
    /// The service's trail: its bucket, and whether it logs.
    trail: Option<(String, bool)>,
}

/// AWS Config and CloudTrail of one account, in memory.
#[derive(Debug, Clone, Default)]
pub struct FakeRecording {
    state: Arc<Mutex<Account>>,
    /// The account, as ARNs name it.
    pub account: String,
    /// Calls made, and failures to answer with.
    pub calls: Arc<Calls>,
}

impl FakeRecording {
    /// AWS Config and CloudTrail of `account`, with nothing in them.
    pub fn of(account: &str) -> FakeRecording {
        FakeRecording {
            account: account.to_owned(),
            ..FakeRecording::default()
        }
    }

    /// Control Tower enrols the account: its recorder and channel, recording.
    pub fn enrol_in_control_tower(&self) {
        let mut s = lock(&self.state);
        s.recorder = Some((CONTROL_TOWER_RECORDER.to_owned(), true));
        s.channel = Some("aws-controltower-logs".to_owned());
    }

    /// The recorder: its name and whether it records.
    pub fn recorder(&self) -> Option<(String, bool)> {
        lock(&self.state).recorder.clone()
    }

    /// The rules: name to source identifier.
    pub fn rules(&self) -> BTreeMap<String, String> {
        lock(&self.state).rules.clone()
    }

    /// Deletes a rule (an account admin's doing).
    pub fn delete_rule(&self, name: &str) {
        lock(&self.state).rules.remove(name);
    }

    /// The service's trail: its bucket and whether it logs.
    pub fn trail(&self) -> Option<(String, bool)> {
        lock(&self.state).trail.clone()
    }

    /// Stops the trail's logging (an account admin's doing).
    pub fn stop_logging(&self) {
        if let Some(t) = lock(&self.state).trail.as_mut() {
            t.1 = false;
        }
    }
}

impl Recording for FakeRecording {
    async fn ensure_config(
        &self,
        config: &ConfigBaseline,
        _tags: &BTreeMap<String, String>,
    ) -> Result<ConfigRecord, StepError> {
        self.calls.enter("EnsureConfig")?;
        let mut s = lock(&self.state);
        let mut changed = Vec::new();
        match config.mode {
            BaselineMode::ControlTower => {
                if s.recorder.is_none() {
                    return Err(StepError::NotReady(format!(
                        "account {} has no AWS Config recorder: Control Tower has not enrolled it yet",
                        self.account
                    )));
                }
            }
            BaselineMode::Service => {
                if let Some((name, _)) = &s.recorder
                    && name != RECORDING_NAME
                {
                    return Err(StepError::Conflict(format!(
                        "account {} has the recorder {name}, not the service's: an account has one recorder; is the environment's mode controlTower?",
                        self.account
                    )));
                }
                if !s.role {
                    s.role = true;
                    changed.push("role".to_owned());
                }
                if s.recorder.is_none() {
                    s.recorder = Some((RECORDING_NAME.to_owned(), false));
                    changed.push("recorder".to_owned());
                }
                let bucket = config.delivery_bucket.clone().unwrap_or_default();
                if s.channel.as_ref() != Some(&bucket) {
                    s.channel = Some(bucket);
                    changed.push("channel".to_owned());
                }
                if let Some(r) = s.recorder.as_mut()
                    && !r.1
                {
                    r.1 = true;
                    changed.push("recording".to_owned());
                }
            }
        }
        for rule in &config.rules {
            if s.rules.get(&rule.name) != Some(&rule.source_identifier) {
                s.rules
                    .insert(rule.name.clone(), rule.source_identifier.clone());
                changed.push(format!("rule:{}", rule.name));
            }
        }
        Ok(ConfigRecord {
            mode: config.mode,
            recorder: s.recorder.as_ref().map(|r| r.0.clone()).unwrap_or_default(),
            rules: config.rules.iter().map(|r| r.name.clone()).collect(),
            changed,
        })
    }

    async fn ensure_trail(
        &self,
        bucket: &str,
        _tags: &BTreeMap<String, String>,
    ) -> Result<TrailRecord, StepError> {
        self.calls.enter("EnsureTrail")?;
        let mut s = lock(&self.state);
        let mut changed = Vec::new();
        match s.trail.as_mut() {
            Some(t) if t.0 == bucket => {}
            Some(t) => {
                t.0 = bucket.to_owned();
                changed.push("trail".to_owned());
            }
            None => {
                s.trail = Some((bucket.to_owned(), false));
                changed.push("trail".to_owned());
            }
        }
        if let Some(t) = s.trail.as_mut()
            && !t.1
        {
            t.1 = true;
            changed.push("logging".to_owned());
        }
        Ok(TrailRecord {
            mode: BaselineMode::Service,
            trail_arn: Some(format!(
                "arn:aws:cloudtrail:eu-west-1:{}:trail/{RECORDING_NAME}",
                self.account
            )),
            changed,
        })
    }
}
