"""AWS Config and CloudTrail as AWS behaves where moto is kinder: a delivery channel or a trail
needs a bucket that exists and lets the service write, in any account; Control Tower's own
recorder, channel and trail are changed by no one else; Control Tower enrols new accounts; a
recorder passes its role (iam:PassRole)."""

import json

import pytest
from botocore.exceptions import ClientError

REGION = "eu-west-1"


def code(e):
    return e.value.response["Error"]["Code"]


def bucket(sandbox, name, service=None, keys=None):
    """A bucket in the caller's account; with `service`, a policy that lets it put objects."""
    s3 = sandbox.client("s3", keys)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    if service:
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{name}/AWSLogs/*",
                }
            ],
        }
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))


def member(sandbox):
    """A member account's id and keys to its member role."""
    org = sandbox.organization()
    account = sandbox.member_account(org)["AccountId"]
    return account, sandbox.assume(f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole")


def recorder(config):
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "tenant-vending",
            "roleARN": "arn:aws:iam::123456789012:role/vending/config",
            "recordingGroup": {"allSupported": True},
        }
    )


def test_a_delivery_channel_needs_a_bucket_that_lets_aws_config_write(sandbox):
    _, keys = member(sandbox)
    config = sandbox.client("config", keys)
    recorder(config)
    with pytest.raises(ClientError) as e:
        config.put_delivery_channel(DeliveryChannel={"name": "tenant-vending", "s3BucketName": "no-such-bucket"})
    assert code(e) == "NoSuchBucketException"
    # The central bucket is another account's: its policy must let AWS Config in.
    bucket(sandbox, "config-logs-closed")
    with pytest.raises(ClientError) as e:
        config.put_delivery_channel(DeliveryChannel={"name": "tenant-vending", "s3BucketName": "config-logs-closed"})
    assert code(e) == "InsufficientDeliveryPolicyException"
    bucket(sandbox, "config-logs", service="config.amazonaws.com")
    config.put_delivery_channel(DeliveryChannel={"name": "tenant-vending", "s3BucketName": "config-logs"})
    config.start_configuration_recorder(ConfigurationRecorderName="tenant-vending")
    status = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert [s["recording"] for s in status] == [True]


def test_a_trail_writes_to_any_accounts_bucket_whose_policy_lets_cloudtrail_in(sandbox):
    _, keys = member(sandbox)
    trail = sandbox.client("cloudtrail", keys)
    with pytest.raises(ClientError) as e:
        trail.create_trail(Name="tenant-vending", S3BucketName="no-such-bucket")
    assert code(e) == "S3BucketDoesNotExistException"
    bucket(sandbox, "trail-logs-closed")
    with pytest.raises(ClientError) as e:
        trail.create_trail(Name="tenant-vending", S3BucketName="trail-logs-closed")
    assert code(e) == "InsufficientS3BucketPolicyException"
    bucket(sandbox, "trail-logs", service="cloudtrail.amazonaws.com")
    made = trail.create_trail(Name="tenant-vending", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    assert made["S3BucketName"] == "trail-logs", "a bucket of the management account, not the caller's"


def test_control_tower_enrols_new_accounts_and_no_one_else_changes_its_recorder(sandbox):
    sandbox.control("/_sandbox/config", {"controlTowerBaseline": [REGION]})
    _, keys = member(sandbox)
    config = sandbox.client("config", keys)
    recorders = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert [r["name"] for r in recorders] == ["aws-controltower-BaselineConfigRecorder"]
    status = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert [s["recording"] for s in status] == [True]
    # Even the account's administrator (the member role) is denied by Control Tower's controls.
    for call in (
        lambda: config.stop_configuration_recorder(ConfigurationRecorderName="aws-controltower-BaselineConfigRecorder"),
        lambda: config.delete_delivery_channel(DeliveryChannelName="aws-controltower-BaselineConfigDeliveryChannel"),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "AccessDeniedException"
        assert "service control policy" in e.value.response["Error"]["Message"]
    # One recorder per account and region: Control Tower's is it.
    with pytest.raises(ClientError) as e:
        recorder(config)
    assert code(e) == "MaxNumberOfConfigurationRecordersExceededException"
    # Rules are the account's to add.
    config.put_config_rule(
        ConfigRule={
            "ConfigRuleName": "s3-bucket-public-read-prohibited",
            "Source": {"Owner": "AWS", "SourceIdentifier": "S3_BUCKET_PUBLIC_READ_PROHIBITED"},
        }
    )
    assert [r["ConfigRuleName"] for r in config.describe_config_rules()["ConfigRules"]] == [
        "s3-bucket-public-read-prohibited"
    ]


def test_control_towers_trail_is_changed_by_no_one_else(sandbox):
    _, keys = member(sandbox)
    trail = sandbox.client("cloudtrail", keys)
    with pytest.raises(ClientError) as e:
        trail.stop_logging(Name="aws-controltower-BaselineCloudTrail")
    assert code(e) == "AccessDeniedException"


def test_a_recorder_passes_its_role_which_needs_iam_pass_role(sandbox):
    """A caller allowed every AWS Config action but not iam:PassRole cannot make a recorder."""
    arn = sandbox.role("config-admin", [{"Effect": "Allow", "Action": "config:*", "Resource": "*"}])
    caller = sandbox.client("config", sandbox.assume(arn))
    sandbox.enforce()
    with pytest.raises(ClientError) as e:
        recorder(caller)
    assert code(e) == "AccessDeniedException"
    assert "iam:PassRole" in e.value.response["Error"]["Message"]
