//! The glue every function's `main.rs` uses: its environment read once into a typed struct
//! (`env`), JSON logs, the platform config loaded once at init from SSM Parameter Store or a
//! file (a missing name or a bad config stops the function before its first event), and step
//! errors reported to Lambda with their stable name as `errorType`, which the workflow's Retry
//! and Catch match.

pub mod env;
pub mod http;

pub use env::{ConfigSource, FunctionEnv};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use std::future::Future;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use vending_domain::steps::{Step, call_measured};
use vending_domain::{PlatformConfig, StepError};

/// JSON logs for CloudWatch. The filter is `RUST_LOG` (`info`, `warn,vending_aws=debug`: a
/// default level and per-target levels), else the function's log level from Lambda's logging
/// configuration (`AWS_LAMBDA_LOG_LEVEL`), else `info`. A `RUST_LOG` that does not parse is
/// reported once, as a warning, and `info` is used.
pub fn init_tracing() {
    let (filter, refused) = log_filter(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
    );
    // Each line carries the `step` span's fields (step, tenant, execution, account), so one
    // Logs Insights query finds a tenant's every line.
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .finish()
        .with(filter)
        .init();
    if let Some(value) = refused {
        tracing::warn!(rust_log = %value, "RUST_LOG does not parse; logging at info");
    }
}

/// The filter from `RUST_LOG` and `AWS_LAMBDA_LOG_LEVEL`, and the `RUST_LOG` value it refused.
fn log_filter(rust_log: Option<&str>, lambda_level: Option<&str>) -> (Targets, Option<String>) {
    let info = Targets::new().with_default(LevelFilter::INFO);
    if let Some(value) = rust_log.filter(|v| !v.trim().is_empty()) {
        return match value.parse::<Targets>() {
            Ok(targets) => (targets, None),
            Err(_) => (info, Some(value.to_owned())),
        };
    }
    // Lambda's levels are TRACE, DEBUG, INFO, WARN, ERROR and FATAL.
    let level = match lambda_level.map(str::to_ascii_uppercase).as_deref() {
        Some("TRACE") => LevelFilter::TRACE,
        Some("DEBUG") => LevelFilter::DEBUG,
        Some("WARN") => LevelFilter::WARN,
        Some("ERROR" | "FATAL") => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    };
    (Targets::new().with_default(level), None)
}

/// The AWS configuration from the Lambda environment, for a function that needs no client
/// beyond reading its config.
pub fn sdk_config() -> aws_config::SdkConfig {
    vending_aws::clients::config_from_env()
}

/// Why the platform config could not be loaded.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Loads the platform config and validates it completely, from where the environment says:
/// the SSM parameter (how the SAM template deploys it) or a file (the repo's example, locally).
pub async fn load_config(
    sdk: &aws_config::SdkConfig,
    source: &ConfigSource,
) -> Result<PlatformConfig, ConfigError> {
    let (source, text) = match source {
        ConfigSource::Parameter(name) => {
            let text = vending_aws::parameters::parameter_text(sdk, name)
                .await
                .map_err(|e| {
                    ConfigError(format!("reading the platform config parameter {name}: {e}"))
                })?;
            (name, text)
        }
        ConfigSource::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError(format!("reading the platform config {path}: {e}")))?;
            (path, text)
        }
    };
    PlatformConfig::from_json(&text)
        .map_err(|e| ConfigError(format!("the platform config {source} is invalid: {e}")))
}

/// Serves a typed step in Lambda: each event's payload is read as the step's input, the
/// handler's output written back as JSON (`vending_domain::steps::call`, as the local executor
/// does), and a `StepError` reported with its stable name.
pub async fn serve<S, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    S: Step,
    F: Fn(S::Input) -> Fut,
    Fut: Future<Output = Result<S::Output, StepError>>,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // Boxed: the step's future nests the SDK's, and the compiler's layout of `main`'s
        // future would otherwise pass its depth limit.
        // Step Functions passes a traced execution's X-Ray header to each function it invokes.
        // The header is `Root=1-...;Parent=...;Sampled=...`: the root is the execution's trace.
        let trace = event.context.xray_trace_id.as_deref().and_then(|h| {
            h.split(';')
                .find_map(|part| part.trim().strip_prefix("Root="))
                .map(str::to_owned)
        });
        let (result, measure) =
            Box::pin(call_measured::<S, _, _>(handler, event.payload, trace)).await;
        emit(&measure);
        result.map_err(diagnostic)
    }))
    .await
}

/// Writes a step call's metrics to the function's log as one EMF document, which CloudWatch
/// turns into metrics of the `TenantVending` namespace (`vending_domain::telemetry`).
pub fn emit(measure: &vending_domain::telemetry::StepMeasure) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    // stdout is the function's log stream; the tracing subscriber writes whole lines to it
    // too. A log write that fails has nowhere to be reported.
    let line = measure.emf(now).to_string() + "\n";
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), line.as_bytes());
}

/// A step error as Lambda reports it: `errorType` is the stable name.
pub fn diagnostic(e: StepError) -> Diagnostic {
    Diagnostic {
        error_type: e.error_type().to_owned(),
        error_message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled(targets: &Targets, target: &str, level: tracing::Level) -> bool {
        targets.would_enable(target, &level)
    }

    #[test]
    fn rust_log_sets_a_default_and_per_target_levels() {
        let (filter, refused) = log_filter(Some("warn,vending_aws=debug"), Some("ERROR"));
        assert!(refused.is_none());
        assert!(enabled(
            &filter,
            "vending_aws::clients",
            tracing::Level::DEBUG
        ));
        assert!(!enabled(&filter, "hyper", tracing::Level::INFO));
        assert!(enabled(&filter, "hyper", tracing::Level::WARN));
    }

    #[test]
    fn lambda_log_level_applies_without_rust_log() {
        let (filter, _) = log_filter(None, Some("debug"));
        assert!(enabled(&filter, "anything", tracing::Level::DEBUG));
        let (filter, _) = log_filter(Some("  "), Some("FATAL"));
        assert!(!enabled(&filter, "anything", tracing::Level::WARN));
        assert!(enabled(&filter, "anything", tracing::Level::ERROR));
    }

    #[test]
    fn info_is_the_default_and_a_bad_rust_log_is_reported() {
        let (filter, refused) = log_filter(None, None);
        assert!(refused.is_none());
        assert!(enabled(&filter, "anything", tracing::Level::INFO));
        assert!(!enabled(&filter, "anything", tracing::Level::DEBUG));
        let (filter, refused) = log_filter(Some("vending_aws=loud"), Some("ERROR"));
        assert_eq!(refused.as_deref(), Some("vending_aws=loud"));
        assert!(enabled(&filter, "anything", tracing::Level::INFO));
    }
}
