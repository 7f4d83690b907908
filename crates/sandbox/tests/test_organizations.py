"""Organizations as AWS behaves: slow creation, refused emails, final failure reasons, the
management account's privileges, the member role, and the masked CreateAccountResult event."""

import json

import pytest
from botocore.exceptions import ClientError


def test_creation_is_in_progress_for_the_configured_polls(sandbox):
    sandbox.control("/_sandbox/config", {"accountPolls": 2})
    org = sandbox.organization()
    rid = org.create_account(AccountName="slow", Email="slow@example.com")["CreateAccountStatus"]["Id"]
    states = [
        org.describe_create_account_status(CreateAccountRequestId=rid)["CreateAccountStatus"]["State"] for _ in range(3)
    ]
    assert states == ["IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED"]


def test_the_creations_in_progress_at_once_are_counted(sandbox):
    # What an account-creation cap must bound: how many creations run at the same time.
    sandbox.control("/_sandbox/config", {"accountPolls": 1})
    org = sandbox.organization()
    first = org.create_account(AccountName="a", Email="a@example.com")["CreateAccountStatus"]["Id"]
    second = org.create_account(AccountName="b", Email="b@example.com")["CreateAccountStatus"]["Id"]
    assert sandbox.control("/_sandbox/creations") == {"inProgress": 2, "mostAtOnce": 2}
    for rid in (first, second):
        for _ in range(2):
            org.describe_create_account_status(CreateAccountRequestId=rid)
    org.create_account(AccountName="c", Email="c@example.com")
    assert sandbox.control("/_sandbox/creations") == {"inProgress": 1, "mostAtOnce": 2}


def test_a_second_account_with_the_same_email_fails(sandbox):
    org = sandbox.organization()
    sandbox.member_account(org, "first")
    rid = org.create_account(AccountName="again", Email="FIRST@example.com")["CreateAccountStatus"]["Id"]
    st = org.describe_create_account_status(CreateAccountRequestId=rid)["CreateAccountStatus"]
    assert (st["State"], st["FailureReason"]) == ("FAILED", "EMAIL_ALREADY_EXISTS")
    failed = org.list_create_account_status(States=["FAILED"])["CreateAccountStatuses"]
    assert [s["Id"] for s in failed] == [rid]
    names = [a["Name"] for a in org.list_accounts()["Accounts"]]
    assert "again" not in names


def test_an_injected_reason_ends_the_request(sandbox):
    org = sandbox.organization()
    sandbox.control("/_sandbox/account-failures", {"reason": "CONCURRENT_ACCOUNT_MODIFICATION", "count": 1})
    st = sandbox.member_account(org, "busy")
    assert (st["State"], st["FailureReason"]) == ("FAILED", "CONCURRENT_ACCOUNT_MODIFICATION")
    assert sandbox.member_account(org, "busy")["State"] == "SUCCEEDED", "the next one goes through"


def test_only_the_management_account_creates_and_moves_accounts(sandbox):
    org = sandbox.organization()
    member = sandbox.member_account(org)["AccountId"]
    keys = sandbox.assume(f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole")
    member_org = sandbox.client("organizations", keys)
    with pytest.raises(ClientError) as refused:
        member_org.create_account(AccountName="x", Email="x@example.com")
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    root = org.list_roots()["Roots"][0]["Id"]
    with pytest.raises(ClientError) as refused:
        member_org.move_account(AccountId=member, SourceParentId=root, DestinationParentId=root)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


def test_a_new_account_has_its_member_role_with_administrator_access_and_nothing_else(sandbox):
    org = sandbox.organization()
    member = sandbox.member_account(org, "ct", role_name="AWSControlTowerExecution")["AccountId"]
    keys = sandbox.assume(f"arn:aws:iam::{member}:role/AWSControlTowerExecution")
    sandbox.enforce()
    iam = sandbox.client("iam", keys)
    names = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert names == ["AWSControlTowerExecution"]
    attached = iam.list_attached_role_policies(RoleName="AWSControlTowerExecution")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AdministratorAccess"]
    with pytest.raises(ClientError):
        sandbox.assume(f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole")


def test_a_finished_creation_puts_create_account_result_with_the_name_masked(sandbox):
    org = sandbox.organization()
    sqs = sandbox.client("sqs")
    events = sandbox.client("events")
    url = sqs.create_queue(QueueName="orgs")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="orgs",
        EventPattern=json.dumps({"source": ["aws.organizations"], "detail": {"eventName": ["CreateAccountResult"]}}),
    )
    events.put_targets(Rule="orgs", Targets=[{"Id": "q", "Arn": arn}])
    st = sandbox.member_account(org, "secret-name")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    event = json.loads(messages[0]["Body"])
    status = event["detail"]["serviceEventDetails"]["createAccountStatus"]
    assert status["accountName"] == "****"
    assert status["accountId"] == st["AccountId"]
    assert status["state"] == "SUCCEEDED"


def test_customers_may_not_put_events_as_an_aws_service(sandbox):
    out = sandbox.client("events").put_events(
        Entries=[
            {"Source": "aws.controltower", "DetailType": "x", "Detail": "{}"},
            {"Source": "tenant-vending", "DetailType": "x", "Detail": "{}"},
        ]
    )
    assert out["FailedEntryCount"] == 1
    assert out["Entries"][0]["ErrorCode"] == "NotAuthorizedForSourceException"
    assert "EventId" in out["Entries"][1]


def test_the_platform_baseline_is_in_every_new_account(sandbox):
    boundary = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    sandbox.control(
        "/_sandbox/config",
        {"baselinePolicies": [{"name": "tenant-boundary", "path": "/platform/", "document": boundary}]},
    )
    org = sandbox.organization()
    member = sandbox.member_account(org)["AccountId"]
    keys = sandbox.assume(f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole")
    arn = f"arn:aws:iam::{member}:policy/platform/tenant-boundary"
    assert sandbox.client("iam", keys).get_policy(PolicyArn=arn)["Policy"]["Arn"] == arn


def test_a_closed_account_is_pending_closure_then_suspended(sandbox):
    # CloseAccount: "While the close account request is in progress, Account status will
    # indicate PENDING_CLOSURE. When the close account request completes, the status will
    # change to SUSPENDED." (Organizations API reference, CloseAccount)
    sandbox.control("/_sandbox/config", {"closurePolls": 2})
    org = sandbox.organization()
    account = sandbox.member_account(org, "leaving")["AccountId"]
    org.close_account(AccountId=account)
    states = [org.describe_account(AccountId=account)["Account"]["Status"] for _ in range(4)]
    assert states == ["PENDING_CLOSURE", "PENDING_CLOSURE", "SUSPENDED", "SUSPENDED"]
    with pytest.raises(ClientError) as again:
        org.close_account(AccountId=account)
    assert again.value.response["Error"]["Code"] == "AccountAlreadyClosedException"


def test_the_management_account_is_never_closed(sandbox):
    org = sandbox.organization()
    management = org.describe_organization()["Organization"]["MasterAccountId"]
    with pytest.raises(ClientError) as refused:
        org.close_account(AccountId=management)
    assert refused.value.response["Error"]["Code"] == "ConstraintViolationException"
    assert refused.value.response["Reason"] == "CANNOT_CLOSE_MANAGEMENT_ACCOUNT"


def test_closures_past_the_30_day_quota_are_refused(sandbox):
    # "You can close only 10% of member accounts, between 10 and 1000, within a rolling 30 day
    # period." (CloseAccount); the sandbox lowers the quota to reach it.
    sandbox.control("/_sandbox/config", {"closeQuota": 1})
    org = sandbox.organization()
    first = sandbox.member_account(org, "one")["AccountId"]
    second = sandbox.member_account(org, "two")["AccountId"]
    org.close_account(AccountId=first)
    with pytest.raises(ClientError) as refused:
        org.close_account(AccountId=second)
    assert refused.value.response["Error"]["Code"] == "ConstraintViolationException"
    assert refused.value.response["Reason"] == "CLOSE_ACCOUNT_QUOTA_EXCEEDED"
    assert org.describe_account(AccountId=second)["Account"]["Status"] == "ACTIVE"


def test_the_default_quota_is_ten_percent_of_the_members_and_at_least_ten(sandbox):
    org = sandbox.organization()
    accounts = [sandbox.member_account(org, f"m{i}")["AccountId"] for i in range(11)]
    for account in accounts[:10]:
        org.close_account(AccountId=account)
    with pytest.raises(ClientError) as refused:
        org.close_account(AccountId=accounts[10])
    assert refused.value.response["Reason"] == "CLOSE_ACCOUNT_QUOTA_EXCEEDED"


def test_a_closed_accounts_email_is_never_used_again(sandbox):
    org = sandbox.organization()
    account = sandbox.member_account(org, "gone")["AccountId"]
    org.close_account(AccountId=account)
    rid = org.create_account(AccountName="again", Email="gone@example.com")["CreateAccountStatus"]["Id"]
    st = org.describe_create_account_status(CreateAccountRequestId=rid)["CreateAccountStatus"]
    assert (st["State"], st["FailureReason"]) == ("FAILED", "EMAIL_ALREADY_EXISTS")
