"""Executions the local executor runs: moto's Step Functions holds them (StartExecution's name
rules, DescribeExecution), the dispatcher reports their end (`close`) and, when asked to, their
history as it grows (`record`), which GetExecutionHistory then serves in AWS's wire shape."""

import json
from datetime import datetime

from werkzeug.wrappers import Response

from . import state

# History events by execution ARN, as the executor renders them (AWS's field names).
HISTORIES = {}

MAX_RESULTS = 1000


def record(body):
    """Appends the events from index `from` on (a repeat of events already held is ignored)."""
    arn = body["executionArn"]
    start = int(body.get("from", 0))
    with state.LOCK:
        held = HISTORIES.setdefault(arn, [])
        held[start:] = body.get("events", [])
        return {"executionArn": arn, "events": len(held)}


def _epoch(event):
    """The event with its timestamp as JSON 1.0 protocols carry it: epoch seconds."""
    out = dict(event)
    stamp = out.get("timestamp")
    if isinstance(stamp, str):
        out["timestamp"] = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    return out


def _exists(arn):
    from moto.stepfunctions.models import stepfunctions_backends

    try:
        account, region = arn.split(":")[4], arn.split(":")[3]
        stepfunctions_backends[account][region].describe_execution(arn)
    except Exception:  # noqa: BLE001 - any lookup failure means moto does not hold it
        return False
    return True


def history(call):
    """GetExecutionHistory from what the dispatcher recorded (nothing yet for an execution it
    has not picked up); None for an execution moto does not hold, which moto refuses. moto's
    own answer is a canned history unrelated to the execution, so it is never used."""
    p = call.params
    arn = p.get("executionArn", "")
    with state.LOCK:
        events = list(HISTORIES.get(arn, ()))
    if not events and not _exists(arn):
        return None
    if p.get("reverseOrder"):
        events.reverse()
    size = int(p.get("maxResults") or 100)
    size = min(max(size, 1), MAX_RESULTS)
    start = int(p.get("nextToken") or 0)
    page = events[start : start + size]
    doc = {"events": [_epoch(e) for e in page]}
    if not p.get("includeExecutionData", True):
        for e in doc["events"]:
            for details in e.values():
                if isinstance(details, dict):
                    details.pop("input", None)
                    details.pop("output", None)
    if start + size < len(events):
        doc["nextToken"] = str(start + size)
    return Response(json.dumps(doc), content_type=f"application/x-amz-json-{call.json_version}")
