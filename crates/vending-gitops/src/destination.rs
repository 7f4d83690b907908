//! The destination the platform config chooses, built once at the HandOff function's init:
//! the git repository (this crate) or the S3 bucket (`vending_aws::S3Manifests`), behind the
//! one `ManifestDestination` port the step writes through.

use crate::{GitCredentials, GitRepository};
use std::collections::BTreeMap;
use std::path::Path;
use vending_aws::S3Manifests;
use vending_domain::config::GitOpsConfig;
use vending_domain::ports::{ManifestBundle, ManifestDestination, Publication};
use vending_domain::{PlatformConfig, StepError};

/// The destination the platform config chose.
#[derive(Debug, Clone)]
pub enum Destination {
    /// A git repository.
    Git(GitRepository),
    /// An S3 bucket.
    S3(S3Manifests),
}

impl Destination {
    /// Builds the configured destination: for git, with the credentials of its secret and a
    /// bare clone kept in `cache`.
    pub async fn from_config(
        config: &PlatformConfig,
        sdk: &aws_config::SdkConfig,
        cache: &Path,
    ) -> Result<Destination, StepError> {
        match &config.gitops {
            GitOpsConfig::Git(git) => {
                let credentials = match &git.credentials_secret_arn {
                    Some(arn) => Some(
                        GitCredentials::from_secret(
                            &vending_aws::manifests::secret(sdk, arn).await?,
                        )
                        .map_err(|e| StepError::Internal(format!("secret {arn}: {e}")))?,
                    ),
                    None => None,
                };
                Ok(Destination::Git(GitRepository::new(
                    git.clone(),
                    credentials,
                    cache,
                )))
            }
            GitOpsConfig::S3(s3) => Ok(Destination::S3(S3Manifests::from_sdk(sdk, &s3.bucket))),
        }
    }
}

impl ManifestDestination for Destination {
    async fn publish(&self, bundle: &ManifestBundle) -> Result<Publication, StepError> {
        match self {
            Destination::Git(git) => git.publish(bundle).await,
            Destination::S3(s3) => s3.publish(bundle).await,
        }
    }

    async fn read(
        &self,
        tenant_dir: &str,
        record_path: &str,
    ) -> Result<BTreeMap<String, Vec<u8>>, StepError> {
        match self {
            Destination::Git(git) => git.read(tenant_dir, record_path).await,
            Destination::S3(s3) => s3.read(tenant_dir, record_path).await,
        }
    }
}
