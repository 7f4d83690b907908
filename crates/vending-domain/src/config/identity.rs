//! Tenant roles in the platform config: the templates each tenant gets, the permissions
//! boundary they carry, who may assume them, and what they may do in the shared clusters.

use crate::error::ValidationErrors;
use crate::names::PrincipalArn;
use serde::{Deserialize, Serialize};

/// Tenant roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentityConfig {
    /// The permissions boundary every tenant role carries.
    pub permissions_boundary: PermissionsBoundary,
    /// Principals (besides the tenant's owners) allowed to assume tenant roles.
    pub trusted_principals: Vec<PrincipalArn>,
    /// The roles each tenant gets.
    pub roles: Vec<RoleTemplate>,
}

/// The permissions boundary of tenant roles. CreateRole runs in the tenant account, so a
/// customer-managed boundary is named, not given as an ARN: its ARN is built for each tenant
/// account, where the platform's baseline (a stack set) must have deployed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum PermissionsBoundary {
    /// A customer-managed policy of this name and path in every tenant account.
    CustomerManaged {
        /// The policy name.
        name: String,
        /// The policy path (`/`, or `/platform/`).
        #[serde(default = "root_path")]
        path: String,
    },
    /// An AWS-managed policy, by its name under `arn:aws:iam::aws:policy/`
    /// (`PowerUserAccess`, `job-function/ViewOnlyAccess`).
    AwsManaged {
        /// The name, with its path when it has one.
        name: String,
    },
}

fn root_path() -> String {
    "/".into()
}

impl PermissionsBoundary {
    /// The boundary's ARN in `account` of `partition`.
    pub fn arn_in(&self, partition: &str, account: &str) -> String {
        match self {
            PermissionsBoundary::CustomerManaged { name, path } => {
                format!("arn:{partition}:iam::{account}:policy{path}{name}")
            }
            PermissionsBoundary::AwsManaged { name } => {
                format!("arn:{partition}:iam::aws:policy/{name}")
            }
        }
    }

    fn check(&self, errs: &mut ValidationErrors) {
        let name_ok = |n: &str| crate::names::is_iam_name(n, 128);
        match self {
            PermissionsBoundary::CustomerManaged { name, path } => {
                if !name_ok(name) {
                    errs.push(
                        "identity.permissionsBoundary.customerManaged.name",
                        format!("'{name}' is not an IAM policy name"),
                    );
                }
                let path_ok = path.starts_with('/')
                    && path.ends_with('/')
                    && path.len() <= 512
                    && path
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"/+=,.@_-".contains(&b));
                if !path_ok {
                    errs.push(
                        "identity.permissionsBoundary.customerManaged.path",
                        format!("'{path}' is not an IAM path (/ or /platform/)"),
                    );
                }
            }
            PermissionsBoundary::AwsManaged { name } => {
                let (path, last) = name.rsplit_once('/').unwrap_or(("", name));
                if !name_ok(last) || path.split('/').any(|p| !p.is_empty() && !name_ok(p)) {
                    errs.push(
                        "identity.permissionsBoundary.awsManaged.name",
                        format!("'{name}' is not an AWS-managed policy name"),
                    );
                }
            }
        }
    }
}

/// The EKS access policies a tenant role may get: the three that EKS lets one scope to
/// namespaces. `AmazonEKSClusterAdminPolicy` is cluster-wide and never a tenant's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EksAccessPolicy {
    /// Read the tenant's namespaces (Kubernetes' `view`).
    #[serde(rename = "AmazonEKSViewPolicy")]
    View,
    /// Change workloads in them (Kubernetes' `edit`).
    #[serde(rename = "AmazonEKSEditPolicy")]
    Edit,
    /// Administer them (Kubernetes' `admin`).
    #[serde(rename = "AmazonEKSAdminPolicy")]
    Admin,
}

impl EksAccessPolicy {
    /// The policy's name.
    pub fn name(self) -> &'static str {
        match self {
            EksAccessPolicy::View => "AmazonEKSViewPolicy",
            EksAccessPolicy::Edit => "AmazonEKSEditPolicy",
            EksAccessPolicy::Admin => "AmazonEKSAdminPolicy",
        }
    }

    /// The policy's ARN in `partition`.
    pub fn arn(self, partition: &str) -> String {
        format!(
            "arn:{partition}:eks::aws:cluster-access-policy/{}",
            self.name()
        )
    }

    /// The access policy that grants what a Kubernetes binding grants: `view`, `edit` and
    /// `admin` have their policies; tenant owners get Capsule's owner roles (admin in their
    /// namespaces); any other ClusterRole is matched by the least, `view`.
    pub fn matching(tenant_owner: bool, cluster_role: &str) -> EksAccessPolicy {
        match (tenant_owner, cluster_role) {
            (true, _) | (false, "admin") => EksAccessPolicy::Admin,
            (false, "edit") => EksAccessPolicy::Edit,
            _ => EksAccessPolicy::View,
        }
    }
}

/// One tenant role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleTemplate {
    /// The suffix of the role name (`admin` makes `<tenant>-admin`).
    pub name: String,
    /// Managed policies attached to it.
    pub managed_policy_arns: Vec<String>,
    /// The Kubernetes group the role maps to in the shared clusters; `{tenant}` is replaced
    /// by the tenant id, and must be there: a group shared by tenants would let one tenant's
    /// role act in another's namespaces.
    pub kubernetes_group: String,
    /// True when the group owns the tenant in the tenant operator (it may create namespaces).
    #[serde(default)]
    pub tenant_owner: bool,
    /// The ClusterRole the group is bound to in every tenant namespace when it is not an
    /// owner (owners get the operator's owner roles).
    #[serde(default = "default_cluster_role")]
    pub cluster_role: String,
    /// The EKS access policy of the role's access entries, scoped to the tenant's namespaces.
    /// It may not grant more than the role's Kubernetes binding; the binding's match when
    /// absent (see `EksAccessPolicy::matching`).
    #[serde(default)]
    pub cluster_access_policy: Option<EksAccessPolicy>,
    /// Who besides the platform's trusted principals may assume it: the tenant's `owners`, its
    /// `viewers`, or both. Owners when absent.
    #[serde(default = "default_trust")]
    pub trusted_by: Vec<TenantAudience>,
}

/// A group of a tenant's principals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TenantAudience {
    /// The request's `owners`.
    Owners,
    /// The request's `viewers`.
    Viewers,
}

fn default_cluster_role() -> String {
    "view".into()
}

fn default_trust() -> Vec<TenantAudience> {
    vec![TenantAudience::Owners]
}

impl RoleTemplate {
    /// The Kubernetes group of this role for `tenant`.
    pub fn kubernetes_group_for(&self, tenant: &str) -> String {
        self.kubernetes_group.replace("{tenant}", tenant)
    }

    /// The EKS access policy of the role's access entries.
    pub fn access_policy(&self) -> EksAccessPolicy {
        self.cluster_access_policy
            .unwrap_or_else(|| EksAccessPolicy::matching(self.tenant_owner, &self.cluster_role))
    }
}

/// IAM's default quota on a role trust policy's size, in characters without white space.
pub const TRUST_POLICY_MAX_CHARS: usize = 2048;

/// The trust policy that lets exactly `principals` assume a role.
pub fn trust_policy(principals: &[String]) -> serde_json::Value {
    let mut principals = principals.to_vec();
    principals.sort();
    principals.dedup();
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": "sts:AssumeRole"
        }]
    })
}

/// A policy document's size as IAM counts it against its quota: characters, white space not
/// counted.
pub fn policy_chars(doc: &serde_json::Value) -> usize {
    doc.to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

impl IdentityConfig {
    /// The role template of this name: a step's input names one the config must have.
    pub fn template(&self, name: &str) -> Result<&RoleTemplate, crate::StepError> {
        self.roles.iter().find(|t| t.name == name).ok_or_else(|| {
            crate::StepError::Internal(format!(
                "role template '{name}' is not in the platform config"
            ))
        })
    }

    /// Who may assume a role of `template` for a tenant with these owners and viewers: the
    /// platform's trusted principals and the template's audiences, sorted and unique.
    pub fn trusted_for(
        &self,
        template: &RoleTemplate,
        owners: &[PrincipalArn],
        viewers: &[PrincipalArn],
    ) -> Vec<String> {
        let mut trusted: Vec<String> = self
            .trusted_principals
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect();
        for audience in &template.trusted_by {
            let members = match audience {
                TenantAudience::Owners => owners,
                TenantAudience::Viewers => viewers,
            };
            trusted.extend(members.iter().map(|p| p.as_str().to_owned()));
        }
        trusted.sort();
        trusted.dedup();
        trusted
    }

    /// Checks the boundary and every role template.
    pub(crate) fn check(&self, errs: &mut ValidationErrors) {
        self.permissions_boundary.check(errs);
        if self.roles.is_empty() {
            errs.push("identity.roles", "must define at least one role");
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, r) in self.roles.iter().enumerate() {
            let at = format!("identity.roles[{i}]");
            if !seen.insert(&r.name) {
                errs.push(
                    format!("{at}.name"),
                    format!("'{}' is defined twice", r.name),
                );
            }
            if r.name.is_empty()
                || r.name.len() > 20
                || !r
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                errs.push(
                    format!("{at}.name"),
                    "must have 1 to 20 lowercase letters, digits or '-'",
                );
            }
            if !r.kubernetes_group.contains("{tenant}") || r.kubernetes_group.starts_with("system:")
            {
                errs.push(
                    format!("{at}.kubernetesGroup"),
                    "must contain '{tenant}' (tenant:{tenant}:admins) and not start with 'system:'",
                );
            }
            if r.cluster_role.is_empty() || r.cluster_role.contains(['/', '%', ' ']) {
                errs.push(format!("{at}.clusterRole"), "must be a ClusterRole name");
            }
            let binding = EksAccessPolicy::matching(r.tenant_owner, &r.cluster_role);
            if let Some(policy) = r.cluster_access_policy
                && policy > binding
            {
                let held = if r.tenant_owner {
                    "a tenant owner's".to_owned()
                } else {
                    format!("the ClusterRole '{}'", r.cluster_role)
                };
                errs.push(
                    format!("{at}.clusterAccessPolicy"),
                    format!(
                        "{} grants more in the tenant's namespaces than {held} binding of this role: use {} or less, so the EKS and Kubernetes layers agree",
                        policy.name(),
                        binding.name()
                    ),
                );
            }
        }
        if !self.roles.is_empty() && !self.roles.iter().any(|r| r.tenant_owner) {
            errs.push(
                "identity.roles",
                "one role at least must be tenantOwner (its group creates the tenant's namespaces)",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(owner: bool, cluster_role: &str, policy: Option<EksAccessPolicy>) -> RoleTemplate {
        RoleTemplate {
            name: "r".into(),
            managed_policy_arns: vec![],
            kubernetes_group: "tenant:{tenant}:r".into(),
            tenant_owner: owner,
            cluster_role: cluster_role.into(),
            cluster_access_policy: policy,
            trusted_by: default_trust(),
        }
    }

    #[test]
    fn the_access_policy_follows_the_kubernetes_binding_and_never_exceeds_it() {
        use EksAccessPolicy::{Admin, Edit, View};
        assert_eq!(role(false, "view", None).access_policy(), View);
        assert_eq!(role(false, "edit", None).access_policy(), Edit);
        assert_eq!(role(true, "view", None).access_policy(), Admin);
        assert_eq!(role(false, "my-custom-role", None).access_policy(), View);
        for (owner, binding, policy, ok) in [
            (false, "view", Edit, false),
            (false, "view", Admin, false),
            (false, "edit", View, true),
            (false, "edit", Admin, false),
            (true, "view", Admin, true),
            (false, "admin", Admin, true),
        ] {
            let config = IdentityConfig {
                permissions_boundary: PermissionsBoundary::AwsManaged {
                    name: "PowerUserAccess".into(),
                },
                trusted_principals: vec![],
                roles: vec![role(true, "view", None), {
                    let mut r = role(owner, binding, Some(policy));
                    r.name = "other".into();
                    r
                }],
            };
            let mut errs = ValidationErrors::default();
            config.check(&mut errs);
            assert_eq!(errs.errors.is_empty(), ok, "{binding} {policy:?}: {errs}");
            if !ok {
                assert_eq!(
                    errs.errors[0].field,
                    "identity.roles[1].clusterAccessPolicy"
                );
            }
        }
    }

    #[test]
    fn a_boundary_is_named_and_its_arn_built_per_account() {
        let ours = PermissionsBoundary::CustomerManaged {
            name: "tenant-boundary".into(),
            path: "/platform/".into(),
        };
        assert_eq!(
            ours.arn_in("aws", "111122223333"),
            "arn:aws:iam::111122223333:policy/platform/tenant-boundary"
        );
        let theirs = PermissionsBoundary::AwsManaged {
            name: "job-function/ViewOnlyAccess".into(),
        };
        assert_eq!(
            theirs.arn_in("aws-cn", "111122223333"),
            "arn:aws-cn:iam::aws:policy/job-function/ViewOnlyAccess"
        );
        let mut errs = ValidationErrors::default();
        PermissionsBoundary::CustomerManaged {
            name: "bad name".into(),
            path: "platform".into(),
        }
        .check(&mut errs);
        let fields: Vec<&str> = errs.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "identity.permissionsBoundary.customerManaged.name",
                "identity.permissionsBoundary.customerManaged.path"
            ]
        );
    }
}
