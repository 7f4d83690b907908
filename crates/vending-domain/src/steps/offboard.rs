//! The offboarding workflow's one step, `Offboard` (`workflows/tenant-offboarding.asl.json`):
//! each of its Task states passes an `action`, and the same function answers them all (one
//! bootstrap for the whole workflow). Where the offboarding stands after each action is an
//! `OffboardProgress`, whose `state` the definition's Choice states read.

use super::CaughtError;
use crate::error::StepError;
use crate::error::ValidationErrors;
use crate::names::TenantId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What an offboarding asks: the body of `DELETE /tenants/{tenantId}` with the tenant id, the
/// detail of an `OffboardTenant` event, or a console execution's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OffboardRequest {
    /// The tenant.
    pub tenant_id: String,
    /// Close the tenant's AWS account in phase two (CloseAccount). Without it the account
    /// stays, detached, in the suspended OU.
    #[serde(default)]
    pub close_account: bool,
    /// Why, for the record and the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The longest reason kept.
pub const MAX_REASON: usize = 256;

impl OffboardRequest {
    /// Reads and checks an offboarding request, naming every bad field. An input of Step
    /// Functions' own (an EventBridge event) carries the request in `detail`.
    pub fn from_value(input: &Value) -> Result<(OffboardRequest, TenantId), StepError> {
        let body = match input.get("detail") {
            Some(detail) if input.get("detail-type").is_some() => detail,
            _ => input,
        };
        let mut errs = ValidationErrors::default();
        let request: OffboardRequest = match serde_json::from_value(body.clone()) {
            Ok(r) => r,
            Err(e) => {
                errs.push("body", format!("is not an offboarding request: {e}"));
                return Err(StepError::InvalidRequest(errs));
            }
        };
        let tenant = TenantId::parse(&request.tenant_id);
        if let Err(e) = &tenant {
            errs.push("tenantId", e.to_string());
        }
        if let Some(reason) = &request.reason
            && (reason.chars().count() > MAX_REASON || reason.chars().any(char::is_control))
        {
            errs.push(
                "reason",
                format!("must be at most {MAX_REASON} characters, without control characters"),
            );
        }
        match tenant {
            Ok(t) if errs.errors.is_empty() => Ok((request, t)),
            _ => Err(StepError::InvalidRequest(errs)),
        }
    }
}

/// The `Offboard` step's input: the action a Task state asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "action",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum OffboardInput {
    /// Phase one: checks the guards, marks the tenant offboarding, revokes its cluster
    /// access, moves its account to the suspended OU, cordons its Capsule tenant, announces
    /// `TenantOffboarding`.
    Begin {
        /// The execution's input (an `OffboardRequest`, or an event carrying one).
        trigger: Value,
        /// The execution.
        execution_name: String,
    },
    /// Phase two, after the grace period: unless a new request took the tenant back, removes
    /// its manifests, detaches its network, and closes its account when asked.
    Finish {
        /// What phase one said.
        offboarding: OffboardProgress,
        /// The execution.
        execution_name: String,
    },
    /// Polls a closing account until it is closed, then completes the offboarding.
    CheckClosure {
        /// What the last action said.
        offboarding: OffboardProgress,
        /// The execution.
        execution_name: String,
    },
    /// A caught failure: recorded on the tenant when this execution had begun offboarding
    /// it, and reported.
    RecordFailure {
        /// The execution's state: its `trigger`, its `failure` (keyed by the state that
        /// failed), and its `offboarding` once phase one answered.
        state: FailedOffboarding,
        /// The execution.
        execution_name: String,
    },
}

/// The offboarding workflow's state when a Catch caught a failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedOffboarding {
    /// The execution's input.
    #[serde(default)]
    pub trigger: Value,
    /// What the last action answered, when one did.
    #[serde(default)]
    pub offboarding: Option<OffboardProgress>,
    /// The caught error, keyed by the state that failed.
    #[serde(default)]
    pub failure: BTreeMap<String, CaughtError>,
}

/// Where an offboarding stands. The definition waits out the grace period after `GRACE`,
/// polls while `CLOSING`, and ends on `CANCELLED`, `CLOSED` and `FAILED`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "state",
    rename_all = "SCREAMING_SNAKE_CASE",
    rename_all_fields = "camelCase"
)]
pub enum OffboardProgress {
    /// Phase one is done: phase two starts after `grace_seconds`.
    Grace {
        /// The tenant.
        tenant_id: TenantId,
        /// Its account.
        account_id: String,
        /// Whether phase two closes the account.
        close_account: bool,
        /// What is left of the grace period.
        grace_seconds: u64,
    },
    /// A new request took the tenant back (or a later offboarding took over): nothing more.
    Cancelled {
        /// The tenant.
        tenant_id: TenantId,
        /// Why.
        reason: String,
    },
    /// CloseAccount was accepted; the account is `PENDING_CLOSURE`.
    Closing {
        /// The tenant.
        tenant_id: TenantId,
        /// Its account.
        account_id: String,
    },
    /// Offboarded.
    Closed {
        /// The tenant.
        tenant_id: TenantId,
        /// Its account.
        account_id: String,
        /// Whether the account was closed.
        account_closed: bool,
        /// The record's last generation (lifecycle `closed`).
        generation: u64,
    },
    /// A failure was recorded: the Fail state reports it.
    Failed {
        /// The error name.
        error: String,
        /// The cause, readable.
        cause: String,
    },
}

impl OffboardProgress {
    /// The tenant it is about, when it names one.
    pub fn tenant(&self) -> Option<&TenantId> {
        match self {
            OffboardProgress::Grace { tenant_id, .. }
            | OffboardProgress::Cancelled { tenant_id, .. }
            | OffboardProgress::Closing { tenant_id, .. }
            | OffboardProgress::Closed { tenant_id, .. } => Some(tenant_id),
            OffboardProgress::Failed { .. } => None,
        }
    }
}
