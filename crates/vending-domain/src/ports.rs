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

/// The tenant registry (a DynamoDB table in AWS).
pub trait Registry: Send + Sync {
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
    /// Claims a block for the tenant with a conditional write: one owner per block.
    fn claim_cidr(
        &self,
        cidr: Ipv4Cidr,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Claim, StepError>> + Send;
    /// Every claimed block and its owner.
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
