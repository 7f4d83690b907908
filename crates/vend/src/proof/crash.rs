//! Crash at every point: for every AWS call of a tenant's vending (the portal's TenantRequest
//! and every step), a run in which the caller dies right after that call took effect and
//! before it saw the answer, as a Lambda that times out would; then the same request is posted
//! again, as the portal's user would. The end state must be the uninterrupted run's: one
//! account, one VPC with its subnets, attachment and flow log, one block claimed, the same
//! roles and access entries, the same record bytes, one commit, the registry READY and the
//! lease released.
//!
//! A point is the n-th call of a stream: one principal's calls to one service (`<role>|<service>`,
//! as the sandbox names them). The branches of the Parallel state run at once and their calls
//! interleave differently from run to run, but each stream's calls come in the same order, so
//! a point is the same call in every run. Each point vends its own tenant on one sandbox (the
//! calls of one vending do not depend on other tenants'), and states are compared with the ids
//! AWS makes up replaced by their kind.

use super::state::{TenantState, tenant_state};
use super::{portal_request, started_execution};
use crate::local::Local;
use asl_executor::Status;
use serde_json::json;
use std::collections::BTreeMap;

/// Calls that took effect (answered 2xx) per stream, by stream name.
pub type Streams = BTreeMap<String, u64>;

/// What the sweep found.
#[derive(Debug, Clone, Default)]
pub struct CrashReport {
    /// AWS calls in an uninterrupted vending: the crash points.
    pub points: u64,
    /// Points tried.
    pub covered: u64,
    /// Points whose end state differed, with what differed.
    pub failures: Vec<String>,
    /// The vending's calls per stream.
    pub streams: Streams,
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

/// Vends `tenant` without a crash; returns its state and its calls per stream.
pub async fn uninterrupted(local: &Local, tenant: &str) -> Result<(TenantState, Streams), String> {
    let from = calls_so_far(local)?;
    if !post(local, tenant).await? {
        return Err(format!("{tenant} did not vend"));
    }
    // The streams first: reading the state makes calls of its own, through the member role.
    let streams = streams_since(local, from)?;
    Ok((tenant_state(local, tenant).await?, streams))
}

/// How many calls the sandbox has answered so far (where `streams_since` starts counting).
pub fn calls_so_far(local: &Local) -> Result<usize, String> {
    Ok(local.sandbox.calls().map_err(|e| e.to_string())?.len())
}

/// The crash points among the calls the sandbox answered since the `from`-th, per stream.
pub fn streams_since(local: &Local, from: usize) -> Result<Streams, String> {
    let mut streams = Streams::new();
    for call in local
        .sandbox
        .calls()
        .map_err(|e| e.to_string())?
        .iter()
        .skip(from)
    {
        // The sandbox marks the calls its crash counter counts (those that took effect: a
        // caller that dies after an error has changed nothing).
        if call["point"] == json!(true) {
            let name = call["stream"].as_str().unwrap_or_default().to_owned();
            *streams.entry(name).or_default() += 1;
        }
    }
    Ok(streams)
}

/// One point: the caller dies after the `n`-th call of `stream`; the request is posted again
/// until the tenant is READY (at most three times); the end state is compared with `expected`.
pub async fn point(
    local: &Local,
    k: u64,
    stream: &str,
    n: u64,
    expected: &TenantState,
) -> Result<(), String> {
    let tenant = format!("crash-{k}");
    local
        .sandbox
        .arm_crash(n, Some(stream))
        .map_err(|e| e.to_string())?;
    let first = post(local, &tenant).await?;
    let struck = local.sandbox.crash().map_err(|e| e.to_string())?["struck"].clone();
    local.sandbox.clear_faults().map_err(|e| e.to_string())?;
    if struck.is_null() {
        return Err(format!(
            "point {k} ({stream} #{n}): the vending never made that call"
        ));
    }
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
            "point {k} ({stream} #{n}, {}): posted again, the tenant {}: {}",
            struck["operation"].as_str().unwrap_or_default(),
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

/// The first lines in which two states' debug forms differ.
pub fn difference(a: &TenantState, b: &TenantState) -> String {
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

/// Sweeps the points `select` picks out of all (all of them: `|_| true`), numbered from 1
/// stream by stream.
pub async fn sweep(local: &Local, select: impl Fn(u64) -> bool) -> Result<CrashReport, String> {
    local
        .sandbox
        .configure(&json!({"announceAccounts": false}))
        .map_err(|e| e.to_string())?;
    let (expected, streams) = uninterrupted(local, "crash-0").await?;
    // The same vending again must take the same calls in each stream: the points are fixed.
    let (_, again) = uninterrupted(local, "crash-00").await?;
    if again != streams {
        return Err(format!(
            "two uninterrupted vendings made different calls: {streams:?} and {again:?}"
        ));
    }
    Ok(each_point(streams, select, async |k, stream, n| {
        point(local, k, stream, n, &expected).await
    })
    .await)
}

/// Tries the points `select` picks, numbered from 1 stream by stream: the `n`-th call of
/// `stream` is point `k`, tried with `try_point(k, stream, n)`.
pub async fn each_point(
    streams: Streams,
    select: impl Fn(u64) -> bool,
    try_point: impl AsyncFn(u64, &str, u64) -> Result<(), String>,
) -> CrashReport {
    let mut report = CrashReport {
        points: streams.values().sum(),
        ..CrashReport::default()
    };
    let mut k = 0;
    for (stream, calls) in &streams {
        for n in 1..=*calls {
            k += 1;
            if !select(k) {
                continue;
            }
            report.covered += 1;
            if let Err(e) = try_point(k, stream, n).await {
                report.failures.push(e);
            }
        }
    }
    report.streams = streams;
    report
}
