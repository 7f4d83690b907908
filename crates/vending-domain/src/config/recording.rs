//! The account baseline's recording: AWS Config (a recorder, its delivery channel and a rule
//! set) and a CloudTrail trail, each in one of two modes. `service`: this service makes them
//! in every tenant account of the environment. `controlTower`: Control Tower owns the recorder,
//! its channel and the organization trail (its controls deny changes to them), so the service
//! makes none of them; it waits for Control Tower's recorder and adds the rules.

use crate::error::ValidationErrors;
use serde::{Deserialize, Serialize};

/// Who makes a part of the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BaselineMode {
    /// This service makes it in every tenant account.
    Service,
    /// Control Tower owns it; the service never changes it.
    ControlTower,
}

impl BaselineMode {
    /// As the config writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineMode::Service => "service",
            BaselineMode::ControlTower => "controlTower",
        }
    }
}

/// AWS Config in the tenant account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigBaseline {
    /// Who makes the recorder and its delivery channel.
    pub mode: BaselineMode,
    /// `service` mode: the bucket (usually the log archive account's) the delivery channel
    /// writes to; its policy must let AWS Config write. Not set in `controlTower` mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_bucket: Option<String>,
    /// The AWS managed rules every account gets, in both modes.
    #[serde(default)]
    pub rules: Vec<ManagedRule>,
    /// `service` mode: the role the recorder records with (made by the service under
    /// `/vending/`, trusting `config.amazonaws.com`, with AWS's `AWS_ConfigRole` policy).
    #[serde(default = "default_config_role")]
    pub role_name: String,
}

/// An AWS managed Config rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManagedRule {
    /// The rule's name in the account (1 to 128 of letters, digits, `-` and `_`).
    pub name: String,
    /// The managed rule's identifier (`S3_BUCKET_PUBLIC_READ_PROHIBITED`).
    pub source_identifier: String,
}

/// A CloudTrail trail in the tenant account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrailBaseline {
    /// Who makes the trail: this service, or Control Tower's organization trail covers the
    /// account already.
    pub mode: BaselineMode,
    /// `service` mode: the bucket the trail writes to; its policy must let CloudTrail write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
}

/// The name of the recorder, the delivery channel and the trail the service makes.
pub const RECORDING_NAME: &str = "tenant-vending";

/// The recorder's role name when the config names none.
pub const DEFAULT_CONFIG_ROLE: &str = "tenant-vending-config";

fn default_config_role() -> String {
    DEFAULT_CONFIG_ROLE.to_owned()
}

/// An S3 bucket name: 3 to 63 of lower-case letters, digits, `.` and `-`.
fn is_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b))
}

/// Checks a bucket a mode needs, or its absence where the mode makes nothing.
fn check_bucket(
    mode: BaselineMode,
    bucket: Option<&String>,
    field: &str,
    errs: &mut ValidationErrors,
) {
    match (mode, bucket) {
        (BaselineMode::Service, None) => {
            errs.push(
                field,
                "is required in service mode (the bucket it writes to)",
            );
        }
        (BaselineMode::Service, Some(b)) if !is_bucket(b) => {
            errs.push(field, format!("'{b}' is not an S3 bucket name"));
        }
        (BaselineMode::ControlTower, Some(_)) => {
            errs.push(
                field,
                "is not taken in controlTower mode: Control Tower's own delivery goes to its log archive",
            );
        }
        _ => {}
    }
}

impl ConfigBaseline {
    pub(super) fn check(&self, at: &str, errs: &mut ValidationErrors) {
        check_bucket(
            self.mode,
            self.delivery_bucket.as_ref(),
            &format!("{at}.deliveryBucket"),
            errs,
        );
        for (i, r) in self.rules.iter().enumerate() {
            let ok = (1..=128).contains(&r.name.len())
                && r.name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
            if !ok {
                errs.push(
                    format!("{at}.rules[{i}].name"),
                    format!(
                        "'{}' is not a Config rule name (1 to 128 of letters, digits, '-' and '_')",
                        r.name
                    ),
                );
            }
            if self.rules[..i].iter().any(|o| o.name == r.name) {
                errs.push(
                    format!("{at}.rules[{i}].name"),
                    format!("'{}' is given twice", r.name),
                );
            }
            let id_ok = !r.source_identifier.is_empty()
                && r.source_identifier
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !id_ok {
                errs.push(
                    format!("{at}.rules[{i}].sourceIdentifier"),
                    format!(
                        "'{}' is not an AWS managed rule identifier (S3_BUCKET_PUBLIC_READ_PROHIBITED)",
                        r.source_identifier
                    ),
                );
            }
        }
        if !crate::names::is_iam_name(&self.role_name, 64) {
            errs.push(
                format!("{at}.roleName"),
                format!(
                    "'{}' is not an IAM role name (1 to 64 of letters, digits and +=,.@-_)",
                    self.role_name
                ),
            );
        }
    }
}

impl TrailBaseline {
    pub(super) fn check(&self, at: &str, errs: &mut ValidationErrors) {
        check_bucket(
            self.mode,
            self.bucket.as_ref(),
            &format!("{at}.bucket"),
            errs,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(check: impl FnOnce(&mut ValidationErrors)) -> Vec<String> {
        let mut errs = ValidationErrors::default();
        check(&mut errs);
        errs.errors.into_iter().map(|e| e.field).collect()
    }

    fn config(mode: BaselineMode, bucket: Option<&str>) -> ConfigBaseline {
        ConfigBaseline {
            mode,
            delivery_bucket: bucket.map(str::to_owned),
            rules: vec![ManagedRule {
                name: "s3-public-read".into(),
                source_identifier: "S3_BUCKET_PUBLIC_READ_PROHIBITED".into(),
            }],
            role_name: default_config_role(),
        }
    }

    #[test]
    fn each_mode_takes_exactly_what_it_needs() {
        let at = "environments.prod.baseline.config";
        let ok = config(BaselineMode::Service, Some("org-config-logs"));
        assert!(fields(|e| ok.check(at, e)).is_empty());
        let ct = config(BaselineMode::ControlTower, None);
        assert!(fields(|e| ct.check(at, e)).is_empty());
        let missing = config(BaselineMode::Service, None);
        assert_eq!(
            fields(|e| missing.check(at, e)),
            ["environments.prod.baseline.config.deliveryBucket"]
        );
        let extra = config(BaselineMode::ControlTower, Some("org-config-logs"));
        assert_eq!(
            fields(|e| extra.check(at, e)),
            ["environments.prod.baseline.config.deliveryBucket"]
        );
        let trail = TrailBaseline {
            mode: BaselineMode::Service,
            bucket: Some("Not A Bucket".into()),
        };
        assert_eq!(
            fields(|e| trail.check("t", e)),
            ["t.bucket"],
            "a bucket name AWS refuses"
        );
    }

    #[test]
    fn bad_rules_are_named() {
        let mut c = config(BaselineMode::ControlTower, None);
        c.rules.push(c.rules[0].clone());
        c.rules.push(ManagedRule {
            name: "no spaces".into(),
            source_identifier: "lower_case".into(),
        });
        assert_eq!(
            fields(|e| c.check("c", e)),
            [
                "c.rules[1].name",
                "c.rules[2].name",
                "c.rules[2].sourceIdentifier"
            ]
        );
    }

    #[test]
    fn modes_read_as_the_config_writes_them() {
        let c: TrailBaseline =
            serde_json::from_value(serde_json::json!({"mode": "controlTower"})).expect("reads");
        assert_eq!(c.mode, BaselineMode::ControlTower);
        assert_eq!(c.mode.as_str(), "controlTower");
    }
}
