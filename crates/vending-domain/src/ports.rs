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

/// A CreateAccount request and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRequest {
    /// Its id (`car-...`).
    pub id: String,
    /// Where it stands.
    pub state: CreateAccountState,
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
    /// Starts creating an account whose member role (the one the service assumes in it) is
    /// `role_name`; returns the creation request id.
    fn create_account(
        &self,
        email: &str,
        name: &str,
        role_name: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<String, StepError>> + Send;
    /// A creation request for an account of this name that is in progress or has succeeded,
    /// if any: so a step killed between `create_account` and saving the request id finds it
    /// again instead of creating a second account. A name proves nothing: the caller checks
    /// that the account is the tenant's before adopting it.
    fn find_create_request(
        &self,
        account_name: &str,
    ) -> impl Future<Output = Result<Option<CreateRequest>, StepError>> + Send;
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
    /// The organization's management account.
    fn management_account(&self) -> impl Future<Output = Result<String, StepError>> + Send;
    /// Starts closing a member account (CloseAccount): its status is `PENDING_CLOSURE`, then
    /// `SUSPENDED`. An account already closed or closing is done. AWS's closure quota used up
    /// is `QuotaExceeded`, never retried.
    fn close_account(&self, account_id: &str)
    -> impl Future<Output = Result<(), StepError>> + Send;
}

pub use crate::registry::{
    CREATION_SLOT_SECONDS, Claim, FailureInfo, LEASE_SECONDS, Lease, MAX_PAGE, Registry,
    RegistryEntry, RequestRecord, ScopeClaim, Slot, TenantPage, TenantQuery, TenantStatus,
};

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

    /// The files the destination holds under `tenant_dir` and at `record_path`, by path, as
    /// its head has them (what a bundle would replace).
    fn read(
        &self,
        tenant_dir: &str,
        record_path: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, Vec<u8>>, StepError>> + Send;
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

    /// Detaches the tenant's VPC (found by its `vending:tenant` tag) from the transit
    /// gateway: its main route table's routes through the gateway, then its attachments
    /// (deleted, as AWS does, in the background). Returns what it removed (route
    /// destinations and attachment ids); nothing when it was detached already.
    fn detach_from_transit_gateway(
        &self,
        tenant: &str,
        transit_gateway_id: &str,
    ) -> impl Future<Output = Result<Vec<String>, StepError>> + Send;

    /// The tenant's VPC (found by its `vending:tenant` tag) as it is, or `None`.
    fn tenant_vpc(
        &self,
        tenant: &str,
    ) -> impl Future<Output = Result<Option<VpcState>, StepError>> + Send;
}

/// A tenant VPC as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcState {
    /// Its id.
    pub id: String,
    /// Its primary CIDR block.
    pub cidr: String,
    /// Its transit gateway attachments that still exist, as (id, state).
    pub attachments: Vec<(String, String)>,
    /// The destinations its main route table sends to a transit gateway.
    pub routes_to_transit_gateway: Vec<String>,
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

/// IAM Identity Center, as AssignTeams uses it (in the management account, where the instance
/// is): groups and permission sets found by name, account assignments read and made.
pub trait TeamAccess: Send + Sync {
    /// The id of the identity store's group with this display name, if there is one.
    fn group_id(
        &self,
        display_name: &str,
    ) -> impl Future<Output = Result<Option<String>, StepError>> + Send;

    /// The ARN of the instance's permission set with this name, if there is one.
    fn permission_set_arn(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, StepError>> + Send;

    /// The ids of the groups assigned `permission_set_arn` on `account_id` (assignments being
    /// made are not listed yet).
    fn assigned_groups(
        &self,
        account_id: &str,
        permission_set_arn: &str,
    ) -> impl Future<Output = Result<Vec<String>, StepError>> + Send;

    /// Starts assigning `permission_set_arn` on `account_id` to the group `group_id`.
    fn assign(
        &self,
        account_id: &str,
        permission_set_arn: &str,
        group_id: &str,
    ) -> impl Future<Output = Result<AssignmentStatus, StepError>> + Send;

    /// Where the assignment request `request_id` stands.
    fn assignment_status(
        &self,
        request_id: &str,
    ) -> impl Future<Output = Result<AssignmentStatus, StepError>> + Send;
}

/// Where an account assignment request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignmentStatus {
    /// Being made: poll `request_id`.
    InProgress {
        /// The creation request.
        request_id: String,
    },
    /// Made.
    Succeeded,
    /// Not made, for Identity Center's reason.
    Failed {
        /// Its reason.
        reason: String,
    },
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
    /// The role as it is (trust principals sorted; a trust policy of another shape reads as
    /// no principal), or `None` when there is no role of that name.
    fn role(&self, name: &str) -> impl Future<Output = Result<Option<RoleSpec>, StepError>> + Send;
    /// The names of the roles in the account named `<tenant>-...` and tagged for the tenant.
    fn tenant_roles(
        &self,
        tenant: &str,
    ) -> impl Future<Output = Result<Vec<String>, StepError>> + Send;
    /// Deletes a role with what IAM needs gone first (its managed policies detached, inline
    /// policies and instance profile memberships removed); one that is gone is done.
    fn delete_role(&self, name: &str) -> impl Future<Output = Result<(), StepError>> + Send;
    /// The account has an alias: `alias` unless it already had one, which it keeps (an adopted
    /// account's owners chose it). Returns the alias in effect. `alias` taken by another AWS
    /// account (aliases are global) is a `Conflict`.
    fn ensure_account_alias(
        &self,
        alias: &str,
    ) -> impl Future<Output = Result<String, StepError>> + Send;
    /// Deletes the account's alias if it is `alias` (another alias stays); true when it did.
    /// Aliases are unique across AWS, and a closed account keeps its resources: the tenant's
    /// next account can only take the alias once its closed account gave it up.
    fn remove_account_alias(
        &self,
        alias: &str,
    ) -> impl Future<Output = Result<bool, StepError>> + Send;

    /// The full ARN (with its path) of the role IAM Identity Center made in the account for
    /// the permission set `permission_set` (`AWSReservedSSO_<name>_<suffix>`), if it is there.
    fn permission_set_role(
        &self,
        permission_set: &str,
    ) -> impl Future<Output = Result<Option<String>, StepError>> + Send;
}

/// A tenant account's AWS Backup baseline as it is once ensured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRecord {
    /// The vault's ARN.
    pub vault_arn: String,
    /// The plan's ARN.
    pub plan_arn: String,
    /// The plan's selection (its id).
    pub selection_id: String,
    /// The role AWS Backup backs up with (its full ARN, with its path).
    pub role_arn: String,
    /// What this call made or repaired (`role`, `vault`, `plan`, `selection`), in that order;
    /// empty when everything was as the config says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
}

/// A tenant account's AWS Config baseline as it is once ensured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigRecord {
    /// Who owns the recorder and its channel.
    pub mode: crate::config::BaselineMode,
    /// The recorder's name (the service's, or Control Tower's).
    pub recorder: String,
    /// The config's rules, by name, as the account has them.
    pub rules: Vec<String>,
    /// What this call made or changed (`role`, `recorder`, `channel`, `recording`,
    /// `rule:<name>`), in that order; empty when everything was as the config says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
}

/// A tenant account's CloudTrail baseline as it is once ensured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrailRecord {
    /// Who owns the trail.
    pub mode: crate::config::BaselineMode,
    /// The service's trail; none where Control Tower's organization trail covers the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail_arn: Option<String>,
    /// What this call made or changed (`trail`, `logging`); empty when as the config says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
}

/// AWS Config and CloudTrail in a tenant account, with the role the recorder records with.
pub trait Recording: Send + Sync {
    /// AWS Config as `config` says. In `service` mode: the recorder's role, the recorder
    /// `RECORDING_NAME` (every supported resource type, global ones included), its delivery
    /// channel to the configured bucket, and recording on. In `controlTower` mode: Control
    /// Tower's recorder must be there (`NotReady` until enrolment has made it) and nothing of
    /// it is changed. In both: each managed rule exists with its source. `tags` go on what it
    /// makes.
    fn ensure_config(
        &self,
        config: &crate::config::ConfigBaseline,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<ConfigRecord, StepError>> + Send;
    /// The service's trail `RECORDING_NAME` (multi-region, log file validation, writing to the
    /// configured bucket) and its logging on; called in `service` mode only.
    fn ensure_trail(
        &self,
        bucket: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<TrailRecord, StepError>> + Send;
}

/// A tenant account's AWS Backup baseline as it is, read without changing anything (drift).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackupState {
    /// The backup role's ARN, when the role exists and is the service's (path and tag).
    pub role_arn: Option<String>,
    /// Whether the vault exists.
    pub vault: bool,
    /// The live plan of the config's name: each rule with the vault it backs up into.
    pub plan_rules: Option<Vec<(crate::config::BackupRule, String)>>,
    /// The plan's selection `BACKUP_SELECTION_NAME`: its tag conditions and its role.
    pub selection: Option<(Vec<crate::config::SelectionTag>, String)>,
}

/// AWS Backup in a tenant account, with the IAM role it backs up with.
pub trait Backups: Send + Sync {
    /// What the account has of `config`'s baseline, read only.
    fn backup_state(
        &self,
        config: &crate::config::BackupConfig,
    ) -> impl Future<Output = Result<BackupState, StepError>> + Send;

    /// The role (trusting `backup.amazonaws.com`, with AWS's managed backup and restore
    /// policies), the vault, the plan with exactly `config`'s rules and its one selection
    /// (`BACKUP_SELECTION_NAME`: the tag condition and the role) exist; each is read first, a
    /// plan whose rules differ is updated and a selection that differs replaced (AWS cannot
    /// update one). `tags` go on what it makes.
    fn ensure_backup(
        &self,
        config: &crate::config::BackupConfig,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<BackupRecord, StepError>> + Send;
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

    /// The access entries on `cluster` whose principal is in `account_id`, as they are.
    fn access_entries(
        &self,
        cluster: &str,
        account_id: &str,
    ) -> impl Future<Output = Result<Vec<AccessEntryState>, StepError>> + Send;

    /// Deletes the access entry of `principal_arn` on `cluster` with its policies (one that is
    /// gone already is done).
    fn remove_access_entry(
        &self,
        cluster: &str,
        principal_arn: &str,
    ) -> impl Future<Output = Result<(), StepError>> + Send;
}

/// An EKS access entry as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntryState {
    /// The IAM principal.
    pub principal_arn: String,
    /// Its Kubernetes groups.
    pub kubernetes_groups: Vec<String>,
    /// Its associated access policies, each with the namespaces it is scoped to (none: the
    /// cluster).
    pub policies: BTreeMap<String, Vec<String>>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// Reaches other accounts: each call assumes the configured member role in `account_id`,
/// with `session` (the execution name) as the session name. A refused AssumeRole is
/// `StepError::AccessDenied` naming the role and the account.
pub trait Accounts: Send + Sync {
    /// EC2 in a tenant account.
    type Network: TenantNetwork;
    /// EC2 in the network account.
    type Hub: TransitGatewayHub;
    /// IAM in a tenant account.
    type Identity: Identity;
    /// EKS in a cluster account.
    type Clusters: ClusterAccess;
    /// AWS Backup in a tenant account.
    type Backups: Backups;
    /// AWS Config and CloudTrail in a tenant account.
    type Recording: Recording;
    /// EC2 of `account_id` in `region`.
    fn network(
        &self,
        account_id: &str,
        region: &str,
        session: &str,
    ) -> impl Future<Output = Result<Self::Network, StepError>> + Send;
    /// EC2 of the network account in `region`.
    fn hub(
        &self,
        account_id: &str,
        region: &str,
        session: &str,
    ) -> impl Future<Output = Result<Self::Hub, StepError>> + Send;
    /// IAM of `account_id`.
    fn identity(
        &self,
        account_id: &str,
        session: &str,
    ) -> impl Future<Output = Result<Self::Identity, StepError>> + Send;
    /// AWS Backup (and IAM, for its role) of `account_id` in `region`.
    fn backups(
        &self,
        account_id: &str,
        region: &str,
        session: &str,
    ) -> impl Future<Output = Result<Self::Backups, StepError>> + Send;
    /// AWS Config and CloudTrail (and IAM, for the recorder's role) of `account_id` in
    /// `region`.
    fn recording(
        &self,
        account_id: &str,
        region: &str,
        session: &str,
    ) -> impl Future<Output = Result<Self::Recording, StepError>> + Send;
    /// EKS of `account_id` in `region`.
    fn clusters(
        &self,
        account_id: &str,
        region: &str,
        session: &str,
    ) -> impl Future<Output = Result<Self::Clusters, StepError>> + Send;
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
    /// Starts the batch re-run workflow (`workflows/tenant-rerun.asl.json`) as execution `name`
    /// with `input`; returns the execution's ARN. A double start counts as started.
    fn start_batch(
        &self,
        name: &str,
        input: &serde_json::Value,
    ) -> impl Future<Output = Result<String, StepError>> + Send;
    /// Starts the offboarding workflow (`workflows/tenant-offboarding.asl.json`) as execution
    /// `name` with `input` (an `OffboardRequest`); returns the execution's ARN. A double
    /// start counts as started.
    fn start_offboarding(
        &self,
        name: &str,
        input: &serde_json::Value,
    ) -> impl Future<Output = Result<String, StepError>> + Send;
    /// Where execution `name` of the vending workflow stands, or `None` when there is none.
    fn progress(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<ExecutionProgress>, StepError>> + Send;
}

/// Where an execution stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExecutionProgress {
    /// Its ARN.
    pub execution_arn: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub status: String,
    /// The state it last entered (of a Parallel's branches, the latest), if any.
    pub state: Option<String>,
}
