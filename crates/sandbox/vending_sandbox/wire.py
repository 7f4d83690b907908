"""AWS wire formats: which protocol a request speaks, what operation it names, and how an
error is written back so that the caller's SDK reads the error code.

Each AWS protocol carries errors its own way (the Smithy protocol specifications):
- JSON 1.0 / 1.1 (DynamoDB, Step Functions, SQS; Organizations, EventBridge, SSM, Secrets
  Manager): `{"__type": CODE, "message": ...}`, and the `x-amzn-ErrorType` header;
- the query protocol (IAM, STS): `<ErrorResponse><Error><Type/><Code/><Message/></Error>`;
- EC2's query protocol: `<Response><Errors><Error><Code/><Message/></Error></Errors>`;
- REST-JSON (EKS): the `x-amzn-ErrorType` header and `{"message": ...}`;
- REST-XML (S3): `<Error><Code/><Message/></Error>`.
"""

import json
import urllib.parse
import uuid
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response

JSON = "json"
QUERY = "query"
EC2 = "ec2"
REST_JSON = "rest-json"
REST_XML = "rest-xml"

# Services whose REST paths this module can name operations for.
REST_XML_SERVICES = {"s3"}


@dataclass
class Call:
    """One AWS request as the front sees it."""

    service: str
    region: str
    access_key: str
    protocol: str
    operation: str
    params: dict = field(default_factory=dict)
    json_version: str = "1.1"
    path: str = ""
    method: str = "GET"

    def describe(self):
        return f"{self.service}:{self.operation}"


def credential_scope(headers):
    """(access key, region, service) from the SigV4 Authorization header."""
    auth = headers.get("Authorization", "")
    try:
        cred = auth.split("Credential=")[1].split(",")[0]
        key, _date, region, service, _ = cred.split("/")
        return key, region, service
    except (IndexError, ValueError):
        return "", "us-east-1", ""


def _form(request):
    params = {k: v for k, v in request.args.items()}
    if request.method == "POST" and request.content_type and "form" in request.content_type:
        for k, v in urllib.parse.parse_qsl(request.get_data(as_text=True), keep_blank_values=True):
            params[k] = v
    return params


def raw_path(request):
    """The request path as sent: `%2F` inside principal ARNs stays encoded."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.path
    return raw.split("?", 1)[0]


def s3_operation(request):
    """The S3 operation a REST-XML request names (the ones tenant vending and its tests use)."""
    parts = [p for p in raw_path(request).split("/") if p]
    args = request.args
    m = request.method
    if not parts:
        return "ListBuckets"
    if len(parts) == 1:
        if "versioning" in args:
            return "PutBucketVersioning" if m == "PUT" else "GetBucketVersioning"
        if "versions" in args:
            return "ListObjectVersions"
        if "policy" in args:
            return {"PUT": "PutBucketPolicy", "DELETE": "DeleteBucketPolicy"}.get(m, "GetBucketPolicy")
        if "delete" in args and m == "POST":
            return "DeleteObjects"
        return {
            "PUT": "CreateBucket",
            "DELETE": "DeleteBucket",
            "HEAD": "HeadBucket",
        }.get(m, "ListObjectsV2" if args.get("list-type") == "2" else "ListObjects")
    return {"PUT": "PutObject", "DELETE": "DeleteObject", "HEAD": "HeadObject"}.get(m, "GetObject")


def read_call(request, rest_operation=None):
    """What a signed AWS request asks: service, operation, parameters and protocol."""
    key, region, service = credential_scope(request.headers)
    target = request.headers.get("X-Amz-Target")
    content_type = request.content_type or ""
    call = Call(service=service, region=region, access_key=key, protocol=JSON, operation="")
    call.path = raw_path(request)
    call.method = request.method
    if target:
        call.protocol = JSON
        call.operation = target.split(".")[-1]
        call.json_version = "1.0" if "1.0" in content_type else "1.1"
        try:
            call.params = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            call.params = {}
        return call
    form = _form(request)
    if "Action" in form:
        call.protocol = EC2 if service == "ec2" else QUERY
        call.operation = form["Action"]
        call.params = form
        return call
    if service in REST_XML_SERVICES:
        call.protocol = REST_XML
        call.operation = s3_operation(request)
        call.params = dict(request.args)
        return call
    call.protocol = REST_JSON
    if rest_operation is not None:
        call.operation = rest_operation
    try:
        call.params = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        call.params = {}
    return call


def error(call, status, code, message, extra=None):
    """An error in the caller's protocol, so its SDK reads `code`."""
    protocol = call.protocol if call else JSON
    request_id = str(uuid.uuid4())
    if protocol == JSON:
        body = {"__type": code, "message": message}
        body.update(extra or {})
        content_type = f"application/x-amz-json-{call.json_version if call else '1.1'}"
        return Response(
            json.dumps(body),
            status=status,
            headers={"x-amzn-ErrorType": code, "x-amzn-RequestId": request_id, "Content-Type": content_type},
        )
    if protocol == REST_JSON:
        body = {"message": message}
        body.update(extra or {})
        return Response(
            json.dumps(body),
            status=status,
            headers={"x-amzn-ErrorType": code, "x-amzn-RequestId": request_id, "Content-Type": "application/json"},
        )
    text = escape(message)
    if protocol == EC2:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{escape(code)}</Code><Message>{text}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
        return Response(body, status=status, content_type="text/xml")
    if protocol == REST_XML:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{text}</Message><RequestId>{request_id}</RequestId></Error>"
        )
        return Response(body, status=status, content_type="application/xml")
    kind = "Receiver" if status >= 500 else "Sender"
    body = (
        f"<ErrorResponse><Error><Type>{kind}</Type><Code>{escape(code)}</Code><Message>{text}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return Response(body, status=status, content_type="text/xml")


def access_denied(call, caller_arn, action, resource, why=None):
    """The refusal AWS gives when no policy allows `action`, in the service's own shape."""
    reason = why or f"because no identity-based policy allows the {action} action"
    message = f"User: {caller_arn} is not authorized to perform: {action} on resource: {resource} {reason}"
    if call.protocol == EC2:
        return error(call, 403, "UnauthorizedOperation", f"You are not authorized to perform this operation. {message}")
    if call.protocol in (QUERY, REST_XML):
        return error(call, 403, "AccessDenied", message)
    if call.protocol == REST_JSON:
        return error(call, 403, "AccessDeniedException", message)
    return error(call, 400, "AccessDeniedException", message)


def unknown_operation(call, detail):
    """What an AWS endpoint answers to an operation it does not have."""
    if call.protocol in (QUERY, EC2):
        return error(call, 400, "InvalidAction", f"The sandbox does not serve {call.describe()}: {detail}")
    return error(call, 400, "UnknownOperationException", f"The sandbox does not serve {call.describe()}: {detail}")


def is_aws_shaped(status, headers, body):
    """True when a response is one an SDK can read (not moto's HTML error page)."""
    # moto labels many JSON answers text/html: only the body tells its error pages apart.
    head = body[:200].lstrip().lower()
    return not (head.startswith(b"<!doctype html") or head.startswith(b"<html"))
