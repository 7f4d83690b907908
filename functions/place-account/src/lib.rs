//! The PlaceAccount step: the account ends up in its environment's OU with the tenant's and
//! the service's tags, and gets the tenant's account alias (an adopted account that already
//! has an alias keeps it, and the step reports the alias in effect). Everything is read before
//! it is changed, so a re-run changes nothing.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vending_domain::ports::{Accounts, Identity, Organization};
use vending_domain::{PlatformConfig, StepError, TenantSpec};

/// What the workflow passes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    /// The validated request.
    pub spec: TenantSpec,
    /// The account.
    pub account_id: String,
    /// The execution, for the assumed-role session name.
    pub execution_name: String,
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
    /// The account alias in effect (the tenant's, or the one an adopted account kept).
    pub alias: String,
}

/// The step.
pub async fn place_account<O: Organization, I: Identity>(
    org: &O,
    iam: &I,
    config: &PlatformConfig,
    spec: &TenantSpec,
    account_id: &str,
) -> Result<Placement, StepError> {
    let account_id = account_id.to_owned();
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
    if !missing.is_empty() {
        org.tag_account(&account_id, &missing).await?;
    }
    let alias = iam
        .ensure_account_alias(&config.account_alias(&spec.tenant_id))
        .await?;
    tracing::info!(tenant = %spec.tenant_id, account = %account_id, ou = %spec.ou_id, moved, "account placed");
    Ok(Placement {
        account_id,
        ou_id: spec.ou_id.clone(),
        moved,
        alias,
    })
}

/// The Lambda payload to the step's JSON result.
pub async fn handle<O: Organization, A: Accounts>(
    org: &O,
    accounts: &A,
    config: &PlatformConfig,
    payload: Value,
) -> Result<Value, StepError> {
    let input: Input = vending_domain::steps::decode(payload)?;
    let iam = accounts
        .identity(&input.account_id, &input.execution_name)
        .await?;
    let placed = place_account(org, &iam, config, &input.spec, &input.account_id).await?;
    vending_domain::steps::encode(&placed)
}
