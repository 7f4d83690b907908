//! The Kubernetes objects we emit, as typed structures holding only the fields we set: an
//! unknown or misspelt field cannot be produced. Field names and shapes follow Capsule
//! v1beta2 (`Tenant`, `GlobalTenantResource`) and `networking.k8s.io/v1` (`NetworkPolicy`),
//! using no field that Capsule v0.14 marks deprecated.

use serde::Serialize;
use std::collections::BTreeMap;

/// The API version of Capsule's objects.
pub const CAPSULE_API_VERSION: &str = "capsule.clastix.io/v1beta2";

/// Object metadata: a name, labels and annotations (cluster-scoped objects, no namespace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectMeta {
    /// The object's name.
    pub name: String,
    /// Labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A Capsule `Tenant`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// `capsule.clastix.io/v1beta2`.
    pub api_version: &'static str,
    /// `Tenant`.
    pub kind: &'static str,
    /// Name and vending metadata.
    pub metadata: ObjectMeta,
    /// What Capsule enforces.
    pub spec: TenantSpec,
}

/// The parts of a Tenant's spec we set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSpec {
    /// Groups that own the tenant (they create its namespaces).
    pub owners: Vec<Owner>,
    /// Groups bound to a ClusterRole in every tenant namespace.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_role_bindings: Vec<RoleBinding>,
    /// The namespace quota.
    pub namespace_options: NamespaceOptions,
    /// Where the tenant's pods run.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Allowed ingress classes and hostnames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress_options: Option<IngressOptions>,
    /// Allowed StorageClasses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_classes: Option<AllowedClasses>,
    /// Rules: the tenant's resource quota.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// Cordoned: Capsule refuses changes to the tenant's resources (offboarding).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cordoned: bool,
}

/// The kinds of tenant owner we emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OwnerKind {
    /// A Kubernetes group (what an EKS access entry carries).
    Group,
}

/// A tenant owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    /// `Group`.
    pub kind: OwnerKind,
    /// The group.
    pub name: String,
}

/// A ClusterRole bound to subjects in every tenant namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleBinding {
    /// The ClusterRole.
    pub cluster_role_name: String,
    /// Who it is bound to.
    pub subjects: Vec<Subject>,
}

/// An RBAC subject (a group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    /// `rbac.authorization.k8s.io`.
    pub api_group: &'static str,
    /// `Group`.
    pub kind: OwnerKind,
    /// The group.
    pub name: String,
}

/// Namespace options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamespaceOptions {
    /// How many namespaces the tenant may create.
    pub quota: u32,
}

/// Ingress options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressOptions {
    /// Allowed IngressClasses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_classes: Option<AllowedClasses>,
    /// Allowed hostnames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_hostnames: Option<AllowedNames>,
    /// Where a hostname must be unique: `Cluster`, so tenants cannot take each other's.
    pub hostname_collision_scope: &'static str,
}

/// A list of allowed class names and the default one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllowedClasses {
    /// Exact names.
    pub allowed: Vec<String>,
    /// The class used when none is named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// A list of allowed names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllowedNames {
    /// Exact names.
    pub allowed: Vec<String>,
}

/// A tenant rule: here, a quota shared by all the tenant's namespaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Named quotas.
    pub quota: Vec<QuotaRule>,
}

/// One named quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuotaRule {
    /// Its stable name within the tenant.
    pub name: String,
    /// Hard limits by resource.
    pub hard: BTreeMap<String, String>,
}

/// A Capsule `GlobalTenantResource`: objects Capsule replicates into every namespace of the
/// selected tenants (how v1beta2 distributes network policies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GlobalTenantResource {
    /// `capsule.clastix.io/v1beta2`.
    pub api_version: &'static str,
    /// `GlobalTenantResource`.
    pub kind: &'static str,
    /// Name and vending metadata.
    pub metadata: ObjectMeta,
    /// What is replicated where.
    pub spec: GlobalTenantResourceSpec,
}

/// The spec of a GlobalTenantResource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GlobalTenantResourceSpec {
    /// The tenants it applies to.
    pub tenant_selector: LabelSelector,
    /// How often Capsule re-applies the objects.
    pub resync_period: &'static str,
    /// Remove the replicated objects when this resource goes.
    pub pruning_on_delete: bool,
    /// The objects.
    pub resources: Vec<ReplicatedResources>,
}

/// Objects replicated into each tenant namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicatedResources {
    /// The objects, whole.
    pub raw_items: Vec<NetworkPolicy>,
}

/// A label selector by exact labels.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels that must all match (empty: everything).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
}

/// A `networking.k8s.io/v1` NetworkPolicy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicy {
    /// `networking.k8s.io/v1`.
    pub api_version: &'static str,
    /// `NetworkPolicy`.
    pub kind: &'static str,
    /// Its name (namespaced where Capsule replicates it).
    pub metadata: ObjectMeta,
    /// The policy.
    pub spec: NetworkPolicySpec,
}

/// A NetworkPolicy's spec (ingress rules only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicySpec {
    /// The pods it applies to.
    pub pod_selector: LabelSelector,
    /// `Ingress`.
    pub policy_types: Vec<&'static str>,
    /// Allowed sources.
    pub ingress: Vec<IngressRule>,
}

/// One allowed ingress source list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngressRule {
    /// Peers allowed in.
    pub from: Vec<PolicyPeer>,
}

/// Peers selected by their namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyPeer {
    /// The namespaces.
    pub namespace_selector: LabelSelector,
}
