"""One sandbox server for the session, reset before each test; boto3 clients against it."""

import json
import os
import sys
import urllib.request

import boto3
import pytest
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from vending_sandbox import server  # noqa: E402

REGION = "eu-west-1"
ROOT_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="session")
def url():
    srv, base = server.start_in_thread()
    yield base
    srv.shutdown()


def control(url, path, body=None, method=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method or ("POST" if data else "GET"))
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


@pytest.fixture()
def sandbox(url):
    control(url, "/_sandbox/reset", {})
    control(
        url,
        "/_sandbox/config",
        {
            "enforceIam": False,
            "accountPolls": 0,
            "attachmentReads": 0,
            "ec2OptInCalls": 0,
            "eventsRegion": REGION,
            "baselinePolicies": [],
            "chaos": None,
            "announceAccounts": True,
            "closurePolls": 2,
            "assignmentPolls": 2,
            "closeQuota": None,
            "controlTowerBaseline": None,
        },
    )
    return Sandbox(url)


class Sandbox:
    def __init__(self, url):
        self.url = url

    def control(self, path, body=None, method=None):
        return control(self.url, path, body, method)

    def client(self, service, keys=None, region=REGION, retries=0, validate=True):
        config = Config(
            retries={"total_max_attempts": retries + 1, "mode": "standard"},
            parameter_validation=validate,
        )
        return boto3.client(service, region_name=region, endpoint_url=self.url, config=config, **(keys or ROOT_KEYS))

    def assume(self, role_arn, session="test", keys=None):
        out = self.client("sts", keys).assume_role(RoleArn=role_arn, RoleSessionName=session)["Credentials"]
        return {
            "aws_access_key_id": out["AccessKeyId"],
            "aws_secret_access_key": out["SecretAccessKey"],
            "aws_session_token": out["SessionToken"],
        }

    def role(self, name, statements, account_keys=None):
        """A role in the caller's account with one inline policy, trusting that account."""
        iam = self.client("iam", account_keys)
        account = self.client("sts", account_keys).get_caller_identity()["Account"]
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}
            ],
        }
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        if statements:
            doc = json.dumps({"Version": "2012-10-17", "Statement": statements})
            iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=doc)
        return arn

    def organization(self, polls=0):
        """An organization with one member account; returns (org client, member account id)."""
        org = self.client("organizations")
        org.create_organization(FeatureSet="ALL")
        return org

    def member_account(self, org, name="member", role_name=None):
        kwargs = {"AccountName": name, "Email": f"{name}@example.com"}
        if role_name:
            kwargs["RoleName"] = role_name
        rid = org.create_account(**kwargs)["CreateAccountStatus"]["Id"]
        for _ in range(20):
            st = org.describe_create_account_status(CreateAccountRequestId=rid)["CreateAccountStatus"]
            if st["State"] != "IN_PROGRESS":
                return st
        raise AssertionError("the account never finished")

    def enforce(self):
        self.control("/_sandbox/config", {"enforceIam": True})
