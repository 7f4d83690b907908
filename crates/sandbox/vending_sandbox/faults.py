"""Injected faults: the next N calls of an operation fail with an AWS error, in the caller's
protocol. A fault may strike before the call (nothing happens) or after it (the call takes
effect and its answer is lost, as when a Lambda times out or a connection drops)."""

from . import state, wire

FAULTS = []  # [{"operation", "service", "code", "status", "count", "message", "after", "reasons"}]


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
