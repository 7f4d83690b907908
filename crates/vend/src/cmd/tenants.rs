//! `vend request`, `plan`, `status`, `list`, `rerun` and `offboard`: the arguments, and the terminal they run on.
//! The work is in `vend::cli`.

use anyhow::{Context as _, Result};
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use vend::cli::{self, Format, Io};
use vend::client::{ApiClient, Endpoint};

/// How to reach the API, and how to print.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// The portal API: `vend serve`'s URL, or a deployed API's (requests to a non-loopback
    /// endpoint are signed with SigV4 for its IAM authorization).
    #[arg(long, env = "VEND_ENDPOINT", default_value = "http://127.0.0.1:8787")]
    endpoint: String,
    /// The AWS profile that signs requests to a deployed API.
    #[arg(long, env = "AWS_PROFILE")]
    profile: Option<String>,
    /// The region a deployed API is in (default: from its execute-api host name).
    #[arg(long)]
    region: Option<String>,
    /// How data is printed on stdout.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    output: Format,
}

/// The options of `vend request`.
#[derive(Debug, clap::Args)]
pub struct RequestArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The tenant request (JSON), or `-` for stdin; an API Gateway event carrying one in its
    /// body (as `events/portal-request.json`) is read too.
    #[arg(short, long = "filename")]
    file: String,
    /// Follow the tenant until it is READY (exit 0) or FAILED (exit 1).
    #[arg(long)]
    wait: bool,
    /// How long `--wait` follows it, in seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Send it after showing its plan, without asking (the question is only asked on a
    /// terminal, and never when the request comes from stdin).
    #[arg(short, long)]
    yes: bool,
    /// Send it without asking the API for its plan first.
    #[arg(long)]
    no_plan: bool,
    /// The platform config the request is checked against before it is sent (when the file
    /// exists; the request's shape is always checked).
    #[arg(long, default_value = "infra/platform-config.json")]
    config: PathBuf,
}

/// The options of `vend plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// A tenant: its drift (what its resources are, against its record) instead of a
    /// request's plan.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    tenant: Option<String>,
    /// The tenant request (JSON), or `-` for stdin, as `vend request` reads it.
    #[arg(short, long = "filename")]
    file: Option<String>,
    /// The platform config the request is checked against before it is sent (when the file
    /// exists).
    #[arg(long, default_value = "infra/platform-config.json")]
    config: PathBuf,
}

/// The options of `vend status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The tenant id.
    tenant: String,
    /// Follow it until its vending ends.
    #[arg(short, long)]
    watch: bool,
    /// How long `--watch` follows it, in seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
}

/// The options of `vend list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// Only this environment's tenants.
    #[arg(long = "env")]
    environment: Option<String>,
    /// Only tenants with this status (requested, provisioning, ready, failed).
    #[arg(long)]
    status: Option<String>,
    /// Only tenants with this tag (`key=value`; repeat for several).
    #[arg(short = 'l', long = "selector")]
    labels: Vec<String>,
}

/// The options of `vend offboard`.
#[derive(Debug, clap::Args)]
pub struct OffboardArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The tenant id.
    tenant: String,
    /// Close the tenant's AWS account after the grace period (CloseAccount). Without it the
    /// account stays, detached, in the suspended OU.
    #[arg(long)]
    close_account: bool,
    /// Why (kept on the tenant and in its events).
    #[arg(long)]
    reason: Option<String>,
    /// A key for this offboarding: the same key starts nothing new.
    #[arg(long)]
    offboarding_id: Option<String>,
    /// Follow it until the tenant is CLOSED (exit 0), or its offboarding failed or was
    /// cancelled by a new request (exit 1). The grace period comes first.
    #[arg(long)]
    wait: bool,
    /// How long `--wait` follows it, in seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
}

/// The options of `vend rerun`.
#[derive(Debug, clap::Args)]
pub struct RerunArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The tenants to run again: one is re-run directly, several as one batch.
    #[arg(required_unless_present_any = ["labels", "environment", "status"])]
    tenants: Vec<String>,
    /// Re-run every tenant with this tag (`key=value`; repeat for several), as one batch.
    #[arg(short = 'l', long = "selector", conflicts_with = "tenants")]
    labels: Vec<String>,
    /// With a selector: only this environment's tenants.
    #[arg(long = "env", conflicts_with = "tenants")]
    environment: Option<String>,
    /// With a selector: only tenants with this status (requested, provisioning, ready, failed).
    #[arg(long, conflicts_with = "tenants")]
    status: Option<String>,
    /// A batch runs at most this many tenants' vending at once (1 to 40).
    #[arg(long, default_value_t = vending_domain::api::DEFAULT_BATCH_CONCURRENCY)]
    concurrency: u32,
    /// A key for this re-run: the same key starts nothing new.
    #[arg(long)]
    rerun_id: Option<String>,
}

fn client(args: &ClientArgs) -> Result<ApiClient> {
    let endpoint = Endpoint::new(&args.endpoint, args.region.clone(), args.profile.clone())?;
    Ok(ApiClient::new(endpoint)?)
}

/// `vend completions`.
pub fn completions(shell: clap_complete::Shell, mut command: clap::Command) -> ExitCode {
    clap_complete::generate(shell, &mut command, "vend", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// Runs `f` on the real terminal.
async fn on_terminal<F>(f: F) -> Result<ExitCode>
where
    F: AsyncFnOnce(&mut Io<'_>) -> u8,
{
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let mut io = Io {
        live: err.is_terminal(),
        color: out.is_terminal() && cli::color_allowed(),
        out: &mut out,
        err: &mut err,
    };
    Ok(ExitCode::from(f(&mut io).await))
}

/// A request file (`-` for stdin) and the platform config beside it, if it reads; `Err` is
/// the exit code of an unreadable request.
fn request_input(
    file: &str,
    config: &std::path::Path,
) -> Result<Result<(serde_json::Value, Option<vending_domain::PlatformConfig>), ExitCode>> {
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the request from stdin")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?
    };
    let body = match cli::request_body(&text) {
        Ok(body) => body,
        Err(e) => {
            eprintln!("error: {file}: {e}");
            return Ok(Err(ExitCode::from(cli::exit::INVALID)));
        }
    };
    let config = std::fs::read_to_string(config)
        .ok()
        .and_then(|t| vending_domain::PlatformConfig::from_json(&t).ok());
    Ok(Ok((body, config)))
}

/// `vend request`.
pub async fn request(args: RequestArgs) -> Result<ExitCode> {
    let c = &args.client;
    let (body, config) = match request_input(&args.file, &args.config)? {
        Ok(read) => read,
        Err(code) => return Ok(code),
    };
    let client = client(c)?;
    let wait = args.wait.then(|| Duration::from_secs(args.timeout));
    let interactive =
        args.file != "-" && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut answer = || {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).is_ok() && line.trim() == "yes"
    };
    let review = if args.no_plan {
        cli::Review::Skip
    } else if interactive && !args.yes {
        cli::Review::Ask(&mut answer)
    } else {
        cli::Review::Show
    };
    on_terminal(async |io| {
        cli::request(&client, io, &body, config.as_ref(), c.output, wait, review).await
    })
    .await
}

/// `vend plan`: a request's plan, or a tenant's drift.
pub async fn plan(args: PlanArgs) -> Result<ExitCode> {
    let c = &args.client;
    let Some(file) = &args.file else {
        let client = client(c)?;
        let tenant = args.tenant.as_deref().unwrap_or_default();
        return on_terminal(async |io| cli::drift(&client, io, tenant, c.output).await).await;
    };
    let (body, config) = match request_input(file, &args.config)? {
        Ok(read) => read,
        Err(code) => return Ok(code),
    };
    let client = client(c)?;
    on_terminal(async |io| cli::plan(&client, io, &body, config.as_ref(), c.output).await).await
}

/// `vend status`.
pub async fn status(args: StatusArgs) -> Result<ExitCode> {
    let c = &args.client;
    let client = client(c)?;
    let watch = args.watch.then(|| Duration::from_secs(args.timeout));
    on_terminal(async |io| cli::status(&client, io, &args.tenant, c.output, watch).await).await
}

/// `vend list`.
pub async fn list(args: ListArgs) -> Result<ExitCode> {
    let c = &args.client;
    let client = client(c)?;
    on_terminal(async |io| {
        cli::list(
            &client,
            io,
            args.environment.as_deref(),
            args.status.as_deref(),
            &args.labels,
            c.output,
        )
        .await
    })
    .await
}

/// `vend offboard`.
pub async fn offboard(args: OffboardArgs) -> Result<ExitCode> {
    let c = &args.client;
    let client = client(c)?;
    let body = vending_domain::api::OffboardBody {
        close_account: args.close_account,
        reason: args.reason.clone(),
        offboarding_id: args.offboarding_id.clone(),
    };
    let wait = args.wait.then(|| Duration::from_secs(args.timeout));
    on_terminal(async |io| cli::offboard(&client, io, &args.tenant, &body, c.output, wait).await)
        .await
}

/// `vend rerun`.
pub async fn rerun(args: RerunArgs) -> Result<ExitCode> {
    let c = &args.client;
    let client = client(c)?;
    if let [tenant] = args.tenants.as_slice() {
        return on_terminal(async |io| {
            cli::rerun(
                &client,
                io,
                std::slice::from_ref(tenant),
                args.rerun_id.as_deref(),
                c.output,
            )
            .await
        })
        .await;
    }
    let request = match cli::batch_request(
        &args.tenants,
        args.environment.as_deref(),
        args.status.as_deref(),
        &args.labels,
        args.concurrency,
        args.rerun_id.as_deref(),
    ) {
        Ok(request) => request,
        Err(errors) => {
            eprintln!("error: invalid selector");
            for e in &errors.errors {
                eprintln!("  {}: {}", e.field, e.reason);
            }
            return Ok(ExitCode::from(cli::exit::INVALID));
        }
    };
    on_terminal(async |io| cli::rerun_batch(&client, io, &request, c.output).await).await
}
