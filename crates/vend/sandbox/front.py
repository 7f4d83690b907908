"""The local AWS sandbox: moto, plus what the vending workflow needs and moto lacks.

Runs moto's server application in this process behind a small front that
- serves EKS access entries and access-policy associations (moto answers 404), statefully and in
  the EKS REST-JSON wire format;
- makes Organizations account creation take a few polls: CreateAccount answers IN_PROGRESS and
  DescribeCreateAccountStatus keeps answering IN_PROGRESS for the first N polls of a request;
- shares transit gateways across accounts as RAM does inside an organization: moto keeps a
  transit gateway in its owner's account only, so a tenant account's VPC attachment to the
  network account's gateway would fail; here the attachment is made in the tenant account, is
  visible to the gateway's owner too (which associates it with its route tables), and the
  gateway becomes visible to the tenant account (for routes that target it);
- loads the AWS-managed IAM policies, so tenant roles can attach them;
- injects faults on request: POST /_sandbox/faults {"operation": "...", "code": "...",
  "status": 400, "count": 1} makes the next `count` calls of that operation fail with that AWS
  error code; DELETE /_sandbox/faults clears them;
- reports GET /_sandbox/health.

Usage: python front.py --host 127.0.0.1 --port PORT [--account-polls N]
"""

import argparse
import datetime
import json
import os
import threading
import urllib.parse

from moto.moto_server.threaded_moto_server import DomainDispatcherApplication, MotoRequestHandler
from moto.server import create_backend_app
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

LOCK = threading.Lock()
ACCESS_ENTRIES = {}  # (account, region, cluster, principal) -> entry
ASSOCIATIONS = {}  # (account, region, cluster, principal) -> {policyArn: association}
POLLS = {}  # create-account request id -> polls answered so far
FAULTS = []  # [{"operation", "code", "status", "count", "message"}]


def now():
    return datetime.datetime.now(datetime.timezone.utc).timestamp()


def credential_scope(request):
    """(access key, region, service) from the SigV4 Authorization header."""
    auth = request.headers.get("Authorization", "")
    try:
        cred = auth.split("Credential=")[1].split(",")[0]
        key, _date, region, service, _ = cred.split("/")
        return key, region, service
    except (IndexError, ValueError):
        return "", "us-east-1", ""


def account_of(access_key):
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key)


def json_error(status, code, message, rest=False):
    body = {"message": message}
    if not rest:
        body["__type"] = code
    headers = {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.1"}
    return Response(json.dumps(body), status=status, headers=headers)


def xml_error(status, code, message):
    body = (
        f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
        "<RequestID>sandbox</RequestID></Response>"
    )
    return Response(body, status=status, content_type="text/xml")


def operation_of(request, service):
    """The operation name: X-Amz-Target for JSON protocols, Action for query protocols."""
    target = request.headers.get("X-Amz-Target")
    if target:
        return target.split(".")[-1]
    action = request.args.get("Action")
    if action:
        return action
    if request.method == "POST" and request.content_type and "form" in request.content_type:
        form = urllib.parse.parse_qs(request.get_data(as_text=True))
        return form.get("Action", [""])[0]
    return ""


def eks_operation(request):
    """The EKS access-entry operation a REST path names, with its parameters."""
    # The raw URI keeps %2F inside principal ARNs; the decoded path would split them.
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.path
    raw = raw.split("?", 1)[0]
    parts = [urllib.parse.unquote(p) for p in raw.strip("/").split("/")]
    if len(parts) < 3 or parts[0] != "clusters" or parts[2] != "access-entries":
        return None
    cluster = parts[1]
    m = request.method
    if len(parts) == 3:
        return ("CreateAccessEntry" if m == "POST" else "ListAccessEntries", cluster, None, None)
    principal = parts[3]
    if len(parts) == 4:
        op = {"GET": "DescribeAccessEntry", "DELETE": "DeleteAccessEntry", "POST": "UpdateAccessEntry"}.get(m)
        return (op, cluster, principal, None)
    if len(parts) >= 5 and parts[4] == "access-policies":
        if len(parts) == 5:
            return ("AssociateAccessPolicy" if m == "POST" else "ListAssociatedAccessPolicies", cluster, principal, None)
        return ("DisassociateAccessPolicy", cluster, principal, parts[5])
    return None


def take_fault(operation):
    with LOCK:
        for f in FAULTS:
            if f["operation"] == operation and f["count"] > 0:
                f["count"] -= 1
                return dict(f)
    return None


def entry_json(account, region, cluster, principal, e):
    return {
        "clusterName": cluster,
        "principalArn": principal,
        "kubernetesGroups": e["kubernetesGroups"],
        "accessEntryArn": f"arn:aws:eks:{region}:{account}:access-entry/{cluster}/{e['id']}",
        "createdAt": e["createdAt"],
        "modifiedAt": e["modifiedAt"],
        "tags": e["tags"],
        "username": e["username"],
        "type": e["type"],
    }


def handle_eks(request, op, cluster, principal, policy):
    key, region, _ = credential_scope(request)
    account = account_of(key)
    from moto.eks.models import eks_backends

    if cluster not in eks_backends[account][region].clusters:
        return json_error(404, "ResourceNotFoundException", f"No cluster found for name: {cluster}.", rest=True)
    body = json.loads(request.get_data(as_text=True) or "{}")
    with LOCK:
        if op == "CreateAccessEntry":
            principal = body.get("principalArn", "")
            k = (account, region, cluster, principal)
            if k in ACCESS_ENTRIES:
                return json_error(409, "ResourceInUseException", f"The specified access entry resource is already in use on this cluster.", rest=True)
            ts = now()
            ACCESS_ENTRIES[k] = {
                "id": f"{len(ACCESS_ENTRIES) + 1:08x}",
                "kubernetesGroups": body.get("kubernetesGroups", []),
                "tags": body.get("tags", {}),
                "username": body.get("username") or principal,
                "type": body.get("type", "STANDARD"),
                "createdAt": ts,
                "modifiedAt": ts,
            }
            return Response(json.dumps({"accessEntry": entry_json(account, region, cluster, principal, ACCESS_ENTRIES[k])}), content_type="application/json")
        if op == "ListAccessEntries":
            arns = sorted(p for (a, r, c, p) in ACCESS_ENTRIES if (a, r, c) == (account, region, cluster))
            return Response(json.dumps({"accessEntries": arns}), content_type="application/json")
        k = (account, region, cluster, principal)
        if k not in ACCESS_ENTRIES:
            return json_error(404, "ResourceNotFoundException", f"The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.", rest=True)
        e = ACCESS_ENTRIES[k]
        if op == "DescribeAccessEntry":
            return Response(json.dumps({"accessEntry": entry_json(account, region, cluster, principal, e)}), content_type="application/json")
        if op == "UpdateAccessEntry":
            if "kubernetesGroups" in body:
                e["kubernetesGroups"] = body["kubernetesGroups"]
            e["modifiedAt"] = now()
            return Response(json.dumps({"accessEntry": entry_json(account, region, cluster, principal, e)}), content_type="application/json")
        if op == "DeleteAccessEntry":
            del ACCESS_ENTRIES[k]
            ASSOCIATIONS.pop(k, None)
            return Response("{}", content_type="application/json")
        assoc = ASSOCIATIONS.setdefault(k, {})
        if op == "AssociateAccessPolicy":
            ts = now()
            prev = assoc.get(body["policyArn"])
            assoc[body["policyArn"]] = {
                "policyArn": body["policyArn"],
                "accessScope": body.get("accessScope", {"type": "cluster"}),
                "associatedAt": prev["associatedAt"] if prev else ts,
                "modifiedAt": ts,
            }
            out = {"clusterName": cluster, "principalArn": principal, "associatedAccessPolicy": assoc[body["policyArn"]]}
            return Response(json.dumps(out), content_type="application/json")
        if op == "ListAssociatedAccessPolicies":
            out = {"clusterName": cluster, "principalArn": principal, "associatedAccessPolicies": list(assoc.values())}
            return Response(json.dumps(out), content_type="application/json")
        if op == "DisassociateAccessPolicy":
            assoc.pop(policy, None)
            return Response("{}", content_type="application/json")
    return json_error(400, "InvalidRequestException", f"unsupported operation {op}", rest=True)


def share_transit_gateways():
    """Makes VPC attachments to another account's transit gateway work (see the module doc)."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.transit_gateway_attachments import (
        TransitGatewayAttachmentBackend,
        TransitGatewayVpcAttachment,
    )

    own = TransitGatewayAttachmentBackend.create_transit_gateway_vpc_attachment

    def owner_of(region, transit_gateway_id):
        for account in list(ec2_backends.keys()):
            backend = ec2_backends[account][region]
            if transit_gateway_id in backend.transit_gateways:
                return backend
        return None

    def create(self, transit_gateway_id, vpc_id, subnet_ids, tags=None, options=None):
        owner = None
        if transit_gateway_id not in self.transit_gateways:
            owner = owner_of(self.region_name, transit_gateway_id)
        if owner is None or owner is self:
            return own(self, transit_gateway_id, vpc_id, subnet_ids, tags=tags, options=options)
        gateway = owner.transit_gateways[transit_gateway_id]
        with LOCK:
            attachment = TransitGatewayVpcAttachment(
                self, transit_gateway=gateway, tags=tags, vpc_id=vpc_id, subnet_ids=subnet_ids, options=options
            )
            # The shared gateway is visible in the tenant account, the attachment in both.
            self.transit_gateways[transit_gateway_id] = gateway
            self.transit_gateway_attachments[attachment.id] = attachment
            owner.transit_gateway_attachments[attachment.id] = attachment
            owner.set_route_table_association(attachment.id, gateway.default_route_table.id)
        return attachment

    TransitGatewayAttachmentBackend.create_transit_gateway_vpc_attachment = create


class Front:
    def __init__(self, moto_app, account_polls):
        self.moto = moto_app
        self.account_polls = account_polls

    def __call__(self, environ, start_response):
        request = Request(environ)
        # Read the body once and put it back, so moto can read it again.
        data = request.get_data(cache=True)
        environ["wsgi.input"] = __import__("io").BytesIO(data)
        response = self.dispatch(request, environ)
        if response is None:
            return self.moto(environ, start_response)
        return response(environ, start_response)

    def dispatch(self, request, environ):
        if request.path.startswith("/_sandbox/"):
            return self.control(request)
        _, _, service = credential_scope(request)
        eks = eks_operation(request) if service == "eks" else None
        operation = eks[0] if eks else operation_of(request, service)
        fault = take_fault(operation) if operation else None
        if fault:
            if service in ("ec2", "iam", "sts"):
                return xml_error(fault["status"], fault["code"], fault["message"])
            return json_error(fault["status"], fault["code"], fault["message"], rest=service == "eks")
        if eks:
            return handle_eks(request, *eks)
        if service == "organizations" and operation in ("CreateAccount", "DescribeCreateAccountStatus"):
            return self.slow_account(request, environ, operation)
        return None

    def slow_account(self, request, environ, operation):
        """Calls moto, then reports IN_PROGRESS until the request has been polled enough."""
        captured = {}

        def start(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        body = b"".join(self.moto(environ, start))
        status = int(captured["status"].split()[0])
        if status != 200:
            return Response(body, status=status, headers=captured["headers"])
        doc = json.loads(body)
        st = doc.get("CreateAccountStatus", {})
        rid = st.get("Id")
        with LOCK:
            polls = POLLS.setdefault(rid, 0)
            if operation == "DescribeCreateAccountStatus":
                POLLS[rid] = polls + 1
        if operation == "CreateAccount" or polls < self.account_polls:
            st["State"] = "IN_PROGRESS"
            st.pop("AccountId", None)
            st.pop("CompletedTimestamp", None)
        return Response(json.dumps(doc), status=200, content_type="application/x-amz-json-1.1")

    def control(self, request):
        if request.path == "/_sandbox/health":
            return Response('{"status": "ok"}', content_type="application/json")
        if request.path == "/_sandbox/faults":
            with LOCK:
                if request.method == "DELETE":
                    FAULTS.clear()
                elif request.method == "POST":
                    f = json.loads(request.get_data(as_text=True))
                    FAULTS.append(
                        {
                            "operation": f["operation"],
                            "code": f.get("code", "InternalFailure"),
                            "status": int(f.get("status", 500)),
                            "count": int(f.get("count", 1)),
                            "message": f.get("message", "fault injected by the sandbox"),
                        }
                    )
                return Response(json.dumps(FAULTS), content_type="application/json")
        return Response('{"message": "unknown sandbox path"}', status=404, content_type="application/json")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--account-polls", type=int, default=2)
    args = parser.parse_args()
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    share_transit_gateways()
    moto_app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, Front(moto_app, args.account_polls), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
