//! Who wins the credential chain: for the current environment and config, which source the AWS CLI
//! v1 and boto3 (botocore), the AWS CLI v2, and the Rust, Go and JS SDKs would each take their
//! credentials from, and why. `awsenv doctor` prints this next to awsenv's own plan.
//!
//! The orders are those of `shared/docs/aws-reference.md` §2:
//!
//! - botocore and the AWS CLI v2: environment → `role_arn` → web identity → SSO → keys in the
//!   credentials file → `credential_process` → keys in the config file → container → IMDS. A profile
//!   named explicitly (`--profile`, `Session(profile_name=…)`) skips the environment; `AWS_PROFILE`
//!   alone does not. botocore takes `AWS_DEFAULT_PROFILE` before `AWS_PROFILE`, the CLI v2 the reverse,
//!   and botocore reads `AWS_SECURITY_TOKEN` before `AWS_SESSION_TOKEN`. Both read the config file
//!   with Python's `configparser`, so their view of it is botocore's ([`super::botocore_compat`]).
//! - Rust: environment → the profile (`role_arn`, then web identity, SSO, `credential_process`, static
//!   keys) → web identity from the environment → container → IMDS. It ignores `mfa_serial`.
//! - Go v2: an explicitly named profile first; otherwise environment keys → web identity from the
//!   environment → the profile (`role_arn`, SSO, static keys, web identity, `credential_process`) →
//!   container → IMDS.
//! - JS v3: the environment, unless `AWS_PROFILE` is set or a profile is named → the profile (SSO,
//!   `role_arn`, static keys, web identity, `credential_process`) → web identity from the environment →
//!   container → IMDS.
//!
//! Everything here is pure: the caller passes the environment, the cross-SDK reading of the files, and
//! botocore's reading of the config file.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::config::{FileKind, ProfileSet};
use super::env::Env;

/// The tools whose chain is predicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sdk {
    /// botocore: the AWS CLI v1 and boto3.
    Botocore,
    AwsCliV2,
    Rust,
    Go,
    Js,
}

impl Sdk {
    pub const ALL: [Sdk; 5] = [Sdk::Botocore, Sdk::AwsCliV2, Sdk::Rust, Sdk::Go, Sdk::Js];

    pub fn label(self) -> &'static str {
        match self {
            Sdk::Botocore => "AWS CLI v1 / boto3",
            Sdk::AwsCliV2 => "AWS CLI v2",
            Sdk::Rust => "Rust SDK",
            Sdk::Go => "Go SDK v2",
            Sdk::Js => "JS SDK v3",
        }
    }

    /// The profile variables the tool reads, in its order.
    fn profile_vars(self) -> &'static [&'static str] {
        match self {
            Sdk::Botocore => &["AWS_DEFAULT_PROFILE", "AWS_PROFILE"],
            Sdk::AwsCliV2 | Sdk::Go => &["AWS_PROFILE", "AWS_DEFAULT_PROFILE"],
            Sdk::Rust | Sdk::Js => &["AWS_PROFILE"],
        }
    }

    fn reads_config_like_botocore(self) -> bool {
        matches!(self, Sdk::Botocore | Sdk::AwsCliV2)
    }
}

impl fmt::Display for Sdk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What a profile gives credentials by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProfileSource {
    AssumeRole {
        role_arn: String,
        /// `source_profile = x` or `credential_source = y`.
        source: String,
        mfa_serial: Option<String>,
    },
    WebIdentity,
    Sso,
    Process {
        command: String,
    },
    Keys {
        file: String,
        at: Option<String>,
    },
}

/// Where one tool takes its credentials from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Found {
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    EnvKeys {
        access_key_id: String,
        token_var: Option<String>,
    },
    Profile {
        profile: String,
        source: ProfileSource,
    },
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` with `AWS_ROLE_ARN`.
    WebIdentityEnv,
    /// The container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_*_URI`).
    Container { var: String },
    /// The EC2 instance metadata service.
    Imds { on_ec2: bool },
    /// The tool stops with an error.
    Error { message: String },
    /// No source: the tool fails with "unable to locate credentials".
    Nothing,
}

impl Found {
    pub fn describe(&self) -> String {
        match self {
            Found::EnvKeys {
                access_key_id,
                token_var,
            } => format!(
                "the environment's keys (AWS_ACCESS_KEY_ID {}{})",
                mask(access_key_id),
                token_var
                    .as_ref()
                    .map(|v| format!(", token from {v}"))
                    .unwrap_or_default()
            ),
            Found::Profile { profile, source } => match source {
                ProfileSource::AssumeRole {
                    role_arn,
                    source,
                    mfa_serial,
                } => format!(
                    "profile `{profile}`: AssumeRole {role_arn} from {source}{}",
                    mfa_serial
                        .as_ref()
                        .map(|m| format!(", MFA device {m}"))
                        .unwrap_or_default()
                ),
                ProfileSource::WebIdentity => {
                    format!("profile `{profile}`: web identity (web_identity_token_file)")
                }
                ProfileSource::Sso => format!("profile `{profile}`: IAM Identity Center (SSO)"),
                ProfileSource::Process { command } => {
                    format!("profile `{profile}`: credential_process `{command}`")
                }
                ProfileSource::Keys { file, at } => format!(
                    "profile `{profile}`: keys in the {file}{}",
                    at.as_ref().map(|a| format!(" ({a})")).unwrap_or_default()
                ),
            },
            Found::WebIdentityEnv => {
                "web identity from the environment (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)"
                    .into()
            }
            Found::Container { var } => format!("the container credentials endpoint (${var})"),
            Found::Imds { on_ec2: true } => "the EC2 instance role (IMDS)".into(),
            Found::Imds { on_ec2: false } => {
                "nothing configured: it would ask the EC2 instance metadata service, which is not there, and fail".into()
            }
            Found::Error { message } => format!("an error: {message}"),
            Found::Nothing => "nothing: it fails with \"unable to locate credentials\"".into(),
        }
    }

    /// Whether the environment's keys are what the tool uses.
    pub fn is_env_keys(&self) -> bool {
        matches!(self, Found::EnvKeys { .. })
    }
}

/// `AKIA…WXYZ`.
pub fn mask(akid: &str) -> String {
    if akid.len() <= 8 || !akid.is_ascii() {
        return "…".into();
    }
    format!("{}…{}", &akid[..4], &akid[akid.len() - 4..])
}

/// One tool's prediction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prediction {
    pub sdk: Sdk,
    pub label: &'static str,
    /// The profile the tool selects.
    pub profile: String,
    /// `named explicitly`, `$AWS_PROFILE`, `default`.
    pub profile_from: String,
    pub found: Found,
    /// Why: the sources it passed over, and what decided.
    pub why: String,
    /// Behaviour of this tool worth knowing (a setting it ignores, say).
    pub notes: Vec<String>,
}

/// The inputs of [`predict`].
pub struct Inputs<'a> {
    pub env: &'a Env,
    /// The cross-SDK reading of both files.
    pub profiles: &'a ProfileSet,
    /// botocore's reading of the config file (`{"profiles": {…}}`, see
    /// [`super::botocore_compat::botocore_json`]), or why botocore refuses it; `None` when there is no
    /// config file.
    pub botocore_config: Option<&'a Result<serde_json::Value, String>>,
    /// A profile named explicitly (`awsenv doctor PROFILE`: as `--profile PROFILE`).
    pub explicit_profile: Option<&'a str>,
    /// Whether this machine is an EC2 instance (so IMDS has a role to offer).
    pub on_ec2: bool,
}

/// One property of a profile as one tool reads it.
#[derive(Debug, Clone)]
struct Prop {
    value: String,
    file: FileKind,
    at: Option<String>,
}

type Props = BTreeMap<String, Prop>;

/// The profile as the cross-SDK rules read it (credentials-file values over config-file ones).
fn cross_view(inputs: &Inputs<'_>, name: &str) -> Option<Props> {
    let section = inputs.profiles.profile(name)?;
    Some(
        section
            .properties
            .iter()
            .filter(|(_, v)| !v.value.is_empty())
            .map(|(k, v)| {
                (
                    k.clone(),
                    Prop {
                        value: v.value.clone(),
                        file: v.origin.kind,
                        at: Some(v.origin.to_string()),
                    },
                )
            })
            .collect(),
    )
}

/// The profile as botocore reads it: its reading of the config file, then the credentials file's
/// values on top (botocore's `full_config` merge).
fn botocore_view(
    inputs: &Inputs<'_>,
    config: Option<&serde_json::Value>,
    name: &str,
) -> Option<Props> {
    let section = inputs.profiles.profile(name);
    let mut props = Props::new();
    let mut found = false;
    if let Some(map) = config
        .and_then(|c| c.get("profiles"))
        .and_then(|p| p.get(name))
        .and_then(|p| p.as_object())
    {
        found = true;
        for (k, v) in map {
            let Some(value) = v.as_str() else { continue };
            if value.is_empty() {
                continue;
            }
            let at = section
                .and_then(|s| s.value(k))
                .filter(|ours| ours.origin.kind == FileKind::Config && ours.value == value)
                .map(|ours| ours.origin.to_string());
            props.insert(
                k.clone(),
                Prop {
                    value: value.to_string(),
                    file: FileKind::Config,
                    at,
                },
            );
        }
    }
    if let Some(s) = section {
        for (k, v) in &s.properties {
            if v.origin.kind == FileKind::Credentials {
                found = true;
                if !v.value.is_empty() {
                    props.insert(
                        k.clone(),
                        Prop {
                            value: v.value.clone(),
                            file: FileKind::Credentials,
                            at: Some(v.origin.to_string()),
                        },
                    );
                }
            }
        }
    }
    found.then_some(props)
}

fn get<'p>(p: &'p Props, k: &str) -> Option<&'p str> {
    p.get(k).map(|v| v.value.as_str())
}

fn role(name: &str, p: &Props) -> Option<Found> {
    let role_arn = get(p, "role_arn")?;
    let source = match (get(p, "source_profile"), get(p, "credential_source")) {
        (Some(s), _) => format!("source_profile = {s}"),
        (None, Some(c)) => format!("credential_source = {c}"),
        (None, None) => {
            "nothing (role_arn without source_profile or credential_source is an error)".into()
        }
    };
    Some(Found::Profile {
        profile: name.into(),
        source: ProfileSource::AssumeRole {
            role_arn: role_arn.into(),
            source,
            mfa_serial: get(p, "mfa_serial").map(str::to_string),
        },
    })
}

fn web_identity(name: &str, p: &Props) -> Option<Found> {
    get(p, "web_identity_token_file").map(|_| Found::Profile {
        profile: name.into(),
        source: ProfileSource::WebIdentity,
    })
}

fn sso(name: &str, p: &Props) -> Option<Found> {
    (get(p, "sso_session").is_some() || get(p, "sso_start_url").is_some()).then(|| Found::Profile {
        profile: name.into(),
        source: ProfileSource::Sso,
    })
}

fn process(name: &str, p: &Props) -> Option<Found> {
    get(p, "credential_process").map(|c| Found::Profile {
        profile: name.into(),
        source: ProfileSource::Process { command: c.into() },
    })
}

/// Static keys of the profile, from `file` only when given.
fn keys(name: &str, p: &Props, file: Option<FileKind>) -> Option<Found> {
    let akid = p.get("aws_access_key_id")?;
    p.get("aws_secret_access_key")?;
    if file.is_some_and(|f| f != akid.file) {
        return None;
    }
    Some(Found::Profile {
        profile: name.into(),
        source: ProfileSource::Keys {
            file: akid.file.to_string(),
            at: akid.at.clone(),
        },
    })
}

fn web_identity_env(env: &Env) -> Option<Found> {
    (env.non_empty("AWS_WEB_IDENTITY_TOKEN_FILE").is_some()
        && env.non_empty("AWS_ROLE_ARN").is_some())
    .then_some(Found::WebIdentityEnv)
}

fn container(env: &Env) -> Option<Found> {
    [
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]
    .iter()
    .find(|v| env.non_empty(v).is_some())
    .map(|v| Found::Container { var: v.to_string() })
}

fn imds(env: &Env, on_ec2: bool) -> Found {
    if env
        .non_empty("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        Found::Nothing
    } else {
        Found::Imds { on_ec2 }
    }
}

/// The environment's keys as `sdk` reads them: `Some(Ok)` when both are set, `Some(Err)` when only one
/// is (botocore refuses that; the others pass over it).
fn env_keys(sdk: Sdk, env: &Env) -> Option<Result<Found, String>> {
    let akid = env.non_empty("AWS_ACCESS_KEY_ID");
    let secret = env.non_empty("AWS_SECRET_ACCESS_KEY");
    let token_vars: &[&str] = if sdk.reads_config_like_botocore() {
        &["AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"]
    } else {
        &["AWS_SESSION_TOKEN"]
    };
    match (akid, secret) {
        (Some(a), Some(_)) => Some(Ok(Found::EnvKeys {
            access_key_id: a.into(),
            token_var: token_vars
                .iter()
                .find(|v| env.non_empty(v).is_some())
                .map(|v| v.to_string()),
        })),
        (Some(_), None) | (None, Some(_)) if sdk.reads_config_like_botocore() => Some(Err(
            "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set (partial credentials)"
                .into(),
        )),
        _ => None,
    }
}

/// Which profile `sdk` selects, and why.
fn selected(sdk: Sdk, inputs: &Inputs<'_>) -> (String, String, bool) {
    if let Some(p) = inputs.explicit_profile {
        return (p.to_string(), "named explicitly".into(), true);
    }
    for var in sdk.profile_vars() {
        if let Some(p) = inputs.env.non_empty(var) {
            return (p.to_string(), format!("${var}"), true);
        }
    }
    ("default".into(), "default".into(), false)
}

/// Predicts every tool's choice.
pub fn predict(inputs: &Inputs<'_>) -> Vec<Prediction> {
    Sdk::ALL
        .iter()
        .map(|sdk| predict_one(*sdk, inputs))
        .collect()
}

fn predict_one(sdk: Sdk, inputs: &Inputs<'_>) -> Prediction {
    let env = inputs.env;
    let (profile, profile_from, chosen) = selected(sdk, inputs);
    let explicit = inputs.explicit_profile.is_some();
    let mut passed: Vec<String> = Vec::new();
    let mut notes = Vec::new();
    let done = |found: Found, passed: Vec<String>, notes: Vec<String>, decided: String| {
        let mut why = String::new();
        if !passed.is_empty() {
            why.push_str(&passed.join("; "));
            why.push_str("; ");
        }
        why.push_str(&decided);
        Prediction {
            sdk,
            label: sdk.label(),
            profile: profile.clone(),
            profile_from: profile_from.clone(),
            found,
            why,
            notes,
        }
    };

    // The profile as this tool reads it.
    let view = if sdk.reads_config_like_botocore() {
        match inputs.botocore_config {
            Some(Err(e)) => {
                return done(
                    Found::Error {
                        message: format!(
                            "botocore cannot read the config file ({e}), so every command fails"
                        ),
                    },
                    passed,
                    notes,
                    "the config file is parsed before anything else".into(),
                )
            }
            Some(Ok(c)) => botocore_view(inputs, Some(c), &profile),
            None => botocore_view(inputs, None, &profile),
        }
    } else {
        cross_view(inputs, &profile)
    };
    let missing_profile = view.is_none() && chosen;
    let props = view.unwrap_or_default();
    let profile_missing_error = || Found::Error {
        message: format!(
            "profile `{profile}` ({profile_from}) is not defined in the config or credentials file"
        ),
    };

    // The environment's keys.
    let js_skips_env = sdk == Sdk::Js && (explicit || env.non_empty("AWS_PROFILE").is_some());
    let skips_env =
        (explicit && matches!(sdk, Sdk::Botocore | Sdk::AwsCliV2 | Sdk::Go)) || js_skips_env;
    if sdk.reads_config_like_botocore() && missing_profile {
        return done(
            profile_missing_error(),
            passed,
            notes,
            "botocore looks the profile up before any provider runs".into(),
        );
    }
    match env_keys(sdk, env) {
        Some(_) if skips_env => passed.push(if js_skips_env && !explicit {
            "ignores AWS_ACCESS_KEY_ID because AWS_PROFILE is set".into()
        } else {
            "skips the environment's keys because the profile is named explicitly".into()
        }),
        Some(Ok(found)) => {
            return done(
                found,
                passed,
                notes,
                "the environment comes first in its chain".into(),
            )
        }
        Some(Err(e)) => {
            return done(
                Found::Error { message: e },
                passed,
                notes,
                "botocore refuses half a key pair".into(),
            )
        }
        None => {}
    }

    let name = profile.as_str();
    let order: Vec<Box<dyn Fn() -> Option<Found> + '_>> = match sdk {
        Sdk::Botocore | Sdk::AwsCliV2 => vec![
            Box::new(|| role(name, &props)),
            Box::new(|| web_identity_env(env)),
            Box::new(|| web_identity(name, &props)),
            Box::new(|| sso(name, &props)),
            Box::new(|| keys(name, &props, Some(FileKind::Credentials))),
            Box::new(|| process(name, &props)),
            Box::new(|| keys(name, &props, Some(FileKind::Config))),
        ],
        Sdk::Rust => vec![
            Box::new(|| role(name, &props)),
            Box::new(|| web_identity(name, &props)),
            Box::new(|| sso(name, &props)),
            Box::new(|| process(name, &props)),
            Box::new(|| keys(name, &props, None)),
            Box::new(|| web_identity_env(env)),
        ],
        Sdk::Go => vec![
            Box::new(|| {
                if explicit {
                    None
                } else {
                    web_identity_env(env)
                }
            }),
            Box::new(|| role(name, &props)),
            Box::new(|| sso(name, &props)),
            Box::new(|| keys(name, &props, None)),
            Box::new(|| web_identity(name, &props)),
            Box::new(|| process(name, &props)),
        ],
        Sdk::Js => vec![
            Box::new(|| sso(name, &props)),
            Box::new(|| role(name, &props)),
            Box::new(|| keys(name, &props, None)),
            Box::new(|| web_identity(name, &props)),
            Box::new(|| process(name, &props)),
            Box::new(|| web_identity_env(env)),
        ],
    };
    if missing_profile {
        return done(
            profile_missing_error(),
            passed,
            notes,
            "the selected profile must exist".into(),
        );
    }
    if sdk == Sdk::Rust && get(&props, "role_arn").is_some() && get(&props, "mfa_serial").is_some()
    {
        notes.push(format!(
            "the Rust SDK ignores mfa_serial in profile `{name}`: it calls AssumeRole without an MFA code, which fails if the role requires MFA — point it at `credential_process = awsenv-credential-process {name}` instead"
        ));
    }
    for step in &order {
        if let Some(found) = step() {
            let decided = match &found {
                Found::WebIdentityEnv => {
                    "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are set".to_string()
                }
                _ => format!("profile `{name}` ({profile_from}) is the first source that answers"),
            };
            return done(found, passed, notes, decided);
        }
    }
    if !props.is_empty() || chosen {
        passed.push(format!("profile `{name}` has no credentials of its own"));
    }
    if let Some(found) = container(env) {
        return done(found, passed, notes, "the container endpoint is set".into());
    }
    let found = imds(env, inputs.on_ec2);
    let decided = match found {
        Found::Nothing => "AWS_EC2_METADATA_DISABLED turns off the last source".into(),
        _ => "the instance metadata service is the last source".into(),
    };
    done(found, passed, notes, decided)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::botocore_compat::botocore_json;
    use crate::core::config::SourceFile;
    use std::path::Path;

    fn set(config: &str, credentials: &str) -> ProfileSet {
        ProfileSet::parse(
            Some(SourceFile {
                kind: FileKind::Config,
                path: Path::new("/c"),
                text: config,
            }),
            Some(SourceFile {
                kind: FileKind::Credentials,
                path: Path::new("/k"),
                text: credentials,
            }),
        )
        .unwrap()
    }

    fn run(
        config: &str,
        credentials: &str,
        env: &[(&str, &str)],
        explicit: Option<&str>,
    ) -> BTreeMap<Sdk, Found> {
        let profiles = set(config, credentials);
        let boto = botocore_json(config);
        let env = Env::from_pairs(env.iter().copied());
        let inputs = Inputs {
            env: &env,
            profiles: &profiles,
            botocore_config: Some(&boto),
            explicit_profile: explicit,
            on_ec2: false,
        };
        predict(&inputs)
            .into_iter()
            .map(|p| (p.sdk, p.found))
            .collect()
    }

    const KEYS: &[(&str, &str)] = &[
        ("AWS_ACCESS_KEY_ID", "AKIAENVENVENVENV0001"),
        ("AWS_SECRET_ACCESS_KEY", "s"),
    ];

    #[test]
    fn env_keys_win_unless_js_sees_aws_profile() {
        let creds = "[dev]\naws_access_key_id = AKIAFILEFILEFILE0002\naws_secret_access_key = t\n";
        let mut env = KEYS.to_vec();
        env.push(("AWS_PROFILE", "dev"));
        let r = run("", creds, &env, None);
        for sdk in [Sdk::Botocore, Sdk::AwsCliV2, Sdk::Rust, Sdk::Go] {
            assert!(r[&sdk].is_env_keys(), "{sdk}: {:?}", r[&sdk]);
        }
        assert!(
            matches!(r[&Sdk::Js], Found::Profile { .. }),
            "{:?}",
            r[&Sdk::Js]
        );
        // Named explicitly: botocore, the CLI v2, Go and JS skip the environment; Rust does not.
        let r = run("", creds, KEYS, Some("dev"));
        assert!(r[&Sdk::Rust].is_env_keys());
        for sdk in [Sdk::Botocore, Sdk::AwsCliV2, Sdk::Go, Sdk::Js] {
            assert!(matches!(r[&sdk], Found::Profile { .. }), "{sdk}");
        }
    }

    #[test]
    fn keys_before_process_in_botocore_process_first_in_rust() {
        let config = "[profile p]\ncredential_process = /bin/creds\n";
        let creds = "[p]\naws_access_key_id = AKIAFILEFILEFILE0002\naws_secret_access_key = t\n";
        let r = run(config, creds, &[("AWS_PROFILE", "p")], None);
        let kind = |f: &Found| match f {
            Found::Profile {
                source: ProfileSource::Keys { .. },
                ..
            } => "keys",
            Found::Profile {
                source: ProfileSource::Process { .. },
                ..
            } => "process",
            _ => "other",
        };
        assert_eq!(kind(&r[&Sdk::Botocore]), "keys");
        assert_eq!(kind(&r[&Sdk::Rust]), "process");
    }

    #[test]
    fn botocore_reads_an_inline_comment_into_the_value() {
        // botocore keeps "# old" in the role ARN; the cross-SDK rules drop it.
        let config = "[profile r]\nrole_arn = arn:aws:iam::1:role/x # old\nsource_profile = r\n";
        let r = run(config, "", &[("AWS_PROFILE", "r")], None);
        let arn = |f: &Found| match f {
            Found::Profile {
                source: ProfileSource::AssumeRole { role_arn, .. },
                ..
            } => role_arn.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(arn(&r[&Sdk::Botocore]), "arn:aws:iam::1:role/x # old");
        assert_eq!(arn(&r[&Sdk::Rust]), "arn:aws:iam::1:role/x");
    }

    #[test]
    fn missing_profile_and_nothing_at_all() {
        let r = run("", "", &[("AWS_PROFILE", "nope")], None);
        assert!(matches!(r[&Sdk::Botocore], Found::Error { .. }));
        let r = run("", "", &[("AWS_EC2_METADATA_DISABLED", "true")], None);
        assert_eq!(r[&Sdk::Go], Found::Nothing);
        let r = run(
            "",
            "",
            &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/c")],
            None,
        );
        assert!(matches!(r[&Sdk::Js], Found::Container { .. }));
    }
}
