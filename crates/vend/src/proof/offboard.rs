//! Crash at every point of an offboarding: for every AWS call of a tenant's offboarding (the
//! portal's `DELETE /tenants/{tenantId}` and every action of the Offboard function, closure
//! polls included), a run in which the caller dies right after that call took effect; then the
//! tenant is offboarded again, as its operator would (`vend offboard` once more). The end state
//! must be the uninterrupted offboarding's: the account closed in the suspended OU, no access
//! entry, no attachment, the record closed with the same bytes and commits, the block held,
//! the registry CLOSED and the lease released.
//!
//! Points are numbered as in `crash`, stream by stream. Each point vends its own tenant first,
//! uninterrupted, then arms the crash. The platform must have no grace period (the sweep does
//! not wait a week).

use super::crash::{CrashReport, Streams, calls_so_far, each_point, streams_since};
use super::state::{TenantState, tenant_state};
use super::{portal_request, started_execution};
use crate::local::Local;
use asl_executor::Status;
use serde_json::{Value, json};

/// The portal's `DELETE /tenants/{tenant}` (closing the account), as API Gateway gives it.
fn delete_request(tenant: &str) -> Value {
    let mut event = portal_request(tenant, "unused");
    let path = format!("/tenants/{tenant}");
    event["rawPath"] = json!(path);
    event["routeKey"] = json!("DELETE /tenants/{tenantId}");
    event["requestContext"]["http"]["method"] = json!("DELETE");
    event["requestContext"]["http"]["path"] = json!(path);
    event["body"] = json!(r#"{"closeAccount": true}"#);
    event
}

/// Vends `tenant`, uninterrupted.
async fn vend(local: &Local, tenant: &str) -> Result<(), String> {
    let answer = local
        .request(portal_request(tenant, &format!("r-{tenant}")))
        .await;
    let arn = started_execution(&answer).ok_or_else(|| format!("{tenant}: {answer}"))?;
    let (result, _) = local.wait(&arn).await.map_err(|e| e.to_string())?;
    if result.status != Status::Succeeded {
        return Err(format!("{tenant} did not vend: {:?}", result.cause));
    }
    Ok(())
}

/// Asks for the tenant's offboarding and waits for what it started; true when it SUCCEEDED.
async fn offboard(local: &Local, tenant: &str) -> Result<bool, String> {
    let answer = local.request(delete_request(tenant)).await;
    let Some(arn) = started_execution(&answer) else {
        return Ok(false);
    };
    let (result, _) = local.wait(&arn).await.map_err(|e| e.to_string())?;
    Ok(result.status == Status::Succeeded)
}

/// The registry's status of the tenant.
async fn status(local: &Local, tenant: &str) -> Result<String, String> {
    Ok(tenant_state(local, tenant).await?.status)
}

/// Vends and offboards `tenant` without a crash; returns its end state and the offboarding's
/// calls per stream.
pub async fn uninterrupted(local: &Local, tenant: &str) -> Result<(TenantState, Streams), String> {
    vend(local, tenant).await?;
    let from = calls_so_far(local)?;
    if !offboard(local, tenant).await? {
        return Err(format!("{tenant} was not offboarded"));
    }
    local.settle().await.map_err(|e| e.to_string())?;
    // The streams first: reading the state makes calls of its own, through the member role.
    let streams = streams_since(local, from)?;
    Ok((tenant_state(local, tenant).await?, streams))
}

/// One point: the caller dies after the `n`-th call of `stream` of the offboarding; the tenant
/// is offboarded again until it is CLOSED (at most three times); the end state is compared
/// with `expected`.
pub async fn point(
    local: &Local,
    k: u64,
    stream: &str,
    n: u64,
    expected: &TenantState,
) -> Result<(), String> {
    let tenant = format!("off-{k}");
    vend(local, &tenant).await?;
    local
        .sandbox
        .arm_crash(n, Some(stream))
        .map_err(|e| e.to_string())?;
    let _ = offboard(local, &tenant).await?;
    // A crash of the portal's StartExecution leaves an execution running unseen.
    local.settle().await.map_err(|e| e.to_string())?;
    let struck = local.sandbox.crash().map_err(|e| e.to_string())?["struck"].clone();
    local.sandbox.clear_faults().map_err(|e| e.to_string())?;
    if struck.is_null() {
        return Err(format!(
            "point {k} ({stream} #{n}): the offboarding never made that call"
        ));
    }
    for _ in 0..3 {
        if status(local, &tenant).await? == "Closed" {
            break;
        }
        offboard(local, &tenant).await?;
        local.settle().await.map_err(|e| e.to_string())?;
    }
    let got = tenant_state(local, &tenant).await?;
    if got != *expected {
        return Err(format!(
            "point {k} ({stream} #{n}, {}): offboarded again, the tenant {}: {}",
            struck["operation"].as_str().unwrap_or_default(),
            if got.status == "Closed" {
                "is CLOSED but differs"
            } else {
                "never became CLOSED"
            },
            super::crash::difference(expected, &got)
        ));
    }
    Ok(())
}

/// Sweeps the points `select` picks out of all (`|_| true`: every one), numbered from 1
/// stream by stream.
pub async fn sweep(local: &Local, select: impl Fn(u64) -> bool) -> Result<CrashReport, String> {
    if local
        .config()
        .offboarding
        .as_ref()
        .is_none_or(|o| o.grace_period_seconds > 0)
    {
        return Err(
            "the offboarding sweep needs a platform with offboarding and no grace period".into(),
        );
    }
    // Every point closes an account: far more than AWS's 10 closures in 30 days of a small
    // organization, which the sandbox holds it to (a large one's quota, up to 1000).
    local
        .sandbox
        .configure(&json!({"announceAccounts": false, "closeQuota": 1000}))
        .map_err(|e| e.to_string())?;
    let (expected, streams) = uninterrupted(local, "off-0").await?;
    let (_, again) = uninterrupted(local, "off-00").await?;
    if again != streams {
        return Err(format!(
            "two uninterrupted offboardings made different calls: {streams:?} and {again:?}"
        ));
    }
    Ok(each_point(streams, select, async |k, stream, n| {
        point(local, k, stream, n, &expected).await
    })
    .await)
}
