//! `vend`: the tenant-vending command line.
//!
//! `vend local` vends a tenant end to end on the local sandbox; `vend render` prints the
//! manifests of a tenant record; `vend states run` runs an
//! Amazon States Language definition on the local executor; `vend states test` scores the
//! executor against recorded AWS executions.

use anyhow::{Context as _, Result};
use asl_executor::conformance::{Outcome, parse_cases, run_case};
use asl_executor::{Executor, ExecutorConfig, HistoryEvent, Status, TimeMode};
use clap::{Parser, Subcommand};
use serde_json::Value;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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
    /// Vend a tenant end to end on the local sandbox: the real workflow definition on the
    /// local executor, every function's handler in process, the real SDK against moto.
    Local(LocalOptions),
    /// Run every built bootstrap (`sam build`'s output) on a local Lambda Runtime API through
    /// the demo's vending on the sandbox, and print init time, first invocation, peak memory
    /// and size per function.
    Coldstart {
        /// Where `sam build` put the functions (one folder per function, with `bootstrap`).
        #[arg(long, default_value = ".aws-sam/build")]
        build_dir: PathBuf,
    },
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
    Run(RunOptions),
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

#[derive(Debug, clap::Args)]
struct LocalOptions {
    /// The trigger payload (a file of `events/`, or any JSON file).
    #[arg(long, default_value = "events/portal-request.json")]
    trigger: PathBuf,
    /// The platform config; its ids are replaced by the seeded sandbox's.
    #[arg(long, default_value = "infra/platform-config.json")]
    config: PathBuf,
    /// The execution name (default: derived from the trigger, so a re-run reuses it).
    #[arg(long)]
    name: Option<String>,
    /// How many status polls a new account takes in the sandbox.
    #[arg(long, default_value_t = 3)]
    account_polls: u32,
    /// Where the execution history and record are written, and where the local GitOps
    /// repository (`gitops.git`) lives unless the config names a `file://` one or a bucket.
    #[arg(long, default_value = ".vend")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
struct RunOptions {
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

fn read_input(arg: &str) -> Result<Value> {
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
                .and_then(|(_, d)| d["name"].as_str())
                .unwrap_or_default();
            writeln!(err, "  +{offset:>8.1}s  {ty:<8} {name}")?;
        } else if e.event_type.starts_with("Execution") && e.event_type != "ExecutionStarted" {
            writeln!(err, "  +{offset:>8.1}s  {}", e.event_type)?;
        }
    }
    Ok(())
}

async fn states_run(opts: RunOptions) -> Result<ExitCode> {
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

/// An execution name derived from the trigger: the same trigger gets the same name.
fn derived_name(input: &Value) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(input.to_string().as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("local-{hex}")
}

async fn local(opts: LocalOptions) -> Result<ExitCode> {
    use vend::local::{Local, Observer, StepReport};
    let input = read_input(&format!("@{}", opts.trigger.display()))?;
    let config_text = std::fs::read_to_string(&opts.config)
        .with_context(|| format!("reading {}", opts.config.display()))?;
    let mut config = vending_domain::PlatformConfig::from_json(&config_text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", opts.config.display()))?;
    if let vending_domain::config::GitOpsConfig::Git(git) = &mut config.gitops
        && !git.url.starts_with("file://")
    {
        std::fs::create_dir_all(&opts.out)
            .with_context(|| format!("creating {}", opts.out.display()))?;
        // A fresh repository for a fresh sandbox: the registry starts again at generation 1,
        // and a repository kept from an earlier run could hold a higher one.
        let repo = std::path::absolute(opts.out.join("gitops.git"))?;
        if repo.exists() {
            std::fs::remove_dir_all(&repo)
                .with_context(|| format!("removing the previous {}", repo.display()))?;
        }
        git.url = format!("file://{}", repo.display());
        git.credentials_secret_arn = None;
    }
    let name = opts.name.clone().unwrap_or_else(|| derived_name(&input));
    let observer: Observer = Arc::new(|r: &StepReport| {
        let outcome = match &r.error {
            None => "ok".to_owned(),
            Some((name, message)) => format!("{name}: {message}"),
        };
        let ms = r.elapsed.as_secs_f64() * 1000.0;
        let _ = writeln!(
            std::io::stderr(),
            "  {:<20} {ms:>8.1} ms  {outcome}",
            r.state
        );
    });
    let mut err = std::io::stderr();
    writeln!(err, "starting and seeding the sandbox...")?;
    let started = std::time::Instant::now();
    let local = Local::start(config, opts.account_polls, observer).await?;
    let seeded = &local.seeded;
    writeln!(
        err,
        "sandbox at {} ({:.1} s): network account {} (transit gateway {}), platform account {} (clusters {})",
        local.sandbox.endpoint(),
        started.elapsed().as_secs_f64(),
        seeded.network_account_id,
        seeded.transit_gateway_id,
        seeded.platform_account_id,
        local
            .platform
            .config
            .clusters
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    writeln!(err, "execution {name} of {}:", opts.trigger.display())?;
    let started = std::time::Instant::now();
    let (result, events) = local.vend(&name, input).await?;
    let real = started.elapsed();
    let virtual_secs = match (events.first(), events.last()) {
        (Some(a), Some(b)) => (b.timestamp - a.timestamp).num_milliseconds() as f64 / 1000.0,
        _ => 0.0,
    };
    writeln!(
        err,
        "{} in {:.2} s of real time ({virtual_secs:.0} s on the workflow's clock, Waits included)",
        result.status.as_str(),
        real.as_secs_f64()
    )?;
    let dir = opts.out.join("runs").join(&name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let history: Vec<Value> = events.iter().map(HistoryEvent::to_json).collect();
    std::fs::write(
        dir.join("history.json"),
        serde_json::to_string_pretty(&history)?,
    )?;
    std::fs::write(
        dir.join("result.json"),
        serde_json::to_string_pretty(&result.to_json())?,
    )?;
    std::fs::write(
        dir.join("platform-config.json"),
        serde_json::to_string_pretty(&local.platform.config)?,
    )?;
    if result.status == Status::Succeeded {
        std::fs::write(
            dir.join("record.json"),
            serde_json::to_string_pretty(&result.output)? + "\n",
        )?;
    }
    let mut out = std::io::stdout().lock();
    if result.status == Status::Succeeded {
        writeln!(out, "{}", serde_json::to_string_pretty(&result.output)?)?;
    } else {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "status": result.status.as_str(),
                "error": result.error,
                "cause": result.cause,
            }))?
        )?;
    }
    writeln!(
        err,
        "history, result, record and the seeded platform config are in {}",
        dir.display()
    )?;
    if let vending_domain::config::GitOpsConfig::Git(git) = &local.platform.config.gitops
        && let Some(path) = git.url.strip_prefix("file://")
    {
        let path = std::path::Path::new(path);
        match vending_gitops::head(path, &git.branch) {
            Ok(Some(head)) => {
                writeln!(
                    err,
                    "GitOps repository {} ({}): head {} \"{}\"",
                    path.display(),
                    git.branch,
                    &head.commit[..12],
                    head.summary
                )?;
                for file in &head.files {
                    writeln!(err, "  {file}")?;
                }
                writeln!(
                    err,
                    "inspect it with: git --git-dir {} log --stat {}",
                    path.display(),
                    git.branch
                )?;
            }
            Ok(None) => writeln!(
                err,
                "GitOps repository {}: nothing committed",
                path.display()
            )?,
            Err(e) => writeln!(err, "GitOps repository {}: {e}", path.display())?,
        }
    }
    Ok(if result.status == Status::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Prints the manifests HandOff would write for a record, one YAML document per file.
fn render(record: &std::path::Path, root: &str) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(record).with_context(|| format!("reading {}", record.display()))?;
    let record = vending_domain::TenantRecord::from_json(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", record.display()))?;
    let bundle = tenant_manifests::bundle(&record, root)?;
    let mut out = std::io::stdout().lock();
    for file in &bundle.manifests {
        writeln!(out, "---\n# {}", file.path)?;
        out.write_all(&file.bytes)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn ms(d: Option<std::time::Duration>) -> String {
    d.map_or_else(
        || "-".to_owned(),
        |d| format!("{:.1} ms", d.as_secs_f64() * 1000.0),
    )
}

async fn coldstart(build_dir: PathBuf) -> Result<ExitCode> {
    use std::collections::{BTreeMap, HashMap};
    use std::sync::Mutex;
    use vend::local::{Local, WORKFLOW_FUNCTIONS, example_config, function_arn, repo_file};
    use vend::runtime_api::Bootstrap;

    let mut functions = BTreeMap::new();
    for entry in std::fs::read_dir(&build_dir).with_context(|| {
        format!(
            "reading {} (run `make sam-build` first)",
            build_dir.display()
        )
    })? {
        let entry = entry?;
        let bootstrap = entry.path().join("bootstrap");
        if bootstrap.is_file() {
            functions.insert(entry.file_name().to_string_lossy().into_owned(), bootstrap);
        }
    }
    anyhow::ensure!(
        !functions.is_empty(),
        "no bootstrap under {}",
        build_dir.display()
    );
    type Slots = Arc<Mutex<HashMap<String, Arc<Bootstrap>>>>;
    let slots: Slots = Arc::default();
    let registered = slots.clone();
    let local = Local::start_with(example_config()?, 3, move |executor, _| {
        let mut subs = HashMap::new();
        for state in WORKFLOW_FUNCTIONS {
            let (key, arn) = function_arn(executor, state);
            let slots = registered.clone();
            let logical = format!("{state}Function");
            executor.register_function(
                &arn,
                asl_executor::handler_fn(move |req| {
                    let b = slots
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .get(&logical)
                        .cloned();
                    let logical = logical.clone();
                    async move {
                        match b {
                            Some(b) => b.invoke(req.payload).await,
                            None => Err(asl_executor::TaskError::new(
                                "Runtime.NoBootstrap",
                                format!("no bootstrap was built for {logical}"),
                            )),
                        }
                    }
                }),
            );
            subs.insert(key, arn);
        }
        subs
    })
    .await?;

    let out = std::path::Path::new(".vend/coldstart");
    std::fs::create_dir_all(out)?;
    let config_file = out.join("platform-config.json");
    std::fs::write(
        &config_file,
        serde_json::to_string_pretty(&local.platform.config)?,
    )?;
    let clients = vending_aws::Clients::from_config(local.sdk.clone());
    let machine = clients
        .stepfunctions
        .create_state_machine()
        .name("tenant-vending")
        .definition(repo_file("workflows/tenant-vending.asl.json")?)
        .role_arn("arn:aws:iam::123456789012:role/tenant-vending-workflow")
        .send()
        .await
        .context("creating the sandbox's state machine for tenant-request")?;
    let env: Vec<(String, String)> = [
        ("AWS_REGION", local.platform.config.region.clone()),
        ("AWS_DEFAULT_REGION", local.platform.config.region.clone()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_ENDPOINT_URL", local.sandbox.endpoint()),
        ("PLATFORM_CONFIG_FILE", config_file.display().to_string()),
        ("REGISTRY_TABLE", vend::local::REGISTRY_TABLE.to_owned()),
        ("EVENT_BUS_NAME", vend::local::EVENT_BUS.to_owned()),
        ("STATE_MACHINE_ARN", machine.state_machine_arn().to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    // One at a time, so each init has the machine to itself.
    let mut started = BTreeMap::new();
    for (logical, binary) in &functions {
        let b = Arc::new(
            Bootstrap::start(logical, binary, &env, &out.join(format!("{logical}.log")))
                .await
                .with_context(|| format!("starting {}", binary.display()))?,
        );
        slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(logical.clone(), b.clone());
        started.insert(logical.clone(), b);
    }
    let trigger: Value = serde_json::from_str(&repo_file("events/portal-request.json")?)?;
    let (result, _) = local.vend("coldstart", trigger.clone()).await?;
    let mut ok = result.status == Status::Succeeded;
    if let Some(request) = started.get("TenantRequestFunction") {
        let answer = request.invoke(trigger).await;
        ok &= answer.as_ref().is_ok_and(|a| a["statusCode"] == 202);
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "| function | bootstrap | init | first invocation | invocations | peak RSS |"
    )?;
    writeln!(stdout, "|---|---:|---:|---:|---:|---:|")?;
    for (logical, b) in &started {
        let f = b.figures();
        let size = std::fs::metadata(&functions[logical]).map_or(0, |m| m.len());
        writeln!(
            stdout,
            "| {logical} | {} | {} | {} | {} | {} |",
            mib(size),
            ms(f.init),
            ms(f.first_invocation),
            f.invocations,
            f.peak_rss.map_or_else(|| "-".to_owned(), mib),
        )?;
    }
    writeln!(
        stdout,
        "\nvending through the bootstraps: {}; targets: init < 30 ms, peak RSS < 32 MiB, bootstrap < 8 MiB; logs in {}",
        result.status.as_str(),
        out.display()
    )?;
    Ok(if ok {
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
            Command::Local(opts) => local(opts).await,
            Command::Coldstart { build_dir } => coldstart(build_dir).await,
            Command::Render { record, root } => render(&record, &root),
            Command::States {
                command: StatesCommand::Run(opts),
            } => states_run(opts).await,
            Command::States {
                command: StatesCommand::Test { cases, show_causes },
            } => states_test(cases, show_causes).await,
        }
    })
}
