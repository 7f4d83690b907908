//! A fake tenant registry.

use super::{Calls, lock};
use crate::cidr::Ipv4Cidr;
use crate::error::StepError;
use crate::names::TenantId;
use crate::registry::{
    Claim, Lease, Registry, RegistryEntry, RequestRecord, ScopeClaim, Slot, TenantPage, TenantQuery,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// A fake registry with the real one's rules: one lease holder, claims that never overlap,
/// scopes that never overlap, request ids recorded once.
#[derive(Debug, Default)]
pub struct FakeRegistry {
    entries: Mutex<BTreeMap<TenantId, RegistryEntry>>,
    leases: Mutex<BTreeMap<TenantId, String>>,
    claims: Mutex<BTreeMap<Ipv4Cidr, TenantId>>,
    holds: Mutex<BTreeMap<Ipv4Cidr, u64>>,
    scopes: Mutex<BTreeSet<TenantId>>,
    requests: Mutex<BTreeMap<String, RequestRecord>>,
    slots: Mutex<BTreeMap<u32, TenantId>>,
    /// Calls made, and failures to answer with.
    pub calls: Calls,
}

impl FakeRegistry {
    /// The tenant's entry, for assertions.
    pub fn entry(&self, t: &TenantId) -> Option<RegistryEntry> {
        lock(&self.entries).get(t).cloned()
    }

    /// The tenants holding creation slots, for assertions.
    pub fn slot_holders(&self) -> Vec<TenantId> {
        lock(&self.slots).values().cloned().collect()
    }

    /// The execution holding the tenant's lease, for assertions.
    pub fn holder(&self, t: &TenantId) -> Option<String> {
        lock(&self.leases).get(t).cloned()
    }
}

impl Registry for FakeRegistry {
    async fn acquire(&self, tenant: &TenantId, execution: &str) -> Result<Lease, StepError> {
        self.calls.enter("acquire")?;
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
        self.calls.enter("release")?;
        let mut leases = lock(&self.leases);
        if leases.get(tenant).is_some_and(|h| h == execution) {
            leases.remove(tenant);
        }
        Ok(())
    }

    async fn get(&self, tenant: &TenantId) -> Result<Option<RegistryEntry>, StepError> {
        self.calls.enter("get")?;
        Ok(lock(&self.entries).get(tenant).cloned())
    }

    async fn put(&self, entry: &RegistryEntry) -> Result<(), StepError> {
        self.calls.enter("put")?;
        lock(&self.entries).insert(entry.tenant_id.clone(), entry.clone());
        Ok(())
    }

    async fn put_new(&self, entry: &RegistryEntry) -> Result<bool, StepError> {
        self.calls.enter("put_new")?;
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
        self.calls.enter("claim_cidr")?;
        let mut claims = lock(&self.claims);
        let mut holds = lock(&self.holds);
        let now = crate::registry::now_seconds();
        let pieces: Vec<Ipv4Cidr> = cidr.split(unit).collect();
        for p in &pieces {
            let free = holds.get(p).is_some_and(|until| *until <= now);
            if let Some(owner) = claims.get(p).filter(|o| *o != tenant && !free) {
                return Ok(Claim::TakenBy(owner.clone()));
            }
        }
        for p in pieces {
            claims.insert(p, tenant.clone());
            holds.remove(&p);
        }
        Ok(Claim::Claimed)
    }

    async fn hold_cidr(
        &self,
        cidr: Ipv4Cidr,
        unit: u8,
        tenant: &TenantId,
        until: u64,
    ) -> Result<(), StepError> {
        self.calls.enter("hold_cidr")?;
        let claims = lock(&self.claims);
        let mut holds = lock(&self.holds);
        for p in cidr.split(unit) {
            if claims.get(&p) == Some(tenant) {
                holds.insert(p, until);
            }
        }
        Ok(())
    }

    async fn claimed_cidrs(&self) -> Result<Vec<(Ipv4Cidr, TenantId)>, StepError> {
        self.calls.enter("claimed_cidrs")?;
        let holds = lock(&self.holds);
        let now = crate::registry::now_seconds();
        Ok(lock(&self.claims)
            .iter()
            .filter(|(c, _)| holds.get(c).is_none_or(|until| *until > now))
            .map(|(c, t)| (*c, t.clone()))
            .collect())
    }

    async fn claim_scope(&self, tenant: &TenantId) -> Result<ScopeClaim, StepError> {
        self.calls.enter("claim_scope")?;
        let mut scopes = lock(&self.scopes);
        if let Some(other) = scopes
            .iter()
            .find(|other| crate::scope::tenants_overlap(tenant, other))
        {
            return Ok(ScopeClaim::Overlaps(other.clone()));
        }
        scopes.insert(tenant.clone());
        Ok(ScopeClaim::Claimed)
    }

    async fn lease_holder(&self, tenant: &TenantId) -> Result<Option<String>, StepError> {
        self.calls.enter("lease_holder")?;
        Ok(lock(&self.leases).get(tenant).cloned())
    }

    async fn get_request(&self, request_id: &str) -> Result<Option<RequestRecord>, StepError> {
        self.calls.enter("get_request")?;
        Ok(lock(&self.requests).get(request_id).cloned())
    }

    async fn put_request(&self, record: &RequestRecord) -> Result<bool, StepError> {
        self.calls.enter("put_request")?;
        let mut requests = lock(&self.requests);
        if requests.contains_key(&record.request_id) {
            return Ok(false);
        }
        requests.insert(record.request_id.clone(), record.clone());
        Ok(true)
    }

    async fn list(&self, query: &TenantQuery) -> Result<TenantPage, StepError> {
        self.calls.enter("list")?;
        let key = |e: &RegistryEntry| {
            format!(
                "{}#{}",
                e.environment.as_deref().unwrap_or_default(),
                e.tenant_id
            )
        };
        let mut matching: Vec<RegistryEntry> = lock(&self.entries)
            .values()
            .filter(|e| query.admits(e))
            .filter(|e| query.after.as_ref().is_none_or(|after| key(e) > *after))
            .cloned()
            .collect();
        matching.sort_by_key(key);
        let more = matching.len() > query.limit;
        matching.truncate(query.limit);
        let next = more.then(|| matching.last().map(key)).flatten();
        Ok(TenantPage {
            tenants: matching,
            next,
        })
    }

    async fn take_creation_slot(&self, tenant: &TenantId, slots: u32) -> Result<Slot, StepError> {
        self.calls.enter("take_creation_slot")?;
        let mut held = lock(&self.slots);
        if let Some((n, _)) = held.iter().find(|(_, t)| *t == tenant) {
            return Ok(Slot::Taken(*n));
        }
        match (0..slots).find(|n| !held.contains_key(n)) {
            Some(n) => {
                held.insert(n, tenant.clone());
                Ok(Slot::Taken(n))
            }
            None => Ok(Slot::Full(held.values().cloned().collect())),
        }
    }

    async fn release_creation_slot(&self, tenant: &TenantId, slot: u32) -> Result<(), StepError> {
        self.calls.enter("release_creation_slot")?;
        let mut held = lock(&self.slots);
        if held.get(&slot) == Some(tenant) {
            held.remove(&slot);
        }
        Ok(())
    }

    async fn next_attempt(&self, request_id: &str, from: u32) -> Result<bool, StepError> {
        self.calls.enter("next_attempt")?;
        let mut requests = lock(&self.requests);
        match requests.get_mut(request_id) {
            Some(r) if r.attempt == from => {
                r.attempt = from + 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
