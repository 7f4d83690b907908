//! SDK clients, built once from the environment (`AWS_ENDPOINT_URL` points them at the local
//! sandbox), and configurations for member accounts reached through `sts:AssumeRole`.

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_sts::config::SharedHttpClient;
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// The clients of the management account.
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
    pub fn from_env() -> Clients {
        Clients::from_config(config_from_env())
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

/// The HTTPS client of every SDK client: the SDK's own hyper client, with rustls on `ring`
/// instead of the SDK's default `aws-lc`, whose C library is most of the difference between a
/// bootstrap over and under its size target. The trusted roots are the system's (in Lambda,
/// the image's bundle), as with the default client.
pub fn https_client() -> SharedHttpClient {
    SharedHttpClient::new(RequestIds(
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https(),
    ))
}

/// The target of the event naming each response's AWS request id.
pub const REQUEST_ID_TARGET: &str = "vending_aws::request_id";

/// An HTTP client that reports each response's AWS request id (`x-amzn-requestid`, S3's
/// `x-amz-request-id`) as a debug event inside the SDK's operation span, where the logs (at
/// debug) and a local run's trace file (`vend::trace`) attach it to the call. The SDK's own
/// operation span has no field for it.
#[derive(Debug)]
struct RequestIds(SharedHttpClient);

#[derive(Debug)]
struct RequestIdConnector(SharedHttpConnector);

impl HttpClient for RequestIds {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(RequestIdConnector(
            self.0.http_connector(settings, components),
        ))
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

impl HttpConnector for RequestIdConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let answer = self.0.call(request);
        HttpConnectorFuture::new(async move {
            let response = answer.await?;
            let headers = response.headers();
            if let Some(id) = headers
                .get("x-amzn-requestid")
                .or_else(|| headers.get("x-amz-request-id"))
            {
                tracing::debug!(target: REQUEST_ID_TARGET, request_id = id, status = response.status().as_u16(), "AWS response");
            }
            Ok(response)
        })
    }
}

/// Attempts the SDK makes of a call that failed with a throttle or a server error, before the
/// step fails and the workflow's Retry takes over. Five rather than the SDK's three: a vending
/// makes some ninety calls, and in a throttling storm (`make proof` fails 30 % of them) three
/// attempts leave one step in two to the workflow's slower, costlier retry; five leave one in
/// twenty. The SDK's retry quota still stops a storm from being made worse.
pub const SDK_ATTEMPTS: u32 = 5;

/// The configuration of a Lambda function, from its environment alone: the execution role's
/// credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), the region
/// (`AWS_REGION`, else `AWS_DEFAULT_REGION`), and `AWS_ENDPOINT_URL` when set (the local
/// sandbox), on [`https_client`] with standard retries ([`SDK_ATTEMPTS`] attempts).
///
/// Not `aws_config::load_from_env`: its default chains (profile files, SSO, web identity, ECS
/// and IMDS) never apply in Lambda, yet their code is linked into every bootstrap that calls
/// it. Nor are per-service endpoint variables (`AWS_ENDPOINT_URL_<SERVICE>`) read.
pub fn config_from_env() -> SdkConfig {
    config_from(|name| std::env::var(name).ok())
}

/// [`config_from_env`] with the environment read through `env`.
fn config_from(env: impl Fn(&str) -> Option<String>) -> SdkConfig {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    let credentials = EnvironmentVariableCredentialsProvider::new();
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .identity_cache(IdentityCache::lazy().build())
        .http_client(https_client())
        .retry_config(RetryConfig::standard().with_max_attempts(SDK_ATTEMPTS))
        // The clients would default these, but not the providers built on this config
        // (`AssumeRoleProvider` panics without a time source).
        .time_source(SystemTimeSource::new())
        .sleep_impl(TokioSleep::new())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(3100))
                .build(),
        );
    config.set_region(
        var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .map(Region::new),
    );
    config.set_endpoint_url(var("AWS_ENDPOINT_URL"));
    config.build()
}

/// A configuration whose credentials come from assuming `role_name` in `account_id`, lazily
/// (at the first call): for the sandbox's seeding and tests. The steps reach member accounts
/// through `MemberAccounts`, which assumes the role at once and names a refusal. The session
/// name carries the execution name, so CloudTrail ties every call to one execution.
pub async fn assume_role(
    base: &SdkConfig,
    account_id: &str,
    role_name: &str,
    session: &str,
) -> SdkConfig {
    let region = base.region().map_or("us-east-1", |r| r.as_ref());
    let partition = vending_domain::config::partition_of(region);
    let role_arn = format!("arn:{partition}:iam::{account_id}:role/{role_name}");
    let provider = AssumeRoleProvider::builder(role_arn)
        .session_name(crate::accounts::session_name(session))
        .configure(base)
        .build()
        .await;
    base.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}

/// A configuration for the local sandbox at `endpoint`: the functions' own configuration
/// ([`config_from_env`]) for that endpoint and region, with fixed test credentials, so local
/// runs and tests build their clients exactly as the bootstraps do.
pub fn sandbox_config(endpoint: &str, region: &str) -> SdkConfig {
    let credentials =
        aws_credential_types::Credentials::new("testing", "testing", None, None, "sandbox");
    config_from(|name| match name {
        "AWS_ENDPOINT_URL" => Some(endpoint.to_owned()),
        "AWS_REGION" => Some(region.to_owned()),
        _ => None,
    })
    .to_builder()
    .credentials_provider(SharedCredentialsProvider::new(credentials))
    .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lambda_env(name: &str) -> Option<String> {
        match name {
            "AWS_REGION" => Some("eu-west-1".into()),
            "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:5000".into()),
            _ => None,
        }
    }

    #[test]
    fn the_lambda_environment_gives_region_and_endpoint() {
        let config = config_from(lambda_env);
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:5000"));
        let config = config_from(|name| (name == "AWS_DEFAULT_REGION").then(|| "us-east-1".into()));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-1"));
        assert_eq!(config.endpoint_url(), None);
    }

    // A member account's configuration is built on the function's own: the assume-role
    // provider needs its time source and sleep (it panicked without them).
    #[tokio::test]
    async fn member_accounts_can_be_reached_from_the_lambda_configuration() {
        let base = config_from(lambda_env);
        let member = assume_role(&base, "111122223333", "TenantVendingMember", "exec-1").await;
        assert!(member.credentials_provider().is_some());
        assert_eq!(member.region(), base.region());
    }
}
