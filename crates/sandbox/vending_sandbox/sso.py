"""IAM Identity Center's account assignments as AWS serves them, where moto is kinder:
- CreateAccountAssignment is asynchronous: it answers IN_PROGRESS with a request id, and
  DescribeAccountAssignmentCreationStatus says IN_PROGRESS for `assignmentPolls` polls before
  SUCCEEDED; ListAccountAssignments lists the assignment only once it has succeeded (moto
  lists it, SUCCEEDED, at once);
- asking again for an assignment that exists (or is being made) makes no second one: the new
  request succeeds with nothing more (moto appends a duplicate);
- a permission set the instance does not have is refused at once (ResourceNotFoundException);
- a succeeded assignment provisions its permission set in the account, as IAM Identity Center
  does: a role `AWSReservedSSO_<permission set>_<16 hex>` under the path
  `/aws-reserved/sso.amazonaws.com/<region>/` (no region part for an instance in us-east-1),
  with the permission set's AWS managed policies, made once per permission set and account;
- a permission set is what AWS answers: its ARN is `arn:aws:sso:::permissionSet/<instance
  id>/ps-<id>` (moto writes `instance/` there) and its session duration an ISO 8601 duration
  (`PT1H`; moto answers a number, which the AWS SDKs refuse to read);
- deleting an assignment (DeleteAccountAssignment, whose status reads IN_PROGRESS then
  SUCCEEDED like a creation's) deletes the permission set's role with the set's last
  assignment in the account, and the next assignment makes a role with a new suffix (IAM
  Identity Center User Guide, "Referencing permission sets"; moto keeps nothing of either);
- in a member account IAM Identity Center makes the permission set's role with its
  service-linked role, but in the management account "all operations happen using the
  credentials of the IAM principal" (IAM Identity Center User Guide, "Understanding
  service-linked roles"): there the assignment FAILS, with IAM's refusal as its reason, unless
  the caller may iam:CreateRole and iam:AttachRolePolicy on the role (moto never asks).
"""

import datetime
import hashlib
import json
import uuid

from . import authz, state, wire

PENDING = {}  # request id -> {"polls", "assignment", "region", "account"}
DONE = {}  # request id -> status document of a request that has ended
REMOVED = {}  # (account, permission set ARN) -> how many times its role was deleted


def _backend(account, region):
    from moto.ssoadmin.models import ssoadmin_backends

    return ssoadmin_backends[account][region]


def _json(doc):
    from werkzeug.wrappers import Response

    return Response(json.dumps(doc), status=200, content_type="application/x-amz-json-1.1")


def _now():
    return datetime.datetime.now(datetime.UTC).timestamp()


KEY_FIELDS = ("TargetId", "TargetType", "PermissionSetArn", "PrincipalType", "PrincipalId")


def _key(fields):
    return tuple(fields.get(k) for k in KEY_FIELDS)


def _status(request_id, fields, status, created):
    doc = {k: fields.get(k) for k in KEY_FIELDS}
    doc.update({"Status": status, "RequestId": request_id, "CreatedDate": created})
    return doc


def create_account_assignment(call, caller, forward):
    backend = _backend(caller.account, call.region)
    params = call.params
    permission_set = next(
        (
            p
            for p in backend.permission_sets
            if p.permission_set_arn == params.get("PermissionSetArn") and p.instance_arn == params.get("InstanceArn")
        ),
        None,
    )
    if permission_set is None:
        ps_id = str(params.get("PermissionSetArn", "")).split("/")[-1]
        return wire.error(call, 400, "ResourceNotFoundException", f"Could not find PermissionSet with id {ps_id}")
    request_id = str(uuid.uuid4())
    created = _now()
    with state.LOCK:
        PENDING[request_id] = {
            "polls": 0,
            "fields": {k: params.get(k) for k in KEY_FIELDS},
            "instance": params.get("InstanceArn"),
            "region": call.region,
            "account": caller.account,
            "caller": caller,
            "created": created,
        }
    doc = _status(request_id, params, "IN_PROGRESS", created)
    return _json({"AccountAssignmentCreationStatus": doc})


def describe_account_assignment_creation_status(call, caller, forward):
    request_id = call.params.get("AccountAssignmentCreationRequestId", "")
    with state.LOCK:
        if request_id in DONE:
            return _json({"AccountAssignmentCreationStatus": DONE[request_id]})
        pending = PENDING.get(request_id)
        if pending is None:
            return None  # moto: ResourceNotFoundException
        pending["polls"] += 1
        if pending["polls"] <= state.CONFIG["assignmentPolls"]:
            doc = _status(request_id, pending["fields"], "IN_PROGRESS", pending["created"])
            return _json({"AccountAssignmentCreationStatus": doc})
        del PENDING[request_id]
    refusal = _management_refusal(pending)
    if refusal:
        doc = dict(_status(request_id, pending["fields"], "FAILED", pending["created"]), FailureReason=refusal)
    else:
        _complete(pending)
        doc = _status(request_id, pending["fields"], "SUCCEEDED", pending["created"])
    with state.LOCK:
        DONE[request_id] = doc
    return _json({"AccountAssignmentCreationStatus": doc})


def _management_refusal(pending):
    """IAM's refusal of the caller's own rights, for an assignment in the management account
    (the instance's), where IAM Identity Center acts with them; None elsewhere or when allowed."""
    caller, fields = pending["caller"], pending["fields"]
    if fields["TargetId"] != pending["account"] or not authz.enforced() or caller.is_root:
        return None
    backend = _backend(pending["account"], pending["region"])
    permission_set = next(p for p in backend.permission_sets if p.permission_set_arn == fields["PermissionSetArn"])
    name, path = reserved_role(
        pending["region"], permission_set.permission_set_arn, permission_set.name, fields["TargetId"]
    )
    role = f"arn:aws:iam::{fields['TargetId']}:role{path}{name}"
    docs = caller.policies()
    for action in ("iam:CreateRole", "iam:AttachRolePolicy"):
        if authz.evaluate(docs, action, role) != "allow":
            return (
                "Received a 403 status error: Access denied by IAM. Please check your policy, or wait for role "
                f"propagation to complete. IAM Error: User: {caller.arn} is not authorized to perform: {action} "
                f"on resource: {role} because no identity-based policy allows the {action} action"
            )
    return None


def _complete(pending):
    """The assignment is listed (once) and its permission set provisioned in the account."""
    from moto.ssoadmin.models import AccountAssignment

    backend = _backend(pending["account"], pending["region"])
    fields = pending["fields"]
    exists = any(
        _key(a.to_json()) == _key(fields) and a.instance_arn == pending["instance"] for a in backend.account_assignments
    )
    if not exists:
        backend.account_assignments.append(AccountAssignment(pending["instance"], *(fields[k] for k in KEY_FIELDS)))
    permission_set = next(p for p in backend.permission_sets if p.permission_set_arn == fields["PermissionSetArn"])
    provision(fields["TargetId"], pending["region"], pending["account"], permission_set)


def reserved_role(region, permission_set_arn, name, account=""):
    """The name and path of the role a permission set becomes in an account: a new suffix
    after each time the role was deleted."""
    generation = REMOVED.get((account, permission_set_arn), 0)
    seed = permission_set_arn if not generation else f"{permission_set_arn}/{account}/{generation}"
    digest = hashlib.sha256(seed.encode()).hexdigest()[:16]
    path = "/aws-reserved/sso.amazonaws.com/" + ("" if region == "us-east-1" else f"{region}/")
    return f"AWSReservedSSO_{name}_{digest}", path


def provision(target_account, region, management, permission_set):
    """The permission set's role in the account, with its AWS managed policies (once)."""
    from moto.iam.models import iam_backends

    iam = iam_backends[target_account]["aws"]
    name, path = reserved_role(region, permission_set.permission_set_arn, permission_set.name, target_account)
    if any(r.name == name for r in iam.roles.values()):
        return
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {
                    "Federated": f"arn:aws:iam::{target_account}:saml-provider/"
                    f"AWSSSO_{hashlib.sha256(management.encode()).hexdigest()[:16]}_DO_NOT_DELETE"
                },
                "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
            }
        ],
    }
    iam.create_role(
        role_name=name,
        assume_role_policy_document=json.dumps(trust),
        path=path,
        permissions_boundary=None,
        description=f"IAM Identity Center permission set {permission_set.name}",
        tags=[],
        max_session_duration="3600",
    )
    for policy in permission_set.managed_policies:
        iam.attach_role_policy(policy.arn, name)


def delete_account_assignment(call, caller, forward):
    """moto deletes the assignment; the permission set's role goes with its last one."""
    backend = _backend(caller.account, call.region)
    params = call.params
    key = _key(params)
    with state.LOCK:
        found = [a for a in backend.account_assignments if _key(a.to_json()) == key]
        if not found:
            return wire.error(call, 400, "ResourceNotFoundException", "The assignment does not exist.")
        for a in found:
            backend.account_assignments.remove(a)
        account, ps_arn = params.get("TargetId"), params.get("PermissionSetArn")
        last = not any(a.target_id == account and a.permission_set_arn == ps_arn for a in backend.account_assignments)
        permission_set = next((p for p in backend.permission_sets if p.permission_set_arn == ps_arn), None)
        if last and permission_set is not None:
            _unprovision(account, call.region, permission_set)
        request_id = str(uuid.uuid4())
        created = _now()
        DONE[request_id] = _status(request_id, params, "SUCCEEDED", created)
    doc = _status(request_id, params, "IN_PROGRESS", created)
    return _json({"AccountAssignmentDeletionStatus": doc})


def describe_account_assignment_deletion_status(call, caller, forward):
    request_id = call.params.get("AccountAssignmentDeletionRequestId", "")
    with state.LOCK:
        if request_id in DONE:
            return _json({"AccountAssignmentDeletionStatus": DONE[request_id]})
    return None


def _unprovision(account, region, permission_set):
    """The permission set's role leaves the account; a later one gets another suffix."""
    from moto.iam.models import iam_backends

    iam = iam_backends[account]["aws"]
    name, _ = reserved_role(region, permission_set.permission_set_arn, permission_set.name, account)
    role = next((r for r in iam.roles.values() if r.name == name), None)
    if role is None:
        return
    for arn in list(role.managed_policies):
        iam.detach_role_policy(arn, name)
    iam.delete_role(name)
    REMOVED[(account, permission_set.permission_set_arn)] = (
        REMOVED.get((account, permission_set.permission_set_arn), 0) + 1
    )


def _iso_duration(seconds):
    hours, rest = divmod(int(seconds), 3600)
    minutes = rest // 60
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes or not hours else "")


def _as_aws(permission_set):
    """moto's permission set, fixed in place to what AWS has."""
    arn = permission_set.permission_set_arn
    if ":sso:::instance/" in arn:
        permission_set.permission_set_arn = arn.replace(":sso:::instance/", ":sso:::permissionSet/", 1)
    if not isinstance(permission_set.session_duration, str):
        permission_set.session_duration = _iso_duration(permission_set.session_duration)


def create_permission_set(call, caller, forward):
    status_code, _headers, body = forward()
    if status_code != 200:
        return None
    backend = _backend(caller.account, call.region)
    doc = json.loads(body)
    made = doc.get("PermissionSet", {})
    with state.LOCK:
        for p in backend.permission_sets:
            if p.permission_set_arn == made.get("PermissionSetArn"):
                _as_aws(p)
                made["PermissionSetArn"] = p.permission_set_arn
                made["SessionDuration"] = p.session_duration
    return _json(doc)


def describe_permission_set(call, caller, forward):
    backend = _backend(caller.account, call.region)
    with state.LOCK:
        for p in backend.permission_sets:
            _as_aws(p)
    return None


HANDLERS = {
    "CreatePermissionSet": create_permission_set,
    "DescribePermissionSet": describe_permission_set,
    "DeleteAccountAssignment": delete_account_assignment,
    "DescribeAccountAssignmentDeletionStatus": describe_account_assignment_deletion_status,
    "CreateAccountAssignment": create_account_assignment,
    "DescribeAccountAssignmentCreationStatus": describe_account_assignment_creation_status,
}
