//! `vend proof`: the crash sweeps (vending, offboarding), faults at scale and load, each on a fresh local platform,
//! with a line per claim and a last line `N passed, M failed`.

use anyhow::Result;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use vend::local::{Local, LocalOptions, example_config};
use vend::proof::{crash, offboard, scale};

/// The options of `vend proof`.
#[derive(Debug, clap::Args)]
pub struct ProofArgs {
    /// Crash after every `n`-th AWS call only (1: every point).
    #[arg(long, default_value_t = 1)]
    crash_every: u64,
    /// Tenants requested at once with faults injected at random.
    #[arg(long, default_value_t = 20)]
    fault_tenants: usize,
    /// The share of AWS calls that fail at random in that run.
    #[arg(long, default_value_t = 0.3)]
    fault_rate: f64,
    /// The random faults' seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Distinct tenants requested at once.
    #[arg(long, default_value_t = 100)]
    load_tenants: usize,
    /// Identical requests posted at once.
    #[arg(long, default_value_t = 20)]
    identical: usize,
}

async fn platform() -> Result<Local> {
    let quiet: vend::local::Observer = Arc::new(|_| {});
    Ok(Local::start(example_config()?, LocalOptions::default(), quiet).await?)
}

/// A platform whose offboardings have no grace period (the sweep does not wait a week).
async fn offboarding_platform() -> Result<Local> {
    let quiet: vend::local::Observer = Arc::new(|_| {});
    let mut config = example_config()?;
    if let Some(o) = config.offboarding.as_mut() {
        o.grace_period_seconds = 0;
    }
    Ok(Local::start(config, LocalOptions::default(), quiet).await?)
}

/// A crash sweep's line: points covered, how many differed, the calls per stream, the time.
fn sweep_line(what: &str, report: &crash::CrashReport, started: std::time::Instant) -> String {
    format!(
        "{what} points covered: {} of {} ({} differed; calls per stream: {}) in {}",
        report.covered,
        report.points,
        report.failures.len(),
        report
            .streams
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        secs(started.elapsed())
    )
}

fn secs(d: std::time::Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Runs `vend proof`.
pub async fn run(args: ProofArgs) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let (mut passed, mut failed) = (0, 0);
    let mut claim = |ok: bool, line: String, out: &mut std::io::StdoutLock<'_>| -> Result<()> {
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
        writeln!(out, "{} {line}", if ok { "PASS" } else { "FAIL" })?;
        Ok(())
    };

    let started = std::time::Instant::now();
    let local = platform().await?;
    let every = args.crash_every.max(1);
    let report = crash::sweep(&local, |k| k % every == 0 || every == 1)
        .await
        .map_err(anyhow::Error::msg)?;
    drop(local);
    for f in &report.failures {
        writeln!(out, "  {f}")?;
    }
    claim(
        report.failures.is_empty() && (every > 1 || report.covered == report.points),
        sweep_line("crash", &report, started),
        &mut out,
    )?;

    let started = std::time::Instant::now();
    let local = offboarding_platform().await?;
    let report = offboard::sweep(&local, |k| k % every == 0 || every == 1)
        .await
        .map_err(anyhow::Error::msg)?;
    drop(local);
    for f in &report.failures {
        writeln!(out, "  {f}")?;
    }
    claim(
        report.failures.is_empty() && (every > 1 || report.covered == report.points),
        sweep_line("offboarding crash", &report, started),
        &mut out,
    )?;

    let local = platform().await?;
    let (faults, injected) =
        scale::with_chaos(&local, args.fault_tenants, args.fault_rate, args.seed)
            .await
            .map_err(anyhow::Error::msg)?;
    drop(local);
    let total: u64 = injected
        .as_object()
        .map(|m| m.values().filter_map(serde_json::Value::as_u64).sum())
        .unwrap_or(0);
    for f in &faults.failures {
        writeln!(out, "  {f}")?;
    }
    claim(
        faults.ready == faults.tenants && faults.overlaps == 0,
        format!(
            "faults: {:.0} % of AWS calls failed at random ({total} faults injected: {injected}); {} of {} tenants READY with one of everything; {} task attempts retried by the workflow, {} portal answers posted again; {} overlapping blocks; in {}",
            args.fault_rate * 100.0,
            faults.ready,
            faults.tenants,
            faults.retried_tasks,
            faults.refused_posts,
            faults.overlaps,
            secs(faults.wall)
        ),
        &mut out,
    )?;

    let local = platform().await?;
    let load = scale::batch(&local, "load", args.load_tenants)
        .await
        .map_err(anyhow::Error::msg)?;
    for f in &load.failures {
        writeln!(out, "  {f}")?;
    }
    claim(
        load.ready == load.tenants && load.overlaps == 0,
        format!(
            "load: {} distinct tenants at once: {} READY, {} overlapping blocks, in {} of real time (the sandbox used {} of CPU, this process {})",
            load.tenants,
            load.ready,
            load.overlaps,
            secs(load.wall),
            secs(load.sandbox_cpu),
            secs(load.vend_cpu)
        ),
        &mut out,
    )?;
    let same = scale::identical(&local, "same", args.identical)
        .await
        .map_err(anyhow::Error::msg)?;
    claim(
        same.executions == 1 && same.accounts == 1 && same.ready,
        format!(
            "load: {} identical requests at once: {} execution, {} account, READY: {}",
            same.requests, same.executions, same.accounts, same.ready
        ),
        &mut out,
    )?;
    writeln!(out, "{passed} passed, {failed} failed")?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
