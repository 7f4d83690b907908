//! SSM Parameter Store: where the deployed functions read the platform config.

use crate::classify::classify;
use aws_config::SdkConfig;
use vending_domain::StepError;

/// The text of the (possibly SecureString) parameter `name`.
pub async fn parameter_text(config: &SdkConfig, name: &str) -> Result<String, StepError> {
    let out = aws_sdk_ssm::Client::new(config)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| classify("GetParameter", &e))?;
    out.parameter()
        .and_then(|p| p.value())
        .map(str::to_owned)
        .ok_or_else(|| StepError::Internal(format!("parameter {name} has no value")))
}
