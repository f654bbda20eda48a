//! Self-test of the STS test peer (`tests/common/sts_peer.rs` over `tests/peers/sts_proxy.py` and moto),
//! with boto3 as the client: moto's and the proxy's signature checks, role chains, the MFA device,
//! every fault kind, the counts and DecodeAuthorizationMessage. Tests of awsenv rely on all of it.
//!
//! Each test starts one peer and runs its cases in turn, resetting the proxy between them.

mod common;

use std::net::TcpStream;

use common::sts_peer::{ProxiedRequest, StsPeer, StsPeerOptions, SESSION_NAME};
use serde_json::{json, Value};

const MFA_FAILED: &str = "MultiFactorAuthentication failed with invalid MFA one time pass code. ";

/// Python run before each snippet: STS clients and a `call` that turns any outcome into JSON. A snippet
/// fills the dict `out`, which is printed as JSON at the end.
const PRELUDE: &str = r#"
import json, os, time, urllib.error, urllib.request
from email.utils import parsedate_to_datetime
import boto3, botocore.exceptions
from botocore.config import Config

env = os.environ

def sts(key=None, secret=None, token=None, read_timeout=10, endpoint=None):
    """An STS client with alice's key unless told otherwise, and no retries."""
    return boto3.client(
        "sts",
        aws_access_key_id=key or env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=secret or env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=token,
        endpoint_url=endpoint or env["AWS_ENDPOINT_URL_STS"],
        config=Config(retries={"mode": "standard", "total_max_attempts": 1},
                      read_timeout=read_timeout, connect_timeout=5),
    )

def session(creds, **kw):
    return sts(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], **kw)

def call(operation, **params):
    """One call's outcome: ok and result, or the AWS error, or the client-side exception."""
    started = time.monotonic()
    try:
        result = operation(**params)
        meta = result.pop("ResponseMetadata")
        out = {"ok": True, "result": result, "status": meta["HTTPStatusCode"],
               "date": meta["HTTPHeaders"].get("date")}
    except botocore.exceptions.ClientError as e:
        meta = e.response["ResponseMetadata"]
        out = {"ok": False, "code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"],
               "status": meta.get("HTTPStatusCode"), "date": meta.get("HTTPHeaders", {}).get("date")}
    except Exception as e:
        out = {"ok": False, "exception": type(e).__name__, "message": str(e)}
    out["seconds"] = time.monotonic() - started
    if out.get("date"):
        out["clock_offset"] = parsedate_to_datetime(out["date"]).timestamp() - time.time()
    return out

def raw(body="Action=GetCallerIdentity&Version=2011-06-15"):
    """An unsigned POST, to see the proxy's bytes."""
    request = urllib.request.Request(env["AWS_ENDPOINT_URL_STS"], data=body.encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return {"status": r.status, "body": r.read().decode("latin-1")}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": e.read().decode("latin-1")}

out = {}
"#;

/// Runs a boto3 snippet against the peer (alice's key in the environment, plus `env`) and returns its
/// `out`.
fn boto(peer: &StsPeer, snippet: &str, env: &[(&str, &str)]) -> Value {
    let program = format!("{PRELUDE}\n{snippet}\nprint(json.dumps(out, default=str))\n");
    let output = peer
        .python_command()
        .arg("-c")
        .arg(&program)
        .envs(env.iter().copied())
        .output()
        .expect("run the venv's python");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "boto3 snippet failed ({}):\n{snippet}\n{stderr}\n{}",
        output.status,
        peer.logs()
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "snippet printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Asserts that a `call` outcome is the AWS error `code` with HTTP `status`.
#[track_caller]
fn assert_error(outcome: &Value, status: u64, code: &str) {
    assert_eq!(
        (outcome["status"].as_u64(), outcome["code"].as_str()),
        (Some(status), Some(code)),
        "expected {status} {code}, got {outcome:#}"
    );
}

#[track_caller]
fn assert_ok(outcome: &Value) {
    assert_eq!(outcome["ok"], true, "expected success, got {outcome:#}");
}

/// (action, relayed to moto, status, error code) of each request the proxy saw.
fn trail(peer: &StsPeer) -> Vec<(String, bool, Option<u16>, Option<String>)> {
    peer.requests()
        .into_iter()
        .map(|r: ProxiedRequest| (r.action, r.relayed, r.status, r.code))
        .collect()
}

fn step(
    action: &str,
    relayed: bool,
    status: u16,
    code: Option<&str>,
) -> (String, bool, Option<u16>, Option<String>) {
    (
        action.to_string(),
        relayed,
        Some(status),
        code.map(str::to_string),
    )
}

fn counts(pairs: &[(&str, u64)]) -> std::collections::BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn moto_checks_signatures_through_the_proxy() {
    let Some(peer) = StsPeer::start_with(StsPeerOptions {
        moto_checks_signatures: true,
        ..Default::default()
    }) else {
        return;
    };
    let (akid, _) = peer.user_key();

    // The proxy relays with the client's Host header, so moto's own check passes.
    let out = boto(&peer, r#"out["me"] = call(sts().get_caller_identity)"#, &[]);
    assert_ok(&out["me"]);
    assert_eq!(out["me"]["result"]["Arn"], peer.user_arn());
    assert_eq!(out["me"]["result"]["Account"], peer.account_id());
    let requests = peer.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].access_key_id.as_deref(), Some(akid.as_str()));
    assert_eq!(trail(&peer), [step("GetCallerIdentity", true, 200, None)]);

    // A wrong secret and an unknown key: refused by the proxy, and by moto when the proxy lets them by.
    let bad_calls = r#"
out["wrong_secret"] = call(sts(secret="not-the-secret").get_caller_identity)
out["unknown_key"] = call(sts(key="AKIAUNKNOWNKEY000000").get_caller_identity)
"#;
    for proxy_verifies in [true, false] {
        peer.reset();
        peer.set_proxy_verifies(proxy_verifies);
        let out = boto(&peer, bad_calls, &[]);
        assert_error(&out["wrong_secret"], 403, "SignatureDoesNotMatch");
        assert_error(&out["unknown_key"], 403, "InvalidClientTokenId");
        let relayed = !proxy_verifies;
        assert_eq!(
            trail(&peer),
            [
                step(
                    "GetCallerIdentity",
                    relayed,
                    403,
                    Some("SignatureDoesNotMatch")
                ),
                step(
                    "GetCallerIdentity",
                    relayed,
                    403,
                    Some("InvalidClientTokenId")
                ),
            ],
            "proxy_verifies = {proxy_verifies}"
        );
    }
    peer.set_proxy_verifies(true);

    // user → dev → chain2 → chain3, each hop checked by moto (signature, token, trust) and the proxy.
    peer.reset();
    let (dev, chain2, chain3, partner) = (
        peer.role_arn("dev"),
        peer.role_arn("chain2"),
        peer.role_arn("chain3"),
        peer.role_arn("partner"),
    );
    let out = boto(
        &peer,
        r#"
name = env["SESSION"]
dev = call(sts().assume_role, RoleArn=env["DEV"], RoleSessionName=name)
chain2 = call(session(dev["result"]["Credentials"]).assume_role, RoleArn=env["CHAIN2"], RoleSessionName=name)
chain3 = call(session(chain2["result"]["Credentials"]).assume_role, RoleArn=env["CHAIN3"], RoleSessionName="last-hop")
out.update(dev=dev, chain2=chain2, chain3=chain3)
out["me"] = call(session(chain3["result"]["Credentials"]).get_caller_identity)
stranger = call(sts().assume_role, RoleArn=env["DEV"], RoleSessionName="someone-else")
out["stranger"] = call(session(stranger["result"]["Credentials"]).assume_role, RoleArn=env["CHAIN2"], RoleSessionName=name)
out["partner"] = call(sts().assume_role, RoleArn=env["PARTNER"], RoleSessionName=name, ExternalId=env["EXTERNAL_ID"])
out["partner_wrong_id"] = call(sts().assume_role, RoleArn=env["PARTNER"], RoleSessionName=name, ExternalId="guess")
creds = dev["result"]["Credentials"]
out["forged_token"] = call(sts(creds["AccessKeyId"], creds["SecretAccessKey"], "forged").get_caller_identity)
"#,
        &[
            ("SESSION", SESSION_NAME),
            ("DEV", &dev),
            ("CHAIN2", &chain2),
            ("CHAIN3", &chain3),
            ("PARTNER", &partner),
            ("EXTERNAL_ID", peer.external_id()),
        ],
    );
    for hop in ["dev", "chain2", "chain3", "partner"] {
        assert_ok(&out[hop]);
    }
    assert_eq!(
        out["dev"]["result"]["AssumedRoleUser"]["Arn"],
        format!("arn:aws:sts::123456789012:assumed-role/dev/{SESSION_NAME}")
    );
    assert_eq!(
        out["me"]["result"]["Arn"],
        "arn:aws:sts::123456789012:assumed-role/chain3/last-hop"
    );
    // chain2 trusts dev sessions named SESSION_NAME only: moto matches the exact session ARN.
    assert_error(&out["stranger"], 403, "AccessDenied");
    assert_error(&out["partner_wrong_id"], 403, "AccessDenied");
    assert_error(&out["forged_token"], 403, "InvalidClientTokenId");
    assert_eq!(
        peer.counts(),
        counts(&[("AssumeRole", 7), ("GetCallerIdentity", 2)])
    );
    let refused: Vec<_> = trail(&peer)
        .into_iter()
        .filter(|(_, _, status, _)| *status != Some(200))
        .collect();
    assert_eq!(
        refused,
        [
            step("AssumeRole", true, 403, Some("AccessDenied")),
            step("AssumeRole", true, 403, Some("AccessDenied")),
            step(
                "GetCallerIdentity",
                false,
                403,
                Some("InvalidClientTokenId")
            ),
        ]
    );
}

#[test]
fn mfa_session_flow_is_verified_by_the_proxy() {
    // moto checks nothing here: it could not, GetSessionToken's keys are moto's fixed example keys.
    let Some(peer) = StsPeer::start() else { return };
    peer.set_mfa_code("123456");
    let dev = peer.role_arn("dev");
    let out = boto(
        &peer,
        r#"
serial = env["SERIAL"]
gst = call(sts().get_session_token, SerialNumber=serial, TokenCode="123456", DurationSeconds=3600)
creds = gst["result"]["Credentials"]
role = call(session(creds).assume_role, RoleArn=env["DEV"], RoleSessionName=env["SESSION"])
out.update(gst=gst, role=role)
out["role_me"] = call(session(role["result"]["Credentials"]).get_caller_identity)
out["reused_code"] = call(sts().get_session_token, SerialNumber=serial, TokenCode="123456")
out["wrong_code"] = call(sts().get_session_token, SerialNumber=serial, TokenCode="000000")
out["unknown_serial"] = call(sts().get_session_token, SerialNumber=serial + "x", TokenCode="123456")

def tamper(request, **_):
    auth = request.headers["Authorization"]  # bytes once signed
    auth = auth.decode() if isinstance(auth, bytes) else auth
    del request.headers["Authorization"]
    request.headers["Authorization"] = auth[:-1] + ("1" if auth.endswith("0") else "0")
tampered = session(creds)
tampered.meta.events.register("before-send.sts.*", tamper)
out["tampered"] = call(tampered.assume_role, RoleArn=env["DEV"], RoleSessionName=env["SESSION"])
out["wrong_token"] = call(sts(creds["AccessKeyId"], creds["SecretAccessKey"], "not-the-token").get_caller_identity)
out["gst_with_session"] = call(session(creds).get_session_token)
"#,
        &[
            ("SERIAL", peer.mfa_serial()),
            ("DEV", &dev),
            ("SESSION", SESSION_NAME),
        ],
    );
    assert_ok(&out["gst"]);
    assert_ok(&out["role"]);
    assert_eq!(
        out["role_me"]["result"]["Arn"],
        format!("arn:aws:sts::123456789012:assumed-role/dev/{SESSION_NAME}")
    );
    for refused in ["reused_code", "wrong_code", "unknown_serial"] {
        assert_error(&out[refused], 403, "AccessDenied");
        assert_eq!(out[refused]["message"], MFA_FAILED, "{refused}");
    }
    assert_error(&out["tampered"], 403, "SignatureDoesNotMatch");
    assert_error(&out["wrong_token"], 403, "InvalidClientTokenId");
    assert_error(&out["gst_with_session"], 403, "AccessDenied");
    assert_eq!(
        out["gst_with_session"]["message"],
        "Cannot call GetSessionToken with session credentials"
    );

    let requests = peer.requests();
    let session_key = out["gst"]["result"]["Credentials"]["AccessKeyId"].as_str();
    assert!(requests[0].mfa && requests[0].relayed, "{:?}", requests[0]);
    assert_eq!(requests[1].access_key_id.as_deref(), session_key);
    assert!(!requests[1].mfa);
    assert_eq!(
        trail(&peer),
        [
            step("GetSessionToken", true, 200, None),
            step("AssumeRole", true, 200, None),
            step("GetCallerIdentity", true, 200, None),
            step("GetSessionToken", false, 403, Some("AccessDenied")),
            step("GetSessionToken", false, 403, Some("AccessDenied")),
            step("GetSessionToken", false, 403, Some("AccessDenied")),
            step("AssumeRole", false, 403, Some("SignatureDoesNotMatch")),
            step(
                "GetCallerIdentity",
                false,
                403,
                Some("InvalidClientTokenId")
            ),
            step("GetSessionToken", false, 403, Some("AccessDenied")),
        ]
    );
    assert_eq!(
        peer.counts(),
        counts(&[
            ("AssumeRole", 2),
            ("GetCallerIdentity", 2),
            ("GetSessionToken", 5)
        ])
    );

    // A new code works once more; reset() forgets the device.
    peer.set_mfa_code("654321");
    let mfa_call = r#"out["gst"] = call(sts().get_session_token, SerialNumber=env["SERIAL"], TokenCode="654321")"#;
    assert_ok(&boto(&peer, mfa_call, &[("SERIAL", peer.mfa_serial())])["gst"]);
    peer.reset();
    peer.set_mfa_code("111111");
    let out = boto(&peer, mfa_call, &[("SERIAL", peer.mfa_serial())]);
    assert_error(&out["gst"], 403, "AccessDenied");

    // DecodeAuthorizationMessage: registered messages only, signature still checked.
    peer.reset();
    let decoded =
        json!({"allowed": false, "explicitDeny": false, "context": {"action": "ec2:RunInstances"}});
    peer.register_decode("encoded-1", decoded.clone());
    let out = boto(
        &peer,
        r#"
out["known"] = call(sts().decode_authorization_message, EncodedMessage="encoded-1")
out["unknown"] = call(sts().decode_authorization_message, EncodedMessage="encoded-2")
out["bad_signature"] = call(sts(secret="wrong").decode_authorization_message, EncodedMessage="encoded-1")
"#,
        &[],
    );
    assert_ok(&out["known"]);
    let text = out["known"]["result"]["DecodedMessage"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Value>(text).unwrap(), decoded);
    assert_error(&out["unknown"], 400, "InvalidAuthorizationMessageException");
    assert_error(&out["bad_signature"], 403, "SignatureDoesNotMatch");
    assert_eq!(peer.counts(), counts(&[("DecodeAuthorizationMessage", 3)]));
}

#[test]
fn faults_do_what_they_say_and_the_peer_cleans_up() {
    let Some(peer) = StsPeer::start() else { return };
    let n_calls = r#"out["calls"] = [call(sts().get_caller_identity) for _ in range(int(env.get("N", "3")))]"#;

    // Throttled twice, then through; then each server error in turn.
    peer.inject("GetCallerIdentity", "throttle", 2, Value::Null);
    let out = boto(&peer, n_calls, &[]);
    let calls = out["calls"].as_array().unwrap();
    assert_error(&calls[0], 400, "Throttling");
    assert_eq!(calls[0]["message"], "Rate exceeded");
    assert_error(&calls[1], 400, "Throttling");
    assert_ok(&calls[2]);
    assert_eq!(peer.count("GetCallerIdentity"), 3);
    let faults: Vec<_> = peer.requests().into_iter().map(|r| r.fault).collect();
    assert_eq!(
        faults,
        [Some("throttle".into()), Some("throttle".into()), None]
    );

    peer.reset();
    peer.inject("*", "http_503", 1, Value::Null);
    peer.inject("*", "http_500", 1, Value::Null);
    peer.inject("*", "access_denied", 1, Value::Null);
    peer.inject("*", "throttle_errors_shape", 1, Value::Null);
    peer.inject(
        "*",
        "error",
        1,
        json!({"status": 400, "code": "RegionDisabledException", "message": "STS is not activated in this region"}),
    );
    let out = boto(&peer, n_calls, &[("N", "6")]);
    let calls = out["calls"].as_array().unwrap();
    assert_error(&calls[0], 503, "ServiceUnavailable");
    assert_error(&calls[1], 500, "InternalFailure");
    assert_error(&calls[2], 403, "AccessDenied");
    assert_error(&calls[3], 400, "Throttling");
    assert_error(&calls[4], 400, "RegionDisabledException");
    assert_ok(&calls[5]);

    // The two error shapes, byte for byte (unsigned requests: faults come before the signature check).
    peer.reset();
    peer.inject("*", "throttle", 1, Value::Null);
    peer.inject("*", "throttle_errors_shape", 1, Value::Null);
    let out = boto(&peer, r#"out["shapes"] = [raw(), raw(), raw()]"#, &[]);
    let body = |i: usize| out["shapes"][i]["body"].as_str().unwrap().to_string();
    assert!(body(0).contains("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>"), "{}", body(0));
    assert!(body(1).contains("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Errors><Error><Type>Sender</Type><Code>Throttling</Code>"), "{}", body(1));
    assert_eq!(out["shapes"][2]["status"], 403);
    assert!(
        body(2).contains("<Code>MissingAuthenticationToken</Code>"),
        "{}",
        body(2)
    );

    // Broken answers: not XML, a dropped connection, no answer (client timeout), a slow answer.
    peer.reset();
    peer.inject("*", "garbage", 1, Value::Null);
    peer.inject("*", "close", 1, Value::Null);
    peer.inject("*", "hang", 1, Value::Null);
    peer.inject("*", "hang", 1, json!({"seconds": 0.5}));
    let out = boto(
        &peer,
        r#"
out["garbage"] = call(sts().get_caller_identity)
out["close"] = call(sts().get_caller_identity)
out["hang"] = call(sts(read_timeout=1).get_caller_identity)
out["slow"] = call(sts().get_caller_identity)
"#,
        &[],
    );
    assert_eq!(
        out["garbage"]["exception"], "ResponseParserError",
        "{:#}",
        out["garbage"]
    );
    assert_eq!(
        out["close"]["exception"], "ConnectionClosedError",
        "{:#}",
        out["close"]
    );
    assert_eq!(
        out["hang"]["exception"], "ReadTimeoutError",
        "{:#}",
        out["hang"]
    );
    assert_ok(&out["slow"]);
    assert!(
        out["slow"]["seconds"].as_f64().unwrap() >= 0.5,
        "{:#}",
        out["slow"]
    );
    let statuses: Vec<_> = peer.requests().into_iter().map(|r| r.status).collect();
    // garbage answered 200; close and hang never answered; the slow one did.
    assert_eq!(statuses, [Some(200), None, None, Some(200)]);
    assert_eq!(peer.count("GetCallerIdentity"), 4);

    // A server clock an hour ahead or behind refuses the request, as AWS words it, and dates its
    // answer by that clock; two minutes off is within AWS's five. count 0: until reset.
    peer.reset();
    peer.inject("*", "clock_skew", 1, json!({"offset": 3600}));
    peer.inject("*", "clock_skew", 1, json!({"offset": -3600}));
    peer.inject("*", "clock_skew", 0, json!({"offset": 120}));
    let out = boto(&peer, n_calls, &[("N", "4")]);
    let calls = out["calls"].as_array().unwrap();
    assert_error(&calls[0], 403, "SignatureDoesNotMatch");
    let ahead = calls[0]["message"].as_str().unwrap();
    assert!(
        ahead.starts_with("Signature expired: 20")
            && ahead.contains(" is now earlier than ")
            && ahead.ends_with(" - 5 min.)"),
        "{ahead}"
    );
    assert!(
        (calls[0]["clock_offset"].as_f64().unwrap() - 3600.0).abs() < 30.0,
        "{:#}",
        calls[0]
    );
    assert_error(&calls[1], 403, "SignatureDoesNotMatch");
    let behind = calls[1]["message"].as_str().unwrap();
    assert!(
        behind.starts_with("Signature not yet current: ") && behind.ends_with(" + 5 min.)"),
        "{behind}"
    );
    assert!(
        (calls[1]["clock_offset"].as_f64().unwrap() + 3600.0).abs() < 30.0,
        "{:#}",
        calls[1]
    );
    for call in &calls[2..] {
        assert_ok(call);
        assert!(
            (call["clock_offset"].as_f64().unwrap() - 120.0).abs() < 30.0,
            "{call:#}"
        );
    }

    // A fault for one action leaves the others alone; "*" matches whatever comes next.
    peer.reset();
    peer.inject("AssumeRole", "throttle", 1, Value::Null);
    peer.inject("*", "http_503", 1, Value::Null);
    let out = boto(
        &peer,
        r#"
out["identity"] = call(sts().get_caller_identity)
out["assume"] = call(sts().assume_role, RoleArn=env["DEV"], RoleSessionName="awsenv-test")
out["identity_after"] = call(sts().get_caller_identity)
"#,
        &[("DEV", &peer.role_arn("dev"))],
    );
    assert_error(&out["identity"], 503, "ServiceUnavailable");
    assert_error(&out["assume"], 400, "Throttling");
    assert_ok(&out["identity_after"]);
    assert_eq!(
        peer.counts(),
        counts(&[("AssumeRole", 1), ("GetCallerIdentity", 2)])
    );

    // Both processes go with the peer.
    let ports = [peer.endpoint(), peer.moto_endpoint()];
    drop(peer);
    for url in ports {
        let addr = url.trim_start_matches("http://");
        assert!(
            TcpStream::connect(addr).is_err(),
            "{url} still answers after drop"
        );
    }
}
