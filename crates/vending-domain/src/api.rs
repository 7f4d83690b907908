//! The portal API (an HTTP API in AWS, `vend serve` locally): its routes, what each answers,
//! and how a listing's query string reads. The TenantRequest function serves every route but
//! drift, which InspectTenant serves (it reads the tenant's resources in their accounts); the
//! published OpenAPI document (`docs/openapi.yaml`) is generated from these types, and the
//! SAM template and `vend serve` are checked against `ROUTES`.

use crate::error::{ValidationError, ValidationErrors};
use crate::names::TenantId;
use crate::ports::ExecutionProgress;
use crate::record::TenantRecord;
use crate::registry::{FailureInfo, MAX_PAGE, RegistryEntry, TenantQuery, TenantStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One route of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The HTTP method.
    pub method: &'static str,
    /// The path, with `{tenantId}` where a tenant id goes (API Gateway's syntax).
    pub path: &'static str,
    /// The operation's id (OpenAPI `operationId`).
    pub operation: &'static str,
    /// What it does, in a line.
    pub summary: &'static str,
    /// The function that serves it (its logical id in `infra/template.yaml`).
    pub function: &'static str,
}

/// The function behind every route but drift.
pub const TENANT_REQUEST: &str = "TenantRequestFunction";
/// The function behind `GET /tenants/{tenantId}/drift`.
pub const INSPECT_TENANT: &str = "InspectTenantFunction";

/// Every route, in the order the OpenAPI document lists them.
pub const ROUTES: [Route; 8] = [
    Route {
        method: "POST",
        path: "/tenants",
        operation: "requestTenant",
        summary: "Request a tenant: validated, recorded, and its vending started (once per requestId).",
        function: TENANT_REQUEST,
    },
    Route {
        method: "GET",
        path: "/tenants",
        operation: "listTenants",
        summary: "List tenants, filtered by environment, status and tags, a page at a time.",
        function: TENANT_REQUEST,
    },
    Route {
        method: "GET",
        path: "/tenants/{tenantId}",
        operation: "getTenant",
        summary: "A tenant: its status, the step it is at, its failure, and its record once ready.",
        function: TENANT_REQUEST,
    },
    Route {
        method: "POST",
        path: "/tenants/{tenantId}/rerun",
        operation: "rerunTenant",
        summary: "Run the tenant's vending again with its last request (every step converges).",
        function: TENANT_REQUEST,
    },
    Route {
        method: "POST",
        path: "/reruns",
        operation: "rerunTenants",
        summary: "Run the vending of every tenant a selector (or a list) names again: one execution of the batch workflow, at most `concurrency` tenants at a time.",
        function: TENANT_REQUEST,
    },
    Route {
        method: "POST",
        path: "/plans",
        operation: "planTenant",
        summary: "What a request would do (account, OU, tags, VPC block, roles, access entries, record and manifest changes), changing nothing.",
        function: TENANT_REQUEST,
    },
    Route {
        method: "GET",
        path: "/tenants/{tenantId}/drift",
        operation: "getTenantDrift",
        summary: "What the tenant's roles, trust, access entries, VPC, attachment, routes and manifests are, against its record: each difference named (a re-run repairs them).",
        function: INSPECT_TENANT,
    },
    Route {
        method: "DELETE",
        path: "/tenants/{tenantId}",
        operation: "offboardTenant",
        summary: "Offboard the tenant: phase one at once (cordoned, cluster access revoked, account suspended), phase two after the grace period (manifests and network removed, the account closed when closeAccount says so). A new request during the grace period cancels it.",
        function: TENANT_REQUEST,
    },
];

/// What a request is for, once its method and path are matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /tenants`.
    Request,
    /// `GET /tenants`.
    List,
    /// `GET /tenants/{tenantId}`, with the id as given (not yet validated).
    Get(String),
    /// `POST /tenants/{tenantId}/rerun`.
    Rerun(String),
    /// `POST /plans`.
    Plan,
    /// `POST /reruns`.
    Reruns,
    /// `GET /tenants/{tenantId}/drift`, with the id as given.
    Drift(String),
    /// `DELETE /tenants/{tenantId}`, with the id as given.
    Offboard(String),
}

impl Endpoint {
    /// The route it matched, as API Gateway writes its `routeKey` (`GET /tenants/{tenantId}`).
    pub fn route_key(&self) -> &'static str {
        match self {
            Endpoint::Request => "POST /tenants",
            Endpoint::List => "GET /tenants",
            Endpoint::Get(_) => "GET /tenants/{tenantId}",
            Endpoint::Rerun(_) => "POST /tenants/{tenantId}/rerun",
            Endpoint::Plan => "POST /plans",
            Endpoint::Reruns => "POST /reruns",
            Endpoint::Drift(_) => "GET /tenants/{tenantId}/drift",
            Endpoint::Offboard(_) => "DELETE /tenants/{tenantId}",
        }
    }
}

/// Why a request matched no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unrouted {
    /// No route has this path.
    NotFound,
    /// The path exists with other methods (`Allow`).
    MethodNotAllowed(Vec<&'static str>),
}

/// The endpoint a method and path (without the query string) ask for.
pub fn route(method: &str, path: &str) -> Result<Endpoint, Unrouted> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (pattern, id) = match segments.as_slice() {
        ["tenants"] => ("/tenants", None),
        ["plans"] => ("/plans", None),
        ["reruns"] => ("/reruns", None),
        ["tenants", id] if !id.is_empty() => ("/tenants/{tenantId}", Some(*id)),
        ["tenants", id, "rerun"] if !id.is_empty() => ("/tenants/{tenantId}/rerun", Some(*id)),
        ["tenants", id, "drift"] if !id.is_empty() => ("/tenants/{tenantId}/drift", Some(*id)),
        _ => return Err(Unrouted::NotFound),
    };
    let id = id.map(|i| percent_decode(i).unwrap_or_else(|| i.to_owned()));
    match (method, pattern, id) {
        ("POST", "/tenants", None) => Ok(Endpoint::Request),
        ("GET", "/tenants", None) => Ok(Endpoint::List),
        ("GET", "/tenants/{tenantId}", Some(id)) => Ok(Endpoint::Get(id)),
        ("POST", "/tenants/{tenantId}/rerun", Some(id)) => Ok(Endpoint::Rerun(id)),
        ("POST", "/plans", None) => Ok(Endpoint::Plan),
        ("POST", "/reruns", None) => Ok(Endpoint::Reruns),
        ("GET", "/tenants/{tenantId}/drift", Some(id)) => Ok(Endpoint::Drift(id)),
        ("DELETE", "/tenants/{tenantId}", Some(id)) => Ok(Endpoint::Offboard(id)),
        _ => Err(Unrouted::MethodNotAllowed(
            ROUTES
                .iter()
                .filter(|r| r.path == pattern)
                .map(|r| r.method)
                .collect(),
        )),
    }
}

/// `%XX` escapes decoded (and `+` as a space, as forms encode it); `None` when the result is
/// not UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8()
        .ok()
        .map(|t| t.into_owned())
}

/// How many tenants a page holds when the caller does not say.
pub const DEFAULT_PAGE: usize = 50;

/// A listing's query string (`environment=dev&status=READY&tag=team=payments&limit=20`
/// `&nextToken=...`; `tag` repeats, each `key=value`) as a registry query. Every bad parameter
/// is reported, named.
pub fn list_query(raw: &str) -> Result<TenantQuery, ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let mut query = TenantQuery {
        limit: DEFAULT_PAGE,
        ..TenantQuery::default()
    };
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(key), Some(value)) = (percent_decode(key), percent_decode(value)) else {
            errs.push(pair, "is not a well-formed query parameter");
            continue;
        };
        match key.as_str() {
            "environment" if !value.is_empty() => query.environment = Some(value),
            "status" => match TenantStatus::parse(&value) {
                Some(s) => query.status = Some(s),
                None => errs.push(
                    "status",
                    format!(
                        "'{value}' is not a status: one of {}",
                        TenantStatus::ALL.map(TenantStatus::as_str).join(", ")
                    ),
                ),
            },
            "tag" => match value.split_once('=') {
                Some((k, v)) if !k.is_empty() => {
                    query.tags.insert(k.to_owned(), v.to_owned());
                }
                _ => errs.push("tag", format!("'{value}' is not key=value")),
            },
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => query.limit = n,
                _ => errs.push(
                    "limit",
                    format!("'{value}' is not a whole number from 1 to {MAX_PAGE}"),
                ),
            },
            "nextToken" if !value.is_empty() => query.after = Some(value),
            "environment" | "nextToken" => errs.push(&key, "must not be empty"),
            other => errs.push(
                other,
                "is not a parameter of this listing (environment, status, tag, limit, nextToken)",
            ),
        }
    }
    errs.into_result(query)
}

/// The answer to an accepted request or re-run (202): the execution that vends the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The request it runs.
    pub request_id: String,
    /// The execution vending it.
    pub execution_arn: String,
    /// Which attempt of the request this is (1, then one more per re-post after a failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// What happened before, when it matters (the failed attempt a re-post replaces).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The body of `DELETE /tenants/{tenantId}` (optional: no body offboards without closing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OffboardBody {
    /// Close the tenant's AWS account in phase two (the explicit flag). Without it the account
    /// stays, detached, in the suspended OU.
    #[serde(default)]
    pub close_account: bool,
    /// Why, for the record and the events (at most 256 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The caller's key: the same key starts nothing new (1 to 64 letters, digits, `-`, `_`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offboarding_id: Option<String>,
}

/// The answer to an accepted offboarding (202).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OffboardAccepted {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The execution offboarding it.
    pub execution_arn: String,
    /// Whether phase two closes the account.
    pub close_account: bool,
}

/// A tenant as `GET /tenants/{tenantId}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The request that created or last changed it.
    pub request_id: String,
    /// Where it stands.
    pub status: TenantStatus,
    /// Its environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Its own tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub tags: BTreeMap<String, String>,
    /// Its account, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Its VPC block, once claimed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidr: Option<crate::Ipv4Cidr>,
    /// The generation of its record, once handed off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    /// The step it is at: the running execution's current state, or the step that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The execution working on it, while one runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<ExecutionProgress>,
    /// Why its last vending (or offboarding) failed, when its status is FAILED (or
    /// OFFBOARDING).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureInfo>,
    /// Its offboarding, when OFFBOARDING or CLOSED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offboarding: Option<crate::registry::Offboarding>,
    /// Its record, once ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<TenantRecord>,
}

impl TenantView {
    /// The view of a registry entry and the execution working on it, if any.
    pub fn new(entry: RegistryEntry, execution: Option<ExecutionProgress>) -> TenantView {
        let record = entry
            .record
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok());
        let step = match (&execution, &entry.failure) {
            (Some(e), _) if e.status == "RUNNING" => e.state.clone(),
            (_, Some(f)) if entry.status == TenantStatus::Failed => Some(f.step.clone()),
            _ => None,
        };
        TenantView {
            generation: entry.generation(),
            tenant_id: entry.tenant_id,
            request_id: entry.request_id,
            status: entry.status,
            environment: entry.environment,
            tags: entry.tags,
            account_id: entry.account_id,
            cidr: entry.cidr,
            step,
            execution,
            failure: entry.failure.filter(|_| {
                matches!(
                    entry.status,
                    TenantStatus::Failed | TenantStatus::Offboarding
                )
            }),
            offboarding: entry.offboarding,
            record,
        }
    }
}

/// A tenant as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TenantSummary {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Where it stands.
    pub status: TenantStatus,
    /// Its environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Its account, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The generation of its record, once handed off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    /// Its own tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub tags: BTreeMap<String, String>,
}

impl From<RegistryEntry> for TenantSummary {
    fn from(entry: RegistryEntry) -> TenantSummary {
        TenantSummary {
            generation: entry.generation(),
            tenant_id: entry.tenant_id,
            status: entry.status,
            environment: entry.environment,
            account_id: entry.account_id,
            tags: entry.tags,
        }
    }
}

/// One page of `GET /tenants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TenantList {
    /// The tenants, by environment then id.
    pub tenants: Vec<TenantSummary>,
    /// Pass as `nextToken` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// The body of `POST /tenants/{tenantId}/rerun` (optional).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RerunRequest {
    /// The caller's key for this re-run: the same key starts nothing new. Without one, each
    /// call starts a re-run (unless one runs already).
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<crate::schema::RequestId>")
    )]
    #[serde(default)]
    pub rerun_id: Option<String>,
}

/// Which tenants a batch re-run takes: every field given must match (tags: each of them).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Selector {
    /// Only this environment's tenants.
    #[serde(default)]
    pub environment: Option<String>,
    /// Only tenants with this status.
    #[serde(default)]
    pub status: Option<TenantStatus>,
    /// Only tenants with each of these tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// The most tenants one batch re-run takes (a Map's items travel in the execution's input,
/// which Step Functions caps at 256 KiB; each carries its recorded request).
pub const MAX_BATCH: usize = 100;
/// The most vending executions a batch runs at once unless it says otherwise.
pub const DEFAULT_BATCH_CONCURRENCY: u32 = 5;
/// The most it may ask for (a Map's inline iterations run 40 at a time at most).
pub const MAX_BATCH_CONCURRENCY: u32 = 40;

/// The body of `POST /reruns`: a selector or a list of tenants (one of them).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchRerunRequest {
    /// Re-run the tenants it selects.
    #[serde(default)]
    pub selector: Option<Selector>,
    /// Re-run these tenants.
    #[cfg_attr(feature = "schema", schemars(with = "Option<Vec<TenantId>>"))]
    #[serde(default)]
    pub tenants: Option<Vec<String>>,
    /// At most this many tenants' vending at once (1 to 40; 5 unless given). The account
    /// creation cap holds across every execution whatever this says.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 40)))]
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// The caller's key for this batch: the same key starts nothing new.
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<crate::schema::RequestId>")
    )]
    #[serde(default)]
    pub rerun_id: Option<String>,
}

/// One tenant a batch re-runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BatchItem {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The request re-run.
    pub request_id: String,
    /// The name its vending execution gets.
    pub execution_name: String,
}

/// A tenant a batch leaves out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Why.
    pub reason: String,
}

/// The answer to `POST /reruns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BatchAccepted {
    /// The batch workflow's execution; absent when there was nothing to start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    /// How many tenants it runs at once.
    pub concurrency: u32,
    /// The tenants it re-runs.
    pub tenants: Vec<BatchItem>,
    /// The tenants it leaves out.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub skipped: Vec<Skipped>,
}

/// Every refusal's body: a message, and for bad input every bad field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    /// What went wrong, in a sentence.
    pub message: String,
    /// Each bad field and why (400).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub errors: Vec<ValidationError>,
    /// The error's stable name, when AWS or the service failed (503, 500).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_their_paths_and_nothing_else() {
        assert_eq!(route("POST", "/tenants"), Ok(Endpoint::Request));
        assert_eq!(route("GET", "/tenants/"), Ok(Endpoint::List));
        assert_eq!(
            route("GET", "/tenants/payments"),
            Ok(Endpoint::Get("payments".into()))
        );
        assert_eq!(
            route("POST", "/tenants/payments/rerun"),
            Ok(Endpoint::Rerun("payments".into()))
        );
        assert_eq!(route("GET", "/tenant"), Err(Unrouted::NotFound));
        assert_eq!(route("GET", "/tenants/a/b"), Err(Unrouted::NotFound));
        assert_eq!(
            route("DELETE", "/tenants"),
            Err(Unrouted::MethodNotAllowed(vec!["POST", "GET"]))
        );
        assert_eq!(
            route("GET", "/tenants/payments/rerun"),
            Err(Unrouted::MethodNotAllowed(vec!["POST"]))
        );
    }

    #[test]
    fn a_listing_query_reads_every_filter_and_names_every_bad_one() {
        let q = list_query("environment=dev&status=ready&tag=team%3Dpay&tag=cost=1&limit=5")
            .expect("valid");
        assert_eq!(q.environment.as_deref(), Some("dev"));
        assert_eq!(q.status, Some(TenantStatus::Ready));
        assert_eq!(q.tags.len(), 2);
        assert_eq!(q.tags["team"], "pay");
        assert_eq!(q.limit, 5);
        let errs = list_query("status=done&limit=0&tag=x&colour=red").expect_err("invalid");
        let fields: Vec<&str> = errs.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["status", "limit", "tag", "colour"]);
        assert_eq!(list_query("").expect("empty").limit, DEFAULT_PAGE);
    }
}

/// The OpenAPI 3.1 document of the API, generated from these types (published as
/// `docs/openapi.yaml`; a test keeps it current).
#[cfg(feature = "schema")]
pub mod openapi {
    use super::{
        Accepted, ApiError, BatchAccepted, BatchRerunRequest, OffboardAccepted, OffboardBody,
        ROUTES, RerunRequest, TenantList, TenantView,
    };
    use crate::request::TenantRequest;
    use schemars::generate::SchemaSettings;
    use serde_json::{Map, Value, json};

    fn error(description: &str) -> Value {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}
        })
    }

    fn ok(description: &str, schema: &str) -> Value {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
        })
    }

    fn tenant_id_parameter() -> Value {
        json!({
            "name": "tenantId", "in": "path", "required": true,
            "description": "The tenant id (a DNS-1123 label).",
            "schema": {"$ref": "#/components/schemas/TenantId"}
        })
    }

    fn list_parameters() -> Value {
        json!([
            {"name": "environment", "in": "query", "description": "Only this environment's tenants.",
             "schema": {"type": "string", "minLength": 1}},
            {"name": "status", "in": "query", "description": "Only tenants with this status (any case).",
             "schema": {"type": "string", "enum": crate::registry::TenantStatus::ALL.map(crate::registry::TenantStatus::as_str)}},
            {"name": "tag", "in": "query", "description": "Only tenants with this tag, as key=value; repeat for several.",
             "schema": {"type": "array", "items": {"type": "string", "pattern": "^[^=]+=.*$"}},
             "style": "form", "explode": true},
            {"name": "limit", "in": "query", "description": "At most this many tenants.",
             "schema": {"type": "integer", "minimum": 1, "maximum": crate::registry::MAX_PAGE, "default": super::DEFAULT_PAGE}},
            {"name": "nextToken", "in": "query", "description": "Where the previous page ended.",
             "schema": {"type": "string", "minLength": 1}}
        ])
    }

    fn operation(method: &str, path: &str) -> Value {
        match (method, path) {
            ("POST", "/tenants") => json!({
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TenantRequest"}}}},
                "responses": {
                    "202": ok("Accepted: the execution vending the tenant (the same requestId answers the same).", "Accepted"),
                    "400": error("Invalid: every bad field named."),
                    "409": error("The requestId was used for another request."),
                    "503": error("AWS throttled or failed: try again.")
                }
            }),
            ("GET", "/tenants") => json!({
                "parameters": list_parameters(),
                "responses": {
                    "200": ok("One page of tenants, by environment then id.", "TenantList"),
                    "400": error("A bad filter, named.")
                }
            }),
            ("GET", "/tenants/{tenantId}") => json!({
                "parameters": [tenant_id_parameter()],
                "responses": {
                    "200": ok("The tenant.", "TenantView"),
                    "400": error("The tenant id is not one."),
                    "404": error("No such tenant.")
                }
            }),
            ("GET", "/tenants/{tenantId}/drift") => json!({
                "parameters": [tenant_id_parameter()],
                "responses": {
                    "200": ok("The differences (none: the tenant is as its record says); nothing was changed.", "DriftReport"),
                    "400": error("The tenant id is not one."),
                    "404": error("No such tenant."),
                    "409": error("The tenant has no record yet (it was never READY), or is offboarding or closed."),
                    "503": error("AWS or the GitOps destination throttled or failed: try again.")
                }
            }),
            ("DELETE", "/tenants/{tenantId}") => json!({
                "parameters": [tenant_id_parameter()],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OffboardBody"}}}},
                "responses": {
                    "202": ok("Accepted: the execution offboarding the tenant (the same offboardingId answers the same).", "OffboardAccepted"),
                    "400": error("A bad body or tenant id, or an account never offboarded (the platform's own), named."),
                    "404": error("No such tenant."),
                    "409": error("The tenant is closed already, or an execution works on it."),
                    "503": error("AWS throttled or failed: try again.")
                }
            }),
            ("POST", "/plans") => json!({
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TenantRequest"}}}},
                "responses": {
                    "200": ok("The plan: nothing was recorded, claimed or started.", "Plan"),
                    "400": error("Invalid: every bad field named."),
                    "503": error("AWS throttled or failed: try again.")
                }
            }),
            ("POST", "/reruns") => json!({
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchRerunRequest"}}}},
                "responses": {
                    "202": ok("Accepted: the batch execution and the tenants it re-runs.", "BatchAccepted"),
                    "200": ok("Nothing to start: no tenant matched, or every match was skipped (each with why).", "BatchAccepted"),
                    "400": error("A bad selector, list or concurrency, named."),
                    "503": error("AWS throttled or failed: try again.")
                }
            }),
            _ => json!({
                "parameters": [tenant_id_parameter()],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RerunRequest"}}}},
                "responses": {
                    "202": ok("Accepted: the execution re-running the tenant.", "Accepted"),
                    "400": error("A bad body or tenant id, named."),
                    "404": error("No such tenant."),
                    "409": error("An execution works on the tenant, or it was not vended from a portal request.")
                }
            }),
        }
    }

    /// The document.
    pub fn document() -> Value {
        let mut generator = SchemaSettings::draft2020_12()
            .with(|s| {
                s.definitions_path = "/components/schemas".into();
                s.meta_schema = None;
            })
            .into_generator();
        // Each type's schema goes into the definitions (`components/schemas`).
        generator.subschema_for::<TenantRequest>();
        generator.subschema_for::<Accepted>();
        generator.subschema_for::<TenantView>();
        generator.subschema_for::<TenantList>();
        generator.subschema_for::<RerunRequest>();
        generator.subschema_for::<crate::plan::Plan>();
        generator.subschema_for::<crate::drift::DriftReport>();
        generator.subschema_for::<BatchRerunRequest>();
        generator.subschema_for::<BatchAccepted>();
        generator.subschema_for::<OffboardBody>();
        generator.subschema_for::<OffboardAccepted>();
        generator.subschema_for::<ApiError>();
        generator.subschema_for::<crate::TenantId>();
        let schemas = generator.take_definitions(true);
        let mut paths = Map::new();
        for route in ROUTES {
            let mut op = operation(route.method, route.path);
            op["operationId"] = json!(route.operation);
            op["summary"] = json!(route.summary);
            op["security"] = json!([{"sigv4": []}]);
            let entry = paths.entry(route.path).or_insert_with(|| json!({}));
            entry[route.method.to_ascii_lowercase()] = op;
        }
        json!({
            "openapi": "3.1.0",
            "info": {
                "title": "Tenant vending portal API",
                "version": "1",
                "description": "Request, plan, follow, list, re-run, check for drift and offboard tenants. Served by the TenantRequest function (drift: InspectTenant) behind an HTTP API with IAM authorization (requests signed with SigV4, service execute-api), and by `vend serve` on loopback (unsigned). Generated from vending_domain::api; do not edit (UPDATE_GOLDEN=1 cargo nextest run -p e2e --test api rewrites it)."
            },
            "servers": [{"url": "http://127.0.0.1:8787", "description": "vend serve"}],
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    "sigv4": {"type": "apiKey", "name": "Authorization", "in": "header", "description": "AWS Signature Version 4 (IAM authorization)."}
                }
            }
        })
    }
}
