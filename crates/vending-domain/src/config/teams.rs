//! Team access through IAM Identity Center in the platform config: which permission set each
//! kind of team gets in a tenant's account, and which tenant role's cluster access the
//! permission set's role shares.

use crate::error::ValidationErrors;
use serde::{Deserialize, Serialize};

/// Team access through IAM Identity Center. A request names Identity Store groups per kind
/// (`teams: {"owners": ["payments-admins"]}`); each is assigned the kind's permission set on
/// the tenant's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentityCenterConfig {
    /// The Identity Center instance (`arn:aws:sso:::instance/ssoins-...`), in the management
    /// account (or its delegated administrator) where the service runs.
    pub instance_arn: String,
    /// Its identity store (`d-...`), where groups are found by display name.
    pub identity_store_id: String,
    /// The kinds of team a request may name, each with its permission set.
    pub assignments: Vec<AssignmentTemplate>,
}

/// One kind of team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignmentTemplate {
    /// The kind, as a request's `teams` names it: `owners`, `viewers`, or a role template's
    /// name.
    pub kind: String,
    /// The permission set's name (permission sets are the platform team's, made with the
    /// instance; the service finds them by name and never changes them).
    pub permission_set: String,
    /// The role template whose cluster access the permission set's role gets (its Kubernetes
    /// group and access policy, scoped to the tenant's namespaces); none when absent. With a
    /// kind that names a template, that template unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_access: Option<String>,
}

/// At most this many groups per kind in one request: each is one assignment to make and poll.
pub const MAX_TEAMS_PER_KIND: usize = 10;

impl IdentityCenterConfig {
    /// The assignment template of `kind`.
    pub fn kind(&self, kind: &str) -> Option<&AssignmentTemplate> {
        self.assignments.iter().find(|a| a.kind == kind)
    }

    /// The role template whose cluster access `template`'s role gets.
    pub fn cluster_template<'a>(
        &self,
        template: &'a AssignmentTemplate,
        roles: &'a [super::RoleTemplate],
    ) -> Option<&'a super::RoleTemplate> {
        let name = template.cluster_access.as_deref().or_else(|| {
            roles
                .iter()
                .any(|r| r.name == template.kind)
                .then_some(template.kind.as_str())
        })?;
        roles.iter().find(|r| r.name == name)
    }

    pub(super) fn check(&self, roles: &[super::RoleTemplate], errs: &mut ValidationErrors) {
        let instance_ok = self
            .instance_arn
            .split_once(":sso:::instance/")
            .is_some_and(|(head, id)| head.starts_with("arn:aws") && is_sso_id(id, "ssoins-"));
        if !instance_ok {
            errs.push(
                "identityCenter.instanceArn",
                format!(
                    "'{}' is not an Identity Center instance ARN (arn:aws:sso:::instance/ssoins-...)",
                    self.instance_arn
                ),
            );
        }
        let store = &self.identity_store_id;
        let store_ok = store.strip_prefix("d-").is_some_and(|rest| {
            (1..=34).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        }) || (store.len() == 36
            && store.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'));
        if !store_ok {
            errs.push(
                "identityCenter.identityStoreId",
                format!(
                    "'{}' is not an identity store id (d-...)",
                    self.identity_store_id
                ),
            );
        }
        for (i, a) in self.assignments.iter().enumerate() {
            let known =
                a.kind == "owners" || a.kind == "viewers" || roles.iter().any(|r| r.name == a.kind);
            if !known {
                errs.push(
                    format!("identityCenter.assignments[{i}].kind"),
                    format!(
                        "'{}' is neither owners, viewers nor a role template of identity.roles",
                        a.kind
                    ),
                );
            }
            if self.assignments[..i].iter().any(|b| b.kind == a.kind) {
                errs.push(
                    format!("identityCenter.assignments[{i}].kind"),
                    format!("'{}' is given twice", a.kind),
                );
            }
            if !crate::names::is_iam_name(&a.permission_set, 32) {
                errs.push(
                    format!("identityCenter.assignments[{i}].permissionSet"),
                    format!(
                        "'{}' is not a permission set name (1 to 32 of letters, digits and +=,.@-_)",
                        a.permission_set
                    ),
                );
            }
            if let Some(t) = &a.cluster_access
                && !roles.iter().any(|r| &r.name == t)
            {
                errs.push(
                    format!("identityCenter.assignments[{i}].clusterAccess"),
                    format!("'{t}' is not a role template of identity.roles"),
                );
            }
        }
    }
}

/// `<prefix>` then 16 letters, digits, dots or dashes (Identity Center's ids).
fn is_sso_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == 16
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b))
    })
}

/// Checks a request's group display names: Identity Store's limits (1 to 1024 characters,
/// no control characters), at most [`MAX_TEAMS_PER_KIND`] per kind, none twice.
pub fn check_group_names(kind: &str, names: &[String], errs: &mut ValidationErrors) {
    if names.len() > MAX_TEAMS_PER_KIND {
        errs.push(
            format!("teams.{kind}"),
            format!("names {} groups; at most {MAX_TEAMS_PER_KIND}", names.len()),
        );
    }
    for (i, n) in names.iter().enumerate() {
        if n.trim().is_empty() || n.chars().count() > 1024 || n.chars().any(char::is_control) {
            errs.push(
                format!("teams.{kind}[{i}]"),
                "must be a group's display name: 1 to 1024 characters, no control characters",
            );
        } else if names[..i].contains(n) {
            errs.push(
                format!("teams.{kind}[{i}]"),
                format!("'{n}' is given twice"),
            );
        }
    }
}
