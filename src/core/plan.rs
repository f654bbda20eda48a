//! Profile resolution as a pure plan: from the config model, the environment and a profile name to the
//! source of the base credentials and the STS calls that turn them into the profile's credentials.
//!
//! The plan is what `awsenv explain` prints and what the credential engine runs. Every value in it
//! remembers where it came from (file and line, environment variable, or a default), so a user can see
//! why awsenv will do what it does.
//!
//! Rules, following the AWS CLI where it is stricter than the other SDKs:
//! - a profile with `role_arn` is a role hop; it needs exactly one of `source_profile` and
//!   `credential_source`; `source_profile` naming the profile itself means "my own keys";
//! - a profile without `role_arn` is a base: keys in the keychain, keys in the shared files,
//!   or a `credential_process`;
//! - MFA: when the base has long-term keys and any profile on the chain has `mfa_serial`, awsenv first
//!   calls GetSessionToken with that device (the cached "MFA session"), so every role hop whose
//!   `mfa_serial` names the same device is minted without another code;
//! - role → role hops are "role chaining": STS caps them at one hour.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::config::{Origin, ProfileSet, Section, Value};
use super::env::Env;
use super::shell_words;

/// The AssumeRole default and the limits of its `DurationSeconds`.
pub const ROLE_DURATION_DEFAULT: u32 = 3600;
pub const ROLE_DURATION_MIN: u32 = 900;
pub const ROLE_DURATION_MAX: u32 = 43_200;
/// The one-hour cap STS puts on role chaining.
pub const ROLE_CHAINING_MAX: u32 = 3600;
/// awsenv's default MFA session (GetSessionToken) length, and STS's limits.
pub const SESSION_DURATION_DEFAULT: u32 = 43_200;
pub const SESSION_DURATION_MIN: u32 = 900;
pub const SESSION_DURATION_MAX: u32 = 129_600;
/// awsenv's own profile key for the MFA session length (`12h`, `90m`, or seconds).
pub const SESSION_DURATION_KEY: &str = "awsenv_session_duration";
/// The region STS calls use when none is configured.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Where a value in the plan came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum From {
    /// A line of a shared file.
    File { path: String, line: usize },
    /// An environment variable.
    Env { var: String },
    /// awsenv's or STS's default.
    Default { why: String },
}

impl From {
    fn file(origin: &Origin) -> Self {
        From::File {
            path: origin.path.display().to_string(),
            line: origin.line,
        }
    }

    fn default(why: &str) -> Self {
        From::Default {
            why: why.to_string(),
        }
    }
}

impl fmt::Display for From {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            From::File { path, line } => write!(f, "{path}:{line}"),
            From::Env { var } => write!(f, "${var}"),
            From::Default { why } => write!(f, "default: {why}"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sourced<T> {
    pub value: T,
    pub from: From,
}

impl<T> Sourced<T> {
    fn new(value: T, from: From) -> Self {
        Sourced { value, from }
    }
}

fn sourced(v: &Value) -> Sourced<String> {
    Sourced::new(v.value.clone(), From::file(&v.origin))
}

/// The `credential_source` values the SDKs accept (case-sensitive, as in botocore).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CredentialSource {
    Environment,
    Ec2InstanceMetadata,
    EcsContainer,
}

impl CredentialSource {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "Environment" => Some(CredentialSource::Environment),
            "Ec2InstanceMetadata" => Some(CredentialSource::Ec2InstanceMetadata),
            "EcsContainer" => Some(CredentialSource::EcsContainer),
            _ => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            CredentialSource::Environment => {
                "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)"
            }
            CredentialSource::Ec2InstanceMetadata => "the EC2 instance profile (IMDSv2)",
            CredentialSource::EcsContainer => "the container credentials endpoint (ECS/EKS)",
        }
    }
}

/// Where the base credentials come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// Long-term keys stored by `awsenv add` in the OS keychain.
    Keychain { profile: String },
    /// Keys written in the shared files.
    FileKeys {
        profile: String,
        access_key_id: Sourced<String>,
        /// The keys carry an `aws_session_token`: they are temporary already.
        temporary: bool,
    },
    /// A `credential_process` command's output.
    Process {
        profile: String,
        command: Sourced<String>,
    },
    /// A role profile's `credential_source`.
    CredentialSource {
        profile: String,
        source: Sourced<CredentialSource>,
    },
}

impl Source {
    /// The profile that defines this source.
    pub fn profile(&self) -> &str {
        match self {
            Source::Keychain { profile }
            | Source::FileKeys { profile, .. }
            | Source::Process { profile, .. }
            | Source::CredentialSource { profile, .. } => profile,
        }
    }

    /// Whether GetSessionToken can be called with these credentials (it refuses temporary ones).
    fn may_be_long_term(&self) -> bool {
        match self {
            Source::Keychain { .. } | Source::Process { .. } => true,
            Source::FileKeys { temporary, .. } => !temporary,
            Source::CredentialSource { .. } => false,
        }
    }

    /// Whether the credentials are a role's, so that the next AssumeRole is role chaining.
    fn is_role(&self) -> bool {
        matches!(
            self,
            Source::CredentialSource { source, .. }
                if source.value != CredentialSource::Environment
        )
    }
}

/// GetSessionToken with an MFA device: the MFA session every later hop is minted from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionStep {
    /// The profile whose long-term keys sign the call.
    pub profile: String,
    pub mfa_serial: Sourced<String>,
    pub duration_seconds: Sourced<u32>,
}

/// One AssumeRole hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleStep {
    /// The profile that defines the role.
    pub profile: String,
    pub role_arn: Sourced<String>,
    pub role_session_name: Sourced<String>,
    pub external_id: Option<Sourced<String>>,
    pub duration_seconds: Sourced<u32>,
    /// An MFA device to send with this AssumeRole (only when the MFA session does not cover it).
    pub mfa_serial: Option<Sourced<String>>,
    /// This hop's `mfa_serial` is the device of the MFA session, so no code is sent here.
    pub mfa_from_session: bool,
    /// The credentials signing this call are a role's: STS caps the duration at one hour.
    pub chained: bool,
}

/// One STS call of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "call")]
pub enum Step {
    GetSessionToken(SessionStep),
    AssumeRole(RoleStep),
}

/// Everything awsenv will do to produce a profile's credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub profile: String,
    pub region: Sourced<String>,
    pub source: Source,
    pub steps: Vec<Step>,
    /// Things worth knowing that do not stop the plan.
    pub notes: Vec<String>,
}

impl Plan {
    /// The MFA session step, if the plan has one.
    pub fn session_step(&self) -> Option<&SessionStep> {
        self.steps.iter().find_map(|s| match s {
            Step::GetSessionToken(s) => Some(s),
            Step::AssumeRole(_) => None,
        })
    }

    /// The role hops in the order they are called.
    pub fn role_steps(&self) -> impl Iterator<Item = &RoleStep> {
        self.steps.iter().filter_map(|s| match s {
            Step::AssumeRole(r) => Some(r),
            Step::GetSessionToken(_) => None,
        })
    }
}

/// Why a profile cannot be turned into a plan. Each message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("profile `{name}` is not defined{}{}", referenced(.referenced_from), suggest(.suggestion))]
    ProfileNotFound {
        name: String,
        /// The profile and line that names it (for `source_profile`).
        referenced_from: Option<(String, String)>,
        suggestion: Option<String>,
    },
    #[error("source_profile cycle: {} ({at}) — one profile of the chain must have keys instead of source_profile", .path.join(" → "))]
    Cycle { path: Vec<String>, at: String },
    #[error("profile `{profile}` sets both source_profile ({source_at}) and credential_source ({credential_at}) — keep only one")]
    SourceAndCredentialSource {
        profile: String,
        source_at: String,
        credential_at: String,
    },
    #[error("profile `{profile}` has role_arn ({at}) but neither source_profile nor credential_source — add `source_profile = <profile with keys>`")]
    RoleWithoutSource { profile: String, at: String },
    #[error("profile `{profile}`: credential_source = {value} ({at}) is not one of Environment, Ec2InstanceMetadata, EcsContainer (spelled exactly so)")]
    BadCredentialSource {
        profile: String,
        value: String,
        at: String,
    },
    #[error("{0}")]
    BadDuration(Box<BadDuration>),
    #[error("profile `{profile}`: duration_seconds = {duration} ({at}) exceeds the 1-hour limit STS puts on role chaining (this role is assumed with another role's credentials) — set duration_seconds = 3600 or less")]
    ChainingCap {
        profile: String,
        duration: u32,
        at: String,
    },
    #[error("profile `{profile}` gets its credentials from `credential_process = {command}` ({at}), which runs awsenv for `{profile}` itself: it would loop — store its keys with `awsenv add {profile}`, or give it role_arn and source_profile")]
    SelfLoop {
        profile: String,
        command: String,
        at: String,
    },
    #[error("profile `{profile}` gets its credentials from `credential_process = {command}` ({at}), which runs awsenv for `{target}`; awsenv does not call itself — write `source_profile = {target}` with a role_arn, or use profile `{target}` directly")]
    CallsAwsenv {
        profile: String,
        command: String,
        target: String,
        at: String,
    },
    #[error(
        "profile `{profile}`: credential_process ({at}) cannot be split into a command: {reason}"
    )]
    BadProcess {
        profile: String,
        at: String,
        reason: String,
    },
    #[error("profile `{profile}` sets {present} ({at}) but not {missing} — add it, or store the keys with `awsenv add {profile}`")]
    IncompleteKeys {
        profile: String,
        present: String,
        missing: String,
        at: String,
    },
    #[error("profile `{profile}` has no credentials: no keys in the keychain or the credentials file, no role_arn and no credential_process — store keys with `awsenv add {profile}`, or add role_arn and source_profile")]
    NoCredentials { profile: String },
    #[error("profile `{profile}` uses {what} ({at}), which awsenv does not handle yet — {hint}")]
    Unsupported {
        profile: String,
        what: String,
        at: String,
        hint: String,
    },
    #[error("profile `{profile}`: role_session_name = {value} ({at}) must be 2 to 64 characters of letters, digits and + = , . @ _ -")]
    BadSessionName {
        profile: String,
        value: String,
        at: String,
    },
}

/// A duration setting that is not a number or is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("profile `{profile}`: {key} = {value} ({at}) is {problem}; use a number of seconds from {min} to {max}")]
pub struct BadDuration {
    pub profile: String,
    pub key: String,
    pub value: String,
    pub at: String,
    pub problem: String,
    pub min: u32,
    pub max: u32,
}

fn referenced(r: &Option<(String, String)>) -> String {
    match r {
        Some((p, at)) => format!(" (named by profile `{p}` at {at})"),
        None => String::new(),
    }
}

fn suggest(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" — did you mean `{s}`? (`awsenv profiles` lists them)"),
        None => " — `awsenv profiles` lists the profiles there are".to_string(),
    }
}

/// What the plan needs to know about the keychain: whether it holds long-term keys for a profile.
/// Looking up one stable entry, never an enumeration.
pub trait KeyIndex {
    fn has_keys(&self, profile: &str) -> bool;
}

/// A keychain that holds nothing (also what tests and `--no-keychain` use).
pub struct NoKeys;

impl KeyIndex for NoKeys {
    fn has_keys(&self, _: &str) -> bool {
        false
    }
}

/// Inputs of [`resolve`].
pub struct Inputs<'a> {
    pub profiles: &'a ProfileSet,
    pub env: &'a Env,
    pub keys: &'a dyn KeyIndex,
}

/// Resolves `name` into a plan. A profile named by the user or by `source_profile` that is in no
/// file but whose keys are in the keychain (`awsenv add`) counts as an empty profile.
pub fn resolve(inputs: &Inputs<'_>, name: &str) -> Result<Plan, PlanError> {
    let mut extended: Option<ProfileSet> = None;
    loop {
        let set = extended.as_ref().unwrap_or(inputs.profiles);
        match resolve_in(set, inputs, name) {
            Err(PlanError::ProfileNotFound { name: missing, .. })
                if inputs.keys.has_keys(&missing) && !set.profiles.contains_key(&missing) =>
            {
                let mut grown = set.clone();
                grown
                    .profiles
                    .insert(missing.clone(), Section::new(&missing));
                extended = Some(grown);
            }
            other => return other,
        }
    }
}

fn resolve_in(set: &ProfileSet, inputs: &Inputs<'_>, name: &str) -> Result<Plan, PlanError> {
    let target = set
        .profile(name)
        .ok_or_else(|| PlanError::ProfileNotFound {
            name: name.to_string(),
            referenced_from: None,
            suggestion: closest(set, name),
        })?;

    let inputs = &Inputs {
        profiles: set,
        env: inputs.env,
        keys: inputs.keys,
    };
    // Walk source_profile links from the target down to the base.
    let mut hops: Vec<&Section> = Vec::new();
    let mut visited: Vec<String> = vec![name.to_string()];
    let mut current = target;
    let source = loop {
        let Some(role_arn) = current.non_empty("role_arn") else {
            break base_source(inputs, current)?;
        };
        let source_profile = current.non_empty("source_profile");
        let credential_source = current.non_empty("credential_source");
        hops.push(current);
        match (source_profile, credential_source) {
            (Some(s), Some(c)) => {
                return Err(PlanError::SourceAndCredentialSource {
                    profile: current.name.clone(),
                    source_at: s.origin.to_string(),
                    credential_at: c.origin.to_string(),
                })
            }
            (None, Some(c)) => {
                let cs = CredentialSource::parse(&c.value).ok_or_else(|| {
                    PlanError::BadCredentialSource {
                        profile: current.name.clone(),
                        value: c.value.clone(),
                        at: c.origin.to_string(),
                    }
                })?;
                break Source::CredentialSource {
                    profile: current.name.clone(),
                    source: Sourced::new(cs, From::file(&c.origin)),
                };
            }
            (Some(s), None) => {
                if s.value == current.name {
                    // `source_profile` naming itself: this profile's own keys sign the AssumeRole.
                    break base_source(inputs, current)?;
                }
                if let Some(pos) = visited.iter().position(|v| *v == s.value) {
                    let mut path = visited[pos..].to_vec();
                    path.push(s.value.clone());
                    return Err(PlanError::Cycle {
                        path,
                        at: s.origin.to_string(),
                    });
                }
                visited.push(s.value.clone());
                current = set
                    .profile(&s.value)
                    .ok_or_else(|| PlanError::ProfileNotFound {
                        name: s.value.clone(),
                        referenced_from: Some((current.name.clone(), s.origin.to_string())),
                        suggestion: closest(set, &s.value),
                    })?;
            }
            (None, None) => {
                if let Some(w) = current.non_empty("web_identity_token_file") {
                    return Err(PlanError::Unsupported {
                        profile: current.name.clone(),
                        what: "web identity (web_identity_token_file)".into(),
                        at: w.origin.to_string(),
                        hint: "let the SDK read this profile directly".into(),
                    });
                }
                return Err(PlanError::RoleWithoutSource {
                    profile: current.name.clone(),
                    at: role_arn.origin.to_string(),
                });
            }
        }
    };
    // The base profile is the one that defines the source; with `credential_source` or a
    // self-referencing `source_profile` it is the last role hop itself.
    let base = set
        .profile(source.profile())
        .expect("the source's profile exists");

    let mut notes = Vec::new();
    let mut steps = Vec::new();

    // The MFA session: the base's device, or else the device of the hop nearest the base.
    let session_mfa = if source.may_be_long_term() {
        base.non_empty("mfa_serial")
            .or_else(|| hops.iter().rev().find_map(|h| h.non_empty("mfa_serial")))
    } else {
        None
    };
    if let Some(mfa) = session_mfa {
        let duration = session_duration(target, &hops, base)?;
        steps.push(Step::GetSessionToken(SessionStep {
            profile: base.name.clone(),
            mfa_serial: sourced(mfa),
            duration_seconds: duration,
        }));
    } else if let Some(mfa) = base.non_empty("mfa_serial") {
        notes.push(format!(
            "profile `{}` has mfa_serial ({}), but its credentials are temporary already, so STS refuses an MFA session (GetSessionToken){}",
            base.name,
            mfa.origin,
            if hops.is_empty() { "" } else { "; the code goes with the AssumeRole call instead" }
        ));
    }

    // Role hops, from the base up to the target.
    let mut chained = source.is_role();
    for hop in hops.iter().rev() {
        let role_arn = hop.non_empty("role_arn").expect("hops have role_arn");
        let duration = role_duration(hop, chained)?;
        let hop_mfa = hop.non_empty("mfa_serial");
        let mfa_from_session = match (hop_mfa, session_mfa) {
            (Some(h), Some(s)) => h.value == s.value,
            _ => false,
        };
        let mfa_serial = hop_mfa.filter(|_| !mfa_from_session).map(sourced);
        steps.push(Step::AssumeRole(RoleStep {
            profile: hop.name.clone(),
            role_arn: sourced(role_arn),
            role_session_name: session_name(hop, inputs.env)?,
            external_id: hop.non_empty("external_id").map(sourced),
            duration_seconds: duration,
            mfa_serial,
            mfa_from_session,
            chained,
        }));
        chained = true;
    }

    Ok(Plan {
        profile: name.to_string(),
        region: region(target, inputs.env, &mut notes),
        source,
        steps,
        notes,
    })
}

/// The base credentials of a profile that is not (or not any more) a role hop.
fn base_source(inputs: &Inputs<'_>, p: &Section) -> Result<Source, PlanError> {
    if inputs.keys.has_keys(&p.name) {
        return Ok(Source::Keychain {
            profile: p.name.clone(),
        });
    }
    let akid = p.non_empty("aws_access_key_id");
    let secret = p.non_empty("aws_secret_access_key");
    match (akid, secret) {
        (Some(a), Some(_)) => {
            return Ok(Source::FileKeys {
                profile: p.name.clone(),
                access_key_id: sourced(a),
                temporary: p.non_empty("aws_session_token").is_some(),
            })
        }
        (Some(v), None) | (None, Some(v)) => {
            let (present, missing) = if akid.is_some() {
                ("aws_access_key_id", "aws_secret_access_key")
            } else {
                ("aws_secret_access_key", "aws_access_key_id")
            };
            return Err(PlanError::IncompleteKeys {
                profile: p.name.clone(),
                present: present.into(),
                missing: missing.into(),
                at: v.origin.to_string(),
            });
        }
        (None, None) => {}
    }
    if let Some(cp) = p.non_empty("credential_process") {
        let words = shell_words::split(&cp.value).map_err(|e| PlanError::BadProcess {
            profile: p.name.clone(),
            at: cp.origin.to_string(),
            reason: e.to_string(),
        })?;
        if let Some(target) = awsenv_target(&words) {
            let err = if target == p.name {
                PlanError::SelfLoop {
                    profile: p.name.clone(),
                    command: cp.value.clone(),
                    at: cp.origin.to_string(),
                }
            } else {
                PlanError::CallsAwsenv {
                    profile: p.name.clone(),
                    command: cp.value.clone(),
                    target,
                    at: cp.origin.to_string(),
                }
            };
            return Err(err);
        }
        return Ok(Source::Process {
            profile: p.name.clone(),
            command: sourced(cp),
        });
    }
    for key in ["sso_session", "sso_start_url"] {
        if let Some(v) = p.non_empty(key) {
            return Err(PlanError::Unsupported {
                profile: p.name.clone(),
                what: "IAM Identity Center (SSO)".into(),
                at: v.origin.to_string(),
                hint: format!(
                    "run `aws sso login --profile {}` and use the AWS CLI's own SSO support",
                    p.name
                ),
            });
        }
    }
    if let Some(v) = p.non_empty("web_identity_token_file") {
        return Err(PlanError::Unsupported {
            profile: p.name.clone(),
            what: "web identity (web_identity_token_file)".into(),
            at: v.origin.to_string(),
            hint: "let the SDK read this profile directly".into(),
        });
    }
    Err(PlanError::NoCredentials {
        profile: p.name.clone(),
    })
}

/// If a `credential_process` command runs awsenv, the profile it asks for.
pub fn awsenv_target(words: &[String]) -> Option<String> {
    let program = words.first()?;
    let base = program.rsplit(['/', '\\']).next().unwrap_or(program);
    let base = base.strip_suffix(".exe").unwrap_or(base);
    let mut rest = words[1..].iter().filter(|w| !w.starts_with('-'));
    match base {
        "awsenv-credential-process" => rest.next().cloned(),
        "awsenv" => {
            let sub = rest.next()?;
            if ["credential-process", "export", "exec"].contains(&sub.as_str()) {
                rest.next().cloned()
            } else {
                // `awsenv PROFILE` is the export shorthand.
                Some(sub.clone())
            }
        }
        _ => None,
    }
}

fn parse_seconds(
    profile: &Section,
    key: &str,
    v: &Value,
    (min, max): (u32, u32),
    human: bool,
) -> Result<u32, PlanError> {
    let err = |problem: &str| {
        PlanError::BadDuration(Box::new(BadDuration {
            profile: profile.name.clone(),
            key: key.to_string(),
            value: v.value.clone(),
            at: v.origin.to_string(),
            problem: problem.to_string(),
            min,
            max,
        }))
    };
    let secs = if human {
        super::time::parse_duration(&v.value)
    } else {
        v.value.trim().parse::<i64>().ok()
    }
    .ok_or_else(|| {
        err(if human {
            "not a duration"
        } else {
            "not a whole number of seconds"
        })
    })?;
    if secs < min as i64 || secs > max as i64 {
        return Err(err("out of range"));
    }
    Ok(secs as u32)
}

fn role_duration(hop: &Section, chained: bool) -> Result<Sourced<u32>, PlanError> {
    match hop.non_empty("duration_seconds") {
        Some(v) => {
            let secs = parse_seconds(
                hop,
                "duration_seconds",
                v,
                (ROLE_DURATION_MIN, ROLE_DURATION_MAX),
                false,
            )?;
            if chained && secs > ROLE_CHAINING_MAX {
                return Err(PlanError::ChainingCap {
                    profile: hop.name.clone(),
                    duration: secs,
                    at: v.origin.to_string(),
                });
            }
            Ok(Sourced::new(secs, From::file(&v.origin)))
        }
        None => Ok(Sourced::new(
            ROLE_DURATION_DEFAULT,
            From::default("STS's AssumeRole default of 1 hour"),
        )),
    }
}

/// The MFA session length: `awsenv_session_duration` of the target, a hop or the base (first found),
/// else 12 hours.
fn session_duration(
    target: &Section,
    hops: &[&Section],
    base: &Section,
) -> Result<Sourced<u32>, PlanError> {
    let candidates = std::iter::once(target)
        .chain(hops.iter().copied())
        .chain(std::iter::once(base));
    for p in candidates {
        if let Some(v) = p.non_empty(SESSION_DURATION_KEY) {
            let secs = parse_seconds(
                p,
                SESSION_DURATION_KEY,
                v,
                (SESSION_DURATION_MIN, SESSION_DURATION_MAX),
                true,
            )?;
            return Ok(Sourced::new(secs, From::file(&v.origin)));
        }
    }
    Ok(Sourced::new(
        SESSION_DURATION_DEFAULT,
        From::default("awsenv's MFA session of 12 hours"),
    ))
}

fn valid_session_name(s: &str) -> bool {
    (2..=64).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

fn session_name(hop: &Section, env: &Env) -> Result<Sourced<String>, PlanError> {
    if let Some(v) = hop.non_empty("role_session_name") {
        if !valid_session_name(&v.value) {
            return Err(PlanError::BadSessionName {
                profile: hop.name.clone(),
                value: v.value.clone(),
                at: v.origin.to_string(),
            });
        }
        return Ok(sourced(v));
    }
    let user: String = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| env.non_empty(v))
        .unwrap_or("session")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c))
        .collect();
    let mut name = format!("awsenv-{}", if user.is_empty() { "session" } else { &user });
    name.truncate(64);
    Ok(Sourced::new(
        name,
        From::default("awsenv-<your user name>, so CloudTrail shows who assumed the role"),
    ))
}

/// The region: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else us-east-1. Region
/// variables exported by an earlier `awsenv` run (marked by `AWSENV_PROFILE`) are not the user's
/// choice and are skipped.
fn region(target: &Section, env: &Env, notes: &mut Vec<String>) -> Sourced<String> {
    let exported_by_us = env.non_empty("AWSENV_PROFILE").is_some();
    for var in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if let Some(r) = env.non_empty(var) {
            if exported_by_us {
                notes.push(format!(
                    "${var} ({r}) was set by an earlier awsenv export (AWSENV_PROFILE is set), so it is not used"
                ));
                break;
            }
            return Sourced::new(r.to_string(), From::Env { var: var.into() });
        }
    }
    match target.non_empty("region") {
        Some(v) => sourced(v),
        None => Sourced::new(
            DEFAULT_REGION.to_string(),
            From::default("no region configured; STS is called in us-east-1"),
        ),
    }
}

/// The profile name closest to `name` (by edit distance), to suggest on a typo.
fn closest(set: &ProfileSet, name: &str) -> Option<String> {
    set.profiles
        .keys()
        .map(|k| (edit_distance(k, name), k))
        .filter(|(d, k)| *d <= 2.max(name.len() / 3) && *d < k.len())
        .min()
        .map(|(_, k)| k.clone())
}

/// The Levenshtein distance between two names, in characters (for "did you mean" hints).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// What kind of profile a section is, for `awsenv profiles`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileKind {
    /// Long-term keys (in a file or the keychain), no MFA.
    StaticKeys,
    /// Long-term keys with `mfa_serial`: awsenv makes an MFA session.
    MfaUser,
    /// Temporary keys written in a file.
    TemporaryKeys,
    /// A role reached from a profile with keys.
    Role,
    /// A role reached through other roles.
    RoleChain,
    /// A role whose source is `credential_source`.
    RoleFromCredentialSource,
    Process,
    Sso,
    WebIdentity,
    /// Settings only (region, output…), no credentials.
    SettingsOnly,
    /// A profile awsenv cannot resolve (see `awsenv explain`).
    Invalid,
}

impl ProfileKind {
    pub fn describe(self) -> &'static str {
        match self {
            ProfileKind::StaticKeys => "static keys",
            ProfileKind::MfaUser => "MFA user",
            ProfileKind::TemporaryKeys => "temporary keys",
            ProfileKind::Role => "role",
            ProfileKind::RoleChain => "role chain",
            ProfileKind::RoleFromCredentialSource => "role via credential_source",
            ProfileKind::Process => "credential_process",
            ProfileKind::Sso => "SSO",
            ProfileKind::WebIdentity => "web identity",
            ProfileKind::SettingsOnly => "settings only",
            ProfileKind::Invalid => "invalid",
        }
    }
}

/// Classifies a profile, resolving it when that is what tells its kind.
pub fn kind_of(inputs: &Inputs<'_>, name: &str) -> ProfileKind {
    let Some(p) = inputs.profiles.profile(name) else {
        return ProfileKind::Invalid;
    };
    match resolve(inputs, name) {
        Ok(plan) => {
            let roles = plan.role_steps().count();
            match (&plan.source, roles) {
                (Source::CredentialSource { .. }, 1) => ProfileKind::RoleFromCredentialSource,
                (Source::CredentialSource { .. }, _) => ProfileKind::RoleChain,
                (_, 0) => match &plan.source {
                    Source::Process { .. } => ProfileKind::Process,
                    Source::FileKeys {
                        temporary: true, ..
                    } => ProfileKind::TemporaryKeys,
                    _ if plan.session_step().is_some() => ProfileKind::MfaUser,
                    _ => ProfileKind::StaticKeys,
                },
                (_, 1) => ProfileKind::Role,
                _ => ProfileKind::RoleChain,
            }
        }
        Err(PlanError::NoCredentials { .. }) => ProfileKind::SettingsOnly,
        Err(PlanError::Unsupported { what, .. }) if what.contains("SSO") => ProfileKind::Sso,
        Err(PlanError::Unsupported { .. }) => ProfileKind::WebIdentity,
        Err(_) if p.properties.is_empty() => ProfileKind::SettingsOnly,
        Err(_) => ProfileKind::Invalid,
    }
}

/// A summary of every profile, for listings.
pub fn kinds(inputs: &Inputs<'_>) -> BTreeMap<String, ProfileKind> {
    inputs
        .profiles
        .profiles
        .keys()
        .map(|n| (n.clone(), kind_of(inputs, n)))
        .collect()
}
