//! The HandOff step: the tenant record (version 1, stable bytes) gets its generation from the
//! registry's previous record, is rendered as Capsule manifests and checked, and is written
//! through the configured GitOps destination (one commit, or nothing when the bytes are
//! unchanged). Only then does the registry go READY with the record and `TenantReady`
//! announce it. Last, the execution gives the tenant's lease back.
//!
//! A retry after a failure half-way converges: the destination already holds the bytes (no
//! second commit), the registry write and the event are repeated; consumers see events at
//! least once, as EventBridge delivers them anyway.

use vending_domain::ports::{EventBus, ManifestDestination, Registry, RegistryEntry, TenantStatus};
use vending_domain::steps::{HandOffInput, HandedOff};
use vending_domain::{PlatformConfig, StepError, TenantRecord};

/// The record the steps' results make, at generation 1 (`with_generation_after` sets it).
pub fn tenant_record(
    config: &PlatformConfig,
    input: HandOffInput,
) -> Result<TenantRecord, StepError> {
    let HandOffInput {
        spec,
        account_id,
        network,
        identity,
        teams,
        access,
        ..
    } = input;
    TenantRecord::assemble(config, spec, account_id, network, identity, &teams, access)
}

/// The step: generation, render, destination, registry, event, lease.
pub async fn hand_off<R: Registry, B: EventBus, D: ManifestDestination>(
    registry: &R,
    bus: &B,
    destination: &D,
    root: &str,
    record: TenantRecord,
    execution: &str,
) -> Result<HandedOff, StepError> {
    let tenant = record.tenant_id.clone();
    let entry = registry.get(&tenant).await?;
    // The generation continues from the record handed off before: one of an older shape
    // continues from its generation (it differs, so one more); one that cannot be read at all
    // is an error, not a fresh start, which the destination would refuse or take as older.
    let record = match entry.as_ref().and_then(|e| e.record.as_deref()) {
        None => record.with_generation_after(None),
        Some(text) => match serde_json::from_str::<TenantRecord>(text) {
            Ok(previous) => record.with_generation_after(Some(&previous)),
            Err(e) => match vending_domain::ports::stored_generation(text.as_bytes()) {
                Some(held) => TenantRecord {
                    generation: held + 1,
                    ..record
                },
                None => {
                    return Err(StepError::Internal(format!(
                        "the registry's previous record of {tenant} cannot be read ({e}): fix or remove it before handing the tenant off again"
                    )));
                }
            },
        },
    };
    let bundle = tenant_manifests::bundle(&record, root).map_err(|e| match e {
        tenant_manifests::RenderError::Invalid(errs) => StepError::InvalidRequest(errs),
        other => StepError::Internal(other.to_string()),
    })?;
    let publication = destination.publish(&bundle).await?;
    let text = String::from_utf8(bundle.record.bytes.clone())
        .map_err(|e| StepError::Internal(format!("the tenant record is not UTF-8: {e}")))?;
    let mut entry =
        entry.unwrap_or_else(|| RegistryEntry::new(tenant.clone(), record.request_id.clone()));
    entry.request_id = record.request_id.clone();
    entry.environment = Some(record.environment.clone());
    entry.status = TenantStatus::Ready;
    entry.account_id = Some(record.account.id.clone());
    entry.failure = None;
    entry.record = Some(text);
    registry.put(&entry).await?;
    bus.put("TenantReady", &vending_domain::steps::encode(&record)?)
        .await?;
    registry.release(&tenant, execution).await?;
    tracing::info!(tenant = %tenant, account = %record.account.id, generation = record.generation, "tenant handed off");
    Ok(HandedOff {
        record,
        publication,
    })
}

/// The step on its typed input (`vending_domain::steps::HandOff`): the record and what the
/// destination did.
pub async fn handle<R: Registry, B: EventBus, D: ManifestDestination>(
    registry: &R,
    bus: &B,
    destination: &D,
    config: &PlatformConfig,
    input: HandOffInput,
) -> Result<HandedOff, StepError> {
    let execution = input.execution_name.clone();
    let record = tenant_record(config, input)?;
    hand_off(
        registry,
        bus,
        destination,
        config.gitops.root(),
        record,
        &execution,
    )
    .await
}
