"""IAM's own rules where moto does not check them:
- a permissions boundary (CreateRole, PutRolePermissionsBoundary) or a managed policy
  (AttachRolePolicy) must exist in the role's account, or be AWS-managed: else NoSuchEntity;
- every principal a trust policy names must exist (an IAM role or user in its account, an
  account of the sandbox): else MalformedPolicyDocument "Invalid principal in policy";
- a role trust policy may not exceed IAM's default quota of 2,048 characters (white space not
  counted): LimitExceeded;
- tag keys are case-insensitive: one request may not carry two keys that differ only in case;
- an account alias is unique across AWS: another account's alias is EntityAlreadyExists.
"""

import json
import re
import urllib.parse

from . import wire

# IAM's default quota on a role trust policy, in characters without white space.
TRUST_POLICY_QUOTA = 2048


def _iam(account):
    from moto.iam.models import iam_backends

    return iam_backends[account]["aws"]


def policy_exists(account, arn):
    iam = _iam(account)
    return arn in iam.managed_policies


def _known_accounts():
    from moto.iam.models import iam_backends
    from moto.organizations.models import organizations_backends

    known = set(iam_backends.keys())
    for account in list(organizations_backends.keys()):
        backend = organizations_backends[account]["aws"]
        known.update(a.id for a in backend.accounts)
    return known


def principal_exists(principal):
    """True when an AWS principal of a trust policy names something that exists."""
    if principal == "*":
        return True
    if re.fullmatch(r"\d{12}", principal):
        return principal in _known_accounts()
    m = re.fullmatch(r"arn:aws[\w-]*:iam::(\d{12}):(root|role/(.+)|user/(.+))", principal)
    if not m:
        # Service principals are not written under "AWS"; anything else is not a principal.
        return principal.startswith("arn:aws:sts::") and ":assumed-role/" in principal
    account, kind, role_path, user_path = m.groups()
    if kind == "root":
        return account in _known_accounts()
    from moto.iam.models import iam_backends

    if account not in iam_backends.keys():
        return False
    iam = _iam(account)
    if role_path is not None:
        name = role_path.split("/")[-1]
        return any(r.name == name for r in iam.roles.values())
    name = user_path.split("/")[-1]
    return name in iam.users


def _trust_principals(document):
    doc = json.loads(document)
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    out = []
    for st in statements:
        principal = st.get("Principal", {})
        if principal == "*":
            continue
        aws = principal.get("AWS", []) if isinstance(principal, dict) else []
        out += aws if isinstance(aws, list) else [aws]
    return out


def _tag_keys(params):
    keys = []
    i = 1
    while f"Tags.member.{i}.Key" in params:
        keys.append(params[f"Tags.member.{i}.Key"])
        i += 1
    return keys


def check(call, caller):
    """An IAM error for a call IAM would refuse, or None."""
    if call.service != "iam":
        return None
    p = call.params
    op = call.operation
    account = caller.account
    if op in ("CreateRole", "PutRolePermissionsBoundary") and p.get("PermissionsBoundary"):
        arn = p["PermissionsBoundary"]
        if not policy_exists(account, arn):
            return wire.error(call, 404, "NoSuchEntity", f"Scope ARN: {arn} does not exist or is not attachable.")
    if op == "AttachRolePolicy" and not policy_exists(account, p.get("PolicyArn", "")):
        return wire.error(
            call, 404, "NoSuchEntity", f"Policy {p.get('PolicyArn', '')} does not exist or is not attachable."
        )
    if op in ("CreateRole", "UpdateAssumeRolePolicy"):
        text = p.get("AssumeRolePolicyDocument") or p.get("PolicyDocument") or "{}"
        try:
            principals = _trust_principals(text)
        except ValueError:
            principals = _trust_principals(urllib.parse.unquote(text))
        size = sum(1 for c in urllib.parse.unquote(text) if not c.isspace())
        if size > TRUST_POLICY_QUOTA:
            return wire.error(
                call, 409, "LimitExceeded", f"Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_QUOTA}"
            )
        for principal in principals:
            if not principal_exists(principal):
                return wire.error(
                    call, 400, "MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{principal}"'
                )
    if op in ("CreateRole", "TagRole"):
        keys = _tag_keys(p)
        lowered = [k.lower() for k in keys]
        if len(set(lowered)) != len(lowered):
            return wire.error(
                call,
                400,
                "InvalidInput",
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            )
    if op == "CreateAccountAlias":
        alias = p.get("AccountAlias", "")
        from moto.iam.models import iam_backends

        for other in list(iam_backends.keys()):
            if other != account and alias in iam_backends[other]["aws"].account_aliases:
                return wire.error(call, 409, "EntityAlreadyExists", f"The account alias {alias} already exists.")
    return None
