//! The ProvisionNetwork step: the tenant's VPC, in the tenant account's home region.
//!
//! The VPC block is claimed in the registry (a conditional write per piece of the pool) before
//! the VPC is made, and saved in the tenant's entry, so a re-run finds the same block. Then:
//! the VPC (found by its `vending:tenant` tag), one subnet per configured availability zone,
//! the transit gateway attachment (the gateway is the network account's, shared through RAM),
//! the attachment's association and propagation in the network account's route table, routes
//! from the VPC to the transit gateway, flow logs to the central bucket, and no default VPC in
//! any configured region.

use vending_domain::ports::{Accounts, Claim, Registry, TenantNetwork, TransitGatewayHub};
use vending_domain::steps::{AccountInput, NetworkRecord, SubnetRecord};
use vending_domain::telemetry::{self, Metric};
use vending_domain::{Ipv4Cidr, PlatformConfig, StepError, TenantSpec};

/// How many times a claim is retried when another tenant takes the block first.
const CLAIM_ATTEMPTS: usize = 10;

/// The tenant's VPC block: the one its registry entry holds, or a newly claimed one.
pub async fn claim_block<R: Registry>(
    registry: &R,
    config: &PlatformConfig,
    spec: &TenantSpec,
) -> Result<Ipv4Cidr, StepError> {
    let tenant = &spec.tenant_id;
    let mut entry = registry.get(tenant).await?.ok_or_else(|| {
        StepError::Internal(format!(
            "{tenant} has no registry entry (EnsureAccount makes it)"
        ))
    })?;
    if let Some(cidr) = entry.cidr {
        return Ok(cidr);
    }
    let pool = &config.network.pool;
    let unit = pool.max_prefix_length;
    for _ in 0..CLAIM_ATTEMPTS {
        let taken: Vec<Ipv4Cidr> = registry
            .claimed_cidrs()
            .await?
            .into_iter()
            .filter(|(_, owner)| owner != tenant)
            .map(|(cidr, _)| cidr)
            .collect();
        let candidate = pool
            .first_free(tenant, spec.prefix_length, &taken)
            .ok_or_else(|| {
                StepError::QuotaExceeded(format!(
                    "the pool {} has no free /{} left",
                    pool.cidr, spec.prefix_length
                ))
            })?;
        let claimed = match registry.claim_cidr(candidate, unit, tenant).await {
            // Another claim held one of the pieces at that moment: look again.
            Err(StepError::ConcurrentModification(why)) => {
                tracing::info!(tenant = %tenant, cidr = %candidate, why, "claim collided; trying again");
                continue;
            }
            other => other?,
        };
        match claimed {
            Claim::Claimed => {
                entry.cidr = Some(candidate);
                registry.put(&entry).await?;
                let mut held = taken;
                held.push(candidate);
                let free = pool.free_blocks(&held);
                telemetry::emit(Metric::count(
                    "CidrPoolFreeBlocks",
                    usize::try_from(free).unwrap_or(usize::MAX),
                    &[],
                ));
                tracing::info!(tenant = %tenant, cidr = %candidate, free_blocks = free, "claimed the VPC block");
                return Ok(candidate);
            }
            Claim::TakenBy(other) => {
                tracing::info!(tenant = %tenant, cidr = %candidate, other = %other, "block taken meanwhile; trying the next");
            }
        }
    }
    Err(StepError::ConcurrentModification(format!(
        "{CLAIM_ATTEMPTS} blocks in a row were taken by other tenants while {tenant} claimed one"
    )))
}

/// The step.
pub async fn provision_network<A: Accounts, R: Registry>(
    accounts: &A,
    registry: &R,
    config: &PlatformConfig,
    spec: &TenantSpec,
    account_id: &str,
    session: &str,
) -> Result<NetworkRecord, StepError> {
    let n = &config.network;
    let cidr = claim_block(registry, config, spec).await?;
    let tags = spec.all_tags();
    let net = accounts
        .network(account_id, &config.region, session)
        .await?;
    let vpc = net.ensure_vpc(cidr, &tags).await?;

    let zones = net.availability_zones().await?;
    let wanted = usize::from(n.availability_zones);
    if zones.len() < wanted {
        return Err(StepError::QuotaExceeded(format!(
            "{} has {} availability zones; the config asks for {wanted}",
            config.region,
            zones.len()
        )));
    }
    let subnet_prefix = cidr.prefix() + n.subnet_prefix_delta;
    let mut subnets = Vec::with_capacity(wanted);
    for (zone, block) in zones.iter().take(wanted).zip(cidr.split(subnet_prefix)) {
        let subnet = net.ensure_subnet(&vpc.id, zone, block, &tags).await?;
        subnets.push(SubnetRecord {
            id: subnet.id,
            zone: zone.clone(),
            cidr: block,
        });
    }
    let subnet_ids: Vec<String> = subnets.iter().map(|s| s.id.clone()).collect();

    let attachment = net
        .ensure_transit_gateway_attachment(&n.transit_gateway_id, &vpc.id, &subnet_ids, &tags)
        .await?;
    let hub = accounts.hub(&n.account_id, &config.region, session).await?;
    hub.ensure_routing(&attachment.id, &n.transit_gateway_route_table_id)
        .await?;
    for destination in &n.routes_to_transit_gateway {
        net.ensure_route_to_transit_gateway(
            &vpc.main_route_table_id,
            *destination,
            &n.transit_gateway_id,
        )
        .await?;
    }
    let flow_log = net
        .ensure_flow_logs(&vpc.id, &n.flow_logs_bucket_arn, &tags)
        .await?;

    for region in &config.regions {
        // The home region's handle exists already; assume the role again only for the others.
        let removed = if *region == config.region {
            net.remove_default_vpcs().await?
        } else {
            let regional = accounts.network(account_id, region, session).await?;
            regional.remove_default_vpcs().await?
        };
        for removed in removed {
            tracing::info!(tenant = %spec.tenant_id, region = %region, vpc = %removed, "removed a default VPC");
        }
    }
    tracing::info!(tenant = %spec.tenant_id, vpc = %vpc.id, %cidr, attachment = %attachment.id, "network provisioned");
    Ok(NetworkRecord {
        region: config.region.clone(),
        vpc_id: vpc.id,
        cidr,
        subnets,
        transit_gateway_id: n.transit_gateway_id.clone(),
        transit_gateway_attachment_id: attachment.id,
        routes_to_transit_gateway: n.routes_to_transit_gateway.clone(),
        flow_log_id: flow_log.id,
    })
}

/// The step on its typed input (`vending_domain::steps::ProvisionNetwork`).
pub async fn handle<A: Accounts, R: Registry>(
    accounts: &A,
    registry: &R,
    config: &PlatformConfig,
    input: AccountInput,
) -> Result<NetworkRecord, StepError> {
    provision_network(
        accounts,
        registry,
        config,
        &input.spec,
        &input.account_id,
        &input.execution_name,
    )
    .await
}
