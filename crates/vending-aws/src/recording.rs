//! AWS Config and CloudTrail of a tenant account behind the `Recording` port, each part read
//! before it is made or changed.
//!
//! An account has one customer-managed recorder per region: in `service` mode it is the
//! service's (`RECORDING_NAME`), and a recorder of another name (Control Tower's, or one made
//! by hand) is a `Conflict` that names it rather than a second recorder AWS would refuse. In
//! `controlTower` mode the recorder and its channel are Control Tower's: its controls deny
//! changes to them, so they are only read (no recorder yet: enrolment has not reached the
//! account, `NotReady`). The rules are AWS managed rules, put when missing or different.

use crate::classify::classify;
use crate::service_role::{self, ServiceRole, built};
use aws_sdk_cloudtrail::error::ProvideErrorMetadata as _;
use aws_sdk_config::types::{
    ConfigRule, ConfigurationRecorder, DeliveryChannel, Owner, RecordingGroup, Source,
};
use std::collections::BTreeMap;
use vending_domain::StepError;
use vending_domain::config::{BaselineMode, ConfigBaseline, RECORDING_NAME};
use vending_domain::ports::{ConfigRecord, Recording, TrailRecord};

const CONFIG_SERVICE: &str = "config.amazonaws.com";

/// The `Recording` port on AWS Config, CloudTrail and IAM clients of one tenant account.
#[derive(Debug, Clone)]
pub struct AwsRecording {
    config: aws_sdk_config::Client,
    trail: aws_sdk_cloudtrail::Client,
    iam: aws_sdk_iam::Client,
    partition: &'static str,
}

/// The platform config's field (of the environment's baseline) that a refusal is about.
fn config_error(field: &str, reason: String) -> StepError {
    let mut errs = vending_domain::ValidationErrors::default();
    errs.push(field, reason);
    StepError::InvalidRequest(errs)
}

impl AwsRecording {
    /// Wraps clients of one tenant account (built from its assumed-role configuration).
    pub fn new(
        config: aws_sdk_config::Client,
        trail: aws_sdk_cloudtrail::Client,
        iam: aws_sdk_iam::Client,
        region: &str,
    ) -> AwsRecording {
        AwsRecording {
            config,
            trail,
            iam,
            partition: vending_domain::config::partition_of(region),
        }
    }

    /// The account's recorders in this region: (name, role ARN).
    async fn recorders(&self) -> Result<Vec<(String, String)>, StepError> {
        let out = self
            .config
            .describe_configuration_recorders()
            .send()
            .await
            .map_err(|e| classify("DescribeConfigurationRecorders", &e))?;
        Ok(out
            .configuration_recorders()
            .iter()
            .map(|r| {
                (
                    r.name().unwrap_or_default().to_owned(),
                    r.role_arn().unwrap_or_default().to_owned(),
                )
            })
            .collect())
    }

    /// The service's recorder, its channel and recording, as `service` mode wants them; what
    /// changed, in order.
    async fn ensure_recorder(
        &self,
        config: &ConfigBaseline,
        changed: &mut Vec<String>,
    ) -> Result<(), StepError> {
        let recorders = self.recorders().await?;
        if let Some((other, _)) = recorders.iter().find(|(n, _)| n != RECORDING_NAME) {
            return Err(StepError::Conflict(format!(
                "the account has the AWS Config recorder {other}, not the service's {RECORDING_NAME}: an account has one recorder per region (is the environment's baseline.config.mode controlTower?)"
            )));
        }
        let (role_arn, role_changed) = service_role::ensure(
            &self.iam,
            &ServiceRole {
                name: &config.role_name,
                service: CONFIG_SERVICE,
                kind: "config",
                description: "The role AWS Config records the account with (tenant-vending)",
                policies: vec![format!(
                    "arn:{}:iam::aws:policy/service-role/AWS_ConfigRole",
                    self.partition
                )],
            },
        )
        .await?;
        if role_changed {
            changed.push("role".to_owned());
        }
        let same = recorders.iter().any(|(_, role)| *role == role_arn);
        if !same {
            let recorder = ConfigurationRecorder::builder()
                .name(RECORDING_NAME)
                .role_arn(&role_arn)
                .recording_group(
                    RecordingGroup::builder()
                        .all_supported(true)
                        .include_global_resource_types(true)
                        .build(),
                )
                .build();
            self.config
                .put_configuration_recorder()
                .configuration_recorder(recorder)
                .send()
                .await
                .map_err(|e| classify("PutConfigurationRecorder", &e))?;
            changed.push("recorder".to_owned());
        }
        let bucket = config.delivery_bucket.as_deref().unwrap_or_default();
        let channels = self
            .config
            .describe_delivery_channels()
            .send()
            .await
            .map_err(|e| classify("DescribeDeliveryChannels", &e))?;
        let has_channel = channels
            .delivery_channels()
            .iter()
            .any(|c| c.name() == Some(RECORDING_NAME) && c.s3_bucket_name() == Some(bucket));
        if !has_channel {
            let put = self
                .config
                .put_delivery_channel()
                .delivery_channel(
                    DeliveryChannel::builder()
                        .name(RECORDING_NAME)
                        .s3_bucket_name(bucket)
                        .build(),
                )
                .send()
                .await;
            match put {
                Ok(_) => changed.push("channel".to_owned()),
                // The bucket is the platform's: its absence or policy is the config's to fix.
                Err(e)
                    if matches!(
                        e.code(),
                        Some("NoSuchBucketException" | "InsufficientDeliveryPolicyException")
                    ) =>
                {
                    return Err(config_error(
                        "baseline.config.deliveryBucket",
                        format!(
                            "AWS Config cannot deliver to {bucket}: {}",
                            e.message().unwrap_or_default()
                        ),
                    ));
                }
                Err(e) => return Err(classify("PutDeliveryChannel", &e)),
            }
        }
        let status = self
            .config
            .describe_configuration_recorder_status()
            .configuration_recorder_names(RECORDING_NAME)
            .send()
            .await
            .map_err(|e| classify("DescribeConfigurationRecorderStatus", &e))?;
        let recording = status
            .configuration_recorders_status()
            .iter()
            .any(|s| s.recording());
        if !recording {
            self.config
                .start_configuration_recorder()
                .configuration_recorder_name(RECORDING_NAME)
                .send()
                .await
                .map_err(|e| classify("StartConfigurationRecorder", &e))?;
            changed.push("recording".to_owned());
        }
        Ok(())
    }

    /// The account's rules: name to the managed rule's identifier.
    async fn rules(&self) -> Result<BTreeMap<String, String>, StepError> {
        let mut rules = BTreeMap::new();
        let mut token = None;
        loop {
            let out = self
                .config
                .describe_config_rules()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify("DescribeConfigRules", &e))?;
            for r in out.config_rules() {
                let source = r
                    .source()
                    .and_then(|s| s.source_identifier())
                    .unwrap_or_default();
                rules.insert(
                    r.config_rule_name().unwrap_or_default().to_owned(),
                    source.to_owned(),
                );
            }
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(rules);
            }
        }
    }
}

impl Recording for AwsRecording {
    async fn ensure_config(
        &self,
        config: &ConfigBaseline,
        _tags: &BTreeMap<String, String>,
    ) -> Result<ConfigRecord, StepError> {
        let mut changed = Vec::new();
        let recorder = match config.mode {
            BaselineMode::Service => {
                self.ensure_recorder(config, &mut changed).await?;
                RECORDING_NAME.to_owned()
            }
            BaselineMode::ControlTower => {
                let recorders = self.recorders().await?;
                let Some((name, _)) = recorders.into_iter().next() else {
                    return Err(StepError::NotReady(
                        "the account has no AWS Config recorder: Control Tower has not enrolled it yet".into(),
                    ));
                };
                name
            }
        };
        let have = self.rules().await?;
        for rule in &config.rules {
            if have.get(&rule.name) == Some(&rule.source_identifier) {
                continue;
            }
            let source = built(
                "a rule source",
                Source::builder()
                    .owner(Owner::Aws)
                    .source_identifier(&rule.source_identifier)
                    .build(),
            )?;
            let put = ConfigRule::builder()
                .config_rule_name(&rule.name)
                .source(source)
                .build();
            self.config
                .put_config_rule()
                .config_rule(put)
                .send()
                .await
                .map_err(|e| classify("PutConfigRule", &e))?;
            changed.push(format!("rule:{}", rule.name));
        }
        Ok(ConfigRecord {
            mode: config.mode,
            recorder,
            rules: config.rules.iter().map(|r| r.name.clone()).collect(),
            changed,
        })
    }

    async fn ensure_trail(
        &self,
        bucket: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<TrailRecord, StepError> {
        let mut changed = Vec::new();
        let found = match self.trail.get_trail().name(RECORDING_NAME).send().await {
            Ok(out) => out.trail().cloned(),
            Err(e) if e.code() == Some("TrailNotFoundException") => None,
            Err(e) => return Err(classify("GetTrail", &e)),
        };
        let arn = match found {
            Some(t)
                if t.s3_bucket_name() == Some(bucket)
                    && t.is_multi_region_trail() == Some(true)
                    && t.log_file_validation_enabled() == Some(true) =>
            {
                t.trail_arn().unwrap_or_default().to_owned()
            }
            Some(_) => {
                let out = self
                    .trail
                    .update_trail()
                    .name(RECORDING_NAME)
                    .s3_bucket_name(bucket)
                    .is_multi_region_trail(true)
                    .enable_log_file_validation(true)
                    .send()
                    .await
                    .map_err(|e| classify("UpdateTrail", &e))?;
                changed.push("trail".to_owned());
                out.trail_arn().unwrap_or_default().to_owned()
            }
            None => {
                let tags = tags
                    .iter()
                    .map(|(k, v)| {
                        built(
                            "a trail tag",
                            aws_sdk_cloudtrail::types::Tag::builder()
                                .key(k)
                                .value(v)
                                .build(),
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let made = self
                    .trail
                    .create_trail()
                    .name(RECORDING_NAME)
                    .s3_bucket_name(bucket)
                    .is_multi_region_trail(true)
                    .enable_log_file_validation(true)
                    .set_tags_list(Some(tags))
                    .send()
                    .await;
                match made {
                    Ok(out) => {
                        changed.push("trail".to_owned());
                        out.trail_arn().unwrap_or_default().to_owned()
                    }
                    Err(e)
                        if matches!(
                            e.code(),
                            Some(
                                "S3BucketDoesNotExistException"
                                    | "InsufficientS3BucketPolicyException"
                            )
                        ) =>
                    {
                        return Err(config_error(
                            "baseline.trail.bucket",
                            format!(
                                "CloudTrail cannot write to {bucket}: {}",
                                e.message().unwrap_or_default()
                            ),
                        ));
                    }
                    Err(e) if e.code() == Some("TrailAlreadyExistsException") => {
                        return Err(StepError::ConcurrentModification(format!(
                            "trail {RECORDING_NAME} was made by another run at the same time"
                        )));
                    }
                    Err(e) => return Err(classify("CreateTrail", &e)),
                }
            }
        };
        let status = self
            .trail
            .get_trail_status()
            .name(RECORDING_NAME)
            .send()
            .await
            .map_err(|e| classify("GetTrailStatus", &e))?;
        if status.is_logging() != Some(true) {
            self.trail
                .start_logging()
                .name(RECORDING_NAME)
                .send()
                .await
                .map_err(|e| classify("StartLogging", &e))?;
            changed.push("logging".to_owned());
        }
        Ok(TrailRecord {
            mode: BaselineMode::Service,
            trail_arn: Some(arn),
            changed,
        })
    }
}
