//! `vend coldstart`: every built bootstrap on a local Lambda Runtime API, through the demo's
//! vending on the sandbox: init time, first invocation, peak memory and size per function.

use anyhow::{Context as _, Result};
use asl_executor::Status;
use serde_json::Value;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn ms(d: Option<std::time::Duration>) -> String {
    d.map_or_else(
        || "-".to_owned(),
        |d| format!("{:.1} ms", d.as_secs_f64() * 1000.0),
    )
}

/// Runs `vend coldstart`.
pub async fn run(build_dir: PathBuf) -> Result<ExitCode> {
    use std::collections::{BTreeMap, HashMap};
    use std::sync::Mutex;
    use vend::local::{Local, LocalOptions, example_config, function_arn, repo_file};
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
    let options = LocalOptions {
        sandbox: vend::sandbox::SandboxOptions {
            account_polls: 3,
            ..Default::default()
        },
        ..LocalOptions::default()
    };
    // No grace period: the offboarding's phase two runs at once, through its bootstrap too.
    let mut config = example_config()?;
    if let Some(offboarding) = config.offboarding.as_mut() {
        offboarding.grace_period_seconds = 0;
    }
    let local = Local::start_with(config, options, move |executor, _| {
        let mut subs = HashMap::new();
        let offboard = <vending_domain::steps::Offboard as vending_domain::steps::Step>::STATE;
        for state in vending_domain::steps::STATES.iter().chain([&offboard]) {
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
    let shared: Vec<(String, String)> = [
        ("AWS_REGION", local.config().region.clone()),
        ("AWS_DEFAULT_REGION", local.config().region.clone()),
        ("AWS_ENDPOINT_URL", local.sandbox.endpoint()),
        (
            vending_runtime::env::PLATFORM_CONFIG_FILE,
            config_file.display().to_string(),
        ),
        (
            vending_runtime::env::REGISTRY_TABLE,
            vend::local::REGISTRY_TABLE.to_owned(),
        ),
        (
            vending_runtime::env::EVENT_BUS_NAME,
            vend::local::EVENT_BUS.to_owned(),
        ),
        (
            vending_runtime::env::STATE_MACHINE_ARN,
            local.state_machine_arn.clone(),
        ),
        (
            vending_runtime::env::OFFBOARDING_STATE_MACHINE_ARN,
            local
                .executor
                .state_machine_arn(vend::local::OFFBOARDING_STATE_MACHINE),
        ),
        ("RUST_LOG", "info".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    // One at a time, so each init has the machine to itself. Each function runs on its
    // template role's credentials, as in Lambda.
    let mut started = BTreeMap::new();
    for (logical, binary) in &functions {
        let mut env = shared.clone();
        match local.credentials.get(logical) {
            Some(c) => {
                env.push(("AWS_ACCESS_KEY_ID".into(), c.access_key_id().to_owned()));
                env.push((
                    "AWS_SECRET_ACCESS_KEY".into(),
                    c.secret_access_key().to_owned(),
                ));
                if let Some(token) = c.session_token() {
                    env.push(("AWS_SESSION_TOKEN".into(), token.to_owned()));
                }
            }
            None => {
                env.push(("AWS_ACCESS_KEY_ID".into(), "testing".into()));
                env.push(("AWS_SECRET_ACCESS_KEY".into(), "testing".into()));
            }
        }
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
    // The portal's path: TenantRequest's bootstrap starts the execution with the body.
    let trigger: Value = serde_json::from_str(&repo_file("events/portal-request.json")?)?;
    let arn = match started.get("TenantRequestFunction") {
        Some(request) => {
            let answer = request.invoke(trigger.clone()).await;
            let body: Value = answer
                .as_ref()
                .ok()
                .and_then(|a| serde_json::from_str(a["body"].as_str()?).ok())
                .unwrap_or(Value::Null);
            body["executionArn"]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("TenantRequest's bootstrap answered {answer:?}"))?
        }
        None => {
            let body: Value = serde_json::from_str(trigger["body"].as_str().unwrap_or("{}"))?;
            local.start_execution(Some("coldstart"), &body).await?
        }
    };
    let (result, _) = local.wait(&arn).await?;
    local.settle().await?;
    let mut ok = result.status == Status::Succeeded;
    // The drift check's bootstrap on the tenant just vended: none expected.
    if let Some(inspect) = started.get(vending_domain::api::INSPECT_TENANT) {
        let body: Value = serde_json::from_str(trigger["body"].as_str().unwrap_or("{}"))?;
        let path = format!(
            "/tenants/{}/drift",
            body["tenantId"].as_str().unwrap_or_default()
        );
        let mut event = trigger.clone();
        event["rawPath"] = Value::String(path.clone());
        event["routeKey"] = Value::String("GET /tenants/{tenantId}/drift".into());
        event["requestContext"]["http"]["method"] = Value::String("GET".into());
        event["requestContext"]["http"]["path"] = Value::String(path);
        event["body"] = Value::Null;
        let answer = inspect.invoke(event).await;
        let report: Value = answer
            .as_ref()
            .ok()
            .and_then(|a| serde_json::from_str(a["body"].as_str()?).ok())
            .unwrap_or(Value::Null);
        if report["differences"] != Value::Array(Vec::new()) {
            eprintln!("the drift check's bootstrap answered {answer:?}");
            ok = false;
        }
    }
    // Then the tenant offboarded through the bootstraps: TenantRequest's DELETE starts it, the
    // Offboard bootstrap runs both phases and the closure's polling.
    if ok && let Some(request) = started.get("TenantRequestFunction") {
        let body: Value = serde_json::from_str(trigger["body"].as_str().unwrap_or("{}"))?;
        let path = format!("/tenants/{}", body["tenantId"].as_str().unwrap_or_default());
        let mut event = trigger.clone();
        event["rawPath"] = Value::String(path.clone());
        event["routeKey"] = Value::String("DELETE /tenants/{tenantId}".into());
        event["requestContext"]["http"]["method"] = Value::String("DELETE".into());
        event["requestContext"]["http"]["path"] = Value::String(path);
        event["body"] = Value::String(r#"{"closeAccount": true}"#.into());
        let answer = request.invoke(event).await;
        let execution = answer
            .as_ref()
            .ok()
            .and_then(|a| serde_json::from_str::<Value>(a["body"].as_str()?).ok())
            .and_then(|b| b["executionArn"].as_str().map(str::to_owned));
        match execution {
            Some(arn) => {
                let (offboarded, _) = local.wait(&arn).await?;
                if offboarded.status != Status::Succeeded {
                    eprintln!(
                        "the offboarding through the bootstraps ended {}: {:?}",
                        offboarded.status.as_str(),
                        offboarded.cause
                    );
                    ok = false;
                }
            }
            None => {
                eprintln!("TenantRequest's bootstrap did not start the offboarding: {answer:?}");
                ok = false;
            }
        }
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
        "\nvending (then offboarding) through the bootstraps: {}; targets: init < 30 ms, peak RSS < 32 MiB, bootstrap < 8 MiB; logs in {}",
        if ok { "SUCCEEDED" } else { "FAILED" },
        out.display()
    )?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
