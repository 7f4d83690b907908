//! The glue every function's `main.rs` uses: JSON logs, the platform config loaded once at
//! init (a bad config stops the function before its first event), and step errors reported to
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

/// Why the platform config could not be loaded.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Loads the platform config from the file named by `PLATFORM_CONFIG_FILE` (shipped in the
/// deployment package, or the repo's example locally) and validates it completely.
pub fn load_config() -> Result<PlatformConfig, ConfigError> {
    let path = std::env::var("PLATFORM_CONFIG_FILE")
        .map_err(|_| ConfigError("PLATFORM_CONFIG_FILE is not set".into()))?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| ConfigError(format!("reading the platform config {path}: {e}")))?;
    PlatformConfig::from_json(&text)
        .map_err(|e| ConfigError(format!("the platform config {path} is invalid: {e}")))
}

/// A step error as Lambda reports it: `errorType` is the stable name.
pub fn diagnostic(e: StepError) -> Diagnostic {
    Diagnostic {
        error_type: e.error_type().to_owned(),
        error_message: e.to_string(),
    }
}
