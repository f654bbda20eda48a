//! `awsenv doctor` scenarios, each in a temporary HOME with its own environment: keys that shadow a
//! profile and a container role, AWS_PROFILE together with keys, plaintext keys, a config file
//! botocore reads differently, an MFA role without mfa_serial, bad credential_process quoting, a clock
//! off against STS, and a healthy setup. Where doctor predicts what botocore does, botocore (the test
//! venv) is asked and must agree.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

struct Home(tempfile::TempDir);

impl Home {
    fn new(config: &str, credentials: &str) -> Home {
        let dir = tempfile::tempdir().unwrap();
        common::write_file(dir.path(), ".aws/config", config);
        common::write_file(dir.path(), ".aws/credentials", credentials);
        std::fs::create_dir_all(dir.path().join("run")).unwrap();
        Home(dir)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn env(&self, cmd: &mut Command, env: &[(&str, &str)]) {
        cmd.env_clear()
            .env("HOME", self.path())
            .env("USER", "alice")
            .env("XDG_RUNTIME_DIR", self.path().join("run"))
            .env("AWSENV_KEYCHAIN", "keyutils")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        for (k, v) in env {
            cmd.env(k, v);
        }
    }

    fn doctor_out(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(common::bin("awsenv"));
        cmd.arg("doctor").args(args);
        self.env(&mut cmd, env);
        cmd.output().unwrap()
    }

    /// `awsenv doctor --json --offline ARGS`, parsed.
    fn doctor(&self, args: &[&str], env: &[(&str, &str)]) -> Value {
        let mut all = vec!["--json", "--offline"];
        all.extend_from_slice(args);
        let out = self.doctor_out(&all, env);
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(1),
            "doctor: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// What botocore itself picks: the provider (`creds.method`) and, for an AssumeRole, the role ARN
    /// it would assume. Nothing is sent: AssumeRole credentials are loaded lazily and IMDS is off.
    fn botocore(&self, profile: Option<&str>, env: &[(&str, &str)]) -> Option<Value> {
        let py = common::venv_python()?;
        let script = r#"
import json, sys
import botocore.session
profile = sys.argv[1] or None
out = {}
try:
    s = botocore.session.Session(profile=profile)
    c = s.get_credentials()
    out["method"] = c.method if c else None
    if c and c.method in ("env", "shared-credentials-file", "config-file"):
        out["access_key"] = c.access_key
    out["role_arn"] = s.get_scoped_config().get("role_arn")
except Exception as e:
    out["error"] = type(e).__name__ + ": " + str(e)
print(json.dumps(out))
"#;
        let mut cmd = Command::new(py);
        cmd.args(["-c", script, profile.unwrap_or("")]);
        self.env(&mut cmd, env);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "botocore: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(serde_json::from_slice(&out.stdout).unwrap())
    }
}

fn tool<'a>(doc: &'a Value, sdk: &str) -> &'a Value {
    doc["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["sdk"] == sdk)
        .unwrap_or_else(|| panic!("no {sdk} in {doc}"))
}

fn codes(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] == "warning")
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn finding<'a>(doc: &'a Value, code: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code && f["level"] == "warning")
        .unwrap_or_else(|| panic!("no warning {code} in {doc:#}"))
}

/// The botocore provider name for doctor's prediction.
fn botocore_method(found: &Value) -> Option<&'static str> {
    match found["kind"].as_str().unwrap() {
        "env_keys" => Some("env"),
        "profile" => match found["source"]["kind"].as_str().unwrap() {
            "assume_role" => Some("assume-role"),
            "process" => Some("custom-process"),
            "keys" if found["source"]["file"] == "credentials file" => {
                Some("shared-credentials-file")
            }
            "keys" => Some("config-file"),
            other => panic!("{other}"),
        },
        "container" => Some("container-role"),
        _ => None,
    }
}

/// doctor's botocore prediction must be what botocore does.
fn agrees_with_botocore(home: &Home, doc: &Value, profile: Option<&str>, env: &[(&str, &str)]) {
    let Some(real) = home.botocore(profile, env) else {
        return;
    };
    let predicted = &tool(doc, "botocore")["found"];
    if predicted["kind"] == "error" {
        assert!(
            real["error"].is_string(),
            "doctor {predicted}, botocore {real}"
        );
        return;
    }
    assert_eq!(
        real["method"].as_str(),
        botocore_method(predicted),
        "doctor {predicted}, botocore {real}"
    );
    if predicted["source"]["kind"] == "assume_role" {
        assert_eq!(real["role_arn"], predicted["source"]["role_arn"], "{real}");
    }
}

const KEYS: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001"),
    ("AWS_SECRET_ACCESS_KEY", "env-secret"),
];

const DEFAULT_KEYS: &str =
    "[default]\naws_access_key_id = AKIADEFAULTDEFAULT01\naws_secret_access_key = default-secret\n";

#[test]
fn keys_in_the_environment_shadow_the_profile_and_the_container_role() {
    let home = Home::new("", DEFAULT_KEYS);
    let mut env = KEYS.to_vec();
    env.push((
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "http://127.0.0.1:9/creds",
    ));
    let doc = home.doctor(&[], &env);
    for sdk in ["botocore", "aws-cli-v2", "rust", "go", "js"] {
        assert_eq!(tool(&doc, sdk)["found"]["kind"], "env_keys", "{sdk}");
    }
    let f = finding(&doc, "env_keys_shadow");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("profile `default`"), "{msg}");
    assert!(msg.contains("the container role"), "{msg}");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("unset AWS_ACCESS_KEY_ID"),
        "{f}"
    );
    agrees_with_botocore(&home, &doc, None, &env);
    // Without the keys, the default profile's own keys are used, and nothing shadows anything.
    let doc = home.doctor(&[], &[]);
    assert!(!codes(&doc).contains(&"env_keys_shadow".to_string()));
    assert_eq!(tool(&doc, "rust")["found"]["kind"], "profile");
    agrees_with_botocore(&home, &doc, None, &[]);
}

#[test]
fn aws_profile_with_keys_splits_the_js_sdk_from_the_others() {
    let creds =
        "[dev]\naws_access_key_id = AKIADEVDEVDEVDEV0001\naws_secret_access_key = dev-secret\n";
    let home = Home::new("", creds);
    let mut env = KEYS.to_vec();
    env.push(("AWS_PROFILE", "dev"));
    let doc = home.doctor(&[], &env);
    assert_eq!(tool(&doc, "js")["found"]["kind"], "profile");
    for sdk in ["botocore", "aws-cli-v2", "rust", "go"] {
        assert_eq!(tool(&doc, sdk)["found"]["kind"], "env_keys", "{sdk}");
    }
    let f = finding(&doc, "aws_profile_with_keys");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("JS SDK then ignores the keys"),
        "{f}"
    );
    assert!(
        f["fix"].as_str().unwrap().contains("unset AWS_PROFILE"),
        "{f}"
    );
    assert!(codes(&doc).contains(&"tools_disagree".to_string()));
    agrees_with_botocore(&home, &doc, None, &env);
    // Named explicitly, botocore skips the environment and takes the profile's keys.
    let doc = home.doctor(&["dev"], &env);
    assert_eq!(tool(&doc, "botocore")["found"]["kind"], "profile");
    assert_eq!(tool(&doc, "rust")["found"]["kind"], "env_keys");
    agrees_with_botocore(&home, &doc, Some("dev"), &env);
}

#[test]
fn plaintext_keys_get_the_import_command() {
    let home = Home::new("", DEFAULT_KEYS);
    let out = home.doctor_out(&["--offline"], &[]);
    assert_eq!(out.status.code(), Some(1), "a warning exits 1");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("profile `default` keeps long-term keys (AKIA…LT01) in plaintext"),
        "{text}"
    );
    assert!(
        text.contains("fix: awsenv add default --import --remove-plaintext"),
        "{text}"
    );
    assert!(!text.contains("default-secret"), "never a secret: {text}");
}

#[test]
fn a_config_botocore_reads_differently_is_reported_and_botocore_agrees() {
    // An inline comment: botocore keeps it in the role ARN, the other SDKs drop it.
    let config = "[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/dev # the old one\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\n";
    let creds =
        "[base]\naws_access_key_id = AKIABASEBASEBASE0001\naws_secret_access_key = base-secret\n";
    let home = Home::new(config, creds);
    let env = [("AWS_PROFILE", "dev")];
    let doc = home.doctor(&[], &env);
    let f = finding(&doc, "botocore_divergence");
    assert!(
        f["message"].as_str().unwrap().contains("inline_comment"),
        "{f}"
    );
    assert_eq!(
        tool(&doc, "botocore")["found"]["source"]["role_arn"],
        "arn:aws:iam::123456789012:role/dev # the old one"
    );
    assert_eq!(
        tool(&doc, "rust")["found"]["source"]["role_arn"],
        "arn:aws:iam::123456789012:role/dev"
    );
    agrees_with_botocore(&home, &doc, None, &env);

    // Keys in the credentials file and a credential_process: botocore takes the keys, Rust the process.
    let config = "[profile both]\ncredential_process = /bin/false\n";
    let creds =
        "[both]\naws_access_key_id = AKIABOTHBOTHBOTH0001\naws_secret_access_key = both-secret\n";
    let home = Home::new(config, creds);
    let env = [("AWS_PROFILE", "both")];
    let doc = home.doctor(&[], &env);
    assert_eq!(tool(&doc, "botocore")["found"]["source"]["kind"], "keys");
    assert_eq!(tool(&doc, "rust")["found"]["source"]["kind"], "process");
    agrees_with_botocore(&home, &doc, None, &env);

    // A duplicate section: botocore refuses the whole file.
    let config = "[profile d]\nregion = eu-west-1\n[profile d]\noutput = json\n";
    let home = Home::new(config, "");
    let env = [("AWS_PROFILE", "d")];
    let doc = home.doctor(&[], &env);
    assert_eq!(tool(&doc, "botocore")["found"]["kind"], "error");
    assert!(codes(&doc).contains(&"botocore_divergence".to_string()));
    agrees_with_botocore(&home, &doc, None, &env);
}

#[test]
fn an_mfa_role_without_mfa_serial_and_bad_process_quoting() {
    let config = "[profile base]\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\n\
                  [profile admin]\nrole_arn = arn:aws:iam::123456789012:role/admin\nsource_profile = base\n\
                  [profile tool]\ncredential_process = ~/bin/get-creds --user \"$USER\"\n\
                  [profile good]\ncredential_process = '/opt/my tools/get-creds' --profile good\n";
    let home = Home::new(config, "");
    let doc = home.doctor(&["admin"], &[]);
    let f = finding(&doc, "mfa_profile_without_mfa_serial");
    assert!(f["message"].as_str().unwrap().contains("`admin`"), "{f}");
    assert_eq!(
        f["fix"],
        "add `mfa_serial = arn:aws:iam::123456789012:mfa/alice` to [profile admin]"
    );
    let quoting: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "credential_process_quoting")
        .collect();
    assert_eq!(quoting.len(), 1, "only `tool`: {quoting:?}");
    let msg = quoting[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("profile `tool`") && msg.contains("`~`"),
        "{msg}"
    );
    // What botocore really runs: shlex.split leaves `~` and `$USER` alone.
    if let Some(py) = common::venv_python() {
        let out = Command::new(py)
            .args([
                "-c",
                "import shlex,sys; print(shlex.split(sys.argv[1]))",
                "~/bin/get-creds --user \"$USER\"",
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "['~/bin/get-creds', '--user', '$USER']"
        );
    }
}

#[test]
fn a_healthy_setup_has_no_warnings() {
    let config =
        "[profile dev]\ncredential_process = /bin/echo '{\"Version\": 1}'\nregion = eu-west-1\n";
    let home = Home::new(config, "");
    let env = [("AWS_PROFILE", "dev")];
    let out = home.doctor_out(&["--offline"], &env);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("No problems found."), "{text}");
    let doc = home.doctor(&[], &env);
    assert!(codes(&doc).is_empty(), "{doc:#}");
    for sdk in ["botocore", "aws-cli-v2", "rust", "go", "js"] {
        assert_eq!(
            tool(&doc, sdk)["found"]["source"]["kind"],
            "process",
            "{sdk}"
        );
    }
    let kinds: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    for code in ["keychain", "daemon", "shell_exports", "clock"] {
        assert!(kinds.contains(&code), "{code} in {kinds:?}");
    }
}

#[test]
fn a_clock_off_against_sts_is_measured_without_credentials() {
    let Some(peer) = common::sts_peer::StsPeer::start() else {
        return;
    };
    let home = Home::new("[profile dev]\ncredential_process = /bin/true\n", "");
    peer.inject("*", "clock_skew", 1, serde_json::json!({"offset": 900}));
    let endpoint = peer.endpoint();
    let env = [
        ("AWS_PROFILE", "dev"),
        ("AWS_ENDPOINT_URL_STS", endpoint.as_str()),
    ];
    let out = home.doctor_out(&["--json"], &env);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = finding(&doc, "clock");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("behind STS"), "{msg}");
    assert!(msg.contains("15m") || msg.contains("14m"), "{msg}");
    // One unsigned request, no credentials.
    let requests = peer.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].access_key_id, None);
    // A clock in time is fine; an STS out of reach is a note, not a failure.
    let out = home.doctor_out(&["--json"], &env);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!codes(&doc).contains(&"clock".to_string()), "{doc:#}");
    let out = home.doctor_out(
        &["--json"],
        &[
            ("AWS_PROFILE", "dev"),
            ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9"),
        ],
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let clock = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "clock")
        .unwrap();
    assert_eq!(clock["level"], "info", "{clock}");
    assert!(clock["message"].as_str().unwrap().contains("not compared"));
}
