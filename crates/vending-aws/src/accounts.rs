//! The `Accounts` port: clients for tenant (IAM, EC2, AWS Backup), network and cluster accounts, each reached by
//! assuming the configured member role with the execution name as session name.
//!
//! The role is assumed when the adapter is made, not lazily by a credentials provider at the
//! first call: a refusal then has its own stable name (`AccessDenied`, naming the role and the
//! account) instead of surfacing as a code-less dispatch failure that the workflow would retry
//! as `Unavailable`.
//!
//! A session's credentials are kept while they have more than five minutes left, so a step
//! that needs several services of one account (ProvisionIdentity: IAM, then AWS Backup;
//! ProvisionNetwork: EC2 in each region) assumes the role once per account and execution.

use crate::backup::AwsBackups;
use crate::classify::classify;
use crate::ec2::{Ec2Hub, Ec2Network};
use crate::eks::EksAccess;
use crate::iam::IamIdentity;
use crate::recording::AwsRecording;
use aws_config::{Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};
use vending_domain::StepError;
use vending_domain::config::partition_of;
use vending_domain::ports::Accounts;

/// Builds per-account adapters from the management account's configuration.
#[derive(Debug, Clone)]
pub struct MemberAccounts {
    base: SdkConfig,
    sts: aws_sdk_sts::Client,
    role_name: String,
    /// Credentials by (account, session name).
    sessions: Arc<Mutex<HashMap<(String, String), Credentials>>>,
}

/// How long before their expiry kept credentials are assumed again: longer than any step.
const FRESH_FOR: Duration = Duration::from_secs(300);

/// An STS session name from an execution name: AWS allows 2 to 64 of `[\w+=,.@-]`.
pub fn session_name(session: &str) -> String {
    let name: String = session
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "=,.@-_".contains(*c))
        .take(64)
        .collect();
    if name.len() >= 2 {
        name
    } else {
        "tenant-vending".into()
    }
}

impl MemberAccounts {
    /// Adapters that assume `role_name` (the platform config's `memberRoleName`).
    pub fn new(base: SdkConfig, role_name: impl Into<String>) -> MemberAccounts {
        MemberAccounts {
            sts: aws_sdk_sts::Client::new(&base),
            base,
            role_name: role_name.into(),
            sessions: Arc::default(),
        }
    }

    #[cfg(test)]
    fn with_sts(base: SdkConfig, sts: aws_sdk_sts::Client, role_name: &str) -> MemberAccounts {
        MemberAccounts {
            base,
            sts,
            role_name: role_name.into(),
            sessions: Arc::default(),
        }
    }

    /// The member role's ARN in `account_id`, in the partition of the home region.
    pub fn role_arn(&self, account_id: &str) -> String {
        let region = self.base.region().map_or("us-east-1", |r| r.as_ref());
        format!(
            "arn:{}:iam::{account_id}:role/{}",
            partition_of(region),
            self.role_name
        )
    }

    async fn config(
        &self,
        account_id: &str,
        region: Option<&str>,
        session: &str,
    ) -> Result<SdkConfig, StepError> {
        let credentials = self.credentials(account_id, session).await?;
        let mut builder = self
            .base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials));
        if let Some(r) = region {
            builder = builder.region(Region::new(r.to_owned()));
        }
        Ok(builder.build())
    }

    /// The member role's credentials in `account_id` for `session`: kept ones while fresh,
    /// else assumed now.
    async fn credentials(&self, account_id: &str, session: &str) -> Result<Credentials, StepError> {
        let key = (account_id.to_owned(), session_name(session));
        let kept = self
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .filter(|c| {
                c.expiry()
                    .is_some_and(|at| at > SystemTime::now() + FRESH_FOR)
            })
            .cloned();
        if let Some(credentials) = kept {
            return Ok(credentials);
        }
        let role_arn = self.role_arn(account_id);
        let out = self
            .sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(&key.1)
            .send()
            .await
            .map_err(|e| match classify("AssumeRole", &e) {
                StepError::AccessDenied(why) => StepError::AccessDenied(format!(
                    "the member role {role_arn} of account {account_id} could not be assumed (a brand-new account's role may not be usable yet; else its trust policy or an SCP refuses this service): {why}"
                )),
                other => other,
            })?;
        let c = out.credentials().ok_or_else(|| {
            StepError::Internal(format!("AssumeRole {role_arn} returned no credentials"))
        })?;
        let expiry = SystemTime::try_from(*c.expiration()).ok();
        let credentials = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            expiry,
            "member-role",
        );
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, credentials.clone());
        Ok(credentials)
    }
}

impl Accounts for MemberAccounts {
    type Network = Ec2Network;
    type Hub = Ec2Hub;
    type Identity = IamIdentity;
    type Clusters = EksAccess;
    type Backups = AwsBackups;
    type Recording = AwsRecording;

    async fn network(
        &self,
        account_id: &str,
        region: &str,
        session: &str,
    ) -> Result<Ec2Network, StepError> {
        let config = self.config(account_id, Some(region), session).await?;
        Ok(Ec2Network::new(aws_sdk_ec2::Client::new(&config)))
    }

    async fn hub(
        &self,
        account_id: &str,
        region: &str,
        session: &str,
    ) -> Result<Ec2Hub, StepError> {
        let config = self.config(account_id, Some(region), session).await?;
        Ok(Ec2Hub::new(aws_sdk_ec2::Client::new(&config)))
    }

    async fn identity(&self, account_id: &str, session: &str) -> Result<IamIdentity, StepError> {
        let config = self.config(account_id, None, session).await?;
        Ok(IamIdentity::new(aws_sdk_iam::Client::new(&config)))
    }

    async fn backups(
        &self,
        account_id: &str,
        region: &str,
        session: &str,
    ) -> Result<AwsBackups, StepError> {
        let config = self.config(account_id, Some(region), session).await?;
        Ok(AwsBackups::new(
            aws_sdk_backup::Client::new(&config),
            aws_sdk_iam::Client::new(&config),
            region,
        ))
    }

    async fn recording(
        &self,
        account_id: &str,
        region: &str,
        session: &str,
    ) -> Result<AwsRecording, StepError> {
        let config = self.config(account_id, Some(region), session).await?;
        Ok(AwsRecording::new(
            aws_sdk_config::Client::new(&config),
            aws_sdk_cloudtrail::Client::new(&config),
            aws_sdk_iam::Client::new(&config),
            region,
        ))
    }

    async fn clusters(
        &self,
        account_id: &str,
        region: &str,
        session: &str,
    ) -> Result<EksAccess, StepError> {
        let config = self.config(account_id, Some(region), session).await?;
        Ok(EksAccess::new(aws_sdk_eks::Client::new(&config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sts::error::ErrorMetadata;
    use aws_sdk_sts::operation::assume_role::AssumeRoleError;
    use aws_smithy_mocks::{RuleMode, mock};

    #[tokio::test]
    async fn a_refused_assume_role_is_access_denied_naming_the_role_and_the_account() {
        let denied = mock!(aws_sdk_sts::Client::assume_role)
            .match_requests(|r| {
                r.role_arn() == Some("arn:aws:iam::111122223333:role/OrganizationAccountAccessRole")
                    && r.role_session_name() == Some("exec-1")
            })
            .then_error(|| {
                AssumeRoleError::generic(
                    ErrorMetadata::builder()
                        .code("AccessDenied")
                        .message("User: arn:aws:sts::1:assumed-role/fn/x is not authorized to perform: sts:AssumeRole")
                        .build(),
                )
            });
        let sts = mock_client!(aws_sdk_sts, RuleMode::Sequential, [&denied]);
        let base = crate::clients::sandbox_config("http://127.0.0.1:1", "eu-west-1");
        let accounts = MemberAccounts::with_sts(base, sts, "OrganizationAccountAccessRole");
        let err = accounts
            .identity("111122223333", "exec-1")
            .await
            .expect_err("refused");
        assert_eq!(err.error_type(), "AccessDenied");
        let said = err.to_string();
        assert!(
            said.contains("role/OrganizationAccountAccessRole"),
            "{said}"
        );
        assert!(said.contains("account 111122223333"), "{said}");
        assert_eq!(
            denied.num_calls(),
            1,
            "asked once: the workflow's budget does the retrying"
        );
    }

    #[tokio::test]
    async fn one_session_in_one_account_assumes_the_role_once_for_every_service() {
        let in_an_hour =
            aws_smithy_types::DateTime::from(SystemTime::now() + Duration::from_secs(3600));
        let assumed = mock!(aws_sdk_sts::Client::assume_role).then_output(move || {
            aws_sdk_sts::operation::assume_role::AssumeRoleOutput::builder()
                .credentials(
                    aws_sdk_sts::types::Credentials::builder()
                        .access_key_id("ASIA1")
                        .secret_access_key("secret")
                        .session_token("token")
                        .expiration(in_an_hour)
                        .build()
                        .expect("credentials"),
                )
                .build()
        });
        let sts = mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&assumed]);
        let base = crate::clients::sandbox_config("http://127.0.0.1:1", "eu-west-1");
        let accounts = MemberAccounts::with_sts(base, sts, "OrganizationAccountAccessRole");
        accounts
            .identity("111122223333", "exec-1")
            .await
            .expect("assumed");
        accounts
            .backups("111122223333", "eu-west-1", "exec-1")
            .await
            .expect("kept");
        accounts
            .network("111122223333", "eu-central-1", "exec-1")
            .await
            .expect("kept");
        assert_eq!(assumed.num_calls(), 1, "one AssumeRole for the session");
        accounts
            .identity("111122223333", "exec-2")
            .await
            .expect("assumed");
        accounts
            .identity("444455556666", "exec-1")
            .await
            .expect("assumed");
        assert_eq!(
            assumed.num_calls(),
            3,
            "another session or account assumes again"
        );
    }

    #[test]
    fn the_role_is_in_the_partition_of_the_home_region() {
        let base = crate::clients::sandbox_config("http://127.0.0.1:1", "cn-north-1");
        let accounts = MemberAccounts::new(base, "OrganizationAccountAccessRole");
        assert_eq!(
            accounts.role_arn("111122223333"),
            "arn:aws-cn:iam::111122223333:role/OrganizationAccountAccessRole"
        );
    }
}
