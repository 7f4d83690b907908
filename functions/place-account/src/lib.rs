//! The PlaceAccount step: the account ends up in its environment's OU with the tenant's and
//! the service's tags. Both are read before they are changed, so a re-run changes nothing.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vending_domain::ports::Organization;
use vending_domain::steps::AccountProgress;
use vending_domain::{StepError, TenantSpec};

/// What the workflow passes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    /// The validated request.
    pub spec: TenantSpec,
    /// The account.
    pub account: AccountProgress,
}

/// Where the account was placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// The account.
    pub account_id: String,
    /// Its OU.
    pub ou_id: String,
    /// True when this run moved it.
    pub moved: bool,
}

/// The step.
pub async fn place_account<O: Organization>(
    org: &O,
    spec: &TenantSpec,
    account: &AccountProgress,
) -> Result<Placement, StepError> {
    let account_id = account
        .account_id
        .clone()
        .ok_or_else(|| StepError::Internal("PlaceAccount ran before the account existed".into()))?;
    let parent = org.parent_of(&account_id).await?;
    let moved = parent != spec.ou_id;
    if moved {
        org.move_account(&account_id, &parent, &spec.ou_id).await?;
    }
    let current = org.account_tags(&account_id).await?;
    let missing: std::collections::BTreeMap<String, String> = spec
        .all_tags()
        .into_iter()
        .filter(|(k, v)| current.get(k) != Some(v))
        .collect();
    org.tag_account(&account_id, &missing).await?;
    tracing::info!(tenant = %spec.tenant_id, account = %account_id, ou = %spec.ou_id, moved, "account placed");
    Ok(Placement {
        account_id,
        ou_id: spec.ou_id.clone(),
        moved,
    })
}

/// The Lambda payload to the step's JSON result.
pub async fn handle<O: Organization>(org: &O, payload: Value) -> Result<Value, StepError> {
    let input: Input = vending_domain::steps::decode(payload)?;
    let placed = place_account(org, &input.spec, &input.account).await?;
    vending_domain::steps::encode(&placed)
}
