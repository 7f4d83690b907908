//! `vend`: the tenant-vending command line.
//!
//! `vend states run` runs an Amazon States Language definition on the local executor;
//! `vend states test` scores the executor against recorded AWS executions.

use anyhow::{Context as _, Result, bail};
use asl_executor::conformance::{Outcome, parse_cases, run_case};
use asl_executor::{Executor, ExecutorConfig, Status, TimeMode};
use clap::{Parser, Subcommand};
use serde_json::Value;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "vend",
    version,
    about = "Tenant vending: local runs, conformance checks and operations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run and check Amazon States Language definitions on the local executor.
    States {
        #[command(subcommand)]
        command: StatesCommand,
    },
}

#[derive(Debug, Subcommand)]
enum StatesCommand {
    /// Run a definition once and print `{"status", "output", "error", "cause"}`.
    Run {
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
    },
    /// Score the executor against a conformance file (one recorded execution per line).
    Test {
        /// The cases file (JSON Lines).
        #[arg(long)]
        cases: PathBuf,
        /// Also list cases whose error cause text differs from the recording.
        #[arg(long)]
        show_causes: bool,
    },
}

fn read_input(arg: &str) -> Result<Value> {
    let text = match arg.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("reading the input file {file}"))?,
        None => arg.to_owned(),
    };
    serde_json::from_str(&text).context("the input is not valid JSON")
}

async fn states_run(
    definition: PathBuf,
    input: String,
    name: Option<String>,
    history: bool,
    real_time: bool,
) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&definition)
        .with_context(|| format!("reading {}", definition.display()))?;
    let def: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", definition.display()))?;
    let input = read_input(&input)?;
    let config = ExecutorConfig {
        time: if real_time {
            TimeMode::Real
        } else {
            TimeMode::Virtual
        },
        ..ExecutorConfig::default()
    };
    let executor = Executor::new(config);
    let sm_name = definition
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("local")
        .replace('.', "-");
    let arn = executor.create_state_machine(&sm_name, &def, &Default::default())?;
    let (result, events) = executor.run(&arn, name.as_deref(), input).await?;
    let mut out = result.to_json();
    if history {
        out["history"] = Value::Array(events.iter().map(|e| e.to_json()).collect());
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", serde_json::to_string_pretty(&out)?)?;
    Ok(if result.status == Status::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn states_test(cases: PathBuf, show_causes: bool) -> Result<ExitCode> {
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
        "cause texts differing from AWS's (not counted as failures): {cause_diffs}"
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

fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cli.command {
            Command::States {
                command:
                    StatesCommand::Run {
                        definition,
                        input,
                        name,
                        history,
                        real_time,
                    },
            } => states_run(definition, input, name, history, real_time).await,
            Command::States {
                command: StatesCommand::Test { cases, show_causes },
            } => {
                if !cases.exists() {
                    bail!("no cases file at {}", cases.display());
                }
                states_test(cases, show_causes).await
            }
        }
    })
}
