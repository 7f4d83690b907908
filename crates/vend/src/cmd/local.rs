//! `vend local`: one trigger, end to end, on the local platform, by the path it takes in AWS.
//! A portal request goes to the TenantRequest function, which starts the workflow with its
//! body; an event goes onto its EventBridge bus, whose rule starts the workflow; anything else
//! starts an execution as the console would. Every execution the trigger leads to is shown
//! (the account this run creates announces itself with `CreateAccountResult`, which the
//! workflow recognises and skips).

use super::states::read_input;
use anyhow::{Context as _, Result};
use asl_executor::{ExecutionResult, HistoryEvent, Status};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use vend::local::{EVENT_BUS, Local, LocalOptions, Observer, StepReport};
use vend::sandbox::SandboxOptions;
use vending_domain::telemetry::{StepMeasure, Unit, summarize};

/// The options of `vend local`.
#[derive(Debug, clap::Args)]
pub struct LocalArgs {
    /// The trigger: a portal request (API Gateway event), an EventBridge event, or a tenant
    /// request as the console takes it (a file of `events/`, or any JSON file).
    #[arg(long, default_value = "events/portal-request.json")]
    trigger: PathBuf,
    /// The platform config; its ids are replaced by the seeded sandbox's.
    #[arg(long, default_value = "infra/platform-config.json")]
    config: PathBuf,
    /// The execution name of a console input (default: derived from the input, so a re-run
    /// reuses it).
    #[arg(long)]
    name: Option<String>,
    /// How many status polls a new account takes in the sandbox.
    #[arg(long, default_value_t = 3)]
    account_polls: u32,
    /// Run the functions on the sandbox's root credentials instead of their template roles
    /// (strict IAM is the default; this is for finding what a failure is due to).
    #[arg(long)]
    lenient: bool,
    /// Where the execution history and record are written, and where the local GitOps
    /// repository (`gitops.git`) lives unless the config names a `file://` one or a bucket.
    #[arg(long, default_value = ".vend")]
    out: PathBuf,
}

/// An execution name derived from the trigger: the same trigger gets the same name.
fn derived_name(input: &Value) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(input.to_string().as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("local-{hex}")
}

fn short(execution: &str) -> &str {
    execution.rsplit(':').next().unwrap_or(execution)
}

/// Every step call's measure, in the order the calls ended.
pub type Measures = Arc<Mutex<Vec<StepMeasure>>>;

/// Keeps a step call's measure.
pub fn keep(measures: &Measures, measure: &StepMeasure) {
    measures
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(measure.clone());
}

/// The measures kept so far, taken.
pub fn taken(measures: &Measures) -> Vec<StepMeasure> {
    std::mem::take(
        &mut *measures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

/// Prints each step as it ends; steps of other executions than the main one say which.
fn observer(main: Arc<Mutex<Option<String>>>, measures: Measures) -> Observer {
    Arc::new(move |r: &StepReport| {
        keep(&measures, &r.measure);
        let outcome = match &r.error {
            None => "ok".to_owned(),
            Some((name, message)) => format!("{name}: {message}"),
        };
        let ms = r.elapsed.as_secs_f64() * 1000.0;
        let main = main
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let whose = match main.as_deref() {
            Some(m) if m == r.execution => String::new(),
            _ => format!("  [{}]", r.execution),
        };
        let _ = writeln!(
            std::io::stderr(),
            "  {:<20} {ms:>8.1} ms  {outcome}{whose}",
            r.state
        );
        if let Some(detail) = &r.detail {
            let _ = writeln!(std::io::stderr(), "  {:<20} {detail}", "");
        }
    })
}

/// Starts what the trigger starts, by its path; returns the main execution's ARN.
async fn trigger(
    local: &Local,
    input: &Value,
    name: &str,
    err: &mut impl std::io::Write,
) -> Result<Option<String>> {
    if input.get("requestContext").is_some() && input.get("routeKey").is_some() {
        let answer = local.request(input.clone()).await;
        let body: Value =
            serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
        writeln!(
            err,
            "TenantRequest answered {}: {body}",
            answer["statusCode"]
        )?;
        return Ok(body["executionArn"].as_str().map(str::to_owned));
    }
    if input.get("source").is_some() && input.get("detail-type").is_some() {
        let bus = (input["source"] == "tenant-vending").then_some(EVENT_BUS);
        let before = local.executions().len();
        local.put_event(bus, input).await?;
        writeln!(
            err,
            "put on the {} bus: {} / {}",
            bus.unwrap_or("default"),
            input["source"],
            input["detail-type"]
        )?;
        for _ in 0..400 {
            if let Some((arn, _)) = local.executions().get(before) {
                return Ok(Some(arn.clone()));
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        writeln!(err, "no rule started the workflow for this event")?;
        return Ok(None);
    }
    Ok(Some(local.start_execution(Some(name), input).await?))
}

fn save(
    dir: &Path,
    local: &Local,
    result: &ExecutionResult,
    events: &[HistoryEvent],
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
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
        serde_json::to_string_pretty(local.config())?,
    )?;
    if result.status == Status::Succeeded
        && result
            .output
            .as_ref()
            .is_some_and(|o| o.get("tenantId").is_some())
    {
        std::fs::write(
            dir.join("record.json"),
            serde_json::to_string_pretty(&result.output)? + "\n",
        )?;
    }
    Ok(())
}

/// One step's calls in a run.
#[derive(Default)]
struct StepLine<'a> {
    step: &'a str,
    calls: usize,
    ms: f64,
    max: f64,
    errors: BTreeMap<&'a str, usize>,
}

/// The run's metrics, as the dashboard would sum them (`vending_domain::telemetry`): a line
/// per step (calls, failures by error, time), then what the steps' results said.
pub fn show_metrics(measures: &[StepMeasure], err: &mut impl std::io::Write) -> Result<()> {
    writeln!(
        err,
        "metrics ({} namespace, as the functions emit them in Lambda):",
        vending_domain::telemetry::NAMESPACE
    )?;
    // A line per step, from the measures themselves: calls, time, failures by error.
    let mut steps: Vec<StepLine<'_>> = Vec::new();
    for m in measures {
        let at = match steps.iter().position(|l| l.step == m.step) {
            Some(at) => at,
            None => {
                steps.push(StepLine {
                    step: m.step,
                    ..StepLine::default()
                });
                steps.len() - 1
            }
        };
        let line = &mut steps[at];
        line.calls += 1;
        line.ms += m.duration_ms;
        line.max = line.max.max(m.duration_ms);
        if let Some(e) = &m.error {
            *line.errors.entry(e.as_str()).or_default() += 1;
        }
    }
    for l in &steps {
        let failed = if l.errors.is_empty() {
            String::new()
        } else {
            let each: Vec<String> = l.errors.iter().map(|(e, n)| format!("{n} {e}")).collect();
            format!("  failed {}", each.join(", "))
        };
        writeln!(
            err,
            "  {:<20} {:>3} calls {:8.1} ms (max {:.1}){failed}",
            l.step, l.calls, l.ms, l.max
        )?;
    }
    let summary = summarize(measures);
    for row in summary.iter().filter(|s| !s.name.starts_with("Step")) {
        let value = match row.unit {
            Unit::Count => format!("{}", row.sum),
            Unit::Milliseconds => format!("{:.1} ms", row.sum),
        };
        let dims = if row.dimensions.is_empty() {
            String::new()
        } else {
            format!(" ({})", row.dimensions)
        };
        writeln!(err, "  {}{dims}: {value}", row.name)?;
    }
    Ok(())
}

/// Each step call's EMF document, one a line, as CloudWatch would receive them.
fn save_metrics(dir: &Path, measures: &[StepMeasure]) -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let lines: String = measures
        .iter()
        .map(|m| m.emf(now).to_string() + "\n")
        .collect();
    std::fs::write(dir.join("metrics.jsonl"), lines)?;
    Ok(())
}

fn show_repository(local: &Local, err: &mut impl std::io::Write) -> Result<()> {
    let vending_domain::config::GitOpsConfig::Git(git) = &local.config().gitops else {
        return Ok(());
    };
    let Some(path) = git.url.strip_prefix("file://") else {
        return Ok(());
    };
    let path = Path::new(path);
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
    Ok(())
}

/// The platform config of a local run: read from `path`, with a git destination that is not a
/// `file://` repository replaced by a fresh bare one in `out/gitops.git`.
pub fn local_config(path: &Path, out: &Path) -> Result<vending_domain::PlatformConfig> {
    let config_text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut config = vending_domain::PlatformConfig::from_json(&config_text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if let vending_domain::config::GitOpsConfig::Git(git) = &mut config.gitops
        && !git.url.starts_with("file://")
    {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        // A fresh repository for a fresh sandbox: the registry starts again at generation 1,
        // and a repository kept from an earlier run could hold a higher one.
        let repo = std::path::absolute(out.join("gitops.git"))?;
        if repo.exists() {
            std::fs::remove_dir_all(&repo)
                .with_context(|| format!("removing the previous {}", repo.display()))?;
        }
        git.url = format!("file://{}", repo.display());
        git.credentials_secret_arn = None;
    }
    Ok(config)
}

/// Runs `vend local`.
pub async fn run(opts: LocalArgs) -> Result<ExitCode> {
    let input = read_input(&format!("@{}", opts.trigger.display()))?;
    let config = local_config(&opts.config, &opts.out)?;
    let name = opts.name.clone().unwrap_or_else(|| derived_name(&input));
    let main = Arc::new(Mutex::new(None));
    let measures = Measures::default();
    // The run's trace: every step span and the AWS calls under it, written beside the history.
    let traced = vend::trace::TraceFile::default();
    {
        use tracing_subscriber::Layer as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        let layer = traced.clone().with_filter(vend::trace::TraceFile::filter());
        // Only `vend local` sets one, once; a test harness that set its own keeps it.
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer));
    }
    let mut err = std::io::stderr();
    writeln!(err, "starting and seeding the sandbox...")?;
    let started = std::time::Instant::now();
    let options = LocalOptions {
        sandbox: SandboxOptions {
            account_polls: opts.account_polls,
            events_region: config.region.clone(),
            ..SandboxOptions::default()
        },
        strict: !opts.lenient,
        template: None,
        mirror_history: false,
        ..LocalOptions::default()
    };
    let local = Local::start(config, options, observer(main.clone(), measures.clone())).await?;
    let seeded = &local.seeded;
    writeln!(
        err,
        "sandbox at {} ({:.1} s, IAM {}): network account {} (transit gateway {}), platform account {} (clusters {})",
        local.sandbox.endpoint(),
        started.elapsed().as_secs_f64(),
        if opts.lenient {
            "not enforced"
        } else {
            "enforced: each function has only its template policy"
        },
        seeded.network_account_id,
        seeded.transit_gateway_id,
        seeded.platform_account_id,
        local
            .config()
            .clusters
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    writeln!(err, "trigger {}:", opts.trigger.display())?;
    let started = std::time::Instant::now();
    let Some(arn) = trigger(&local, &input, &name, &mut err).await? else {
        return Ok(ExitCode::from(1));
    };
    *main
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(short(&arn).to_owned());
    let (result, events) = local.wait(&arn).await?;
    let real = started.elapsed();
    let virtual_secs = match (events.first(), events.last()) {
        (Some(a), Some(b)) => (b.timestamp - a.timestamp).num_milliseconds() as f64 / 1000.0,
        _ => 0.0,
    };
    writeln!(
        err,
        "{} {} in {:.2} s of real time ({virtual_secs:.0} s on the workflow's clock, Waits included)",
        short(&arn),
        result.status.as_str(),
        real.as_secs_f64()
    )?;
    local.settle().await?;
    for (other, input) in local.executions() {
        if other == arn {
            continue;
        }
        let (r, _) = local.wait(&other).await?;
        let what = input["detail-type"].as_str().map_or_else(
            || "an execution".to_owned(),
            |t| format!("{} {}", input["source"].as_str().unwrap_or_default(), t),
        );
        let said = r
            .output
            .as_ref()
            .and_then(|o| o["reason"].as_str().map(str::to_owned))
            .or(r.cause.clone())
            .unwrap_or_default();
        writeln!(
            err,
            "also ran: {} ({what}): {} {said}",
            short(&other),
            r.status.as_str()
        )?;
    }
    let dir = opts.out.join("runs").join(short(&arn));
    save(&dir, &local, &result, &events)?;
    let measures = taken(&measures);
    show_metrics(&measures, &mut err)?;
    save_metrics(&dir, &measures)?;
    std::fs::write(
        dir.join("trace.json"),
        serde_json::to_string_pretty(&traced.document())?,
    )?;
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
        "history, result, record, metrics (EMF), trace (OpenTelemetry JSON) and the seeded platform config are in {}",
        dir.display()
    )?;
    show_repository(&local, &mut err)?;
    Ok(if result.status == Status::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
