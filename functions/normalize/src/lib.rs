//! The Normalize step: every workflow input becomes a validated `TenantSpec` to vend, a
//! `Skipped` outcome for an account-created event that is not for the platform, or an
//! `InvalidRequest` naming each bad field, before anything changes in AWS.
//!
//! What each input means is domain logic (`vending_domain::trigger`). This step adds the
//! reads an account-created event needs: Organizations' CloudTrail event masks the account's
//! name, so the name, tags and parent come from Organizations (DescribeAccount,
//! ListTagsForResource, ListParents); an account this service created itself (tagged
//! `vending:tenant`, known to the registry) ends quietly. It writes nothing.

use serde_json::Value;
use vending_domain::ports::{Organization, Registry};
use vending_domain::request::TENANT_TAG;
use vending_domain::steps::NormalizeInput;
use vending_domain::trigger::{AccountFacts, Normalized, Skipped, Trigger, adopt, recognise};
use vending_domain::{PlatformConfig, StepError, TenantId, TenantRequest, ValidationErrors};

/// What Organizations says of the account an event names.
async fn facts<O: Organization>(org: &O, account_id: &str) -> Result<AccountFacts, StepError> {
    let Some(account) = org.describe_account(account_id).await? else {
        let mut e = ValidationErrors::default();
        e.push(
            "accountId",
            format!("account {account_id} is not in this organization"),
        );
        return Err(StepError::InvalidRequest(e));
    };
    Ok(AccountFacts {
        id: account.id,
        name: account.name,
        parent_id: org.parent_of(account_id).await?,
        tags: org.account_tags(account_id).await?,
    })
}

/// Says what the registry knows of an account this service created.
async fn with_registry<R: Registry>(
    registry: &R,
    facts: &AccountFacts,
    skipped: Skipped,
) -> Result<Skipped, StepError> {
    let Some(tenant) = facts
        .tags
        .get(TENANT_TAG)
        .and_then(|t| TenantId::parse(t).ok())
    else {
        return Ok(skipped);
    };
    let known = registry.get(&tenant).await?;
    let note = match known {
        Some(e) if e.account_id.as_deref() == Some(facts.id.as_str()) => {
            format!(
                "; the registry holds it as {tenant}'s account ({:?})",
                e.status
            )
        }
        Some(_) => format!("; {tenant}'s vending is still adopting it"),
        None => format!("; the registry has no entry for {tenant} yet"),
    };
    Ok(Skipped {
        reason: skipped.reason + &note,
        ..skipped
    })
}

/// The tenant request an account-created event makes, or why it makes none.
async fn from_account<O: Organization, R: Registry>(
    org: &O,
    registry: &R,
    config: &PlatformConfig,
    event_id: &str,
    account_id: &str,
    event_ou: Option<&str>,
) -> Result<Result<TenantRequest, Skipped>, StepError> {
    let facts = facts(org, account_id).await?;
    match adopt(config, event_id, &facts, event_ou) {
        Ok(request) => Ok(Ok(request)),
        Err(skipped) => Ok(Err(with_registry(registry, &facts, skipped).await?)),
    }
}

/// The step: any workflow input to a tenant to vend, or a trigger to skip.
pub async fn normalize<O: Organization, R: Registry>(
    org: &O,
    registry: &R,
    config: &PlatformConfig,
    trigger: &Value,
) -> Result<Normalized, StepError> {
    let request = match recognise(trigger)? {
        Trigger::Request(v) | Trigger::TenantRequested(v) => TenantRequest::from_value(&v)?,
        Trigger::ControlTowerAccount {
            event_id,
            account_id,
            ou_id,
            ..
        } => match from_account(org, registry, config, &event_id, &account_id, Some(&ou_id)).await?
        {
            Ok(request) => request,
            Err(skipped) => return Ok(skip(skipped)),
        },
        Trigger::OrganizationsAccount {
            event_id,
            account_id,
        } => match from_account(org, registry, config, &event_id, &account_id, None).await? {
            Ok(request) => request,
            Err(skipped) => return Ok(skip(skipped)),
        },
    };
    let spec = request.validate(config)?;
    tracing::info!(tenant = %spec.tenant_id, request = %spec.request_id, "normalized");
    Ok(Normalized::Vend {
        spec: Box::new(spec),
    })
}

fn skip(skipped: Skipped) -> Normalized {
    tracing::info!(account = %skipped.account_id, reason = %skipped.reason, "not a trigger for this platform; skipped");
    Normalized::Skip { skipped }
}

/// The step on its typed input (`vending_domain::steps::Normalize`).
pub async fn handle<O: Organization, R: Registry>(
    org: &O,
    registry: &R,
    config: &PlatformConfig,
    input: NormalizeInput,
) -> Result<Normalized, StepError> {
    normalize(org, registry, config, &input.trigger).await
}
