//! The values steps hand each other through the workflow state (their JSON is the contract
//! between the definition and the functions).

use serde::{Deserialize, Serialize};

/// Where the tenant's account stands after EnsureAccount or CheckAccount. The definition's
/// Choice loops on `state` until it is `SUCCEEDED`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountProgress {
    /// `SUCCEEDED` or `IN_PROGRESS`.
    pub state: AccountState,
    /// The account, once it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The CreateAccount request being polled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_request_id: Option<String>,
}

/// The two states the workflow distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountState {
    /// The account exists.
    Succeeded,
    /// Creation is under way: wait and check again.
    InProgress,
}

impl AccountProgress {
    /// The account exists.
    pub fn ready(account_id: impl Into<String>) -> AccountProgress {
        AccountProgress {
            state: AccountState::Succeeded,
            account_id: Some(account_id.into()),
            create_request_id: None,
        }
    }

    /// Creation is under way.
    pub fn in_progress(request_id: impl Into<String>) -> AccountProgress {
        AccountProgress {
            state: AccountState::InProgress,
            account_id: None,
            create_request_id: Some(request_id.into()),
        }
    }
}
