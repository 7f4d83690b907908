"""An injected fault reaches the SDK as the error code it names, in every protocol the workflow
uses (boto3 reads each protocol the way the Rust SDK does: by the same Smithy rules)."""

import json

import pytest
from botocore.exceptions import ClientError


@pytest.mark.parametrize(
    "service,operation,method,kwargs,code,status",
    [
        ("iam", "GetRole", "get_role", {"RoleName": "x"}, "Throttling", 400),
        ("sts", "GetCallerIdentity", "get_caller_identity", {}, "RequestThrottled", 400),
        ("ec2", "DescribeVpcs", "describe_vpcs", {}, "RequestLimitExceeded", 503),
        ("dynamodb", "ListTables", "list_tables", {}, "ProvisionedThroughputExceededException", 400),
        ("organizations", "ListAccounts", "list_accounts", {}, "TooManyRequestsException", 400),
        ("events", "ListRules", "list_rules", {}, "ThrottlingException", 400),
        ("eks", "ListAccessEntries", "list_access_entries", {"clusterName": "c"}, "ThrottlingException", 429),
        ("s3", "ListBuckets", "list_buckets", {}, "SlowDown", 503),
    ],
)
def test_a_fault_arrives_in_the_protocol_of_its_service(sandbox, service, operation, method, kwargs, code, status):
    sandbox.control(
        "/_sandbox/faults", {"operation": operation, "service": service, "code": code, "status": status, "count": 1}
    )
    with pytest.raises(ClientError) as refused:
        getattr(sandbox.client(service), method)(**kwargs)
    assert refused.value.response["Error"]["Code"] == code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_a_transaction_conflict_carries_cancellation_reasons(sandbox):
    ddb = sandbox.client("dynamodb")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sandbox.control(
        "/_sandbox/faults",
        {
            "operation": "TransactWriteItems",
            "code": "TransactionCanceledException",
            "status": 400,
            "reasons": ["None", "TransactionConflict"],
        },
    )
    items = [{"Put": {"TableName": "t", "Item": {"pk": {"S": f"k{i}"}}}} for i in range(2)]
    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(TransactItems=items)
    error = refused.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in error["CancellationReasons"]] == ["None", "TransactionConflict"]
    assert ddb.scan(TableName="t")["Count"] == 0, "nothing was written"


def test_a_fault_after_the_call_loses_the_answer_but_not_the_effect(sandbox):
    ec2 = sandbox.client("ec2")
    before = len(ec2.describe_vpcs()["Vpcs"])
    sandbox.control(
        "/_sandbox/faults", {"operation": "CreateVpc", "code": "InternalError", "status": 500, "after": True}
    )
    with pytest.raises(ClientError) as refused:
        ec2.create_vpc(CidrBlock="10.9.0.0/16")
    assert refused.value.response["Error"]["Code"] == "InternalError"
    assert len(ec2.describe_vpcs()["Vpcs"]) == before + 1, "the VPC was made"


def test_an_operation_moto_lacks_is_an_aws_error_not_an_html_page(sandbox):
    with pytest.raises(ClientError) as refused:
        sandbox.client("ec2").describe_ipam_pools()
    assert refused.value.response["Error"]["Code"] in ("InvalidAction", "InternalFailure")


def test_conditional_writes_at_once_let_exactly_one_through(sandbox):
    import concurrent.futures

    ddb = sandbox.client("dynamodb")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    def claim(i):
        client = sandbox.client("dynamodb")
        items = [
            {
                "Put": {
                    "TableName": "t",
                    "Item": {"pk": {"S": f"piece-{p}"}, "owner": {"S": str(i)}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for p in range(4)
        ]
        try:
            client.transact_write_items(TransactItems=items)
            return True
        except ClientError:
            return False

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        won = list(pool.map(claim, range(24)))
    assert won.count(True) == 1
    owners = {item["owner"]["S"] for item in ddb.scan(TableName="t")["Items"]}
    assert len(owners) == 1, "all four pieces went to one claimant"


def test_a_crash_strikes_after_the_nth_call_of_a_principal_took_effect(sandbox):
    role = sandbox.role("fn", [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}])
    keys = sandbox.assume(role)
    sandbox.client("ec2").describe_vpcs()  # the root's calls are not counted
    sandbox.control("/_sandbox/crash", {"after": 2})
    ec2 = sandbox.client("ec2", keys)
    before = len(ec2.describe_vpcs()["Vpcs"])
    with pytest.raises(ClientError) as died:
        ec2.create_vpc(CidrBlock="10.8.0.0/16")
    assert died.value.response["Error"]["Code"] == "SandboxCrash"
    assert len(ec2.describe_vpcs()["Vpcs"]) == before + 1, "the call took effect"
    struck = sandbox.control("/_sandbox/crash")["struck"]
    assert struck["operation"] == "CreateVpc"


def test_a_crash_in_a_stream_counts_only_that_roles_calls_to_that_service(sandbox):
    # Two functions at once (a Parallel state's branches): the n-th call of one of them is the
    # same call however their calls interleave.
    allow = [{"Effect": "Allow", "Action": ["ec2:*", "iam:*"], "Resource": "*"}]
    network = sandbox.client("ec2", sandbox.assume(sandbox.role("network", allow)))
    identity = sandbox.client("iam", sandbox.assume(sandbox.role("identity", allow)))
    sandbox.control("/_sandbox/crash", {"after": 2, "stream": "network|ec2"})
    network.describe_vpcs()
    identity.list_roles()
    identity.list_roles()
    with pytest.raises(ClientError) as died:
        network.create_vpc(CidrBlock="10.9.0.0/16")
    assert died.value.response["Error"]["Code"] == "SandboxCrash"
    assert sandbox.control("/_sandbox/crash")["seen"] == 2
    streams = [c["stream"] for c in sandbox.control("/_sandbox/calls") if not c["root"]]
    assert "identity|iam" in streams and "network|ec2" in streams


def test_the_call_log_marks_the_calls_a_crash_counts(sandbox):
    # A sweep numbers its points from the log: a refused call changed nothing, so it is none.
    role = sandbox.role("marked", [{"Effect": "Allow", "Action": ["iam:*"], "Resource": "*"}])
    iam = sandbox.client("iam", sandbox.assume(role))
    iam.list_roles()
    with pytest.raises(ClientError):
        iam.get_role(RoleName="no-such-role")
    marked = [(c["operation"], c["point"]) for c in sandbox.control("/_sandbox/calls") if c["stream"] == "marked|iam"]
    assert marked == [("ListRoles", True), ("GetRole", False)]


def test_chaos_fails_a_share_of_calls_in_each_services_shape(sandbox):
    role = sandbox.role("fn", [{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    keys = sandbox.assume(role)
    sandbox.control("/_sandbox/config", {"chaos": {"rate": 0.3, "seed": 7}})
    failed = {}
    for service, call in [("ec2", lambda c: c.describe_vpcs()), ("iam", lambda c: c.list_roles())]:
        client = sandbox.client(service, keys)
        for _ in range(40):
            try:
                call(client)
            except ClientError as e:
                failed.setdefault(service, set()).add(e.response["Error"]["Code"])
    sandbox.control("/_sandbox/config", {"chaos": None})
    assert failed["ec2"] <= {"RequestLimitExceeded", "InternalError"} and failed["ec2"]
    assert failed["iam"] <= {"Throttling", "ServiceFailure"} and failed["iam"]
    injected = sandbox.control("/_sandbox/chaos")["injected"]
    assert 10 <= sum(injected.values()) <= 40, injected


@pytest.mark.parametrize("range_key", [False, True])
def test_a_cancelled_transaction_leaves_every_item_as_it_was(sandbox, range_key):
    # The sandbox copies only the items a transaction names, not its tables, to roll back.
    ddb = sandbox.client("dynamodb")
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attributes.append({"AttributeName": "sk", "AttributeType": "S"})
    ddb.create_table(TableName="r", KeySchema=schema, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST")

    def key(name):
        return {"pk": {"S": name}, **({"sk": {"S": "s"}} if range_key else {})}

    ddb.put_item(TableName="r", Item={**key("kept"), "v": {"N": "1"}})
    ddb.put_item(TableName="r", Item={**key("gone"), "v": {"N": "1"}})
    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "r", "Item": {**key("new"), "v": {"N": "1"}}}},
                {
                    "Update": {
                        "TableName": "r",
                        "Key": key("kept"),
                        "UpdateExpression": "SET v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Delete": {"TableName": "r", "Key": key("gone")}},
                {
                    "ConditionCheck": {
                        "TableName": "r",
                        "Key": key("absent"),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    items = {i["pk"]["S"]: i["v"]["N"] for i in ddb.scan(TableName="r")["Items"]}
    assert items == {"kept": "1", "gone": "1"}

    # And one that goes through writes all of it.
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "r", "Item": {**key("new"), "v": {"N": "3"}}}},
            {"Delete": {"TableName": "r", "Key": key("gone")}},
        ]
    )
    items = {i["pk"]["S"]: i["v"]["N"] for i in ddb.scan(TableName="r")["Items"]}
    assert items == {"kept": "1", "new": "3"}


def started_execution(sandbox):
    """moto's Step Functions with one execution started (and never run): its client and ARN."""
    sfn = sandbox.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="m",
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/r",
    )["stateMachineArn"]
    return sfn, sfn.start_execution(stateMachineArn=machine, name="e1")["executionArn"]


def test_an_executions_recorded_history_is_served_as_step_functions_serves_it(sandbox):
    # The dispatcher records what the local executor did; GetExecutionHistory answers with it.
    sfn, arn = started_execution(sandbox)
    events = [
        {
            "timestamp": "2026-12-02T10:00:00.000Z",
            "type": "ExecutionStarted",
            "id": 1,
            "previousEventId": 0,
            "executionStartedEventDetails": {"input": "{}", "roleArn": "arn:aws:iam::123456789012:role/r"},
        },
        {
            "timestamp": "2026-12-02T10:00:01.000Z",
            "type": "TaskStateEntered",
            "id": 2,
            "previousEventId": 1,
            "stateEnteredEventDetails": {"name": "Normalize", "input": "{}"},
        },
    ]
    sandbox.control("/_sandbox/executions/history", {"executionArn": arn, "from": 0, "events": events[:1]})
    sandbox.control("/_sandbox/executions/history", {"executionArn": arn, "from": 1, "events": events[1:]})
    newest = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=1)
    assert [e["type"] for e in newest["events"]] == ["TaskStateEntered"]
    assert newest["events"][0]["stateEnteredEventDetails"]["name"] == "Normalize"
    assert newest["events"][0]["timestamp"].year == 2026
    rest = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=1, nextToken=newest["nextToken"])
    assert [e["type"] for e in rest["events"]] == ["ExecutionStarted"]
    assert "nextToken" not in rest


def test_an_execution_without_recorded_history_has_none_rather_than_motos_canned_one(sandbox):
    sfn, arn = started_execution(sandbox)
    assert sfn.get_execution_history(executionArn=arn)["events"] == []
    with pytest.raises(ClientError) as missing:
        sfn.get_execution_history(executionArn=arn.replace(":e1", ":nope"))
    assert missing.value.response["Error"]["Code"] == "ExecutionDoesNotExist"
