//! Least privilege, proved on every local run: each function runs with the credentials of a
//! role of its own, whose only policy is that function's `Policies` in `infra/template.yaml`
//! (intrinsics resolved against the sandbox's accounts and names), and the sandbox authorizes
//! every call against it. A permission missing from the template fails the local run with
//! the action named, as it would fail in AWS.

use crate::template::{self, Deployment};
use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use vending_domain::PlatformConfig;
use vending_domain::config::GitOpsConfig;

/// The parameter the template reads the platform config from (never read locally: the local
/// run gives the functions their config directly, but the policy names it).
pub const CONFIG_PARAMETER: &str = "/tenant-vending/local/platform-config";

/// What the local platform's template resources are called in the sandbox.
#[derive(Debug, Clone)]
pub struct LocalNames {
    /// The management account.
    pub account_id: String,
    /// The home region.
    pub region: String,
    /// The registry table.
    pub table: String,
    /// The service's event bus.
    pub bus: String,
    /// The vending state machine's ARN.
    pub state_machine_arn: String,
    /// The batch re-run state machine's ARN.
    pub rerun_state_machine_arn: String,
    /// The offboarding state machine's ARN.
    pub offboarding_state_machine_arn: String,
    /// The triggers' dead-letter queue's ARN.
    pub dead_letter_queue_arn: String,
}

/// The template's deployment in the sandbox: its parameters from the platform config, its
/// resources under their local names.
pub fn deployment(config: &PlatformConfig, names: &LocalNames) -> Deployment {
    let (secret, bucket) = match &config.gitops {
        GitOpsConfig::Git(git) => (
            git.credentials_secret_arn.clone().unwrap_or_default(),
            String::new(),
        ),
        GitOpsConfig::S3(s3) => (String::new(), s3.bucket.clone()),
    };
    let partition = vending_domain::config::partition_of(&names.region);
    let (region, account) = (&names.region, &names.account_id);
    let resource = |pairs: &[(&str, String)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    };
    let machine = |arn: &String| {
        resource(&[
            ("Ref", arn.clone()),
            ("Arn", arn.clone()),
            (
                "Name",
                arn.rsplit(':').next().unwrap_or_default().to_owned(),
            ),
        ])
    };
    Deployment {
        region: names.region.clone(),
        account_id: names.account_id.clone(),
        parameters: BTreeMap::from([
            ("Environment".to_owned(), "dev".to_owned()),
            (
                "PlatformConfigParameterName".to_owned(),
                CONFIG_PARAMETER.to_owned(),
            ),
            ("MemberRoleName".to_owned(), config.member_role_name.clone()),
            ("LogRetentionDays".to_owned(), "7".to_owned()),
            ("GitOpsSecretArn".to_owned(), secret),
            ("GitOpsBucketName".to_owned(), bucket),
        ]),
        resources: BTreeMap::from([
            (
                "RegistryTable".to_owned(),
                resource(&[
                    ("Ref", names.table.clone()),
                    (
                        "Arn",
                        format!(
                            "arn:{partition}:dynamodb:{region}:{account}:table/{}",
                            names.table
                        ),
                    ),
                ]),
            ),
            (
                "TenantEventBus".to_owned(),
                resource(&[
                    ("Ref", names.bus.clone()),
                    ("Name", names.bus.clone()),
                    (
                        "Arn",
                        format!(
                            "arn:{partition}:events:{region}:{account}:event-bus/{}",
                            names.bus
                        ),
                    ),
                ]),
            ),
            (
                "VendingStateMachine".to_owned(),
                machine(&names.state_machine_arn),
            ),
            (
                "RerunStateMachine".to_owned(),
                machine(&names.rerun_state_machine_arn),
            ),
            (
                "OffboardingStateMachine".to_owned(),
                machine(&names.offboarding_state_machine_arn),
            ),
            (
                "TriggerDeadLetterQueue".to_owned(),
                resource(&[
                    ("Arn", names.dead_letter_queue_arn.clone()),
                    ("QueueName", "tenant-vending-trigger-dlq".to_owned()),
                ]),
            ),
        ]),
    }
}

/// The role a function runs as in the sandbox.
pub fn role_name(logical: &str) -> String {
    format!("tenant-vending-{logical}")
}

/// `root`'s configuration on other credentials.
pub fn config_with(root: &SdkConfig, credentials: &Credentials) -> SdkConfig {
    root.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials.clone()))
        .build()
}

/// For each function of the template: a role in the management account with exactly its
/// policy, assumed now (with the sandbox's root credentials, before IAM is enforced). Returns
/// each function's credentials.
pub async fn function_credentials(
    root: &SdkConfig,
    template_text: &str,
    deployment: &Deployment,
) -> Result<BTreeMap<String, Credentials>, String> {
    let template = template::parse(template_text).map_err(|e| e.to_string())?;
    let policies = template::function_policies(&template, deployment).map_err(|e| e.to_string())?;
    let iam = aws_sdk_iam::Client::new(root);
    let sts = aws_sdk_sts::Client::new(root);
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }, {
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{}:root", deployment.account_id)},
            "Action": "sts:AssumeRole"
        }]
    });
    let mut out = BTreeMap::new();
    for (logical, policy) in policies {
        let name = role_name(&logical);
        let role = iam
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .map_err(|e| format!("creating {name}: {e:?}"))?;
        let arn = role.role().map(|r| r.arn().to_owned()).unwrap_or_default();
        if policy["Statement"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
        {
            iam.put_role_policy()
                .role_name(&name)
                .policy_name("template")
                .policy_document(policy.to_string())
                .send()
                .await
                .map_err(|e| format!("giving {name} its policy: {e:?}"))?;
        }
        let assumed = sts
            .assume_role()
            .role_arn(&arn)
            .role_session_name(&logical)
            .send()
            .await
            .map_err(|e| format!("assuming {name}: {e:?}"))?;
        let c = assumed
            .credentials()
            .ok_or_else(|| format!("assuming {name} gave no credentials"))?;
        let credentials = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "function-role",
        );
        out.insert(logical, credentials);
    }
    Ok(out)
}

/// The policy document the template gives `logical`, for messages and tests.
pub fn policy_of(template_text: &str, deployment: &Deployment, logical: &str) -> Option<Value> {
    let template = template::parse(template_text).ok()?;
    template::function_policies(&template, deployment)
        .ok()?
        .remove(logical)
}
