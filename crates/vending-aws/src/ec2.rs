//! EC2 behind the `TenantNetwork` port (a tenant account's VPC) and the `TransitGatewayHub`
//! port (the network account's transit gateway route table).
//!
//! Every lookup goes by the `vending:tenant` tag or by a stored id before anything is created,
//! so each `ensure_*` call can run any number of times.

use crate::classify::{ThrottlingOnly, classify, throttled_create_retries};
use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::operation::create_subnet::CreateSubnetError;
use aws_sdk_ec2::operation::create_transit_gateway_vpc_attachment::CreateTransitGatewayVpcAttachmentError;
use aws_sdk_ec2::operation::create_vpc::CreateVpcError;
use aws_sdk_ec2::types::{
    Filter, FlowLogsResourceType, LogDestinationType, ResourceType, RouteTable, Tag,
    TagSpecification, TrafficType, TransitGatewayAttachmentState, TransitGatewayVpcAttachment, Vpc,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use vending_domain::ports::{Ensured, TenantNetwork, TransitGatewayHub, VpcInfo, VpcState};
use vending_domain::request::TENANT_TAG;
use vending_domain::{Ipv4Cidr, StepError};

/// The `TenantNetwork` port on an EC2 client of one tenant account and region.
#[derive(Debug, Clone)]
pub struct Ec2Network {
    client: Client,
}

impl Ec2Network {
    /// Wraps a client (built from the tenant account's assumed-role configuration).
    pub fn new(client: Client) -> Ec2Network {
        Ec2Network { client }
    }
}

/// The `TransitGatewayHub` port on an EC2 client of the network account.
#[derive(Debug, Clone)]
pub struct Ec2Hub {
    client: Client,
}

impl Ec2Hub {
    /// Wraps a client (built from the network account's assumed-role configuration).
    pub fn new(client: Client) -> Ec2Hub {
        Ec2Hub { client }
    }
}

fn filter(name: &str, values: &[&str]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.iter().map(|v| (*v).to_owned()).collect()))
        .build()
}

fn tag_spec(resource: ResourceType, tags: &BTreeMap<String, String>) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

fn tenant_of(tags: &BTreeMap<String, String>) -> Result<&str, StepError> {
    tags.get(TENANT_TAG)
        .map(String::as_str)
        .ok_or_else(|| StepError::Internal(format!("tags without {TENANT_TAG}")))
}

fn parse_cidr(text: Option<&str>, what: &str) -> Result<Ipv4Cidr, StepError> {
    text.unwrap_or_default()
        .parse()
        .map_err(|e| StepError::Internal(format!("{what} has an unreadable CIDR: {e}")))
}

/// The configuration of a create call that takes no client token: the SDK retries it only when
/// it was throttled (refused unprocessed), never after another error, or an answer lost after
/// the resource was made would make a second one. The workflow's Retry re-runs the step
/// instead, which finds the first by its tags (written with the creation).
fn once<E>() -> aws_sdk_ec2::config::Builder
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    aws_sdk_ec2::config::Builder::default()
        .retry_config(throttled_create_retries())
        .retry_classifier(ThrottlingOnly::<E>::new())
}

/// The client token of a VPC's flow log to a destination: the same for a retry of the same
/// call, another when the destination changes (EC2 answers a reused token with the first
/// call's flow log).
pub(crate) fn flow_log_token(vpc_id: &str, destination: &str) -> String {
    let digest = Sha256::digest(destination.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("flow-logs-{vpc_id}-{hex}")
}

/// Transit gateway attachment states in which the attachment still exists.
const LIVE_ATTACHMENT: &[&str] = &[
    "initiating",
    "initiatingRequest",
    "pendingAcceptance",
    "pending",
    "modifying",
    "available",
];

impl Ec2Network {
    /// The tenant's VPC, found by its `vending:tenant` tag.
    async fn find_tenant_vpc(&self, tenant: &str) -> Result<Option<Vpc>, StepError> {
        let out = self
            .client
            .describe_vpcs()
            .filters(filter(&format!("tag:{TENANT_TAG}"), &[tenant]))
            .send()
            .await
            .map_err(|e| classify("DescribeVpcs", &e))?;
        Ok(out.vpcs().first().cloned())
    }

    /// The VPC's attachments to the transit gateway that still exist (not deleting or gone).
    async fn live_attachments(
        &self,
        vpc_id: &str,
        transit_gateway_id: &str,
    ) -> Result<Vec<TransitGatewayVpcAttachment>, StepError> {
        let out = self
            .client
            .describe_transit_gateway_vpc_attachments()
            .filters(filter("vpc-id", &[vpc_id]))
            .filters(filter("transit-gateway-id", &[transit_gateway_id]))
            .filters(filter("state", LIVE_ATTACHMENT))
            .send()
            .await
            .map_err(|e| classify("DescribeTransitGatewayVpcAttachments", &e))?;
        Ok(out.transit_gateway_vpc_attachments().to_vec())
    }

    /// The VPC's main route table, with its routes, if it has one yet.
    async fn find_main_route_table(&self, vpc_id: &str) -> Result<Option<RouteTable>, StepError> {
        let out = self
            .client
            .describe_route_tables()
            .filters(filter("vpc-id", &[vpc_id]))
            .filters(filter("association.main", &["true"]))
            .send()
            .await
            .map_err(|e| classify("DescribeRouteTables", &e))?;
        Ok(out.route_tables().first().cloned())
    }

    async fn main_route_table(&self, vpc_id: &str) -> Result<String, StepError> {
        self.find_main_route_table(vpc_id)
            .await?
            .and_then(|t| t.route_table_id().map(str::to_owned))
            .ok_or_else(|| StepError::NotReady(format!("VPC {vpc_id} has no main route table yet")))
    }

    /// Brings an existing resource's tags to `wanted`: adds and changes with CreateTags,
    /// removes what is no longer asked for with DeleteTags (never `aws:` tags, which are AWS's
    /// own and refused). A tenant's resources carry only the service's tags, so a tag the
    /// request dropped goes from them as from its roles.
    async fn retag(
        &self,
        resource_id: &str,
        current: &[Tag],
        wanted: &BTreeMap<String, String>,
    ) -> Result<(), StepError> {
        let held: BTreeMap<&str, &str> = current
            .iter()
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
            .collect();
        let set: Vec<Tag> = wanted
            .iter()
            .filter(|(k, v)| held.get(k.as_str()) != Some(&v.as_str()))
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        let unset: Vec<Tag> = held
            .keys()
            .filter(|k| !wanted.contains_key(**k) && !k.starts_with("aws:"))
            .map(|k| Tag::builder().key(*k).build())
            .collect();
        if !set.is_empty() {
            self.client
                .create_tags()
                .resources(resource_id)
                .set_tags(Some(set))
                .send()
                .await
                .map_err(|e| classify("CreateTags", &e))?;
        }
        if !unset.is_empty() {
            tracing::info!(
                resource = resource_id,
                removed = unset.len(),
                "removed tags the request no longer asks for"
            );
            self.client
                .delete_tags()
                .resources(resource_id)
                .set_tags(Some(unset))
                .send()
                .await
                .map_err(|e| classify("DeleteTags", &e))?;
        }
        Ok(())
    }
}

impl TenantNetwork for Ec2Network {
    async fn ensure_vpc(
        &self,
        cidr: Ipv4Cidr,
        tags: &BTreeMap<String, String>,
    ) -> Result<VpcInfo, StepError> {
        let tenant = tenant_of(tags)?;
        let mut named = tags.clone();
        named.insert("Name".into(), tenant.to_owned());
        if let Some(vpc) = self.find_tenant_vpc(tenant).await? {
            let id = vpc.vpc_id().unwrap_or_default().to_owned();
            let existing = parse_cidr(vpc.cidr_block(), &id)?;
            if existing != cidr {
                return Err(StepError::Conflict(format!(
                    "VPC {id} of tenant {tenant} has {existing}, but the registry claimed {cidr}"
                )));
            }
            self.retag(&id, vpc.tags(), &named).await?;
            let main_route_table_id = self.main_route_table(&id).await?;
            return Ok(VpcInfo {
                id,
                cidr,
                main_route_table_id,
                created: false,
            });
        }
        let out = self
            .client
            .create_vpc()
            .cidr_block(cidr.to_string())
            .tag_specifications(tag_spec(ResourceType::Vpc, &named))
            .customize()
            .config_override(once::<CreateVpcError>())
            .send()
            .await
            .map_err(|e| classify("CreateVpc", &e))?;
        let id = out
            .vpc()
            .and_then(|v| v.vpc_id())
            .unwrap_or_default()
            .to_owned();
        // No waiting here: a VPC whose main route table is not there yet is `NotReady`, and
        // the workflow's Retry comes back for it.
        tracing::info!(tenant, vpc = %id, %cidr, "created the tenant VPC");
        let main_route_table_id = self.main_route_table(&id).await?;
        Ok(VpcInfo {
            id,
            cidr,
            main_route_table_id,
            created: true,
        })
    }

    async fn detach_from_transit_gateway(
        &self,
        tenant: &str,
        transit_gateway_id: &str,
    ) -> Result<Vec<String>, StepError> {
        let Some(vpc) = self.find_tenant_vpc(tenant).await? else {
            return Ok(Vec::new());
        };
        let vpc_id = vpc.vpc_id().unwrap_or_default();
        let mut removed = Vec::new();
        // Routes first: a route through an attachment that is going would blackhole.
        if let Some(table) = self.find_main_route_table(vpc_id).await? {
            let table_id = table.route_table_id().unwrap_or_default();
            for route in table.routes() {
                if route.transit_gateway_id() != Some(transit_gateway_id) {
                    continue;
                }
                let Some(destination) = route.destination_cidr_block() else {
                    continue;
                };
                match self
                    .client
                    .delete_route()
                    .route_table_id(table_id)
                    .destination_cidr_block(destination)
                    .send()
                    .await
                {
                    Ok(_) => removed.push(destination.to_owned()),
                    // Gone meanwhile (a re-run racing an earlier one).
                    Err(e) if e.code() == Some("InvalidRoute.NotFound") => {}
                    Err(e) => return Err(classify("DeleteRoute", &e)),
                }
            }
        }
        for a in self.live_attachments(vpc_id, transit_gateway_id).await? {
            let id = a.transit_gateway_attachment_id().unwrap_or_default();
            match self
                .client
                .delete_transit_gateway_vpc_attachment()
                .transit_gateway_attachment_id(id)
                .send()
                .await
            {
                Ok(_) => removed.push(id.to_owned()),
                Err(e) if e.code() == Some("InvalidTransitGatewayAttachmentID.NotFound") => {}
                Err(e) => return Err(classify("DeleteTransitGatewayVpcAttachment", &e)),
            }
        }
        Ok(removed)
    }

    async fn tenant_vpc(&self, tenant: &str) -> Result<Option<VpcState>, StepError> {
        let Some(vpc) = self.find_tenant_vpc(tenant).await? else {
            return Ok(None);
        };
        let id = vpc.vpc_id().unwrap_or_default().to_owned();
        let attachments = self
            .client
            .describe_transit_gateway_vpc_attachments()
            .filters(filter("vpc-id", &[&id]))
            .filters(filter("state", LIVE_ATTACHMENT))
            .send()
            .await
            .map_err(|e| classify("DescribeTransitGatewayVpcAttachments", &e))?;
        let table = self.find_main_route_table(&id).await?;
        Ok(Some(VpcState {
            cidr: vpc.cidr_block().unwrap_or_default().to_owned(),
            attachments: attachments
                .transit_gateway_vpc_attachments()
                .iter()
                .map(|a| {
                    (
                        a.transit_gateway_attachment_id()
                            .unwrap_or_default()
                            .to_owned(),
                        a.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                    )
                })
                .collect(),
            routes_to_transit_gateway: table
                .iter()
                .flat_map(|t| t.routes())
                .filter(|r| r.transit_gateway_id().is_some())
                .filter_map(|r| r.destination_cidr_block().map(str::to_owned))
                .collect(),
            id,
        }))
    }

    async fn availability_zones(&self) -> Result<Vec<String>, StepError> {
        let out = self
            .client
            .describe_availability_zones()
            .filters(filter("state", &["available"]))
            .filters(filter("zone-type", &["availability-zone"]))
            .send()
            .await
            .map_err(|e| classify("DescribeAvailabilityZones", &e))?;
        let mut zones: Vec<String> = out
            .availability_zones()
            .iter()
            .filter_map(|z| z.zone_name().map(str::to_owned))
            .collect();
        zones.sort();
        Ok(zones)
    }

    async fn ensure_subnet(
        &self,
        vpc_id: &str,
        zone: &str,
        cidr: Ipv4Cidr,
        tags: &BTreeMap<String, String>,
    ) -> Result<Ensured, StepError> {
        let block = cidr.to_string();
        let mut named = tags.clone();
        named.insert("Name".into(), format!("{}-{zone}", tenant_of(tags)?));
        let out = self
            .client
            .describe_subnets()
            .filters(filter("vpc-id", &[vpc_id]))
            .filters(filter("cidr-block", &[&block]))
            .send()
            .await
            .map_err(|e| classify("DescribeSubnets", &e))?;
        if let Some(subnet) = out.subnets().first() {
            let id = subnet.subnet_id().unwrap_or_default().to_owned();
            if subnet.availability_zone() != Some(zone) {
                return Err(StepError::Conflict(format!(
                    "subnet {id} ({block}) is in {}, not {zone}",
                    subnet.availability_zone().unwrap_or("no zone")
                )));
            }
            self.retag(&id, subnet.tags(), &named).await?;
            return Ok(Ensured { id, created: false });
        }
        let out = self
            .client
            .create_subnet()
            .vpc_id(vpc_id)
            .availability_zone(zone)
            .cidr_block(&block)
            .tag_specifications(tag_spec(ResourceType::Subnet, &named))
            .customize()
            .config_override(once::<CreateSubnetError>())
            .send()
            .await
            .map_err(|e| {
                // A subnet of that block exists that the describe did not see yet (a lost
                // answer, another run): the next attempt's describe finds it.
                if e.code() == Some("InvalidSubnet.Conflict") {
                    StepError::NotReady(format!("subnet {block} of {vpc_id} created meanwhile"))
                } else {
                    classify("CreateSubnet", &e)
                }
            })?;
        let id = out
            .subnet()
            .and_then(|s| s.subnet_id())
            .unwrap_or_default()
            .to_owned();
        Ok(Ensured { id, created: true })
    }

    async fn ensure_transit_gateway_attachment(
        &self,
        transit_gateway_id: &str,
        vpc_id: &str,
        subnet_ids: &[String],
        tags: &BTreeMap<String, String>,
    ) -> Result<Ensured, StepError> {
        let live = self.live_attachments(vpc_id, transit_gateway_id).await?;
        let (id, state, created) = match live.first() {
            Some(a) => {
                let id = a.transit_gateway_attachment_id().unwrap_or_default();
                self.retag(id, a.tags(), tags).await?;
                (id.to_owned(), a.state().cloned(), false)
            }
            None => {
                let out = self
                    .client
                    .create_transit_gateway_vpc_attachment()
                    .transit_gateway_id(transit_gateway_id)
                    .vpc_id(vpc_id)
                    .set_subnet_ids(Some(subnet_ids.to_vec()))
                    .tag_specifications(tag_spec(ResourceType::TransitGatewayAttachment, tags))
                    .customize()
                    .config_override(once::<CreateTransitGatewayVpcAttachmentError>())
                    .send()
                    .await
                    .map_err(|e| {
                        // An attachment this call did not see exists: the SDK retried a create
                        // that had succeeded, or another run got there first. The next attempt's
                        // describe finds it.
                        if e.code() == Some("DuplicateTransitGatewayAttachment") {
                            StepError::NotReady(format!(
                                "transit gateway attachment of {vpc_id} created meanwhile"
                            ))
                        } else {
                            classify("CreateTransitGatewayVpcAttachment", &e)
                        }
                    })?;
                let a = out.transit_gateway_vpc_attachment();
                (
                    a.and_then(|a| a.transit_gateway_attachment_id())
                        .unwrap_or_default()
                        .to_owned(),
                    a.and_then(|a| a.state()).cloned(),
                    true,
                )
            }
        };
        match state {
            Some(TransitGatewayAttachmentState::Available) => Ok(Ensured { id, created }),
            other => Err(StepError::NotReady(format!(
                "transit gateway attachment {id} of {vpc_id} is {}",
                other.as_ref().map_or("in no state", |s| s.as_str())
            ))),
        }
    }

    async fn ensure_route_to_transit_gateway(
        &self,
        route_table_id: &str,
        destination: Ipv4Cidr,
        transit_gateway_id: &str,
    ) -> Result<bool, StepError> {
        let dest = destination.to_string();
        let out = self
            .client
            .describe_route_tables()
            .route_table_ids(route_table_id)
            .send()
            .await
            .map_err(|e| classify("DescribeRouteTables", &e))?;
        let existing = out
            .route_tables()
            .iter()
            .flat_map(|t| t.routes())
            .find(|r| r.destination_cidr_block() == Some(dest.as_str()));
        if let Some(route) = existing {
            return match route.transit_gateway_id() {
                Some(t) if t == transit_gateway_id => Ok(false),
                _ => Err(StepError::Conflict(format!(
                    "route table {route_table_id} already routes {dest} elsewhere"
                ))),
            };
        }
        self.client
            .create_route()
            .route_table_id(route_table_id)
            .destination_cidr_block(&dest)
            .transit_gateway_id(transit_gateway_id)
            .send()
            .await
            .map_err(|e| classify("CreateRoute", &e))?;
        Ok(true)
    }

    async fn ensure_flow_logs(
        &self,
        vpc_id: &str,
        bucket_arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<Ensured, StepError> {
        let out = self
            .client
            .describe_flow_logs()
            .filter(filter("resource-id", &[vpc_id]))
            .send()
            .await
            .map_err(|e| classify("DescribeFlowLogs", &e))?;
        if let Some(log) = out
            .flow_logs()
            .iter()
            .find(|l| l.log_destination() == Some(bucket_arn))
        {
            return Ok(Ensured {
                id: log.flow_log_id().unwrap_or_default().to_owned(),
                created: false,
            });
        }
        let out = self
            .client
            .create_flow_logs()
            .resource_type(FlowLogsResourceType::Vpc)
            .resource_ids(vpc_id)
            .traffic_type(TrafficType::All)
            .log_destination_type(LogDestinationType::S3)
            .log_destination(bucket_arn)
            // One flow log per VPC and destination: a retried call returns the first one.
            .client_token(flow_log_token(vpc_id, bucket_arn))
            .tag_specifications(tag_spec(ResourceType::VpcFlowLog, tags))
            .send()
            .await
            .map_err(|e| classify("CreateFlowLogs", &e))?;
        if let Some(failed) = out.unsuccessful().first() {
            let detail = failed.error().map_or_else(String::new, |e| {
                format!(
                    "{}: {}",
                    e.code().unwrap_or_default(),
                    e.message().unwrap_or_default()
                )
            });
            return Err(StepError::Internal(format!(
                "CreateFlowLogs for {vpc_id} to {bucket_arn} failed: {detail}"
            )));
        }
        let id = out.flow_log_ids().first().cloned().ok_or_else(|| {
            StepError::Internal(format!("CreateFlowLogs for {vpc_id} returned no id"))
        })?;
        Ok(Ensured { id, created: true })
    }

    async fn remove_default_vpcs(&self) -> Result<Vec<String>, StepError> {
        let out = self
            .client
            .describe_vpcs()
            .filters(filter("is-default", &["true"]))
            .send()
            .await
            .map_err(|e| classify("DescribeVpcs", &e))?;
        let mut removed = Vec::new();
        for vpc in out.vpcs() {
            let vpc_id = vpc.vpc_id().unwrap_or_default();
            let gateways = self
                .client
                .describe_internet_gateways()
                .filters(filter("attachment.vpc-id", &[vpc_id]))
                .send()
                .await
                .map_err(|e| classify("DescribeInternetGateways", &e))?;
            for igw in gateways.internet_gateways() {
                let igw_id = igw.internet_gateway_id().unwrap_or_default();
                gone(
                    self.client
                        .detach_internet_gateway()
                        .internet_gateway_id(igw_id)
                        .vpc_id(vpc_id)
                        .send()
                        .await,
                    "DetachInternetGateway",
                )?;
                gone(
                    self.client
                        .delete_internet_gateway()
                        .internet_gateway_id(igw_id)
                        .send()
                        .await,
                    "DeleteInternetGateway",
                )?;
            }
            let subnets = self
                .client
                .describe_subnets()
                .filters(filter("vpc-id", &[vpc_id]))
                .send()
                .await
                .map_err(|e| classify("DescribeSubnets", &e))?;
            for subnet in subnets.subnets() {
                gone(
                    self.client
                        .delete_subnet()
                        .subnet_id(subnet.subnet_id().unwrap_or_default())
                        .send()
                        .await,
                    "DeleteSubnet",
                )?;
            }
            gone(
                self.client.delete_vpc().vpc_id(vpc_id).send().await,
                "DeleteVpc",
            )?;
            removed.push(vpc_id.to_owned());
        }
        Ok(removed)
    }
}

/// A delete or detach whose target is already gone (a concurrent run got there first) has
/// done its job.
fn gone<T, E>(
    result: Result<T, aws_sdk_ec2::error::SdkError<E, aws_smithy_runtime_api::http::Response>>,
    operation: &str,
) -> Result<(), StepError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e)
            if e.code()
                .is_some_and(|c| c.ends_with(".NotFound") || c == "Gateway.NotAttached") =>
        {
            Ok(())
        }
        Err(e) => Err(classify(operation, &e)),
    }
}

impl TransitGatewayHub for Ec2Hub {
    async fn ensure_routing(
        &self,
        attachment_id: &str,
        route_table_id: &str,
    ) -> Result<bool, StepError> {
        let mut changed = false;
        let associations = self
            .client
            .get_transit_gateway_route_table_associations()
            .transit_gateway_route_table_id(route_table_id)
            .filters(filter("transit-gateway-attachment-id", &[attachment_id]))
            .send()
            .await
            .map_err(|e| classify("GetTransitGatewayRouteTableAssociations", &e))?;
        if associations.associations().is_empty() {
            let result = self
                .client
                .associate_transit_gateway_route_table()
                .transit_gateway_attachment_id(attachment_id)
                .transit_gateway_route_table_id(route_table_id)
                .send()
                .await;
            match result {
                Ok(_) => changed = true,
                // Associated with another table (the gateway's default one): move it. AWS
                // disassociates asynchronously, so the retry associates.
                Err(e) if e.code() == Some("Resource.AlreadyAssociated") => {
                    self.disassociate_elsewhere(attachment_id, route_table_id)
                        .await?;
                    return Err(StepError::NotReady(format!(
                        "attachment {attachment_id} is leaving its previous route table"
                    )));
                }
                Err(e) if e.code() == Some("IncorrectState") => {
                    return Err(StepError::NotReady(format!(
                        "attachment {attachment_id} cannot be associated yet"
                    )));
                }
                Err(e) => return Err(classify("AssociateTransitGatewayRouteTable", &e)),
            }
        }
        let propagations = self
            .client
            .get_transit_gateway_route_table_propagations()
            .transit_gateway_route_table_id(route_table_id)
            .filters(filter("transit-gateway-attachment-id", &[attachment_id]))
            .send()
            .await
            .map_err(|e| classify("GetTransitGatewayRouteTablePropagations", &e))?;
        if propagations
            .transit_gateway_route_table_propagations()
            .is_empty()
        {
            self.client
                .enable_transit_gateway_route_table_propagation()
                .transit_gateway_attachment_id(attachment_id)
                .transit_gateway_route_table_id(route_table_id)
                .send()
                .await
                .map_err(|e| classify("EnableTransitGatewayRouteTablePropagation", &e))?;
            changed = true;
        }
        if changed {
            tracing::info!(attachment = %attachment_id, route_table = %route_table_id, "routed the attachment");
        }
        Ok(changed)
    }
}

impl Ec2Hub {
    async fn disassociate_elsewhere(
        &self,
        attachment_id: &str,
        route_table_id: &str,
    ) -> Result<(), StepError> {
        let out = self
            .client
            .describe_transit_gateway_attachments()
            .transit_gateway_attachment_ids(attachment_id)
            .send()
            .await
            .map_err(|e| classify("DescribeTransitGatewayAttachments", &e))?;
        let current = out
            .transit_gateway_attachments()
            .first()
            .and_then(|a| a.association())
            .and_then(|a| a.transit_gateway_route_table_id())
            .filter(|t| *t != route_table_id);
        if let Some(other) = current {
            self.client
                .disassociate_transit_gateway_route_table()
                .transit_gateway_attachment_id(attachment_id)
                .transit_gateway_route_table_id(other)
                .send()
                .await
                .map_err(|e| classify("DisassociateTransitGatewayRouteTable", &e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::operation::create_route::CreateRouteOutput;
    use aws_sdk_ec2::operation::describe_route_tables::DescribeRouteTablesOutput;
    use aws_sdk_ec2::types::{Route, RouteTable};
    use aws_smithy_mocks::{RuleMode, mock};

    fn table(routes: Vec<Route>) -> DescribeRouteTablesOutput {
        DescribeRouteTablesOutput::builder()
            .route_tables(
                RouteTable::builder()
                    .route_table_id("rtb-1")
                    .set_routes(Some(routes))
                    .build(),
            )
            .build()
    }

    #[tokio::test]
    async fn a_route_that_exists_is_not_created_again_and_a_foreign_one_is_a_conflict() {
        let dest: Ipv4Cidr = "10.0.0.0/8".parse().expect("cidr");
        let ours = mock!(Client::describe_route_tables).then_output(|| {
            table(vec![
                Route::builder()
                    .destination_cidr_block("10.0.0.0/8")
                    .transit_gateway_id("tgw-1")
                    .build(),
            ])
        });
        let theirs = mock!(Client::describe_route_tables).then_output(|| {
            table(vec![
                Route::builder()
                    .destination_cidr_block("10.0.0.0/8")
                    .gateway_id("igw-1")
                    .build(),
            ])
        });
        let none = mock!(Client::describe_route_tables).then_output(|| table(vec![]));
        let create = mock!(Client::create_route)
            .match_requests(|r| {
                r.transit_gateway_id() == Some("tgw-1")
                    && r.destination_cidr_block() == Some("10.0.0.0/8")
            })
            .then_output(|| CreateRouteOutput::builder().r#return(true).build());
        let client = mock_client!(
            aws_sdk_ec2,
            RuleMode::Sequential,
            [&ours, &theirs, &none, &create]
        );
        let net = Ec2Network::new(client);
        let first = net.ensure_route_to_transit_gateway("rtb-1", dest, "tgw-1");
        assert_eq!(first.await, Ok(false));
        let second = net.ensure_route_to_transit_gateway("rtb-1", dest, "tgw-1");
        assert!(matches!(second.await, Err(StepError::Conflict(_))));
        let third = net.ensure_route_to_transit_gateway("rtb-1", dest, "tgw-1");
        assert_eq!(third.await, Ok(true));
        assert_eq!(create.num_calls(), 1);
    }

    #[test]
    fn a_flow_log_token_is_the_same_for_a_retry_and_another_for_another_destination() {
        let a = flow_log_token("vpc-0123456789abcdef0", "arn:aws:s3:::logs-a");
        assert_eq!(
            a,
            flow_log_token("vpc-0123456789abcdef0", "arn:aws:s3:::logs-a")
        );
        assert_ne!(
            a,
            flow_log_token("vpc-0123456789abcdef0", "arn:aws:s3:::logs-b")
        );
        assert!(
            a.len() <= 64,
            "EC2 takes tokens of at most 64 characters: {a}"
        );
    }

    #[tokio::test]
    async fn an_attachment_created_meanwhile_is_not_ready_rather_than_an_internal_error() {
        use aws_sdk_ec2::error::ErrorMetadata;
        use aws_sdk_ec2::operation::create_transit_gateway_vpc_attachment::CreateTransitGatewayVpcAttachmentError;
        use aws_sdk_ec2::operation::describe_transit_gateway_vpc_attachments::DescribeTransitGatewayVpcAttachmentsOutput;
        let none = mock!(Client::describe_transit_gateway_vpc_attachments)
            .then_output(|| DescribeTransitGatewayVpcAttachmentsOutput::builder().build());
        let duplicate = mock!(Client::create_transit_gateway_vpc_attachment).then_error(|| {
            CreateTransitGatewayVpcAttachmentError::generic(
                ErrorMetadata::builder()
                    .code("DuplicateTransitGatewayAttachment")
                    .message("tgw-1 has non-deleted Transit Gateway Attachments with same VPC ID.")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&none, &duplicate]);
        let net = Ec2Network::new(client);
        let subnets = ["subnet-1".to_owned()];
        let result = net
            .ensure_transit_gateway_attachment("tgw-1", "vpc-1", &subnets, &BTreeMap::new())
            .await;
        assert!(matches!(result, Err(StepError::NotReady(_))), "{result:?}");
        assert_eq!(duplicate.num_calls(), 1);
    }
}
