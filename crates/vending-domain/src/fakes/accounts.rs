//! Fakes of the member accounts the steps reach: IAM of a tenant account, EKS of the
//! clusters' account, and the `Accounts` port that hands them out (with AWS Backup, `backup`).

use super::network::{FakeHub, FakeNetwork};
use super::{Calls, lock};
use crate::error::StepError;
use crate::ports::{
    AccessEntrySpec, AccessEntryState, Accounts, ClusterAccess, Ensured, Identity, RoleSpec,
};
use crate::request::TENANT_TAG;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct IdentityState {
    roles: BTreeMap<String, RoleSpec>,
    alias: Option<String>,
    /// Policies that exist in the account (customer-managed ARNs); AWS-managed ones always do.
    policies: BTreeSet<String>,
    /// The account, as role ARNs name it (`000000000000` when not given).
    account: Option<String>,
    /// Roles IAM Identity Center made, by permission set name: their full ARNs.
    permission_set_roles: BTreeMap<String, String>,
    /// How many such roles were ever made (each gets a new suffix).
    permission_set_roles_made: u64,
}

/// IAM of one account, in memory. As IAM does, it refuses a boundary that does not exist in
/// the account (`NotReady`: the platform's baseline may not have deployed it yet).
#[derive(Debug, Clone, Default)]
pub struct FakeIdentity {
    state: Arc<Mutex<IdentityState>>,
    /// Calls made, and failures to answer with.
    pub calls: Arc<Calls>,
}

impl FakeIdentity {
    /// An account that holds these customer-managed policies.
    pub fn with_policies(arns: &[&str]) -> FakeIdentity {
        let id = FakeIdentity::default();
        lock(&id.state).policies = arns.iter().map(|a| (*a).to_owned()).collect();
        id
    }

    /// Deploys a customer-managed policy (as a stack set would).
    pub fn add_policy(&self, arn: &str) {
        lock(&self.state).policies.insert(arn.to_owned());
    }

    /// The role, as last written.
    pub fn role(&self, name: &str) -> Option<RoleSpec> {
        lock(&self.state).roles.get(name).cloned()
    }

    /// Changes a role behind the service's back (an account admin's edit).
    pub fn edit_role(&self, name: &str, edit: impl FnOnce(&mut RoleSpec)) {
        if let Some(role) = lock(&self.state).roles.get_mut(name) {
            edit(role);
        }
    }

    /// IAM Identity Center provisions `permission_set` in the account (as a made assignment
    /// does): its `AWSReservedSSO_` role, once, with a suffix never used before. Returns its ARN.
    pub fn provision_permission_set(&self, permission_set: &str) -> String {
        let mut s = lock(&self.state);
        if let Some(arn) = s.permission_set_roles.get(permission_set) {
            return arn.clone();
        }
        s.permission_set_roles_made += 1;
        let arn = format!(
            "arn:aws:iam::{}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_{permission_set}_{:016x}",
            s.account.as_deref().unwrap_or("000000000000"),
            s.permission_set_roles_made
        );
        s.permission_set_roles
            .insert(permission_set.to_owned(), arn.clone());
        arn
    }

    /// The permission set's role goes (its last assignment in the account was removed).
    pub fn unprovision_permission_set(&self, permission_set: &str) {
        lock(&self.state)
            .permission_set_roles
            .remove(permission_set);
    }

    /// The account alias.
    pub fn alias(&self) -> Option<String> {
        lock(&self.state).alias.clone()
    }

    /// Sets the alias (as the account's owners would).
    pub fn set_alias(&self, alias: &str) {
        lock(&self.state).alias = Some(alias.to_owned());
    }
}

impl Identity for FakeIdentity {
    async fn ensure_role(&self, spec: &RoleSpec) -> Result<Ensured, StepError> {
        self.calls.enter("GetRole")?;
        let mut s = lock(&self.state);
        let aws_managed = spec.boundary_arn.contains(":iam::aws:policy/");
        if !aws_managed && !s.policies.contains(&spec.boundary_arn) {
            return Err(StepError::NotReady(format!(
                "the permissions boundary {} does not exist in the account yet",
                spec.boundary_arn
            )));
        }
        if let Some(existing) = s.roles.get(&spec.name)
            && existing.tags.get(TENANT_TAG) != spec.tags.get(TENANT_TAG)
        {
            return Err(StepError::Conflict(format!(
                "role {} is not ours",
                spec.name
            )));
        }
        let created = s.roles.insert(spec.name.clone(), spec.clone()).is_none();
        Ok(Ensured {
            id: format!(
                "arn:aws:iam::{}:role/{}",
                s.account.as_deref().unwrap_or("000000000000"),
                spec.name
            ),
            created,
        })
    }

    async fn role(&self, name: &str) -> Result<Option<RoleSpec>, StepError> {
        self.calls.enter("GetRole")?;
        Ok(lock(&self.state).roles.get(name).cloned().map(|mut r| {
            r.trusted.sort();
            r
        }))
    }

    async fn tenant_roles(&self, tenant: &str) -> Result<Vec<String>, StepError> {
        self.calls.enter("ListRoles")?;
        Ok(lock(&self.state)
            .roles
            .iter()
            .filter(|(name, r)| {
                name.starts_with(&format!("{tenant}-"))
                    && r.tags.get(TENANT_TAG).map(String::as_str) == Some(tenant)
            })
            .map(|(name, _)| name.clone())
            .collect())
    }

    async fn delete_role(&self, name: &str) -> Result<(), StepError> {
        self.calls.enter("DeleteRole")?;
        lock(&self.state).roles.remove(name);
        Ok(())
    }

    async fn ensure_account_alias(&self, alias: &str) -> Result<String, StepError> {
        self.calls.enter("ListAccountAliases")?;
        let mut current = lock(&self.state);
        if let Some(held) = &current.alias {
            return Ok(held.clone());
        }
        current.alias = Some(alias.to_owned());
        Ok(alias.to_owned())
    }

    async fn permission_set_role(&self, permission_set: &str) -> Result<Option<String>, StepError> {
        self.calls.enter("ListRoles")?;
        Ok(lock(&self.state)
            .permission_set_roles
            .get(permission_set)
            .cloned())
    }

    async fn remove_account_alias(&self, alias: &str) -> Result<bool, StepError> {
        self.calls.enter("DeleteAccountAlias")?;
        let mut current = lock(&self.state);
        if current.alias.as_deref() == Some(alias) {
            current.alias = None;
            return Ok(true);
        }
        Ok(false)
    }
}

/// EKS of the clusters' account, in memory: access entries by cluster and principal.
#[derive(Debug, Clone, Default)]
pub struct FakeClusters {
    entries: Arc<Mutex<BTreeMap<(String, String), AccessEntrySpec>>>,
    /// Calls made, and failures to answer with.
    pub calls: Arc<Calls>,
}

impl FakeClusters {
    /// Every access entry, by cluster and principal.
    pub fn entries(&self) -> BTreeMap<(String, String), AccessEntrySpec> {
        lock(&self.entries).clone()
    }
}

impl ClusterAccess for FakeClusters {
    async fn ensure_access_entry(&self, spec: &AccessEntrySpec) -> Result<Ensured, StepError> {
        self.calls.enter("DescribeAccessEntry")?;
        let key = (spec.cluster.clone(), spec.principal_arn.clone());
        let mut entries = lock(&self.entries);
        if let Some(held) = entries.get(&key)
            && held.tags.get(TENANT_TAG) != spec.tags.get(TENANT_TAG)
        {
            return Err(StepError::Conflict(format!(
                "{} already has an access entry on {}",
                spec.principal_arn, spec.cluster
            )));
        }
        let created = entries.insert(key, spec.clone()).is_none();
        Ok(Ensured {
            id: format!(
                "arn:aws:eks:eu-west-1:000000000000:access-entry/{}/{}",
                spec.cluster,
                spec.principal_arn.rsplit('/').next().unwrap_or_default()
            ),
            created,
        })
    }

    async fn access_entries(
        &self,
        cluster: &str,
        account_id: &str,
    ) -> Result<Vec<AccessEntryState>, StepError> {
        self.calls.enter("ListAccessEntries")?;
        Ok(lock(&self.entries)
            .iter()
            .filter(|((c, principal), _)| {
                c == cluster && principal.split(':').nth(4) == Some(account_id)
            })
            .map(|((_, principal), spec)| AccessEntryState {
                principal_arn: principal.clone(),
                kubernetes_groups: spec.kubernetes_groups.clone(),
                policies: BTreeMap::from([(
                    spec.access_policy_arn.clone(),
                    spec.namespaces.clone(),
                )]),
                tags: spec.tags.clone(),
            })
            .collect())
    }

    async fn remove_access_entry(
        &self,
        cluster: &str,
        principal_arn: &str,
    ) -> Result<(), StepError> {
        self.calls.enter("DeleteAccessEntry")?;
        lock(&self.entries).remove(&(cluster.to_owned(), principal_arn.to_owned()));
        Ok(())
    }
}

impl FakeClusters {
    /// Makes an access entry behind the service's back (as a cluster admin would).
    pub fn insert(&self, spec: AccessEntrySpec) {
        lock(&self.entries).insert((spec.cluster.clone(), spec.principal_arn.clone()), spec);
    }
}

/// The member accounts, in memory: one network per (account, region), one IAM per account,
/// one hub and one EKS for all. `deny` makes AssumeRole into an account refused.
#[derive(Debug, Default)]
pub struct FakeAccounts {
    networks: Mutex<BTreeMap<(String, String), FakeNetwork>>,
    identities: Mutex<BTreeMap<String, FakeIdentity>>,
    backups: Mutex<BTreeMap<String, super::FakeBackups>>,
    recordings: Mutex<BTreeMap<String, super::FakeRecording>>,
    /// The network account's transit gateway hub.
    pub hub: FakeHub,
    /// The clusters' EKS.
    pub clusters: FakeClusters,
    denied: Mutex<BTreeSet<String>>,
    /// The customer-managed policies every new account's IAM holds (the platform baseline).
    pub baseline_policies: Vec<String>,
    /// Calls made (`AssumeRole` per account), and failures to answer with.
    pub calls: Calls,
}

impl FakeAccounts {
    /// Accounts whose baseline holds these policies.
    pub fn with_baseline(policies: &[&str]) -> FakeAccounts {
        FakeAccounts {
            baseline_policies: policies.iter().map(|p| (*p).to_owned()).collect(),
            ..FakeAccounts::default()
        }
    }

    /// The account's EC2 in `region`.
    pub fn network_of(&self, account: &str, region: &str) -> FakeNetwork {
        lock(&self.networks)
            .entry((account.to_owned(), region.to_owned()))
            .or_default()
            .clone()
    }

    /// The account's IAM.
    pub fn identity_of(&self, account: &str) -> FakeIdentity {
        let baseline: Vec<&str> = self.baseline_policies.iter().map(String::as_str).collect();
        lock(&self.identities)
            .entry(account.to_owned())
            .or_insert_with(|| {
                let identity = FakeIdentity::with_policies(&baseline);
                lock(&identity.state).account = Some(account.to_owned());
                identity
            })
            .clone()
    }

    /// The account's AWS Backup.
    pub fn backups_of(&self, account: &str) -> super::FakeBackups {
        lock(&self.backups)
            .entry(account.to_owned())
            .or_insert_with(|| super::FakeBackups::of(account))
            .clone()
    }

    /// The account's AWS Config and CloudTrail.
    pub fn recording_of(&self, account: &str) -> super::FakeRecording {
        lock(&self.recordings)
            .entry(account.to_owned())
            .or_insert_with(|| super::FakeRecording::of(account))
            .clone()
    }

    /// Makes AssumeRole into `account` refused.
    pub fn deny(&self, account: &str) {
        lock(&self.denied).insert(account.to_owned());
    }

    fn assume(&self, account: &str) -> Result<(), StepError> {
        self.calls.enter(&format!("AssumeRole {account}"))?;
        if lock(&self.denied).contains(account) {
            return Err(StepError::AccessDenied(format!(
                "sts:AssumeRole of the member role in {account} was refused"
            )));
        }
        Ok(())
    }
}

impl Accounts for FakeAccounts {
    type Network = FakeNetwork;
    type Hub = FakeHub;
    type Identity = FakeIdentity;
    type Clusters = FakeClusters;
    type Backups = super::FakeBackups;
    type Recording = super::FakeRecording;

    async fn network(
        &self,
        account_id: &str,
        region: &str,
        _session: &str,
    ) -> Result<FakeNetwork, StepError> {
        self.assume(account_id)?;
        Ok(self.network_of(account_id, region))
    }

    async fn hub(
        &self,
        account_id: &str,
        _region: &str,
        _session: &str,
    ) -> Result<FakeHub, StepError> {
        self.assume(account_id)?;
        Ok(self.hub.clone())
    }

    async fn identity(&self, account_id: &str, _session: &str) -> Result<FakeIdentity, StepError> {
        self.assume(account_id)?;
        Ok(self.identity_of(account_id))
    }

    async fn backups(
        &self,
        account_id: &str,
        _region: &str,
        _session: &str,
    ) -> Result<super::FakeBackups, StepError> {
        self.assume(account_id)?;
        Ok(self.backups_of(account_id))
    }

    async fn recording(
        &self,
        account_id: &str,
        _region: &str,
        _session: &str,
    ) -> Result<super::FakeRecording, StepError> {
        self.assume(account_id)?;
        Ok(self.recording_of(account_id))
    }

    async fn clusters(
        &self,
        account_id: &str,
        _region: &str,
        _session: &str,
    ) -> Result<FakeClusters, StepError> {
        self.assume(account_id)?;
        Ok(self.clusters.clone())
    }
}
