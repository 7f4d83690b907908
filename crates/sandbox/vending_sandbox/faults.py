"""Injected faults: the next N calls of an operation fail with an AWS error, in the caller's
protocol. A fault may strike before the call (nothing happens) or after it (the call takes
effect and its answer is lost, as when a Lambda times out or a connection drops)."""

from . import state, wire

FAULTS = []  # [{"operation", "service", "code", "status", "count", "message", "after", "reasons"}]

# A crash: the caller dies right after its n-th call (counting the calls of IAM principals, not
# the sandbox's root) takes effect, before it sees the answer, as a Lambda that times out. With
# a stream, only that stream's calls count (see `stream`).
CRASH = {"after": None, "stream": None, "seen": 0, "struck": None}


def stream(call, caller):
    """The calls one function makes in order, whatever else runs meanwhile: its principal's
    role (or user) and the service. The branches of a Parallel state run at once, but each
    branch's function calls its own services through its own roles, and a handler never makes
    two calls at once, so the n-th call of a stream is the same call in every run."""
    who = caller.role_name or caller.user_name or "root"
    return f"{who}|{call.service}"


# What each service answers when it throttles or fails, as (status, code): the codes its SDK
# reads as throttling or as a server error.
CHAOS_ERRORS = {
    "iam": [(400, "Throttling"), (500, "ServiceFailure")],
    "sts": [(400, "Throttling"), (500, "InternalFailure")],
    "ec2": [(503, "RequestLimitExceeded"), (500, "InternalError")],
    "dynamodb": [(400, "ThrottlingException"), (500, "InternalServerError")],
    "organizations": [(400, "TooManyRequestsException"), (500, "ServiceException")],
    "events": [(400, "ThrottlingException"), (500, "InternalException")],
    "states": [(400, "ThrottlingException"), (500, "ServiceUnavailable")],
    "eks": [(429, "ThrottlingException"), (503, "ServiceUnavailableException")],
    "s3": [(503, "SlowDown"), (500, "InternalError")],
    "secretsmanager": [(400, "ThrottlingException"), (500, "InternalServiceError")],
}
CHAOS = {"rng": None, "seed": None, "injected": {}}


def chaos_fault(call, caller):
    """A random throttle or 5xx for this call, as `chaos` asks, or None."""
    import random

    settings = state.CONFIG.get("chaos")
    if not settings or caller.is_root:
        return None
    with state.LOCK:
        if CHAOS["seed"] != settings.get("seed"):
            CHAOS.update({"rng": random.Random(settings.get("seed")), "seed": settings.get("seed"), "injected": {}})
        rng = CHAOS["rng"]
        if rng.random() >= float(settings.get("rate", 0)):
            return None
        status, code = rng.choice(CHAOS_ERRORS.get(call.service, [(500, "InternalFailure")]))
        key = f"{call.service} {code}"
        CHAOS["injected"][key] = CHAOS["injected"].get(key, 0) + 1
    return {
        "code": code,
        "status": status,
        "message": "fault injected at random by the sandbox",
        "reasons": None,
    }


def arm_crash(after, in_stream=None):
    with state.LOCK:
        CRASH.update({"after": int(after), "stream": in_stream, "seen": 0, "struck": None})


def is_crash_point(caller, status):
    """A call the crash counter counts: one that took effect (answered 2xx), by any principal
    but the sandbox's root. The call log marks them, so a sweep numbers points as this does."""
    return status < 300 and not caller.is_root


def crash_strikes(call, caller):
    """True when this call, a crash point, is the one the caller dies after."""
    with state.LOCK:
        if CRASH["after"] is None:
            return False
        if CRASH["stream"] is not None and CRASH["stream"] != stream(call, caller):
            return False
        CRASH["seen"] += 1
        if CRASH["seen"] != CRASH["after"]:
            return False
        CRASH["struck"] = {"service": call.service, "operation": call.operation, "caller": caller.arn}
        return True


def add(spec):
    with state.LOCK:
        FAULTS.append(
            {
                "operation": spec["operation"],
                "service": spec.get("service"),
                "code": spec.get("code", "InternalFailure"),
                "status": int(spec.get("status", 500)),
                "count": int(spec.get("count", 1)),
                "message": spec.get("message", "fault injected by the sandbox"),
                "after": bool(spec.get("after", False)),
                "reasons": spec.get("reasons"),
            }
        )


def clear():
    with state.LOCK:
        FAULTS.clear()
        CRASH.update({"after": None, "stream": None, "seen": 0, "struck": None})


def take(call, after):
    """The fault that strikes this call at this moment, if any (its count goes down by one)."""
    with state.LOCK:
        for f in FAULTS:
            if (
                f["count"] > 0
                and f["operation"] == call.operation
                and f["after"] == after
                and f["service"] in (None, call.service)
            ):
                f["count"] -= 1
                return dict(f)
    return None


def response(call, fault):
    """The fault as the service would answer it."""
    extra = None
    if fault["code"] == "TransactionCanceledException":
        items = call.params.get("TransactItems", [])
        wanted = fault.get("reasons") or ["TransactionConflict"]
        reasons = []
        for i in range(len(items)):
            code = wanted[i] if i < len(wanted) else wanted[-1]
            reasons.append(
                {"Code": code, "Message": "Transaction is ongoing for the item"} if code != "None" else {"Code": "None"}
            )
        extra = {"CancellationReasons": reasons}
        message = "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]".format(
            ", ".join(r["Code"] for r in reasons)
        )
        return wire.error(call, fault["status"], fault["code"], message, extra)
    return wire.error(call, fault["status"], fault["code"], fault["message"], extra)
