//! Fakes of EC2 in a tenant account and of the network account's transit gateway hub.

use super::{Calls, lock};
use crate::cidr::Ipv4Cidr;
use crate::error::StepError;
use crate::ports::{Ensured, TenantNetwork, TransitGatewayHub, VpcInfo, VpcState};
use crate::request::TENANT_TAG;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct NetworkState {
    /// VPCs: id -> (cidr, tags).
    vpcs: BTreeMap<String, (Ipv4Cidr, BTreeMap<String, String>)>,
    /// Subnets: (vpc, cidr) -> (id, zone).
    subnets: BTreeMap<(String, Ipv4Cidr), (String, String)>,
    /// Attachments: vpc -> (id, reads left while pending).
    attachments: BTreeMap<String, (String, u32)>,
    /// Routes: (route table, destination) -> transit gateway.
    routes: BTreeMap<(String, Ipv4Cidr), String>,
    /// Flow logs: (vpc, bucket) -> id.
    flow_logs: BTreeMap<(String, String), String>,
    /// Default VPCs left.
    default_vpcs: u32,
    next: u32,
}

/// EC2 of one tenant account and region, in memory. Clones share state, as every handle to
/// one account's EC2 does. New attachments stay pending for `attachment_reads` reads.
#[derive(Debug, Clone)]
pub struct FakeNetwork {
    state: Arc<Mutex<NetworkState>>,
    zones: Vec<String>,
    attachment_reads: u32,
    /// Calls made, and failures to answer with.
    pub calls: Arc<Calls>,
}

impl Default for FakeNetwork {
    fn default() -> FakeNetwork {
        FakeNetwork::new(&["eu-west-1a", "eu-west-1b", "eu-west-1c"], 0)
    }
}

impl FakeNetwork {
    /// A region with these zones and one default VPC.
    pub fn new(zones: &[&str], attachment_reads: u32) -> FakeNetwork {
        FakeNetwork {
            state: Arc::new(Mutex::new(NetworkState {
                default_vpcs: 1,
                ..NetworkState::default()
            })),
            zones: zones.iter().map(|z| (*z).to_owned()).collect(),
            attachment_reads,
            calls: Arc::new(Calls::default()),
        }
    }

    /// How many VPCs, subnets, attachments, routes and flow logs exist, for assertions.
    pub fn counts(&self) -> [usize; 5] {
        let s = lock(&self.state);
        [
            s.vpcs.len(),
            s.subnets.len(),
            s.attachments.len(),
            s.routes.len(),
            s.flow_logs.len(),
        ]
    }

    /// How many default VPCs are left.
    pub fn default_vpcs(&self) -> u32 {
        lock(&self.state).default_vpcs
    }

    fn id(state: &mut NetworkState, prefix: &str) -> String {
        state.next += 1;
        format!("{prefix}-{:017x}", state.next)
    }
}

impl TenantNetwork for FakeNetwork {
    async fn ensure_vpc(
        &self,
        cidr: Ipv4Cidr,
        tags: &BTreeMap<String, String>,
    ) -> Result<VpcInfo, StepError> {
        self.calls.enter("DescribeVpcs")?;
        let s = lock(&self.state);
        let tenant = tags.get(TENANT_TAG);
        if let Some((id, (existing, _))) = s
            .vpcs
            .iter()
            .find(|(_, (_, t))| t.get(TENANT_TAG) == tenant)
        {
            if *existing != cidr {
                return Err(StepError::Conflict(format!(
                    "VPC {id} has {existing}, but the registry claimed {cidr}"
                )));
            }
            return Ok(VpcInfo {
                id: id.clone(),
                cidr,
                main_route_table_id: format!("rtb-of-{id}"),
                created: false,
            });
        }
        drop(s);
        self.calls.enter("CreateVpc")?;
        let mut s = lock(&self.state);
        let id = FakeNetwork::id(&mut s, "vpc");
        s.vpcs.insert(id.clone(), (cidr, tags.clone()));
        Ok(VpcInfo {
            main_route_table_id: format!("rtb-of-{id}"),
            id,
            cidr,
            created: true,
        })
    }

    async fn availability_zones(&self) -> Result<Vec<String>, StepError> {
        self.calls.enter("DescribeAvailabilityZones")?;
        Ok(self.zones.clone())
    }

    async fn ensure_subnet(
        &self,
        vpc_id: &str,
        zone: &str,
        cidr: Ipv4Cidr,
        _tags: &BTreeMap<String, String>,
    ) -> Result<Ensured, StepError> {
        self.calls.enter("DescribeSubnets")?;
        let key = (vpc_id.to_owned(), cidr);
        if let Some((id, _)) = lock(&self.state).subnets.get(&key) {
            return Ok(Ensured {
                id: id.clone(),
                created: false,
            });
        }
        self.calls.enter("CreateSubnet")?;
        let mut s = lock(&self.state);
        let id = FakeNetwork::id(&mut s, "subnet");
        s.subnets.insert(key, (id.clone(), zone.to_owned()));
        Ok(Ensured { id, created: true })
    }

    async fn ensure_transit_gateway_attachment(
        &self,
        _transit_gateway_id: &str,
        vpc_id: &str,
        _subnet_ids: &[String],
        _tags: &BTreeMap<String, String>,
    ) -> Result<Ensured, StepError> {
        self.calls.enter("DescribeTransitGatewayVpcAttachments")?;
        let mut s = lock(&self.state);
        let (id, created) = match s.attachments.get(vpc_id) {
            Some((id, _)) => (id.clone(), false),
            None => {
                drop(s);
                self.calls.enter("CreateTransitGatewayVpcAttachment")?;
                s = lock(&self.state);
                let id = FakeNetwork::id(&mut s, "tgw-attach");
                s.attachments
                    .insert(vpc_id.to_owned(), (id.clone(), self.attachment_reads));
                (id, true)
            }
        };
        let pending = s.attachments.get_mut(vpc_id).map(|(_, left)| left);
        match pending {
            Some(left) if *left > 0 => {
                *left -= 1;
                Err(StepError::NotReady(format!(
                    "transit gateway attachment {id} is pending"
                )))
            }
            _ => Ok(Ensured { id, created }),
        }
    }

    async fn ensure_route_to_transit_gateway(
        &self,
        route_table_id: &str,
        destination: Ipv4Cidr,
        transit_gateway_id: &str,
    ) -> Result<bool, StepError> {
        self.calls.enter("DescribeRouteTables")?;
        let key = (route_table_id.to_owned(), destination);
        let mut s = lock(&self.state);
        match s.routes.get(&key) {
            Some(t) if t == transit_gateway_id => Ok(false),
            Some(_) => Err(StepError::Conflict(format!(
                "route table {route_table_id} already routes {destination} elsewhere"
            ))),
            None => {
                s.routes.insert(key, transit_gateway_id.to_owned());
                Ok(true)
            }
        }
    }

    async fn ensure_flow_logs(
        &self,
        vpc_id: &str,
        bucket_arn: &str,
        _tags: &BTreeMap<String, String>,
    ) -> Result<Ensured, StepError> {
        self.calls.enter("DescribeFlowLogs")?;
        let key = (vpc_id.to_owned(), bucket_arn.to_owned());
        let mut s = lock(&self.state);
        if let Some(id) = s.flow_logs.get(&key) {
            return Ok(Ensured {
                id: id.clone(),
                created: false,
            });
        }
        let id = FakeNetwork::id(&mut s, "fl");
        s.flow_logs.insert(key, id.clone());
        Ok(Ensured { id, created: true })
    }

    async fn remove_default_vpcs(&self) -> Result<Vec<String>, StepError> {
        self.calls.enter("DescribeVpcs")?;
        let mut s = lock(&self.state);
        let removed = (0..s.default_vpcs)
            .map(|i| format!("vpc-default{i}"))
            .collect();
        s.default_vpcs = 0;
        Ok(removed)
    }

    async fn detach_from_transit_gateway(
        &self,
        tenant: &str,
        transit_gateway_id: &str,
    ) -> Result<Vec<String>, StepError> {
        self.calls.enter("DeleteTransitGatewayVpcAttachment")?;
        let mut s = lock(&self.state);
        let Some(vpc) = s
            .vpcs
            .iter()
            .find(|(_, (_, t))| t.get(TENANT_TAG).map(String::as_str) == Some(tenant))
            .map(|(id, _)| id.clone())
        else {
            return Ok(Vec::new());
        };
        let table = format!("rtb-of-{vpc}");
        let mut removed: Vec<String> = Vec::new();
        s.routes.retain(|(t, d), gw| {
            let through = *t == table && gw == transit_gateway_id;
            if through {
                removed.push(d.to_string());
            }
            !through
        });
        if let Some((id, _)) = s.attachments.remove(&vpc) {
            removed.push(id);
        }
        Ok(removed)
    }

    async fn tenant_vpc(&self, tenant: &str) -> Result<Option<VpcState>, StepError> {
        self.calls.enter("DescribeVpcs")?;
        let s = lock(&self.state);
        let Some((id, (cidr, _))) = s
            .vpcs
            .iter()
            .find(|(_, (_, t))| t.get(TENANT_TAG).map(String::as_str) == Some(tenant))
        else {
            return Ok(None);
        };
        let table = format!("rtb-of-{id}");
        Ok(Some(VpcState {
            id: id.clone(),
            cidr: cidr.to_string(),
            attachments: s
                .attachments
                .get(id)
                .map(|(a, left)| {
                    let state = if *left > 0 { "pending" } else { "available" };
                    vec![(a.clone(), state.to_owned())]
                })
                .unwrap_or_default(),
            routes_to_transit_gateway: s
                .routes
                .keys()
                .filter(|(t, _)| *t == table)
                .map(|(_, d)| d.to_string())
                .collect(),
        }))
    }
}

/// The network account's route table, in memory: which attachments are associated and
/// propagate.
#[derive(Debug, Clone, Default)]
pub struct FakeHub {
    routed: Arc<Mutex<BTreeMap<String, String>>>,
    /// Calls made, and failures to answer with.
    pub calls: Arc<Calls>,
}

impl FakeHub {
    /// The route table each attachment is routed in.
    pub fn routed(&self) -> BTreeMap<String, String> {
        lock(&self.routed).clone()
    }
}

impl TransitGatewayHub for FakeHub {
    async fn ensure_routing(
        &self,
        attachment_id: &str,
        route_table_id: &str,
    ) -> Result<bool, StepError> {
        self.calls
            .enter("GetTransitGatewayRouteTableAssociations")?;
        let mut routed = lock(&self.routed);
        let changed = routed.get(attachment_id).map(String::as_str) != Some(route_table_id);
        routed.insert(attachment_id.to_owned(), route_table_id.to_owned());
        Ok(changed)
    }
}
