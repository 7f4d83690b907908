"""AWS Config and CloudTrail as AWS serves them where an account baseline relies on them and
moto is kinder (AWS Config API Reference; CloudTrail API Reference; Control Tower User Guide):
- PutDeliveryChannel names an S3 bucket that must exist (NoSuchBucketException); one in
  another account must also let AWS Config write through its bucket policy
  (InsufficientDeliveryPolicyException). moto accepts any bucket name;
- CreateTrail writes to a bucket of any account, whose bucket policy must let CloudTrail write
  (InsufficientS3BucketPolicyException); moto looks in the caller's own account only and reads
  no policy;
- Control Tower's own recorder, delivery channel and trail (named `aws-controltower-...`) are
  changed by no one but Control Tower's role: its mandatory controls (service control
  policies) deny everyone else, even an account's administrators (AccessDenied, explicit deny
  in a service control policy);
- with `controlTowerBaseline` on, every new account is enrolled as Control Tower enrols it: its
  recorder and delivery channel are Control Tower's, recording.
"""

import json

from . import state, wire

CONTROL_TOWER_PREFIX = "aws-controltower-"
CONTROL_TOWER_ROLE = "AWSControlTowerExecution"
CONTROL_TOWER_RECORDER = "aws-controltower-BaselineConfigRecorder"
CONTROL_TOWER_CHANNEL = "aws-controltower-BaselineConfigDeliveryChannel"

# The changes Control Tower's controls deny, and where each call names the resource.
GUARDED = {
    ("config", "PutConfigurationRecorder"): lambda p: (p.get("ConfigurationRecorder") or {}).get("name", ""),
    ("config", "DeleteConfigurationRecorder"): lambda p: p.get("ConfigurationRecorderName", ""),
    ("config", "StopConfigurationRecorder"): lambda p: p.get("ConfigurationRecorderName", ""),
    ("config", "PutDeliveryChannel"): lambda p: (p.get("DeliveryChannel") or {}).get("name", ""),
    ("config", "DeleteDeliveryChannel"): lambda p: p.get("DeliveryChannelName", ""),
    ("cloudtrail", "UpdateTrail"): lambda p: p.get("Name", ""),
    ("cloudtrail", "DeleteTrail"): lambda p: p.get("Name", ""),
    ("cloudtrail", "StopLogging"): lambda p: p.get("Name", ""),
    ("cloudtrail", "PutEventSelectors"): lambda p: p.get("TrailName", ""),
}


def _bucket(name):
    """(account, bucket) of the S3 bucket `name` in whichever account holds it, or None."""
    from moto.s3.models import s3_backends

    for account, partitions in list(s3_backends.items()):
        backend = partitions.get("aws") if hasattr(partitions, "get") else None
        if backend is not None and name in backend.buckets:
            return account, backend.buckets[name]
    return None


def _lets_write(bucket, service):
    """Whether the bucket's policy allows `service` to put objects."""
    raw = getattr(bucket, "policy", None)
    if not raw:
        return False
    try:
        doc = json.loads(raw)
    except ValueError:
        return False
    for st in doc.get("Statement", []):
        if st.get("Effect") != "Allow":
            continue
        services = st.get("Principal", {})
        services = services.get("Service", []) if isinstance(services, dict) else []
        services = [services] if isinstance(services, str) else services
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if service in services and any(a in ("s3:PutObject", "s3:*", "*") for a in actions):
            return True
    return False


def control_tower_refusal(call, caller):
    """Control Tower's controls: a change to one of its resources by anyone but its role."""
    name_of = GUARDED.get((call.service, call.operation))
    if name_of is None or caller.role_name == CONTROL_TOWER_ROLE:
        return None
    name = name_of(call.params)
    if call.service == "cloudtrail":
        name = name.rsplit("/", 1)[-1]
    if not name.startswith(CONTROL_TOWER_PREFIX):
        return None
    action = f"{call.service}:{call.operation}"
    return wire.access_denied(
        call,
        caller.arn,
        action,
        name,
        "with an explicit deny in a service control policy (Control Tower's mandatory controls)",
    )


def put_delivery_channel(call, caller):
    bucket_name = (call.params.get("DeliveryChannel") or {}).get("s3BucketName", "")
    found = _bucket(bucket_name)
    if found is None:
        return wire.error(call, 400, "NoSuchBucketException", f"Cannot find a S3 bucket named {bucket_name}.")
    account, bucket = found
    if account != caller.account and not _lets_write(bucket, "config.amazonaws.com"):
        return wire.error(
            call,
            400,
            "InsufficientDeliveryPolicyException",
            f"The policy of S3 bucket {bucket_name} does not let AWS Config deliver to it.",
        )
    return None


def create_trail(call, caller):
    bucket_name = call.params.get("S3BucketName", "")
    found = _bucket(bucket_name)
    if found is None:
        return wire.error(call, 400, "S3BucketDoesNotExistException", f"S3 bucket {bucket_name} does not exist.")
    _, bucket = found
    if not _lets_write(bucket, "cloudtrail.amazonaws.com"):
        return wire.error(
            call,
            400,
            "InsufficientS3BucketPolicyException",
            f"Incorrect S3 bucket policy is detected for bucket: {bucket_name}",
        )
    return None


HANDLERS = {
    ("config", "PutDeliveryChannel"): put_delivery_channel,
    ("cloudtrail", "CreateTrail"): create_trail,
}


def refusal(call, caller):
    """AWS's refusal of `call`, or None to let moto answer it."""
    refused = control_tower_refusal(call, caller)
    if refused is not None:
        return refused
    check = HANDLERS.get((call.service, call.operation))
    return check(call, caller) if check else None


def install():
    """moto's CreateTrail looks for the bucket in the caller's account only: the refusal
    above has checked it in every account, so moto's check is left out."""
    from moto.cloudtrail.models import Trail

    Trail.check_bucket_exists = lambda self: None


def enrol(account_id):
    """Control Tower's enrolment of a new account, in each of its governed regions
    (`controlTowerBaseline`): its recorder and channel, recording."""
    from moto.config.models import config_backends

    for region in state.CONFIG.get("controlTowerBaseline") or []:
        backend = config_backends[account_id][region]
        backend.put_configuration_recorder(
            {
                "name": CONTROL_TOWER_RECORDER,
                "roleARN": f"arn:aws:iam::{account_id}:role/aws-controltower-ConfigRecorderRole",
                "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
            }
        )
        backend.put_delivery_channel({"name": CONTROL_TOWER_CHANNEL, "s3BucketName": "aws-controltower-logs"})
        backend.start_configuration_recorder(CONTROL_TOWER_RECORDER)
