//! `awsenv explain` and `awsenv profiles`, run as the real binary against config files in a
//! temporary HOME: every kind of profile, and every error the plan can report.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const CONFIG: &str = r#"
[default]
region = eu-west-1

[profile static]
region = ap-southeast-2

[profile alice]
mfa_serial = arn:aws:iam::123456789012:mfa/alice
awsenv_session_duration = 8h

[profile dev]
role_arn = arn:aws:iam::123456789012:role/dev
source_profile = alice
mfa_serial = arn:aws:iam::123456789012:mfa/alice
region = eu-central-1

[profile partner]
role_arn = arn:aws:iam::210987654321:role/partner
source_profile = alice
external_id = partner-ext-42
role_session_name = alice-at-partner
duration_seconds = 7200

[profile chain2]
role_arn = arn:aws:iam::123456789012:role/chain2
source_profile = dev

[profile chain3]
role_arn = arn:aws:iam::123456789012:role/chain3
source_profile = chain2
duration_seconds = 1800

[profile from-env]
role_arn = arn:aws:iam::123456789012:role/from-env
credential_source = Environment

[profile from-ec2]
role_arn = arn:aws:iam::123456789012:role/from-ec2
credential_source = Ec2InstanceMetadata

[profile from-ecs]
role_arn = arn:aws:iam::123456789012:role/from-ecs
credential_source = EcsContainer
mfa_serial = arn:aws:iam::123456789012:mfa/ops

[profile self-keys]
role_arn = arn:aws:iam::123456789012:role/self
source_profile = self-keys

[profile proc]
credential_process = /opt/bin/get-creds --account 1

[profile cycle-a]
role_arn = arn:aws:iam::123456789012:role/a
source_profile = cycle-b

[profile cycle-b]
role_arn = arn:aws:iam::123456789012:role/b
source_profile = cycle-a

[profile to-missing]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = nowhere

[profile both]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = alice
credential_source = Environment

[profile neither]
role_arn = arn:aws:iam::123456789012:role/x

[profile bad-source]
role_arn = arn:aws:iam::123456789012:role/x
credential_source = environment

[profile too-long]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = alice
duration_seconds = 50000

[profile too-short]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = alice
duration_seconds = 60

[profile not-a-number]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = alice
duration_seconds = 1h

[profile session-too-long]
mfa_serial = arn:aws:iam::123456789012:mfa/bob
awsenv_session_duration = 48h

[profile chained-too-long]
role_arn = arn:aws:iam::123456789012:role/chain
source_profile = dev
duration_seconds = 7200

[profile loop]
credential_process = awsenv-credential-process loop

[profile loop-full]
credential_process = "/usr/local/bin/awsenv" credential-process loop-full

[profile calls-other]
credential_process = awsenv export dev --format process

[profile settings]
region = us-west-2
output = json

[profile half-keys]
aws_access_key_id = AKIAHALFHALFHALF0000

[profile sso]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Admin

[profile bad-name]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = alice
role_session_name = has spaces
"#;

const CREDENTIALS: &str = r#"
[static]
aws_access_key_id = AKIASTATICSTATIC1234
aws_secret_access_key = static-secret

[alice]
aws_access_key_id = AKIAALICEALICEAL1234
aws_secret_access_key = alice-secret

[self-keys]
aws_access_key_id = AKIASELFSELFSELF1234
aws_secret_access_key = self-secret

[session-too-long]
aws_access_key_id = AKIABOBBOBBOBBOB1234
aws_secret_access_key = bob-secret

[temp]
aws_access_key_id = ASIATEMPTEMPTEMP1234
aws_secret_access_key = temp-secret
aws_session_token = temp-token
mfa_serial = arn:aws:iam::123456789012:mfa/temp
"#;

struct Home(tempfile::TempDir);

impl Home {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        common::write_file(dir.path(), ".aws/config", CONFIG);
        common::write_file(dir.path(), ".aws/credentials", CREDENTIALS);
        Home(dir)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn awsenv(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(common::bin("awsenv"));
        cmd.args(args)
            .env_clear()
            .env("HOME", self.path())
            .env("USER", "alice")
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn plan(&self, profile: &str, env: &[(&str, &str)]) -> Value {
        let out = self.awsenv(&["explain", profile, "--json"], env);
        assert!(
            out.status.success(),
            "explain {profile} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn error(&self, profile: &str) -> String {
        let out = self.awsenv(&["explain", profile], &[]);
        assert!(!out.status.success(), "explain {profile} should fail");
        assert!(out.stdout.is_empty(), "errors go to stderr only");
        String::from_utf8(out.stderr).unwrap()
    }
}

fn calls(doc: &Value) -> Vec<String> {
    doc["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["call"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn static_keys_need_no_sts_call() {
    let h = Home::new();
    let doc = h.plan("static", &[]);
    assert_eq!(doc["kind"], "static_keys");
    assert_eq!(doc["plan"]["source"]["kind"], "file_keys");
    assert!(calls(&doc).is_empty());
    assert_eq!(doc["plan"]["region"]["value"], "ap-southeast-2");
    let text = String::from_utf8(h.awsenv(&["explain", "static"], &[]).stdout).unwrap();
    assert!(text.contains("AKIA…1234"), "{text}");
    assert!(
        !text.contains("AKIASTATICSTATIC1234"),
        "key ids are masked: {text}"
    );
    assert!(!text.contains("static-secret"), "{text}");
}

#[test]
fn mfa_user_gets_an_mfa_session() {
    let h = Home::new();
    let doc = h.plan("alice", &[]);
    assert_eq!(doc["kind"], "mfa_user");
    assert_eq!(calls(&doc), ["GetSessionToken"]);
    let step = &doc["plan"]["steps"][0];
    assert_eq!(
        step["mfa_serial"]["value"],
        "arn:aws:iam::123456789012:mfa/alice"
    );
    assert_eq!(step["duration_seconds"]["value"], 8 * 3600);
    assert_eq!(step["duration_seconds"]["from"]["line"], 10);
}

#[test]
fn role_from_mfa_user_asks_the_code_once() {
    let h = Home::new();
    let doc = h.plan("dev", &[]);
    assert_eq!(doc["kind"], "role");
    assert_eq!(calls(&doc), ["GetSessionToken", "AssumeRole"]);
    let role = &doc["plan"]["steps"][1];
    assert_eq!(role["mfa_from_session"], true);
    assert!(role["mfa_serial"].is_null(), "no second code: {role}");
    assert_eq!(role["chained"], false);
    assert_eq!(role["duration_seconds"]["value"], 3600);
    assert_eq!(role["role_session_name"]["value"], "awsenv-alice");
    assert_eq!(doc["plan"]["region"]["value"], "eu-central-1");
    let text = String::from_utf8(h.awsenv(&["explain", "dev"], &[]).stdout).unwrap();
    assert!(
        text.contains("MFA: covered by the MFA session of step 2"),
        "{text}"
    );
}

#[test]
fn chain_of_three_roles() {
    let h = Home::new();
    let doc = h.plan("chain3", &[]);
    assert_eq!(doc["kind"], "role_chain");
    assert_eq!(
        calls(&doc),
        ["GetSessionToken", "AssumeRole", "AssumeRole", "AssumeRole"]
    );
    let steps = doc["plan"]["steps"].as_array().unwrap();
    let arns: Vec<&str> = steps[1..]
        .iter()
        .map(|s| s["role_arn"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        arns,
        [
            "arn:aws:iam::123456789012:role/dev",
            "arn:aws:iam::123456789012:role/chain2",
            "arn:aws:iam::123456789012:role/chain3"
        ]
    );
    let chained: Vec<bool> = steps[1..]
        .iter()
        .map(|s| s["chained"].as_bool().unwrap())
        .collect();
    assert_eq!(chained, [false, true, true]);
    assert_eq!(steps[3]["duration_seconds"]["value"], 1800);
}

#[test]
fn external_id_session_name_and_duration_are_passed() {
    let h = Home::new();
    let doc = h.plan("partner", &[]);
    let role = &doc["plan"]["steps"][1];
    assert_eq!(role["external_id"]["value"], "partner-ext-42");
    assert_eq!(role["role_session_name"]["value"], "alice-at-partner");
    assert_eq!(role["duration_seconds"]["value"], 7200);
    assert_eq!(role["role_session_name"]["from"]["kind"], "file");
}

#[test]
fn each_credential_source() {
    let h = Home::new();
    for (profile, source, chained) in [
        ("from-env", "Environment", false),
        ("from-ec2", "Ec2InstanceMetadata", true),
        ("from-ecs", "EcsContainer", true),
    ] {
        let doc = h.plan(profile, &[]);
        assert_eq!(doc["kind"], "role_from_credential_source", "{profile}");
        assert_eq!(doc["plan"]["source"]["kind"], "credential_source");
        assert_eq!(doc["plan"]["source"]["source"]["value"], source);
        assert_eq!(calls(&doc), ["AssumeRole"], "{profile}");
        assert_eq!(doc["plan"]["steps"][0]["chained"], chained, "{profile}");
    }
    // Instance and container credentials are a role's already: the MFA code rides on AssumeRole.
    let doc = h.plan("from-ecs", &[]);
    assert_eq!(
        doc["plan"]["steps"][0]["mfa_serial"]["value"],
        "arn:aws:iam::123456789012:mfa/ops"
    );
}

#[test]
fn source_profile_naming_itself_uses_its_own_keys() {
    let h = Home::new();
    let doc = h.plan("self-keys", &[]);
    assert_eq!(doc["plan"]["source"]["profile"], "self-keys");
    assert_eq!(calls(&doc), ["AssumeRole"]);
}

#[test]
fn credential_process_and_settings_profiles() {
    let h = Home::new();
    let doc = h.plan("proc", &[]);
    assert_eq!(doc["kind"], "process");
    assert_eq!(
        doc["plan"]["source"]["command"]["value"],
        "/opt/bin/get-creds --account 1"
    );
    let out = h.awsenv(&["profiles", "--json"], &[]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kind = |name: &str| {
        list["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["kind"]
            .clone()
    };
    assert_eq!(kind("settings"), "settings_only");
    assert_eq!(kind("sso"), "sso");
    assert_eq!(kind("temp"), "temporary_keys");
    assert_eq!(kind("chain2"), "role_chain");
    assert_eq!(kind("cycle-a"), "invalid");
}

#[test]
fn temporary_keys_cannot_make_an_mfa_session() {
    let h = Home::new();
    let doc = h.plan("temp", &[]);
    assert!(calls(&doc).is_empty());
    let notes = doc["plan"]["notes"].to_string();
    assert!(notes.contains("temporary already"), "{notes}");
}

#[test]
fn region_precedence() {
    let h = Home::new();
    let doc = h.plan("dev", &[("AWS_DEFAULT_REGION", "sa-east-1")]);
    assert_eq!(doc["plan"]["region"]["value"], "sa-east-1");
    assert_eq!(doc["plan"]["region"]["from"]["var"], "AWS_DEFAULT_REGION");
    let doc = h.plan(
        "dev",
        &[
            ("AWS_REGION", "ca-central-1"),
            ("AWS_DEFAULT_REGION", "sa-east-1"),
        ],
    );
    assert_eq!(doc["plan"]["region"]["value"], "ca-central-1");
    // A region exported by an earlier `awsenv` run is not the user's choice.
    let doc = h.plan(
        "dev",
        &[("AWS_REGION", "ca-central-1"), ("AWSENV_PROFILE", "other")],
    );
    assert_eq!(doc["plan"]["region"]["value"], "eu-central-1");
    let doc = h.plan("chain2", &[]);
    assert_eq!(doc["plan"]["region"]["value"], "us-east-1");
}

#[test]
fn default_profile_from_environment() {
    let h = Home::new();
    let out = h.awsenv(&["explain", "--json"], &[("AWS_PROFILE", "partner")]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["profile"], "partner");
}

#[test]
fn errors_say_what_to_do() {
    let h = Home::new();
    let cases: &[(&str, &[&str])] = &[
        ("cycle-a", &["cycle", "cycle-a → cycle-b → cycle-a"]),
        (
            "to-missing",
            &["`nowhere` is not defined", "named by profile `to-missing`"],
        ),
        ("nope", &["`nope` is not defined", "awsenv profiles"]),
        ("chian2", &["did you mean `chain2`"]),
        (
            "both",
            &["both source_profile", "credential_source", "keep only one"],
        ),
        (
            "neither",
            &[
                "neither source_profile nor credential_source",
                "add `source_profile",
            ],
        ),
        (
            "bad-source",
            &[
                "credential_source = environment",
                "Environment, Ec2InstanceMetadata, EcsContainer",
            ],
        ),
        (
            "too-long",
            &["duration_seconds = 50000", "out of range", "900 to 43200"],
        ),
        ("too-short", &["duration_seconds = 60", "out of range"]),
        (
            "not-a-number",
            &["duration_seconds = 1h", "not a whole number"],
        ),
        (
            "session-too-long",
            &["awsenv_session_duration = 48h", "900 to 129600"],
        ),
        (
            "chained-too-long",
            &[
                "1-hour limit",
                "role chaining",
                "duration_seconds = 3600 or less",
            ],
        ),
        (
            "loop",
            &[
                "runs awsenv for `loop` itself",
                "would loop",
                "awsenv add loop",
            ],
        ),
        ("loop-full", &["would loop"]),
        (
            "calls-other",
            &["runs awsenv for `dev`", "source_profile = dev"],
        ),
        ("settings", &["has no credentials", "awsenv add settings"]),
        (
            "half-keys",
            &["aws_access_key_id", "but not aws_secret_access_key"],
        ),
        (
            "sso",
            &["IAM Identity Center", "aws sso login --profile sso"],
        ),
        (
            "bad-name",
            &["role_session_name = has spaces", "2 to 64 characters"],
        ),
    ];
    let mut failures = Vec::new();
    for (profile, needles) in cases {
        let err = h.error(profile);
        assert!(err.starts_with("awsenv: "), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        for needle in *needles {
            if !err.contains(needle) {
                failures.push(format!("{profile}: {err:?} lacks {needle:?}"));
            }
        }
        // Every file-related error points at a line.
        if !["nope", "chian2", "settings"].contains(profile) && !err.contains(".aws/config:") {
            failures.push(format!("{profile}: no file:line in {err:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_broken_config_file_names_file_and_line() {
    let h = Home::new();
    common::write_file(
        h.path(),
        ".aws/config",
        "[profile a]\nregion = x\nthis is wrong\n",
    );
    let out = h.awsenv(&["profiles"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains(".aws/config:3"), "{err}");
    assert!(err.contains("Expected an '=' sign"), "{err}");
}

#[test]
fn profiles_table_and_warnings() {
    let h = Home::new();
    let mut config = CONFIG.to_string();
    config.push_str("\n[forgot-prefix]\nregion = x\n");
    common::write_file(h.path(), ".aws/config", &config);
    let out = h.awsenv(&["profiles"], &[]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(table.starts_with("PROFILE"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("dev ") && l.contains("role")),
        "{table}"
    );
    assert!(table.contains(".aws/credentials:"), "{table}");
    assert!(err.contains("[profile forgot-prefix]"), "{err}");
}

#[test]
fn env_files_override_locations() {
    let h = Home::new();
    let other = h.path().join("elsewhere");
    common::write_file(&other, "cfg", "[profile only-here]\nregion = x\n");
    let out = h.awsenv(
        &["profiles", "--json"],
        &[
            ("AWS_CONFIG_FILE", other.join("cfg").to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/creds"),
        ],
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = doc["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["only-here"]);
}
