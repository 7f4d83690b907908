"""IAM authorization of every call against the caller's policies, with real resources."""

import json

import pytest
from botocore.exceptions import ClientError

TABLE = "registry"


def table(sandbox, name=TABLE):
    sandbox.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return f"arn:aws:dynamodb:eu-west-1:123456789012:table/{name}"


def code_of(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


def test_a_role_may_do_what_its_policy_allows_on_its_resources_and_nothing_else(sandbox):
    arn = table(sandbox)
    other = table(sandbox, "other")
    role = sandbox.role("fn", [{"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": arn}])
    keys = sandbox.assume(role)
    sandbox.enforce()
    ddb = sandbox.client("dynamodb", keys)
    ddb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}})
    with pytest.raises(ClientError) as refused:
        ddb.get_item(TableName="other", Key={"pk": {"S": "a"}})
    code, message = code_of(refused)
    assert code == "AccessDeniedException"
    assert f"dynamodb:GetItem on resource: {other}" in message
    with pytest.raises(ClientError) as refused:
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": "a"}})
    assert "dynamodb:PutItem" in code_of(refused)[1]


def test_a_transaction_needs_the_action_of_each_item(sandbox):
    arn = table(sandbox)
    role = sandbox.role("fn", [{"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": arn}])
    keys = sandbox.assume(role)
    sandbox.enforce()
    with pytest.raises(ClientError) as refused:
        sandbox.client("dynamodb", keys).transact_write_items(
            TransactItems=[{"Put": {"TableName": TABLE, "Item": {"pk": {"S": "a"}}}}]
        )
    assert "dynamodb:PutItem" in code_of(refused)[1]


def test_querying_an_index_is_authorized_on_the_index_not_the_table(sandbox):
    sandbox.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "kind", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "tenants",
                "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = f"arn:aws:dynamodb:eu-west-1:123456789012:table/{TABLE}"
    on_table = sandbox.assume(sandbox.role("t", [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": arn}]))
    on_index = sandbox.assume(
        sandbox.role("i", [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": f"{arn}/index/tenants"}])
    )
    sandbox.enforce()
    query = {
        "TableName": TABLE,
        "IndexName": "tenants",
        "KeyConditionExpression": "kind = :k",
        "ExpressionAttributeValues": {":k": {"S": "TENANT"}},
    }
    sandbox.client("dynamodb", on_index).query(**query)
    with pytest.raises(ClientError) as refused:
        sandbox.client("dynamodb", on_table).query(**query)
    assert f"dynamodb:Query on resource: {arn}/index/tenants" in code_of(refused)[1]


def test_an_explicit_deny_wins(sandbox):
    arn = table(sandbox)
    role = sandbox.role(
        "fn",
        [
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": arn},
        ],
    )
    keys = sandbox.assume(role)
    sandbox.enforce()
    with pytest.raises(ClientError) as refused:
        sandbox.client("dynamodb", keys).delete_item(TableName=TABLE, Key={"pk": {"S": "a"}})
    assert "explicit deny" in code_of(refused)[1]


def test_each_protocol_refuses_in_its_own_shape(sandbox):
    role = sandbox.role("nothing", [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}])
    keys = sandbox.assume(role)
    sandbox.enforce()
    for service, call, code in [
        ("organizations", lambda c: c.list_accounts(), "AccessDeniedException"),
        ("ec2", lambda c: c.describe_vpcs(), "UnauthorizedOperation"),
        ("iam", lambda c: c.list_roles(), "AccessDenied"),
        ("eks", lambda c: c.list_clusters(), "AccessDeniedException"),
        ("events", lambda c: c.list_rules(), "AccessDeniedException"),
    ]:
        with pytest.raises(ClientError) as refused:
            call(sandbox.client(service, keys))
        assert code_of(refused)[0] == code, service


def test_assuming_a_role_needs_permission_a_role_that_exists_and_its_trust(sandbox):
    target = sandbox.role("target", [])
    caller = sandbox.role("caller", [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": target}])
    none = sandbox.role("none", [])
    iam = sandbox.client("iam")
    iam.create_role(
        RoleName="untrusting",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:role/target"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    caller_keys = sandbox.assume(caller)
    none_keys = sandbox.assume(none)
    sandbox.enforce()
    sandbox.assume(target, keys=caller_keys)
    with pytest.raises(ClientError) as refused:
        sandbox.assume(target, keys=none_keys)
    assert code_of(refused)[0] == "AccessDenied"
    with pytest.raises(ClientError) as refused:
        sandbox.assume("arn:aws:iam::123456789012:role/ghost")
    assert "does not exist" in code_of(refused)[1]
    with pytest.raises(ClientError) as refused:
        sandbox.assume("arn:aws:iam::123456789012:role/untrusting")
    assert "trust policy" in code_of(refused)[1]


def test_create_account_with_tags_also_needs_tag_resource(sandbox):
    sandbox.organization()
    role = sandbox.role("creator", [{"Effect": "Allow", "Action": "organizations:CreateAccount", "Resource": "*"}])
    keys = sandbox.assume(role)
    sandbox.enforce()
    with pytest.raises(ClientError) as refused:
        sandbox.client("organizations", keys).create_account(
            AccountName="a", Email="a@example.com", Tags=[{"Key": "k", "Value": "v"}]
        )
    assert "organizations:TagResource" in code_of(refused)[1]
    sandbox.client("organizations", keys).create_account(AccountName="b", Email="b@example.com")
