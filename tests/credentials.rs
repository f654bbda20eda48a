//! The credential engine end to end, in-process (`--no-daemon`): long-term keys in the kernel
//! keyring, an MFA session asked for once, role credentials minted from it, renewed without a code,
//! handed to the AWS CLI through `credential_process`; the terminal prompt driven through a real
//! pseudo-terminal; and no key material left on disk.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

use common::world::{stderr, World};

#[test]
fn one_mfa_session_and_one_role_call_for_five_uses() {
    if !common::in_session_keyring("one_mfa_session_and_one_role_call_for_five_uses") {
        return;
    }
    let Some(w) = World::start() else { return };
    w.peer.set_mfa_code("123456");
    let out = w.run(
        &["login", "dev", "--token-code", "123456", "--no-daemon"],
        &[],
    );
    assert!(out.status.success(), "login: {}", stderr(&out));
    assert!(
        stderr(&out).contains("MFA session for dev valid until"),
        "{}",
        stderr(&out)
    );
    let first = w.creds("dev");
    for _ in 0..4 {
        assert_eq!(w.creds("dev"), first, "served from the cache");
    }
    assert_eq!(w.peer.count("GetSessionToken"), 1);
    assert_eq!(w.peer.count("AssumeRole"), 1);
    // The credential_process shape every SDK accepts.
    assert_eq!(first["Version"], 1);
    assert!(first["AccessKeyId"].as_str().unwrap().len() >= 16);
    let exp = first["Expiration"].as_str().unwrap();
    assert!(exp.ends_with('Z') && !exp.contains('.'), "{exp}");
    // The MFA session also serves a role chain without another code.
    let chained = w.creds("chain2");
    assert_ne!(chained["AccessKeyId"], first["AccessKeyId"]);
    assert_eq!(w.peer.count("GetSessionToken"), 1);
    assert_eq!(w.peer.count("AssumeRole"), 2, "dev reused, chain2 minted");
    // Every AssumeRole was signed by the MFA session's key, not alice's long-term one.
    let (alice, _) = w.peer.user_key();
    let requests = w.peer.requests();
    assert!(requests
        .iter()
        .filter(|r| r.action == "AssumeRole")
        .all(|r| r.access_key_id.as_deref() != Some(alice.as_str()) && !r.mfa));
}

#[test]
fn expired_role_credentials_are_renewed_without_a_code() {
    if !common::in_session_keyring("expired_role_credentials_are_renewed_without_a_code") {
        return;
    }
    let Some(w) = World::start() else { return };
    w.peer.set_mfa_code("654321");
    assert!(w
        .run(
            &["login", "dev", "--token-code", "654321", "--no-daemon"],
            &[]
        )
        .status
        .success());
    // Role credentials that are about to expire must not be handed out: they are renewed.
    w.peer.set_expiry("AssumeRole", 120);
    let a = w.creds("dev");
    let b = w.creds("dev");
    assert_ne!(a["AccessKeyId"], b["AccessKeyId"], "renewed, not reused");
    assert_eq!(w.peer.count("AssumeRole"), 2);
    assert_eq!(w.peer.count("GetSessionToken"), 1, "no new MFA code");
}

#[test]
fn wrong_code_is_refused_and_nothing_is_cached() {
    if !common::in_session_keyring("wrong_code_is_refused_and_nothing_is_cached") {
        return;
    }
    let Some(w) = World::start() else { return };
    w.peer.set_mfa_code("111111");
    let out = w.run(
        &["login", "dev", "--token-code", "222222", "--no-daemon"],
        &[],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("MFA code was refused"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(w.peer.count("GetSessionToken"), 1, "no retry loop");
    // Nothing was cached: the next call needs a code, and there is no terminal to ask.
    let out = w.run(&["credential-process", "dev", "--no-daemon"], &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out)
            .contains("no terminal to ask for the MFA code of dev — run `awsenv login dev`"),
        "{}",
        stderr(&out)
    );
    // A malformed code never reaches STS.
    let out = w.run(
        &["login", "dev", "--token-code", "12ab56", "--no-daemon"],
        &[],
    );
    assert!(
        stderr(&out).contains("must be 6 digits"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.peer.count("GetSessionToken"), 1);
}

#[test]
fn mfa_process_gives_the_code() {
    if !common::in_session_keyring("mfa_process_gives_the_code") {
        return;
    }
    let Some(w) = World::start() else { return };
    w.peer.set_mfa_code("314159");
    std::fs::write(w.home().join("code"), "314159\n").unwrap();
    let c = w.creds("byprocess");
    assert!(c["SessionToken"].is_string());
    assert_eq!(w.peer.count("GetSessionToken"), 1);
}

#[test]
fn aws_cli_runs_with_credential_process() {
    if !common::in_session_keyring("aws_cli_runs_with_credential_process") {
        return;
    }
    let Some(w) = World::start() else { return };
    let Some(py) = common::venv_python() else {
        return;
    };
    let aws = py.parent().unwrap().join("aws");
    w.peer.set_mfa_code("271828");
    assert!(w
        .run(
            &["login", "dev", "--token-code", "271828", "--no-daemon"],
            &[]
        )
        .status
        .success());
    let mut config = std::fs::read_to_string(w.home().join(".aws/config")).unwrap();
    config.push_str(&format!(
        "\n[profile cli]\ncredential_process = {} credential-process dev --no-daemon\nregion = us-east-1\n",
        common::bin("awsenv").display()
    ));
    std::fs::write(w.home().join(".aws/config"), config).unwrap();
    let out = w
        .command(
            &aws,
            &[
                "sts",
                "get-caller-identity",
                "--profile",
                "cli",
                "--output",
                "json",
            ],
            &[],
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "aws: {}", stderr(&out));
    let id: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        id["Arn"]
            .as_str()
            .unwrap()
            .contains(":assumed-role/dev/awsenv-test"),
        "{id}"
    );
    assert_eq!(w.peer.count("GetSessionToken"), 1);
}

#[test]
fn terminal_prompt_right_wrong_and_malformed_codes() {
    if !common::in_session_keyring("terminal_prompt_right_wrong_and_malformed_codes") {
        return;
    }
    let Some(w) = World::start() else { return };
    let Some(py) = common::venv_python() else {
        return;
    };
    w.peer.set_mfa_code("161803");
    // pexpect drives `awsenv login` on a real pseudo-terminal.
    let script = r#"
import os, sys, pexpect
awsenv = sys.argv[1]
def login():
    return pexpect.spawn(awsenv, ["login", "dev", "--no-daemon"], env=dict(os.environ), encoding="utf-8", timeout=20)
p = login()
p.expect_exact("MFA code for " + os.environ["MFA_SERIAL"] + " (profile dev): ")
p.sendline("12ab")
p.expect_exact("is not an MFA code: it must be 6 digits")
p.expect_exact("MFA code for")
p.sendline("000000")
p.expect_exact("MFA code was refused")
p.expect(pexpect.EOF)
p.close()
assert p.exitstatus != 0, p.exitstatus
p = login()
p.expect_exact("(profile dev): ")
p.sendline("161803")
p.expect_exact("MFA session for dev valid until")
p.expect(pexpect.EOF)
p.close()
assert p.exitstatus == 0, p.exitstatus
print("prompts ok")
"#;
    let out = w
        .command(
            &py,
            &["-c", script, common::bin("awsenv").to_str().unwrap()],
            &[("MFA_SERIAL", w.peer.mfa_serial())],
        )
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("prompts ok"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    // One refused code and one accepted; the malformed one never reached STS.
    assert_eq!(w.peer.count("GetSessionToken"), 2);
}

#[test]
fn import_moves_keys_out_of_the_plaintext_file() {
    if !common::in_session_keyring("import_moves_keys_out_of_the_plaintext_file") {
        return;
    }
    let Some(w) = World::start() else { return };
    let (akid, secret) = w.peer.user_key();
    let original = format!(
        "# my credentials\n[legacy]\n; work account\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\nregion = eu-north-1\n\n[other]\naws_access_key_id = AKIAOTHEROTHEROTHER1\naws_secret_access_key = other-secret\n"
    );
    let creds = common::write_file(w.home(), ".aws/credentials", &original);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = w.run(&["add", "legacy", "--import", "--remove-plaintext"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = std::fs::read_to_string(&creds).unwrap();
    assert_eq!(
        after,
        "# my credentials\n[legacy]\n; work account\nregion = eu-north-1\n\n[other]\naws_access_key_id = AKIAOTHEROTHEROTHER1\naws_secret_access_key = other-secret\n"
    );
    assert_eq!(
        std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The keys now come from the keychain.
    let out = w.run(&["explain", "legacy", "--json"], &[]);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["plan"]["source"]["kind"], "keychain", "{plan}");
    let out = w.run(&["list", "--json"], &[]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = list.to_string();
    assert!(text.contains("\"profile\":\"legacy\""), "{text}");
    assert!(!text.contains(&secret), "list never shows secrets");
    // remove deletes them again.
    assert!(w.run(&["remove", "legacy"], &[]).status.success());
    assert!(!w.run(&["remove", "legacy"], &[]).status.success());
}

/// Files under `dir` (recursively) that contain any of `needles`.
fn files_containing(dir: &Path, needles: &[String]) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return hits;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            hits.extend(files_containing(&p, needles));
        } else if !e.file_type().is_ok_and(|t| t.is_file()) {
            // A FIFO (fish leaves one in /tmp) or a socket: reading it would block forever.
            continue;
        } else if let Ok(bytes) = std::fs::read(&p) {
            let text = String::from_utf8_lossy(&bytes);
            if needles.iter().any(|n| text.contains(n.as_str())) {
                hits.push(p);
            }
        }
    }
    hits
}

#[test]
fn no_key_material_on_disk() {
    if !common::in_session_keyring("no_key_material_on_disk") {
        return;
    }
    let Some(w) = World::start() else { return };
    w.peer.set_mfa_code("999999");
    assert!(w
        .run(
            &["login", "dev", "--token-code", "999999", "--no-daemon"],
            &[]
        )
        .status
        .success());
    let role = w.creds("dev");
    let chain = w.creds("chain2");
    let (_, alice_secret) = w.peer.user_key();
    let mut needles = vec![alice_secret];
    for c in [&role, &chain] {
        needles.push(c["SecretAccessKey"].as_str().unwrap().to_string());
        needles.push(c["SessionToken"].as_str().unwrap().to_string());
    }
    // The same through the daemon (its log and socket folder are under the test HOME): a new MFA
    // session and a new role, then the daemon is stopped so everything it writes is written.
    {
        let _stop = StopDaemon(&w);
        let logout = w.run(&["logout", "dev"], &[]);
        assert!(logout.status.success(), "{}", stderr(&logout));
        w.peer.set_mfa_code("888888");
        let login = w.run(&["login", "dev", "--token-code", "888888"], &[]);
        assert!(login.status.success(), "{}", stderr(&login));
        let out = w
            .command(&common::bin("awsenv-credential-process"), &["dev"], &[])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let c: Value = serde_json::from_slice(&out.stdout).unwrap();
        needles.push(c["SecretAccessKey"].as_str().unwrap().to_string());
        needles.push(c["SessionToken"].as_str().unwrap().to_string());
        assert!(
            !needles[..4].contains(needles.last().unwrap()),
            "a new role session"
        );
    }
    assert!(
        w.home().join("run/awsenv/daemon.log").is_file(),
        "the daemon ran and logged"
    );
    let hits = files_containing(w.home(), &needles);
    assert!(hits.is_empty(), "secrets on disk: {hits:?}");
    let hits = files_containing(&std::env::temp_dir(), &needles[..1]);
    assert!(hits.is_empty(), "secrets in the temp dir: {hits:?}");
}

/// Stale variables a shell may hold from an earlier export or from the user: each would make some SDK
/// ignore or misread the new credentials.
const STALE: [(&str, &str); 7] = [
    ("AWS_PROFILE", "ghost"),
    ("AWS_SECURITY_TOKEN", "stale-security-token"),
    ("AWS_ACCESS_KEY_ID", "AKIASTALESTALESTALE1"),
    ("AWS_SECRET_ACCESS_KEY", "stale-secret"),
    ("AWS_SESSION_TOKEN", "stale-session-token"),
    ("AWS_REGION", "ap-south-1"),
    ("AWSENV_PROFILE", "old"),
];

/// Prints what boto3 makes of the environment (identity, region, key) and the variables that matter,
/// then exits with the status given as its argument.
const BOTO3_PROBE: &str = r#"
import json, os, sys, boto3
s = boto3.Session()
c = s.get_credentials().get_frozen_credentials()
arn = s.client("sts").get_caller_identity()["Arn"]
names = ["AWS_PROFILE", "AWS_SECURITY_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWSENV_PROFILE",
         "AWSENV_EXPIRES", "AWS_CREDENTIAL_EXPIRATION", "AWS_SESSION_TOKEN"]
print(json.dumps({"arn": arn, "region": s.region_name, "key": c.access_key,
                  "env": {n: os.environ.get(n) for n in names}}))
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"#;

/// Stops the daemon a test started through the shorthand, even when the test fails.
struct StopDaemon<'a>(&'a World);

impl Drop for StopDaemon<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["daemon", "stop"], &[]);
    }
}

#[test]
fn boto3_reads_the_exported_variables() {
    if !common::in_session_keyring("boto3_reads_the_exported_variables") {
        return;
    }
    let Some(w) = World::start() else { return };
    let Some(py) = common::venv_python() else {
        return;
    };
    w.peer.set_mfa_code("314159");
    let _stop = StopDaemon(&w);
    // The shorthand, through the daemon (started on demand), with the code given up front.
    let out = w.run(&["dev", "--token-code", "314159"], &STALE);
    assert!(out.status.success(), "awsenv dev: {}", stderr(&out));
    let script = common::write_file(
        w.home(),
        "exported.sh",
        std::str::from_utf8(&out.stdout).unwrap(),
    );
    let probe = common::write_file(w.home(), "probe.py", BOTO3_PROBE);
    let run_probe = format!(
        ". '{}' && exec '{}' '{}'",
        script.display(),
        py.display(),
        probe.display()
    );
    let out = w
        .command(Path::new("/bin/bash"), &["-c", &run_probe], &STALE)
        .output()
        .unwrap();
    assert!(out.status.success(), "boto3: {}", stderr(&out));
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        seen["arn"]
            .as_str()
            .unwrap()
            .contains(":assumed-role/dev/awsenv-test"),
        "{seen}"
    );
    assert_eq!(seen["region"], "eu-west-1", "the profile's region: {seen}");
    assert_ne!(seen["key"], STALE[2].1);
    let env = &seen["env"];
    assert_eq!(env["AWS_PROFILE"], Value::Null, "{seen}");
    assert_eq!(env["AWS_SECURITY_TOKEN"], Value::Null, "{seen}");
    assert_eq!(env["AWSENV_PROFILE"], "dev");
    assert!(env["AWSENV_EXPIRES"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .is_ok());
    assert!(env["AWS_CREDENTIAL_EXPIRATION"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    // A second export is served from the daemon's cache: no new STS call.
    let again = w.run(&["export", "dev", "--format", "json"], &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    let vars: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], seen["key"]);
    assert_eq!(w.peer.count("GetSessionToken"), 1);
    assert_eq!(w.peer.count("AssumeRole"), 1);
}

#[test]
fn exec_replaces_earlier_variables_and_passes_the_exit_status() {
    if !common::in_session_keyring("exec_replaces_earlier_variables_and_passes_the_exit_status") {
        return;
    }
    let Some(w) = World::start() else { return };
    let Some(py) = common::venv_python() else {
        return;
    };
    w.peer.set_mfa_code("141421");
    // The user's default region, which SDKs read from the config when no region variable is set.
    let config = w.home().join(".aws/config");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[default]\nregion = us-west-2\n");
    std::fs::write(&config, text).unwrap();
    let probe = common::write_file(w.home(), "probe.py", BOTO3_PROBE);
    let (py, probe) = (py.to_str().unwrap(), probe.to_str().unwrap());
    let out = w.run(
        &[
            "exec",
            "chain2",
            "--token-code",
            "141421",
            "--no-daemon",
            "--",
            py,
            probe,
            "7",
        ],
        &STALE,
    );
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        seen["arn"]
            .as_str()
            .unwrap()
            .contains(":assumed-role/chain2/awsenv-test"),
        "{seen}"
    );
    let env = &seen["env"];
    assert_eq!(env["AWS_PROFILE"], Value::Null, "{seen}");
    assert_eq!(env["AWS_SECURITY_TOKEN"], Value::Null, "{seen}");
    assert_ne!(env["AWS_SESSION_TOKEN"], STALE[4].1);
    assert_eq!(env["AWSENV_PROFILE"], "chain2");
    // chain2 names no region, and the old one came from an earlier export: none is set, so the
    // SDK falls back to the user's default.
    assert_eq!(env["AWS_REGION"], Value::Null, "{seen}");
    assert_eq!(env["AWS_DEFAULT_REGION"], Value::Null, "{seen}");
    assert_eq!(seen["region"], "us-west-2", "{seen}");

    let out = w.run(
        &[
            "exec",
            "chain2",
            "--no-daemon",
            "--",
            "no-such-command-awsenv",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr(&out).contains("cannot run `no-such-command-awsenv`"));
    assert_eq!(w.peer.count("GetSessionToken"), 1);
}

#[test]
fn ensure_renews_early_and_refuses_what_sts_cannot_give() {
    if !common::in_session_keyring("ensure_renews_early_and_refuses_what_sts_cannot_give") {
        return;
    }
    let Some(w) = World::start() else { return };
    w.peer.set_mfa_code("173205");
    assert!(w
        .run(
            &["login", "dev", "--token-code", "173205", "--no-daemon"],
            &[]
        )
        .status
        .success());
    let export = |ensure: Option<&str>| {
        let mut args = vec!["export", "dev", "--no-daemon", "--format", "json"];
        if let Some(e) = ensure {
            args.extend(["--ensure", e]);
        }
        w.run(&args, &[])
    };
    // Role credentials with 30 minutes left are good enough by default…
    w.peer.set_expiry("AssumeRole", 1800);
    assert!(export(None).status.success());
    assert!(export(None).status.success());
    assert_eq!(w.peer.count("AssumeRole"), 1);
    // …but not for --ensure 50m: renewed, and when STS still gives only 30 minutes, refused.
    let out = export(Some("50m"));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("less than --ensure 50m"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "nothing exported");
    assert_eq!(w.peer.count("AssumeRole"), 2);
    // With hour-long credentials the demand is met, then served from cache.
    w.peer.set_expiry("AssumeRole", 3600);
    assert!(export(Some("50m")).status.success());
    assert!(export(Some("50m")).status.success());
    assert_eq!(w.peer.count("AssumeRole"), 3);
    // More than STS ever gives is refused before any call.
    let out = export(Some("13h"));
    assert!(
        stderr(&out).contains("at most 12 hours"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.peer.count("AssumeRole"), 3);
    assert_eq!(w.peer.count("GetSessionToken"), 1, "never a new code");
}

#[test]
fn without_a_terminal_the_prompt_fails_at_once_with_the_fix() {
    if !common::in_session_keyring("without_a_terminal_the_prompt_fails_at_once_with_the_fix") {
        return;
    }
    let Some(w) = World::start() else { return };
    // No terminal (setsid), no desktop prompt on PATH: a clear error, not a hang.
    let out = w.run(
        &["export", "dev", "--no-daemon"],
        &[("PATH", "/usr/bin:/bin"), ("DISPLAY", "")],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("no terminal"), "{err}");
    assert!(err.contains("awsenv login dev"), "{err}");
    assert!(out.stdout.is_empty());
    assert_eq!(w.peer.count("GetSessionToken"), 0);
}
