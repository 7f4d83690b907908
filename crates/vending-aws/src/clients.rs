//! SDK clients, built once from the environment (`AWS_ENDPOINT_URL` points them at the local
//! sandbox), and configurations for member accounts reached through `sts:AssumeRole`.

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;

/// The clients of the management (or delegated administrator) account.
#[derive(Debug, Clone)]
pub struct Clients {
    /// The shared configuration they were built from.
    pub config: SdkConfig,
    /// AWS Organizations.
    pub organizations: aws_sdk_organizations::Client,
    /// The registry table.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The event bus.
    pub eventbridge: aws_sdk_eventbridge::Client,
    /// The vending state machine.
    pub stepfunctions: aws_sdk_sfn::Client,
}

impl Clients {
    /// Loads the configuration from the environment and builds the clients.
    pub async fn from_env() -> Clients {
        Clients::from_config(aws_config::load_from_env().await)
    }

    /// Builds the clients from a configuration.
    pub fn from_config(config: SdkConfig) -> Clients {
        Clients {
            organizations: aws_sdk_organizations::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            eventbridge: aws_sdk_eventbridge::Client::new(&config),
            stepfunctions: aws_sdk_sfn::Client::new(&config),
            config,
        }
    }
}

/// A configuration whose credentials come from assuming `role_name` in `account_id`. The
/// session name carries the execution name, so CloudTrail ties every call to one execution.
pub async fn assume_role(
    base: &SdkConfig,
    account_id: &str,
    role_name: &str,
    session: &str,
) -> SdkConfig {
    let partition = "aws";
    let role_arn = format!("arn:{partition}:iam::{account_id}:role/{role_name}");
    let session: String = session
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "=,.@-_".contains(*c))
        .take(64)
        .collect();
    let provider = AssumeRoleProvider::builder(role_arn)
        .session_name(if session.len() >= 2 {
            session
        } else {
            "tenant-vending".into()
        })
        .configure(base)
        .build()
        .await;
    base.to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build()
}

/// A configuration for the local sandbox at `endpoint`: fixed test credentials, one region.
pub async fn sandbox_config(endpoint: &str, region: &str) -> SdkConfig {
    let credentials =
        aws_credential_types::Credentials::new("testing", "testing", None, None, "sandbox");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region.to_owned()))
        .credentials_provider(credentials)
        .load()
        .await
}
