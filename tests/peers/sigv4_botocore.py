"""botocore's SigV4 signer as a test peer for tests/sigv4_botocore.rs.

Reads one JSON list of cases on stdin, signs each with botocore at the case's fixed time, and writes
one JSON list of results on stdout, in the same order:

    case:   {"method", "host", "path", "params": [[name, value], ...] (decoded), "headers": [[name,
             value], ...], "body_hex", "region", "service", "access_key_id", "secret_access_key",
             "session_token" (or null), "time" (Unix seconds), "presign" (bool), "expires"}
    result: {"authorization"} (header form) or {"signature", "url"} (presign), plus
            "canonical_request" for diagnostics; or {"error"} when botocore raised.

S3 is signed with S3SigV4Auth / S3SigV4QueryAuth, every other service with SigV4Auth /
SigV4QueryAuth. Exit status 3 means botocore could not be imported.
"""

import datetime
import json
import sys
import traceback
from urllib.parse import parse_qs, urlsplit

try:
    import botocore.auth
    from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as e:  # pragma: no cover - reported by the Rust side
    print(f"botocore is not importable: {e}", file=sys.stderr)
    sys.exit(3)


def sign(case):
    creds = Credentials(
        case["access_key_id"], case["secret_access_key"], case["session_token"]
    )
    s3 = case["service"] == "s3"
    if case["presign"]:
        cls = S3SigV4QueryAuth if s3 else SigV4QueryAuth
        signer = cls(creds, case["service"], case["region"], expires=case["expires"])
    else:
        cls = S3SigV4Auth if s3 else SigV4Auth
        signer = cls(creds, case["service"], case["region"])

    # Record the canonical request botocore builds, to show it next to ours on a mismatch.
    seen = {}
    build_canonical = signer.canonical_request

    def canonical_request(request):
        seen["canonical_request"] = build_canonical(request)
        return seen["canonical_request"]

    signer.canonical_request = canonical_request

    # Query parameters go in as decoded pairs: with a raw query in the URL, SigV4Auth would sign it
    # verbatim (it expects its own serializer to have encoded it) instead of canonicalizing it.
    request = AWSRequest(
        method=case["method"],
        url="http://" + case["host"] + case["path"],
        data=bytes.fromhex(case["body_hex"]),
        params=[(name, value) for name, value in case["params"]],
    )
    # Item assignment on botocore's HTTPHeaders appends, so repeated headers stay repeated, in order.
    for name, value in case["headers"]:
        request.headers[name] = value

    # add_auth reads the clock through this module-level name.
    now = datetime.datetime.fromtimestamp(case["time"], datetime.timezone.utc)
    botocore.auth.get_current_datetime = lambda *args, **kwargs: now.replace(tzinfo=None)
    signer.add_auth(request)

    result = {"canonical_request": seen.get("canonical_request")}
    if case["presign"]:
        query = parse_qs(urlsplit(request.url).query, keep_blank_values=True)
        result["signature"] = query["X-Amz-Signature"][0]
        result["url"] = request.url
    else:
        result["authorization"] = request.headers["Authorization"]
    return result


def main():
    cases = json.load(sys.stdin)
    results = []
    for case in cases:
        try:
            results.append(sign(case))
        except Exception:  # one broken case must not hide the others
            results.append({"error": traceback.format_exc()})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
