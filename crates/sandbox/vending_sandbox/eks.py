"""EKS access entries and access-policy associations, which moto does not serve (404): kept per
account, region, cluster and principal, in the EKS REST-JSON wire format."""

import datetime
import json
import urllib.parse

from werkzeug.wrappers import Response

from . import state, wire

ACCESS_ENTRIES = {}  # (account, region, cluster, principal) -> entry
ASSOCIATIONS = {}  # (account, region, cluster, principal) -> {policyArn: association}


def _now():
    return datetime.datetime.now(datetime.UTC).timestamp()


def operation(request):
    """(operation, cluster, principal, policy) for an access-entry path, else None."""
    # The raw URI keeps %2F inside principal ARNs; the decoded path would split them.
    parts = [urllib.parse.unquote(p) for p in wire.raw_path(request).strip("/").split("/")]
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
            return (
                "AssociateAccessPolicy" if m == "POST" else "ListAssociatedAccessPolicies",
                cluster,
                principal,
                None,
            )
        return ("DisassociateAccessPolicy", cluster, principal, parts[5])
    return None


def cluster_operation(request):
    """The EKS cluster operation a REST path names (for the record and authorization)."""
    parts = [p for p in wire.raw_path(request).strip("/").split("/") if p]
    m = request.method
    if parts[:1] != ["clusters"]:
        return None
    if len(parts) == 1:
        return "CreateCluster" if m == "POST" else "ListClusters"
    if len(parts) == 2:
        return {"GET": "DescribeCluster", "DELETE": "DeleteCluster"}.get(m)
    return None


def _entry_json(account, region, cluster, principal, e):
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


def _ok(doc):
    return Response(json.dumps(doc), content_type="application/json")


def handle(call, account, cluster, principal, policy):
    from moto.eks.models import eks_backends

    region = call.region
    if cluster not in eks_backends[account][region].clusters:
        return wire.error(call, 404, "ResourceNotFoundException", f"No cluster found for name: {cluster}.")
    body = call.params
    op = call.operation
    with state.LOCK:
        if op == "CreateAccessEntry":
            principal = body.get("principalArn", "")
            k = (account, region, cluster, principal)
            if k in ACCESS_ENTRIES:
                return wire.error(
                    call,
                    409,
                    "ResourceInUseException",
                    "The specified access entry resource is already in use on this cluster.",
                )
            ts = _now()
            ACCESS_ENTRIES[k] = {
                "id": f"{len(ACCESS_ENTRIES) + 1:08x}",
                "kubernetesGroups": body.get("kubernetesGroups", []),
                "tags": body.get("tags", {}),
                "username": body.get("username") or principal,
                "type": body.get("type", "STANDARD"),
                "createdAt": ts,
                "modifiedAt": ts,
            }
            return _ok({"accessEntry": _entry_json(account, region, cluster, principal, ACCESS_ENTRIES[k])})
        if op == "ListAccessEntries":
            arns = sorted(p for (a, r, c, p) in ACCESS_ENTRIES if (a, r, c) == (account, region, cluster))
            return _ok({"accessEntries": arns})
        k = (account, region, cluster, principal)
        if k not in ACCESS_ENTRIES:
            return wire.error(
                call,
                404,
                "ResourceNotFoundException",
                "The specified principalArn could not be found. "
                "You can view your available access entries with 'list-access-entries'.",
            )
        e = ACCESS_ENTRIES[k]
        if op == "DescribeAccessEntry":
            return _ok({"accessEntry": _entry_json(account, region, cluster, principal, e)})
        if op == "UpdateAccessEntry":
            if "kubernetesGroups" in body:
                e["kubernetesGroups"] = body["kubernetesGroups"]
            e["modifiedAt"] = _now()
            return _ok({"accessEntry": _entry_json(account, region, cluster, principal, e)})
        if op == "DeleteAccessEntry":
            del ACCESS_ENTRIES[k]
            ASSOCIATIONS.pop(k, None)
            return _ok({})
        assoc = ASSOCIATIONS.setdefault(k, {})
        if op == "AssociateAccessPolicy":
            ts = _now()
            prev = assoc.get(body["policyArn"])
            assoc[body["policyArn"]] = {
                "policyArn": body["policyArn"],
                "accessScope": body.get("accessScope", {"type": "cluster"}),
                "associatedAt": prev["associatedAt"] if prev else ts,
                "modifiedAt": ts,
            }
            return _ok(
                {"clusterName": cluster, "principalArn": principal, "associatedAccessPolicy": assoc[body["policyArn"]]}
            )
        if op == "ListAssociatedAccessPolicies":
            return _ok(
                {"clusterName": cluster, "principalArn": principal, "associatedAccessPolicies": list(assoc.values())}
            )
        if op == "DisassociateAccessPolicy":
            if policy not in assoc:
                return wire.error(
                    call, 404, "ResourceNotFoundException", f"The access policy {policy} is not associated."
                )
            assoc.pop(policy, None)
            return _ok({})
    return wire.unknown_operation(call, "not an access-entry operation")
