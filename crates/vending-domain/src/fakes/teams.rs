//! A fake of IAM Identity Center: groups and permission sets by name, and account assignments
//! made in the background, as the sandbox serves them (listed once made, never twice).

use super::accounts::FakeIdentity;
use super::{Calls, lock};
use crate::error::StepError;
use crate::ports::{AssignmentStatus, TeamAccess};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// (account, permission set ARN, group id).
type Key = (String, String, String);

#[derive(Debug, Default)]
struct State {
    groups: BTreeMap<String, String>,
    permission_sets: BTreeMap<String, String>,
    assignments: BTreeSet<Key>,
    /// Request id -> (polls still answered IN_PROGRESS, what it assigns).
    pending: BTreeMap<String, (u32, Key)>,
    done: BTreeMap<String, AssignmentStatus>,
    requests: u64,
    /// Accounts whose IAM receives the permission sets' roles.
    accounts: BTreeMap<String, FakeIdentity>,
    /// Requests that fail, by group id, with the reason.
    failing: BTreeMap<String, String>,
}

/// IAM Identity Center, in memory: an assignment answers IN_PROGRESS and takes `polls` status
/// reads to succeed; a made assignment provisions its permission set's role in the account's
/// linked `FakeIdentity`.
#[derive(Debug, Clone, Default)]
pub struct FakeTeamAccess {
    state: Arc<Mutex<State>>,
    polls: u32,
    /// Calls made, and failures to answer with.
    pub calls: Arc<Calls>,
}

impl FakeTeamAccess {
    /// Assignments that take `polls` status reads to succeed.
    pub fn new(polls: u32) -> FakeTeamAccess {
        FakeTeamAccess {
            polls,
            ..FakeTeamAccess::default()
        }
    }

    /// A group of the identity store; returns its id.
    pub fn add_group(&self, name: &str) -> String {
        let mut s = lock(&self.state);
        let id = format!("9067{:06x}-group-{}", s.groups.len(), name.len());
        s.groups.insert(name.to_owned(), id.clone());
        id
    }

    /// A permission set of the instance; returns its ARN.
    pub fn add_permission_set(&self, name: &str) -> String {
        let mut s = lock(&self.state);
        let arn = format!(
            "arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-{:016x}",
            s.permission_sets.len() + 1
        );
        s.permission_sets.insert(name.to_owned(), arn.clone());
        arn
    }

    /// Made assignments go to this account's IAM.
    pub fn link(&self, account: &str, identity: FakeIdentity) {
        lock(&self.state)
            .accounts
            .insert(account.to_owned(), identity);
    }

    /// Assignments of this group fail with `reason`.
    pub fn fail_group(&self, group_id: &str, reason: &str) {
        lock(&self.state)
            .failing
            .insert(group_id.to_owned(), reason.to_owned());
    }

    /// The made assignments: (account, permission set ARN, group id).
    pub fn assignments(&self) -> BTreeSet<(String, String, String)> {
        lock(&self.state).assignments.clone()
    }

    /// Removes an assignment behind the service's back; the permission set's role goes with
    /// the set's last assignment in the account, as in IAM Identity Center.
    pub fn remove(&self, account: &str, permission_set_arn: &str, group_id: &str) {
        let mut s = lock(&self.state);
        s.assignments.remove(&(
            account.to_owned(),
            permission_set_arn.to_owned(),
            group_id.to_owned(),
        ));
        let last = !s
            .assignments
            .iter()
            .any(|(a, p, _)| a == account && p == permission_set_arn);
        let name = s
            .permission_sets
            .iter()
            .find(|(_, arn)| *arn == permission_set_arn)
            .map(|(n, _)| n.clone());
        if let (true, Some(name), Some(identity)) = (last, name, s.accounts.get(account)) {
            identity.unprovision_permission_set(&name);
        }
    }

    fn complete(s: &mut State, key: &Key) {
        s.assignments.insert(key.clone());
        let name = s
            .permission_sets
            .iter()
            .find(|(_, arn)| **arn == key.1)
            .map(|(n, _)| n.clone());
        if let (Some(name), Some(identity)) = (name, s.accounts.get(&key.0)) {
            identity.provision_permission_set(&name);
        }
    }
}

impl TeamAccess for FakeTeamAccess {
    async fn group_id(&self, display_name: &str) -> Result<Option<String>, StepError> {
        self.calls.enter("GetGroupId")?;
        Ok(lock(&self.state).groups.get(display_name).cloned())
    }

    async fn permission_set_arn(&self, name: &str) -> Result<Option<String>, StepError> {
        self.calls.enter("ListPermissionSets")?;
        Ok(lock(&self.state).permission_sets.get(name).cloned())
    }

    async fn assigned_groups(
        &self,
        account_id: &str,
        permission_set_arn: &str,
    ) -> Result<Vec<String>, StepError> {
        self.calls.enter("ListAccountAssignments")?;
        Ok(lock(&self.state)
            .assignments
            .iter()
            .filter(|(a, p, _)| a == account_id && p == permission_set_arn)
            .map(|(_, _, g)| g.clone())
            .collect())
    }

    async fn assign(
        &self,
        account_id: &str,
        permission_set_arn: &str,
        group_id: &str,
    ) -> Result<AssignmentStatus, StepError> {
        self.calls.enter("CreateAccountAssignment")?;
        let mut s = lock(&self.state);
        if !s.permission_sets.values().any(|a| a == permission_set_arn) {
            return Err(StepError::Internal(format!(
                "no permission set {permission_set_arn}"
            )));
        }
        s.requests += 1;
        let request_id = format!("req-{:08}", s.requests);
        let key = (
            account_id.to_owned(),
            permission_set_arn.to_owned(),
            group_id.to_owned(),
        );
        s.pending.insert(request_id.clone(), (self.polls, key));
        Ok(AssignmentStatus::InProgress { request_id })
    }

    async fn assignment_status(&self, request_id: &str) -> Result<AssignmentStatus, StepError> {
        self.calls
            .enter("DescribeAccountAssignmentCreationStatus")?;
        let mut s = lock(&self.state);
        if let Some(done) = s.done.get(request_id) {
            return Ok(done.clone());
        }
        let Some((left, key)) = s.pending.get_mut(request_id) else {
            return Err(StepError::Internal(format!("no request {request_id}")));
        };
        if *left > 0 {
            *left -= 1;
            return Ok(AssignmentStatus::InProgress {
                request_id: request_id.to_owned(),
            });
        }
        let key = key.clone();
        s.pending.remove(request_id);
        let status = match s.failing.get(&key.2) {
            Some(reason) => AssignmentStatus::Failed {
                reason: reason.clone(),
            },
            None => {
                FakeTeamAccess::complete(&mut s, &key);
                AssignmentStatus::Succeeded
            }
        };
        s.done.insert(request_id.to_owned(), status.clone());
        Ok(status)
    }
}
