//! The values steps hand each other through the workflow state (their JSON is the contract
//! between the definition and the functions).

use crate::error::StepError;
use serde::de::DeserializeOwned;
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
