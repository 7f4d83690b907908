//! A fake AWS Organizations.

use super::{Calls, lock};
use crate::error::StepError;
use crate::ports::{AccountInfo, CreateAccountState, CreateRequest, Organization};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// An account of the fake organization: what it is, its parent, its tags, its member role.
#[derive(Debug, Clone)]
struct Account {
    info: AccountInfo,
    parent: String,
    tags: BTreeMap<String, String>,
    member_role: Option<String>,
}

/// An account being created.
#[derive(Debug, Clone)]
struct Creation {
    name: String,
    email: String,
    role_name: String,
    tags: BTreeMap<String, String>,
    polls_left: u32,
    outcome: Option<CreateAccountState>,
}

/// A fake AWS Organizations: accounts under `r-root`, parents, tags, and creations that need
/// `polls` polls. As in AWS, a creation with an email the organization has ends FAILED with
/// EMAIL_ALREADY_EXISTS, and `fail_creations` makes the next ones end with another reason.
#[derive(Debug, Default)]
pub struct FakeOrganization {
    accounts: Mutex<BTreeMap<String, Account>>,
    creations: Mutex<BTreeMap<String, Creation>>,
    creation_failures: Mutex<Vec<String>>,
    /// How many polls a creation stays in progress.
    pub polls: u32,
    /// Calls made, and failures to answer with.
    pub calls: Calls,
}

impl FakeOrganization {
    /// An organization whose creations take `polls` polls.
    pub fn new(polls: u32) -> FakeOrganization {
        FakeOrganization {
            polls,
            ..FakeOrganization::default()
        }
    }

    /// Adds an existing account under the root.
    pub fn add_account(&self, id: &str, name: &str, email: &str, tags: BTreeMap<String, String>) {
        let info = AccountInfo {
            id: id.into(),
            name: name.into(),
            email: email.into(),
            status: "ACTIVE".into(),
        };
        lock(&self.accounts).insert(
            id.into(),
            Account {
                info,
                parent: "r-root".into(),
                tags,
                member_role: None,
            },
        );
    }

    /// Moves an account (as someone outside the service would).
    pub fn set_parent(&self, id: &str, parent: &str) {
        if let Some(a) = lock(&self.accounts).get_mut(id) {
            a.parent = parent.into();
        }
    }

    /// Makes the next creation end FAILED with `reason` (`CONCURRENT_ACCOUNT_MODIFICATION`).
    pub fn fail_next_creation(&self, reason: &str) {
        lock(&self.creation_failures).push(reason.into());
    }

    /// Makes the next call of `op` fail with `err`.
    pub fn fail_next(&self, op: &str, err: StepError) {
        self.calls.fail_next(op, err);
    }

    /// How many times `op` was called.
    pub fn count(&self, op: &str) -> usize {
        self.calls.count(op)
    }

    /// The account's parent and tags.
    pub fn placement(&self, id: &str) -> Option<(String, BTreeMap<String, String>)> {
        lock(&self.accounts)
            .get(id)
            .map(|a| (a.parent.clone(), a.tags.clone()))
    }

    /// The member role the account was created with.
    pub fn member_role(&self, id: &str) -> Option<String> {
        lock(&self.accounts)
            .get(id)
            .and_then(|a| a.member_role.clone())
    }

    /// How many accounts the organization has.
    pub fn account_count(&self) -> usize {
        lock(&self.accounts).len()
    }
}

impl Organization for FakeOrganization {
    async fn find_account_by_email(&self, email: &str) -> Result<Option<AccountInfo>, StepError> {
        self.calls.enter("ListAccounts")?;
        Ok(lock(&self.accounts)
            .values()
            .find(|a| a.info.email.eq_ignore_ascii_case(email))
            .map(|a| a.info.clone()))
    }

    async fn describe_account(&self, account_id: &str) -> Result<Option<AccountInfo>, StepError> {
        self.calls.enter("DescribeAccount")?;
        Ok(lock(&self.accounts).get(account_id).map(|a| a.info.clone()))
    }

    async fn create_account(
        &self,
        email: &str,
        name: &str,
        role_name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, StepError> {
        self.calls.enter("CreateAccount")?;
        let taken = lock(&self.accounts)
            .values()
            .any(|a| a.info.email.eq_ignore_ascii_case(email));
        let injected = lock(&self.creation_failures).pop();
        let outcome = match (injected, taken) {
            (Some(reason), _) => Some(CreateAccountState::Failed { reason }),
            (None, true) => Some(CreateAccountState::Failed {
                reason: "EMAIL_ALREADY_EXISTS".into(),
            }),
            (None, false) => None,
        };
        let mut creations = lock(&self.creations);
        let id = format!("car-{:04}", creations.len() + 1);
        creations.insert(
            id.clone(),
            Creation {
                name: name.into(),
                email: email.into(),
                role_name: role_name.into(),
                tags: tags.clone(),
                polls_left: self.polls,
                outcome,
            },
        );
        Ok(id)
    }

    async fn find_create_request(
        &self,
        account_name: &str,
    ) -> Result<Option<CreateRequest>, StepError> {
        self.calls.enter("ListCreateAccountStatus")?;
        Ok(lock(&self.creations)
            .iter()
            .filter(|(_, c)| c.name == account_name)
            .find_map(|(id, c)| match &c.outcome {
                Some(CreateAccountState::Failed { .. }) => None,
                Some(state) => Some(CreateRequest {
                    id: id.clone(),
                    state: state.clone(),
                }),
                None => Some(CreateRequest {
                    id: id.clone(),
                    state: CreateAccountState::InProgress,
                }),
            }))
    }

    async fn create_account_state(
        &self,
        request_id: &str,
    ) -> Result<CreateAccountState, StepError> {
        self.calls.enter("DescribeCreateAccountStatus")?;
        let mut creations = lock(&self.creations);
        let c = creations
            .get_mut(request_id)
            .ok_or_else(|| StepError::Internal(format!("no creation {request_id}")))?;
        if c.polls_left > 0 {
            c.polls_left -= 1;
            return Ok(CreateAccountState::InProgress);
        }
        if c.outcome.is_none() {
            let mut accounts = lock(&self.accounts);
            let id = format!("{:012}", 100_000_000_000u64 + accounts.len() as u64);
            let info = AccountInfo {
                id: id.clone(),
                name: c.name.clone(),
                email: c.email.clone(),
                status: "ACTIVE".into(),
            };
            accounts.insert(
                id.clone(),
                Account {
                    info,
                    parent: "r-root".into(),
                    tags: c.tags.clone(),
                    member_role: Some(c.role_name.clone()),
                },
            );
            c.outcome = Some(CreateAccountState::Succeeded { account_id: id });
        }
        Ok(c.outcome.clone().unwrap_or(CreateAccountState::InProgress))
    }

    async fn parent_of(&self, account_id: &str) -> Result<String, StepError> {
        self.calls.enter("ListParents")?;
        lock(&self.accounts)
            .get(account_id)
            .map(|a| a.parent.clone())
            .ok_or_else(|| StepError::Internal(format!("no account {account_id}")))
    }

    async fn move_account(&self, account_id: &str, from: &str, to: &str) -> Result<(), StepError> {
        self.calls.enter("MoveAccount")?;
        let mut accounts = lock(&self.accounts);
        let a = accounts
            .get_mut(account_id)
            .ok_or_else(|| StepError::Internal(format!("no account {account_id}")))?;
        if a.parent != from {
            return Err(StepError::Internal(format!(
                "{account_id} is not in {from}"
            )));
        }
        a.parent = to.into();
        Ok(())
    }

    async fn account_tags(&self, account_id: &str) -> Result<BTreeMap<String, String>, StepError> {
        self.calls.enter("ListTagsForResource")?;
        Ok(lock(&self.accounts)
            .get(account_id)
            .map(|a| a.tags.clone())
            .unwrap_or_default())
    }

    async fn tag_account(
        &self,
        account_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), StepError> {
        self.calls.enter("TagResource")?;
        if let Some(a) = lock(&self.accounts).get_mut(account_id) {
            a.tags.extend(tags.clone());
        }
        Ok(())
    }

    async fn management_account(&self) -> Result<String, StepError> {
        self.calls.enter("DescribeOrganization")?;
        Ok(MANAGEMENT_ACCOUNT.into())
    }

    async fn close_account(&self, account_id: &str) -> Result<(), StepError> {
        self.calls.enter("CloseAccount")?;
        if account_id == MANAGEMENT_ACCOUNT {
            return Err(StepError::Conflict(
                "the management account cannot be closed with CloseAccount".into(),
            ));
        }
        let mut accounts = lock(&self.accounts);
        let a = accounts
            .get_mut(account_id)
            .ok_or_else(|| StepError::Internal(format!("no account {account_id}")))?;
        if a.info.status == "ACTIVE" {
            // The fake closes at once; the sandbox keeps it PENDING_CLOSURE for a while.
            a.info.status = "SUSPENDED".into();
        }
        Ok(())
    }
}

/// The fake organization's management account.
pub const MANAGEMENT_ACCOUNT: &str = "000000000000";
