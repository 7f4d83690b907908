//! The platform's service roles in a tenant account: a role that one AWS service assumes (AWS
//! Backup, AWS Config) with AWS's managed policies for it, under the path `/vending/` where no
//! tenant role is made, tagged `vending:baseline=<kind>`. Made when missing, its trust and
//! policies brought back when they differ; a role of that name that is not the service's is
//! refused, never taken over.

use crate::classify::classify;
use crate::iam::{attached_policies, get_role, read_policy};
use aws_sdk_iam::Client;
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::Role;
use serde_json::{Value, json};
use vending_domain::StepError;
use vending_domain::config::BACKUP_ROLE_PATH as ROLE_PATH;

/// The tag that marks a role as the platform's baseline (not a tenant's), with its kind.
pub const BASELINE_TAG: &str = "vending:baseline";

/// A role one AWS service assumes.
pub(crate) struct ServiceRole<'a> {
    /// Its name.
    pub name: &'a str,
    /// The service principal that alone may assume it (`backup.amazonaws.com`).
    pub service: &'a str,
    /// The value of its `vending:baseline` tag (`backup`, `config`).
    pub kind: &'a str,
    /// Its description.
    pub description: &'a str,
    /// The managed policies it holds.
    pub policies: Vec<String>,
}

/// The trust policy of a role `service` alone may assume.
pub(crate) fn trust(service: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole"
        }]
    })
}

/// True when a trust policy lets exactly `service` assume the role.
pub(crate) fn trusts_only(doc: &Value, service: &str) -> bool {
    let Some([s]) = doc
        .get("Statement")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    else {
        return false;
    };
    let principal = s.get("Principal");
    let named = principal.and_then(|p| p.get("Service"));
    s.get("Effect") == Some(&json!("Allow"))
        && principal
            .and_then(Value::as_object)
            .is_some_and(|p| p.len() == 1)
        && (named == Some(&json!(service)) || named == Some(&json!([service])))
}

/// True when `role` is the platform's role of `kind` (its path and tag).
pub(crate) fn is_ours(role: &Role, kind: &str) -> bool {
    role.path() == ROLE_PATH
        && role
            .tags()
            .iter()
            .any(|t| t.key() == BASELINE_TAG && t.value() == kind)
}

/// An SDK builder's result, its failure an `Internal` error saying what was being built.
pub(crate) fn built<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> Result<T, StepError> {
    r.map_err(|e| StepError::Internal(format!("building {what}: {e}")))
}

/// The role, made or brought back to its trust and policies: its ARN, and whether anything
/// changed.
pub(crate) async fn ensure(
    iam: &Client,
    wanted: &ServiceRole<'_>,
) -> Result<(String, bool), StepError> {
    let name = wanted.name;
    let mut changed = false;
    let role = match get_role(iam, name).await? {
        Some(role) => {
            if !is_ours(&role, wanted.kind) {
                return Err(StepError::Conflict(format!(
                    "role {name} exists and is not the service's {} role (path {ROLE_PATH}, tagged {BASELINE_TAG}={})",
                    wanted.kind, wanted.kind
                )));
            }
            let current = role.assume_role_policy_document().and_then(read_policy);
            if !current
                .as_ref()
                .is_some_and(|doc| trusts_only(doc, wanted.service))
            {
                iam.update_assume_role_policy()
                    .role_name(name)
                    .policy_document(trust(wanted.service).to_string())
                    .send()
                    .await
                    .map_err(|e| classify("UpdateAssumeRolePolicy", &e))?;
                changed = true;
            }
            role
        }
        None => {
            let tag = built(
                "a tag",
                aws_sdk_iam::types::Tag::builder()
                    .key(BASELINE_TAG)
                    .value(wanted.kind)
                    .build(),
            )?;
            let made = iam
                .create_role()
                .role_name(name)
                .path(ROLE_PATH)
                .assume_role_policy_document(trust(wanted.service).to_string())
                .description(wanted.description)
                .tags(tag)
                .send()
                .await;
            changed = true;
            match made {
                Ok(out) => out.role().cloned().ok_or_else(|| {
                    StepError::Internal(format!("CreateRole {name} returned no role"))
                })?,
                Err(e) if e.code() == Some("EntityAlreadyExists") => {
                    return Err(StepError::ConcurrentModification(format!(
                        "role {name} was made by another run at the same time"
                    )));
                }
                Err(e) => return Err(classify("CreateRole", &e)),
            }
        }
    };
    let attached = attached_policies(iam, name).await?;
    for arn in &wanted.policies {
        if !attached.contains(arn) {
            iam.attach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| classify("AttachRolePolicy", &e))?;
            changed = true;
        }
    }
    Ok((role.arn().to_owned(), changed))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKUP: &str = "backup.amazonaws.com";

    #[test]
    fn a_service_role_trusts_its_service_alone() {
        assert!(trusts_only(&trust(BACKUP), BACKUP));
        let mut listed = trust(BACKUP);
        listed["Statement"][0]["Principal"]["Service"] = json!([BACKUP]);
        assert!(trusts_only(&listed, BACKUP));
        let mut more = trust(BACKUP);
        more["Statement"][0]["Principal"]["AWS"] = json!("arn:aws:iam::111122223333:root");
        assert!(!trusts_only(&more, BACKUP), "no one else may assume it");
        assert!(!trusts_only(&trust("ec2.amazonaws.com"), BACKUP));
        assert!(!trusts_only(&trust(BACKUP), "config.amazonaws.com"));
    }
}
