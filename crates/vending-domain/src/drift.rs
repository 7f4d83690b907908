//! Drift: what a tenant's resources are, against what its record says they should be (`vend
//! plan TENANT`, `GET /tenants/{tenantId}/drift`). Each comparison names the resource, the
//! field, and both values; a re-run of the tenant's vending repairs every difference found
//! here, since each step converges on the same expectations.

use crate::PlatformConfig;
use crate::config::{BACKUP_ROLE_PATH, BACKUP_SELECTION_NAME, BackupConfig, BackupRule};
use crate::plan::role_spec;
use crate::ports::{AccessEntryState, BackupState, RoleSpec, VpcState};
use crate::record::{TenantCluster, TenantRecord};
use crate::request::TENANT_TAG;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What `GET /tenants/{tenantId}/drift` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DriftReport {
    /// The tenant.
    pub tenant_id: String,
    /// The generation of the record compared against.
    pub generation: u64,
    /// Every resource compared, as `<kind>/<name>`.
    pub checked: Vec<String>,
    /// Each difference found; empty when the tenant is as its record says.
    pub differences: Vec<Difference>,
}

/// One way a resource differs from the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Difference {
    /// The resource, as `<kind>/<name>` (`role/payments-admin`, `access-entry/shared-1/<arn>`,
    /// `vpc/payments`, `file/tenants/payments/tenant.yaml`).
    pub resource: String,
    /// What differs (`exists`, `trust`, `boundary`, `tags.Team`, `content`, ...).
    pub field: String,
    /// What the record says.
    pub expected: String,
    /// What there is.
    pub actual: String,
}

const MISSING: &str = "(missing)";

fn differ(
    resource: &str,
    field: &str,
    expected: impl Into<String>,
    actual: impl Into<String>,
) -> Difference {
    Difference {
        resource: resource.to_owned(),
        field: field.to_owned(),
        expected: expected.into(),
        actual: actual.into(),
    }
}

fn list(items: &[String]) -> String {
    items.join(", ")
}

/// The roles the record's tenant should have in its account: what ProvisionIdentity ensured
/// for the request the record came from.
pub fn expected_roles(config: &PlatformConfig, record: &TenantRecord) -> Vec<RoleSpec> {
    record
        .identity
        .roles
        .iter()
        .filter_map(|role| {
            let template = config.identity.template(&role.template).ok()?;
            let name = role.arn.rsplit('/').next().unwrap_or_default();
            Some(role_spec(
                config,
                template,
                name,
                &record.identity.owners,
                &record.identity.viewers,
                &record.tags,
                &record.account.id,
            ))
        })
        .collect()
}

/// A role against what it should be (`None`: there is no such role).
pub fn compare_role(expected: &RoleSpec, actual: Option<&RoleSpec>) -> Vec<Difference> {
    let resource = format!("role/{}", expected.name);
    let Some(actual) = actual else {
        return vec![differ(&resource, "exists", "yes", MISSING)];
    };
    let mut out = Vec::new();
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    let (want, have) = (sorted(&expected.trusted), sorted(&actual.trusted));
    if want != have {
        out.push(differ(&resource, "trust", list(&want), list(&have)));
    }
    if expected.boundary_arn != actual.boundary_arn {
        out.push(differ(
            &resource,
            "boundary",
            &expected.boundary_arn,
            &actual.boundary_arn,
        ));
    }
    let (want, have) = (
        sorted(&expected.managed_policy_arns),
        sorted(&actual.managed_policy_arns),
    );
    if want != have {
        out.push(differ(
            &resource,
            "managedPolicies",
            list(&want),
            list(&have),
        ));
    }
    out.extend(compare_tags(&resource, &expected.tags, &actual.tags));
    out
}

fn compare_tags(
    resource: &str,
    expected: &BTreeMap<String, String>,
    actual: &BTreeMap<String, String>,
) -> Vec<Difference> {
    let keys: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    keys.into_iter()
        .filter(|k| expected.get(*k) != actual.get(*k))
        .map(|k| {
            differ(
                resource,
                &format!("tags.{k}"),
                expected.get(k).map_or(MISSING, String::as_str),
                actual.get(k).map_or(MISSING, String::as_str),
            )
        })
        .collect()
}

/// A cluster's access entries against the record: one per tenant role and per team role the
/// platform maps into the clusters, with its Kubernetes group and its template's policy scoped
/// to the tenant's namespaces, and no other entry tagged for the tenant.
pub fn compare_access(
    record: &TenantRecord,
    cluster: &TenantCluster,
    actual: &[AccessEntryState],
) -> Vec<Difference> {
    let mut out = Vec::new();
    let by_principal: BTreeMap<&str, &AccessEntryState> = actual
        .iter()
        .map(|e| (e.principal_arn.as_str(), e))
        .collect();
    let mut namespaces = cluster.namespaces.clone();
    namespaces.sort();
    // (principal, Kubernetes group, access policy) of every entry the tenant should have.
    let principals: Vec<(&str, &str, &str)> = record
        .identity
        .roles
        .iter()
        .map(|r| {
            (
                r.arn.as_str(),
                r.kubernetes_group.as_str(),
                r.access_policy_arn.as_str(),
            )
        })
        .chain(record.identity.teams.iter().filter_map(|t| {
            Some((
                t.role_arn.as_str(),
                t.kubernetes_group.as_deref()?,
                t.access_policy_arn.as_deref()?,
            ))
        }))
        .collect();
    for &(arn, kubernetes_group, access_policy_arn) in &principals {
        let resource = format!("access-entry/{}/{}", cluster.name, arn);
        let Some(entry) = by_principal.get(arn) else {
            out.push(differ(&resource, "exists", "yes", MISSING));
            continue;
        };
        let mut groups = entry.kubernetes_groups.clone();
        groups.sort();
        if groups != [kubernetes_group] {
            out.push(differ(
                &resource,
                "kubernetesGroups",
                kubernetes_group,
                list(&groups),
            ));
        }
        let want = BTreeMap::from([(access_policy_arn.to_owned(), namespaces.clone())]);
        let have: BTreeMap<String, Vec<String>> = entry
            .policies
            .iter()
            .map(|(arn, ns)| {
                let mut ns = ns.clone();
                ns.sort();
                (arn.clone(), ns)
            })
            .collect();
        if want != have {
            let show = |m: &BTreeMap<String, Vec<String>>| {
                m.iter()
                    .map(|(arn, ns)| format!("{arn} on [{}]", list(ns)))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            out.push(differ(&resource, "policies", show(&want), show(&have)));
        }
    }
    let roles: BTreeSet<&str> = principals.iter().map(|(arn, _, _)| *arn).collect();
    for entry in actual {
        let tenant_tagged =
            entry.tags.get(TENANT_TAG).map(String::as_str) == Some(record.tenant_id.as_str());
        if tenant_tagged && !roles.contains(entry.principal_arn.as_str()) {
            out.push(differ(
                &format!("access-entry/{}/{}", cluster.name, entry.principal_arn),
                "exists",
                "no",
                "yes",
            ));
        }
    }
    out
}

/// The tenant's VPC against the record: its id, block, transit gateway attachment and routes.
pub fn compare_network(record: &TenantRecord, actual: Option<&VpcState>) -> Vec<Difference> {
    let n = &record.network;
    let resource = format!("vpc/{}", record.tenant_id);
    let Some(vpc) = actual else {
        return vec![differ(&resource, "exists", &n.vpc_id, MISSING)];
    };
    let mut out = Vec::new();
    if vpc.id != n.vpc_id {
        out.push(differ(&resource, "id", &n.vpc_id, &vpc.id));
    }
    if vpc.cidr != n.cidr.to_string() {
        out.push(differ(&resource, "cidr", n.cidr.to_string(), &vpc.cidr));
    }
    let attachment = format!(
        "transit-gateway-attachment/{}",
        n.transit_gateway_attachment_id
    );
    match vpc
        .attachments
        .iter()
        .find(|(id, _)| *id == n.transit_gateway_attachment_id)
    {
        None => out.push(differ(&attachment, "exists", "available", MISSING)),
        Some((_, state)) if state != "available" => {
            out.push(differ(&attachment, "state", "available", state));
        }
        Some(_) => {}
    }
    let routes: BTreeSet<&str> = vpc
        .routes_to_transit_gateway
        .iter()
        .map(String::as_str)
        .collect();
    for destination in &n.routes_to_transit_gateway {
        if !routes.contains(destination.to_string().as_str()) {
            out.push(differ(
                &format!("route/{}", destination),
                "target",
                &n.transit_gateway_id,
                MISSING,
            ));
        }
    }
    out
}

/// A backup rule as drift shows it: name, schedule, days kept and vault.
fn rule_text((rule, vault): &(BackupRule, String)) -> String {
    format!(
        "{}: {} kept {} days into {vault}",
        rule.name, rule.schedule, rule.delete_after_days
    )
}

/// The account's AWS Backup baseline against its environment's config (`backup`): the role,
/// the vault, the plan's rules, and the plan's selection (its tag and role). `role_arn` is the
/// role's ARN as the service makes it in the tenant's account.
pub fn compare_backup(
    backup: &BackupConfig,
    role_arn: &str,
    state: &BackupState,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let role = format!("backup-role{BACKUP_ROLE_PATH}{}", backup.role_name);
    if state.role_arn.as_deref() != Some(role_arn) {
        out.push(differ(
            &role,
            "exists",
            role_arn,
            state.role_arn.as_deref().unwrap_or(MISSING),
        ));
    }
    if !state.vault {
        out.push(differ(
            &format!("backup-vault/{}", backup.vault_name),
            "exists",
            "yes",
            MISSING,
        ));
    }
    let plan = format!("backup-plan/{}", backup.plan_name);
    let Some(rules) = &state.plan_rules else {
        out.push(differ(&plan, "exists", "yes", MISSING));
        return out;
    };
    let wanted: Vec<String> = backup
        .rules
        .iter()
        .map(|r| rule_text(&(r.clone(), backup.vault_name.clone())))
        .collect();
    let mut have: Vec<String> = rules.iter().map(rule_text).collect();
    have.sort();
    let mut sorted = wanted.clone();
    sorted.sort();
    if have != sorted {
        out.push(differ(&plan, "rules", list(&wanted), list(&have)));
    }
    let selection = format!(
        "backup-selection/{}/{BACKUP_SELECTION_NAME}",
        backup.plan_name
    );
    let tag = format!(
        "{}={}",
        backup.selection_tag.key, backup.selection_tag.value
    );
    match &state.selection {
        None => out.push(differ(&selection, "exists", "yes", MISSING)),
        Some((tags, role)) => {
            let actual: Vec<String> = tags
                .iter()
                .map(|t| format!("{}={}", t.key, t.value))
                .collect();
            if actual != [tag.clone()] {
                out.push(differ(&selection, "tags", tag, list(&actual)));
            }
            if role != role_arn {
                out.push(differ(&selection, "role", role_arn, role));
            }
        }
    }
    out
}

/// The files a hand-off of the record writes against the files the destination holds.
pub fn compare_files(
    expected: &BTreeMap<String, Vec<u8>>,
    actual: &BTreeMap<String, Vec<u8>>,
) -> Vec<Difference> {
    let paths: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    let digest = |b: &[u8]| format!("{} bytes", b.len());
    paths
        .into_iter()
        .filter_map(|path| {
            let resource = format!("file/{path}");
            match (expected.get(path), actual.get(path)) {
                (Some(_), None) => Some(differ(&resource, "exists", "yes", MISSING)),
                (None, Some(_)) => Some(differ(&resource, "exists", "no", "yes")),
                (Some(want), Some(have)) if want != have => {
                    Some(differ(&resource, "content", digest(want), digest(have)))
                }
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role() -> RoleSpec {
        RoleSpec {
            name: "payments-admin".into(),
            boundary_arn: "arn:aws:iam::1:policy/boundary".into(),
            trusted: vec![
                "arn:aws:iam::2:role/a".into(),
                "arn:aws:iam::2:role/b".into(),
            ],
            managed_policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
            tags: BTreeMap::from([("Team".into(), "payments".into())]),
        }
    }

    #[test]
    fn a_role_as_expected_has_no_difference_and_each_change_is_named() {
        let want = role();
        let mut same = role();
        same.trusted.reverse();
        assert_eq!(compare_role(&want, Some(&same)), []);
        assert_eq!(compare_role(&want, None)[0].field, "exists");
        let mut edited = role();
        edited.trusted.push("arn:aws:iam::3:role/intruder".into());
        edited.managed_policy_arns.clear();
        edited.tags.insert("Team".into(), "other".into());
        edited.tags.insert("Extra".into(), "x".into());
        let fields: Vec<String> = compare_role(&want, Some(&edited))
            .into_iter()
            .map(|d| d.field)
            .collect();
        assert_eq!(
            fields,
            ["trust", "managedPolicies", "tags.Extra", "tags.Team"]
        );
    }

    #[test]
    fn files_missing_extra_or_edited_are_each_a_difference() {
        let want = BTreeMap::from([
            ("a".to_owned(), b"1".to_vec()),
            ("b".to_owned(), b"2".to_vec()),
        ]);
        let have = BTreeMap::from([
            ("b".to_owned(), b"22".to_vec()),
            ("c".to_owned(), b"3".to_vec()),
        ]);
        let found: Vec<(String, String)> = compare_files(&want, &have)
            .into_iter()
            .map(|d| (d.resource, d.field))
            .collect();
        assert_eq!(
            found,
            [
                ("file/a".to_owned(), "exists".to_owned()),
                ("file/b".to_owned(), "content".to_owned()),
                ("file/c".to_owned(), "exists".to_owned()),
            ]
        );
        assert_eq!(compare_files(&want, &want), []);
    }

    #[test]
    fn a_backup_baseline_as_configured_has_no_difference_and_each_change_is_named() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../infra/platform-config.json"
        );
        let config =
            PlatformConfig::from_json(&std::fs::read_to_string(path).expect("the example config"))
                .expect("valid");
        let backup = config
            .backup_of("prod")
            .expect("prod has a baseline")
            .clone();
        let role = backup.role_arn("aws", "222233334444");
        let rules = |b: &BackupConfig| {
            b.rules
                .iter()
                .map(|r| (r.clone(), b.vault_name.clone()))
                .collect::<Vec<_>>()
        };
        let fine = BackupState {
            role_arn: Some(role.clone()),
            vault: true,
            plan_rules: Some(rules(&backup).into_iter().rev().collect()),
            selection: Some((vec![backup.selection_tag.clone()], role.clone())),
        };
        assert_eq!(
            compare_backup(&backup, &role, &fine),
            [],
            "rules in any order"
        );

        let fields = |state: &BackupState| {
            compare_backup(&backup, &role, state)
                .into_iter()
                .map(|d| format!("{} {}", d.resource, d.field))
                .collect::<Vec<_>>()
        };
        let mut edited = fine.clone();
        if let Some(rules) = edited.plan_rules.as_mut() {
            rules[0].0.delete_after_days = 1;
        }
        edited.selection = Some((vec![], "arn:aws:iam::222233334444:role/other".into()));
        assert_eq!(
            fields(&edited),
            [
                "backup-plan/tenant-vending-daily rules",
                "backup-selection/tenant-vending-daily/tenant-vending tags",
                "backup-selection/tenant-vending-daily/tenant-vending role",
            ]
        );
        assert_eq!(
            fields(&BackupState::default()),
            [
                "backup-role/vending/tenant-vending-backup exists",
                "backup-vault/tenant-vending exists",
                "backup-plan/tenant-vending-daily exists",
            ],
            "nothing there: the plan's absence says its selection's"
        );
    }
}
