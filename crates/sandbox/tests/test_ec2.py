"""EC2 as the workflow meets it: shared transit gateways, attachments that take a while, a new
account's first moments, deleting what is gone."""

import pytest
from botocore.exceptions import ClientError


def network(sandbox):
    org = sandbox.organization()
    net = sandbox.member_account(org, "network")["AccountId"]
    tenant = sandbox.member_account(org, "tenant")["AccountId"]
    net_ec2 = sandbox.client("ec2", sandbox.assume(f"arn:aws:iam::{net}:role/OrganizationAccountAccessRole"))
    tgw = net_ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    tenant_ec2 = sandbox.client("ec2", sandbox.assume(f"arn:aws:iam::{tenant}:role/OrganizationAccountAccessRole"))
    vpc = tenant_ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = tenant_ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.0.0/24")["Subnet"]["SubnetId"]
    return net_ec2, tenant_ec2, tgw, vpc, subnet


def test_an_attachment_to_a_shared_gateway_is_pending_for_some_reads(sandbox):
    sandbox.control("/_sandbox/config", {"attachmentReads": 2})
    net_ec2, ec2, tgw, vpc, subnet = network(sandbox)
    att = ec2.create_transit_gateway_vpc_attachment(TransitGatewayId=tgw, VpcId=vpc, SubnetIds=[subnet])
    attachment = att["TransitGatewayVpcAttachment"]
    assert attachment["State"] == "pending"
    states = [
        ec2.describe_transit_gateway_vpc_attachments()["TransitGatewayVpcAttachments"][0]["State"] for _ in range(3)
    ]
    assert states == ["pending", "pending", "available"]
    seen = net_ec2.describe_transit_gateway_vpc_attachments()["TransitGatewayVpcAttachments"]
    assert [a["TransitGatewayAttachmentId"] for a in seen] == [attachment["TransitGatewayAttachmentId"]]


def test_deleting_a_deleted_attachment_is_not_found(sandbox):
    _, ec2, tgw, vpc, subnet = network(sandbox)
    att = ec2.create_transit_gateway_vpc_attachment(TransitGatewayId=tgw, VpcId=vpc, SubnetIds=[subnet])
    aid = att["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=aid)
    with pytest.raises(ClientError) as refused:
        ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=aid)
    assert refused.value.response["Error"]["Code"] == "InvalidTransitGatewayAttachmentID.NotFound"


def test_a_new_accounts_ec2_needs_a_moment(sandbox):
    org = sandbox.organization()
    sandbox.control("/_sandbox/config", {"ec2OptInCalls": 1})
    fresh = sandbox.member_account(org, "fresh")["AccountId"]
    ec2 = sandbox.client("ec2", sandbox.assume(f"arn:aws:iam::{fresh}:role/OrganizationAccountAccessRole"))
    with pytest.raises(ClientError) as refused:
        ec2.describe_vpcs()
    assert refused.value.response["Error"]["Code"] == "OptInRequired"
    ec2.describe_vpcs()
