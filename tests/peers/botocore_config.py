"""botocore's config-file reader as a test peer for tests/config_botocore_differential.rs.

Reads one JSON list of file paths on stdin and writes one JSON list of results on stdout, in the same
order. Each file is read the way the AWS CLI v1 and boto3 read ~/.aws/config:
`build_profile_map(raw_config_parse(path))`, and the result is

    {"profiles": {...}, "sso_sessions": {...}, "services": {...}}

(sub-sections such as `s3 =` + indented lines come back as nested objects), or

    {"error": "<exception class>: <message> (<wrapped configparser error>)"}

when botocore refuses the file. Other top-level sections are left out: botocore keeps them beside
the profiles, and the cross-SDK rules have no place for them.

The encoding the file is read with follows the locale, as in botocore itself; the Rust side runs this
with PYTHONUTF8=1 so the result does not depend on the machine. Exit status 3 means botocore could
not be imported.
"""

import json
import sys

try:
    from botocore.configloader import build_profile_map, raw_config_parse
except ImportError as e:  # pragma: no cover - reported by the Rust side
    print(f"botocore is not importable: {e}", file=sys.stderr)
    sys.exit(3)


def read(path):
    try:
        parsed = build_profile_map(raw_config_parse(path))
    except Exception as e:  # every refusal is a result, not a crash of the peer
        # ConfigParseError only names the file; the configparser error it wraps says why.
        cause = getattr(e, "kwargs", {}).get("error")
        why = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
        return {"error": f"{type(e).__name__}: {e}{why}"}
    return {key: parsed[key] for key in ("profiles", "sso_sessions", "services")}


def main():
    paths = json.load(sys.stdin)
    json.dump([read(p) for p in paths], sys.stdout)


if __name__ == "__main__":
    main()
