"""IAM Identity Center as AWS behaves: account assignments are made in the background, listed
once made, never twice, and become the permission set's role in the account."""

import pytest
from botocore.exceptions import ClientError


def identity_center(sandbox):
    """An instance, a group and a permission set with AWS managed policies attached."""
    admin = sandbox.client("sso-admin")
    found = admin.list_instances()["Instances"][0]
    instance, store = found["InstanceArn"], found["IdentityStoreId"]
    group = sandbox.client("identitystore").create_group(IdentityStoreId=store, DisplayName="payments-devs")["GroupId"]
    ps = admin.create_permission_set(InstanceArn=instance, Name="TenantAdmin")["PermissionSet"]["PermissionSetArn"]
    admin.attach_managed_policy_to_permission_set(
        InstanceArn=instance, PermissionSetArn=ps, ManagedPolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"
    )
    return admin, instance, store, group, ps


def assign(admin, instance, account, ps, group, whole=False):
    """The assignment's creation status (the whole answer with `whole`)."""
    answer = admin.create_account_assignment(
        InstanceArn=instance,
        TargetId=account,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps,
        PrincipalType="GROUP",
        PrincipalId=group,
    )
    return answer if whole else answer["AccountAssignmentCreationStatus"]


def poll(admin, instance, request_id):
    return admin.describe_account_assignment_creation_status(
        InstanceArn=instance, AccountAssignmentCreationRequestId=request_id
    )["AccountAssignmentCreationStatus"]["Status"]


def listed(admin, instance, account, ps):
    return admin.list_account_assignments(InstanceArn=instance, AccountId=account, PermissionSetArn=ps)[
        "AccountAssignments"
    ]


def test_an_assignment_is_made_in_the_background_and_listed_once_made(sandbox):
    # CreateAccountAssignment: "This is an asynchronous API" (IAM Identity Center API
    # reference); its status is read with DescribeAccountAssignmentCreationStatus.
    sandbox.control("/_sandbox/config", {"assignmentPolls": 2})
    org = sandbox.organization()
    account = sandbox.member_account(org, "team")["AccountId"]
    admin, instance, _, group, ps = identity_center(sandbox)
    started = assign(admin, instance, account, ps, group)
    assert started["Status"] == "IN_PROGRESS"
    assert listed(admin, instance, account, ps) == []
    states = [poll(admin, instance, started["RequestId"]) for _ in range(3)]
    assert states == ["IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED"]
    made = listed(admin, instance, account, ps)
    assert [(a["PrincipalType"], a["PrincipalId"]) for a in made] == [("GROUP", group)]


def test_an_assignment_asked_for_again_is_not_made_twice(sandbox):
    sandbox.control("/_sandbox/config", {"assignmentPolls": 0})
    org = sandbox.organization()
    account = sandbox.member_account(org, "team")["AccountId"]
    admin, instance, _, group, ps = identity_center(sandbox)
    for _ in range(2):
        request = assign(admin, instance, account, ps, group)["RequestId"]
        assert poll(admin, instance, request) == "SUCCEEDED"
    assert len(listed(admin, instance, account, ps)) == 1


def test_an_unknown_permission_set_is_refused_at_once(sandbox):
    org = sandbox.organization()
    account = sandbox.member_account(org, "team")["AccountId"]
    admin, instance, _, group, ps = identity_center(sandbox)
    with pytest.raises(ClientError) as refused:
        assign(admin, instance, account, ps[:-4] + "0000", group)
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_made_assignment_is_the_permission_sets_reserved_role_in_the_account(sandbox):
    # IAM Identity Center User Guide, "Referencing permission sets in resource policies, Amazon
    # EKS, and AWS KMS": the role is AWSReservedSSO_<permission set>_<id>, under the path
    # /aws-reserved/sso.amazonaws.com/<region>/.
    sandbox.control("/_sandbox/config", {"assignmentPolls": 0})
    org = sandbox.organization()
    account = sandbox.member_account(org, "team")["AccountId"]
    admin, instance, _, group, ps = identity_center(sandbox)
    request = assign(admin, instance, account, ps, group)["RequestId"]
    assert poll(admin, instance, request) == "SUCCEEDED"
    keys = sandbox.assume(f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole")
    iam = sandbox.client("iam", keys)
    roles = iam.list_roles(PathPrefix="/aws-reserved/sso.amazonaws.com/")["Roles"]
    assert len(roles) == 1
    role = roles[0]
    assert role["RoleName"].startswith("AWSReservedSSO_TenantAdmin_")
    assert role["Arn"] == f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{role['RoleName']}"
    attached = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]


def test_groups_are_found_by_display_name(sandbox):
    admin, instance, store, group, _ = identity_center(sandbox)
    ids = sandbox.client("identitystore")
    found = ids.get_group_id(
        IdentityStoreId=store,
        AlternateIdentifier={"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": "payments-devs"}},
    )
    assert found["GroupId"] == group
    with pytest.raises(ClientError) as missing:
        ids.get_group_id(
            IdentityStoreId=store,
            AlternateIdentifier={"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": "nobody"}},
        )
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_the_last_assignment_removed_takes_the_role_and_the_next_has_a_new_suffix(sandbox):
    # IAM Identity Center User Guide, "Referencing permission sets": deleting every assignment
    # of a permission set in an account deletes its role; a new assignment makes a new role
    # whose name has another suffix.
    sandbox.control("/_sandbox/config", {"assignmentPolls": 0})
    org = sandbox.organization()
    account = sandbox.member_account(org, "team")["AccountId"]
    admin, instance, _, group, ps = identity_center(sandbox)
    keys = sandbox.assume(f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole")
    iam = sandbox.client("iam", keys)

    def roles():
        return [r["RoleName"] for r in iam.list_roles(PathPrefix="/aws-reserved/sso.amazonaws.com/")["Roles"]]

    assert poll(admin, instance, assign(admin, instance, account, ps, group)["RequestId"]) == "SUCCEEDED"
    first = roles()
    deleted = admin.delete_account_assignment(
        InstanceArn=instance,
        TargetId=account,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps,
        PrincipalType="GROUP",
        PrincipalId=group,
    )["AccountAssignmentDeletionStatus"]
    assert deleted["Status"] == "IN_PROGRESS"
    status = admin.describe_account_assignment_deletion_status(
        InstanceArn=instance, AccountAssignmentDeletionRequestId=deleted["RequestId"]
    )["AccountAssignmentDeletionStatus"]["Status"]
    assert status == "SUCCEEDED"
    assert listed(admin, instance, account, ps) == []
    assert roles() == []
    assert poll(admin, instance, assign(admin, instance, account, ps, group)["RequestId"]) == "SUCCEEDED"
    second = roles()
    assert len(first) == len(second) == 1
    assert first != second
    assert second[0].startswith("AWSReservedSSO_TenantAdmin_")


def test_a_permission_set_has_awss_arn_and_an_iso_session_duration(sandbox):
    # IAM Identity Center API reference, PermissionSet: PermissionSetArn matches
    # arn:aws:sso:::permissionSet/(sso)?ins-.../ps-...; SessionDuration is an ISO-8601 duration.
    admin, instance, _, _, ps = identity_center(sandbox)
    assert ps.startswith("arn:aws:sso:::permissionSet/ssoins-"), ps
    described = admin.describe_permission_set(InstanceArn=instance, PermissionSetArn=ps)["PermissionSet"]
    assert described["PermissionSetArn"] == ps
    assert described["SessionDuration"] == "PT1H"
    assert admin.list_permission_sets(InstanceArn=instance)["PermissionSets"] == [ps]


def test_in_the_management_account_an_assignment_needs_the_callers_own_iam_rights(sandbox):
    # IAM Identity Center User Guide, "Understanding service-linked roles": in the management
    # account IAM operations "happen using the credentials of the IAM principal"; in a member
    # account the service-linked role makes the role.
    sandbox.control("/_sandbox/config", {"assignmentPolls": 0})
    org = sandbox.organization()
    member = sandbox.member_account(org, "team")["AccountId"]
    management = org.describe_organization()["Organization"]["MasterAccountId"]
    _, instance, _, group, ps = identity_center(sandbox)
    sso_only = [{"Effect": "Allow", "Action": ["sso:*", "identitystore:*"], "Resource": "*"}]
    admin = sandbox.client("sso-admin", sandbox.assume(sandbox.role("assigner", sso_only)))
    sandbox.enforce()
    made = assign(admin, instance, member, ps, group)["RequestId"]
    assert poll(admin, instance, made) == "SUCCEEDED"
    refused = assign(admin, instance, management, ps, group)["RequestId"]
    status = admin.describe_account_assignment_creation_status(
        InstanceArn=instance, AccountAssignmentCreationRequestId=refused
    )["AccountAssignmentCreationStatus"]
    assert status["Status"] == "FAILED"
    assert "iam:CreateRole" in status["FailureReason"]
    assert "/aws-reserved/sso.amazonaws.com/" in status["FailureReason"]
    assert listed(admin, instance, management, ps) == []


def test_every_answer_carries_a_request_id_even_the_fronts_own(sandbox):
    sandbox.control("/_sandbox/config", {"assignmentPolls": 0})
    org = sandbox.organization()
    account = sandbox.member_account(org, "team")["AccountId"]
    admin, instance, _, group, ps = identity_center(sandbox)
    answer = assign(admin, instance, account, ps, group, whole=True)
    assert answer["ResponseMetadata"]["RequestId"]
    assert org.describe_organization()["ResponseMetadata"]["RequestId"]
