//! The portal API's drift check, `GET /tenants/{tenantId}/drift` (`vend plan TENANT`): what a
//! tenant's resources are, where they live, against what its record says. It reads the
//! tenant's roles in its account, its access entries on every shared cluster, its VPC with
//! the transit gateway attachment and routes, its account's AWS Backup baseline (where its
//! environment has one), and the files in the GitOps destination, and
//! answers each difference by resource and field (`vending_domain::drift`). It changes
//! nothing: a re-run of the tenant's vending repairs what it finds.
//!
//! It is a function of its own, not a route of TenantRequest, because it reaches into member
//! accounts and the GitOps destination, which the portal's request function never needs.

use serde_json::Value;
use std::collections::BTreeMap;
use vending_domain::api::{Endpoint, route};
use vending_domain::drift::{
    DriftReport, compare_access, compare_backup, compare_files, compare_network, compare_role,
    expected_roles,
};
use vending_domain::ports::{
    Accounts, Backups as _, ClusterAccess as _, Identity as _, ManifestDestination, Registry,
    TenantNetwork as _,
};
use vending_domain::record::Lifecycle;
use vending_domain::{PlatformConfig, StepError, TenantId, TenantRecord};
use vending_runtime::http::{self, Answer, invalid, refusal};

/// The assumed-role session name of a drift check (CloudTrail shows it in the member
/// accounts).
fn session(tenant: &TenantId) -> String {
    format!("drift-{tenant}")
}

/// The tenant's resources against `record`.
pub async fn drift<A: Accounts, D: ManifestDestination>(
    accounts: &A,
    destination: &D,
    config: &PlatformConfig,
    record: &TenantRecord,
) -> Result<DriftReport, StepError> {
    let session = session(&record.tenant_id);
    let mut checked = Vec::new();
    let mut differences = Vec::new();

    let iam = accounts.identity(&record.account.id, &session).await?;
    for expected in expected_roles(config, record) {
        checked.push(format!("role/{}", expected.name));
        let actual = iam.role(&expected.name).await?;
        differences.extend(compare_role(&expected, actual.as_ref()));
    }

    for cluster in &record.clusters {
        // The cluster's ARN names its account: `arn:<partition>:eks:<region>:<account>:...`.
        let account = cluster.arn.split(':').nth(4).unwrap_or_default();
        let eks = accounts
            .clusters(account, &record.account.region, &session)
            .await?;
        let entries = eks
            .access_entries(&cluster.name, &record.account.id)
            .await?;
        checked.push(format!("cluster/{}", cluster.name));
        differences.extend(compare_access(record, cluster, &entries));
    }

    let network = accounts
        .network(&record.account.id, &record.network.region, &session)
        .await?;
    let vpc = network.tenant_vpc(record.tenant_id.as_str()).await?;
    checked.push(format!("vpc/{}", record.tenant_id));
    differences.extend(compare_network(record, vpc.as_ref()));

    // The account baseline as the environment's config says today (what a re-run ensures).
    if let Some(backup) = config.backup_of(&record.environment) {
        let backups = accounts
            .backups(&record.account.id, &config.region, &session)
            .await?;
        let state = backups.backup_state(backup).await?;
        checked.push(format!("backup-plan/{}", backup.plan_name));
        let role_arn = backup.role_arn(config.partition(), &record.account.id);
        differences.extend(compare_backup(backup, &role_arn, &state));
    }

    let bundle = tenant_manifests::bundle(record, config.gitops.root())
        .map_err(|e| StepError::Internal(format!("the record does not render: {e}")))?;
    let expected: BTreeMap<String, Vec<u8>> = bundle
        .manifests
        .iter()
        .chain([&bundle.record])
        .map(|f| (f.path.clone(), f.bytes.clone()))
        .collect();
    let actual = destination
        .read(&bundle.tenant_dir, &bundle.record.path)
        .await?;
    checked.extend(expected.keys().map(|p| format!("file/{p}")));
    differences.extend(compare_files(&expected, &actual));

    Ok(DriftReport {
        tenant_id: record.tenant_id.to_string(),
        generation: record.generation,
        checked,
        differences,
    })
}

async fn serve<R: Registry, A: Accounts, D: ManifestDestination>(
    registry: &R,
    accounts: &A,
    destination: &D,
    config: &PlatformConfig,
    event: &Value,
) -> Result<Answer, StepError> {
    let request = http::read(event)?;
    let Ok(Endpoint::Drift(id)) = route(&request.method, &request.path) else {
        return Ok(Answer::refusal(
            404,
            format!(
                "{} {} is not served here (this function serves GET /tenants/{{tenantId}}/drift)",
                request.method, request.path
            ),
        ));
    };
    let tenant = TenantId::parse(&id).map_err(|e| invalid("tenantId", e.to_string()))?;
    let Some(entry) = registry.get(&tenant).await? else {
        return Ok(Answer::refusal(404, format!("no tenant {tenant}")));
    };
    let Some(text) = entry.record else {
        return Ok(Answer::refusal(
            409,
            format!(
                "tenant {tenant} has no record yet (it is {}): there is nothing to compare",
                entry.status.as_str()
            ),
        ));
    };
    let record = TenantRecord::from_json(&text).map_err(|e| {
        StepError::Internal(format!(
            "the registry's record of {tenant} cannot be read: {e}"
        ))
    })?;
    // An offboarding or closed tenant has lost its access and network on purpose: drift is
    // what an active tenant's resources are against its record.
    if record.lifecycle != Lifecycle::Active {
        return Ok(Answer::refusal(
            409,
            format!(
                "tenant {tenant} is {}: its access entries and network were removed on purpose, so there is no drift to compare",
                entry.status.as_str()
            ),
        ));
    }
    let report = drift(accounts, destination, config, &record).await?;
    tracing::info!(tenant = %tenant, differences = report.differences.len(), "drift checked");
    Answer::json(200, &report)
}

/// The Lambda payload (an HTTP API v2 event) to an HTTP API v2 response.
pub async fn handle<R: Registry, A: Accounts, D: ManifestDestination>(
    registry: &R,
    accounts: &A,
    destination: &D,
    config: &PlatformConfig,
    event: Value,
) -> Value {
    match serve(registry, accounts, destination, config, &event).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(error = %e, "drift check refused");
            refusal(&e)
        }
    }
    .into_response()
}
