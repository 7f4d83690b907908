"""AWS Backup as AWS behaves where moto lacks or is kinder: selections and the role they pass,
plan names freed by deletion, a plan with selections kept, plans updated."""

import json

import pytest
from botocore.exceptions import ClientError

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
BACKUP_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"


def plan_doc(name="daily", vault="tenant-backups", days=35):
    return {
        "BackupPlanName": name,
        "Rules": [
            {
                "RuleName": "daily",
                "TargetBackupVaultName": vault,
                "ScheduleExpression": "cron(0 5 ? * * *)",
                "Lifecycle": {"DeleteAfterDays": days},
            }
        ],
    }


def backup_role(sandbox, name="backup-role", policy=BACKUP_POLICY, trust=TRUST):
    iam = sandbox.client("iam")
    arn = iam.create_role(RoleName=name, Path="/vending/", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if policy:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy)
    return arn


def selection(role, key="backup", value="daily"):
    return {
        "SelectionName": "tenant-vending",
        "IamRoleArn": role,
        "ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": key, "ConditionValue": value}],
    }


def code(e):
    return e.value.response["Error"]["Code"]


def test_a_selection_is_kept_listed_read_and_deleted(sandbox):
    backup = sandbox.client("backup")
    role = backup_role(sandbox)
    backup.create_backup_vault(BackupVaultName="tenant-backups")
    plan = backup.create_backup_plan(BackupPlan=plan_doc())["BackupPlanId"]
    sid = backup.create_backup_selection(BackupPlanId=plan, BackupSelection=selection(role))["SelectionId"]
    listed = backup.list_backup_selections(BackupPlanId=plan)["BackupSelectionsList"]
    assert [(s["SelectionId"], s["SelectionName"], s["IamRoleArn"]) for s in listed] == [(sid, "tenant-vending", role)]
    got = backup.get_backup_selection(BackupPlanId=plan, SelectionId=sid)["BackupSelection"]
    assert got["ListOfTags"] == selection(role)["ListOfTags"]
    backup.delete_backup_selection(BackupPlanId=plan, SelectionId=sid)
    assert backup.list_backup_selections(BackupPlanId=plan)["BackupSelectionsList"] == []
    with pytest.raises(ClientError) as e:
        backup.get_backup_selection(BackupPlanId=plan, SelectionId=sid)
    assert code(e) == "ResourceNotFoundException"


@pytest.mark.parametrize(
    "kind",
    ["no role", "a role without the backup policy", "a role AWS Backup may not assume"],
)
def test_a_selection_needs_a_role_aws_backup_can_use(sandbox, kind):
    backup = sandbox.client("backup")
    plan = backup.create_backup_plan(BackupPlan=plan_doc())["BackupPlanId"]
    if kind == "no role":
        role = "arn:aws:iam::123456789012:role/vending/nobody"
    elif kind == "a role without the backup policy":
        role = backup_role(sandbox, policy=None)
    else:
        other = {"Statement": [dict(TRUST["Statement"][0], Principal={"Service": "ec2.amazonaws.com"})]}
        role = backup_role(sandbox, trust=other)
    with pytest.raises(ClientError) as e:
        backup.create_backup_selection(BackupPlanId=plan, BackupSelection=selection(role))
    assert code(e) == "InvalidParameterValueException"
    assert "tag:GetResources" in e.value.response["Error"]["Message"]


def test_a_selection_selects_something_and_belongs_to_a_live_plan(sandbox):
    backup = sandbox.client("backup")
    role = backup_role(sandbox)
    plan = backup.create_backup_plan(BackupPlan=plan_doc())["BackupPlanId"]
    empty = {"SelectionName": "tenant-vending", "IamRoleArn": role}
    with pytest.raises(ClientError) as e:
        backup.create_backup_selection(BackupPlanId=plan, BackupSelection=empty)
    assert code(e) == "InvalidParameterValueException"
    backup.delete_backup_plan(BackupPlanId=plan)
    with pytest.raises(ClientError) as e:
        backup.create_backup_selection(BackupPlanId=plan, BackupSelection=selection(role))
    assert code(e) == "ResourceNotFoundException"


def test_a_plan_with_selections_is_not_deleted_and_a_deleted_plans_name_is_free(sandbox):
    backup = sandbox.client("backup")
    role = backup_role(sandbox)
    plan = backup.create_backup_plan(BackupPlan=plan_doc())["BackupPlanId"]
    sid = backup.create_backup_selection(BackupPlanId=plan, BackupSelection=selection(role))["SelectionId"]
    with pytest.raises(ClientError) as e:
        backup.delete_backup_plan(BackupPlanId=plan)
    assert code(e) == "InvalidRequestException"
    with pytest.raises(ClientError) as e:
        backup.create_backup_plan(BackupPlan=plan_doc())
    assert code(e) == "AlreadyExistsException", "a live plan's name is taken"
    backup.delete_backup_selection(BackupPlanId=plan, SelectionId=sid)
    backup.delete_backup_plan(BackupPlanId=plan)
    again = backup.create_backup_plan(BackupPlan=plan_doc())["BackupPlanId"]
    assert again != plan
    live = [p["BackupPlanId"] for p in backup.list_backup_plans()["BackupPlansList"]]
    assert live == [again]


def test_a_creator_request_id_returns_its_plan(sandbox):
    backup = sandbox.client("backup")
    first = backup.create_backup_plan(BackupPlan=plan_doc(), CreatorRequestId="req-1")["BackupPlanId"]
    again = backup.create_backup_plan(BackupPlan=plan_doc(), CreatorRequestId="req-1")["BackupPlanId"]
    assert again == first


def test_a_plan_is_updated_with_a_new_version(sandbox):
    backup = sandbox.client("backup")
    made = backup.create_backup_plan(BackupPlan=plan_doc())
    updated = backup.update_backup_plan(BackupPlanId=made["BackupPlanId"], BackupPlan=plan_doc(days=90))
    assert updated["VersionId"] != made["VersionId"]
    rules = backup.get_backup_plan(BackupPlanId=made["BackupPlanId"])["BackupPlan"]["Rules"]
    assert [r["Lifecycle"]["DeleteAfterDays"] for r in rules] == [90]


def test_passing_the_role_needs_iam_pass_role(sandbox):
    """A caller allowed every AWS Backup action but not iam:PassRole cannot make a selection."""
    backup_root = sandbox.client("backup")
    role = backup_role(sandbox)
    plan = backup_root.create_backup_plan(BackupPlan=plan_doc())["BackupPlanId"]
    arn = sandbox.role("backup-admin", [{"Effect": "Allow", "Action": "backup:*", "Resource": "*"}])
    caller = sandbox.client("backup", sandbox.assume(arn))
    sandbox.enforce()
    with pytest.raises(ClientError) as e:
        caller.create_backup_selection(BackupPlanId=plan, BackupSelection=selection(role))
    assert code(e) == "AccessDeniedException"
    assert "iam:PassRole" in e.value.response["Error"]["Message"]
