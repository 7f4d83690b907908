//! The HandOff step: the tenant record (no time stamps, stable key order, so the same input
//! gives the same bytes) is written to the registry with status READY, then announced with a
//! `TenantReady` event. A retry rewrites the same bytes and may announce twice; consumers see
//! the events at least once, as EventBridge delivers them anyway. Last, the execution gives
//! the tenant's lease back.

use serde::Deserialize;
use serde_json::Value;
use vending_domain::ports::{EventBus, Registry, RegistryEntry, TenantStatus};
use vending_domain::steps::{
    AccessRecord, AccountProgress, AccountRecord, IdentityRecord, NetworkRecord, TenantRecord,
};
use vending_domain::{PlatformConfig, StepError, TenantSpec};

/// What the workflow passes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    /// The validated request.
    pub spec: TenantSpec,
    /// The account.
    pub account: AccountProgress,
    /// ProvisionNetwork's result.
    pub network: NetworkRecord,
    /// ProvisionIdentity's result.
    pub identity: IdentityRecord,
    /// GrantClusterAccess's result.
    pub access: AccessRecord,
    /// The execution, whose tenant lease is given back.
    pub execution_name: String,
}

/// The record the steps' results make.
pub fn tenant_record(config: &PlatformConfig, input: Input) -> Result<TenantRecord, StepError> {
    let Input {
        spec,
        account,
        network,
        identity,
        access,
        ..
    } = input;
    let account_id = account
        .account_id
        .ok_or_else(|| StepError::Internal("HandOff ran before the account existed".into()))?;
    Ok(TenantRecord {
        account: AccountRecord {
            id: account_id,
            ou_id: spec.ou_id.clone(),
            region: config.region.clone(),
        },
        tags: spec.all_tags(),
        tenant_id: spec.tenant_id,
        display_name: spec.display_name,
        request_id: spec.request_id,
        environment: spec.environment,
        owners: spec.owners,
        viewers: spec.viewers,
        network,
        identity,
        clusters: access.clusters,
    })
}

/// The step.
pub async fn hand_off<R: Registry, B: EventBus>(
    registry: &R,
    bus: &B,
    record: &TenantRecord,
    execution: &str,
) -> Result<(), StepError> {
    let tenant = &record.tenant_id;
    let text = serde_json::to_string(record)
        .map_err(|e| StepError::Internal(format!("the tenant record does not encode: {e}")))?;
    let mut entry = registry
        .get(tenant)
        .await?
        .unwrap_or_else(|| RegistryEntry::new(tenant.clone(), record.request_id.clone()));
    entry.request_id = record.request_id.clone();
    entry.status = TenantStatus::Ready;
    entry.account_id = Some(record.account.id.clone());
    entry.failure = None;
    entry.record = Some(text);
    registry.put(&entry).await?;
    bus.put("TenantReady", &vending_domain::steps::encode(record)?)
        .await?;
    registry.release(tenant, execution).await?;
    tracing::info!(tenant = %tenant, account = %record.account.id, "tenant handed off");
    Ok(())
}

/// The Lambda payload to the step's JSON result (the record).
pub async fn handle<R: Registry, B: EventBus>(
    registry: &R,
    bus: &B,
    config: &PlatformConfig,
    payload: Value,
) -> Result<Value, StepError> {
    let input: Input = vending_domain::steps::decode(payload)?;
    let execution = input.execution_name.clone();
    let record = tenant_record(config, input)?;
    hand_off(registry, bus, &record, &execution).await?;
    vending_domain::steps::encode(&record)
}
