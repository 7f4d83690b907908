//! The tenant registry (a DynamoDB table in AWS): its entities and its port. One execution
//! works on a tenant at a time (the lease); VPC blocks and namespace scopes are claimed with
//! conditional writes, so two tenants never hold overlapping ones; portal requests are kept by
//! id, so a request id always means the same request.

use crate::cidr::Ipv4Cidr;
use crate::error::StepError;
use crate::names::TenantId;
use serde::{Deserialize, Serialize};
use std::future::Future;

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
}

/// Why a tenant's vending failed, as the failure recorder stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The tenant record handed off (its serialized form, stable bytes).
    pub record: Option<String>,
}

impl RegistryEntry {
    /// A fresh entry for a new request.
    pub fn new(tenant_id: TenantId, request_id: String) -> RegistryEntry {
        RegistryEntry {
            tenant_id,
            request_id,
            status: TenantStatus::Requested,
            create_account_request_id: None,
            account_id: None,
            cidr: None,
            failure: None,
            create_attempts: 0,
            record: None,
        }
    }
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
}

/// The outcome of asking for a tenant's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// This execution holds it (newly, or already).
    Acquired,
    /// Another execution that has not ended holds it.
    HeldBy(String),
}

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
    /// different sizes cannot overlap either. Claiming a block the tenant holds is a no-op.
    fn claim_cidr(
        &self,
        cidr: Ipv4Cidr,
        unit: u8,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Claim, StepError>> + Send;
    /// Every claimed piece and its owner.
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
    /// Moves a request to attempt `from + 1`; `false` when another caller moved it first.
    fn next_attempt(
        &self,
        request_id: &str,
        from: u32,
    ) -> impl Future<Output = Result<bool, StepError>> + Send;
}
