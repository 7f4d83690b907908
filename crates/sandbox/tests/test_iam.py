"""IAM's rules that moto does not check: boundaries and policies that exist, principals that
exist, case-insensitive tag keys, globally unique account aliases."""

import json

import pytest
from botocore.exceptions import ClientError

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_a_boundary_must_exist_in_the_roles_account(sandbox):
    iam = sandbox.client("iam")
    with pytest.raises(ClientError) as refused:
        iam.create_role(
            RoleName="r",
            AssumeRolePolicyDocument=TRUST,
            PermissionsBoundary="arn:aws:iam::210987654321:policy/boundary",
        )
    assert code(refused) == "NoSuchEntity"
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    arn = iam.create_policy(PolicyName="boundary", PolicyDocument=doc)["Policy"]["Arn"]
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST, PermissionsBoundary=arn)
    iam.create_role(
        RoleName="aws-managed",
        AssumeRolePolicyDocument=TRUST,
        PermissionsBoundary="arn:aws:iam::aws:policy/PowerUserAccess",
    )
    with pytest.raises(ClientError) as refused:
        iam.put_role_permissions_boundary(RoleName="r", PermissionsBoundary="arn:aws:iam::123456789012:policy/gone")
    assert code(refused) == "NoSuchEntity"


def test_trust_principals_must_exist(sandbox):
    iam = sandbox.client("iam")
    ghost = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ["arn:aws:iam::123456789012:role/ghost"]},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    with pytest.raises(ClientError) as refused:
        iam.create_role(RoleName="r", AssumeRolePolicyDocument=ghost)
    assert code(refused) == "MalformedPolicyDocument"
    assert "role/ghost" in refused.value.response["Error"]["Message"]
    iam.create_role(RoleName="ghost", AssumeRolePolicyDocument=TRUST)
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=ghost)
    with pytest.raises(ClientError) as refused:
        iam.update_assume_role_policy(RoleName="r", PolicyDocument=ghost.replace("ghost", "nobody"))
    assert code(refused) == "MalformedPolicyDocument"


def test_tag_keys_differing_only_in_case_are_one_key(sandbox):
    with pytest.raises(ClientError) as refused:
        sandbox.client("iam").create_role(
            RoleName="r",
            AssumeRolePolicyDocument=TRUST,
            Tags=[{"Key": "CostCenter", "Value": "a"}, {"Key": "costcenter", "Value": "b"}],
        )
    assert code(refused) == "InvalidInput"


def test_account_aliases_are_unique(sandbox):
    org = sandbox.organization()
    member = sandbox.member_account(org)["AccountId"]
    sandbox.client("iam").create_account_alias(AccountAlias="acme-team")
    keys = sandbox.assume(f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole")
    with pytest.raises(ClientError) as refused:
        sandbox.client("iam", keys).create_account_alias(AccountAlias="acme-team")
    assert code(refused) == "EntityAlreadyExists"


def test_a_trust_policy_over_the_quota_is_refused(sandbox):
    many = [f"arn:aws:iam::123456789012:role/{'r' * 60}{i:02d}" for i in range(40)]
    doc = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": many}, "Action": "sts:AssumeRole"}],
        }
    )
    with pytest.raises(ClientError) as refused:
        sandbox.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument=doc)
    assert code(refused) == "LimitExceeded"
