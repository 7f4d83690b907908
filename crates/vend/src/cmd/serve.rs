//! `vend serve`: the platform on your machine. The sandbox starts once, seeded like a platform
//! team's organization; the portal API is served on loopback by the TenantRequest function's
//! own handler (each HTTP request becomes API Gateway's event); executions run in the
//! background on the local executor, each step on its function's template role. State lives
//! as long as the server: a new `vend serve` starts from a fresh sandbox.

use super::local::{Measures, keep, local_config, show_metrics, taken};
use anyhow::{Context as _, Result};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use vend::local::{Local, LocalOptions, Observer, StepReport};
use vend::sandbox::SandboxOptions;
use vend::serve::DEFAULT_PORT;

/// The options of `vend serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The loopback port to serve on (0: any free port).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// The platform config; its ids are replaced by the seeded sandbox's.
    #[arg(long, default_value = "infra/platform-config.json")]
    config: PathBuf,
    /// How many status polls a new account takes in the sandbox.
    #[arg(long, default_value_t = 3)]
    account_polls: u32,
    /// Where the local GitOps repository (`gitops.git`) lives, unless the config names a
    /// `file://` one or a bucket.
    #[arg(long, default_value = ".vend/serve")]
    out: PathBuf,
    /// Do not print each step as it ends.
    #[arg(long, short)]
    quiet: bool,
}

fn steps(quiet: bool, measures: Measures) -> Observer {
    Arc::new(move |r: &StepReport| {
        keep(&measures, &r.measure);
        if quiet {
            return;
        }
        let outcome = r
            .error
            .as_ref()
            .map_or_else(|| "ok".to_owned(), |(name, _)| name.clone());
        let execution = r.execution.rsplit(':').next().unwrap_or(&r.execution);
        let _ = writeln!(
            std::io::stderr(),
            "  {execution:<32} {:<20} {:>8.1} ms  {outcome}",
            r.state,
            r.elapsed.as_secs_f64() * 1000.0
        );
    })
}

/// Runs `vend serve` until Ctrl-C.
pub async fn run(args: ServeArgs) -> Result<ExitCode> {
    let config = local_config(&args.config, &args.out)?;
    let mut err = std::io::stderr();
    // Bind first: a port in use fails at once, before the sandbox starts.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| {
            format!(
                "listening on 127.0.0.1:{} (another `vend serve`? try --port 0)",
                args.port
            )
        })?;
    let address = listener.local_addr()?;
    writeln!(err, "starting and seeding the sandbox...")?;
    let options = LocalOptions {
        sandbox: SandboxOptions {
            account_polls: args.account_polls,
            events_region: config.region.clone(),
            ..SandboxOptions::default()
        },
        mirror_history: true,
        ..LocalOptions::default()
    };
    let measures = Measures::default();
    let local = Arc::new(Local::start(config, options, steps(args.quiet, measures.clone())).await?);
    let url = format!("http://{address}");
    writeln!(std::io::stdout(), "{url}")?;
    writeln!(
        err,
        "the portal API is served at {url} (sandbox {}; IAM enforced: each function has only its template policy)\n\
         state lives as long as this server: stopping it forgets every tenant. Ctrl-C stops it.\n\
         try: vend request -f events/portal-request.json --wait",
        local.sandbox.endpoint()
    )?;
    if let vending_domain::config::GitOpsConfig::Git(git) = &local.config().gitops {
        writeln!(err, "tenant manifests are committed to {}", git.url)?;
    }
    vend::serve::serve(local.clone(), listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    show_metrics(&taken(&measures), &mut err)?;
    writeln!(err, "stopped; the sandbox and its state are gone")?;
    Ok(ExitCode::SUCCESS)
}
