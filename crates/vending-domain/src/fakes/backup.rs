//! A fake of AWS Backup in one tenant account: its vault, plans by name, each plan's one
//! selection, and the role AWS Backup assumes.

use super::{Calls, lock};
use crate::config::{BackupConfig, BackupRule, SelectionTag};
use crate::error::StepError;
use crate::ports::{BackupRecord, BackupState, Backups};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct Account {
    role: Option<String>,
    vaults: BTreeMap<String, String>,
    /// Plans by name: (id, rules, the selection's tag and role, if it has one).
    plans: BTreeMap<String, FakePlan>,
    made: u64,
}

#[derive(Debug, Clone)]
struct FakePlan {
    id: String,
    rules: Vec<BackupRule>,
    selection: Option<(String, SelectionTag, String)>,
}

/// AWS Backup of one account, in memory.
#[derive(Debug, Clone, Default)]
pub struct FakeBackups {
    state: Arc<Mutex<Account>>,
    /// The account, as ARNs name it.
    pub account: String,
    /// Calls made, and failures to answer with.
    pub calls: Arc<Calls>,
}

impl FakeBackups {
    /// AWS Backup of `account`, with nothing in it.
    pub fn of(account: &str) -> FakeBackups {
        FakeBackups {
            account: account.to_owned(),
            ..FakeBackups::default()
        }
    }

    /// The rules of the plan `name`, if there is one.
    pub fn plan_rules(&self, name: &str) -> Option<Vec<BackupRule>> {
        lock(&self.state).plans.get(name).map(|p| p.rules.clone())
    }

    /// The tag condition of `plan`'s selection, if it has one.
    pub fn selection_tag(&self, plan: &str) -> Option<SelectionTag> {
        let s = lock(&self.state);
        s.plans
            .get(plan)?
            .selection
            .as_ref()
            .map(|(_, t, _)| t.clone())
    }

    /// Deletes the plan's selection (an account admin's doing).
    pub fn delete_selection(&self, plan: &str) {
        if let Some(p) = lock(&self.state).plans.get_mut(plan) {
            p.selection = None;
        }
    }

    /// Deletes the plan and its selection (an account admin's doing).
    pub fn delete_plan(&self, name: &str) {
        lock(&self.state).plans.remove(name);
    }

    /// Changes a plan's rules behind the service's back.
    pub fn edit_rules(&self, name: &str, edit: impl FnOnce(&mut Vec<BackupRule>)) {
        if let Some(p) = lock(&self.state).plans.get_mut(name) {
            edit(&mut p.rules);
        }
    }
}

impl Backups for FakeBackups {
    async fn backup_state(&self, config: &BackupConfig) -> Result<BackupState, StepError> {
        self.calls.enter("BackupState")?;
        let s = lock(&self.state);
        let plan = s.plans.get(&config.plan_name);
        Ok(BackupState {
            role_arn: s.role.clone(),
            vault: s.vaults.contains_key(&config.vault_name),
            plan_rules: plan.map(|p| {
                p.rules
                    .iter()
                    .map(|r| (r.clone(), config.vault_name.clone()))
                    .collect()
            }),
            selection: plan
                .and_then(|p| p.selection.as_ref())
                .map(|(_, tag, role)| (vec![tag.clone()], role.clone())),
        })
    }

    async fn ensure_backup(
        &self,
        config: &BackupConfig,
        _tags: &BTreeMap<String, String>,
    ) -> Result<BackupRecord, StepError> {
        self.calls.enter("EnsureBackup")?;
        let account = &self.account;
        let mut s = lock(&self.state);
        let mut changed = Vec::new();
        let role_arn = config.role_arn("aws", account);
        if s.role.as_deref() != Some(&role_arn) {
            s.role = Some(role_arn.clone());
            changed.push("role".to_owned());
        }
        if !s.vaults.contains_key(&config.vault_name) {
            let arn = format!(
                "arn:aws:backup:eu-west-1:{account}:backup-vault:{}",
                config.vault_name
            );
            s.vaults.insert(config.vault_name.clone(), arn);
            changed.push("vault".to_owned());
        }
        s.made += 1;
        let fresh = format!("{:08x}-0000-4000-8000-{:012x}", s.made, s.made);
        let plan = s
            .plans
            .entry(config.plan_name.clone())
            .or_insert_with(|| FakePlan {
                id: fresh.clone(),
                rules: Vec::new(),
                selection: None,
            });
        if plan.rules != config.rules {
            plan.rules = config.rules.clone();
            changed.push("plan".to_owned());
        }
        let wanted = (config.selection_tag.clone(), role_arn.clone());
        let same = plan
            .selection
            .as_ref()
            .is_some_and(|(_, t, r)| (t, r) == (&wanted.0, &wanted.1));
        if !same {
            plan.selection = Some((format!("sel-{fresh}"), wanted.0, wanted.1));
            changed.push("selection".to_owned());
        }
        let plan_arn = format!("arn:aws:backup:eu-west-1:{account}:backup-plan:{}", plan.id);
        let selection_id = plan
            .selection
            .as_ref()
            .map(|(id, _, _)| id.clone())
            .unwrap_or_default();
        Ok(BackupRecord {
            vault_arn: s.vaults[&config.vault_name].clone(),
            plan_arn,
            selection_id,
            role_arn,
            changed,
        })
    }
}
