//! The Offboard step: every Task state of `workflows/tenant-offboarding.asl.json` runs it with
//! an `action` (one function for the whole workflow, so one bootstrap to build and deploy).
//!
//! - `begin` (phase one, at once and reversible): the guards (never the management, network or
//!   cluster accounts, nor one the config protects, nor an account not tagged for the tenant);
//!   the tenant's lease; the registry entry `OFFBOARDING` (the intent first, so a re-run
//!   resumes); the tenant's access entries on every shared cluster removed; the account moved
//!   to the suspended OU; the record at lifecycle `offboarding` (generation plus one), so the
//!   Capsule tenant is cordoned; `TenantOffboarding`; the lease given back for the grace
//!   period, so a new request can take the tenant back.
//! - `finish` (phase two, after the grace period): nothing when a new request took the tenant
//!   back or a later offboarding took over (`CANCELLED`). Else: the record at lifecycle
//!   `closed`, whose bundle has no manifests (the operator removes the tenant); the VPC's
//!   routes through the transit gateway and its attachment deleted; with the explicit flag,
//!   the tenant's account alias deleted (aliases are global: the tenant's next account needs
//!   it) and `CloseAccount` (`CLOSING`), refused clearly when AWS's closure quota is used up.
//! - `checkClosure`: the account's status until it is `SUSPENDED`; then the registry `CLOSED`,
//!   the VPC block held for the 90 days AWS lets a closed account be reopened, and
//!   `TenantOffboarded`.
//! - `recordFailure`: a caught failure on the tenant this execution was offboarding (its
//!   status stays `OFFBOARDING`, with the failure), and `TenantOffboardingFailed`.
//!
//! Every action converges: run again, it finds what it did and does the rest.

use serde_json::json;
use vending_domain::ports::{
    Accounts, ClusterAccess, EventBus, FailureInfo, Identity, Lease, ManifestDestination,
    Organization, Registry, RegistryEntry, TenantNetwork, TenantStatus,
};
use vending_domain::record::Lifecycle;
use vending_domain::registry::{Offboarding, REOPEN_WINDOW_SECONDS, now_seconds};
use vending_domain::request::TENANT_TAG;
use vending_domain::steps::{FailedOffboarding, OffboardInput, OffboardProgress, OffboardRequest};
use vending_domain::{PlatformConfig, StepError, TenantId, TenantRecord, ValidationErrors};

/// What the step reaches: Organizations, the registry, the bus, member accounts and the
/// GitOps destination.
#[derive(Debug)]
pub struct Services<'a, O, R, B, A, D> {
    /// Organizations of the management account.
    pub org: &'a O,
    /// The registry.
    pub registry: &'a R,
    /// The event bus.
    pub bus: &'a B,
    /// Member accounts (the tenant's EC2, the clusters' EKS).
    pub accounts: &'a A,
    /// Where the tenant's manifests are.
    pub destination: &'a D,
}

fn invalid(field: &str, reason: String) -> StepError {
    let mut e = ValidationErrors::default();
    e.push(field, reason);
    StepError::InvalidRequest(e)
}

/// The guards: the account is not one of the platform's own, and this service made or
/// adopted it for the tenant (its `vending:tenant` tag names the tenant).
async fn guard<O: Organization>(
    org: &O,
    config: &PlatformConfig,
    tenant: &TenantId,
    account: &str,
) -> Result<(), StepError> {
    let management = org.management_account().await?;
    let why = if account == management {
        Some("the organization's management account")
    } else {
        config.platform_account(account)
    };
    if let Some(why) = why {
        return Err(invalid(
            "tenantId",
            format!("{tenant}'s account {account} is {why}: it is never offboarded"),
        ));
    }
    let tags = org.account_tags(account).await?;
    if tags.get(TENANT_TAG).map(String::as_str) != Some(tenant.as_str()) {
        return Err(StepError::Conflict(format!(
            "account {account} is not tagged {TENANT_TAG}={tenant}: this service did not create or adopt it for {tenant}, so it does not offboard it"
        )));
    }
    Ok(())
}

/// Removes the tenant's access entries (tagged for it, of principals in its account) from
/// every shared cluster; returns how many went.
async fn revoke_access<A: Accounts>(
    accounts: &A,
    config: &PlatformConfig,
    tenant: &TenantId,
    account: &str,
    session: &str,
) -> Result<usize, StepError> {
    let mut removed = 0;
    for cluster in &config.clusters {
        let eks = accounts
            .clusters(&cluster.account_id, &config.region, session)
            .await?;
        for entry in eks.access_entries(&cluster.name, account).await? {
            if entry.tags.get(TENANT_TAG).map(String::as_str) == Some(tenant.as_str()) {
                eks.remove_access_entry(&cluster.name, &entry.principal_arn)
                    .await?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Writes the tenant's record at `lifecycle` (generation plus one) with its manifests to the
/// destination, and keeps it in `entry`; returns the generation (0 for a tenant never handed
/// off, which has nothing in the destination). The record changes in its lifecycle alone (its
/// `requestId` stays the last request's), so every execution writes the same bytes and a
/// re-run commits nothing new. A record the registry holds at that lifecycle already (or
/// `closed`, when phase one runs again) is not written again: the registry takes a record only
/// after the destination did.
async fn publish<D: ManifestDestination>(
    destination: &D,
    config: &PlatformConfig,
    entry: &mut RegistryEntry,
    lifecycle: Lifecycle,
) -> Result<u64, StepError> {
    let Some(text) = entry.record.as_deref() else {
        return Ok(0);
    };
    let previous: TenantRecord = serde_json::from_str(text).map_err(|e| {
        StepError::Internal(format!(
            "the registry's record of {} cannot be read ({e}): fix it before offboarding",
            entry.tenant_id
        ))
    })?;
    let done = previous.lifecycle == lifecycle
        || (previous.lifecycle == Lifecycle::Closed && lifecycle == Lifecycle::Offboarding);
    if done {
        return Ok(previous.generation);
    }
    let record = TenantRecord {
        lifecycle,
        ..previous.clone()
    }
    .with_generation_after(Some(&previous));
    let bundle = tenant_manifests::bundle(&record, config.gitops.root()).map_err(|e| match e {
        tenant_manifests::RenderError::Invalid(errs) => StepError::InvalidRequest(errs),
        other => StepError::Internal(other.to_string()),
    })?;
    destination.publish(&bundle).await?;
    entry.record = Some(
        String::from_utf8(bundle.record.bytes)
            .map_err(|e| StepError::Internal(format!("the record is not UTF-8: {e}")))?,
    );
    Ok(record.generation)
}

/// Phase one.
pub async fn begin<O, R, B, A, D>(
    s: &Services<'_, O, R, B, A, D>,
    config: &PlatformConfig,
    trigger: &serde_json::Value,
    execution: &str,
) -> Result<OffboardProgress, StepError>
where
    O: Organization,
    R: Registry,
    B: EventBus,
    A: Accounts,
    D: ManifestDestination,
{
    let settings = config.offboarding.as_ref().ok_or_else(|| {
        invalid(
            "offboarding",
            "the platform config has no offboarding section: offboarding is off".into(),
        )
    })?;
    let (request, tenant) = OffboardRequest::from_value(trigger)?;
    let Some(mut entry) = s.registry.get(&tenant).await? else {
        return Err(invalid(
            "tenantId",
            format!("there is no tenant '{tenant}'"),
        ));
    };
    match entry.status {
        TenantStatus::Ready | TenantStatus::Failed | TenantStatus::Offboarding => {}
        TenantStatus::Closed => {
            return Err(StepError::Conflict(format!("{tenant} is closed already")));
        }
        TenantStatus::Requested | TenantStatus::Provisioning => {
            return Err(StepError::Conflict(format!(
                "{tenant} is being vended: offboard it once that execution has ended"
            )));
        }
    }
    let account = entry.account_id.clone().ok_or_else(|| {
        StepError::Conflict(format!(
            "{tenant} has no account: its vending never got that far, so there is nothing to offboard"
        ))
    })?;
    guard(s.org, config, &tenant, &account).await?;
    if let Lease::HeldBy(other) = s.registry.acquire(&tenant, execution).await? {
        return Err(StepError::Conflict(format!(
            "execution {other} works on {tenant}: offboard it once that one has ended"
        )));
    }
    let now = now_seconds();
    // A re-run (or a later offboarding taking over) keeps the grace period already running.
    let grace_ends_at = match (&entry.status, &entry.offboarding) {
        (TenantStatus::Offboarding, Some(o)) => o.grace_ends_at,
        _ => now + settings.grace_period_seconds,
    };
    let close_requested_at = entry
        .offboarding
        .as_ref()
        .and_then(|o| o.close_requested_at);
    entry.status = TenantStatus::Offboarding;
    entry.failure = None;
    entry.offboarding = Some(Offboarding {
        execution: execution.to_owned(),
        close_account: request.close_account,
        reason: request.reason.clone(),
        grace_ends_at,
        close_requested_at,
        cidr_held_until: None,
    });
    s.registry.put(&entry).await?;

    let revoked = revoke_access(s.accounts, config, &tenant, &account, execution).await?;
    let parent = s.org.parent_of(&account).await?;
    if parent != settings.suspended_ou_id {
        s.org
            .move_account(&account, &parent, &settings.suspended_ou_id)
            .await?;
    }
    let generation = publish(s.destination, config, &mut entry, Lifecycle::Offboarding).await?;
    s.registry.put(&entry).await?;
    s.bus
        .put(
            "TenantOffboarding",
            &json!({
                "tenantId": tenant,
                "accountId": account,
                "generation": generation,
                "closeAccount": request.close_account,
                "graceEndsAt": grace_ends_at,
                "reason": request.reason,
                "execution": execution,
            }),
        )
        .await?;
    s.registry.release(&tenant, execution).await?;
    tracing::info!(tenant = %tenant, account = %account, revoked, generation, grace_ends_at, "phase one of the offboarding done");
    Ok(OffboardProgress::Grace {
        tenant_id: tenant,
        account_id: account,
        close_account: request.close_account,
        grace_seconds: grace_ends_at.saturating_sub(now),
    })
}

/// Phase two.
pub async fn finish<O, R, B, A, D>(
    s: &Services<'_, O, R, B, A, D>,
    config: &PlatformConfig,
    progress: OffboardProgress,
    execution: &str,
) -> Result<OffboardProgress, StepError>
where
    O: Organization,
    R: Registry,
    B: EventBus,
    A: Accounts,
    D: ManifestDestination,
{
    let OffboardProgress::Grace {
        tenant_id: tenant,
        account_id: account,
        close_account,
        ..
    } = progress
    else {
        return Err(StepError::Internal(format!(
            "finish runs after the grace period, not on {progress:?}"
        )));
    };
    let Some(mut entry) = s.registry.get(&tenant).await? else {
        return Err(StepError::Internal(format!(
            "{tenant} has no registry entry"
        )));
    };
    if let Some(reason) = cancelled(&entry, execution) {
        tracing::info!(tenant = %tenant, reason = %reason, "offboarding cancelled");
        return Ok(OffboardProgress::Cancelled {
            tenant_id: tenant,
            reason,
        });
    }
    if let Lease::HeldBy(other) = s.registry.acquire(&tenant, execution).await? {
        // A new request is taking the tenant back: the retry sees it and ends.
        return Err(StepError::ConcurrentModification(format!(
            "execution {other} holds {tenant}'s lease"
        )));
    }
    let generation = publish(s.destination, config, &mut entry, Lifecycle::Closed).await?;
    s.registry.put(&entry).await?;
    let net = s
        .accounts
        .network(&account, &config.region, execution)
        .await?;
    let detached = net
        .detach_from_transit_gateway(tenant.as_str(), &config.network.transit_gateway_id)
        .await?;
    tracing::info!(tenant = %tenant, generation, detached = ?detached, "manifests removed and network detached");
    if close_account {
        guard(s.org, config, &tenant, &account).await?;
        // The tenant's alias goes with the account: aliases are unique across AWS and a
        // closed account keeps its resources, so the tenant's next account could not take it.
        let alias = config.account_alias(&tenant);
        let iam = s.accounts.identity(&account, execution).await?;
        if iam.remove_account_alias(&alias).await? {
            tracing::info!(tenant = %tenant, alias, "account alias removed before closing");
        }
        s.org.close_account(&account).await?;
        if let Some(o) = entry.offboarding.as_mut()
            && o.close_requested_at.is_none()
        {
            o.close_requested_at = Some(now_seconds());
            s.registry.put(&entry).await?;
        }
        return Ok(OffboardProgress::Closing {
            tenant_id: tenant,
            account_id: account,
        });
    }
    complete(s, config, entry, &account, false, generation, execution).await
}

/// Why phase two does nothing, if it does nothing: a new request took the tenant back, or a
/// later offboarding took over.
fn cancelled(entry: &RegistryEntry, execution: &str) -> Option<String> {
    let tenant = &entry.tenant_id;
    match (&entry.status, &entry.offboarding) {
        (TenantStatus::Offboarding, Some(o)) if o.execution == execution => None,
        (TenantStatus::Offboarding, Some(o)) => Some(format!(
            "a later offboarding of {tenant} ({}) took over",
            o.execution
        )),
        (status, _) => Some(format!(
            "request {} took {tenant} back during the grace period (it is {})",
            entry.request_id,
            status.as_str()
        )),
    }
}

/// Polls the closing account.
pub async fn check_closure<O, R, B, A, D>(
    s: &Services<'_, O, R, B, A, D>,
    config: &PlatformConfig,
    progress: OffboardProgress,
    execution: &str,
) -> Result<OffboardProgress, StepError>
where
    O: Organization,
    R: Registry,
    B: EventBus,
{
    let OffboardProgress::Closing {
        tenant_id: tenant,
        account_id: account,
    } = progress
    else {
        return Err(StepError::Internal(format!(
            "checkClosure polls a closing account, not {progress:?}"
        )));
    };
    let Some(entry) = s.registry.get(&tenant).await? else {
        return Err(StepError::Internal(format!(
            "{tenant} has no registry entry"
        )));
    };
    // A later offboarding took the closure over (and may have completed it).
    if let Some(reason) = cancelled(&entry, execution) {
        return Ok(OffboardProgress::Cancelled {
            tenant_id: tenant,
            reason,
        });
    }
    let status = s
        .org
        .describe_account(&account)
        .await?
        .map(|a| a.status)
        .unwrap_or_else(|| "CLOSED".into());
    if !matches!(status.as_str(), "SUSPENDED" | "CLOSED") {
        tracing::info!(tenant = %tenant, account = %account, status, "account still closing");
        return Ok(OffboardProgress::Closing {
            tenant_id: tenant,
            account_id: account,
        });
    }
    let generation = entry.generation().unwrap_or(0);
    complete(s, config, entry, &account, true, generation, execution).await
}

/// The end: the registry `CLOSED` (the block held while the closed account can be reopened),
/// `TenantOffboarded`, the lease given back.
async fn complete<O, R, B, A, D>(
    s: &Services<'_, O, R, B, A, D>,
    config: &PlatformConfig,
    mut entry: RegistryEntry,
    account: &str,
    account_closed: bool,
    generation: u64,
    execution: &str,
) -> Result<OffboardProgress, StepError>
where
    R: Registry,
    B: EventBus,
{
    let tenant = entry.tenant_id.clone();
    let mut held_until = None;
    if account_closed {
        let until = now_seconds() + REOPEN_WINDOW_SECONDS;
        if let Some(cidr) = entry.cidr {
            s.registry
                .hold_cidr(cidr, config.network.pool.max_prefix_length, &tenant, until)
                .await?;
            held_until = Some(until);
        }
        if !entry.closed_accounts.iter().any(|a| a == account) {
            entry.closed_accounts.push(account.to_owned());
        }
    }
    if let Some(o) = entry.offboarding.as_mut() {
        o.cidr_held_until = held_until.or(o.cidr_held_until);
    }
    // The event before the entry says CLOSED: once it does, the offboarding cannot be run
    // again, so an event lost after that would be lost for good (a re-run may put it twice).
    s.bus
        .put(
            "TenantOffboarded",
            &json!({
                "tenantId": tenant,
                "accountId": account,
                "accountClosed": account_closed,
                "generation": generation,
                "cidr": entry.cidr,
                "cidrHeldUntil": held_until,
            }),
        )
        .await?;
    entry.status = TenantStatus::Closed;
    entry.failure = None;
    s.registry.put(&entry).await?;
    s.registry.release(&tenant, execution).await?;
    tracing::info!(tenant = %tenant, account, account_closed, "tenant offboarded");
    Ok(OffboardProgress::Closed {
        tenant_id: tenant,
        account_id: account.to_owned(),
        account_closed,
        generation,
    })
}

/// A caught failure: on the tenant when this execution had marked it offboarding (it stays
/// `OFFBOARDING`, with the failure, for a re-run), and reported.
pub async fn record_failure<R: Registry, B: EventBus>(
    registry: &R,
    bus: &B,
    state: FailedOffboarding,
    execution: &str,
) -> Result<OffboardProgress, StepError> {
    let Some((step, caught)) = state.failure.into_iter().next() else {
        return Err(StepError::Internal(
            "recordFailure ran without a caught error".into(),
        ));
    };
    let failure = FailureInfo {
        step,
        cause: caught.readable_cause(),
        error: caught.error,
    };
    let tenant = state
        .offboarding
        .as_ref()
        .and_then(|o| o.tenant().cloned())
        .or_else(|| {
            OffboardRequest::from_value(&state.trigger)
                .ok()
                .map(|(_, t)| t)
        });
    let Some(tenant) = tenant else {
        tracing::warn!(step = %failure.step, error = %failure.error, cause = %failure.cause, "an offboarding was refused before it named a tenant");
        return Ok(OffboardProgress::Failed {
            error: failure.error,
            cause: failure.cause,
        });
    };
    if let Some(mut entry) = registry.get(&tenant).await?
        && entry.status == TenantStatus::Offboarding
        && entry
            .offboarding
            .as_ref()
            .is_some_and(|o| o.execution == execution)
    {
        entry.failure = Some(failure.clone());
        registry.put(&entry).await?;
        bus.put(
            "TenantOffboardingFailed",
            &json!({
                "tenantId": tenant,
                "step": failure.step,
                "error": failure.error,
                "cause": failure.cause,
                "execution": execution,
            }),
        )
        .await?;
    }
    // Whatever the entry says (a failure after it said CLOSED, say), the lease is given back.
    registry.release(&tenant, execution).await?;
    tracing::warn!(step = %failure.step, error = %failure.error, cause = %failure.cause, "offboarding failed");
    Ok(OffboardProgress::Failed {
        error: failure.error,
        cause: failure.cause,
    })
}

/// The step on its typed input (`vending_domain::steps::Offboard`).
pub async fn handle<O, R, B, A, D>(
    s: &Services<'_, O, R, B, A, D>,
    config: &PlatformConfig,
    input: OffboardInput,
) -> Result<OffboardProgress, StepError>
where
    O: Organization,
    R: Registry,
    B: EventBus,
    A: Accounts,
    D: ManifestDestination,
{
    match input {
        OffboardInput::Begin {
            trigger,
            execution_name,
        } => begin(s, config, &trigger, &execution_name).await,
        OffboardInput::Finish {
            offboarding,
            execution_name,
        } => finish(s, config, offboarding, &execution_name).await,
        OffboardInput::CheckClosure {
            offboarding,
            execution_name,
        } => check_closure(s, config, offboarding, &execution_name).await,
        OffboardInput::RecordFailure {
            state,
            execution_name,
        } => record_failure(s.registry, s.bus, state, &execution_name).await,
    }
}
