//! The ports: what the steps need from the outside world, in domain types. The AWS adapters
//! implement them; handler tests use fakes. Futures are `Send` so handlers can run on any
//! runtime thread (Lambda's, or the local executor's).

use crate::cidr::Ipv4Cidr;
use crate::error::StepError;
use crate::names::TenantId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;

/// Where an account creation stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum CreateAccountState {
    /// Still being created: poll again.
    InProgress,
    /// Created.
    Succeeded {
        /// The new account's id.
        account_id: String,
    },
    /// Creation failed; `reason` is Organizations' failure reason (`EMAIL_ALREADY_EXISTS`, ...).
    Failed {
        /// Why.
        reason: String,
    },
}

/// An account of the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its root email.
    pub email: String,
    /// `ACTIVE`, `SUSPENDED`, ...
    pub status: String,
}

/// AWS Organizations, as the account steps use it.
pub trait Organization: Send + Sync {
    /// The account with this root email, if the organization has one.
    fn find_account_by_email(
        &self,
        email: &str,
    ) -> impl Future<Output = Result<Option<AccountInfo>, StepError>> + Send;
    /// The account with this id, if the organization has one.
    fn describe_account(
        &self,
        account_id: &str,
    ) -> impl Future<Output = Result<Option<AccountInfo>, StepError>> + Send;
    /// Starts creating an account; returns the creation request id.
    fn create_account(
        &self,
        email: &str,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<String, StepError>> + Send;
    /// The id of a creation request for an account of this name that is in progress or has
    /// succeeded, if any: so a step killed between `create_account` and saving the request id
    /// finds it again instead of creating a second account.
    fn find_create_request(
        &self,
        account_name: &str,
    ) -> impl Future<Output = Result<Option<String>, StepError>> + Send;
    /// Where a creation request stands.
    fn create_account_state(
        &self,
        request_id: &str,
    ) -> impl Future<Output = Result<CreateAccountState, StepError>> + Send;
    /// The id of the account's parent (root or OU).
    fn parent_of(&self, account_id: &str)
    -> impl Future<Output = Result<String, StepError>> + Send;
    /// Moves the account between parents.
    fn move_account(
        &self,
        account_id: &str,
        from: &str,
        to: &str,
    ) -> impl Future<Output = Result<(), StepError>> + Send;
    /// The account's tags.
    fn account_tags(
        &self,
        account_id: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, StepError>> + Send;
    /// Adds or overwrites tags on the account.
    fn tag_account(
        &self,
        account_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), StepError>> + Send;
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
            record: None,
        }
    }
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
}

/// The event bus that announces tenants.
pub trait EventBus: Send + Sync {
    /// Puts one event (`TenantReady`, `TenantFailed`, `TenantRequested`) with a JSON detail.
    fn put(
        &self,
        detail_type: &str,
        detail: &serde_json::Value,
    ) -> impl Future<Output = Result<(), StepError>> + Send;
}

/// One rendered file, at its path under the destination's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    /// The path (`tenants/<id>/tenant.yaml`), `/`-separated, relative.
    pub path: String,
    /// The exact bytes.
    pub bytes: Vec<u8>,
}

/// What one hand-off writes for one tenant: its manifests, which replace everything under
/// `tenant_dir`, and its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestBundle {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The record's generation.
    pub generation: u64,
    /// The request behind it.
    pub request_id: String,
    /// The folder that holds the tenant's manifests and nothing else (`tenants/<id>`): a
    /// file there that the bundle does not name is removed.
    pub tenant_dir: String,
    /// The manifests, each under `tenant_dir`.
    pub manifests: Vec<ManifestFile>,
    /// The tenant record (`records/<id>.json`), outside what the tenant operator syncs. Its
    /// `generation` in the destination is how a stale writer is recognised.
    pub record: ManifestFile,
}

/// What a destination did with a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Publication {
    /// The bundle changed the destination: a commit (git) or new objects (S3).
    Written {
        /// The commit id, or the keys written.
        revision: String,
    },
    /// The destination already held these exact bytes: nothing was written.
    Unchanged {
        /// The commit id or bucket that holds them.
        revision: String,
    },
}

/// Where tenant manifests go for the tenant operator (a git repository, an S3 bucket).
/// Implementations never write a bundle whose generation is lower than the one the
/// destination holds (`StepError::Conflict`), and write nothing when the bytes are unchanged.
pub trait ManifestDestination: Send + Sync {
    /// Writes the bundle.
    fn publish(
        &self,
        bundle: &ManifestBundle,
    ) -> impl Future<Output = Result<Publication, StepError>> + Send;
}

/// The generation a stored record carries, if it can be read; a record of another version is
/// read too (only `generation` matters here).
pub fn stored_generation(bytes: &[u8]) -> Option<u64> {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()?
        .get("generation")?
        .as_u64()
}

/// The refusal of a stale bundle, the same words for every destination.
pub fn stale(bundle: &ManifestBundle, held: u64) -> StepError {
    StepError::Conflict(format!(
        "the destination holds generation {held} of tenant {}, newer than generation {} of request {}: not written",
        bundle.tenant_id, bundle.generation, bundle.request_id
    ))
}

/// A resource found or created by an `ensure_*` call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ensured {
    /// Its AWS id (or ARN).
    pub id: String,
    /// True when this call created it; false when it already existed.
    pub created: bool,
}

/// A tenant VPC as the network port reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VpcInfo {
    /// The VPC id.
    pub id: String,
    /// Its primary CIDR block.
    pub cidr: Ipv4Cidr,
    /// Its main route table.
    pub main_route_table_id: String,
    /// True when this call created it.
    pub created: bool,
}

/// EC2 in one region of a tenant account (reached through the member role).
pub trait TenantNetwork: Send + Sync {
    /// The VPC tagged for `tags`' tenant (`vending:tenant`), or a new one with `cidr` and
    /// `tags`. An existing VPC with another CIDR is a `Conflict`.
    fn ensure_vpc(
        &self,
        cidr: Ipv4Cidr,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<VpcInfo, StepError>> + Send;
    /// The names of the region's available availability zones, sorted.
    fn availability_zones(&self) -> impl Future<Output = Result<Vec<String>, StepError>> + Send;
    /// The VPC's subnet with `cidr` in `zone`, created if missing.
    fn ensure_subnet(
        &self,
        vpc_id: &str,
        zone: &str,
        cidr: Ipv4Cidr,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<Ensured, StepError>> + Send;
    /// The VPC's attachment to the (shared) transit gateway, created in `subnet_ids` if
    /// missing. `NotReady` until it is available.
    fn ensure_transit_gateway_attachment(
        &self,
        transit_gateway_id: &str,
        vpc_id: &str,
        subnet_ids: &[String],
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<Ensured, StepError>> + Send;
    /// A route from `route_table_id` to `destination` through the transit gateway.
    fn ensure_route_to_transit_gateway(
        &self,
        route_table_id: &str,
        destination: Ipv4Cidr,
        transit_gateway_id: &str,
    ) -> impl Future<Output = Result<bool, StepError>> + Send;
    /// The VPC's flow log to the bucket, created if missing; returns its id.
    fn ensure_flow_logs(
        &self,
        vpc_id: &str,
        bucket_arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<Ensured, StepError>> + Send;
    /// Deletes the region's default VPC (its subnets and internet gateway first); returns the
    /// ids of the VPCs deleted (none when there was no default VPC left).
    fn remove_default_vpcs(&self) -> impl Future<Output = Result<Vec<String>, StepError>> + Send;
}

/// The network account's side of a transit gateway attachment.
pub trait TransitGatewayHub: Send + Sync {
    /// The attachment is associated with `route_table_id` (and no other table) and propagates
    /// its routes into it. Returns true when this call changed anything.
    fn ensure_routing(
        &self,
        attachment_id: &str,
        route_table_id: &str,
    ) -> impl Future<Output = Result<bool, StepError>> + Send;
}

/// A tenant role as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSpec {
    /// The role name.
    pub name: String,
    /// The permissions boundary.
    pub boundary_arn: String,
    /// Principals allowed to assume it (and no one else).
    pub trusted: Vec<String>,
    /// Managed policies attached to it.
    pub managed_policy_arns: Vec<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// IAM in a tenant account.
pub trait Identity: Send + Sync {
    /// The role exists exactly as `spec` says (trust, boundary, policies, tags); returns its ARN.
    /// A role of that name not tagged for the tenant is a `Conflict`.
    fn ensure_role(
        &self,
        spec: &RoleSpec,
    ) -> impl Future<Output = Result<Ensured, StepError>> + Send;
    /// The account alias is `alias`. An account with another alias is a `Conflict`.
    fn ensure_account_alias(
        &self,
        alias: &str,
    ) -> impl Future<Output = Result<bool, StepError>> + Send;
}

/// An EKS access entry as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntrySpec {
    /// The cluster.
    pub cluster: String,
    /// The IAM principal (a tenant role ARN).
    pub principal_arn: String,
    /// Its Kubernetes groups.
    pub kubernetes_groups: Vec<String>,
    /// The access policy associated with it.
    pub access_policy_arn: String,
    /// The namespaces the policy is scoped to.
    pub namespaces: Vec<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// EKS in the account that runs the shared clusters.
pub trait ClusterAccess: Send + Sync {
    /// The access entry and its namespace-scoped policy exist as `spec` says; returns the
    /// entry's ARN. An entry for the principal not tagged for the tenant is a `Conflict`.
    fn ensure_access_entry(
        &self,
        spec: &AccessEntrySpec,
    ) -> impl Future<Output = Result<Ensured, StepError>> + Send;
}

/// Reaches other accounts: each call assumes the configured member role in `account_id`,
/// with `session` (the execution name) as the session name.
pub trait Accounts: Send + Sync {
    /// EC2 in a tenant account.
    type Network: TenantNetwork;
    /// EC2 in the network account.
    type Hub: TransitGatewayHub;
    /// IAM in a tenant account.
    type Identity: Identity;
    /// EKS in a cluster account.
    type Clusters: ClusterAccess;
    /// EC2 of `account_id` in `region`.
    fn network(
        &self,
        account_id: &str,
        region: &str,
        session: &str,
    ) -> impl Future<Output = Self::Network> + Send;
    /// EC2 of the network account in `region`.
    fn hub(
        &self,
        account_id: &str,
        region: &str,
        session: &str,
    ) -> impl Future<Output = Self::Hub> + Send;
    /// IAM of `account_id`.
    fn identity(
        &self,
        account_id: &str,
        session: &str,
    ) -> impl Future<Output = Self::Identity> + Send;
    /// EKS of `account_id` in `region`.
    fn clusters(
        &self,
        account_id: &str,
        region: &str,
        session: &str,
    ) -> impl Future<Output = Self::Clusters> + Send;
}

/// The workflow service (Step Functions), as the portal's request function starts vending.
pub trait Workflow: Send + Sync {
    /// Starts the vending workflow as execution `name` with `input`; returns the execution's
    /// ARN. An execution of that name that exists already counts as started (a double submit).
    fn start(
        &self,
        name: &str,
        input: &serde_json::Value,
    ) -> impl Future<Output = Result<String, StepError>> + Send;
}
