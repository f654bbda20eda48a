#!/usr/bin/env python3
"""STS test peer: a signature-verifying, MFA-playing, fault-injecting, counting proxy in front of moto.

awsenv's STS client (and boto3/awscli in the tests) talk to this proxy; it relays every Query-API request
(STS, and IAM for seeding) to a moto server and answers with moto's reply unchanged. On the way it does
what moto cannot:

* verifies each request's SigV4 signature itself (botocore's ``SigV4Auth`` recomputed over the received
  method, path, signed headers and body), knowing secrets from keys registered through the control API,
  from IAM ``CreateAccessKey`` replies and from the ``Credentials`` of every STS reply it relays. moto's
  GetSessionToken hands out fixed example keys that moto itself then rejects, so GetSessionToken flows run
  moto without checking and rely on this check. A bad signature gets ``SignatureDoesNotMatch`` (403), an
  unknown key or a session token that doesn't belong to the key ``InvalidClientTokenId`` (403), and
  GetSessionToken called with session credentials ``AccessDenied``, as AWS does;
* checks the request time like AWS (5 minutes either way, against a clock a ``clock_skew`` fault can move);
* plays the MFA device: GetSessionToken/AssumeRole carrying ``SerialNumber``/``TokenCode`` must name a
  registered serial and its current code, and a code is accepted once, like a TOTP code; otherwise
  ``AccessDenied`` "MultiFactorAuthentication failed with invalid MFA one time pass code. " without
  reaching moto;
* answers DecodeAuthorizationMessage (moto lacks it) for registered messages;
* injects faults and counts requests per ``Action``.

Run: ``python sts_proxy.py --upstream http://127.0.0.1:MOTO_PORT [--port 0] [--no-verify]
[--exit-on-stdin-eof]``. It prints ``LISTENING <port>`` on stdout once it accepts connections, and one
line per request on stderr. With ``--exit-on-stdin-eof`` it exits when its stdin closes, so a test process
that dies without cleaning up takes the proxy with it.

Control API (loopback only, JSON in and out, no authentication), all under ``/__proxy/``:

``POST /__proxy/reset``
    Forget counts, the request log, queued faults, MFA devices and used codes, DecodeAuthorizationMessage
    registrations, and release hung requests. Keys (registered and learned) and the verify switch stay.
``GET /__proxy/counts``
    ``{"GetSessionToken": 1, "AssumeRole": 2}``: requests per ``Action`` since the last reset, including
    those answered by a fault, the signature check or the MFA check.
``GET /__proxy/requests``
    ``[{"action", "access_key_id", "mfa", "status", "fault", "code", "relayed"}]`` in arrival order:
    ``mfa`` is whether the request carried a ``TokenCode``; ``status`` is null while in flight or when the
    connection was dropped; ``fault`` the injected fault kind or null; ``code`` the AWS error code of the
    answer (whoever gave it) or null; ``relayed`` whether moto saw the request.
``POST /__proxy/faults``
    ``{"action": "AssumeRole" | "*", "kind": KIND, "count": 2, ...}`` queues a fault for the next
    ``count`` requests (default 1; 0 means every matching request until reset) whose ``Action`` matches
    (``*`` matches any). Faults apply in the order queued, one per request. Kinds:
    ``throttle`` (400 ``Throttling`` "Rate exceeded", ``<ErrorResponse><Error>`` shape),
    ``throttle_errors_shape`` (the same in the ``<ErrorResponse><Errors><Error>`` shape),
    ``http_500`` (``InternalFailure``), ``http_503`` (``ServiceUnavailable``),
    ``access_denied`` (403 ``AccessDenied``; optional ``message``),
    ``error`` (any AWS error: ``status``, ``code``, ``message``, optional ``type`` Sender/Receiver),
    ``hang`` (no ``seconds``: never answer, until the client goes away or a reset; with ``seconds``: wait
    that long, then handle the request normally),
    ``garbage`` (200 with a body that is not XML), ``close`` (drop the connection without answering),
    ``clock_skew`` (``offset`` seconds: the request is judged, and the ``Date`` of its answer written, by a
    clock that far from true; off by more than 5 minutes gives AWS's 403 ``SignatureDoesNotMatch``
    "Signature expired: ... is now earlier than ... (... - 5 min.)").
``POST /__proxy/mfa``
    ``{"serial": "arn:aws:iam::123456789012:mfa/alice", "code": "123456"}`` makes ``code`` the device's
    current code (and usable again if it was used).
``POST /__proxy/keys``
    ``{"access_key_id": ..., "secret_access_key": ..., "session_token": null}`` teaches a key.
``POST /__proxy/decode``
    ``{"encoded": "...", "decoded": {...}}``: DecodeAuthorizationMessage of ``encoded`` returns
    ``decoded`` (a JSON value, or a string sent as is). Unregistered messages get
    ``InvalidAuthorizationMessageException``.
``POST /__proxy/verify``
    ``{"enabled": false}`` turns the proxy's own signature check off (or on) at run time.
``GET /__proxy/health``
    ``{"ok": true}``.
"""

from __future__ import annotations

import argparse
import calendar
import hmac
import http.client
import http.server
import json
import re
import os
import select
import socket
import sys
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.utils import formatdate
from xml.sax.saxutils import escape

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
MFA_FAILED = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
BAD_TOKEN = "The security token included in the request is invalid."
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
SKEW_TOLERANCE = 300  # seconds; AWS's "- 5 min."
AMZ_DATE = "%Y%m%dT%H%M%SZ"
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
# kind -> (status, code, default message, Type, in the <Errors><Error> shape)
ERROR_FAULTS = {
    "throttle": (400, "Throttling", "Rate exceeded", "Sender", False),
    "throttle_errors_shape": (400, "Throttling", "Rate exceeded", "Sender", True),
    "http_500": (500, "InternalFailure", "An internal error occurred.", "Receiver", False),
    "http_503": (503, "ServiceUnavailable", "Service is unable to handle request.", "Receiver", False),
    "access_denied": (403, "AccessDenied", "User is not authorized to perform this action", "Sender", False),
}
FAULT_KINDS = set(ERROR_FAULTS) | {
    "error",
    "hang",
    "garbage",
    "close",
    "clock_skew",
}


class Reply(Exception):
    """An answer the proxy gives itself instead of relaying: raised from deep in the checks."""

    def __init__(self, status: int, code: str, message: str, kind: str = "Sender", errors_shape=False):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.kind, self.errors_shape = kind, errors_shape

    def body(self, request_id: str) -> bytes:
        error = (
            f"<Error><Type>{self.kind}</Type><Code>{escape(self.code)}</Code>"
            f"<Message>{escape(self.message)}</Message></Error>"
        )
        if self.errors_shape:
            error = f"<Errors>{error}</Errors>"
        return (
            f'<ErrorResponse xmlns="{STS_NS}">{error}<RequestId>{request_id}</RequestId></ErrorResponse>\n'
        ).encode()


@dataclass
class Fault:
    action: str
    kind: str
    remaining: int | None  # None: until reset
    spec: dict


@dataclass
class State:
    """Everything the proxy knows, behind one lock."""

    verify: bool
    lock: threading.Lock = field(default_factory=threading.Lock)
    # access key id -> list of (secret, session token or None) it was issued with
    keys: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    mfa_codes: dict[str, str] = field(default_factory=dict)
    used_codes: set[tuple[str, str]] = field(default_factory=set)
    decoded: dict[str, str] = field(default_factory=dict)
    # action -> seconds: answers of that action expire this soon (to test renewals quickly)
    expiry: dict[str, int] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)

    def learn(self, akid: str, secret: str, token: str | None) -> None:
        with self.lock:
            known = self.keys.setdefault(akid, [])
            if (secret, token) not in known:
                known.append((secret, token))

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()
            self.requests.clear()
            self.faults.clear()
            self.mfa_codes.clear()
            self.used_codes.clear()
            self.decoded.clear()
            self.expiry.clear()
            self.release.set()
            self.release = threading.Event()

    def take_fault(self, action: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.action in ("*", action):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self.faults.remove(fault)
                    return fault
        return None


class ExactSigV4(SigV4Auth):
    """SigV4 over exactly the headers the request carries (the client's SignedHeaders), as AWS does.

    botocore's signer leaves out headers such as User-Agent when *signing*; a server must canonicalise
    whatever the client listed.
    """

    def headers_to_sign(self, request):
        headers = HTTPHeaders()
        for name, value in request.headers.items():
            headers[name.lower()] = value
        return headers


def parse_authorization(value: str) -> dict[str, str]:
    """Splits ``AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b,
    Signature=HEX``."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        raise Reply(400, "IncompleteSignature", f"Unsupported AWS 'algorithm': '{algorithm}'")
    parts = {}
    for item in rest.split(","):
        key, _, val = item.strip().partition("=")
        parts[key] = val
    if not all(parts.get(k) for k in ("Credential", "SignedHeaders", "Signature")):
        raise Reply(
            400,
            "IncompleteSignature",
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. "
            f"Authorization={value}",
        )
    scope = parts["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise Reply(400, "IncompleteSignature", f"Credential is malformed: {parts['Credential']}")
    return {
        "akid": scope[0],
        "date": scope[1],
        "region": scope[2],
        "service": scope[3],
        "signed_headers": parts["SignedHeaders"],
        "signature": parts["Signature"],
    }


def amz_time(when: float) -> str:
    return time.strftime(AMZ_DATE, time.gmtime(when))


def check_time(headers, now: float) -> None:
    """AWS refuses a request dated more than 5 minutes from its own clock."""
    stamp = headers.get("X-Amz-Date")
    if not stamp:
        return  # the signature check reports the missing date
    try:
        when = calendar.timegm(time.strptime(stamp, AMZ_DATE))
    except ValueError:
        raise Reply(400, "IncompleteSignature", f"Date must be in ISO-8601 'basic format'. Got '{stamp}'.")
    if when < now - SKEW_TOLERANCE:
        raise Reply(
            403,
            "SignatureDoesNotMatch",
            f"Signature expired: {stamp} is now earlier than {amz_time(now - SKEW_TOLERANCE)} "
            f"({amz_time(now)} - 5 min.)",
        )
    if when > now + SKEW_TOLERANCE:
        raise Reply(
            403,
            "SignatureDoesNotMatch",
            f"Signature not yet current: {stamp} is still later than {amz_time(now + SKEW_TOLERANCE)} "
            f"({amz_time(now)} + 5 min.)",
        )


def verify_signature(state: State, method: str, path: str, headers, body: bytes) -> str:
    """Checks the request's SigV4 signature; returns the access key id or raises a ``Reply``."""
    authorization = headers.get("Authorization")
    if not authorization:
        raise Reply(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
    auth = parse_authorization(authorization)
    stamp = headers.get("X-Amz-Date")
    if not stamp:
        raise Reply(
            400,
            "IncompleteSignature",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    if auth["date"] != stamp[:8]:
        raise Reply(
            403,
            "SignatureDoesNotMatch",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{auth['date']}' != '{stamp[:8]}', from '{stamp}'.",
        )
    signed = auth["signed_headers"].split(";")
    if "host" not in signed:
        raise Reply(
            403,
            "SignatureDoesNotMatch",
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        )

    token = headers.get("X-Amz-Security-Token")
    with state.lock:
        candidates = [secret for secret, t in state.keys.get(auth["akid"], []) if t == token]
    if not candidates:
        raise Reply(403, "InvalidClientTokenId", BAD_TOKEN)

    request = AWSRequest(method=method, url=f"http://{headers.get('Host', '')}{path}", data=body or None)
    for name, value in headers.items():
        if name.lower() in signed:
            request.headers[name] = value
    missing = [h for h in signed if h not in request.headers]
    if missing:
        raise Reply(403, "SignatureDoesNotMatch", f"Signed headers missing from the request: {missing}")
    request.context["timestamp"] = stamp
    for secret in candidates:
        signer = ExactSigV4(Credentials(auth["akid"], secret, token), auth["service"], auth["region"])
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if hmac.compare_digest(expected, auth["signature"]):
            return auth["akid"]
    raise Reply(403, "SignatureDoesNotMatch", BAD_SIGNATURE)


def learn_credentials(state: State, body: bytes) -> None:
    """Remembers every AccessKeyId/SecretAccessKey(/SessionToken) pair in a relayed answer."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return
    for element in root.iter():
        fields = {child.tag.rsplit("}", 1)[-1]: (child.text or "").strip() for child in element}
        if fields.get("AccessKeyId") and fields.get("SecretAccessKey"):
            state.learn(fields["AccessKeyId"], fields["SecretAccessKey"], fields.get("SessionToken") or None)


def aws_headers(now: float, request_id: str) -> list[tuple[str, str]]:
    """Headers of an answer the proxy writes itself, dated by its (possibly skewed) clock."""
    return [
        ("x-amzn-RequestId", request_id),
        ("Content-Type", "text/xml"),
        ("Date", formatdate(now, usegmt=True)),
    ]


def error_code(body: bytes) -> str | None:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "Code":
            return element.text
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sts_proxy"
    state: State  # set on the subclass made in main()
    upstream: tuple[str, int]

    # ---- plumbing ------------------------------------------------------------------------------

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass  # one line per request is written by handle_aws instead

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def send(self, status: int, body: bytes, headers: list[tuple[str, str]], reason=None) -> None:
        """Answers with exactly these headers (no Server/Date of http.server's own) and a Content-Length."""
        self.send_response_only(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, value, status: int = 200) -> None:
        self.send(status, json.dumps(value).encode(), [("Content-Type", "application/json")])

    def send_reply(self, reply: Reply, now: float, request_id: str) -> None:
        self.send(reply.status, reply.body(request_id), aws_headers(now, request_id))

    def client_gone(self) -> bool:
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def dispatch(self):
        body = self.read_body()
        if self.path.startswith("/__proxy/"):
            self.handle_control(body)
        else:
            self.handle_aws(body)

    # ---- control API ---------------------------------------------------------------------------

    def handle_control(self, body: bytes) -> None:
        if self.client_address[0] not in ("127.0.0.1", "::1"):
            return self.send_json({"error": "control API is loopback only"}, 403)
        state = self.state
        route = (self.command, urllib.parse.urlsplit(self.path).path)
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError as e:
            return self.send_json({"error": f"body is not JSON: {e}"}, 400)
        if route == ("GET", "/__proxy/health"):
            return self.send_json({"ok": True})
        if route == ("POST", "/__proxy/reset"):
            state.reset()
            return self.send_json({"ok": True})
        if route == ("GET", "/__proxy/counts"):
            with state.lock:
                return self.send_json(dict(state.counts))
        if route == ("GET", "/__proxy/requests"):
            with state.lock:
                return self.send_json([dict(r) for r in state.requests])
        if route == ("POST", "/__proxy/faults"):
            kind = data.get("kind")
            if kind not in FAULT_KINDS:
                known = sorted(FAULT_KINDS)
                return self.send_json({"error": f"unknown fault kind {kind!r}; known: {known}"}, 400)
            if kind == "clock_skew" and not isinstance(data.get("offset"), (int, float)):
                return self.send_json({"error": "clock_skew needs a numeric `offset` in seconds"}, 400)
            count = int(data.get("count", 1))
            fault = Fault(data.get("action") or "*", kind, count if count > 0 else None, data)
            with state.lock:
                state.faults.append(fault)
            return self.send_json({"ok": True})
        if route == ("POST", "/__proxy/mfa"):
            serial, code = data.get("serial"), data.get("code")
            if not serial or not code:
                return self.send_json({"error": "need `serial` and `code`"}, 400)
            with state.lock:
                state.mfa_codes[serial] = str(code)
                state.used_codes.discard((serial, str(code)))
            return self.send_json({"ok": True})
        if route == ("POST", "/__proxy/keys"):
            akid, secret = data.get("access_key_id"), data.get("secret_access_key")
            if not akid or not secret:
                return self.send_json({"error": "need `access_key_id` and `secret_access_key`"}, 400)
            state.learn(akid, secret, data.get("session_token") or None)
            return self.send_json({"ok": True})
        if route == ("POST", "/__proxy/decode"):
            decoded = data.get("decoded")
            text = decoded if isinstance(decoded, str) else json.dumps(decoded, separators=(",", ":"))
            with state.lock:
                state.decoded[data.get("encoded", "")] = text
            return self.send_json({"ok": True})
        if route == ("POST", "/__proxy/expiry"):
            action, seconds = data.get("action"), data.get("seconds")
            if not action or not isinstance(seconds, int):
                return self.send_json({"error": "need `action` and integer `seconds`"}, 400)
            with state.lock:
                state.expiry[action] = seconds
            return self.send_json({"ok": True})
        if route == ("POST", "/__proxy/verify"):
            with state.lock:
                state.verify = bool(data.get("enabled", True))
            return self.send_json({"ok": True})
        return self.send_json({"error": f"no control route {route[0]} {route[1]}"}, 404)

    # ---- AWS requests --------------------------------------------------------------------------

    def handle_aws(self, body: bytes) -> None:
        state = self.state
        query = urllib.parse.urlsplit(self.path).query
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
        if "x-www-form-urlencoded" in self.headers.get("Content-Type", ""):
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            for name, values in form.items():
                params.setdefault(name, []).extend(values)

        def param(name: str) -> str | None:
            return (params.get(name) or [None])[0]

        action = param("Action") or "(none)"
        akid = None
        if auth := self.headers.get("Authorization"):
            akid = auth.partition("Credential=")[2].partition("/")[0] or None
        record = {
            "action": action,
            "access_key_id": akid,
            "mfa": param("TokenCode") is not None,
            "status": None,
            "fault": None,
            "code": None,
            "relayed": False,
        }
        with state.lock:
            state.counts[action] = state.counts.get(action, 0) + 1
            state.requests.append(record)
            verify = state.verify
            release = state.release
        request_id = str(uuid.uuid4())
        now = time.time()
        skewed = False

        fault = state.take_fault(action)
        if fault:
            record["fault"] = fault.kind
        try:
            if fault and fault.kind == "clock_skew":
                now += float(fault.spec["offset"])
                skewed = True
            elif fault:
                if not self.apply_fault(fault, release, record):
                    return
            if verify or skewed:
                check_time(self.headers, now)
            if verify:
                verify_signature(state, self.command, self.path, self.headers, body)
                if action == "GetSessionToken" and self.headers.get("X-Amz-Security-Token"):
                    raise Reply(403, "AccessDenied", "Cannot call GetSessionToken with session credentials")
            if action in ("GetSessionToken", "AssumeRole") and (param("SerialNumber") or param("TokenCode")):
                self.check_mfa(param("SerialNumber"), param("TokenCode"))
            if action == "DecodeAuthorizationMessage":
                return self.answer_decode(param("EncodedMessage"), record, now, request_id)
        except Reply as reply:
            self.send_reply(reply, now, request_id)
            return self.finish_record(record, reply.status, reply.code)

        status, reason, headers, answer = self.relay(body)
        record["relayed"] = True
        if 200 <= status < 300:
            learn_credentials(state, answer)
            with state.lock:
                seconds = state.expiry.get(action)
            if seconds is not None:
                soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))
                answer = re.sub(rb"<Expiration>[^<]*</Expiration>", f"<Expiration>{soon}</Expiration>".encode(), answer)
        if skewed:
            headers = [(n, v) for n, v in headers if n.lower() != "date"]
            headers.append(("Date", formatdate(now, usegmt=True)))
        self.send(status, answer, headers, reason)
        self.finish_record(record, status, None if status < 300 else error_code(answer))

    def finish_record(self, record: dict, status: int | None, code: str | None) -> None:
        with self.state.lock:
            record["status"], record["code"] = status, code
        print(
            f"sts_proxy: {record['action']} key={record['access_key_id']} mfa={record['mfa']} "
            f"fault={record['fault']} -> {status} {code or ''}",
            file=sys.stderr,
            flush=True,
        )

    def apply_fault(self, fault: Fault, release: threading.Event, record: dict) -> bool:
        """Answers with the fault (raising a ``Reply`` for error answers). False when the request is done
        (answered with garbage, or dropped); True when it should go on to be handled normally."""
        kind, spec = fault.kind, fault.spec
        if kind in ERROR_FAULTS:
            status, code, message, sender, errors_shape = ERROR_FAULTS[kind]
            raise Reply(status, code, spec.get("message", message), sender, errors_shape)
        if kind == "error":
            raise Reply(
                int(spec.get("status", 400)),
                spec.get("code", "ValidationError"),
                spec.get("message", "Injected error"),
                spec.get("type", "Sender"),
            )
        if kind == "garbage":
            self.send(200, b"\x00this is not XML {\"garbage\": true", [("Content-Type", "text/xml")])
            self.finish_record(record, 200, None)
            return False
        if kind == "close":
            self.close_connection = True
            self.finish_record(record, None, None)
            return False
        if kind == "hang":
            seconds = spec.get("seconds")
            deadline = time.monotonic() + float(seconds) if seconds is not None else None
            while deadline is None or time.monotonic() < deadline:
                if release.wait(0.05) or self.client_gone():
                    self.close_connection = True
                    self.finish_record(record, None, None)
                    return False
            return True  # a slow server: now handle the request normally
        raise AssertionError(kind)

    def check_mfa(self, serial: str | None, code: str | None) -> None:
        state = self.state
        with state.lock:
            good = serial is not None and code is not None and state.mfa_codes.get(serial) == code
            good = good and (serial, code) not in state.used_codes
            if good:
                state.used_codes.add((serial, code))
        if not good:
            raise Reply(403, "AccessDenied", MFA_FAILED)

    def answer_decode(self, encoded: str | None, record: dict, now: float, request_id: str) -> None:
        with self.state.lock:
            decoded = self.state.decoded.get(encoded or "")
        if decoded is None:
            raise Reply(400, "InvalidAuthorizationMessageException", "Message is not valid")
        body = (
            f'<DecodeAuthorizationMessageResponse xmlns="{STS_NS}"><DecodeAuthorizationMessageResult>'
            f"<DecodedMessage>{escape(decoded)}</DecodedMessage></DecodeAuthorizationMessageResult>"
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
            f"</DecodeAuthorizationMessageResponse>\n"
        ).encode()
        self.send(200, body, aws_headers(now, request_id))
        self.finish_record(record, 200, None)

    def relay(self, body: bytes):
        """Sends the request to moto as received: the client's Host header in particular, which moto's own
        signature check canonicalises."""
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.putheader("Connection", "close")
            conn.endheaders(body)
            response = conn.getresponse()
            answer = response.read()
            headers = [
                (name, value)
                for name, value in response.getheaders()
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length"
            ]
            return response.status, response.reason, headers, answer
        except OSError as e:
            message = f"sts_proxy could not reach moto at {self.upstream}: {e}"
            reply = Reply(502, "BadGateway", message, "Receiver")
            return 502, None, [("Content-Type", "text/xml")], reply.body(str(uuid.uuid4()))
        finally:
            conn.close()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="moto's URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (see LISTENING <port>)")
    parser.add_argument("--no-verify", action="store_true", help="don't check signatures (moto may still)")
    parser.add_argument("--exit-on-stdin-eof", action="store_true", help="exit when stdin closes")
    args = parser.parse_args()

    upstream = urllib.parse.urlsplit(args.upstream)
    if upstream.scheme != "http" or not upstream.hostname or not upstream.port:
        parser.error(f"--upstream must be http://HOST:PORT, not {args.upstream!r}")
    handler = type(
        "BoundHandler",
        (Handler,),
        {"state": State(verify=not args.no_verify), "upstream": (upstream.hostname, upstream.port)},
    )
    server = Server((args.host, args.port), handler)

    if args.exit_on_stdin_eof:

        def watch_stdin():
            while sys.stdin.buffer.read(4096):
                pass
            os._exit(0)

        threading.Thread(target=watch_stdin, daemon=True).start()

    print(f"LISTENING {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
