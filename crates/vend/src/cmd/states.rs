//! `vend states run` and `vend states test`: a definition on the local executor, and the
//! executor scored against executions recorded on AWS.

use anyhow::{Context as _, Result};
use asl_executor::conformance::{Outcome, parse_cases, run_case};
use asl_executor::{Executor, ExecutorConfig, HistoryEvent, Status, TimeMode};
use serde_json::Value;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// The options of `vend states run`.
#[derive(Debug, clap::Args)]
pub struct RunOptions {
    /// The definition file (JSON).
    #[arg(long)]
    definition: PathBuf,
    /// The input: JSON text, or @FILE to read it from a file.
    #[arg(long, default_value = "{}")]
    input: String,
    /// The execution name.
    #[arg(long)]
    name: Option<String>,
    /// Also print the execution history, as AWS's GetExecutionHistory shows it.
    #[arg(long)]
    history: bool,
    /// Wait in real time instead of on the virtual clock.
    #[arg(long)]
    real_time: bool,
    /// Print each state entered, with its time offset from the start, to stderr.
    #[arg(long)]
    steps: bool,
}

/// JSON text, or `@FILE` to read it from a file.
pub fn read_input(arg: &str) -> Result<Value> {
    let text = match arg.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("reading the input file {file}"))?,
        None => arg.to_owned(),
    };
    serde_json::from_str(&text).context("the input is not valid JSON")
}

/// One line per state entered (offset from the start, type, name), then how it ended.
fn print_steps(events: &[HistoryEvent]) -> Result<()> {
    let mut err = std::io::stderr().lock();
    let Some(start) = events.first().map(|e| e.timestamp) else {
        return Ok(());
    };
    for e in events {
        let offset = (e.timestamp - start).num_milliseconds() as f64 / 1000.0;
        if let Some(ty) = e.event_type.strip_suffix("StateEntered") {
            let name = e
                .details
                .as_ref()
                .and_then(|d| d.name())
                .unwrap_or_default();
            writeln!(err, "  +{offset:>8.1}s  {ty:<8} {name}")?;
        } else if e.event_type.starts_with("Execution") && e.event_type != "ExecutionStarted" {
            writeln!(err, "  +{offset:>8.1}s  {}", e.event_type)?;
        }
    }
    Ok(())
}

/// Runs a definition once.
pub async fn run(opts: RunOptions) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&opts.definition)
        .with_context(|| format!("reading {}", opts.definition.display()))?;
    let def: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", opts.definition.display()))?;
    let input = read_input(&opts.input)?;
    let time = if opts.real_time {
        TimeMode::Real
    } else {
        TimeMode::Virtual
    };
    let executor = Executor::new(ExecutorConfig {
        time,
        ..ExecutorConfig::default()
    });
    let sm_name = opts
        .definition
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("local")
        .replace('.', "-");
    let arn = executor.create_state_machine(&sm_name, &def, &Default::default())?;
    let started = std::time::Instant::now();
    let (result, events) = executor.run(&arn, opts.name.as_deref(), input).await?;
    let took = started.elapsed();
    if opts.steps {
        print_steps(&events)?;
        let transitions = events
            .iter()
            .filter(|e| e.event_type.ends_with("StateEntered"))
            .count();
        writeln!(
            std::io::stderr(),
            "  {transitions} transitions in {:.1} ms of real time",
            took.as_secs_f64() * 1000.0
        )?;
    }
    let mut out = result.to_json();
    if opts.history {
        out["history"] = Value::Array(events.iter().map(HistoryEvent::to_json).collect());
    }
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&out)?
    )?;
    Ok(if result.status == Status::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Scores the executor against a conformance file.
pub async fn test(cases: PathBuf, show_causes: bool) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(&cases).with_context(|| format!("reading {}", cases.display()))?;
    let cases = parse_cases(&text).map_err(anyhow::Error::msg)?;
    let (mut passed, mut failed, mut skipped, mut cause_diffs) = (0, 0, 0, 0);
    let mut stdout = std::io::stdout().lock();
    for case in &cases {
        match run_case(case).await {
            Outcome::Passed { cause_mismatch } => {
                passed += 1;
                if let Some((expected, got)) = cause_mismatch {
                    cause_diffs += 1;
                    if show_causes {
                        writeln!(
                            stdout,
                            "CAUSE {}\n  expected: {expected:?}\n  got:      {got:?}",
                            case.id
                        )?;
                    }
                }
            }
            Outcome::Failed { expected, got } => {
                failed += 1;
                writeln!(
                    stdout,
                    "FAIL {}\n  expected: {expected}\n  got:      {got}",
                    case.id
                )?;
            }
            Outcome::Skipped { .. } => skipped += 1,
        }
    }
    writeln!(
        stdout,
        "cause texts differing from AWS's (reported, not counted as failures): {cause_diffs}"
    )?;
    writeln!(
        stdout,
        "{passed} passed, {failed} failed, {skipped} skipped"
    )?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
