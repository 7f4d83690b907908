//! The glue every function's `main.rs` uses: JSON logs, the platform config loaded once at
//! init from SSM Parameter Store or a file (a bad config stops the function before its first
//! event), and step errors reported to
//! Lambda with their stable name as `errorType`, which the workflow's Retry and Catch match.

use lambda_runtime::Diagnostic;
use vending_domain::{PlatformConfig, StepError};

/// JSON logs for CloudWatch, level from `RUST_LOG` (default `info`).
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .init();
}

/// The AWS configuration from the Lambda environment, for a function that needs no client
/// beyond reading its config.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_from_env().await
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

/// Loads the platform config and validates it completely: from the SSM parameter named by
/// `PLATFORM_CONFIG_PARAMETER` (how the SAM template deploys it), or from the file named by
/// `PLATFORM_CONFIG_FILE` (the repo's example, locally).
pub async fn load_config(sdk: &aws_config::SdkConfig) -> Result<PlatformConfig, ConfigError> {
    let (source, text) = if let Ok(name) = std::env::var("PLATFORM_CONFIG_PARAMETER") {
        let text = vending_aws::parameters::parameter_text(sdk, &name)
            .await
            .map_err(|e| {
                ConfigError(format!("reading the platform config parameter {name}: {e}"))
            })?;
        (name, text)
    } else if let Ok(path) = std::env::var("PLATFORM_CONFIG_FILE") {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ConfigError(format!("reading the platform config {path}: {e}")))?;
        (path, text)
    } else {
        return Err(ConfigError(
            "neither PLATFORM_CONFIG_PARAMETER nor PLATFORM_CONFIG_FILE is set".into(),
        ));
    };
    PlatformConfig::from_json(&text)
        .map_err(|e| ConfigError(format!("the platform config {source} is invalid: {e}")))
}

/// A step error as Lambda reports it: `errorType` is the stable name.
pub fn diagnostic(e: StepError) -> Diagnostic {
    Diagnostic {
        error_type: e.error_type().to_owned(),
        error_message: e.to_string(),
    }
}
