//! The checks of `awsenv doctor` that need no I/O: keys in the environment that shadow a profile or a
//! role, `AWS_PROFILE` next to keys, long-term keys in plaintext, config lines botocore reads
//! differently, MFA profiles without `mfa_serial`, and `credential_process` lines that split
//! differently under `shlex` and `sh -c`. Each finding says what to do about it.

use serde::Serialize;

use super::botocore_compat;
use super::config::{FileKind, ProfileSet};
use super::env::Env;
use super::provider_chain::{mask, Found, Prediction, Sdk};
use super::shell_words;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    Info,
    Warning,
}

/// One thing doctor found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub level: Level,
    /// A stable name (`env_keys_shadow_profile`, …) for scripts and tests.
    pub code: &'static str,
    pub message: String,
    /// What to do about it.
    pub fix: Option<String>,
}

impl Finding {
    pub fn warning(code: &'static str, message: String, fix: impl Into<Option<String>>) -> Self {
        Finding {
            level: Level::Warning,
            code,
            message,
            fix: fix.into(),
        }
    }

    pub fn info(code: &'static str, message: String) -> Self {
        Finding {
            level: Level::Info,
            code,
            message,
            fix: None,
        }
    }

    pub fn ok(code: &'static str, message: String) -> Self {
        Finding {
            level: Level::Ok,
            code,
            message,
            fix: None,
        }
    }
}

/// The inputs of [`findings`].
pub struct Inputs<'a> {
    pub env: &'a Env,
    pub profiles: &'a ProfileSet,
    /// The config file's text and path, when it exists.
    pub config: Option<(&'a str, &'a str)>,
    pub predictions: &'a [Prediction],
    /// The profile examined.
    pub profile: &'a str,
    pub on_ec2: bool,
}

const UNSET_KEYS: &str = "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN (or eval \"$(awsenv export --unset)\")";

/// Every finding, warnings first within each check's order.
pub fn findings(inputs: &Inputs<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    env_keys(inputs, &mut out);
    plaintext_keys(inputs, &mut out);
    divergences(inputs, &mut out);
    mfa_serial(inputs, &mut out);
    credential_process(inputs, &mut out);
    out
}

fn names(sdks: &[&Prediction]) -> String {
    sdks.iter().map(|p| p.label).collect::<Vec<_>>().join(", ")
}

fn env_keys(inputs: &Inputs<'_>, out: &mut Vec<Finding>) {
    let env = inputs.env;
    let (Some(akid), Some(_)) = (
        env.non_empty("AWS_ACCESS_KEY_ID"),
        env.non_empty("AWS_SECRET_ACCESS_KEY"),
    ) else {
        return;
    };
    let users: Vec<&Prediction> = inputs
        .predictions
        .iter()
        .filter(|p| p.found.is_env_keys())
        .collect();
    let by_awsenv = env.non_empty("AWSENV_PROFILE");
    let origin = match by_awsenv {
        Some(p) => format!("exported by awsenv for profile `{p}`"),
        None => "not exported by awsenv".into(),
    };
    // What the environment's keys hide: the profile (when it has credentials), a container or an
    // instance role.
    let profile = inputs.profile;
    let profile_has_creds = inputs.profiles.profile(profile).is_some_and(|s| {
        [
            "aws_access_key_id",
            "role_arn",
            "credential_process",
            "sso_session",
            "sso_start_url",
            "web_identity_token_file",
        ]
        .iter()
        .any(|k| s.non_empty(k).is_some())
    });
    let selected = inputs
        .predictions
        .iter()
        .any(|p| p.profile_from != "default");
    let mut hidden = Vec::new();
    if profile_has_creds && (selected || by_awsenv != Some(profile)) {
        hidden.push(format!("profile `{profile}`"));
    }
    for var in [
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ] {
        if env.non_empty(var).is_some() {
            hidden.push(format!("the container role (${var})"));
        }
    }
    if inputs.on_ec2 {
        hidden.push("this EC2 instance's role".into());
    }
    if !users.is_empty() && !hidden.is_empty() && by_awsenv != Some(profile) {
        out.push(Finding::warning(
            "env_keys_shadow",
            format!(
                "AWS_ACCESS_KEY_ID {} ({origin}) in the environment wins over {} for {}",
                mask(akid),
                hidden.join(" and "),
                names(&users)
            ),
            format!(
                "{UNSET_KEYS}, or `awsenv use {profile}` / eval \"$(awsenv export {profile})\" to export the profile's own"
            ),
        ));
    }
    if let Some(p) = env.non_empty("AWS_PROFILE") {
        let js_ignores = inputs
            .predictions
            .iter()
            .any(|pr| pr.sdk == Sdk::Js && !pr.found.is_env_keys());
        if js_ignores && !users.is_empty() {
            out.push(Finding::warning(
                "aws_profile_with_keys",
                format!(
                    "AWS_PROFILE={p} is set together with AWS_ACCESS_KEY_ID {}: the JS SDK then ignores the keys and uses profile `{p}`, while {} use the keys",
                    mask(akid),
                    names(&users)
                ),
                format!(
                    "keep one: `unset AWS_PROFILE` to use the keys everywhere (awsenv export does), or {UNSET_KEYS} to use the profile"
                ),
            ));
        }
    }
}

fn plaintext_keys(inputs: &Inputs<'_>, out: &mut Vec<Finding>) {
    for section in inputs.profiles.profiles.values() {
        let Some(akid) = section.non_empty("aws_access_key_id") else {
            continue;
        };
        if section.non_empty("aws_session_token").is_some()
            || section.non_empty("aws_secret_access_key").is_none()
        {
            continue;
        }
        let name = &section.name;
        let fix = if akid.origin.kind == FileKind::Credentials {
            format!("awsenv add {name} --import --remove-plaintext")
        } else {
            format!(
                "awsenv add {name} (paste the keys), then delete the two key lines from {}",
                akid.origin.path.display()
            )
        };
        out.push(Finding::warning(
            "plaintext_keys",
            format!(
                "profile `{name}` keeps long-term keys ({}) in plaintext at {}",
                mask(&akid.value),
                akid.origin
            ),
            fix,
        ));
    }
}

fn divergences(inputs: &Inputs<'_>, out: &mut Vec<Finding>) {
    let Some((text, path)) = inputs.config else {
        return;
    };
    for d in botocore_compat::divergences(text) {
        out.push(Finding::warning(
            "botocore_divergence",
            format!(
                "the AWS CLI and boto3 read {path} differently from the other SDKs ({}): {}",
                d.kind, d.message
            ),
            Some(
                "rewrite the line as the message says, so that every tool reads it the same".into(),
            ),
        ));
    }
}

/// The `mfa_serial` of a profile's chain (itself, then its `source_profile`s), with the profile that
/// sets it.
fn chain_mfa(profiles: &ProfileSet, name: &str) -> Option<(String, String)> {
    let mut current = name.to_string();
    for _ in 0..16 {
        let s = profiles.profile(&current)?;
        if let Some(m) = s.non_empty("mfa_serial") {
            return Some((current, m.value.clone()));
        }
        let next = s.non_empty("source_profile")?.value.clone();
        if next == current {
            return None;
        }
        current = next;
    }
    None
}

fn mfa_serial(inputs: &Inputs<'_>, out: &mut Vec<Finding>) {
    let profiles = inputs.profiles;
    for s in profiles.profiles.values() {
        let name = &s.name;
        if s.non_empty("mfa_serial").is_some() {
            continue;
        }
        if let (Some(_), Some(source)) = (s.non_empty("role_arn"), s.non_empty("source_profile")) {
            // A source that is itself a role prompts for its own hop in every tool; only a source
            // with keys and a device leaves this role's AssumeRole without a code.
            let base_device = profiles
                .profile(&source.value)
                .filter(|b| b.non_empty("role_arn").is_none())
                .and_then(|b| b.non_empty("mfa_serial"))
                .map(|m| (source.value.clone(), m.value.clone()));
            if source.value != *name {
                if let Some((owner, device)) = base_device {
                    out.push(Finding::warning(
                        "mfa_profile_without_mfa_serial",
                        format!(
                            "role profile `{name}` has no mfa_serial, though its source `{owner}` uses MFA device {device}: awsenv covers the role with {owner}'s MFA session, but the AWS CLI, boto3 and the Go and JS SDKs read mfa_serial from the role's own profile and assume the role without a code, which a role that requires MFA refuses"
                        ),
                        format!("add `mfa_serial = {device}` to [profile {name}]"),
                    ));
                    continue;
                }
            }
        }
        let mfa_setting = ["mfa_process", crate::core::plan::SESSION_DURATION_KEY]
            .into_iter()
            .find(|k| s.non_empty(k).is_some());
        if let Some(key) = mfa_setting {
            if chain_mfa(profiles, name).is_none() {
                let at = s
                    .non_empty(key)
                    .map(|v| v.origin.to_string())
                    .unwrap_or_default();
                out.push(Finding::warning(
                    "mfa_profile_without_mfa_serial",
                    format!(
                        "profile `{name}` sets {key} ({at}) but no profile of its chain has mfa_serial, so awsenv makes no MFA session and asks for no code"
                    ),
                    format!(
                        "add `mfa_serial = arn:aws:iam::ACCOUNT:mfa/DEVICE` (your MFA device's ARN, `aws iam list-mfa-devices`) to [profile {name}]"
                    ),
                ));
            }
        }
    }
}

fn credential_process(inputs: &Inputs<'_>, out: &mut Vec<Finding>) {
    for s in inputs.profiles.profiles.values() {
        let Some(cp) = s.non_empty("credential_process") else {
            continue;
        };
        if let Some(why) = shell_words::sh_and_shlex_differ(&cp.value) {
            out.push(Finding::warning(
                "credential_process_quoting",
                format!(
                    "profile `{}`: credential_process `{}` ({}) runs differently in the AWS CLI and boto3 than in the other SDKs: {why}",
                    s.name, cp.value, cp.origin
                ),
                Some("write the full path instead of ~ or $HOME, quote paths with spaces in single quotes, and put pipes, variables and redirections in a script of their own".into()),
            ));
        }
    }
}

/// Whether the tools agree: every prediction names the same source.
pub fn agreement(predictions: &[Prediction]) -> Option<Finding> {
    let first = predictions.first()?;
    if predictions
        .iter()
        .all(|p| same_source(&p.found, &first.found))
    {
        return None;
    }
    // One group per source, in the order the tools are listed.
    let mut groups: Vec<(Vec<&str>, &Found)> = Vec::new();
    for p in predictions {
        match groups.iter_mut().find(|(_, f)| same_source(f, &p.found)) {
            Some((labels, _)) => labels.push(p.label),
            None => groups.push((vec![p.label], &p.found)),
        }
    }
    let groups: Vec<String> = groups
        .iter()
        .map(|(labels, f)| format!("{}: {}", labels.join(", "), f.describe()))
        .collect();
    Some(Finding::warning(
        "tools_disagree",
        format!(
            "the tools do not agree on where the credentials come from — {}",
            groups.join("; ")
        ),
        Some("see the warnings above; once they are fixed every tool takes the same source".into()),
    ))
}

fn same_source(a: &Found, b: &Found) -> bool {
    match (a, b) {
        (
            Found::EnvKeys {
                access_key_id: x, ..
            },
            Found::EnvKeys {
                access_key_id: y, ..
            },
        ) => x == y,
        (Found::Error { .. }, Found::Error { .. }) => true,
        _ => a == b,
    }
}
