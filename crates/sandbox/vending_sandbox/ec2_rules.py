"""EC2 where the workflow needs more than moto gives:
- transit gateways shared across the organization's accounts, as RAM shares them: moto keeps a
  gateway in its owner's account only, so a tenant account's VPC attachment to the network
  account's gateway would fail. Here the attachment is made in the tenant account, is visible
  to the gateway's owner too (which associates it with its route tables), and the gateway
  becomes visible to the tenant account (for routes that target it);
- a new attachment stays `pending` for a configurable number of reads, as AWS takes a while;
- deleting an attachment that is gone is InvalidTransitGatewayAttachmentID.NotFound (moto
  answers a 500).
"""

from . import state

READS = {}  # attachment id -> describe calls that saw it pending
_INSTALLED = []


def _owner_of(region, transit_gateway_id):
    from moto.ec2.models import ec2_backends

    for account in list(ec2_backends.keys()):
        backend = ec2_backends[account][region]
        if transit_gateway_id in backend.transit_gateways:
            return backend
    return None


def install():
    """Patches moto's EC2 backend (once per process)."""
    if _INSTALLED:
        return
    _INSTALLED.append(True)
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.transit_gateway_attachments import (
        TransitGatewayAttachmentBackend,
        TransitGatewayVpcAttachment,
    )

    own_create = TransitGatewayAttachmentBackend.create_transit_gateway_vpc_attachment
    own_delete = TransitGatewayAttachmentBackend.delete_transit_gateway_vpc_attachment

    def create(self, transit_gateway_id, vpc_id, subnet_ids, tags=None, options=None):
        owner = None
        if transit_gateway_id not in self.transit_gateways:
            owner = _owner_of(self.region_name, transit_gateway_id)
        if owner is None or owner is self:
            attachment = own_create(self, transit_gateway_id, vpc_id, subnet_ids, tags=tags, options=options)
        else:
            gateway = owner.transit_gateways[transit_gateway_id]
            with state.LOCK:
                if any(
                    a.resource_id == vpc_id and a.transit_gateway_id == transit_gateway_id
                    for a in self.transit_gateway_attachments.values()
                ):
                    raise EC2ClientError(
                        "DuplicateTransitGatewayAttachment",
                        f"{transit_gateway_id} has non-deleted Transit Gateway Attachments with same VPC ID.",
                    )
                attachment = TransitGatewayVpcAttachment(
                    self, transit_gateway=gateway, tags=tags, vpc_id=vpc_id, subnet_ids=subnet_ids, options=options
                )
                # The shared gateway is visible in the tenant account, the attachment in both.
                self.transit_gateways[transit_gateway_id] = gateway
                self.transit_gateway_attachments[attachment.id] = attachment
                owner.transit_gateway_attachments[attachment.id] = attachment
                owner.set_route_table_association(attachment.id, gateway.default_route_table.id)
        if state.CONFIG["attachmentReads"] > 0:
            with state.LOCK:
                attachment.state = "pending"
                READS[attachment.id] = 0
        return attachment

    def delete(self, transit_gateway_attachment_id):
        if transit_gateway_attachment_id not in self.transit_gateway_attachments:
            raise EC2ClientError(
                "InvalidTransitGatewayAttachmentID.NotFound",
                f"Transit Gateway Attachment {transit_gateway_attachment_id} was deleted or does not exist.",
            )
        attachment = own_delete(self, transit_gateway_attachment_id)
        owner = _owner_of(self.region_name, attachment.transit_gateway_id)
        if owner is not None and owner is not self:
            owner.transit_gateway_attachments.pop(transit_gateway_attachment_id, None)
        return attachment

    TransitGatewayAttachmentBackend.create_transit_gateway_vpc_attachment = create
    TransitGatewayAttachmentBackend.delete_transit_gateway_vpc_attachment = delete


def read_attachments(account, region):
    """A describe of attachments from `account`: pending ones get one read closer to available."""
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[account][region]
    with state.LOCK:
        for attachment in list(backend.transit_gateway_attachments.values()):
            if attachment.id in READS and attachment.state == "pending":
                READS[attachment.id] += 1
                if READS[attachment.id] > state.CONFIG["attachmentReads"]:
                    attachment.state = "available"
