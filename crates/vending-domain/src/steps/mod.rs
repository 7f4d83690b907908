//! The values steps hand each other through the workflow state (their JSON is the contract
//! between the definition and the functions), and each step's input and output (`io`).

mod io;
mod measured;
mod offboard;
mod teams;

pub use io::*;
pub use offboard::*;
pub use teams::*;

use crate::cidr::Ipv4Cidr;
use crate::error::StepError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Where the tenant's account stands after EnsureAccount or CheckAccount. The definition's
/// Choice loops on `state`: it waits and polls while `IN_PROGRESS`, goes on with the account
/// id when `SUCCEEDED`, waits and runs EnsureAccount again on `RESTART` and on `QUEUED` (the
/// account-creation cap is reached), and ends the execution
/// quietly on `DUPLICATE`. Each state carries exactly what the next step needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "state",
    rename_all = "SCREAMING_SNAKE_CASE",
    rename_all_fields = "camelCase"
)]
pub enum AccountProgress {
    /// The account exists.
    Succeeded {
        /// Its id.
        account_id: String,
    },
    /// Creation is under way: wait and check again.
    InProgress {
        /// The CreateAccount request being polled.
        create_request_id: String,
    },
    /// The creation request ended in a way that a new CreateAccount may fix (another account
    /// operation ran at the same time): wait, then EnsureAccount starts a new one.
    Restart {
        /// Organizations' failure reason.
        reason: String,
    },
    /// Every account-creation slot is held (the config's cap): wait, then EnsureAccount asks
    /// again.
    Queued {
        /// The tenants creating accounts now.
        creating: Vec<String>,
        /// How long the workflow waits before asking again (`queued_wait`).
        retry_after_seconds: u64,
    },
    /// Another execution is vending this tenant (a duplicate delivery): this one stops.
    Duplicate {
        /// That execution.
        held_by: String,
    },
}

/// How long a tenant queued for an account-creation slot waits before asking again, the
/// `answers`-th time it is told to wait: 30 s, doubling to at most 4 minutes, plus up to 15 s
/// that depend on the tenant, so queued tenants do not all ask at the same moment. In AWS the
/// asking costs little; the backoff keeps a long queue from asking many times a minute each.
pub fn queued_wait(answers: u32, tenant: &crate::TenantId) -> u64 {
    let spread = tenant
        .as_str()
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        % 16;
    (30u64 << answers.saturating_sub(1).min(3)) + spread
}

impl AccountProgress {
    /// The account exists.
    pub fn ready(account_id: impl Into<String>) -> AccountProgress {
        AccountProgress::Succeeded {
            account_id: account_id.into(),
        }
    }

    /// Creation is under way.
    pub fn in_progress(request_id: impl Into<String>) -> AccountProgress {
        AccountProgress::InProgress {
            create_request_id: request_id.into(),
        }
    }

    /// Another execution holds the tenant.
    pub fn duplicate(execution: impl Into<String>) -> AccountProgress {
        AccountProgress::Duplicate {
            held_by: execution.into(),
        }
    }
}

/// Decodes a step's input from the workflow payload. A payload that does not decode is the
/// definition's fault (its Parameters), not the user's, hence `Internal`.
pub fn decode<T: DeserializeOwned>(payload: serde_json::Value) -> Result<T, StepError> {
    serde_json::from_value(payload)
        .map_err(|e| StepError::Internal(format!("the step input does not decode: {e}")))
}

/// Encodes a step's result for the workflow state.
pub fn encode<T: Serialize>(result: &T) -> Result<serde_json::Value, StepError> {
    serde_json::to_value(result)
        .map_err(|e| StepError::Internal(format!("the step result does not encode: {e}")))
}

/// One tenant subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SubnetRecord {
    /// The subnet id.
    pub id: String,
    /// Its availability zone.
    pub zone: String,
    /// Its CIDR block.
    pub cidr: Ipv4Cidr,
}

/// What ProvisionNetwork leaves: the tenant's VPC and how it reaches the transit gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NetworkRecord {
    /// The region of the VPC.
    pub region: String,
    /// The VPC id.
    pub vpc_id: String,
    /// Its CIDR block, claimed from the pool.
    pub cidr: Ipv4Cidr,
    /// One subnet per configured availability zone.
    pub subnets: Vec<SubnetRecord>,
    /// The transit gateway.
    pub transit_gateway_id: String,
    /// The VPC's attachment to it.
    pub transit_gateway_attachment_id: String,
    /// Destinations routed to the transit gateway.
    pub routes_to_transit_gateway: Vec<Ipv4Cidr>,
    /// The VPC's flow log.
    pub flow_log_id: String,
}

/// One tenant role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRecord {
    /// The template it was made from (`admin`, `deploy`, ...).
    pub template: String,
    /// The role's ARN.
    pub arn: String,
    /// The Kubernetes group it maps to.
    pub kubernetes_group: String,
}

/// What ProvisionIdentity leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityRecord {
    /// The tenant roles, in the config's order.
    pub roles: Vec<RoleRecord>,
    /// The account's AWS Backup, where its environment's baseline has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<crate::ports::BackupRecord>,
    /// The account's AWS Config, where its environment's baseline has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<crate::ports::ConfigRecord>,
    /// The account's trail, where its environment's baseline has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail: Option<crate::ports::TrailRecord>,
}

/// The tenant's access to one shared cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRecord {
    /// The cluster name.
    pub name: String,
    /// The cluster ARN.
    pub arn: String,
    /// The access entries (their ARNs), one per tenant role, each with its role template's
    /// access policy.
    pub access_entries: Vec<String>,
    /// The namespaces every entry's policy is scoped to.
    pub namespaces: Vec<String>,
}

/// What GrantClusterAccess leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessRecord {
    /// One entry per shared cluster, in the config's order.
    pub clusters: Vec<ClusterRecord>,
}

/// The tenant's account in the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccountRecord {
    /// The account id.
    pub id: String,
    /// Its OU.
    pub ou_id: String,
    /// The home region.
    pub region: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn account_progress_carries_what_each_state_needs() {
        for (progress, wire) in [
            (
                AccountProgress::ready("111122223333"),
                json!({"state": "SUCCEEDED", "accountId": "111122223333"}),
            ),
            (
                AccountProgress::in_progress("car-1"),
                json!({"state": "IN_PROGRESS", "createRequestId": "car-1"}),
            ),
            (
                AccountProgress::Restart {
                    reason: "CONCURRENT_ACCOUNT_MODIFICATION".into(),
                },
                json!({"state": "RESTART", "reason": "CONCURRENT_ACCOUNT_MODIFICATION"}),
            ),
            (
                AccountProgress::Queued {
                    creating: vec!["a".into(), "b".into()],
                    retry_after_seconds: 30,
                },
                json!({"state": "QUEUED", "creating": ["a", "b"], "retryAfterSeconds": 30}),
            ),
            (
                AccountProgress::duplicate("other"),
                json!({"state": "DUPLICATE", "heldBy": "other"}),
            ),
        ] {
            assert_eq!(encode(&progress), Ok(wire.clone()));
            assert_eq!(decode::<AccountProgress>(wire), Ok(progress));
        }
        assert!(
            decode::<AccountProgress>(json!({"state": "SUCCEEDED"})).is_err(),
            "succeeded without an account cannot be said"
        );
    }
}
