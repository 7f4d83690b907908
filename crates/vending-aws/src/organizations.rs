//! AWS Organizations behind the `Organization` port.

use crate::classify::{ThrottlingOnly, classify, throttled_create_retries};
use aws_sdk_organizations::Client;
use aws_sdk_organizations::operation::close_account::CloseAccountError;
use aws_sdk_organizations::operation::create_account::CreateAccountError;
use aws_sdk_organizations::operation::describe_account::DescribeAccountError;
use aws_sdk_organizations::types::{Account, CreateAccountState as SdkState, Tag};
use std::collections::BTreeMap;
use vending_domain::StepError;
use vending_domain::ports::{AccountInfo, CreateAccountState, CreateRequest, Organization};

/// The `Organization` port on the real Organizations client.
#[derive(Debug, Clone)]
pub struct OrganizationsAdapter {
    client: Client,
}

impl OrganizationsAdapter {
    /// Wraps a client.
    pub fn new(client: Client) -> OrganizationsAdapter {
        OrganizationsAdapter { client }
    }
}

fn info(a: &Account) -> AccountInfo {
    AccountInfo {
        id: a.id().unwrap_or_default().to_owned(),
        name: a.name().unwrap_or_default().to_owned(),
        email: a.email().unwrap_or_default().to_owned(),
        status: a
            .state()
            .map(|s| s.as_str().to_owned())
            .or_else(|| a.status().map(|s| s.as_str().to_owned()))
            .unwrap_or_default(),
    }
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, StepError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| StepError::Internal(format!("building a tag: {e}")))
        })
        .collect()
}

fn state_of(
    status: &aws_sdk_organizations::types::CreateAccountStatus,
) -> Result<CreateAccountState, StepError> {
    Ok(match status.state() {
        Some(SdkState::Succeeded) => CreateAccountState::Succeeded {
            account_id: status.account_id().map(str::to_owned).ok_or_else(|| {
                StepError::Internal("a SUCCEEDED creation has no account id".into())
            })?,
        },
        Some(SdkState::Failed) => CreateAccountState::Failed {
            reason: status
                .failure_reason()
                .map_or_else(|| "UNKNOWN".to_owned(), |r| r.as_str().to_owned()),
        },
        _ => CreateAccountState::InProgress,
    })
}

impl Organization for OrganizationsAdapter {
    async fn find_account_by_email(&self, email: &str) -> Result<Option<AccountInfo>, StepError> {
        let mut pages = self.client.list_accounts().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListAccounts", &e))?;
            if let Some(account) = page
                .accounts()
                .iter()
                .find(|a| a.email().is_some_and(|e| e.eq_ignore_ascii_case(email)))
            {
                return Ok(Some(info(account)));
            }
        }
        Ok(None)
    }

    async fn describe_account(&self, account_id: &str) -> Result<Option<AccountInfo>, StepError> {
        match self
            .client
            .describe_account()
            .account_id(account_id)
            .send()
            .await
        {
            Ok(out) => Ok(out.account().map(info)),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DescribeAccountError::AccountNotFoundException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(classify("DescribeAccount", &e)),
        }
    }

    async fn create_account(
        &self,
        email: &str,
        name: &str,
        role_name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, StepError> {
        // CreateAccount takes no client token: an SDK retry after a lost answer would start a
        // second creation (failed with EMAIL_ALREADY_EXISTS, and its id saved instead of the
        // first's). So the SDK retries it only when it was throttled (refused unprocessed); the
        // workflow re-runs the step after any other error, which finds the first creation by
        // name.
        let out = self
            .client
            .create_account()
            .email(email)
            .account_name(name)
            .role_name(role_name)
            .set_tags(Some(sdk_tags(tags)?))
            .customize()
            .config_override(
                aws_sdk_organizations::config::Builder::default()
                    .retry_config(throttled_create_retries())
                    .retry_classifier(ThrottlingOnly::<CreateAccountError>::new()),
            )
            .send()
            .await
            .map_err(|e| classify("CreateAccount", &e))?;
        out.create_account_status()
            .and_then(|s| s.id())
            .map(str::to_owned)
            .ok_or_else(|| StepError::Internal("CreateAccount returned no request id".into()))
    }

    async fn find_create_request(
        &self,
        account_name: &str,
    ) -> Result<Option<CreateRequest>, StepError> {
        let mut pages = self
            .client
            .list_create_account_status()
            .states(SdkState::InProgress)
            .states(SdkState::Succeeded)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListCreateAccountStatus", &e))?;
            if let Some(st) = page
                .create_account_statuses()
                .iter()
                .find(|s| s.account_name() == Some(account_name))
            {
                let state = state_of(st)?;
                return Ok(st.id().map(|id| CreateRequest {
                    id: id.to_owned(),
                    state,
                }));
            }
        }
        Ok(None)
    }

    async fn create_account_state(
        &self,
        request_id: &str,
    ) -> Result<CreateAccountState, StepError> {
        let out = self
            .client
            .describe_create_account_status()
            .create_account_request_id(request_id)
            .send()
            .await
            .map_err(|e| classify("DescribeCreateAccountStatus", &e))?;
        let status = out.create_account_status().ok_or_else(|| {
            StepError::Internal("DescribeCreateAccountStatus returned no status".into())
        })?;
        state_of(status)
    }

    async fn parent_of(&self, account_id: &str) -> Result<String, StepError> {
        let out = self
            .client
            .list_parents()
            .child_id(account_id)
            .send()
            .await
            .map_err(|e| classify("ListParents", &e))?;
        out.parents()
            .first()
            .and_then(|p| p.id())
            .map(str::to_owned)
            .ok_or_else(|| StepError::Internal(format!("account {account_id} has no parent")))
    }

    async fn move_account(&self, account_id: &str, from: &str, to: &str) -> Result<(), StepError> {
        self.client
            .move_account()
            .account_id(account_id)
            .source_parent_id(from)
            .destination_parent_id(to)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("MoveAccount", &e))
    }

    async fn account_tags(&self, account_id: &str) -> Result<BTreeMap<String, String>, StepError> {
        let mut tags = BTreeMap::new();
        let mut pages = self
            .client
            .list_tags_for_resource()
            .resource_id(account_id)
            .into_paginator()
            .items()
            .send();
        while let Some(tag) = pages.next().await {
            let tag = tag.map_err(|e| classify("ListTagsForResource", &e))?;
            tags.insert(tag.key().to_owned(), tag.value().to_owned());
        }
        Ok(tags)
    }

    async fn tag_account(
        &self,
        account_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), StepError> {
        if tags.is_empty() {
            return Ok(());
        }
        self.client
            .tag_resource()
            .resource_id(account_id)
            .set_tags(Some(sdk_tags(tags)?))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("TagResource", &e))
    }

    async fn management_account(&self) -> Result<String, StepError> {
        let out = self
            .client
            .describe_organization()
            .send()
            .await
            .map_err(|e| classify("DescribeOrganization", &e))?;
        out.organization()
            .and_then(|o| o.master_account_id())
            .map(str::to_owned)
            .ok_or_else(|| {
                StepError::Internal("DescribeOrganization named no management account".into())
            })
    }

    async fn close_account(&self, account_id: &str) -> Result<(), StepError> {
        match self
            .client
            .close_account()
            .account_id(account_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                // Closed or closing already: what this call wanted.
                Some(CloseAccountError::AccountAlreadyClosedException(_)) => Ok(()),
                Some(CloseAccountError::ConflictException(_)) => Ok(()),
                Some(CloseAccountError::ConstraintViolationException(c)) => {
                    Err(closure_refused(account_id, c))
                }
                _ => Err(classify("CloseAccount", &e)),
            },
        }
    }
}

/// CloseAccount's ConstraintViolationException, in words: the closure quota (10% of the
/// member accounts, between 10 and 1000, in a rolling 30 days) or too many closures at once
/// is `QuotaExceeded`, which the workflow never retries.
fn closure_refused(
    account_id: &str,
    c: &aws_sdk_organizations::types::error::ConstraintViolationException,
) -> StepError {
    use aws_sdk_organizations::types::ConstraintViolationExceptionReason as Reason;
    match c.reason() {
        Some(Reason::CloseAccountQuotaExceeded) => StepError::QuotaExceeded(format!(
            "CloseAccount refused account {account_id}: the organization has closed as many accounts as AWS allows in 30 days (10% of its member accounts, at least 10 and at most 1000); the tenant stays offboarding and its account suspended: run the offboarding again once the quota allows, or raise it with AWS Support"
        )),
        Some(Reason::CloseAccountRequestsLimitExceeded) => StepError::QuotaExceeded(format!(
            "CloseAccount refused account {account_id}: too many account closures are in progress; run the offboarding again later"
        )),
        other => StepError::Conflict(format!(
            "CloseAccount refused account {account_id}: {} ({})",
            c.message().unwrap_or("constraint violation"),
            other.map_or("no reason", |r| r.as_str())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_organizations::operation::create_account::CreateAccountOutput;
    use aws_sdk_organizations::types::CreateAccountStatus;
    use aws_smithy_mocks::{RuleMode, mock};

    #[tokio::test]
    async fn create_account_names_the_member_role() {
        let create = mock!(Client::create_account)
            .match_requests(|r| r.role_name() == Some("AWSControlTowerExecution"))
            .then_output(|| {
                CreateAccountOutput::builder()
                    .create_account_status(CreateAccountStatus::builder().id("car-1").build())
                    .build()
            });
        let client = mock_client!(aws_sdk_organizations, RuleMode::Sequential, [&create]);
        let id = OrganizationsAdapter::new(client)
            .create_account(
                "a@example.com",
                "a",
                "AWSControlTowerExecution",
                &BTreeMap::new(),
            )
            .await
            .expect("created");
        assert_eq!(id, "car-1");
        assert_eq!(create.num_calls(), 1);
    }

    fn error(code: &str) -> CreateAccountError {
        CreateAccountError::generic(
            aws_sdk_organizations::error::ErrorMetadata::builder()
                .code(code)
                .message("m")
                .build(),
        )
    }

    fn account_created() -> CreateAccountOutput {
        CreateAccountOutput::builder()
            .create_account_status(CreateAccountStatus::builder().id("car-1").build())
            .build()
    }

    #[tokio::test]
    async fn a_throttled_create_account_is_retried_by_the_sdk_and_a_server_error_is_not() {
        let throttled = mock!(Client::create_account)
            .sequence()
            .error(|| error("TooManyRequestsException"))
            .output(account_created)
            .build();
        let client = mock_client!(aws_sdk_organizations, RuleMode::Sequential, [&throttled]);
        let id = OrganizationsAdapter::new(client)
            .create_account("a@example.com", "a", "R", &BTreeMap::new())
            .await
            .expect("created on the second attempt");
        assert_eq!((id.as_str(), throttled.num_calls()), ("car-1", 2));

        // A server error may have come after the account creation started: asked once.
        let failed = mock!(Client::create_account)
            .sequence()
            .error(|| error("ServiceException"))
            .output(account_created)
            .build();
        let client = mock_client!(aws_sdk_organizations, RuleMode::Sequential, [&failed]);
        let err = OrganizationsAdapter::new(client)
            .create_account("a@example.com", "a", "R", &BTreeMap::new())
            .await
            .expect_err("not retried");
        assert_eq!((err.error_type(), failed.num_calls()), ("Unavailable", 1));
    }
}
