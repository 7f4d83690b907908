//! `vend`: the tenant-vending command line. `main` parses and dispatches; each command's work
//! is in its module of `cmd`.
//!
//! `vend local` vends a tenant end to end on the local sandbox; `vend coldstart` runs the
//! built bootstraps through it; `vend render` prints the manifests of a tenant record;
//! `vend states run` runs an Amazon States Language definition on the local executor;
//! `vend states test` scores the executor against recorded AWS executions.

mod cmd;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "vend",
    version,
    about = "Tenant vending: local runs, conformance checks and operations",
    after_help = "Exit codes of request, status, list and rerun: 0 done (READY), 1 a tenant FAILED, \
2 invalid input (every bad field on stderr), 3 refused (a conflict), 4 no such tenant, \
5 the API unreachable or failing, 6 --wait/--watch timed out."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Vend a tenant end to end on the local sandbox, by the path its trigger takes in AWS:
    /// the real workflow definition on the local executor, every function's handler in process
    /// on its own template role, the real SDK against the sandbox.
    Local(cmd::local::LocalArgs),
    /// Serve the portal API on loopback, on a local platform that lives as long as the server:
    /// `vend request`, `vend status`, `vend list` and `vend rerun` talk to it by default.
    Serve(cmd::serve::ServeArgs),
    /// Request a tenant from the portal API: checked offline first, then posted.
    Request(cmd::tenants::RequestArgs),
    /// What a request would do, changing nothing: the account, OU and tags, the VPC block, the
    /// roles with boundary and trust, the access entries per cluster, and the record's and
    /// manifests' changes for a tenant that exists. With a tenant instead of a request: its
    /// drift, each way its resources differ from its record.
    Plan(cmd::tenants::PlanArgs),
    /// Show a tenant: status, current step, failure, generation.
    Status(cmd::tenants::StatusArgs),
    /// List tenants, by environment, status and tags.
    List(cmd::tenants::ListArgs),
    /// Run tenants' vending again with their last request (every step converges).
    Rerun(cmd::tenants::RerunArgs),
    /// Offboard a tenant: at once cordoned, its cluster access revoked and its account in the
    /// suspended OU; after the grace period its manifests and network removed, and its account
    /// closed with `--close-account`. A new request for the tenant meanwhile cancels it.
    Offboard(cmd::tenants::OffboardArgs),
    /// Print a shell completion script (`vend completions bash > /etc/bash_completion.d/vend`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Run every built bootstrap (`sam build`'s output) on a local Lambda Runtime API through
    /// the demo's vending on the sandbox, and print init time, first invocation, peak memory
    /// and size per function.
    Coldstart {
        /// Where `sam build` put the functions (one folder per function, with `bootstrap`).
        #[arg(long, default_value = ".aws-sam/build")]
        build_dir: PathBuf,
    },
    /// Prove the claims under crashes, faults and load on the local platform: a crash after
    /// every AWS call of a vending, then the request posted again; the same for an offboarding,
    /// then the offboarding asked for again; many tenants with a share of
    /// AWS calls failing at random; many tenants at once; identical requests at once. Ends with
    /// `N passed, M failed`.
    Proof(cmd::proof::ProofArgs),
    /// Measure the vending on the local platform and print the figures as tables: wall time
    /// per tenant through the workflow and bare, state transitions and their cost, AWS calls,
    /// tenants at once, and the local executor against moto's interpreter.
    Bench(cmd::bench::BenchArgs),
    /// Render a tenant record's manifests (Capsule Tenant and friends) to standard output,
    /// exactly as HandOff would commit them, without writing anything.
    Render {
        /// The tenant record (JSON, `tenant-vending.dev/v1`), for example
        /// `.vend/runs/<execution>/record.json`.
        #[arg(long)]
        record: PathBuf,
        /// The destination folder that holds `tenants/` (the config's `gitops` directory).
        #[arg(long, default_value = "")]
        root: String,
    },
    /// Run and check Amazon States Language definitions on the local executor.
    States {
        #[command(subcommand)]
        command: StatesCommand,
    },
}

#[derive(Debug, Subcommand)]
enum StatesCommand {
    /// Run a definition once and print `{"status", "output", "error", "cause"}`.
    Run(cmd::states::RunOptions),
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

fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cli.command {
            Command::Local(opts) => cmd::local::run(opts).await,
            Command::Serve(args) => cmd::serve::run(args).await,
            Command::Request(args) => cmd::tenants::request(args).await,
            Command::Plan(args) => cmd::tenants::plan(args).await,
            Command::Status(args) => cmd::tenants::status(args).await,
            Command::List(args) => cmd::tenants::list(args).await,
            Command::Rerun(args) => cmd::tenants::rerun(args).await,
            Command::Offboard(args) => cmd::tenants::offboard(args).await,
            Command::Completions { shell } => Ok(cmd::tenants::completions(
                shell,
                <Cli as clap::CommandFactory>::command(),
            )),
            Command::Coldstart { build_dir } => cmd::coldstart::run(build_dir).await,
            Command::Proof(args) => cmd::proof::run(args).await,
            Command::Bench(args) => cmd::bench::run(args).await.map(|()| ExitCode::SUCCESS),
            Command::Render { record, root } => cmd::render::render(&record, &root),
            Command::States {
                command: StatesCommand::Run(opts),
            } => cmd::states::run(opts).await,
            Command::States {
                command: StatesCommand::Test { cases, show_causes },
            } => cmd::states::test(cases, show_causes).await,
        }
    })
}
