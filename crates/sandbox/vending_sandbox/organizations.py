"""AWS Organizations as AWS behaves, where moto is kinder:
- account creation takes a few polls: CreateAccount answers IN_PROGRESS, and so do
  DescribeCreateAccountStatus and ListCreateAccountStatus until the request was polled enough;
- a second account with an email the organization already has ends FAILED with
  EMAIL_ALREADY_EXISTS (moto creates it), and other final reasons can be injected
  (CONCURRENT_ACCOUNT_MODIFICATION, ACCOUNT_LIMIT_EXCEEDED, ...);
- CreateAccount, MoveAccount and CloseAccount answer AccessDeniedException outside the
  management account;
- a new account gets its member role (RoleName, OrganizationAccountAccessRole by default) with
  AdministratorAccess, trusting the management account, and no other role; and the policies
  of the platform's baseline (`baselinePolicies`), as an organization stack set deploys them;
- when a creation succeeds, Organizations' `CreateAccountResult` event reaches EventBridge, as
  CloudTrail delivers it: the account name masked as `****`;
- CloseAccount (moto suspends at once) leaves the account PENDING_CLOSURE for a few
  DescribeAccount calls (`closurePolls`) before it is SUSPENDED; it refuses the management
  account (CANNOT_CLOSE_MANAGEMENT_ACCOUNT) and, past AWS's quota of closures in a rolling 30
  days (10% of the member accounts, at least 10 and at most 1000; `closeQuota` overrides it),
  answers ConstraintViolationException CLOSE_ACCOUNT_QUOTA_EXCEEDED.
"""

import datetime
import json
import uuid

from . import recording, state, wire

POLLS = {}  # creation request id -> polls answered so far
REFUSED = {}  # creation request id -> status of a request the sandbox fails
INJECTED = []  # [{"reason", "count"}] the next creations fail with these reasons
ANNOUNCED = set()  # creation request ids whose CreateAccountResult was put
NEW_ACCOUNTS = {}  # account id -> EC2 calls it still answers OptInRequired to
CREATING = set()  # creation request ids not yet seen ended
MOST_CREATING = {"at_once": 0}  # the most creations in progress at once since the reset
CLOSING = {}  # account id -> DescribeAccount answers it still shows PENDING_CLOSURE for
CLOSURES = []  # when each accepted CloseAccount came (the rolling 30-day quota)
CLOSURE_WINDOW = 30 * 24 * 3600
ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"


def _backend(account):
    from moto.organizations.models import organizations_backends

    return organizations_backends[account]["aws"]


def management_account(account):
    """The management account of the organization `account` belongs to (None: no organization)."""
    from moto.organizations.models import organizations_backends

    if _backend(account).org is not None:
        return account
    owner = organizations_backends.master_accounts.get(account)
    return owner[0] if owner else None


def inject(reason, count):
    with state.LOCK:
        INJECTED.append({"reason": reason, "count": int(count)})


def _injected_reason():
    with state.LOCK:
        for f in INJECTED:
            if f["count"] > 0:
                f["count"] -= 1
                return f["reason"]
    return None


def _now():
    return datetime.datetime.now(datetime.UTC).timestamp()


def _json(doc):
    from werkzeug.wrappers import Response

    return Response(json.dumps(doc), status=200, content_type="application/x-amz-json-1.1")


def refuse_outside_management(call, caller):
    """AccessDeniedException for management-only operations called from a member account."""
    if call.operation not in ("CreateAccount", "MoveAccount", "CloseAccount"):
        return None
    mgmt = management_account(caller.account)
    if mgmt is not None and mgmt != caller.account:
        return wire.error(
            call,
            400,
            "AccessDeniedException",
            f"You don't have permissions to access this resource. {call.operation} can be called "
            f"only from the organization's management account ({mgmt}).",
        )
    return None


def create_account(call, caller, forward):
    """CreateAccount: refused emails and injected reasons fail later; others go to moto."""
    name = call.params.get("AccountName", "")
    email = call.params.get("Email", "")
    backend = _backend(caller.account)
    reason = _injected_reason()
    if reason is None and backend.org is not None:
        if any(a.email.lower() == email.lower() for a in backend.accounts):
            reason = "EMAIL_ALREADY_EXISTS"
    if reason is not None:
        rid = "car-" + uuid.uuid4().hex
        status = {"Id": rid, "AccountName": name, "State": "IN_PROGRESS", "RequestedTimestamp": _now()}
        with state.LOCK:
            REFUSED[rid] = dict(status, FailureReason=reason)
            POLLS[rid] = 0
        _started(rid)
        return _json({"CreateAccountStatus": status})
    status_code, headers, body = forward()
    if status_code != 200:
        return None
    doc = json.loads(body)
    st = doc.get("CreateAccountStatus", {})
    account_id = st.get("AccountId")
    if account_id:
        _give_member_role(account_id, call.params.get("RoleName") or "OrganizationAccountAccessRole")
        with state.LOCK:
            NEW_ACCOUNTS[account_id] = state.CONFIG["ec2OptInCalls"]
            POLLS.setdefault(st.get("Id"), 0)
    _started(st.get("Id"))
    st["State"] = "IN_PROGRESS"
    st.pop("AccountId", None)
    st.pop("CompletedTimestamp", None)
    return _json(doc)


def _give_member_role(account_id, role_name):
    from moto.iam.models import iam_backends

    iam = iam_backends[account_id]["aws"]
    iam.attach_role_policy(ADMINISTRATOR, role_name)
    recording.enrol(account_id)
    for policy in state.CONFIG["baselinePolicies"]:
        iam.create_policy(
            description="platform baseline",
            path=policy.get("path", "/"),
            policy_document=json.dumps(policy["document"]),
            policy_name=policy["name"],
            tags=[],
        )


def _started(rid):
    """Counts a creation in progress (how many run at once is what a cap must bound)."""
    with state.LOCK:
        CREATING.add(rid)
        MOST_CREATING["at_once"] = max(MOST_CREATING["at_once"], len(CREATING))


def creations():
    """How many creations are in progress, and the most there were at once."""
    with state.LOCK:
        return {"inProgress": len(CREATING), "mostAtOnce": MOST_CREATING["at_once"]}


def _progress(st, count_poll):
    """Rewrites a creation status as AWS would show it after this many polls."""
    rid = st.get("Id")
    with state.LOCK:
        polls = POLLS.setdefault(rid, 0)
        if count_poll:
            POLLS[rid] = polls + 1
        if count_poll and polls >= state.CONFIG["accountPolls"]:
            CREATING.discard(rid)
    if polls < state.CONFIG["accountPolls"]:
        st["State"] = "IN_PROGRESS"
        st.pop("AccountId", None)
        st.pop("CompletedTimestamp", None)
        st.pop("FailureReason", None)
    return st


def describe_create_account_status(call, caller, forward):
    rid = call.params.get("CreateAccountRequestId", "")
    with state.LOCK:
        refused = REFUSED.get(rid)
    if refused is not None:
        st = dict(refused, State="FAILED", CompletedTimestamp=_now())
        return _json({"CreateAccountStatus": _progress(st, True)})
    status_code, headers, body = forward()
    if status_code != 200:
        return None
    doc = json.loads(body)
    st = _progress(doc.get("CreateAccountStatus", {}), True)
    if st.get("State") == "SUCCEEDED":
        announce(caller.account, st)
    return _json(doc)


def list_create_account_status(call, caller, forward):
    status_code, headers, body = forward_all(call, forward)
    if status_code != 200:
        return None
    doc = json.loads(body)
    wanted = call.params.get("States") or ["IN_PROGRESS", "SUCCEEDED", "FAILED"]
    statuses = [_progress(st, False) for st in doc.get("CreateAccountStatuses", [])]
    with state.LOCK:
        refused = [dict(r, State="FAILED") for r in REFUSED.values()]
    statuses += [_progress(st, False) for st in refused]
    doc["CreateAccountStatuses"] = [st for st in statuses if st.get("State") in wanted]
    return _json(doc)


def forward_all(call, forward):
    """moto filters by state before the sandbox's own rewriting: ask it for every state."""
    return forward(lambda body: dict(body, States=["IN_PROGRESS", "SUCCEEDED", "FAILED"]))


def announce(management, st):
    """Puts the `CreateAccountResult` event of a finished creation, once."""
    rid = st.get("Id")
    with state.LOCK:
        if rid in ANNOUNCED or not state.CONFIG["announceAccounts"]:
            return
        ANNOUNCED.add(rid)
    region = state.CONFIG["eventsRegion"]
    detail = {
        "eventVersion": "1.08",
        "userIdentity": {"accountId": management, "invokedBy": "AWS Internal"},
        "eventTime": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "organizations.amazonaws.com",
        "eventName": "CreateAccountResult",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "AWS Internal",
        "userAgent": "AWS Internal",
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsServiceEvent",
        "managementEvent": True,
        "recipientAccountId": management,
        "serviceEventDetails": {
            "createAccountStatus": {
                "id": rid,
                "state": "SUCCEEDED",
                # CloudTrail masks the account name in this event.
                "accountName": "****",
                "accountId": st.get("AccountId"),
                "requestedTimestamp": str(st.get("RequestedTimestamp")),
                "completedTimestamp": str(st.get("CompletedTimestamp")),
            }
        },
    }
    put_service_event(management, region, "aws.organizations", "AWS Service Event via CloudTrail", detail)


def put_service_event(account, region, source, detail_type, detail):
    """Puts an AWS service's event on `account`'s default bus in `region`, as AWS does."""
    from moto.events.models import events_backends

    events_backends[account][region].put_events(
        [{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": "default"}]
    )


def optin_refusal(call, caller):
    """OptInRequired while a new account's EC2 is not yet ready for it."""
    if call.service != "ec2":
        return None
    with state.LOCK:
        left = NEW_ACCOUNTS.get(caller.account, 0)
        if left <= 0:
            return None
        NEW_ACCOUNTS[caller.account] = left - 1
    return wire.error(
        call,
        401,
        "OptInRequired",
        "You are not subscribed to this service. Please go to http://aws.amazon.com to subscribe.",
    )


def _constraint(call, reason, message):
    return wire.error(call, 400, "ConstraintViolationException", message, {"Reason": reason})


def close_quota(backend):
    """How many accounts the organization may close in 30 days."""
    override = state.CONFIG.get("closeQuota")
    if override is not None:
        return int(override)
    members = sum(1 for a in backend.accounts if a.id != backend.org.master_account_id)
    return max(10, min(1000, members // 10))


def close_account(call, caller, forward):
    """CloseAccount as AWS serves it: the management account refused, the quota, then a
    pending closure that DescribeAccount sees end."""
    backend = _backend(caller.account)
    if backend.org is None:
        return None
    account_id = call.params.get("AccountId", "")
    if account_id == backend.org.master_account_id:
        return _constraint(
            call,
            "CANNOT_CLOSE_MANAGEMENT_ACCOUNT",
            "You can't close the management account with the CloseAccount operation.",
        )
    account = next((a for a in backend.accounts if a.id == account_id), None)
    if account is None:
        return None
    with state.LOCK:
        if account_id in CLOSING:
            return wire.error(call, 400, "ConflictException", f"Account {account_id} is already being closed.")
        if account.status != "ACTIVE":
            return None  # moto: AccountAlreadyClosedException
        now = _now()
        CLOSURES[:] = [t for t in CLOSURES if now - t < CLOSURE_WINDOW]
        if len(CLOSURES) >= close_quota(backend):
            return _constraint(
                call,
                "CLOSE_ACCOUNT_QUOTA_EXCEEDED",
                "You have exceeded close account quota for the past 30 days.",
            )
        CLOSURES.append(now)
        CLOSING[account_id] = state.CONFIG.get("closurePolls", 2)
        account.status = "PENDING_CLOSURE"
        account.state = "PENDING_CLOSURE"
    return _json({})


def describe_account(call, caller, forward):
    """A closing account is SUSPENDED once DescribeAccount has seen it pending enough."""
    account_id = call.params.get("AccountId", "")
    with state.LOCK:
        left = CLOSING.get(account_id)
        if left is None:
            return None
        if left > 0:
            CLOSING[account_id] = left - 1
            return None
        del CLOSING[account_id]
    backend = _backend(caller.account)
    for account in backend.accounts if backend.org is not None else []:
        if account.id == account_id:
            account.status = "SUSPENDED"
            account.state = "SUSPENDED"
    return None


HANDLERS = {
    "CloseAccount": close_account,
    "DescribeAccount": describe_account,
    "CreateAccount": create_account,
    "DescribeCreateAccountStatus": describe_create_account_status,
    "ListCreateAccountStatus": list_create_account_status,
}
