//! The `Accounts` port: clients for tenant, network and cluster accounts, each reached by
//! assuming the configured member role with the execution name as session name.

use crate::clients::assume_role;
use crate::ec2::{Ec2Hub, Ec2Network};
use crate::eks::EksAccess;
use crate::iam::IamIdentity;
use aws_config::{Region, SdkConfig};
use vending_domain::ports::Accounts;

/// Builds per-account adapters from the management account's configuration.
#[derive(Debug, Clone)]
pub struct MemberAccounts {
    base: SdkConfig,
    role_name: String,
}

impl MemberAccounts {
    /// Adapters that assume `role_name` (the platform config's `memberRoleName`).
    pub fn new(base: SdkConfig, role_name: impl Into<String>) -> MemberAccounts {
        MemberAccounts {
            base,
            role_name: role_name.into(),
        }
    }

    async fn config(&self, account_id: &str, region: Option<&str>, session: &str) -> SdkConfig {
        let assumed = assume_role(&self.base, account_id, &self.role_name, session).await;
        match region {
            Some(r) => assumed
                .to_builder()
                .region(Region::new(r.to_owned()))
                .build(),
            None => assumed,
        }
    }
}

impl Accounts for MemberAccounts {
    type Network = Ec2Network;
    type Hub = Ec2Hub;
    type Identity = IamIdentity;
    type Clusters = EksAccess;

    async fn network(&self, account_id: &str, region: &str, session: &str) -> Ec2Network {
        let config = self.config(account_id, Some(region), session).await;
        Ec2Network::new(aws_sdk_ec2::Client::new(&config))
    }

    async fn hub(&self, account_id: &str, region: &str, session: &str) -> Ec2Hub {
        let config = self.config(account_id, Some(region), session).await;
        Ec2Hub::new(aws_sdk_ec2::Client::new(&config))
    }

    async fn identity(&self, account_id: &str, session: &str) -> IamIdentity {
        let config = self.config(account_id, None, session).await;
        IamIdentity::new(aws_sdk_iam::Client::new(&config))
    }

    async fn clusters(&self, account_id: &str, region: &str, session: &str) -> EksAccess {
        let config = self.config(account_id, Some(region), session).await;
        EksAccess::new(aws_sdk_eks::Client::new(&config))
    }
}
