//! Crash at every point: for every AWS call of a tenant's vending (the portal's TenantRequest
//! and every step), a run in which the caller dies right after that call took effect and
//! before it saw the answer, as a Lambda that times out would; then the same request is posted
//! again, as the portal's user would. The end state must be the uninterrupted run's: one
//! account, one VPC with its subnets, attachment and flow log, one block claimed, the same
//! roles and access entries, the same record bytes, one commit, the registry READY and the
//! lease released.
//!
//! Each point vends its own tenant on one sandbox (the calls of one vending do not depend on
//! other tenants'), and states are compared with the ids AWS makes up replaced by their kind.

use super::state::{TenantState, tenant_state};
use super::{portal_request, started_execution};
use crate::local::Local;
use asl_executor::Status;
use serde_json::json;

/// What the sweep found.
#[derive(Debug, Clone, Default)]
pub struct CrashReport {
    /// AWS calls in an uninterrupted vending: the crash points.
    pub points: u64,
    /// Points tried.
    pub covered: u64,
    /// Points whose end state differed, with what differed.
    pub failures: Vec<String>,
}

/// Posts the request and waits for the execution it started; true when it SUCCEEDED.
async fn post(local: &Local, tenant: &str) -> Result<bool, String> {
    let answer = local
        .request(portal_request(tenant, &format!("r-{tenant}")))
        .await;
    let Some(arn) = started_execution(&answer) else {
        return Ok(false);
    };
    let (result, _) = local.wait(&arn).await.map_err(|e| e.to_string())?;
    Ok(result.status == Status::Succeeded)
}

/// Vends `tenant` without a crash; returns its state and the number of AWS calls it took.
pub async fn uninterrupted(local: &Local, tenant: &str) -> Result<(TenantState, u64), String> {
    local
        .sandbox
        .arm_crash(u64::MAX / 2)
        .map_err(|e| e.to_string())?;
    if !post(local, tenant).await? {
        return Err(format!("{tenant} did not vend"));
    }
    let seen = local.sandbox.crash().map_err(|e| e.to_string())?["seen"]
        .as_u64()
        .unwrap_or(0);
    local.sandbox.clear_faults().map_err(|e| e.to_string())?;
    Ok((tenant_state(local, tenant).await?, seen))
}

/// One point: the caller dies after call `k`; the request is posted again until the tenant is
/// READY (at most three times); the end state is compared with `expected`.
pub async fn point(local: &Local, k: u64, expected: &TenantState) -> Result<(), String> {
    let tenant = format!("crash-{k}");
    local.sandbox.arm_crash(k).map_err(|e| e.to_string())?;
    let first = post(local, &tenant).await?;
    let struck = local.sandbox.crash().map_err(|e| e.to_string())?["struck"].clone();
    local.sandbox.clear_faults().map_err(|e| e.to_string())?;
    let mut done = first;
    for _ in 0..3 {
        if done {
            break;
        }
        done = post(local, &tenant).await?;
    }
    // Nothing of a crashed attempt may still be running when the state is read.
    local.settle().await.map_err(|e| e.to_string())?;
    let got = tenant_state(local, &tenant).await?;
    if !done || got != *expected {
        return Err(format!(
            "point {k} (after {struck}): posted again, the tenant {}: {}",
            if done {
                "is READY but differs"
            } else {
                "never became READY"
            },
            difference(expected, &got)
        ));
    }
    Ok(())
}

fn difference(a: &TenantState, b: &TenantState) -> String {
    let a = format!("{a:#?}");
    let b = format!("{b:#?}");
    let mut out = Vec::new();
    for (x, y) in a.lines().zip(b.lines()) {
        if x != y {
            out.push(format!("expected {} got {}", x.trim(), y.trim()));
        }
    }
    if out.is_empty() && a != b {
        out.push("the states differ in length".into());
    }
    out.into_iter().take(6).collect::<Vec<_>>().join("; ")
}

/// Sweeps the points `select` picks out of all (all of them: `|_| true`).
pub async fn sweep(local: &Local, select: impl Fn(u64) -> bool) -> Result<CrashReport, String> {
    local
        .sandbox
        .configure(&json!({"announceAccounts": false}))
        .map_err(|e| e.to_string())?;
    let (expected, points) = uninterrupted(local, "crash-0").await?;
    // The same vending again must take the same calls: the points are the same for every tenant.
    let (_, again) = uninterrupted(local, "crash-00").await?;
    if again != points {
        return Err(format!(
            "two uninterrupted vendings took {points} and {again} calls: the points are not fixed"
        ));
    }
    let mut report = CrashReport {
        points,
        ..CrashReport::default()
    };
    for k in (1..=points).filter(|k| select(*k)) {
        report.covered += 1;
        if let Err(e) = point(local, k, &expected).await {
            report.failures.push(e);
        }
    }
    Ok(report)
}
