"""The front: one WSGI application in front of moto's. For each signed AWS request, in order:
an injected fault that strikes before the call; IAM authorization of the caller (when
enforced); the services' own refusals (Organizations, IAM, EC2, EventBridge); the operations
the front serves itself (EKS access entries, slow account creation, AWS Backup's selections);
moto; an injected fault
that strikes after the call. Whatever moto answers that an SDK cannot read (its HTML error
pages) becomes an AWS error in the caller's protocol.

Control paths under /_sandbox/ (JSON): health, config, faults, account-failures, events,
calls, creations, executions and executions/history; see README.md.
"""

import io
import json
import threading
import time
import uuid

from werkzeug.wrappers import Request, Response

from . import authz, backup, ec2_rules, eks, executions, faults, iam_rules, organizations, recording, sso, state, wire

READ_PREFIXES = ("Describe", "List", "Get", "Head", "Scan", "Query", "BatchGet", "TransactGet", "Lookup", "Search")

# DynamoDB applies a conditional write or a transaction atomically; moto, serving requests on
# several threads, checks the conditions and writes in separate steps. One at a time here.
DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
DYNAMODB_LOCK = threading.Lock()


class Front:
    def __init__(self, moto_app):
        self.moto = moto_app

    def __call__(self, environ, start_response):
        request = Request(environ)
        # Read the body once and put it back, so moto can read it again.
        data = request.get_data(cache=True)
        environ["wsgi.input"] = io.BytesIO(data)
        if request.path.startswith("/_sandbox/"):
            return self.control(request)(environ, start_response)
        key, _, service = wire.credential_scope(request.headers)
        if not service:
            return self.moto(environ, start_response)
        eks_op = eks.operation(request) if service == "eks" else None
        rest_op = eks_op[0] if eks_op else (eks.cluster_operation(request) if service == "eks" else None)
        if service == "backup":
            rest_op = backup.operation(request)
        call = wire.read_call(request, rest_op)
        started = time.perf_counter()
        caller = authz.caller_of(call.access_key)
        response, point = self.handle(call, caller, environ, data, eks_op)
        # AWS answers every call with a request id (S3 as x-amz-request-id); the front's own
        # handlers do too, as moto's answers do.
        if "x-amzn-RequestId" not in response.headers and "x-amz-request-id" not in response.headers:
            name = "x-amz-request-id" if call.service == "s3" else "x-amzn-RequestId"
            response.headers[name] = str(uuid.uuid4())
        served = time.perf_counter() - started
        with state.LOCK:
            state.CALLS.append(
                {
                    "service": call.service,
                    "operation": call.operation,
                    "status": response.status_code,
                    "mutating": not call.operation.startswith(READ_PREFIXES),
                    "root": caller.is_root,
                    "stream": faults.stream(call, caller),
                    "point": point,
                    "seconds": round(served, 6),
                }
            )
        return response(environ, start_response)

    def forward(self, environ, data, rewrite=None):
        """moto's answer as (status, headers, body); `rewrite` may change a JSON body first."""
        env = dict(environ)
        if rewrite is not None:
            data = json.dumps(rewrite(json.loads(data or b"{}"))).encode()
            env["CONTENT_LENGTH"] = str(len(data))
        env["wsgi.input"] = io.BytesIO(data)
        captured = {}

        def start(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        try:
            body = b"".join(self.moto(env, start))
        except NotImplementedError as e:
            return 501, {}, f"<!doctype html><p>not yet implemented: {e}</p>".encode()
        except Exception as e:  # noqa: BLE001 - any moto failure becomes an AWS error, not a dropped request
            return 500, {}, f"<!doctype html><p>{type(e).__name__}: {e}</p>".encode()
        return int(captured["status"].split()[0]), dict(captured["headers"]), body

    def handle(self, call, caller, environ, data, eks_op):
        """The answer, and whether the call is a crash point (it took effect)."""
        fault = faults.take(call, after=False) or faults.chaos_fault(call, caller)
        if fault:
            return faults.response(call, fault), False
        if authz.enforced():
            refusal = authz.authorize(call, caller)
            if refusal:
                return wire.access_denied(call, caller.arn, *refusal), False
        refused = (
            organizations.refuse_outside_management(call, caller)
            or iam_rules.check(call, caller)
            or organizations.optin_refusal(call, caller)
            or recording.refusal(call, caller)
        )
        if refused is not None:
            return refused, False
        response = self.serve(call, caller, environ, data, eks_op)
        fault = faults.take(call, after=True)
        if fault and response.status_code < 300:
            # It took effect, but the fault answers it: the crash counter leaves it out.
            return faults.response(call, fault), False
        point = faults.is_crash_point(caller, response.status_code)
        if point and faults.crash_strikes(call, caller):
            crash = wire.error(call, 400, "SandboxCrash", f"the caller died after {call.describe()} took effect")
            return crash, True
        return response, point

    def serve(self, call, caller, environ, data, eks_op):
        def forward(rewrite=None):
            return self.forward(environ, data, rewrite)

        if eks_op:
            _, cluster, principal, policy = eks_op
            return eks.handle(call, caller.account, cluster, principal, policy)
        if call.service == "organizations" and call.operation in organizations.HANDLERS:
            answer = organizations.HANDLERS[call.operation](call, caller, forward)
            if answer is not None:
                return answer
        if call.service == "backup" and call.operation in backup.HANDLERS:
            answer = backup.HANDLERS[call.operation](call, caller)
            if answer is not None:
                return answer
        if call.service == "sso" and call.operation in sso.HANDLERS:
            answer = sso.HANDLERS[call.operation](call, caller, forward)
            if answer is not None:
                return answer
        if call.service == "states" and call.operation == "GetExecutionHistory":
            answer = executions.history(call)
            if answer is not None:
                return answer
        if call.service == "ec2" and call.operation == "DescribeTransitGatewayVpcAttachments":
            ec2_rules.read_attachments(caller.account, call.region)
        if call.service == "events" and call.operation == "PutEvents":
            answer = self.put_events(call, environ, data)
            if answer is not None:
                return answer
        if call.service == "dynamodb" and call.operation in DYNAMODB_WRITES:
            with DYNAMODB_LOCK:
                status, headers, body = forward()
        else:
            status, headers, body = forward()
        return self.readable(call, status, headers, body)

    def put_events(self, call, environ, data):
        """Customers may not put events whose source starts with `aws.` (AWS services do)."""
        entries = call.params.get("Entries", [])
        theirs = [i for i, e in enumerate(entries) if str(e.get("Source", "")).startswith("aws.")]
        if not theirs:
            return None
        rest = [e for i, e in enumerate(entries) if i not in theirs]
        results = []
        if rest:
            status, headers, body = self.forward(environ, data, lambda b: dict(b, Entries=rest))
            if status != 200:
                return self.readable(call, status, headers, body)
            results = json.loads(body).get("Entries", [])
        out = []
        for i in range(len(entries)):
            if i in theirs:
                out.append(
                    {
                        "ErrorCode": "NotAuthorizedForSourceException",
                        "ErrorMessage": "Not authorized for the source.",
                    }
                )
            else:
                out.append(results.pop(0) if results else {})
        doc = {"FailedEntryCount": len(theirs), "Entries": out}
        return Response(json.dumps(doc), content_type="application/x-amz-json-1.1")

    def readable(self, call, status, headers, body):
        """moto's answer, or an AWS error where moto answered with an HTML page."""
        if wire.is_aws_shaped(status, headers, body):
            return Response(body, status=status, headers=headers)
        text = body.decode("utf-8", "replace")
        if "not yet implemented" in text or "has not been implemented" in text or status in (404, 501):
            return wire.unknown_operation(call, "moto has no such operation")
        last = [line for line in text.splitlines() if line.strip()][-1:] or ["no detail"]
        return wire.error(call, 500, "InternalFailure", f"the sandbox failed on {call.describe()}: {last[0][:300]}")

    def control(self, request):
        path = request.path
        method = request.method
        body = json.loads(request.get_data(as_text=True) or "{}") if method in ("POST", "PUT") else {}

        def ok(doc):
            return Response(json.dumps(doc, default=str), content_type="application/json")

        if path == "/_sandbox/health":
            return ok({"status": "ok"})
        if path == "/_sandbox/config":
            with state.LOCK:
                if method == "POST":
                    unknown = set(body) - set(state.CONFIG)
                    if unknown:
                        return Response(
                            json.dumps({"message": f"unknown settings: {sorted(unknown)}"}),
                            status=400,
                            content_type="application/json",
                        )
                    state.CONFIG.update(body)
                return ok(state.CONFIG)
        if path == "/_sandbox/faults":
            if method == "DELETE":
                faults.clear()
            elif method == "POST":
                faults.add(body)
            return ok(faults.FAULTS)
        if path == "/_sandbox/chaos":
            with state.LOCK:
                return ok({"injected": dict(faults.CHAOS["injected"])})
        if path == "/_sandbox/crash":
            if method == "POST":
                faults.arm_crash(body["after"], body.get("stream"))
            with state.LOCK:
                return ok(dict(faults.CRASH))
        if path == "/_sandbox/creations":
            return ok(organizations.creations())
        if path == "/_sandbox/account-failures" and method == "POST":
            organizations.inject(body["reason"], body.get("count", 1))
            return ok({"injected": body})
        if path == "/_sandbox/events" and method == "POST":
            organizations.put_service_event(
                body["account"], body["region"], body["source"], body["detailType"], body["detail"]
            )
            return ok({"put": True})
        if path == "/_sandbox/calls":
            with state.LOCK:
                calls = list(state.CALLS)
                if method == "DELETE":
                    state.CALLS.clear()
            return ok(calls)
        if path == "/_sandbox/reset" and method == "POST":
            reset()
            return ok({"reset": True})
        if path == "/_sandbox/executions" and method == "POST":
            return ok(close_execution(body))
        if path == "/_sandbox/executions/history" and method == "POST":
            return ok(executions.record(body))
        return Response('{"message": "unknown sandbox path"}', status=404, content_type="application/json")


def reset():
    """Forgets everything: moto's backends and the front's own tables (settings stay)."""
    from moto.moto_api._internal.models import moto_api_backend
    from moto.organizations.models import organizations_backends

    moto_api_backend.reset()
    organizations_backends.master_accounts.clear()
    with state.LOCK:
        faults.FAULTS.clear()
        state.CALLS.clear()
        for table in (
            organizations.POLLS,
            organizations.REFUSED,
            organizations.NEW_ACCOUNTS,
            eks.ACCESS_ENTRIES,
            eks.ASSOCIATIONS,
            ec2_rules.READS,
            executions.HISTORIES,
            backup.SELECTIONS,
        ):
            table.clear()
        organizations.INJECTED.clear()
        organizations.CREATING.clear()
        organizations.MOST_CREATING["at_once"] = 0
        organizations.ANNOUNCED.clear()
        organizations.CLOSING.clear()
        sso.PENDING.clear()
        sso.DONE.clear()
        sso.REMOVED.clear()
        organizations.CLOSURES.clear()
        faults.CHAOS.update({"rng": None, "seed": None, "injected": {}})


def close_execution(body):
    """Records the end of an execution the local executor ran, in moto's Step Functions, so its
    DescribeExecution and StartExecution's name rules are AWS's."""
    from moto.core.utils import utcnow
    from moto.stepfunctions.models import stepfunctions_backends

    arn = body["executionArn"]
    account, region = arn.split(":")[4], arn.split(":")[3]
    backend = stepfunctions_backends[account][region]
    machine_arn = arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
    machine = backend.describe_state_machine(machine_arn)
    for execution in machine.executions:
        if execution.execution_arn == arn:
            execution.status = body["status"]
            execution.stop_date = utcnow()
            execution.output = body.get("output")
            execution.error = body.get("error")
            execution.cause = body.get("cause")
            return {"executionArn": arn, "status": execution.status}
    return {"executionArn": arn, "status": "UNKNOWN"}
