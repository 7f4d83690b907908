//! `vend bench`: the vending's figures from one run on one local platform, as a table
//! (`make bench-vend`; docs/benchmarks.md keeps the results).

use anyhow::Result;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;
use vend::bench::{self, DOLLARS_PER_TRANSITION, InterpreterRun, median};
use vend::local::{Local, LocalOptions, example_config};

/// The options of `vend bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Tenants vended one at a time, each through the workflow and bare.
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    /// Tenants requested at once.
    #[arg(long, default_value_t = 100)]
    at_once: usize,
    /// Executions of the Pass-only definition on each interpreter.
    #[arg(long, default_value_t = 50)]
    executions: usize,
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn interpreter(name: &str, r: &InterpreterRun) -> String {
    let total = (r.transitions * r.executions) as f64;
    format!(
        "| {name} | {} | {} | {:.2} ms | {:.0} |",
        r.executions,
        r.transitions,
        r.wall.as_secs_f64() * 1000.0 / r.executions.max(1) as f64,
        total / r.wall.as_secs_f64().max(1e-9)
    )
}

/// Runs `vend bench`.
pub async fn run(args: BenchArgs) -> Result<()> {
    let quiet: vend::local::Observer = Arc::new(|_| {});
    let local = Local::start(example_config()?, LocalOptions::default(), quiet).await?;
    let f = bench::run(&local, args.rounds, args.at_once, args.executions)
        .await
        .map_err(anyhow::Error::msg)?;
    let mut out = std::io::stdout().lock();

    let e2e = median(f.end_to_end.iter().map(|r| r.wall).collect());
    let bare = median(f.bare.iter().map(|r| r.wall).collect());
    let served = median(f.end_to_end.iter().map(|r| r.served).collect());
    let first = f.end_to_end.first().cloned().unwrap_or_default();
    let bare_calls = f.bare.first().map(|r| r.calls.len()).unwrap_or(0);
    writeln!(
        out,
        "## One tenant at a time (median of {})",
        f.end_to_end.len()
    )?;
    writeln!(out)?;
    writeln!(out, "| figure | value |")?;
    writeln!(out, "|---|---:|")?;
    writeln!(
        out,
        "| wall time per tenant, through the workflow | {} |",
        ms(e2e)
    )?;
    writeln!(
        out,
        "| wall time per tenant, the same handlers bare | {} |",
        ms(bare)
    )?;
    writeln!(
        out,
        "| the workflow's overhead (workflow / bare; goal at most 1.3×) | {:.2}× |",
        e2e.as_secs_f64() / bare.as_secs_f64().max(1e-9)
    )?;
    writeln!(
        out,
        "| time the sandbox spent serving the tenant's calls | {} |",
        ms(served)
    )?;
    writeln!(
        out,
        "| AWS calls per tenant (workflow / bare) | {} / {} |",
        first.calls.len(),
        bare_calls
    )?;
    writeln!(
        out,
        "| state transitions per tenant | {} |",
        first.transitions
    )?;
    writeln!(
        out,
        "| Step Functions cost per tenant ($0.025 per 1,000 transitions) | ${:.5} (${:.2} per 1,000 tenants) |",
        first.transitions as f64 * DOLLARS_PER_TRANSITION,
        first.transitions as f64 * DOLLARS_PER_TRANSITION * 1000.0
    )?;
    writeln!(out)?;
    let (only_workflow, only_bare) = &f.difference;
    writeln!(
        out,
        "Calls only the workflow made: {}; calls only the bare run made: {}.",
        if only_workflow.is_empty() {
            "none".into()
        } else {
            only_workflow.join(", ")
        },
        if only_bare.is_empty() {
            "none".into()
        } else {
            only_bare.join(", ")
        }
    )?;
    let mut by_operation: std::collections::BTreeMap<&str, usize> = Default::default();
    for c in &first.calls {
        *by_operation.entry(c.as_str()).or_default() += 1;
    }
    let mut ops: Vec<_> = by_operation.into_iter().collect();
    ops.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let listed: Vec<String> = ops.iter().map(|(op, n)| format!("{op} {n}")).collect();
    writeln!(out, "The workflow's calls: {}.", listed.join(", "))?;
    writeln!(out)?;

    let burst = &f.at_once;
    writeln!(out, "## {} tenants at once", burst.tenants)?;
    writeln!(out)?;
    writeln!(out, "| figure | value |")?;
    writeln!(out, "|---|---:|")?;
    writeln!(
        out,
        "| tenants READY | {} of {} |",
        burst.ready, burst.tenants
    )?;
    writeln!(out, "| overlapping blocks | {} |", burst.overlaps)?;
    writeln!(
        out,
        "| wall time, first request to last READY | {:.1} s |",
        burst.wall.as_secs_f64()
    )?;
    writeln!(
        out,
        "| wall time per tenant | {} |",
        ms(burst.wall / burst.tenants.max(1) as u32)
    )?;
    writeln!(
        out,
        "| CPU time of the sandbox (moto) | {:.1} s |",
        burst.sandbox_cpu.as_secs_f64()
    )?;
    writeln!(
        out,
        "| CPU time of vend (executor, handlers, SDK) | {:.1} s |",
        burst.vend_cpu.as_secs_f64()
    )?;
    writeln!(out)?;

    writeln!(
        out,
        "## The vending definition, Tasks as Pass states, on two interpreters"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| interpreter | executions | transitions each | per execution | transitions/s |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|")?;
    writeln!(out, "{}", interpreter("local executor", &f.executor))?;
    writeln!(out, "{}", interpreter("moto's interpreter", &f.moto))?;
    Ok(())
}
