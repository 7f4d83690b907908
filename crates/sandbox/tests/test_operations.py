"""Every operation tenant vending calls (operations.txt) is answered in AWS's wire format: the
SDK reads a result or an AWS error code from it, never an HTML page it cannot parse. The calls
carry no or dummy parameters: what matters here is the shape of the answer, not its content."""

import os

import pytest
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Signing service to boto3's client name, where they differ.
CLIENTS = {"states": "stepfunctions", "events": "events", "sso": "sso-admin"}

# The parameters an operation cannot be sent without, where boto3 reads them before sending
# (DynamoDB's endpoint rules read BatchGetItem's table names).
REQUIRED = {("dynamodb", "BatchGetItem"): {"RequestItems": {"x": {"Keys": [{"pk": {"S": "x"}}]}}}}


def path_params(client, operation):
    """Dummy values for the parameters a REST operation's path is built from."""
    shape = client.meta.service_model.operation_model(operation).input_shape
    if shape is None:
        return {}
    return {
        name: "arn:aws:iam::123456789012:role/x" if "arn" in name.lower() else "x"
        for name, member in shape.members.items()
        if member.serialization.get("location") == "uri"
    }


def operations():
    with open(os.path.join(HERE, "operations.txt")) as f:
        return [tuple(line.split()) for line in f if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("service,operation", operations())
def test_the_answer_is_one_an_sdk_reads(sandbox, service, operation):
    from botocore import xform_name

    client = sandbox.client(CLIENTS.get(service, service), validate=False)
    method = getattr(client, xform_name(operation))
    params = path_params(client, operation) | REQUIRED.get((service, operation), {})
    try:
        method(**params)
    except ClientError as e:
        assert e.response["Error"]["Code"], f"{service} {operation}: an error without a code"
