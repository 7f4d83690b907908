//! A tenant's end state as a platform engineer would check it in the accounts: its accounts,
//! its network, its roles and their trust, its access entries, its registry entry and record,
//! the commits that hand it off, its lease. Ids that AWS makes up (account numbers, VPC,
//! subnet and attachment ids) are replaced by their kind, so the states of two tenants vended
//! the same way compare equal.

use crate::local::Local;
use serde_json::Value;
use std::collections::BTreeMap;
use vending_domain::TenantId;
use vending_domain::config::GitOpsConfig;
use vending_domain::ports::Registry;

/// What exists for one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantState {
    /// Accounts tagged for the tenant.
    pub accounts: usize,
    /// The tenant VPCs' CIDR blocks.
    pub vpcs: Vec<String>,
    /// Subnets, attachments and flow logs of those VPCs.
    pub subnets: usize,
    /// Transit gateway attachments of the tenant's VPCs.
    pub attachments: usize,
    /// Flow logs of the tenant's VPCs.
    pub flow_logs: usize,
    /// Roles: name to (boundary, sorted trusted principals), normalized.
    pub roles: BTreeMap<String, String>,
    /// Access entries: (cluster, role) to (groups, policies and scopes), normalized.
    pub access: BTreeMap<String, String>,
    /// The registry's status of the tenant.
    pub status: String,
    /// The registry's record, normalized.
    pub record: String,
    /// Commits that changed the tenant's record in the GitOps repository.
    pub commits: usize,
    /// The execution holding the lease, if any.
    pub lease: Option<String>,
    /// The registry's claimed pieces of the pool that are the tenant's.
    pub claimed_pieces: usize,
    /// Each account's status and the name of the OU it is in (`ACTIVE in prod`), sorted.
    pub placement: Vec<String>,
    /// Whether the registry holds the tenant's block for a closed account.
    pub held: bool,
}

/// Replaces the addresses inside `block` (a tenant's VPC block, and the subnets cut from it)
/// by their offset in the block: two tenants' networks of the same shape compare equal.
pub fn relative_to(text: &str, block: vending_domain::Ipv4Cidr) -> String {
    let mut out = String::new();
    for (i, part) in text.split('"').enumerate() {
        if i > 0 {
            out.push('"');
        }
        match part.parse::<vending_domain::Ipv4Cidr>() {
            Ok(c) if block.contains(c) => {
                out.push_str(&format!(
                    "<block+{}/{}>",
                    c.network() - block.network(),
                    c.prefix()
                ));
            }
            _ => out.push_str(part),
        }
    }
    out
}

/// Replaces the ids AWS makes up, and the tenant's id, by their kind.
pub fn normalize(text: &str, tenant: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        // Twelve digits: an account.
        if bytes[i].is_ascii_digit()
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
            && bytes[i..].iter().take_while(|c| c.is_ascii_digit()).count() == 12
            && bytes.get(i + 12).is_none_or(|c| !c.is_ascii_alphanumeric())
        {
            out.push_str("<account>");
            i += 12;
            continue;
        }
        let rest: String = bytes[i..bytes.len().min(i + 12)].iter().collect();
        let id = [
            "vpc-",
            "subnet-",
            "tgw-attach-",
            "fl-",
            "rtb-",
            "ou-",
            "car-",
        ]
        .iter()
        .find(|p| rest.starts_with(**p) && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()));
        if let Some(prefix) = id {
            let len = bytes[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '-')
                .count();
            out.push_str(&format!("<{}>", prefix.trim_end_matches('-')));
            i += len;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    access_entries(&out).replace(tenant, "<tenant>")
}

/// An access entry's ARN ends in an id EKS makes up: `access-entry/<cluster>/role/<account>/<name>/<id>`.
fn access_entries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, piece) in text.split("access-entry/").enumerate() {
        if i == 0 {
            out.push_str(piece);
            continue;
        }
        out.push_str("access-entry/");
        let end = piece
            .find(|c: char| !(c.is_ascii_alphanumeric() || "/-_<>.:".contains(c)))
            .unwrap_or(piece.len());
        let (arn, rest) = piece.split_at(end);
        match arn.rsplit_once('/') {
            Some((head, _id)) => {
                out.push_str(head);
                out.push_str("/<entry>");
            }
            None => out.push_str(arn),
        }
        out.push_str(rest);
    }
    out
}

fn err<E: std::fmt::Debug>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("{what}: {e:?}")
}

/// The tenant's state, read with the sandbox's root credentials.
pub async fn tenant_state(local: &Local, tenant: &str) -> Result<TenantState, String> {
    let org = aws_sdk_organizations::Client::new(&local.sdk);
    let mut accounts = Vec::new();
    let mut pages = org.list_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        for a in page.map_err(err("ListAccounts"))?.accounts() {
            let id = a.id().unwrap_or_default().to_owned();
            let tags = org
                .list_tags_for_resource()
                .resource_id(&id)
                .send()
                .await
                .map_err(err("ListTagsForResource"))?;
            if tags
                .tags()
                .iter()
                .any(|t| t.key() == "vending:tenant" && t.value() == tenant)
            {
                accounts.push(id);
            }
        }
    }
    let mut state = TenantState {
        accounts: accounts.len(),
        vpcs: Vec::new(),
        subnets: 0,
        attachments: 0,
        flow_logs: 0,
        roles: BTreeMap::new(),
        access: BTreeMap::new(),
        status: "NONE".into(),
        record: String::new(),
        commits: 0,
        lease: None,
        claimed_pieces: 0,
        placement: Vec::new(),
        held: false,
    };
    for account in &accounts {
        state.placement.push(placement(&org, account).await?);
    }
    state.placement.sort();
    for account in &accounts {
        network(local, account, tenant, &mut state).await?;
        roles(local, account, tenant, &mut state).await?;
    }
    access(local, tenant, &mut state).await?;
    let id = TenantId::parse(tenant).map_err(|e| format!("tenant id: {e}"))?;
    let registry = &local.platform.registry;
    if let Some(entry) = registry.get(&id).await.map_err(|e| e.to_string())? {
        state.status = format!("{:?}", entry.status);
        state.held = entry
            .offboarding
            .as_ref()
            .is_some_and(|o| o.cidr_held_until.is_some());
        let mut record = normalize(entry.record.as_deref().unwrap_or_default(), tenant);
        if let Some(block) = entry.cidr {
            record = relative_to(&record, block);
            state.vpcs = state
                .vpcs
                .iter()
                .map(|v| relative_to(&format!("\"{v}\""), block))
                .collect();
        }
        state.record = record;
    }
    state.claimed_pieces = registry
        .claimed_cidrs()
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .filter(|(_, owner)| *owner == id)
        .count();
    state.lease = registry
        .lease_holder(&id)
        .await
        .map_err(|e| e.to_string())?;
    state.commits = commits(local, tenant)?;
    Ok(state)
}

/// An account's status and the name of its parent OU.
async fn placement(org: &aws_sdk_organizations::Client, account: &str) -> Result<String, String> {
    let status = org
        .describe_account()
        .account_id(account)
        .send()
        .await
        .map_err(err("DescribeAccount"))?
        .account()
        .and_then(|a| a.status().map(|s| s.as_str().to_owned()))
        .unwrap_or_default();
    let parents = org
        .list_parents()
        .child_id(account)
        .send()
        .await
        .map_err(err("ListParents"))?;
    let parent = parents
        .parents()
        .first()
        .and_then(|p| p.id())
        .unwrap_or_default()
        .to_owned();
    let name = if parent.starts_with("ou-") {
        org.describe_organizational_unit()
            .organizational_unit_id(&parent)
            .send()
            .await
            .map_err(err("DescribeOrganizationalUnit"))?
            .organizational_unit()
            .and_then(|o| o.name().map(str::to_owned))
            .unwrap_or_default()
    } else {
        "the root".to_owned()
    };
    Ok(format!("{status} in {name}"))
}

/// The operator's view of a member account, through the member role.
async fn member(local: &Local, account: &str) -> aws_config::SdkConfig {
    vending_aws::clients::assume_role(
        &local.sdk,
        account,
        &local.config().member_role_name,
        "proof",
    )
    .await
}

fn filter(name: &str, value: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(name)
        .values(value)
        .build()
}

async fn network(
    local: &Local,
    account: &str,
    tenant: &str,
    state: &mut TenantState,
) -> Result<(), String> {
    let cfg = member(local, account).await;
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let tag = filter("tag:vending:tenant", tenant);
    let vpcs = ec2
        .describe_vpcs()
        .filters(tag.clone())
        .send()
        .await
        .map_err(err("DescribeVpcs"))?;
    for vpc in vpcs.vpcs() {
        let id = vpc.vpc_id().unwrap_or_default();
        state
            .vpcs
            .push(vpc.cidr_block().unwrap_or_default().to_owned());
        let attachments = ec2
            .describe_transit_gateway_vpc_attachments()
            .filters(filter("vpc-id", id))
            .send()
            .await
            .map_err(err("DescribeTransitGatewayVpcAttachments"))?;
        state.attachments += attachments.transit_gateway_vpc_attachments().len();
        let logs = ec2
            .describe_flow_logs()
            .filter(filter("resource-id", id))
            .send()
            .await
            .map_err(err("DescribeFlowLogs"))?;
        state.flow_logs += logs.flow_logs().len();
    }
    let subnets = ec2
        .describe_subnets()
        .filters(tag)
        .send()
        .await
        .map_err(err("DescribeSubnets"))?;
    state.subnets += subnets.subnets().len();
    state.vpcs.sort();
    Ok(())
}

async fn roles(
    local: &Local,
    account: &str,
    tenant: &str,
    state: &mut TenantState,
) -> Result<(), String> {
    let cfg = member(local, account).await;
    let iam = aws_sdk_iam::Client::new(&cfg);
    let listed = iam.list_roles().send().await.map_err(err("ListRoles"))?;
    for role in listed.roles() {
        if !role.role_name().starts_with(&format!("{tenant}-")) {
            continue;
        }
        let got = iam
            .get_role()
            .role_name(role.role_name())
            .send()
            .await
            .map_err(err("GetRole"))?;
        let r = got.role().ok_or("no role")?;
        let trust = r.assume_role_policy_document().unwrap_or_default();
        let trust = percent_decode(trust);
        let doc: Value = serde_json::from_str(&trust).unwrap_or(Value::Null);
        let mut principals: Vec<String> = match &doc["Statement"][0]["Principal"]["AWS"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        principals.sort();
        let boundary = r
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .unwrap_or_default();
        state.roles.insert(
            normalize(role.role_name(), tenant),
            normalize(&format!("{boundary} {principals:?}"), tenant),
        );
    }
    Ok(())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn access(local: &Local, tenant: &str, state: &mut TenantState) -> Result<(), String> {
    let cfg = member(local, &local.seeded.platform_account_id).await;
    let eks = aws_sdk_eks::Client::new(&cfg);
    for cluster in &local.config().clusters {
        let entries = eks
            .list_access_entries()
            .cluster_name(&cluster.name)
            .send()
            .await
            .map_err(err("ListAccessEntries"))?;
        for principal in entries.access_entries() {
            if !principal.contains(&format!(":role/{tenant}-")) {
                continue;
            }
            let entry = eks
                .describe_access_entry()
                .cluster_name(&cluster.name)
                .principal_arn(principal)
                .send()
                .await
                .map_err(err("DescribeAccessEntry"))?;
            let policies = eks
                .list_associated_access_policies()
                .cluster_name(&cluster.name)
                .principal_arn(principal)
                .send()
                .await
                .map_err(err("ListAssociatedAccessPolicies"))?;
            let groups = entry
                .access_entry()
                .map(|e| e.kubernetes_groups().to_vec())
                .unwrap_or_default();
            let scopes: Vec<String> = policies
                .associated_access_policies()
                .iter()
                .map(|p| {
                    format!(
                        "{} {:?}",
                        p.policy_arn().unwrap_or_default(),
                        p.access_scope()
                            .map(|s| s.namespaces().to_vec())
                            .unwrap_or_default()
                    )
                })
                .collect();
            state.access.insert(
                normalize(&format!("{} {principal}", cluster.name), tenant),
                normalize(&format!("{groups:?} {scopes:?}"), tenant),
            );
        }
    }
    Ok(())
}

fn commits(local: &Local, tenant: &str) -> Result<usize, String> {
    let GitOpsConfig::Git(git) = &local.config().gitops else {
        return Ok(0);
    };
    let Some(path) = git.url.strip_prefix("file://") else {
        return Ok(0);
    };
    let record = if git.directory.is_empty() {
        format!("records/{tenant}.json")
    } else {
        format!("{}/records/{tenant}.json", git.directory)
    };
    let out = std::process::Command::new("git")
        .args([
            "--git-dir",
            path,
            "log",
            "--format=%H",
            &git.branch,
            "--",
            &record,
        ])
        .output()
        .map_err(|e| format!("git log: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).lines().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_ids_and_the_tenant_are_replaced_by_their_kind() {
        assert_eq!(
            normalize(
                r#"{"id": "123456789012", "vpc": "vpc-0a1b2c3d", "arn": "arn:aws:iam::210987654321:role/crash-7-admin", "cidr": "10.64.0.0/20"}"#,
                "crash-7"
            ),
            r#"{"id": "<account>", "vpc": "<vpc>", "arn": "arn:aws:iam::<account>:role/<tenant>-admin", "cidr": "10.64.0.0/20"}"#
        );
        assert_eq!(
            normalize(
                r#"["arn:aws:eks:eu-west-1:111122223333:access-entry/shared-1/00000001"]"#,
                "payments"
            ),
            r#"["arn:aws:eks:eu-west-1:<account>:access-entry/shared-1/<entry>"]"#
        );
    }
}
