"""IAM authorization as AWS applies it, for the calls tenant vending makes.

moto's own authorization mode checks actions against `*` only, so a policy scoped to a table
or a role ARN (as every function's policy in infra/template.yaml is) would be refused there.
This module evaluates identity policies itself, with the resource each call really touches:
- the caller is the identity behind the request's access key: an assumed role (its inline and
  attached policies), an IAM user, or the account's root (the sandbox's own `testing` keys),
  which IAM policies do not restrict;
- an explicit Deny wins, else an Allow whose Action and Resource match is needed (wildcards
  `*` and `?`, actions case-insensitive; NotAction and NotResource; a Condition this module
  cannot evaluate never grants);
- `sts:AssumeRole` also needs the target role to exist and its trust policy to name the caller,
  its account, or `*`;
- some operations need several actions: TransactWriteItems one per item (PutItem, UpdateItem,
  DeleteItem, ConditionCheckItem on each table), CreateAccount with tags also TagResource,
  PutEvents one per entry's bus.
"""

import fnmatch
import json
import urllib.parse

from . import state


def _policy_doc(policy):
    """A policy document as a dict, from moto's representations of it."""
    from moto.iam.models import Policy

    if isinstance(policy, Policy):
        version = next(v for v in policy.versions if v.is_default)
        text = version.document
    elif isinstance(policy, dict):
        text = policy.get("policy_document", "{}")
    else:
        text = policy
    if isinstance(text, dict):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return json.loads(urllib.parse.unquote(text))


class Caller:
    """Who signed a request."""

    def __init__(self, account, arn, role_name=None, user_name=None):
        self.account = account
        self.arn = arn
        self.role_name = role_name
        self.user_name = user_name

    @property
    def is_root(self):
        return self.role_name is None and self.user_name is None

    @property
    def principal_arn(self):
        """The IAM ARN a trust policy names: the role, not the session."""
        if self.role_name:
            return f"arn:aws:iam::{self.account}:role/{self.role_name}"
        return self.arn

    def policies(self):
        from moto.iam.models import iam_backends

        iam = iam_backends[self.account]["global"]
        docs = []
        if self.role_name:
            role = iam.get_role(self.role_name)
            docs += [_policy_doc(p) for p in role.policies.values()]
            docs += [_policy_doc(p) for p in role.managed_policies.values()]
        elif self.user_name:
            user = iam.get_user(self.user_name)
            docs += [_policy_doc(p) for p in user.policies.values()]
            docs += [_policy_doc(p) for p in user.managed_policies.values()]
        return docs


def caller_of(access_key):
    """The identity behind an access key."""
    from moto.iam.models import get_account_id_from, iam_backends
    from moto.sts.models import sts_backends

    account = get_account_id_from(access_key)
    for assumed in sts_backends[account]["aws"].assumed_roles:
        if assumed.access_key_id == access_key:
            role_name = assumed.role_arn.split("/")[-1]
            arn = f"arn:aws:sts::{account}:assumed-role/{role_name}/{assumed.session_name}"
            return Caller(account, arn, role_name=role_name)
    iam = iam_backends[account]["global"]
    for user in iam.users.values():
        if any(k.access_key_id == access_key for k in user.access_keys):
            return Caller(account, user.arn, user_name=user.name)
    return Caller(account, f"arn:aws:iam::{account}:root")


def _as_list(v):
    return v if isinstance(v, list) else [v]


def _matches(patterns, value, case_insensitive=False):
    for p in _as_list(patterns):
        if case_insensitive:
            if fnmatch.fnmatchcase(value.lower(), p.lower()):
                return True
        elif fnmatch.fnmatchcase(value, p):
            return True
    return False


def statement_applies(st, action, resource):
    """True when the statement's Action/NotAction and Resource/NotResource cover the request."""
    if "Action" in st:
        if not _matches(st["Action"], action, case_insensitive=True):
            return False
    elif "NotAction" in st:
        if _matches(st["NotAction"], action, case_insensitive=True):
            return False
    else:
        return False
    if "Resource" in st:
        return _matches(st["Resource"], resource)
    if "NotResource" in st:
        return not _matches(st["NotResource"], resource)
    return False


def evaluate(docs, action, resource):
    """'allow', 'deny' (explicit) or 'implicit' for one action on one resource."""
    allowed = False
    for doc in docs:
        for st in _as_list(doc.get("Statement", [])):
            if not statement_applies(st, action, resource):
                continue
            if st.get("Effect") == "Deny":
                return "deny"
            if st.get("Effect") == "Allow" and not st.get("Condition"):
                allowed = True
    return "allow" if allowed else "implicit"


def trust_allows(role, caller):
    """True when the role's trust policy lets `caller` assume it."""
    doc = _policy_doc(role.assume_role_policy_document)
    for st in _as_list(doc.get("Statement", [])):
        if st.get("Effect") != "Allow" or not _matches(st.get("Action", []), "sts:AssumeRole", True):
            continue
        principal = st.get("Principal", {})
        names = ["*"] if principal == "*" else _as_list(principal.get("AWS", []))
        for p in names:
            if p in ("*", caller.account, f"arn:aws:iam::{caller.account}:root", caller.principal_arn):
                return True
    return False


def _table(call, name):
    if name.startswith("arn:"):
        return name
    return f"arn:aws:dynamodb:{call.region}:{{account}}:table/{name}"


def _bus(call, name):
    if name.startswith("arn:"):
        return name
    return f"arn:aws:events:{call.region}:{{account}}:event-bus/{name or 'default'}"


def _secret(call, name, account):
    if name.startswith("arn:"):
        return name
    from moto.secretsmanager.models import secretsmanager_backends

    secret = secretsmanager_backends[account][call.region].secrets.get(name)
    return secret.arn if secret else f"arn:aws:secretsmanager:{call.region}:{account}:secret:{name}"


TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def requested(call, account):
    """The (action, resource) pairs a call needs, resources as AWS names them."""
    p = call.params
    op = call.operation
    svc = call.service
    if svc == "dynamodb":
        if op == "TransactWriteItems":
            out = []
            for item in p.get("TransactItems", []):
                for kind, action in TRANSACT_ACTIONS.items():
                    if kind in item:
                        out.append((f"dynamodb:{action}", _table(call, item[kind].get("TableName", ""))))
            return [(a, r.format(account=account)) for a, r in out]
        if op == "TransactGetItems":
            return [
                ("dynamodb:GetItem", _table(call, i["Get"].get("TableName", "")).format(account=account))
                for i in p.get("TransactItems", [])
                if "Get" in i
            ]
        if op in ("BatchWriteItem", "BatchGetItem"):
            action = "dynamodb:BatchWriteItem" if op == "BatchWriteItem" else "dynamodb:BatchGetItem"
            return [(action, _table(call, t).format(account=account)) for t in p.get("RequestItems", {})]
        if "TableName" in p:
            resource = _table(call, p["TableName"])
            if op in ("Query", "Scan") and p.get("IndexName"):
                # Reading an index is authorized on the index's ARN, not the table's.
                resource += f"/index/{p['IndexName']}"
            return [(f"dynamodb:{op}", resource.format(account=account))]
        return [(f"dynamodb:{op}", "*")]
    if svc == "events" and op == "PutEvents":
        return [
            ("events:PutEvents", _bus(call, e.get("EventBusName", "default")).format(account=account))
            for e in p.get("Entries", [])
        ]
    if svc == "states":
        arn = p.get("stateMachineArn") or p.get("executionArn") or "*"
        return [(f"states:{op}", arn)]
    if svc == "sts" and op == "AssumeRole":
        return [("sts:AssumeRole", p.get("RoleArn", "*"))]
    if svc == "ssm" and "Name" in p:
        name = p["Name"] if p["Name"].startswith("/") else "/" + p["Name"]
        return [(f"ssm:{op}", f"arn:aws:ssm:{call.region}:{account}:parameter{name}")]
    if svc == "secretsmanager" and "SecretId" in p:
        return [(f"secretsmanager:{op}", _secret(call, p["SecretId"], account))]
    if svc == "s3":
        parts = [x for x in call.path.split("/") if x]
        bucket = parts[0] if parts else ""
        key = "/".join(parts[1:])
        action = {
            "HeadObject": "s3:GetObject",
            "GetObject": "s3:GetObject",
            "PutObject": "s3:PutObject",
            "DeleteObject": "s3:DeleteObject",
            "ListObjects": "s3:ListBucket",
            "ListObjectsV2": "s3:ListBucket",
            "ListObjectVersions": "s3:ListBucketVersions",
            "HeadBucket": "s3:ListBucket",
        }.get(op, f"s3:{op}")
        resource = f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}"
        return [(action, resource if bucket else "*")]
    if svc == "sso":
        # IAM Identity Center authorizes an action on each resource it names: the instance,
        # the permission set, the target account (Service Authorization Reference, "Actions
        # defined by AWS IAM Identity Center").
        names = [p.get("InstanceArn")]
        if p.get("PermissionSetArn"):
            names.append(p["PermissionSetArn"])
        target = p.get("TargetId") or p.get("AccountId")
        if target:
            names.append(f"arn:aws:sso:::account/{target}")
        return [(f"sso:{op}", n or "*") for n in names]
    if svc == "backup":
        # AWS Backup authorizes on the plan or vault a call names, and a selection passes its
        # role to the service: iam:PassRole on it too (AWS Backup Developer Guide, "Identity
        # and access management").
        parts = [x for x in call.path.split("/") if x]
        resource = "*"
        if parts[:2] == ["backup", "plans"] and len(parts) >= 3:
            resource = f"arn:aws:backup:{call.region}:{account}:backup-plan:{parts[2]}"
        elif parts[:1] == ["backup-vaults"] and len(parts) >= 2:
            resource = f"arn:aws:backup:{call.region}:{account}:backup-vault:{parts[1]}"
        out = [(f"backup:{op}", resource)]
        if op == "CreateBackupSelection":
            role = (p.get("BackupSelection") or {}).get("IamRoleArn", "*")
            out.append(("iam:PassRole", role))
        return out
    if svc == "config" and op == "PutConfigurationRecorder":
        # The recorder passes its role to AWS Config (AWS Config Developer Guide, "Permissions
        # for the IAM role assigned to AWS Config").
        role = (p.get("ConfigurationRecorder") or {}).get("roleARN", "*")
        return [("config:PutConfigurationRecorder", "*"), ("iam:PassRole", role)]
    if svc == "identitystore" and p.get("IdentityStoreId"):
        store = f"arn:aws:identitystore::{account}:identitystore/{p['IdentityStoreId']}"
        return [(f"identitystore:{op}", store)]
    if svc == "organizations" and op == "CreateAccount" and p.get("Tags"):
        return [("organizations:CreateAccount", "*"), ("organizations:TagResource", "*")]
    return [(f"{svc}:{op}", "*")]


def authorize(call, caller):
    """None when the call is allowed, else (action, resource, why) of the first refusal. The
    root of an account is not restricted by IAM policies, but even it assumes only roles that
    exist and trust it."""
    if call.service == "sts" and call.operation == "AssumeRole" and caller.is_root:
        return assume_role_refusal(call.params.get("RoleArn", ""), caller)
    if caller.is_root:
        return None
    docs = caller.policies()
    for action, resource in requested(call, caller.account):
        verdict = evaluate(docs, action, resource)
        if verdict == "deny":
            return action, resource, "with an explicit deny in an identity-based policy"
        if verdict != "allow":
            return action, resource, None
    if call.service == "sts" and call.operation == "AssumeRole":
        return assume_role_refusal(call.params.get("RoleArn", ""), caller)
    return None


def assume_role_refusal(role_arn, caller):
    """Why `caller` may not assume `role_arn` (None when it may)."""
    from moto.iam.models import iam_backends

    try:
        account = role_arn.split(":")[4]
        role_name = role_arn.split("/")[-1]
        role = iam_backends[account]["global"].get_role(role_name)
    except Exception:  # noqa: BLE001 - any lookup failure means the role is not there
        return "sts:AssumeRole", role_arn, "because the role does not exist"
    if not trust_allows(role, caller):
        return "sts:AssumeRole", role_arn, "because the role's trust policy does not allow it"
    return None


def enforced():
    return state.CONFIG["enforceIam"]
