//! The PlaceAccount step: the account ends up in its environment's OU with the tenant's and
//! the service's tags, and gets the tenant's account alias (an adopted account that already
//! has an alias keeps it, and the step reports the alias in effect). Everything is read before
//! it is changed, so a re-run changes nothing.

use vending_domain::ports::{Accounts, Identity, Organization};
use vending_domain::steps::{AccountInput, Placement};
use vending_domain::{PlatformConfig, StepError, TenantSpec};

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

/// The step on its typed input (`vending_domain::steps::PlaceAccount`).
pub async fn handle<O: Organization, A: Accounts>(
    org: &O,
    accounts: &A,
    config: &PlatformConfig,
    input: AccountInput,
) -> Result<Placement, StepError> {
    let iam = accounts
        .identity(&input.account_id, &input.execution_name)
        .await?;
    place_account(org, &iam, config, &input.spec, &input.account_id).await
}
