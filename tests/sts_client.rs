//! The STS client against a real STS: moto (with signature checking where moto can) behind the
//! counting, fault-injecting, signature-verifying proxy of `tests/common/sts_peer.rs`. Also the
//! `awsenv whoami` and `awsenv decode` commands end to end.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use awsenv::core::credentials::{Credentials, Secret};
use awsenv::core::endpoint::StsEndpoint;
use awsenv::core::plan::From;
use awsenv::core::sts::{ErrorKind, Request};
use awsenv::edge::sts_client::{CallError, ClientSettings, StsClient};
use common::sts_peer::{StsPeer, StsPeerOptions, SESSION_NAME};
use serde_json::json;

fn client(peer: &StsPeer, settings: ClientSettings) -> StsClient {
    StsClient::new(
        StsEndpoint {
            url: peer.endpoint(),
            signing_region: "us-east-1".into(),
            from: From::Default { why: "test".into() },
        },
        settings,
    )
    .unwrap()
}

fn fast() -> ClientSettings {
    ClientSettings {
        connect_timeout: Duration::from_secs(2),
        attempt_timeout: Duration::from_secs(2),
        max_attempts: 3,
    }
}

fn alice(peer: &StsPeer) -> Credentials {
    let (akid, secret) = peer.user_key();
    Credentials {
        access_key_id: akid,
        secret_access_key: Secret::new(secret),
        session_token: None,
        expiration: None,
    }
}

fn assume(peer: &StsPeer, role: &str, external_id: Option<&str>, mfa: Option<&str>) -> Request {
    Request::AssumeRole {
        role_arn: peer.role_arn(role),
        role_session_name: SESSION_NAME.into(),
        external_id: external_id.map(str::to_string),
        duration_seconds: Some(900),
        serial_number: mfa.map(|_| peer.mfa_serial().to_string()),
        token_code: mfa.map(Secret::new),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn signed_calls_against_moto_with_signature_checking() {
    let Some(peer) = StsPeer::start_with(StsPeerOptions {
        moto_checks_signatures: true,
        ..Default::default()
    }) else {
        return;
    };
    let c = client(&peer, fast());
    let rt = rt();
    // GetCallerIdentity as alice.
    let (id, answer) = rt.block_on(c.caller_identity(&alice(&peer))).unwrap();
    assert_eq!(id.arn, peer.user_arn());
    assert_eq!(id.account, "123456789012");
    assert_eq!(answer.attempts, 1);

    // AssumeRole with ExternalId and an MFA device, from the user.
    peer.set_mfa_code("123456");
    let (partner, _) = rt
        .block_on(c.credentials(
            &alice(&peer),
            &assume(&peer, "partner", Some(peer.external_id()), Some("123456")),
        ))
        .unwrap();
    assert!(partner.session_token.is_some());
    assert!(partner.expiration.is_some());
    let (id, _) = rt.block_on(c.caller_identity(&partner)).unwrap();
    assert!(id.arn.contains(":assumed-role/partner/"), "{}", id.arn);

    // A role → role chain, signed with the security token at each hop.
    let (dev, _) = rt
        .block_on(c.credentials(&alice(&peer), &assume(&peer, "dev", None, None)))
        .unwrap();
    let (chain2, _) = rt
        .block_on(c.credentials(&dev, &assume(&peer, "chain2", None, None)))
        .unwrap();
    let (chain3, _) = rt
        .block_on(c.credentials(&chain2, &assume(&peer, "chain3", None, None)))
        .unwrap();
    let (id, _) = rt.block_on(c.caller_identity(&chain3)).unwrap();
    assert!(id.arn.contains(":assumed-role/chain3/"), "{}", id.arn);

    // GetFederationToken, for console sign-in from a user's keys.
    let (fed, _) = rt
        .block_on(c.credentials(
            &alice(&peer),
            &Request::GetFederationToken {
                name: "awsenv-alice".into(),
                duration_seconds: Some(900),
                policy: None,
            },
        ))
        .unwrap();
    assert!(fed.session_token.is_some() && fed.expiration.is_some());
    assert_eq!(peer.count("GetFederationToken"), 1);

    // A wrong secret: moto itself says the signature does not match (the proxy stands aside).
    peer.set_proxy_verifies(false);
    let mut wrong = alice(&peer);
    wrong.secret_access_key = Secret::new("not-the-secret");
    let err = rt.block_on(c.caller_identity(&wrong)).unwrap_err();
    let s = err.service_error().expect("an STS error");
    assert_eq!(s.kind(), ErrorKind::SignatureMismatch, "{err}");
    assert!(
        err.to_string()
            .contains("secret access key does not match the access key id"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("not-the-secret"),
        "no secret in errors"
    );
    // And the proxy says the same when it is the one checking.
    peer.set_proxy_verifies(true);
    let err = rt.block_on(c.caller_identity(&wrong)).unwrap_err();
    assert_eq!(
        err.service_error().unwrap().kind(),
        ErrorKind::SignatureMismatch
    );
    assert!(!peer.requests().last().unwrap().relayed);
}

#[test]
fn mfa_session_then_role_is_verified_end_to_end() {
    // moto cannot accept its own GetSessionToken keys; the proxy verifies every signature instead.
    let Some(peer) = StsPeer::start() else { return };
    let c = client(&peer, fast());
    let rt = rt();
    peer.set_mfa_code("246810");
    let gst = Request::GetSessionToken {
        duration_seconds: Some(3600),
        serial_number: Some(peer.mfa_serial().into()),
        token_code: Some(Secret::new("246810")),
    };
    let (session, _) = rt.block_on(c.credentials(&alice(&peer), &gst)).unwrap();
    let (dev, _) = rt
        .block_on(c.credentials(&session, &assume(&peer, "dev", None, None)))
        .unwrap();
    assert!(dev.session_token.is_some());
    // A tampered session token on the MFA session is refused by the proxy's check.
    let mut tampered = session.clone();
    tampered.session_token = Some(Secret::new("tampered"));
    let err = rt
        .block_on(c.credentials(&tampered, &assume(&peer, "dev", None, None)))
        .unwrap_err();
    assert!(err.service_error().is_some(), "{err}");

    // A wrong code: a clear error, one attempt, never retried.
    peer.reset();
    let wrong = Request::GetSessionToken {
        duration_seconds: Some(3600),
        serial_number: Some(peer.mfa_serial().into()),
        token_code: Some(Secret::new("000000")),
    };
    let err = rt
        .block_on(c.credentials(&alice(&peer), &wrong))
        .unwrap_err();
    assert_eq!(err.service_error().unwrap().kind(), ErrorKind::WrongMfaCode);
    assert!(err.to_string().contains("MFA code was refused"), "{err}");
    assert_eq!(peer.count("GetSessionToken"), 1);
    // A throttled call that carried a code is not sent again either: the code may be spent.
    peer.set_mfa_code("135790");
    peer.inject("GetSessionToken", "throttle", 1, json!(null));
    let gst2 = Request::GetSessionToken {
        duration_seconds: Some(3600),
        serial_number: Some(peer.mfa_serial().into()),
        token_code: Some(Secret::new("135790")),
    };
    let err = rt
        .block_on(c.credentials(&alice(&peer), &gst2))
        .unwrap_err();
    assert_eq!(err.service_error().unwrap().kind(), ErrorKind::Throttled);
    assert_eq!(peer.count("GetSessionToken"), 2);
}

#[test]
fn retries_follow_the_standard_mode() {
    let Some(peer) = StsPeer::start() else { return };
    let rt = rt();
    let c = client(&peer, fast());
    let me = alice(&peer);

    // Throttling twice, then success: three attempts.
    peer.inject("GetCallerIdentity", "throttle", 2, json!(null));
    let (_, answer) = rt.block_on(c.caller_identity(&me)).unwrap();
    assert_eq!(answer.attempts, 3);
    assert_eq!(peer.count("GetCallerIdentity"), 3);

    // The other error shape, and a 503, are retried too.
    peer.reset();
    peer.inject("GetCallerIdentity", "throttle_errors_shape", 1, json!(null));
    peer.inject("GetCallerIdentity", "http_503", 1, json!(null));
    let (_, answer) = rt.block_on(c.caller_identity(&me)).unwrap();
    assert_eq!(answer.attempts, 3);

    // Throttled three times: the error after three attempts says so.
    peer.reset();
    peer.inject("GetCallerIdentity", "throttle", 3, json!(null));
    let err = rt.block_on(c.caller_identity(&me)).unwrap_err();
    assert_eq!(err.service_error().unwrap().kind(), ErrorKind::Throttled);
    assert_eq!(peer.count("GetCallerIdentity"), 3);

    // AccessDenied is final: one attempt.
    peer.reset();
    peer.inject("AssumeRole", "access_denied", 1, json!(null));
    let err = rt
        .block_on(c.credentials(&me, &assume(&peer, "dev", None, None)))
        .unwrap_err();
    assert_eq!(err.service_error().unwrap().kind(), ErrorKind::AccessDenied);
    assert_eq!(peer.count("AssumeRole"), 1);

    // A region STS refuses: clear, final.
    peer.reset();
    peer.inject(
        "GetCallerIdentity",
        "error",
        1,
        json!({"status": 403, "code": "RegionDisabledException", "message": "STS is not activated in this region for account:123456789012."}),
    );
    let err = rt.block_on(c.caller_identity(&me)).unwrap_err();
    assert!(
        err.to_string().contains("not enabled in this region"),
        "{err}"
    );
    assert_eq!(peer.count("GetCallerIdentity"), 1);

    // Garbage with a 200: a clear error naming what was wrong.
    peer.reset();
    peer.inject("GetCallerIdentity", "garbage", 1, json!(null));
    let err = rt.block_on(c.caller_identity(&me)).unwrap_err();
    assert!(matches!(err, CallError::BadResponse(_)), "{err:?}");
    assert!(err.to_string().contains("not a valid response"), "{err}");

    // A hung server: each attempt times out, then a timeout error.
    peer.reset();
    peer.inject("GetCallerIdentity", "hang", 0, json!(null));
    let quick = client(
        &peer,
        ClientSettings {
            connect_timeout: Duration::from_secs(1),
            attempt_timeout: Duration::from_millis(700),
            max_attempts: 2,
        },
    );
    let started = Instant::now();
    let err = rt.block_on(quick.caller_identity(&me)).unwrap_err();
    assert!(
        matches!(err, CallError::Timeout { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("did not answer"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    peer.reset();

    // Clock skew: corrected once from the server's Date, and reported.
    peer.inject(
        "GetCallerIdentity",
        "clock_skew",
        0,
        json!({"offset": 1800}),
    );
    let (_, answer) = rt.block_on(c.caller_identity(&me)).unwrap();
    let skew = answer.clock_skew.expect("the skew is reported");
    assert!((1790..=1810).contains(&skew), "{skew}");
    assert_eq!(peer.count("GetCallerIdentity"), 2);
    // The learned offset is kept: the next call is right the first time.
    let (_, answer) = rt.block_on(c.caller_identity(&me)).unwrap();
    assert_eq!(answer.attempts, 1);
    assert!(answer.clock_skew.is_none());
    assert_eq!(peer.count("GetCallerIdentity"), 3);
}

#[test]
fn unreachable_sts_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let c = StsClient::new(
        StsEndpoint {
            url: format!("http://127.0.0.1:{port}"),
            signing_region: "us-east-1".into(),
            from: From::Env {
                var: "AWS_ENDPOINT_URL_STS".into(),
            },
        },
        ClientSettings {
            max_attempts: 2,
            ..fast()
        },
    )
    .unwrap();
    let creds = Credentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: Secret::new("s"),
        session_token: None,
        expiration: None,
    };
    let err = rt().block_on(c.caller_identity(&creds)).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("cannot reach STS"), "{msg}");
    assert!(msg.contains("$AWS_ENDPOINT_URL_STS"), "{msg}");
    assert!(msg.contains("2 attempts"), "{msg}");
}

fn awsenv(peer: &StsPeer, home: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(common::bin("awsenv"))
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL_STS", peer.endpoint())
        .output()
        .unwrap()
}

#[test]
fn whoami_and_decode_commands() {
    let Some(peer) = StsPeer::start_with(StsPeerOptions {
        moto_checks_signatures: true,
        ..Default::default()
    }) else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let (akid, secret) = peer.user_key();
    common::write_file(
        home.path(),
        ".aws/credentials",
        &format!("[alice]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n"),
    );
    let out = awsenv(&peer, home.path(), &["whoami", "alice", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(id["Arn"], peer.user_arn());
    assert_eq!(id["Account"], "123456789012");

    let out = awsenv(&peer, home.path(), &["whoami", "alice"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("Arn      {}", peer.user_arn())),
        "{text}"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("credentials from profile `alice`"), "{err}");

    // decode through the proxy (moto has no DecodeAuthorizationMessage).
    let decoded = json!({
        "allowed": false,
        "explicitDeny": true,
        "matchedStatements": {"items": []},
        "failures": {"items": []},
        "context": {
            "principal": {"id": "AIDA", "arn": peer.user_arn()},
            "action": "ec2:RunInstances",
            "resource": "arn:aws:ec2:us-east-1:123456789012:instance/*",
            "conditions": {"items": []}
        }
    });
    peer.register_decode("ENCODED-abc123", decoded);
    let out = awsenv(
        &peer,
        home.path(),
        &[
            "decode",
            "--profile",
            "alice",
            "Encoded authorization failure message: ENCODED-abc123",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let first: Vec<&str> = text.lines().take(3).collect();
    assert_eq!(first[0], "Denied:   ec2:RunInstances", "{text}");
    assert_eq!(
        first[1],
        "Resource: arn:aws:ec2:us-east-1:123456789012:instance/*"
    );
    assert!(text.contains("explicit Deny"), "{text}");
    assert!(text.contains("\"explicitDeny\": true"), "{text}");
    assert_eq!(peer.count("DecodeAuthorizationMessage"), 1);

    // An unknown message: STS's error, said plainly.
    let out = awsenv(&peer, home.path(), &["decode", "-p", "alice", "nope"]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("DecodeAuthorizationMessage"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
