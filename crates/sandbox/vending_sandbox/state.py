"""What the front keeps between requests: its settings and one lock for its own tables."""

import threading

LOCK = threading.RLock()

# Settings, changed with POST /_sandbox/config.
CONFIG = {
    # Authorize every call against the caller's IAM policies (POST /_sandbox/config).
    "enforceIam": False,
    # Status polls a new account's creation request answers IN_PROGRESS for.
    "accountPolls": 2,
    # Reads a new transit gateway attachment stays `pending` for.
    "attachmentReads": 0,
    # EC2 calls a newly created account answers `OptInRequired` to (AWS's first moments).
    "ec2OptInCalls": 0,
    # Where Organizations' CloudTrail events reach EventBridge (us-east-1 in AWS; the stack's
    # region when the forwarder of infra/event-forwarder.yaml carries them there).
    "eventsRegion": "us-east-1",
    # Faults at random: {"rate": 0.3, "seed": 7} makes that share of IAM principals' calls fail
    # with throttling or a 5xx of their service, in its wire shape; null: none.
    "chaos": None,
    # Status polls an account assignment's creation answers IN_PROGRESS for.
    "assignmentPolls": 1,
    # DescribeAccount answers a closing account stays PENDING_CLOSURE for.
    "closurePolls": 2,
    # Accounts the organization may close in 30 days; null: AWS's quota (10% of the member
    # accounts, at least 10, at most 1000).
    "closeQuota": None,
    # Put Organizations' CreateAccountResult when a creation succeeds, as CloudTrail does.
    "announceAccounts": True,
    # Customer-managed policies the platform's baseline (a service-managed stack set with
    # automatic deployment) puts in every new account: [{"name", "path", "document"}].
    "baselinePolicies": [],
    # The regions where Control Tower enrols every new account (its own AWS Config recorder
    # and delivery channel, recording); null: the organization has no Control Tower.
    "controlTowerBaseline": None,
}

# Every AWS call answered: service, operation, status, and whether it changed anything.
CALLS = []
