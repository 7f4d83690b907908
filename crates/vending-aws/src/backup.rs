//! AWS Backup of a tenant account behind the `Backups` port: the role AWS Backup assumes, the
//! vault, the plan and its one selection, each read before it is made or changed.
//!
//! AWS Backup cannot update a selection: one that differs is deleted and made again. A plan
//! is found by its name among the plans that are not deleted (CreateBackupPlan refuses a name
//! that is taken with `AlreadyExistsException`, so a run racing another converges on the
//! plan the other made).

use crate::classify::classify;
use crate::iam::get_role;
use crate::service_role::{self, ServiceRole, built};
use aws_sdk_backup::Client;
use aws_sdk_backup::error::ProvideErrorMetadata;
use aws_sdk_backup::types::{
    BackupPlanInput, BackupRuleInput, BackupSelection, Condition, ConditionType, Lifecycle,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use vending_domain::StepError;
use vending_domain::config::SelectionTag;
use vending_domain::config::{BACKUP_SELECTION_NAME, BackupConfig, BackupRule};
use vending_domain::ports::{BackupRecord, BackupState, Backups};

const BACKUP_SERVICE: &str = "backup.amazonaws.com";

/// The `Backups` port on AWS Backup and IAM clients of one tenant account.
#[derive(Debug, Clone)]
pub struct AwsBackups {
    backup: Client,
    iam: aws_sdk_iam::Client,
    partition: &'static str,
}

/// A rule as the config says and as the plan holds it, for comparing.
/// A rule as compared: name, vault, schedule, days kept.
type RuleKey = (String, String, String, u32);

fn rule_keys<'a>(rules: impl IntoIterator<Item = &'a (BackupRule, String)>) -> BTreeSet<RuleKey> {
    rules
        .into_iter()
        .map(|(r, vault)| {
            (
                r.name.clone(),
                vault.clone(),
                r.schedule.clone(),
                r.delete_after_days,
            )
        })
        .collect()
}

fn wanted_rules(config: &BackupConfig) -> BTreeSet<RuleKey> {
    let rules: Vec<(BackupRule, String)> = config
        .rules
        .iter()
        .map(|r| (r.clone(), config.vault_name.clone()))
        .collect();
    rule_keys(&rules)
}

/// A selection as read: its tag conditions, its role, and whether it also names resources.
struct SelectionState {
    tags: Vec<SelectionTag>,
    role_arn: String,
    names_resources: bool,
}

fn rule_input(vault: &str, rule: &BackupRule) -> Result<BackupRuleInput, StepError> {
    built(
        "a backup rule",
        BackupRuleInput::builder()
            .rule_name(&rule.name)
            .target_backup_vault_name(vault)
            .schedule_expression(&rule.schedule)
            .lifecycle(
                Lifecycle::builder()
                    .delete_after_days(i64::from(rule.delete_after_days))
                    .build(),
            )
            .build(),
    )
}

fn plan_input(config: &BackupConfig) -> Result<BackupPlanInput, StepError> {
    let rules = config
        .rules
        .iter()
        .map(|r| rule_input(&config.vault_name, r))
        .collect::<Result<Vec<_>, _>>()?;
    built(
        "a backup plan",
        BackupPlanInput::builder()
            .backup_plan_name(&config.plan_name)
            .set_rules(Some(rules))
            .build(),
    )
}

impl AwsBackups {
    /// Wraps clients of one tenant account (built from its assumed-role configuration).
    pub fn new(backup: Client, iam: aws_sdk_iam::Client, region: &str) -> AwsBackups {
        AwsBackups {
            backup,
            iam,
            partition: vending_domain::config::partition_of(region),
        }
    }

    /// The backup role, made or brought back to its trust and policies; its ARN, and whether
    /// anything changed.
    async fn ensure_role(&self, name: &str) -> Result<(String, bool), StepError> {
        let policies = ["Backup", "Restores"]
            .map(|p| {
                format!(
                    "arn:{}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyFor{p}",
                    self.partition
                )
            })
            .to_vec();
        service_role::ensure(
            &self.iam,
            &ServiceRole {
                name,
                service: BACKUP_SERVICE,
                kind: "backup",
                description: "The role AWS Backup backs the account up with (tenant-vending)",
                policies,
            },
        )
        .await
    }

    /// The vault's ARN, made if missing; and whether it was.
    async fn ensure_vault(
        &self,
        config: &BackupConfig,
        tags: &HashMap<String, String>,
    ) -> Result<(String, bool), StepError> {
        let name = &config.vault_name;
        match self
            .backup
            .describe_backup_vault()
            .backup_vault_name(name)
            .send()
            .await
        {
            Ok(out) => return Ok((out.backup_vault_arn().unwrap_or_default().to_owned(), false)),
            Err(e) if e.code() == Some("ResourceNotFoundException") => {}
            Err(e) => return Err(classify("DescribeBackupVault", &e)),
        }
        let made = self
            .backup
            .create_backup_vault()
            .backup_vault_name(name)
            .set_backup_vault_tags(Some(tags.clone()))
            .send()
            .await;
        match made {
            Ok(out) => Ok((out.backup_vault_arn().unwrap_or_default().to_owned(), true)),
            // Made by a run racing this one: the same vault.
            Err(e) if e.code() == Some("AlreadyExistsException") => {
                let out = self
                    .backup
                    .describe_backup_vault()
                    .backup_vault_name(name)
                    .send()
                    .await
                    .map_err(|e| classify("DescribeBackupVault", &e))?;
                Ok((out.backup_vault_arn().unwrap_or_default().to_owned(), false))
            }
            Err(e) => Err(classify("CreateBackupVault", &e)),
        }
    }

    /// The live plan named `name`: (id, ARN).
    async fn find_plan(&self, name: &str) -> Result<Option<(String, String)>, StepError> {
        let mut pages = self.backup.list_backup_plans().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListBackupPlans", &e))?;
            let found = page
                .backup_plans_list()
                .iter()
                .find(|p| p.backup_plan_name() == Some(name) && p.deletion_date().is_none());
            if let Some(p) = found {
                return Ok(Some((
                    p.backup_plan_id().unwrap_or_default().to_owned(),
                    p.backup_plan_arn().unwrap_or_default().to_owned(),
                )));
            }
        }
        Ok(None)
    }

    /// The rules of plan `id`, each with the vault it backs up into.
    async fn plan_rules(&self, id: &str) -> Result<Vec<(BackupRule, String)>, StepError> {
        let out = self
            .backup
            .get_backup_plan()
            .backup_plan_id(id)
            .send()
            .await
            .map_err(|e| classify("GetBackupPlan", &e))?;
        Ok(out
            .backup_plan()
            .map(|p| p.rules())
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let days = r.lifecycle().and_then(|l| l.delete_after_days());
                (
                    BackupRule {
                        name: r.rule_name().to_owned(),
                        schedule: r.schedule_expression().unwrap_or_default().to_owned(),
                        // A rule without expiry, or one beyond u32, never equals the config's.
                        delete_after_days: days.and_then(|d| u32::try_from(d).ok()).unwrap_or(0),
                    },
                    r.target_backup_vault_name().to_owned(),
                )
            })
            .collect())
    }

    /// The ids of plan `plan_id`'s selections named `BACKUP_SELECTION_NAME`.
    async fn our_selections(&self, plan_id: &str) -> Result<Vec<String>, StepError> {
        let out = self
            .backup
            .list_backup_selections()
            .backup_plan_id(plan_id)
            .send()
            .await
            .map_err(|e| classify("ListBackupSelections", &e))?;
        Ok(out
            .backup_selections_list()
            .iter()
            .filter(|s| s.selection_name() == Some(BACKUP_SELECTION_NAME))
            .filter_map(|s| s.selection_id().map(str::to_owned))
            .collect())
    }

    /// Selection `id` of plan `plan_id`, as read.
    async fn selection(&self, plan_id: &str, id: &str) -> Result<SelectionState, StepError> {
        let got = self
            .backup
            .get_backup_selection()
            .backup_plan_id(plan_id)
            .selection_id(id)
            .send()
            .await
            .map_err(|e| classify("GetBackupSelection", &e))?;
        let b = got.backup_selection();
        Ok(SelectionState {
            tags: b
                .map(|b| b.list_of_tags())
                .unwrap_or_default()
                .iter()
                .filter(|c| c.condition_type() == &ConditionType::Stringequals)
                .map(|c| SelectionTag {
                    key: c.condition_key().to_owned(),
                    value: c.condition_value().to_owned(),
                })
                .collect(),
            role_arn: b.map(|b| b.iam_role_arn().to_owned()).unwrap_or_default(),
            names_resources: b.is_some_and(|b| !b.resources().is_empty()),
        })
    }

    /// The plan with exactly the config's rules: (id, ARN, changed).
    async fn ensure_plan(
        &self,
        config: &BackupConfig,
        tags: &HashMap<String, String>,
    ) -> Result<(String, String, bool), StepError> {
        if let Some((id, arn)) = self.find_plan(&config.plan_name).await? {
            let rules = self.plan_rules(&id).await?;
            if rule_keys(&rules) == wanted_rules(config) {
                return Ok((id, arn, false));
            }
            self.backup
                .update_backup_plan()
                .backup_plan_id(&id)
                .backup_plan(plan_input(config)?)
                .send()
                .await
                .map_err(|e| classify("UpdateBackupPlan", &e))?;
            return Ok((id, arn, true));
        }
        let made = self
            .backup
            .create_backup_plan()
            .backup_plan(plan_input(config)?)
            .set_backup_plan_tags(Some(tags.clone()))
            .send()
            .await;
        match made {
            Ok(out) => Ok((
                out.backup_plan_id().unwrap_or_default().to_owned(),
                out.backup_plan_arn().unwrap_or_default().to_owned(),
                true,
            )),
            Err(e) if e.code() == Some("AlreadyExistsException") => {
                Err(StepError::ConcurrentModification(format!(
                    "backup plan {} was made by another run at the same time",
                    config.plan_name
                )))
            }
            Err(e) => Err(classify("CreateBackupPlan", &e)),
        }
    }

    /// The plan's one selection, with the config's tag condition and the role: its id, and
    /// whether it was made.
    async fn ensure_selection(
        &self,
        plan_id: &str,
        config: &BackupConfig,
        role_arn: &str,
        role_is_new: bool,
    ) -> Result<(String, bool), StepError> {
        let tag = &config.selection_tag;
        for id in self.our_selections(plan_id).await? {
            let got = self.selection(plan_id, &id).await?;
            let same = got.role_arn == role_arn
                && !got.names_resources
                && got.tags.len() == 1
                && got.tags[0] == *tag;
            if same {
                return Ok((id, false));
            }
            // AWS Backup has no update for a selection: it goes, and is made again below.
            self.backup
                .delete_backup_selection()
                .backup_plan_id(plan_id)
                .selection_id(&id)
                .send()
                .await
                .map_err(|e| classify("DeleteBackupSelection", &e))?;
        }
        let condition = built(
            "a tag condition",
            Condition::builder()
                .condition_type(ConditionType::Stringequals)
                .condition_key(&tag.key)
                .condition_value(&tag.value)
                .build(),
        )?;
        let selection = built(
            "a backup selection",
            BackupSelection::builder()
                .selection_name(BACKUP_SELECTION_NAME)
                .iam_role_arn(role_arn)
                .list_of_tags(condition)
                .build(),
        )?;
        let made = self
            .backup
            .create_backup_selection()
            .backup_plan_id(plan_id)
            .backup_selection(selection)
            .send()
            .await;
        match made {
            Ok(out) => Ok((out.selection_id().unwrap_or_default().to_owned(), true)),
            // IAM is eventually consistent: a role made a moment ago may not be usable yet.
            Err(e) if role_is_new && e.code() == Some("InvalidParameterValueException") => {
                Err(StepError::NotReady(format!(
                    "CreateBackupSelection: the backup role {role_arn} is new and not usable yet: {}",
                    e.message().unwrap_or_default()
                )))
            }
            Err(e) => Err(classify("CreateBackupSelection", &e)),
        }
    }
}

impl Backups for AwsBackups {
    async fn backup_state(&self, config: &BackupConfig) -> Result<BackupState, StepError> {
        let role_arn = get_role(&self.iam, &config.role_name)
            .await?
            .filter(|r| service_role::is_ours(r, "backup"))
            .map(|r| r.arn().to_owned());
        let vault = match self
            .backup
            .describe_backup_vault()
            .backup_vault_name(&config.vault_name)
            .send()
            .await
        {
            Ok(_) => true,
            Err(e) if e.code() == Some("ResourceNotFoundException") => false,
            Err(e) => return Err(classify("DescribeBackupVault", &e)),
        };
        let Some((plan_id, _)) = self.find_plan(&config.plan_name).await? else {
            return Ok(BackupState {
                role_arn,
                vault,
                ..BackupState::default()
            });
        };
        let plan_rules = Some(self.plan_rules(&plan_id).await?);
        let selection = match self.our_selections(&plan_id).await?.first() {
            Some(id) => {
                let s = self.selection(&plan_id, id).await?;
                Some((s.tags, s.role_arn))
            }
            None => None,
        };
        Ok(BackupState {
            role_arn,
            vault,
            plan_rules,
            selection,
        })
    }

    async fn ensure_backup(
        &self,
        config: &BackupConfig,
        tags: &BTreeMap<String, String>,
    ) -> Result<BackupRecord, StepError> {
        let tags: HashMap<String, String> = tags.clone().into_iter().collect();
        let mut changed = Vec::new();
        let (role_arn, role_changed) = self.ensure_role(&config.role_name).await?;
        if role_changed {
            changed.push("role".to_owned());
        }
        let (vault_arn, vault_made) = self.ensure_vault(config, &tags).await?;
        if vault_made {
            changed.push("vault".to_owned());
        }
        let (plan_id, plan_arn, plan_changed) = self.ensure_plan(config, &tags).await?;
        if plan_changed {
            changed.push("plan".to_owned());
        }
        let (selection_id, selection_made) = self
            .ensure_selection(&plan_id, config, &role_arn, role_changed)
            .await?;
        if selection_made {
            changed.push("selection".to_owned());
        }
        Ok(BackupRecord {
            vault_arn,
            plan_arn,
            selection_id,
            role_arn,
            changed,
        })
    }
}
