//! The account baseline of an environment in the platform config: what every tenant account of
//! the environment gets beside its network and roles: an AWS Backup vault and plan whose
//! selection backs up the account's resources carrying a tag, and the recording (AWS Config
//! and a CloudTrail trail, `config/recording`).

use crate::error::ValidationErrors;
use serde::{Deserialize, Serialize};

/// An environment's account baseline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BaselineConfig {
    /// AWS Backup in every tenant account of the environment; none: no backup is set up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupConfig>,
    /// AWS Config (recorder, delivery channel, rules); none: left as the account has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<super::ConfigBaseline>,
    /// A CloudTrail trail; none: left as the account has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail: Option<super::TrailBaseline>,
}

/// An AWS Backup vault, a plan of rules that back up into it, and the plan's selection: every
/// resource of the account tagged `selectionTag`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupConfig {
    /// The vault's name (2 to 50 of letters, digits, `-` and `_`).
    pub vault_name: String,
    /// The plan's name (1 to 50 of letters, digits, `-`, `_` and `.`).
    pub plan_name: String,
    /// Its rules, at least one.
    pub rules: Vec<BackupRule>,
    /// The resources the plan backs up: those carrying this tag with this value.
    pub selection_tag: SelectionTag,
    /// The role AWS Backup assumes in the account to back the resources up (made by the
    /// service, trusting `backup.amazonaws.com`, with AWS's managed backup and restore
    /// policies), under the path `/vending/` so no tenant role can take its name.
    #[serde(default = "default_backup_role")]
    pub role_name: String,
}

/// One rule of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupRule {
    /// Its name (1 to 50 of letters, digits, `-`, `_` and `.`).
    pub name: String,
    /// When it runs: a cron expression of six fields in UTC, `cron(0 5 ? * * *)`.
    pub schedule: String,
    /// How many days a recovery point is kept (at least 1).
    pub delete_after_days: u32,
}

/// A tag condition (AWS Backup's `STRINGEQUALS`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SelectionTag {
    /// The tag key.
    pub key: String,
    /// The value it must have.
    pub value: String,
}

/// The backup role's name when the config names none.
pub const DEFAULT_BACKUP_ROLE: &str = "tenant-vending-backup";

fn default_backup_role() -> String {
    DEFAULT_BACKUP_ROLE.to_owned()
}

/// The path of the backup role: no tenant role is made under it, so none can take its name.
pub const BACKUP_ROLE_PATH: &str = "/vending/";

impl BackupConfig {
    /// The backup role's ARN in `account_id`, path included.
    pub fn role_arn(&self, partition: &str, account_id: &str) -> String {
        format!(
            "arn:{partition}:iam::{account_id}:role{BACKUP_ROLE_PATH}{}",
            self.role_name
        )
    }
}

/// The selection's name in the plan: one selection per plan, made by the service.
pub const BACKUP_SELECTION_NAME: &str = "tenant-vending";

fn is_backup_name(s: &str, min: usize, extra: &[u8]) -> bool {
    (min..=50).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b) || extra.contains(&b))
}

/// A cron expression as AWS Backup takes it: `cron(` six fields `)`.
fn is_cron(s: &str) -> bool {
    s.strip_prefix("cron(")
        .and_then(|rest| rest.strip_suffix(')'))
        .is_some_and(|fields| fields.split_whitespace().count() == 6)
}

impl BaselineConfig {
    pub(super) fn check(&self, at: &str, errs: &mut ValidationErrors) {
        if let Some(c) = &self.config {
            c.check(&format!("{at}.config"), errs);
        }
        if let Some(t) = &self.trail {
            t.check(&format!("{at}.trail"), errs);
        }
        let Some(b) = &self.backup else { return };
        let at = format!("{at}.backup");
        if !is_backup_name(&b.vault_name, 2, b"") {
            errs.push(
                format!("{at}.vaultName"),
                format!(
                    "'{}' is not a backup vault name (2 to 50 of letters, digits, '-' and '_')",
                    b.vault_name
                ),
            );
        }
        if !is_backup_name(&b.plan_name, 1, b".") {
            errs.push(
                format!("{at}.planName"),
                format!(
                    "'{}' is not a backup plan name (1 to 50 of letters, digits, '-', '_' and '.')",
                    b.plan_name
                ),
            );
        }
        if b.rules.is_empty() {
            errs.push(format!("{at}.rules"), "must hold at least one rule");
        }
        for (i, r) in b.rules.iter().enumerate() {
            if !is_backup_name(&r.name, 1, b".") {
                errs.push(
                    format!("{at}.rules[{i}].name"),
                    format!(
                        "'{}' is not a rule name (1 to 50 of letters, digits, '-', '_' and '.')",
                        r.name
                    ),
                );
            }
            if b.rules[..i].iter().any(|o| o.name == r.name) {
                errs.push(
                    format!("{at}.rules[{i}].name"),
                    format!("'{}' is given twice", r.name),
                );
            }
            if !is_cron(&r.schedule) {
                errs.push(
                    format!("{at}.rules[{i}].schedule"),
                    format!(
                        "'{}' is not a cron expression of six fields (cron(0 5 ? * * *))",
                        r.schedule
                    ),
                );
            }
            if r.delete_after_days == 0 {
                errs.push(
                    format!("{at}.rules[{i}].deleteAfterDays"),
                    "must be at least 1",
                );
            }
        }
        let key = &b.selection_tag.key;
        if key.is_empty() || key.len() > 128 || key.starts_with("aws:") {
            errs.push(
                format!("{at}.selectionTag.key"),
                format!("'{key}' is not a tag key (1 to 128 characters, not aws:)"),
            );
        }
        if b.selection_tag.value.len() > 256 {
            errs.push(
                format!("{at}.selectionTag.value"),
                "must be at most 256 characters",
            );
        }
        if !crate::names::is_iam_name(&b.role_name, 64) {
            errs.push(
                format!("{at}.roleName"),
                format!(
                    "'{}' is not an IAM role name (1 to 64 of letters, digits and +=,.@-_)",
                    b.role_name
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backup() -> BackupConfig {
        BackupConfig {
            vault_name: "tenant-backups".into(),
            plan_name: "tenant-daily".into(),
            rules: vec![BackupRule {
                name: "daily".into(),
                schedule: "cron(0 5 ? * * *)".into(),
                delete_after_days: 35,
            }],
            selection_tag: SelectionTag {
                key: "backup".into(),
                value: "daily".into(),
            },
            role_name: default_backup_role(),
        }
    }

    fn fields(b: BackupConfig) -> Vec<String> {
        let mut errs = ValidationErrors::default();
        BaselineConfig {
            backup: Some(b),
            ..BaselineConfig::default()
        }
        .check("environments.prod.baseline", &mut errs);
        errs.errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_good_backup_baseline_passes() {
        assert!(fields(backup()).is_empty());
    }

    #[test]
    fn every_bad_backup_field_is_named() {
        let mut b = backup();
        b.vault_name = "a".into();
        b.plan_name = "no spaces".into();
        b.rules.push(BackupRule {
            name: "daily".into(),
            schedule: "rate(1 day)".into(),
            delete_after_days: 0,
        });
        b.selection_tag.key = "aws:backup".into();
        b.role_name = "no/slash".into();
        let at = "environments.prod.baseline.backup";
        assert_eq!(
            fields(b),
            [
                "vaultName",
                "planName",
                "rules[1].name",
                "rules[1].schedule",
                "rules[1].deleteAfterDays",
                "selectionTag.key",
                "roleName",
            ]
            .map(|f| format!("{at}.{f}"))
        );
    }

    #[test]
    fn a_plan_needs_a_rule() {
        let mut b = backup();
        b.rules.clear();
        assert_eq!(fields(b), ["environments.prod.baseline.backup.rules"]);
    }
}
