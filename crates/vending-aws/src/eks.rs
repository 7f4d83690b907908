//! EKS of the account that runs the shared clusters, behind the `ClusterAccess` port: access
//! entries for tenant roles, with their access policy scoped to the tenant's namespaces.

use crate::classify::classify;
use aws_sdk_eks::Client;
use aws_sdk_eks::operation::create_access_entry::CreateAccessEntryError;
use aws_sdk_eks::operation::delete_access_entry::DeleteAccessEntryError;
use aws_sdk_eks::operation::describe_access_entry::DescribeAccessEntryError;
use aws_sdk_eks::types::{AccessEntry, AccessScope, AccessScopeType};
use std::collections::BTreeMap;
use vending_domain::StepError;
use vending_domain::ports::{AccessEntrySpec, AccessEntryState, ClusterAccess, Ensured};
use vending_domain::request::TENANT_TAG;

/// The `ClusterAccess` port on an EKS client of the clusters' account.
#[derive(Debug, Clone)]
pub struct EksAccess {
    client: Client,
}

impl EksAccess {
    /// Wraps a client (built from the clusters' account's assumed-role configuration).
    pub fn new(client: Client) -> EksAccess {
        EksAccess { client }
    }

    async fn describe(&self, spec: &AccessEntrySpec) -> Result<Option<AccessEntry>, StepError> {
        match self
            .client
            .describe_access_entry()
            .cluster_name(&spec.cluster)
            .principal_arn(&spec.principal_arn)
            .send()
            .await
        {
            Ok(out) => Ok(out.access_entry().cloned()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DescribeAccessEntryError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(classify("DescribeAccessEntry", &e)),
        }
    }

    async fn create(&self, spec: &AccessEntrySpec) -> Result<Option<AccessEntry>, StepError> {
        let result = self
            .client
            .create_access_entry()
            .cluster_name(&spec.cluster)
            .principal_arn(&spec.principal_arn)
            .set_kubernetes_groups(Some(spec.kubernetes_groups.clone()))
            .set_tags(Some(spec.tags.clone().into_iter().collect()))
            .r#type("STANDARD")
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.access_entry().cloned()),
            // For CreateAccessEntry this code means "the principal already has an entry" (a
            // concurrent run made it); it is not a retryable conflict, so it is handled here
            // before `classify`, which treats it as one.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(CreateAccessEntryError::ResourceInUseException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(classify("CreateAccessEntry", &e)),
        }
    }

    async fn ensure_policy(&self, spec: &AccessEntrySpec) -> Result<bool, StepError> {
        let out = self
            .client
            .list_associated_access_policies()
            .cluster_name(&spec.cluster)
            .principal_arn(&spec.principal_arn)
            .send()
            .await
            .map_err(|e| classify("ListAssociatedAccessPolicies", &e))?;
        let mut wanted = spec.namespaces.clone();
        wanted.sort();
        let present = out.associated_access_policies().iter().any(|p| {
            p.policy_arn() == Some(spec.access_policy_arn.as_str())
                && p.access_scope().is_some_and(|s| {
                    let mut ns = s.namespaces().to_vec();
                    ns.sort();
                    s.r#type() == Some(&AccessScopeType::Namespace) && ns == wanted
                })
        });
        if !present {
            // AssociateAccessPolicy replaces the scope of an association that exists.
            self.client
                .associate_access_policy()
                .cluster_name(&spec.cluster)
                .principal_arn(&spec.principal_arn)
                .policy_arn(&spec.access_policy_arn)
                .access_scope(
                    AccessScope::builder()
                        .r#type(AccessScopeType::Namespace)
                        .set_namespaces(Some(wanted))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| classify("AssociateAccessPolicy", &e))?;
        }
        // Any other policy on the tenant's entry goes (a template's policy was narrowed, say
        // from edit to view): the entry grants exactly its template's, after the new one is in
        // place so access never lapses.
        let stale: Vec<&str> = out
            .associated_access_policies()
            .iter()
            .filter_map(|p| p.policy_arn())
            .filter(|arn| *arn != spec.access_policy_arn)
            .collect();
        for arn in &stale {
            self.client
                .disassociate_access_policy()
                .cluster_name(&spec.cluster)
                .principal_arn(&spec.principal_arn)
                .policy_arn(*arn)
                .send()
                .await
                .map_err(|e| classify("DisassociateAccessPolicy", &e))?;
            tracing::info!(cluster = %spec.cluster, principal = %spec.principal_arn, policy = %arn, "removed an access policy the template no longer grants");
        }
        Ok(!present || !stale.is_empty())
    }
}

impl ClusterAccess for EksAccess {
    async fn ensure_access_entry(&self, spec: &AccessEntrySpec) -> Result<Ensured, StepError> {
        let tenant = spec.tags.get(TENANT_TAG);
        let (entry, created) = match self.describe(spec).await? {
            Some(e) => (e, false),
            None => match self.create(spec).await? {
                Some(e) => (e, true),
                None => (
                    self.describe(spec).await?.ok_or_else(|| {
                        StepError::ConcurrentModification(format!(
                            "the access entry of {} on {} exists and does not",
                            spec.principal_arn, spec.cluster
                        ))
                    })?,
                    false,
                ),
            },
        };
        let owner = entry.tags().and_then(|t| t.get(TENANT_TAG));
        if owner != tenant {
            return Err(StepError::Conflict(format!(
                "{} already has an access entry on {} that is not tagged {TENANT_TAG}={}",
                spec.principal_arn,
                spec.cluster,
                tenant.map_or("", String::as_str)
            )));
        }
        let mut groups = entry.kubernetes_groups().to_vec();
        groups.sort();
        let mut wanted = spec.kubernetes_groups.clone();
        wanted.sort();
        if groups != wanted {
            self.client
                .update_access_entry()
                .cluster_name(&spec.cluster)
                .principal_arn(&spec.principal_arn)
                .set_kubernetes_groups(Some(wanted))
                .send()
                .await
                .map_err(|e| classify("UpdateAccessEntry", &e))?;
        }
        self.ensure_policy(spec).await?;
        Ok(Ensured {
            id: entry.access_entry_arn().unwrap_or_default().to_owned(),
            created,
        })
    }

    async fn access_entries(
        &self,
        cluster: &str,
        account_id: &str,
    ) -> Result<Vec<AccessEntryState>, StepError> {
        let principals: Vec<String> = self
            .client
            .list_access_entries()
            .cluster_name(cluster)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| classify("ListAccessEntries", &e))?;
        let mut entries = Vec::new();
        // An ARN's fifth field is its account: `arn:aws:iam::<account>:role/...`.
        for principal in principals
            .into_iter()
            .filter(|p| p.split(':').nth(4) == Some(account_id))
        {
            let spec = AccessEntrySpec {
                cluster: cluster.to_owned(),
                principal_arn: principal.clone(),
                kubernetes_groups: Vec::new(),
                access_policy_arn: String::new(),
                namespaces: Vec::new(),
                tags: BTreeMap::new(),
            };
            // Gone between the listing and now: not there.
            let Some(entry) = self.describe(&spec).await? else {
                continue;
            };
            let policies = self
                .client
                .list_associated_access_policies()
                .cluster_name(cluster)
                .principal_arn(&principal)
                .into_paginator()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(|e| classify("ListAssociatedAccessPolicies", &e))?;
            entries.push(AccessEntryState {
                principal_arn: principal,
                kubernetes_groups: entry.kubernetes_groups().to_vec(),
                policies: policies
                    .iter()
                    .flat_map(|page| page.associated_access_policies())
                    .filter_map(|p| {
                        let namespaces = p
                            .access_scope()
                            .map(|s| s.namespaces().to_vec())
                            .unwrap_or_default();
                        Some((p.policy_arn()?.to_owned(), namespaces))
                    })
                    .collect(),
                tags: entry
                    .tags()
                    .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
            });
        }
        Ok(entries)
    }

    async fn remove_access_entry(
        &self,
        cluster: &str,
        principal_arn: &str,
    ) -> Result<(), StepError> {
        // Deleting an entry deletes its policy associations with it.
        match self
            .client
            .delete_access_entry()
            .cluster_name(cluster)
            .principal_arn(principal_arn)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DeleteAccessEntryError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(classify("DeleteAccessEntry", &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eks::operation::describe_access_entry::DescribeAccessEntryOutput;
    use aws_sdk_eks::operation::list_associated_access_policies::ListAssociatedAccessPoliciesOutput;
    use aws_sdk_eks::types::AssociatedAccessPolicy;
    use aws_sdk_eks::types::error::{ResourceInUseException, ResourceNotFoundException};
    use aws_smithy_mocks::{RuleMode, mock};
    use std::collections::BTreeMap;

    fn spec() -> AccessEntrySpec {
        AccessEntrySpec {
            cluster: "shared-1".into(),
            principal_arn: "arn:aws:iam::111111111111:role/team-a-admin".into(),
            kubernetes_groups: vec!["tenant-admins".into()],
            access_policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy".into(),
            namespaces: vec!["team-a".into(), "team-a-*".into()],
            tags: BTreeMap::from([(TENANT_TAG.to_owned(), "team-a".to_owned())]),
        }
    }

    fn entry(tenant: &str) -> AccessEntry {
        AccessEntry::builder()
            .access_entry_arn("arn:aws:eks:eu-west-1:2:access-entry/shared-1/x")
            .kubernetes_groups("tenant-admins")
            .tags(TENANT_TAG, tenant)
            .build()
    }

    #[tokio::test]
    async fn an_entry_made_by_a_concurrent_run_is_adopted_not_retried() {
        let missing = mock!(Client::describe_access_entry).then_error(|| {
            DescribeAccessEntryError::ResourceNotFoundException(
                ResourceNotFoundException::builder().build(),
            )
        });
        let in_use = mock!(Client::create_access_entry).then_error(|| {
            CreateAccessEntryError::ResourceInUseException(
                ResourceInUseException::builder().build(),
            )
        });
        let found = mock!(Client::describe_access_entry).then_output(|| {
            DescribeAccessEntryOutput::builder()
                .access_entry(entry("team-a"))
                .build()
        });
        let policies = mock!(Client::list_associated_access_policies).then_output(|| {
            ListAssociatedAccessPoliciesOutput::builder()
                .associated_access_policies(
                    AssociatedAccessPolicy::builder()
                        .policy_arn("arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy")
                        .access_scope(
                            AccessScope::builder()
                                .r#type(AccessScopeType::Namespace)
                                .namespaces("team-a-*")
                                .namespaces("team-a")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let client = mock_client!(
            aws_sdk_eks,
            RuleMode::Sequential,
            [&missing, &in_use, &found, &policies]
        );
        let got = EksAccess::new(client).ensure_access_entry(&spec()).await;
        assert_eq!(
            got.map(|e| e.created),
            Ok(false),
            "adopted the concurrent run's entry"
        );
    }

    #[tokio::test]
    async fn a_policy_the_template_no_longer_grants_is_removed_after_the_new_one_is_in_place() {
        let found = mock!(Client::describe_access_entry).then_output(|| {
            DescribeAccessEntryOutput::builder()
                .access_entry(entry("team-a"))
                .build()
        });
        let admin = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy";
        let policies = mock!(Client::list_associated_access_policies).then_output(move || {
            ListAssociatedAccessPoliciesOutput::builder()
                .associated_access_policies(
                    AssociatedAccessPolicy::builder()
                        .policy_arn(admin)
                        .access_scope(
                            AccessScope::builder()
                                .r#type(AccessScopeType::Namespace)
                                .namespaces("team-a")
                                .namespaces("team-a-*")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let associate = mock!(Client::associate_access_policy)
            .match_requests(|r| {
                r.policy_arn()
                    == Some("arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy")
            })
            .then_output(|| {
                aws_sdk_eks::operation::associate_access_policy::AssociateAccessPolicyOutput::builder()
                    .build()
            });
        let disassociate = mock!(Client::disassociate_access_policy)
            .match_requests(move |r| r.policy_arn() == Some(admin))
            .then_output(|| {
                aws_sdk_eks::operation::disassociate_access_policy::DisassociateAccessPolicyOutput::builder()
                    .build()
            });
        let client = mock_client!(
            aws_sdk_eks,
            RuleMode::Sequential,
            [&found, &policies, &associate, &disassociate]
        );
        let got = EksAccess::new(client).ensure_access_entry(&spec()).await;
        assert!(got.is_ok(), "{got:?}");
        assert_eq!(associate.num_calls(), 1);
        assert_eq!(disassociate.num_calls(), 1, "the admin policy is gone");
    }

    #[tokio::test]
    async fn an_entry_of_another_tenant_is_a_conflict() {
        let found = mock!(Client::describe_access_entry).then_output(|| {
            DescribeAccessEntryOutput::builder()
                .access_entry(entry("team-b"))
                .build()
        });
        let client = mock_client!(aws_sdk_eks, RuleMode::Sequential, [&found]);
        let got = EksAccess::new(client).ensure_access_entry(&spec()).await;
        assert!(matches!(got, Err(StepError::Conflict(_))), "{got:?}");
    }
}
