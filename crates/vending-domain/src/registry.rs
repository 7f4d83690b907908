//! The tenant registry (a DynamoDB table in AWS): its entities and its port. One execution
//! works on a tenant at a time (the lease); VPC blocks and namespace scopes are claimed with
//! conditional writes, so two tenants never hold overlapping ones; portal requests are kept by
//! id, so a request id always means the same request.

use crate::cidr::Ipv4Cidr;
use crate::error::StepError;
use crate::names::TenantId;
use crate::request::TenantSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The outcome of claiming a CIDR block for a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The block is the tenant's (newly, or already).
    Claimed,
    /// Another tenant holds it.
    TakenBy(TenantId),
}

/// The lifecycle of a tenant in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TenantStatus {
    /// Accepted, not yet provisioned.
    Requested,
    /// Steps are running.
    Provisioning,
    /// Handed off.
    Ready,
    /// A step failed; see the failure.
    Failed,
    /// Offboarding: phase one done, waiting out the grace period (or in phase two).
    Offboarding,
    /// Offboarded (phase two done).
    Closed,
}

impl TenantStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [TenantStatus; 6] = [
        TenantStatus::Requested,
        TenantStatus::Provisioning,
        TenantStatus::Ready,
        TenantStatus::Failed,
        TenantStatus::Offboarding,
        TenantStatus::Closed,
    ];

    /// The status as the API writes it (`READY`).
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Requested => "REQUESTED",
            TenantStatus::Provisioning => "PROVISIONING",
            TenantStatus::Ready => "READY",
            TenantStatus::Failed => "FAILED",
            TenantStatus::Offboarding => "OFFBOARDING",
            TenantStatus::Closed => "CLOSED",
        }
    }

    /// The status a text names, in any case (`ready`, `READY`).
    pub fn parse(text: &str) -> Option<TenantStatus> {
        TenantStatus::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
    }
}

/// Why a tenant's vending failed, as the failure recorder stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FailureInfo {
    /// The step that failed.
    pub step: String,
    /// The error name.
    pub error: String,
    /// The cause.
    pub cause: String,
}

/// A tenant's row in the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryEntry {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The request that created or last changed it.
    pub request_id: String,
    /// Its environment, once a request named it (how `GET /tenants` lists by environment).
    #[serde(default)]
    pub environment: Option<String>,
    /// The tenant's own tags, as its request asked (how `GET /tenants` selects by tag).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Where it stands.
    pub status: TenantStatus,
    /// The CreateAccount request id, saved before polling.
    pub create_account_request_id: Option<String>,
    /// The account, once known.
    pub account_id: Option<String>,
    /// The VPC block claimed for it.
    pub cidr: Option<Ipv4Cidr>,
    /// The last failure, when `status` is `Failed`.
    pub failure: Option<FailureInfo>,
    /// CreateAccount calls made for the tenant (a creation that ends in
    /// CONCURRENT_ACCOUNT_MODIFICATION is started again, a bounded number of times).
    #[serde(default)]
    pub create_attempts: u32,
    /// The account-creation slot the tenant holds while its account is being created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_slot: Option<u32>,
    /// How many times in a row the tenant was told to wait for a slot (its backoff).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub queued: u32,
    /// The tenant record handed off (its serialized form, stable bytes).
    pub record: Option<String>,
    /// The offboarding under way or done, while the tenant is `Offboarding` or `Closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offboarding: Option<Offboarding>,
    /// The tenant's accounts closed by earlier offboardings (a tenant requested again after
    /// closure gets a new account), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closed_accounts: Vec<String>,
}

/// An offboarding, as the registry keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Offboarding {
    /// The execution of the offboarding workflow: only it may run phase two.
    pub execution: String,
    /// Whether phase two closes the account (the explicit flag).
    pub close_account: bool,
    /// Why (free text from the caller), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the grace period ends (seconds since the epoch): phase two starts then.
    pub grace_ends_at: u64,
    /// When CloseAccount was accepted (seconds since the epoch), once it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_requested_at: Option<u64>,
    /// Until when the tenant's VPC block stays held for its closed account (seconds since the
    /// epoch): AWS lets a closed account be reopened for 90 days, with its VPC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr_held_until: Option<u64>,
}

/// The time, in seconds since the epoch (0 on a clock before it).
pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// How long AWS keeps a closed account reopenable (and its resources): 90 days.
pub const REOPEN_WINDOW_SECONDS: u64 = 90 * 24 * 3600;

impl RegistryEntry {
    /// A fresh entry for a new request.
    pub fn new(tenant_id: TenantId, request_id: String) -> RegistryEntry {
        RegistryEntry {
            tenant_id,
            request_id,
            environment: None,
            tags: BTreeMap::new(),
            status: TenantStatus::Requested,
            create_account_request_id: None,
            account_id: None,
            cidr: None,
            failure: None,
            create_attempts: 0,
            creation_slot: None,
            queued: 0,
            record: None,
            offboarding: None,
            closed_accounts: Vec::new(),
        }
    }

    /// A fresh entry for a validated request: its tenant, request, environment and tags.
    pub fn for_spec(spec: &TenantSpec) -> RegistryEntry {
        let mut entry = RegistryEntry::new(spec.tenant_id.clone(), spec.request_id.clone());
        entry.describe(spec);
        entry
    }

    /// Takes the environment and tags a request asks for (what the listing reads).
    pub fn describe(&mut self, spec: &TenantSpec) {
        self.environment = Some(spec.environment.clone());
        self.tags = spec.tags.0.clone();
    }

    /// Whether an offboarding closed the tenant's account: a request for it then vends a new
    /// account, with a block claimed anew, as for a new tenant.
    pub fn account_closed(&self) -> bool {
        self.status == TenantStatus::Closed
            && self
                .account_id
                .as_ref()
                .is_some_and(|a| self.closed_accounts.contains(a))
    }

    /// The generation of the record handed off, if there is one.
    pub fn generation(&self) -> Option<u64> {
        self.record
            .as_deref()
            .and_then(|r| crate::ports::stored_generation(r.as_bytes()))
    }
}

/// Which tenants a listing returns: every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantQuery {
    /// Only this environment's.
    pub environment: Option<String>,
    /// Only tenants with this status.
    pub status: Option<TenantStatus>,
    /// Only tenants carrying each of these tags with this value.
    pub tags: BTreeMap<String, String>,
    /// At most this many (1 to `MAX_PAGE`).
    pub limit: usize,
    /// Where the previous page ended (its `next`), opaque to callers.
    pub after: Option<String>,
}

/// The largest page a listing returns.
pub const MAX_PAGE: usize = 100;

impl TenantQuery {
    /// Whether an entry passes the filters (the listing's own rule, for any registry).
    pub fn admits(&self, entry: &RegistryEntry) -> bool {
        self.environment
            .as_ref()
            .is_none_or(|env| entry.environment.as_ref() == Some(env))
            && self.status.is_none_or(|s| entry.status == s)
            && self.tags.iter().all(|(k, v)| entry.tags.get(k) == Some(v))
    }
}

/// One page of a listing, ordered by environment then tenant id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantPage {
    /// The tenants.
    pub tenants: Vec<RegistryEntry>,
    /// Where the next page starts, when there may be one.
    pub next: Option<String>,
}

/// The outcome of claiming a tenant's namespace scope (`crate::scope`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeClaim {
    /// The scope is the tenant's (newly, or already).
    Claimed,
    /// The tenant's scope overlaps this other tenant's.
    Overlaps(TenantId),
}

/// A portal request as first received: a request id always means the same request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// The caller's idempotency key.
    pub request_id: String,
    /// The tenant it asks for.
    pub tenant_id: TenantId,
    /// The validated request (the spec's JSON), to tell a repeat from a different request.
    pub spec: String,
    /// Which attempt runs it: 1, then one more each time it is posted again after a failure.
    pub attempt: u32,
    /// The request as posted (JSON text): what a re-run of the tenant starts the workflow
    /// with.
    #[serde(default)]
    pub body: String,
}

/// The outcome of asking for a tenant's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// This execution holds it (newly, or already).
    Acquired,
    /// Another execution that has not ended holds it.
    HeldBy(String),
}

/// The outcome of asking for an account-creation slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// The tenant holds this slot (newly, or already): it may create its account.
    Taken(u32),
    /// Every slot is held, by these tenants: wait and ask again.
    Full(Vec<TenantId>),
}

/// How long a creation slot lasts when its execution never gives it back (killed, failed
/// before recording): longer than any account creation takes.
pub const CREATION_SLOT_SECONDS: u64 = 3600;

/// How long a lease lasts when its execution never releases it (killed, timed out): a little
/// longer than the workflow's `TimeoutSeconds`.
pub const LEASE_SECONDS: u64 = 7500;

/// The tenant registry (a DynamoDB table in AWS).
pub trait Registry: Send + Sync {
    /// Takes the tenant's lease for `execution` (one execution works on a tenant at a time, so
    /// duplicate deliveries of one event cannot race each other), unless another execution
    /// holds it and its lease has not expired.
    fn acquire(
        &self,
        tenant: &TenantId,
        execution: &str,
    ) -> impl Future<Output = Result<Lease, StepError>> + Send;
    /// Gives the lease back, if `execution` holds it.
    fn release(
        &self,
        tenant: &TenantId,
        execution: &str,
    ) -> impl Future<Output = Result<(), StepError>> + Send;
    /// The tenant's entry, if any.
    fn get(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Option<RegistryEntry>, StepError>> + Send;
    /// Writes the entry unconditionally (the steps converge, so the last writer is right).
    fn put(&self, entry: &RegistryEntry) -> impl Future<Output = Result<(), StepError>> + Send;
    /// Writes the entry only if the tenant has none yet; `false` when one existed.
    fn put_new(
        &self,
        entry: &RegistryEntry,
    ) -> impl Future<Output = Result<bool, StepError>> + Send;
    /// Claims a block for the tenant: every piece of length `unit` inside it (the pool's
    /// smallest block), all or none, with conditional writes in one transaction, so blocks of
    /// different sizes cannot overlap either. Claiming a block the tenant holds is a no-op; a
    /// piece whose hold (`hold_cidr`) has ended is free.
    fn claim_cidr(
        &self,
        cidr: Ipv4Cidr,
        unit: u8,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Claim, StepError>> + Send;
    /// Holds the tenant's claimed pieces of `cidr` until `until` (seconds since the epoch):
    /// once that time has passed, another tenant's claim may take them (`claim_cidr`) and
    /// `claimed_cidrs` no longer lists them. How a closed account's block returns to the pool.
    fn hold_cidr(
        &self,
        cidr: Ipv4Cidr,
        unit: u8,
        tenant: &TenantId,
        until: u64,
    ) -> impl Future<Output = Result<(), StepError>> + Send;
    /// Every claimed piece and its owner (pieces whose hold has ended are free, not listed).
    fn claimed_cidrs(
        &self,
    ) -> impl Future<Output = Result<Vec<(Ipv4Cidr, TenantId)>, StepError>> + Send;
    /// Claims the tenant's namespace scope (`<id>`, `<id>-*`), refused when another tenant's
    /// overlaps it either way: all or nothing, in one conditional write, so of two
    /// overlapping claims at once exactly one wins. Claiming it again is a no-op.
    fn claim_scope(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<ScopeClaim, StepError>> + Send;
    /// The execution holding the tenant's lease, if an unexpired one does.
    fn lease_holder(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Option<String>, StepError>> + Send;
    /// The request of this id, if one was received.
    fn get_request(
        &self,
        request_id: &str,
    ) -> impl Future<Output = Result<Option<RequestRecord>, StepError>> + Send;
    /// Records a request the first time its id is seen; `false` when the id was seen already.
    fn put_request(
        &self,
        record: &RequestRecord,
    ) -> impl Future<Output = Result<bool, StepError>> + Send;
    /// One page of the tenants that pass the query's filters, from an index that holds tenant
    /// rows only (never a scan of the table).
    fn list(
        &self,
        query: &TenantQuery,
    ) -> impl Future<Output = Result<TenantPage, StepError>> + Send;
    /// Takes one of the `slots` account-creation slots for the tenant (the cap on creations in
    /// progress across every execution), unless every one is held by another tenant whose
    /// slot has not expired. A tenant holding one already keeps it.
    fn take_creation_slot(
        &self,
        tenant: &TenantId,
        slots: u32,
    ) -> impl Future<Output = Result<Slot, StepError>> + Send;
    /// Gives creation slot `slot` back, if the tenant holds it.
    fn release_creation_slot(
        &self,
        tenant: &TenantId,
        slot: u32,
    ) -> impl Future<Output = Result<(), StepError>> + Send;
    /// Moves a request to attempt `from + 1`; `false` when another caller moved it first.
    fn next_attempt(
        &self,
        request_id: &str,
        from: u32,
    ) -> impl Future<Output = Result<bool, StepError>> + Send;
}
