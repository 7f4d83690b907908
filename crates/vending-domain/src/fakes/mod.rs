//! In-memory fakes of the ports, for handler tests (feature `fakes`). They keep state like the
//! real services do, count calls, and can be told to fail.

use crate::cidr::Ipv4Cidr;
use crate::error::StepError;
use crate::names::TenantId;
use crate::ports::{
    AccountInfo, Claim, CreateAccountState, Ensured, Identity, Lease, Organization, Registry,
    RegistryEntry, RoleSpec, Workflow,
};
use crate::request::TENANT_TAG;
use std::collections::BTreeMap;
use std::sync::Mutex;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An account of the fake organization: what it is, its parent, its tags.
type FakeAccount = (AccountInfo, String, BTreeMap<String, String>);

/// An account being created in the fake organization.
#[derive(Debug, Clone)]
struct Creation {
    name: String,
    email: String,
    tags: BTreeMap<String, String>,
    polls_left: u32,
    account_id: Option<String>,
}

/// A fake AWS Organizations: accounts, parents, tags, creations that need `polls` polls.
#[derive(Debug, Default)]
pub struct FakeOrganization {
    accounts: Mutex<BTreeMap<String, FakeAccount>>,
    creations: Mutex<BTreeMap<String, Creation>>,
    /// How many polls a creation stays in progress.
    pub polls: u32,
    /// Calls made, by operation name.
    pub calls: Mutex<Vec<String>>,
    /// Errors to return, by operation name (each used once).
    pub failures: Mutex<BTreeMap<String, Vec<StepError>>>,
}

impl FakeOrganization {
    /// An organization whose root is `r-root`.
    pub fn new(polls: u32) -> FakeOrganization {
        FakeOrganization {
            polls,
            ..FakeOrganization::default()
        }
    }

    /// Adds an existing account under the root.
    pub fn add_account(&self, id: &str, name: &str, email: &str, tags: BTreeMap<String, String>) {
        let info = AccountInfo {
            id: id.into(),
            name: name.into(),
            email: email.into(),
            status: "ACTIVE".into(),
        };
        lock(&self.accounts).insert(id.into(), (info, "r-root".into(), tags));
    }

    /// Makes the next call of `op` fail with `err`.
    pub fn fail_next(&self, op: &str, err: StepError) {
        lock(&self.failures).entry(op.into()).or_default().push(err);
    }

    /// How many times `op` was called.
    pub fn count(&self, op: &str) -> usize {
        lock(&self.calls).iter().filter(|c| *c == op).count()
    }

    /// The account's parent and tags.
    pub fn placement(&self, id: &str) -> Option<(String, BTreeMap<String, String>)> {
        lock(&self.accounts)
            .get(id)
            .map(|(_, p, t)| (p.clone(), t.clone()))
    }

    fn enter(&self, op: &str) -> Result<(), StepError> {
        lock(&self.calls).push(op.into());
        match lock(&self.failures).get_mut(op).and_then(Vec::pop) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Organization for FakeOrganization {
    async fn find_account_by_email(&self, email: &str) -> Result<Option<AccountInfo>, StepError> {
        self.enter("ListAccounts")?;
        Ok(lock(&self.accounts)
            .values()
            .find(|(a, _, _)| a.email == email)
            .map(|(a, _, _)| a.clone()))
    }

    async fn describe_account(&self, account_id: &str) -> Result<Option<AccountInfo>, StepError> {
        self.enter("DescribeAccount")?;
        Ok(lock(&self.accounts)
            .get(account_id)
            .map(|(a, _, _)| a.clone()))
    }

    async fn create_account(
        &self,
        email: &str,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, StepError> {
        self.enter("CreateAccount")?;
        let mut creations = lock(&self.creations);
        let id = format!("car-{:04}", creations.len() + 1);
        creations.insert(
            id.clone(),
            Creation {
                name: name.into(),
                email: email.into(),
                tags: tags.clone(),
                polls_left: self.polls,
                account_id: None,
            },
        );
        Ok(id)
    }

    async fn find_create_request(&self, account_name: &str) -> Result<Option<String>, StepError> {
        self.enter("ListCreateAccountStatus")?;
        Ok(lock(&self.creations)
            .iter()
            .find(|(_, c)| c.name == account_name)
            .map(|(id, _)| id.clone()))
    }

    async fn create_account_state(
        &self,
        request_id: &str,
    ) -> Result<CreateAccountState, StepError> {
        self.enter("DescribeCreateAccountStatus")?;
        let mut creations = lock(&self.creations);
        let c = creations
            .get_mut(request_id)
            .ok_or_else(|| StepError::Internal(format!("no creation {request_id}")))?;
        if c.polls_left > 0 {
            c.polls_left -= 1;
            return Ok(CreateAccountState::InProgress);
        }
        if c.account_id.is_none() {
            let id = format!(
                "{:012}",
                100_000_000_000u64 + lock(&self.accounts).len() as u64
            );
            c.account_id = Some(id.clone());
            let info = AccountInfo {
                id: id.clone(),
                name: c.name.clone(),
                email: c.email.clone(),
                status: "ACTIVE".into(),
            };
            lock(&self.accounts).insert(id, (info, "r-root".into(), c.tags.clone()));
        }
        Ok(CreateAccountState::Succeeded {
            account_id: c.account_id.clone().unwrap_or_default(),
        })
    }

    async fn parent_of(&self, account_id: &str) -> Result<String, StepError> {
        self.enter("ListParents")?;
        lock(&self.accounts)
            .get(account_id)
            .map(|(_, p, _)| p.clone())
            .ok_or_else(|| StepError::Internal(format!("no account {account_id}")))
    }

    async fn move_account(&self, account_id: &str, from: &str, to: &str) -> Result<(), StepError> {
        self.enter("MoveAccount")?;
        let mut accounts = lock(&self.accounts);
        let a = accounts
            .get_mut(account_id)
            .ok_or_else(|| StepError::Internal(format!("no account {account_id}")))?;
        if a.1 != from {
            return Err(StepError::Internal(format!(
                "{account_id} is not in {from}"
            )));
        }
        a.1 = to.into();
        Ok(())
    }

    async fn account_tags(&self, account_id: &str) -> Result<BTreeMap<String, String>, StepError> {
        self.enter("ListTagsForResource")?;
        Ok(lock(&self.accounts)
            .get(account_id)
            .map(|(_, _, t)| t.clone())
            .unwrap_or_default())
    }

    async fn tag_account(
        &self,
        account_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), StepError> {
        self.enter("TagResource")?;
        if let Some(a) = lock(&self.accounts).get_mut(account_id) {
            a.2.extend(tags.clone());
        }
        Ok(())
    }
}

/// A fake registry.
#[derive(Debug, Default)]
pub struct FakeRegistry {
    entries: Mutex<BTreeMap<TenantId, RegistryEntry>>,
    leases: Mutex<BTreeMap<TenantId, String>>,
    claims: Mutex<BTreeMap<Ipv4Cidr, TenantId>>,
}

impl FakeRegistry {
    /// The tenant's entry, for assertions.
    pub fn entry(&self, t: &TenantId) -> Option<RegistryEntry> {
        lock(&self.entries).get(t).cloned()
    }
}

impl Registry for FakeRegistry {
    async fn acquire(&self, tenant: &TenantId, execution: &str) -> Result<Lease, StepError> {
        let mut leases = lock(&self.leases);
        match leases.get(tenant) {
            Some(holder) if holder != execution => Ok(Lease::HeldBy(holder.clone())),
            _ => {
                leases.insert(tenant.clone(), execution.to_owned());
                Ok(Lease::Acquired)
            }
        }
    }

    async fn release(&self, tenant: &TenantId, execution: &str) -> Result<(), StepError> {
        let mut leases = lock(&self.leases);
        if leases.get(tenant).is_some_and(|h| h == execution) {
            leases.remove(tenant);
        }
        Ok(())
    }

    async fn get(&self, tenant: &TenantId) -> Result<Option<RegistryEntry>, StepError> {
        Ok(lock(&self.entries).get(tenant).cloned())
    }

    async fn put(&self, entry: &RegistryEntry) -> Result<(), StepError> {
        lock(&self.entries).insert(entry.tenant_id.clone(), entry.clone());
        Ok(())
    }

    async fn put_new(&self, entry: &RegistryEntry) -> Result<bool, StepError> {
        let mut entries = lock(&self.entries);
        if entries.contains_key(&entry.tenant_id) {
            return Ok(false);
        }
        entries.insert(entry.tenant_id.clone(), entry.clone());
        Ok(true)
    }

    async fn claim_cidr(
        &self,
        cidr: Ipv4Cidr,
        unit: u8,
        tenant: &TenantId,
    ) -> Result<Claim, StepError> {
        let mut claims = lock(&self.claims);
        let pieces: Vec<Ipv4Cidr> = cidr.split(unit).collect();
        for p in &pieces {
            if let Some(owner) = claims.get(p).filter(|o| *o != tenant) {
                return Ok(Claim::TakenBy(owner.clone()));
            }
        }
        for p in pieces {
            claims.insert(p, tenant.clone());
        }
        Ok(Claim::Claimed)
    }

    async fn claimed_cidrs(&self) -> Result<Vec<(Ipv4Cidr, TenantId)>, StepError> {
        Ok(lock(&self.claims)
            .iter()
            .map(|(c, t)| (*c, t.clone()))
            .collect())
    }
}

/// A fake IAM of one account: roles by name and the account alias.
#[derive(Debug, Default)]
pub struct FakeIdentity {
    roles: Mutex<BTreeMap<String, RoleSpec>>,
    alias: Mutex<Option<String>>,
}

impl FakeIdentity {
    /// The role, as last written.
    pub fn role(&self, name: &str) -> Option<RoleSpec> {
        lock(&self.roles).get(name).cloned()
    }

    /// The account alias.
    pub fn alias(&self) -> Option<String> {
        lock(&self.alias).clone()
    }
}

impl Identity for FakeIdentity {
    async fn ensure_role(&self, spec: &RoleSpec) -> Result<Ensured, StepError> {
        let mut roles = lock(&self.roles);
        if let Some(existing) = roles.get(&spec.name)
            && existing.tags.get(TENANT_TAG) != spec.tags.get(TENANT_TAG)
        {
            return Err(StepError::Conflict(format!(
                "role {} is not ours",
                spec.name
            )));
        }
        let created = roles.insert(spec.name.clone(), spec.clone()).is_none();
        Ok(Ensured {
            id: format!("arn:aws:iam::000000000000:role/{}", spec.name),
            created,
        })
    }

    async fn ensure_account_alias(&self, alias: &str) -> Result<bool, StepError> {
        let mut current = lock(&self.alias);
        if current.is_some() {
            return Ok(false);
        }
        *current = Some(alias.to_owned());
        Ok(true)
    }
}

/// A fake Step Functions: executions by name.
#[derive(Debug, Default)]
pub struct FakeWorkflow {
    started: Mutex<BTreeMap<String, serde_json::Value>>,
}

impl FakeWorkflow {
    /// The executions started, by name, with their input.
    pub fn started(&self) -> BTreeMap<String, serde_json::Value> {
        lock(&self.started).clone()
    }
}

impl Workflow for FakeWorkflow {
    async fn start(&self, name: &str, input: &serde_json::Value) -> Result<String, StepError> {
        lock(&self.started)
            .entry(name.to_owned())
            .or_insert_with(|| input.clone());
        Ok(format!(
            "arn:aws:states:eu-west-1:000000000000:execution:tenant-vending:{name}"
        ))
    }
}

/// A fake event bus: keeps every event.
#[derive(Debug, Default)]
pub struct FakeBus {
    events: Mutex<Vec<(String, serde_json::Value)>>,
}

impl FakeBus {
    /// Every event put so far, in order.
    pub fn events(&self) -> Vec<(String, serde_json::Value)> {
        lock(&self.events).clone()
    }
}

impl crate::ports::EventBus for FakeBus {
    async fn put(&self, detail_type: &str, detail: &serde_json::Value) -> Result<(), StepError> {
        lock(&self.events).push((detail_type.to_owned(), detail.clone()));
        Ok(())
    }
}

/// A fake GitOps destination with the real ones' rules: unchanged bytes are not written, a
/// lower generation is refused. It keeps the files by path and counts writes ("commits").
#[derive(Debug, Default)]
pub struct FakeDestination {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
    writes: Mutex<usize>,
    fail_next: Mutex<Option<StepError>>,
}

impl FakeDestination {
    /// The files held.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        lock(&self.files).clone()
    }

    /// How many publications changed something.
    pub fn writes(&self) -> usize {
        *lock(&self.writes)
    }

    /// Makes the next publication fail with `err` (an unreachable remote, say).
    pub fn fail_next(&self, err: StepError) {
        *lock(&self.fail_next) = Some(err);
    }
}

impl crate::ports::ManifestDestination for FakeDestination {
    async fn publish(
        &self,
        bundle: &crate::ports::ManifestBundle,
    ) -> Result<crate::ports::Publication, StepError> {
        if let Some(err) = lock(&self.fail_next).take() {
            return Err(err);
        }
        let mut files = lock(&self.files);
        if let Some(held) = files
            .get(&bundle.record.path)
            .and_then(|b| crate::ports::stored_generation(b))
            && held > bundle.generation
        {
            return Err(crate::ports::stale(bundle, held));
        }
        let mut next = files.clone();
        next.retain(|path, _| !path.starts_with(&format!("{}/", bundle.tenant_dir)));
        for f in bundle.manifests.iter().chain([&bundle.record]) {
            next.insert(f.path.clone(), f.bytes.clone());
        }
        if next == *files {
            return Ok(crate::ports::Publication::Unchanged {
                revision: "fake".into(),
            });
        }
        *files = next;
        *lock(&self.writes) += 1;
        Ok(crate::ports::Publication::Written {
            revision: format!("fake-{}", lock(&self.writes)),
        })
    }
}

/// The repository's example platform config (`infra/platform-config.json`), for handler tests.
pub fn example_config() -> crate::PlatformConfig {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/platform-config.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    crate::PlatformConfig::from_json(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}
