"""AWS Backup as AWS serves it, where moto lacks or is kinder (AWS Backup API Reference):
- backup selections (CreateBackupSelection, GetBackupSelection, ListBackupSelections,
  DeleteBackupSelection), which moto does not serve: a selection belongs to a live plan
  (ResourceNotFoundException otherwise), names resources or tag conditions (an empty one is
  InvalidParameterValueException), and its role must be one AWS Backup can use: a role of the
  account that trusts `backup.amazonaws.com` and whose policies allow `tag:GetResources`
  (AWS answers "IAM Role ... is not authorized to call tag:GetResources"); the caller needs
  `iam:PassRole` on it (authz.py);
- UpdateBackupPlan, which moto does not serve: the plan's rules replaced, a new version id;
- CreateBackupPlan refuses a name only while a plan of that name is live (moto also counts
  deleted plans, so a deleted plan could never be made again), and a CreatorRequestId that
  matches a plan returns that plan;
- DeleteBackupPlan refuses a plan that still has selections (InvalidRequestException).
"""

import datetime
import json
import uuid

from werkzeug.wrappers import Response

from . import state, wire

SELECTIONS = {}  # (account, region, plan id) -> {selection id: selection document}


def _now():
    return datetime.datetime.now(datetime.UTC).timestamp()


def _backend(account, region):
    from moto.backup.models import backup_backends

    return backup_backends[account][region]


def _json(doc):
    return Response(json.dumps(doc), status=200, content_type="application/json")


def _refuse(call, code, message):
    return wire.error(call, 400, code, message)


def operation(request):
    """The AWS Backup operation a REST path names (the ones tenant vending and its tests use)."""
    parts = [p for p in wire.raw_path(request).split("/") if p]
    m = request.method
    if parts[:1] == ["backup-vaults"] and len(parts) == 2:
        return {"PUT": "CreateBackupVault", "GET": "DescribeBackupVault", "DELETE": "DeleteBackupVault"}.get(m)
    if parts[:1] == ["backup-vaults"]:
        return "ListBackupVaults" if len(parts) == 1 else None
    if parts[:2] != ["backup", "plans"]:
        return None
    if len(parts) == 2:
        return "CreateBackupPlan" if m == "PUT" else "ListBackupPlans"
    if len(parts) == 3:
        return {"GET": "GetBackupPlan", "POST": "UpdateBackupPlan", "DELETE": "DeleteBackupPlan"}.get(m)
    if parts[3] == "selections":
        if len(parts) == 4:
            return "CreateBackupSelection" if m == "PUT" else "ListBackupSelections"
        return {"GET": "GetBackupSelection", "DELETE": "DeleteBackupSelection"}.get(m)
    return None


def _parts(call):
    return [p for p in call.path.split("/") if p]


def _live_plan(call, account, plan_id):
    plan = _backend(account, call.region).plans.get(plan_id)
    return plan if plan is not None and plan.deletion_date is None else None


def _role_refusal(account, role_arn):
    """Why AWS Backup could not use `role_arn`, or None."""
    from moto.iam.models import iam_backends

    from . import authz

    if not role_arn.startswith("arn:") or ":role/" not in role_arn or role_arn.split(":")[4] != account:
        return f"IamRoleArn {role_arn} is not the ARN of a role of this account"
    name = role_arn.split("/")[-1]
    try:
        role = iam_backends[account]["global"].get_role(name)
    except Exception:  # noqa: BLE001 - any lookup failure means the role is not there
        return f"IAM Role {role_arn} is not authorized to call tag:GetResources"
    doc = authz._policy_doc(role.assume_role_policy_document)
    trusted = any(
        st.get("Effect") == "Allow"
        and "backup.amazonaws.com" in authz._as_list(st.get("Principal", {}).get("Service", []))
        for st in authz._as_list(doc.get("Statement", []))
        if isinstance(st.get("Principal"), dict)
    )
    docs = [authz._policy_doc(p) for p in role.policies.values()]
    docs += [authz._policy_doc(p) for p in role.managed_policies.values()]
    if not trusted or authz.evaluate(docs, "tag:GetResources", "*") != "allow":
        return f"IAM Role {role_arn} is not authorized to call tag:GetResources"
    return None


def create_backup_selection(call, caller):
    plan_id = _parts(call)[2]
    if _live_plan(call, caller.account, plan_id) is None:
        return _refuse(call, "ResourceNotFoundException", f"Failed reading Backup plan {plan_id}")
    selection = call.params.get("BackupSelection") or {}
    name = selection.get("SelectionName", "")
    if not name:
        return _refuse(call, "MissingParameterValueException", "SelectionName must not be null")
    if not (selection.get("Resources") or selection.get("ListOfTags") or selection.get("Conditions")):
        return _refuse(
            call,
            "InvalidParameterValueException",
            "Invalid backup selection. Either 'ListOfTags' or 'Resources' section must be non-empty.",
        )
    refusal = _role_refusal(caller.account, selection.get("IamRoleArn", ""))
    if refusal:
        return _refuse(call, "InvalidParameterValueException", refusal)
    key = (caller.account, call.region, plan_id)
    with state.LOCK:
        selections = SELECTIONS.setdefault(key, {})
        request_id = call.params.get("CreatorRequestId")
        for sid, doc in selections.items():
            if request_id and doc["CreatorRequestId"] == request_id:
                return _json({"SelectionId": sid, "BackupPlanId": plan_id, "CreationDate": doc["CreationDate"]})
        sid = str(uuid.uuid4())
        selections[sid] = {
            "BackupSelection": {
                "SelectionName": name,
                "IamRoleArn": selection["IamRoleArn"],
                "Resources": selection.get("Resources", []),
                "ListOfTags": selection.get("ListOfTags", []),
                "NotResources": selection.get("NotResources", []),
                "Conditions": selection.get("Conditions")
                or {"StringEquals": [], "StringNotEquals": [], "StringLike": [], "StringNotLike": []},
            },
            "CreationDate": _now(),
            "CreatorRequestId": request_id,
        }
    return _json({"SelectionId": sid, "BackupPlanId": plan_id, "CreationDate": selections[sid]["CreationDate"]})


def _selection(call, caller):
    parts = _parts(call)
    plan_id, sid = parts[2], parts[4]
    with state.LOCK:
        doc = SELECTIONS.get((caller.account, call.region, plan_id), {}).get(sid)
    if doc is None:
        return plan_id, sid, None, _refuse(call, "ResourceNotFoundException", f"Failed reading backup selection {sid}")
    return plan_id, sid, doc, None


def get_backup_selection(call, caller):
    plan_id, sid, doc, refused = _selection(call, caller)
    if refused:
        return refused
    out = {"BackupPlanId": plan_id, "SelectionId": sid, **doc}
    if out.get("CreatorRequestId") is None:
        out.pop("CreatorRequestId", None)
    return _json(out)


def delete_backup_selection(call, caller):
    plan_id, sid, _, refused = _selection(call, caller)
    if refused:
        return refused
    with state.LOCK:
        SELECTIONS[(caller.account, call.region, plan_id)].pop(sid, None)
    return Response(b"", status=200)


def list_backup_selections(call, caller):
    plan_id = _parts(call)[2]
    if _live_plan(call, caller.account, plan_id) is None:
        return _refuse(call, "ResourceNotFoundException", f"Failed reading Backup plan {plan_id}")
    with state.LOCK:
        selections = dict(SELECTIONS.get((caller.account, call.region, plan_id), {}))
    listed = []
    for sid, doc in selections.items():
        item = {
            "SelectionId": sid,
            "SelectionName": doc["BackupSelection"]["SelectionName"],
            "BackupPlanId": plan_id,
            "CreationDate": doc["CreationDate"],
            "IamRoleArn": doc["BackupSelection"]["IamRoleArn"],
        }
        if doc.get("CreatorRequestId"):
            item["CreatorRequestId"] = doc["CreatorRequestId"]
        listed.append(item)
    return _json({"BackupSelectionsList": listed})


def create_backup_plan(call, caller):
    """A live plan's name is refused, a deleted one's is free; a known CreatorRequestId
    returns its plan."""
    backend = _backend(caller.account, call.region)
    plan_doc = call.params.get("BackupPlan") or {}
    request_id = call.params.get("CreatorRequestId")
    with state.LOCK:
        for plan in backend.plans.values():
            if request_id and plan.creator_request_id == request_id:
                return _json(plan.to_dict())
        live = [p for p in backend.plans.values() if p.deletion_date is None]
        if any(p.backup_plan["BackupPlanName"] == plan_doc.get("BackupPlanName") for p in live):
            return _refuse(call, "AlreadyExistsException", "Backup plan with the same plan document already exists")
        # moto counts deleted plans' names too: hide them while it makes this one.
        deleted = {k: p for k, p in backend.plans.items() if p.deletion_date is not None}
        for k in deleted:
            del backend.plans[k]
        try:
            plan = backend.create_backup_plan(plan_doc, call.params.get("BackupPlanTags"), request_id)
        finally:
            backend.plans.update(deleted)
    return _json(plan.to_dict())


def update_backup_plan(call, caller):
    plan_id = _parts(call)[2]
    plan = _live_plan(call, caller.account, plan_id)
    if plan is None:
        return _refuse(call, "ResourceNotFoundException", "Failed reading Backup plan with provided version")
    from moto.moto_api._internal import mock_random

    doc = call.params.get("BackupPlan") or {}
    with state.LOCK:
        for rule in doc.get("Rules", []):
            rule.setdefault("ScheduleExpression", "cron(0 5 ? * * *)")
            rule.setdefault("StartWindowMinutes", 480)
            rule.setdefault("CompletionWindowMinutes", 10080)
            rule.setdefault("ScheduleExpressionTimezone", "Etc/UTC")
            rule["RuleId"] = str(mock_random.uuid4())
        plan.backup_plan = doc
        plan.version_id = mock_random.get_random_string(length=48)
    return _json(plan.to_dict())


def delete_backup_plan(call, caller):
    """None (moto deletes it) unless the plan still has selections."""
    plan_id = _parts(call)[2]
    with state.LOCK:
        if SELECTIONS.get((caller.account, call.region, plan_id)):
            return _refuse(
                call,
                "InvalidRequestException",
                "Backup plan cannot be deleted while it has resource assignments (selections); delete them first",
            )
    return None


HANDLERS = {
    "CreateBackupSelection": create_backup_selection,
    "GetBackupSelection": get_backup_selection,
    "DeleteBackupSelection": delete_backup_selection,
    "ListBackupSelections": list_backup_selections,
    "CreateBackupPlan": create_backup_plan,
    "UpdateBackupPlan": update_backup_plan,
    "DeleteBackupPlan": delete_backup_plan,
}
