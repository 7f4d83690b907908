//! The AssignTeams step's values: its input (an `action`, as the offboarding's) and where the
//! tenant's Identity Center assignments stand, whose `state` the definition's Choice reads.
//! CreateAccountAssignment is asynchronous, so the workflow waits and checks again while
//! assignments are `IN_PROGRESS`, as it does for an account's creation.

use crate::request::TenantSpec;
use serde::{Deserialize, Serialize};

/// What AssignTeams' Task states pass: `assign` (read what exists, make what is missing) or
/// `check` (poll the assignments being made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "action",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum AssignTeamsInput {
    /// The first Task: the tenant's teams on its account.
    Assign {
        /// The validated request (boxed: it is most of the input's size).
        spec: Box<TenantSpec>,
        /// The tenant's account.
        account_id: String,
        /// The execution, for the assumed-role session name.
        execution_name: String,
    },
    /// The poll: what the last Task answered.
    Check {
        /// The assignments as they stood.
        teams: TeamsRecord,
        /// The tenant (for the step's span only).
        #[serde(default)]
        tenant_id: String,
        /// The execution, for the assumed-role session name.
        execution_name: String,
    },
}

/// Whether every assignment is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TeamsState {
    /// Some are being made: wait and check again.
    InProgress,
    /// All are made; each permission set's role is known.
    Assigned,
}

/// Where the tenant's Identity Center assignments stand (AssignTeams' result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamsRecord {
    /// What the Choice reads.
    pub state: TeamsState,
    /// The tenant's account.
    pub account_id: String,
    /// One per kind of team the request names, in the order of the config's kinds.
    pub assignments: Vec<TeamAssignment>,
    /// The creation requests being polled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<String>,
}

impl TeamsRecord {
    /// Nothing to assign.
    pub fn none(account_id: &str) -> TeamsRecord {
        TeamsRecord {
            state: TeamsState::Assigned,
            account_id: account_id.to_owned(),
            assignments: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// The permission sets' roles that get cluster access, with their role template.
    pub fn cluster_roles(&self) -> impl Iterator<Item = (&str, &str)> {
        self.assignments
            .iter()
            .filter_map(|a| Some((a.role_arn.as_deref()?, a.cluster_access.as_deref()?)))
    }
}

/// One kind of team's groups, assigned one permission set on the tenant's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamAssignment {
    /// The kind (`owners`, `viewers`, a role template's name).
    pub kind: String,
    /// The permission set's name.
    pub permission_set: String,
    /// Its ARN.
    pub permission_set_arn: String,
    /// The groups, in the request's order.
    pub groups: Vec<TeamGroup>,
    /// The role the permission set became in the account, by its full ARN (with its path
    /// `/aws-reserved/sso.amazonaws.com/...`), once assigned. A new one, with another suffix,
    /// after every assignment of the set was removed and made again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The role template whose cluster access that role gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_access: Option<String>,
}

/// An Identity Store group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamGroup {
    /// Its display name, as the request gave it.
    pub name: String,
    /// Its id in the identity store.
    pub id: String,
}
