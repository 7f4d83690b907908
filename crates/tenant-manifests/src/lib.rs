//! Renders a tenant record as the manifests the tenant operator (Capsule) syncs from git or
//! a bucket: a `Tenant`, plus a `GlobalTenantResource` that replicates the tenant's network
//! policies when its profile has any, one object per file at paths keyed by the tenant id.
//!
//! Everything is checked before anything is rendered (the record's own rules, then names and
//! label syntax of the objects), and the bytes are stable: typed structures in a fixed field
//! order, sorted maps, no time stamps. This crate knows nothing of AWS or git.

pub mod capsule;
pub mod crd;

use capsule::{
    AllowedClasses, AllowedNames, CAPSULE_API_VERSION, GlobalTenantResource,
    GlobalTenantResourceSpec, IngressOptions, IngressRule, LabelSelector, NamespaceOptions,
    NetworkPolicy, NetworkPolicySpec, ObjectMeta, Owner, OwnerKind, PolicyPeer, QuotaRule,
    ReplicatedResources, RoleBinding, Rule, Subject, Tenant, TenantSpec,
};
use serde::Serialize;
use std::collections::BTreeMap;
use vending_domain::kube::{NetworkPolicyProfile, is_label_value};
use vending_domain::plan::{FileAction, ManifestChange};
use vending_domain::ports::{ManifestBundle, ManifestFile};
use vending_domain::record::Lifecycle;
use vending_domain::{TenantRecord, ValidationErrors};

/// The label every object of a tenant carries (and GlobalTenantResources select on).
pub const TENANT_LABEL: &str = "tenant-vending.dev/tenant";
/// The label naming the tenant's environment.
pub const ENVIRONMENT_LABEL: &str = "tenant-vending.dev/environment";
/// The label Capsule puts on every namespace of a tenant.
pub const CAPSULE_TENANT_LABEL: &str = "capsule.clastix.io/tenant";
/// Annotation: the record generation an object was rendered from.
pub const GENERATION_ANNOTATION: &str = "tenant-vending.dev/generation";
/// Annotation: the request behind that generation.
pub const REQUEST_ANNOTATION: &str = "tenant-vending.dev/request-id";
/// Annotation: the tenant's AWS account.
pub const ACCOUNT_ANNOTATION: &str = "tenant-vending.dev/account-id";
/// Annotation: the tenant's human name.
pub const DISPLAY_NAME_ANNOTATION: &str = "tenant-vending.dev/display-name";

/// Why a record could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The record breaks a rule; every broken rule is named with its field.
    #[error("the tenant record is invalid: {0}")]
    Invalid(ValidationErrors),
    /// Serialization failed (a bug, not bad input).
    #[error("encoding {path}: {reason}")]
    Encode {
        /// The file being encoded.
        path: String,
        /// Why.
        reason: String,
    },
}

/// The folder of a tenant's manifests, relative to the destination's root.
pub fn tenant_dir(tenant: &str) -> String {
    format!("tenants/{tenant}")
}

/// The path of a tenant's record, relative to the destination's root (outside `tenants/`,
/// so the tenant operator's sync never tries to apply it).
pub fn record_path(tenant: &str) -> String {
    format!("records/{tenant}.json")
}

fn under(root: &str, path: &str) -> String {
    if root.is_empty() {
        path.to_owned()
    } else {
        format!("{}/{path}", root.trim_end_matches('/'))
    }
}

/// The bundle a hand-off writes: the tenant's manifests and its record, under `root` (the
/// destination's folder or key prefix; empty for its root).
pub fn bundle(record: &TenantRecord, root: &str) -> Result<ManifestBundle, RenderError> {
    let manifests = render(record)?
        .into_iter()
        .map(|f| ManifestFile {
            path: under(root, &f.path),
            bytes: f.bytes,
        })
        .collect();
    let tenant = record.tenant_id.as_str();
    let record_bytes = record.to_bytes().map_err(|e| RenderError::Encode {
        path: record_path(tenant),
        reason: e.to_string(),
    })?;
    Ok(ManifestBundle {
        tenant_id: record.tenant_id.clone(),
        generation: record.generation,
        request_id: record.request_id.clone(),
        tenant_dir: under(root, &tenant_dir(tenant)),
        manifests,
        record: ManifestFile {
            path: under(root, &record_path(tenant)),
            bytes: record_bytes,
        },
    })
}

/// The tenant's manifests, at paths relative to the destination's root, in a fixed order.
pub fn render(record: &TenantRecord) -> Result<Vec<ManifestFile>, RenderError> {
    let mut errs = ValidationErrors::default();
    record.check(&mut errs);
    check_metadata(record, &mut errs);
    if !errs.errors.is_empty() {
        return Err(RenderError::Invalid(errs));
    }
    // A closed tenant has no manifests: the operator removes its Tenant and namespaces.
    if record.lifecycle == Lifecycle::Closed {
        return Ok(Vec::new());
    }
    let dir = tenant_dir(record.tenant_id.as_str());
    let mut files = vec![yaml_file(format!("{dir}/tenant.yaml"), &tenant(record))?];
    if let Some(policies) = network_policies(record) {
        files.push(yaml_file(
            format!("{dir}/network-policies.yaml"),
            &policies,
        )?);
    }
    Ok(files)
}

/// Checks what becomes object metadata or RBAC subjects: label values, group names.
fn check_metadata(record: &TenantRecord, errs: &mut ValidationErrors) {
    if !is_label_value(&record.environment) {
        errs.push(
            "environment",
            format!("'{}' is not a Kubernetes label value", record.environment),
        );
    }
    if !record.identity.roles.iter().any(|r| r.tenant_owner) {
        errs.push(
            "identity.roles",
            "no role owns the tenant (tenantOwner): nobody could create its namespaces",
        );
    }
    for (i, cluster) in record.clusters.iter().enumerate() {
        if cluster.name.is_empty() {
            errs.push(format!("clusters[{i}].name"), "must be set");
        }
    }
}

fn yaml_file<T: Serialize>(path: String, object: &T) -> Result<ManifestFile, RenderError> {
    let text = yaml_serde::to_string(object).map_err(|e| RenderError::Encode {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    Ok(ManifestFile {
        path,
        bytes: text.into_bytes(),
    })
}

fn labels(record: &TenantRecord) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TENANT_LABEL.to_owned(), record.tenant_id.to_string()),
        (ENVIRONMENT_LABEL.to_owned(), record.environment.clone()),
    ])
}

/// The prefix of the annotations naming a tenant's Identity Center groups, one per kind of
/// team (`teams.tenant-vending.dev/owners: payments-admins`): who reaches the tenant's
/// namespaces through the permission sets' roles, for tools that show or audit it.
pub const TEAMS_ANNOTATION_PREFIX: &str = "teams.tenant-vending.dev/";

fn annotations(record: &TenantRecord) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            GENERATION_ANNOTATION.to_owned(),
            record.generation.to_string(),
        ),
        (REQUEST_ANNOTATION.to_owned(), record.request_id.clone()),
        (ACCOUNT_ANNOTATION.to_owned(), record.account.id.clone()),
        (
            DISPLAY_NAME_ANNOTATION.to_owned(),
            record.display_name.clone(),
        ),
    ])
}

/// The Tenant's annotations: the record's, and its teams' groups per kind.
fn tenant_annotations(record: &TenantRecord) -> BTreeMap<String, String> {
    let mut all = annotations(record);
    all.extend(record.identity.teams.iter().map(|t| {
        (
            format!("{TEAMS_ANNOTATION_PREFIX}{}", t.kind),
            t.groups.join(","),
        )
    }));
    all
}

fn allowed_classes(classes: &[String]) -> Option<AllowedClasses> {
    (!classes.is_empty()).then(|| AllowedClasses {
        allowed: classes.to_vec(),
        default: classes.first().cloned(),
    })
}

/// The Capsule Tenant of a record.
pub fn tenant(record: &TenantRecord) -> Tenant {
    let k = &record.kubernetes;
    let roles = &record.identity.roles;
    let owners = roles
        .iter()
        .filter(|r| r.tenant_owner)
        .map(|r| Owner {
            kind: OwnerKind::Group,
            name: r.kubernetes_group.clone(),
        })
        .collect();
    let additional_role_bindings = roles
        .iter()
        .filter(|r| !r.tenant_owner)
        .map(|r| RoleBinding {
            cluster_role_name: r.cluster_role.clone(),
            subjects: vec![Subject {
                api_group: "rbac.authorization.k8s.io",
                kind: OwnerKind::Group,
                name: r.kubernetes_group.clone(),
            }],
        })
        .collect();
    let ingress = &k.ingress;
    let ingress_options =
        (!ingress.classes.is_empty() || !ingress.hostnames.is_empty()).then(|| IngressOptions {
            allowed_classes: allowed_classes(&ingress.classes),
            allowed_hostnames: (!ingress.hostnames.is_empty()).then(|| AllowedNames {
                allowed: ingress.hostnames.clone(),
            }),
            hostname_collision_scope: "Cluster",
        });
    let rules = if k.resource_quota.is_empty() {
        Vec::new()
    } else {
        vec![Rule {
            quota: vec![QuotaRule {
                name: "tenant".into(),
                hard: k.resource_quota.clone(),
            }],
        }]
    };
    Tenant {
        api_version: CAPSULE_API_VERSION,
        kind: "Tenant",
        metadata: ObjectMeta {
            name: record.tenant_id.to_string(),
            labels: labels(record),
            annotations: tenant_annotations(record),
        },
        spec: TenantSpec {
            owners,
            additional_role_bindings,
            namespace_options: NamespaceOptions {
                quota: k.namespace_quota,
            },
            node_selector: k.node_selector.clone(),
            ingress_options,
            storage_classes: allowed_classes(&k.storage_classes),
            rules,
            // An offboarding tenant is cordoned: Capsule refuses changes to its resources.
            cordoned: record.lifecycle == Lifecycle::Offboarding,
        },
    }
}

/// The network policies of the record's profile, replicated into each tenant namespace; none
/// for the `open` profile.
pub fn network_policies(record: &TenantRecord) -> Option<GlobalTenantResource> {
    let tenant = record.tenant_id.to_string();
    let policy = match record.kubernetes.network_policy_profile {
        NetworkPolicyProfile::Open => return None,
        NetworkPolicyProfile::Isolated => NetworkPolicy {
            api_version: "networking.k8s.io/v1",
            kind: "NetworkPolicy",
            metadata: ObjectMeta {
                name: "tenant-isolation".into(),
                labels: labels(record),
                annotations: BTreeMap::new(),
            },
            spec: NetworkPolicySpec {
                pod_selector: LabelSelector::default(),
                policy_types: vec!["Ingress"],
                ingress: vec![IngressRule {
                    from: vec![PolicyPeer {
                        namespace_selector: LabelSelector {
                            match_labels: BTreeMap::from([(
                                CAPSULE_TENANT_LABEL.to_owned(),
                                tenant.clone(),
                            )]),
                        },
                    }],
                }],
            },
        },
    };
    Some(GlobalTenantResource {
        api_version: CAPSULE_API_VERSION,
        kind: "GlobalTenantResource",
        metadata: ObjectMeta {
            name: format!("{tenant}-network-policies"),
            labels: labels(record),
            annotations: annotations(record),
        },
        spec: GlobalTenantResourceSpec {
            tenant_selector: LabelSelector {
                match_labels: BTreeMap::from([(TENANT_LABEL.to_owned(), tenant)]),
            },
            resync_period: "60s",
            pruning_on_delete: true,
            resources: vec![ReplicatedResources {
                raw_items: vec![policy],
            }],
        },
    })
}

/// The files a hand-off of `next` would write, against those the hand-off of `previous` wrote
/// (none for a new tenant), each with a unified diff: the manifests' part of a plan. Paths are
/// under `root`, as `bundle` writes them.
pub fn changes(
    previous: Option<&TenantRecord>,
    next: &TenantRecord,
    root: &str,
) -> Result<Vec<ManifestChange>, RenderError> {
    let files = |bundle: ManifestBundle| {
        let mut files: Vec<ManifestFile> = bundle.manifests;
        files.push(bundle.record);
        files
    };
    let after = files(bundle(next, root)?);
    let before = previous
        .map(|p| bundle(p, root))
        .transpose()?
        .map(files)
        .unwrap_or_default();
    let text = |f: &ManifestFile| String::from_utf8_lossy(&f.bytes).into_owned();
    let diff = |path: &str, old: &str, new: &str| {
        similar::TextDiff::from_lines(old, new)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string()
    };
    let mut out = Vec::new();
    for file in &after {
        let new = text(file);
        let (action, old) = match before.iter().find(|b| b.path == file.path) {
            None => (FileAction::Add, String::new()),
            Some(b) if b.bytes == file.bytes => (FileAction::Unchanged, new.clone()),
            Some(b) => (FileAction::Modify, text(b)),
        };
        out.push(ManifestChange {
            path: file.path.clone(),
            action,
            diff: if action == FileAction::Unchanged {
                String::new()
            } else {
                diff(&file.path, &old, &new)
            },
        });
    }
    for gone in before
        .iter()
        .filter(|b| after.iter().all(|a| a.path != b.path))
    {
        out.push(ManifestChange {
            path: gone.path.clone(),
            action: FileAction::Delete,
            diff: diff(&gone.path, &text(gone), ""),
        });
    }
    Ok(out)
}
