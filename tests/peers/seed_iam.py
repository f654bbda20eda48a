#!/usr/bin/env python3
"""Seeds a fresh moto server with the IAM world the STS tests use, and prints it as one JSON object.

Run with moto's signature checking off (the default until ``/moto-api/reset-auth`` turns it on):
``python seed_iam.py --endpoint http://127.0.0.1:MOTO_PORT [--session-name awsenv-test ...]``.

Account 123456789012 (moto's default) gets:

* user ``alice`` with an inline policy allowing ``sts:*`` and read-only IAM, one access key, and a virtual
  MFA device ``arn:aws:iam::123456789012:mfa/alice`` enabled for her;
* role ``dev`` and role ``admin``, trusted by ``arn:aws:iam::123456789012:user/alice``;
* role ``partner``, trusted by alice when she passes ``ExternalId`` ``awsenv-external-id``;
* roles ``chain2`` (trusted by sessions of ``dev``) and ``chain3`` (trusted by sessions of ``chain2``), for
  role-to-role chains. moto matches a trust policy's principal against the caller's exact ARN, which for a
  role session is ``arn:aws:sts::123456789012:assumed-role/ROLE/SESSION-NAME``: the role's own ARN does not
  match, so each chain role lists the role ARN (what AWS itself honours) plus one assumed-role ARN per
  ``--session-name`` (default ``awsenv-test``). Chains work in moto only with those session names.

Every role has an inline policy allowing ``sts:*`` (a role session needs it to assume the next role).

Output: ``{"account", "user_arn", "access_key_id", "secret_access_key", "mfa_serial", "external_id",
"session_names", "roles": {"dev": ARN, ...}}``.
"""

from __future__ import annotations

import argparse
import json

import boto3

ACCOUNT = "123456789012"
EXTERNAL_ID = "awsenv-external-id"
ALLOW_STS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "sts:*", "Resource": "*"},
        {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
    ],
}


def trust(principals: list[str], condition: dict | None = None) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": principals}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="moto's URL")
    parser.add_argument(
        "--session-name",
        action="append",
        dest="session_names",
        help="a role session name the chain roles trust (repeatable; default awsenv-test)",
    )
    args = parser.parse_args()
    session_names = args.session_names or ["awsenv-test"]

    iam = boto3.client(
        "iam",
        endpoint_url=args.endpoint,
        region_name="us-east-1",
        aws_access_key_id="seed",
        aws_secret_access_key="seed",
    )
    user_arn = iam.create_user(UserName="alice")["User"]["Arn"]
    iam.put_user_policy(UserName="alice", PolicyName="sts", PolicyDocument=json.dumps(ALLOW_STS))
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="alice", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )

    def role_arn(name: str) -> str:
        return f"arn:aws:iam::{ACCOUNT}:role/{name}"

    def sessions_of(role: str) -> list[str]:
        return [role_arn(role)] + [f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{s}" for s in session_names]

    trusts = {
        "dev": trust([user_arn]),
        "admin": trust([user_arn]),
        "partner": trust([user_arn], {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}),
        "chain2": trust(sessions_of("dev")),
        "chain3": trust(sessions_of("chain2")),
    }
    roles = {}
    for name, policy in trusts.items():
        roles[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy)["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="sts", PolicyDocument=json.dumps(ALLOW_STS))

    print(
        json.dumps(
            {
                "account": ACCOUNT,
                "user_arn": user_arn,
                "access_key_id": key["AccessKeyId"],
                "secret_access_key": key["SecretAccessKey"],
                "mfa_serial": serial,
                "external_id": EXTERNAL_ID,
                "session_names": session_names,
                "roles": roles,
            }
        )
    )


if __name__ == "__main__":
    main()
