//! IAM Identity Center (`sso-admin` and `identitystore`) as the `TeamAccess` port: groups by
//! display name, permission sets by name, account assignments read and made. The instance is
//! in the account the service runs in (the management account, or Identity Center's delegated
//! administrator).

use crate::classify::classify;
use aws_config::SdkConfig;
use aws_sdk_identitystore::operation::get_group_id::GetGroupIdError;
use aws_sdk_identitystore::types::{AlternateIdentifier, UniqueAttribute};
use aws_sdk_ssoadmin::types::{PrincipalType, StatusValues, TargetType};
use aws_smithy_types::Document;
use vending_domain::ports::{AssignmentStatus, TeamAccess};
use vending_domain::{PlatformConfig, StepError};

/// The adapter, on one instance and its identity store.
#[derive(Debug, Clone)]
pub struct IdentityCenter {
    admin: aws_sdk_ssoadmin::Client,
    store: aws_sdk_identitystore::Client,
    instance_arn: String,
    identity_store_id: String,
}

impl IdentityCenter {
    /// The adapter on `instance_arn` and its store.
    pub fn new(sdk: &SdkConfig, instance_arn: &str, identity_store_id: &str) -> IdentityCenter {
        IdentityCenter {
            admin: aws_sdk_ssoadmin::Client::new(sdk),
            store: aws_sdk_identitystore::Client::new(sdk),
            instance_arn: instance_arn.to_owned(),
            identity_store_id: identity_store_id.to_owned(),
        }
    }

    /// The adapter on the config's instance (an empty one without `identityCenter`: the step
    /// then assigns nothing, and refuses a request that names teams).
    pub fn for_config(sdk: &SdkConfig, config: &PlatformConfig) -> IdentityCenter {
        let (instance, store) = config.identity_center.as_ref().map_or(("", ""), |ic| {
            (ic.instance_arn.as_str(), ic.identity_store_id.as_str())
        });
        IdentityCenter::new(sdk, instance, store)
    }
}

fn status(
    doc: Option<&aws_sdk_ssoadmin::types::AccountAssignmentOperationStatus>,
) -> AssignmentStatus {
    let Some(doc) = doc else {
        return AssignmentStatus::Failed {
            reason: "Identity Center answered no status".into(),
        };
    };
    match doc.status() {
        Some(StatusValues::Succeeded) => AssignmentStatus::Succeeded,
        Some(StatusValues::Failed) => AssignmentStatus::Failed {
            reason: doc.failure_reason().unwrap_or("no reason given").to_owned(),
        },
        _ => AssignmentStatus::InProgress {
            request_id: doc.request_id().unwrap_or_default().to_owned(),
        },
    }
}

impl TeamAccess for IdentityCenter {
    async fn group_id(&self, display_name: &str) -> Result<Option<String>, StepError> {
        let attribute = UniqueAttribute::builder()
            .attribute_path("displayName")
            .attribute_value(Document::String(display_name.to_owned()))
            .build()
            .map_err(|e| StepError::Internal(format!("GetGroupId: {e}")))?;
        match self
            .store
            .get_group_id()
            .identity_store_id(&self.identity_store_id)
            .alternate_identifier(AlternateIdentifier::UniqueAttribute(attribute))
            .send()
            .await
        {
            Ok(found) => Ok(Some(found.group_id().to_owned())),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(GetGroupIdError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(classify("GetGroupId", &e)),
        }
    }

    async fn permission_set_arn(&self, name: &str) -> Result<Option<String>, StepError> {
        // Permission sets are listed by ARN only; each one's name is read until one matches.
        let mut pages = self
            .admin
            .list_permission_sets()
            .instance_arn(&self.instance_arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListPermissionSets", &e))?;
            for arn in page.permission_sets() {
                let described = self
                    .admin
                    .describe_permission_set()
                    .instance_arn(&self.instance_arn)
                    .permission_set_arn(arn)
                    .send()
                    .await
                    .map_err(|e| classify("DescribePermissionSet", &e))?;
                if described.permission_set().and_then(|p| p.name()) == Some(name) {
                    return Ok(Some(arn.clone()));
                }
            }
        }
        Ok(None)
    }

    async fn assigned_groups(
        &self,
        account_id: &str,
        permission_set_arn: &str,
    ) -> Result<Vec<String>, StepError> {
        let mut groups = Vec::new();
        let mut pages = self
            .admin
            .list_account_assignments()
            .instance_arn(&self.instance_arn)
            .account_id(account_id)
            .permission_set_arn(permission_set_arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListAccountAssignments", &e))?;
            groups.extend(
                page.account_assignments()
                    .iter()
                    .filter(|a| a.principal_type() == Some(&PrincipalType::Group))
                    .filter_map(|a| a.principal_id().map(str::to_owned)),
            );
        }
        Ok(groups)
    }

    async fn assign(
        &self,
        account_id: &str,
        permission_set_arn: &str,
        group_id: &str,
    ) -> Result<AssignmentStatus, StepError> {
        let out = self
            .admin
            .create_account_assignment()
            .instance_arn(&self.instance_arn)
            .target_id(account_id)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(permission_set_arn)
            .principal_type(PrincipalType::Group)
            .principal_id(group_id)
            .send()
            .await
            .map_err(|e| classify("CreateAccountAssignment", &e))?;
        Ok(status(out.account_assignment_creation_status()))
    }

    async fn assignment_status(&self, request_id: &str) -> Result<AssignmentStatus, StepError> {
        let out = self
            .admin
            .describe_account_assignment_creation_status()
            .instance_arn(&self.instance_arn)
            .account_assignment_creation_request_id(request_id)
            .send()
            .await
            .map_err(|e| classify("DescribeAccountAssignmentCreationStatus", &e))?;
        Ok(status(out.account_assignment_creation_status()))
    }
}
