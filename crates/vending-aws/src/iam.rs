//! IAM of a tenant account behind the `Identity` port: tenant roles under the permissions
//! boundary, and the account alias.

use crate::classify::classify;
use aws_sdk_iam::Client;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::operation::create_account_alias::CreateAccountAliasError;
use aws_sdk_iam::operation::create_role::CreateRoleError;
use aws_sdk_iam::operation::delete_role::DeleteRoleError;
use aws_sdk_iam::operation::get_role::GetRoleError;
use aws_sdk_iam::types::{Role, Tag};
use serde_json::Value;
use std::collections::BTreeMap;
use vending_domain::ports::{Ensured, Identity, RoleSpec};
use vending_domain::request::TENANT_TAG;
use vending_domain::{StepError, ValidationErrors};

/// The `Identity` port on an IAM client of one tenant account.
#[derive(Debug, Clone)]
pub struct IamIdentity {
    client: Client,
}

impl IamIdentity {
    /// The account's alias, if it has one (an account has at most one).
    async fn current_alias(&self) -> Result<Option<String>, StepError> {
        let out = self
            .client
            .list_account_aliases()
            .send()
            .await
            .map_err(|e| classify("ListAccountAliases", &e))?;
        Ok(out.account_aliases().first().cloned())
    }

    /// Wraps a client (built from the tenant account's assumed-role configuration).
    pub fn new(client: Client) -> IamIdentity {
        IamIdentity { client }
    }
}

use vending_domain::config::trust_policy;

/// IAM's refusals of a role's documents, as step errors: a boundary that does not exist in
/// the account yet (the platform's baseline deploys it, maybe after the account was made) is
/// `NotReady`; a trust policy naming a principal that does not exist is the request's fault,
/// an `InvalidRequest` whose field `principal` names it (the step turns it into the request
/// field that named it).
fn refusal<E>(
    operation: &str,
    spec: &RoleSpec,
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> StepError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = err.message().unwrap_or_default();
    match err.code() {
        Some("NoSuchEntity")
            if message.contains(&spec.boundary_arn) || message.starts_with("Scope ARN") =>
        {
            StepError::NotReady(format!(
                "{operation} {}: the permissions boundary {} does not exist in the account yet (the platform's baseline deploys it): {message}",
                spec.name, spec.boundary_arn
            ))
        }
        Some("MalformedPolicyDocument") if message.contains("Invalid principal") => {
            let principal = message
                .rsplit('"')
                .find(|part| part.starts_with("arn:"))
                .unwrap_or(message)
                .to_owned();
            let mut errs = ValidationErrors::default();
            errs.push(
                "principal",
                format!("{principal}: IAM says this principal does not exist"),
            );
            StepError::InvalidRequest(errs)
        }
        _ => classify(operation, err),
    }
}

/// IAM returns policy documents URL-encoded (RFC 3986); read one either way.
pub(crate) fn read_policy(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok().or_else(|| {
        let decoded = percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .ok()?;
        serde_json::from_str(&decoded).ok()
    })
}

/// The principals a trust policy of ours lets assume the role, sorted; `None` for a policy
/// of any other shape. IAM may write a single principal as a string instead of a list.
fn principals(doc: &Value) -> Option<Vec<String>> {
    let statements = doc.get("Statement")?.as_array()?;
    if statements.len() != 1 {
        return None;
    }
    let s = &statements[0];
    if s.get("Effect")? != "Allow" || s.get("Action")? != "sts:AssumeRole" {
        return None;
    }
    let mut list: Vec<String> = match s.get("Principal")?.get("AWS")? {
        Value::String(p) => vec![p.clone()],
        Value::Array(ps) => ps
            .iter()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect(),
        _ => return None,
    };
    list.sort();
    Some(list)
}

/// Compares trust policies by their principals, as sets.
fn same_trust(current: &Value, wanted: &Value) -> bool {
    principals(current).is_some_and(|c| Some(c) == principals(wanted))
}

fn role_tags(role: &Role) -> BTreeMap<String, String> {
    role.tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
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

/// The role `name` of the client's account, if there is one.
pub(crate) async fn get_role(client: &Client, name: &str) -> Result<Option<Role>, StepError> {
    match client.get_role().role_name(name).send().await {
        Ok(out) => Ok(out.role().cloned()),
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(GetRoleError::NoSuchEntityException(_))
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(classify("GetRole", &e)),
    }
}

/// The ARNs of the managed policies attached to `role`, every page read.
pub(crate) async fn attached_policies(
    client: &Client,
    role: &str,
) -> Result<Vec<String>, StepError> {
    let mut attached = Vec::new();
    let mut pages = client
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| classify("ListAttachedRolePolicies", &e))?;
        attached.extend(
            page.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_owned)),
        );
    }
    Ok(attached)
}

impl IamIdentity {
    async fn get_role(&self, name: &str) -> Result<Option<Role>, StepError> {
        get_role(&self.client, name).await
    }

    /// Brings an existing role of ours to `spec`.
    async fn converge(&self, role: &Role, spec: &RoleSpec, trust: &Value) -> Result<(), StepError> {
        let name = &spec.name;
        let current = role
            .assume_role_policy_document()
            .and_then(read_policy)
            .unwrap_or(Value::Null);
        if !same_trust(&current, trust) {
            self.client
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(trust.to_string())
                .send()
                .await
                .map_err(|e| refusal("UpdateAssumeRolePolicy", spec, &e))?;
            tracing::info!(role = %name, "reset the trust policy");
        }
        let boundary = role
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn());
        if boundary != Some(spec.boundary_arn.as_str()) {
            self.client
                .put_role_permissions_boundary()
                .role_name(name)
                .permissions_boundary(&spec.boundary_arn)
                .send()
                .await
                .map_err(|e| refusal("PutRolePermissionsBoundary", spec, &e))?;
            tracing::info!(role = %name, "reset the permissions boundary");
        }
        let tags = role_tags(role);
        let missing: BTreeMap<String, String> = spec
            .tags
            .iter()
            .filter(|(k, v)| tags.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !missing.is_empty() {
            self.client
                .tag_role()
                .role_name(name)
                .set_tags(Some(sdk_tags(&missing)?))
                .send()
                .await
                .map_err(|e| classify("TagRole", &e))?;
        }
        // The role is the tenant's and ours: a tag the request no longer asks for goes.
        let stale: Vec<String> = tags
            .keys()
            .filter(|k| !spec.tags.contains_key(*k))
            .cloned()
            .collect();
        if !stale.is_empty() {
            self.client
                .untag_role()
                .role_name(name)
                .set_tag_keys(Some(stale.clone()))
                .send()
                .await
                .map_err(|e| classify("UntagRole", &e))?;
            tracing::info!(role = %name, tags = ?stale, "removed tags no longer asked for");
        }
        Ok(())
    }

    async fn attached_policies(&self, role: &str) -> Result<Vec<String>, StepError> {
        attached_policies(&self.client, role).await
    }

    async fn attach_policies(&self, spec: &RoleSpec) -> Result<(), StepError> {
        let attached = self.attached_policies(&spec.name).await?;
        for arn in &spec.managed_policy_arns {
            if !attached.contains(arn) {
                self.client
                    .attach_role_policy()
                    .role_name(&spec.name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| classify("AttachRolePolicy", &e))?;
            }
        }
        // A policy the role's template no longer names is detached: the role has exactly
        // the template's permissions (under its boundary).
        for arn in attached
            .iter()
            .filter(|a| !spec.managed_policy_arns.contains(a))
        {
            self.client
                .detach_role_policy()
                .role_name(&spec.name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| classify("DetachRolePolicy", &e))?;
            tracing::info!(role = %spec.name, policy = %arn, "detached a policy the template no longer names");
        }
        Ok(())
    }
}

impl Identity for IamIdentity {
    async fn ensure_role(&self, spec: &RoleSpec) -> Result<Ensured, StepError> {
        let trust = trust_policy(&spec.trusted);
        let tenant = spec.tags.get(TENANT_TAG);
        let mut created = false;
        let role = match self.get_role(&spec.name).await? {
            Some(role) => role,
            None => {
                let result = self
                    .client
                    .create_role()
                    .role_name(&spec.name)
                    .assume_role_policy_document(trust.to_string())
                    .permissions_boundary(&spec.boundary_arn)
                    .description("Tenant role made by tenant-vending")
                    .set_tags(Some(sdk_tags(&spec.tags)?))
                    .send()
                    .await;
                match result {
                    Ok(out) => {
                        created = true;
                        out.role().cloned().ok_or_else(|| {
                            StepError::Internal(format!(
                                "CreateRole {} returned no role",
                                spec.name
                            ))
                        })?
                    }
                    // A concurrent run made it first: converge on what it made.
                    Err(e)
                        if matches!(
                            e.as_service_error(),
                            Some(CreateRoleError::EntityAlreadyExistsException(_))
                        ) =>
                    {
                        self.get_role(&spec.name).await?.ok_or_else(|| {
                            StepError::ConcurrentModification(format!(
                                "role {} exists and does not",
                                spec.name
                            ))
                        })?
                    }
                    Err(e) => return Err(refusal("CreateRole", spec, &e)),
                }
            }
        };
        if role_tags(&role).get(TENANT_TAG) != tenant {
            return Err(StepError::Conflict(format!(
                "role {} exists and is not tagged {TENANT_TAG}={}",
                spec.name,
                tenant.map_or("", String::as_str)
            )));
        }
        if !created {
            self.converge(&role, spec, &trust).await?;
        }
        self.attach_policies(spec).await?;
        Ok(Ensured {
            id: role.arn().to_owned(),
            created,
        })
    }

    async fn role(&self, name: &str) -> Result<Option<RoleSpec>, StepError> {
        let Some(role) = self.get_role(name).await? else {
            return Ok(None);
        };
        let trust = role
            .assume_role_policy_document()
            .and_then(read_policy)
            .as_ref()
            .and_then(principals)
            .unwrap_or_default();
        let mut managed_policy_arns = self.attached_policies(name).await?;
        managed_policy_arns.sort();
        Ok(Some(RoleSpec {
            name: name.to_owned(),
            boundary_arn: role
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .unwrap_or_default()
                .to_owned(),
            trusted: trust,
            managed_policy_arns,
            tags: role_tags(&role),
        }))
    }

    async fn tenant_roles(&self, tenant: &str) -> Result<Vec<String>, StepError> {
        // ListRoles does not return tags: each candidate's are read with GetRole.
        let prefix = format!("{tenant}-");
        let mut candidates = Vec::new();
        let mut pages = self.client.list_roles().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListRoles", &e))?;
            candidates.extend(
                page.roles()
                    .iter()
                    .map(|r| r.role_name().to_owned())
                    .filter(|n| n.starts_with(&prefix)),
            );
        }
        let mut names = Vec::new();
        for name in candidates {
            if let Some(role) = self.get_role(&name).await?
                && role_tags(&role).get(TENANT_TAG).map(String::as_str) == Some(tenant)
            {
                names.push(name);
            }
        }
        Ok(names)
    }

    async fn delete_role(&self, name: &str) -> Result<(), StepError> {
        if self.get_role(name).await?.is_none() {
            return Ok(());
        }
        for arn in self.attached_policies(name).await? {
            self.client
                .detach_role_policy()
                .role_name(name)
                .policy_arn(&arn)
                .send()
                .await
                .map_err(|e| classify("DetachRolePolicy", &e))?;
        }
        let inline = self
            .client
            .list_role_policies()
            .role_name(name)
            .send()
            .await
            .map_err(|e| classify("ListRolePolicies", &e))?;
        for policy in inline.policy_names() {
            self.client
                .delete_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .map_err(|e| classify("DeleteRolePolicy", &e))?;
        }
        let profiles = self
            .client
            .list_instance_profiles_for_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| classify("ListInstanceProfilesForRole", &e))?;
        for profile in profiles.instance_profiles() {
            self.client
                .remove_role_from_instance_profile()
                .role_name(name)
                .instance_profile_name(profile.instance_profile_name())
                .send()
                .await
                .map_err(|e| classify("RemoveRoleFromInstanceProfile", &e))?;
        }
        match self.client.delete_role().role_name(name).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DeleteRoleError::NoSuchEntityException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(classify("DeleteRole", &e)),
        }
    }

    async fn ensure_account_alias(&self, alias: &str) -> Result<String, StepError> {
        match self.current_alias().await? {
            Some(current) if current == alias => Ok(current),
            Some(current) => {
                // An adopted account keeps the alias its owners chose.
                tracing::warn!(current = %current, wanted = %alias, "the account already has another alias; keeping it");
                Ok(current)
            }
            None => match self
                .client
                .create_account_alias()
                .account_alias(alias)
                .send()
                .await
            {
                Ok(_) => Ok(alias.to_owned()),
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(CreateAccountAliasError::EntityAlreadyExistsException(_))
                    ) =>
                {
                    Err(StepError::Conflict(format!(
                        "the account alias {alias} is taken by another AWS account (aliases are global)"
                    )))
                }
                Err(e) => Err(classify("CreateAccountAlias", &e)),
            },
        }
    }

    async fn permission_set_role(&self, permission_set: &str) -> Result<Option<String>, StepError> {
        // IAM Identity Center's roles live under this path, with the instance's region after it
        // (none for us-east-1); the name ends with a suffix Identity Center chooses, new each
        // time the set is provisioned again.
        let prefix = format!("AWSReservedSSO_{permission_set}_");
        let mut pages = self
            .client
            .list_roles()
            .path_prefix("/aws-reserved/sso.amazonaws.com/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListRoles", &e))?;
            if let Some(role) = page.roles().iter().find(|r| {
                r.role_name()
                    .strip_prefix(&prefix)
                    .is_some_and(|suffix| !suffix.contains('_'))
            }) {
                return Ok(Some(role.arn().to_owned()));
            }
        }
        Ok(None)
    }

    async fn remove_account_alias(&self, alias: &str) -> Result<bool, StepError> {
        if self.current_alias().await?.as_deref() != Some(alias) {
            return Ok(false);
        }
        match self
            .client
            .delete_account_alias()
            .account_alias(alias)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            // Gone meanwhile (a re-run racing an earlier one).
            Err(e) if e.code() == Some("NoSuchEntity") => Ok(false),
            Err(e) => Err(classify("DeleteAccountAlias", &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> RoleSpec {
        RoleSpec {
            name: "payments-admin".into(),
            boundary_arn: "arn:aws:iam::222233334444:policy/platform/tenant-boundary".into(),
            trusted: vec!["arn:aws:iam::123456789012:role/ghost".into()],
            managed_policy_arns: vec![],
            tags: BTreeMap::from([(TENANT_TAG.to_owned(), "payments".to_owned())]),
        }
    }

    #[tokio::test]
    async fn iams_refusals_of_a_roles_documents_have_their_meaning() {
        use aws_sdk_iam::error::ErrorMetadata;
        use aws_sdk_iam::operation::create_role::CreateRoleError;
        use aws_sdk_iam::operation::get_role::GetRoleError;
        use aws_sdk_iam::types::error::NoSuchEntityException;
        use aws_smithy_mocks::{RuleMode, mock};
        let missing = || {
            mock!(Client::get_role).then_error(|| {
                GetRoleError::NoSuchEntityException(
                    NoSuchEntityException::builder().message("no role").build(),
                )
            })
        };
        let refuse = |code: &'static str, message: &'static str| {
            mock!(Client::create_role).then_error(move || {
                CreateRoleError::generic(
                    ErrorMetadata::builder().code(code).message(message).build(),
                )
            })
        };
        let (m1, r1) = (
            missing(),
            refuse(
                "NoSuchEntity",
                "Scope ARN: arn:aws:iam::222233334444:policy/platform/tenant-boundary does not exist or is not attachable.",
            ),
        );
        let client = mock_client!(aws_sdk_iam, RuleMode::Sequential, [&m1, &r1]);
        let err = IamIdentity::new(client)
            .ensure_role(&spec())
            .await
            .expect_err("no boundary");
        assert_eq!(err.error_type(), "NotReady", "{err}");
        assert!(err.to_string().contains("tenant-boundary"), "{err}");
        let (m2, r2) = (
            missing(),
            refuse(
                "MalformedPolicyDocument",
                "Invalid principal in policy: \"AWS\":\"arn:aws:iam::123456789012:role/ghost\"",
            ),
        );
        let client = mock_client!(aws_sdk_iam, RuleMode::Sequential, [&m2, &r2]);
        let err = IamIdentity::new(client)
            .ensure_role(&spec())
            .await
            .expect_err("no principal");
        let StepError::InvalidRequest(errs) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(errs.errors[0].field, "principal");
        assert!(
            errs.errors[0]
                .reason
                .starts_with("arn:aws:iam::123456789012:role/ghost"),
            "{err}"
        );
    }

    #[test]
    fn trust_policies_compare_as_principal_sets_in_either_encoding() {
        let wanted = trust_policy(&[
            "arn:aws:iam::1:role/b".into(),
            "arn:aws:iam::1:role/a".into(),
        ]);
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%5B%22arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa%22%2C%22arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fb%22%5D%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
        let read = read_policy(encoded).expect("decodes");
        assert!(same_trust(&read, &wanted));
        let single = trust_policy(&["arn:aws:iam::1:role/a".into()]);
        let mut as_string = single.clone();
        as_string["Statement"][0]["Principal"]["AWS"] = json!("arn:aws:iam::1:role/a");
        assert!(same_trust(&as_string, &single));
        assert!(!same_trust(&single, &wanted));
    }
}
