//! The credential engine: runs a [`Plan`] — base credentials, then the MFA session (GetSessionToken,
//! cached), then each AssumeRole hop (each cached) — and hands out credentials with enough time left.
//!
//! It sits above the edges (STS client, keychain) and below the commands and the daemon. Every cache
//! read and write goes through a [`Vault`], so the CLI (keychain directly) and the daemon (memory in
//! front of the keychain) share this code.

pub mod flight;
pub mod keychain_vault;
pub mod mfa;
pub mod process;

use std::collections::BTreeMap;

use crate::core::config::ProfileSet;
use crate::core::credentials::{Credentials, Secret};
use crate::core::endpoint;
use crate::core::env::Env;
use crate::core::plan::{self, CredentialSource, Plan, Source, Step, ROLE_CHAINING_MAX};
use crate::core::session_key::{step_keys, SessionKey};
use crate::core::sts::{self, ErrorKind};
use crate::core::time::{human_duration, UtcTime};
use crate::edge::sts_client::{CallError, ClientSettings, StsClient};
use flight::Flights;
use mfa::{MfaError, MfaPrompt, MfaRequest};

/// botocore refreshes credentials this long before they expire; what awsenv hands out must have more.
pub const REFRESH_WINDOW: i64 = 15 * 60;
/// A margin on top, so that a tool starting now still has a while before it refreshes.
pub const HANDOUT_MARGIN: i64 = 5 * 60;
/// Intermediate credentials (an MFA session or a role that signs the next hop) need only this much.
pub const SIGNING_MARGIN: i64 = 60;

/// What a cached session is, for listings (never the secret parts).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionInfo {
    /// The profile whose step made it.
    pub profile: String,
    /// `mfa_session` or `role`.
    pub kind: String,
    pub mfa_serial: Option<String>,
    pub role_arn: Option<String>,
    pub issued: UtcTime,
}

/// A cache failure (a locked keychain, say).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct VaultError(pub String);

/// Where long-term keys and sessions live.
pub trait Vault: Send + Sync {
    fn long_term_keys(&self, profile: &str) -> Result<Option<Credentials>, VaultError>;
    fn session(&self, key: &SessionKey) -> Result<Option<Credentials>, VaultError>;
    fn save_session(
        &self,
        key: &SessionKey,
        info: &SessionInfo,
        creds: &Credentials,
    ) -> Result<(), VaultError>;
    fn delete_session(&self, key: &SessionKey) -> Result<(), VaultError>;
    /// Deletes every cached session (not long-term keys); returns how many.
    fn delete_all_sessions(&self) -> Result<usize, VaultError>;
    /// Whether long-term keys are stored for `profile` (one lookup).
    fn has_keys(&self, profile: &str) -> bool;
}

/// A [`Vault`] seen as the plan's [`plan::KeyIndex`].
pub struct VaultKeys<'a>(pub &'a dyn Vault);

impl plan::KeyIndex for VaultKeys<'_> {
    fn has_keys(&self, profile: &str) -> bool {
        self.0.has_keys(profile)
    }
}

/// Why credentials could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error("{0}")]
    Mfa(#[from] MfaError),
    #[error("{0}")]
    Sts(#[from] CallError),
    #[error("the keychain failed: {0}")]
    Vault(#[from] VaultError),
    #[error("no long-term keys for profile `{profile}` in the keychain — store them with `awsenv add {profile}`")]
    NoKeys { profile: String },
    #[error("{0}")]
    Source(String),
    #[error("{0}")]
    Settings(String),
}

/// What the caller wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    /// Seconds the handed-out credentials must still be valid.
    pub min_remaining: i64,
    /// Ask for a new MFA code even when an MFA session is cached (`login --force`).
    pub force_mfa: bool,
    /// Stop after the MFA session (`login`).
    pub mfa_session_only: bool,
    /// Never ask for an MFA code: fail with [`MfaError::Needed`] instead (the shell hook's refresh).
    pub no_prompt: bool,
}

impl Default for Want {
    fn default() -> Self {
        Want {
            min_remaining: REFRESH_WINDOW + HANDOUT_MARGIN,
            force_mfa: false,
            mfa_session_only: false,
            no_prompt: false,
        }
    }
}

/// Credentials handed out, with what the user should hear about.
#[derive(Debug, Clone)]
pub struct Issued {
    pub credentials: Credentials,
    pub profile: String,
    /// The region the profile (or the user's environment) names; `None` when only the default applies,
    /// so exports do not pin a region nobody chose.
    pub region: Option<String>,
    /// When the MFA session behind these credentials ends (if there is one).
    pub mfa_session_expires: Option<UtcTime>,
    /// One-line notices for the user (a role-chaining fallback, a corrected clock…).
    pub notices: Vec<String>,
    /// How many STS calls were made.
    pub sts_calls: u32,
}

/// The engine for one resolved profile set and environment.
pub struct Engine<'a> {
    pub profiles: &'a ProfileSet,
    pub env: &'a Env,
    pub vault: &'a dyn Vault,
    pub mfa: &'a dyn MfaPrompt,
    pub settings: ClientSettings,
    /// Shared single-flight locks (the daemon's); `None` runs without them (one CLI process).
    pub flights: Option<&'a Flights>,
}

/// The STS client of one `issue`, made when first needed.
fn sts_client<'c>(
    slot: &'c mut Option<StsClient>,
    endpoint: &endpoint::StsEndpoint,
    settings: ClientSettings,
) -> Result<&'c StsClient, Box<CallError>> {
    if slot.is_none() {
        *slot = Some(StsClient::new(endpoint.clone(), settings).map_err(Box::new)?);
    }
    Ok(slot.as_ref().expect("just made"))
}

fn describe_source(s: &CredentialSource) -> &'static str {
    s.describe()
}

impl Engine<'_> {
    /// Runs `plan` and returns its credentials, from cache where they are fresh enough.
    pub async fn issue(&self, plan: &Plan, want: Want) -> Result<Issued, EngineError> {
        let target = self.profiles.profile(&plan.profile);
        let endpoint = endpoint::resolve(self.env, self.profiles, target, &plan.region.value);
        // Made on the first STS call only: building an HTTPS client (root certificates and all) costs
        // far more than answering from cache.
        let mut client: Option<StsClient> = None;
        let keys = step_keys(plan);
        let now = UtcTime::now();
        let mut notices = Vec::new();
        let mut sts_calls = 0;
        let mut mfa_session_expires = None;

        // Where to start: the last step whose cached credentials are good enough lets every step
        // before it be skipped (the base keys are not even read).
        let (start, current) =
            match usable_from_cache(plan, want, now, |i| self.vault.session(&keys[i]))? {
                Some((i, c)) => (i + 1, Some(c)),
                None => (0, None),
            };
        // The MFA session's end, for prompts and `list`, when it is cached and we start after it.
        if let Some(gst) = plan
            .steps
            .iter()
            .position(|s| matches!(s, Step::GetSessionToken(_)))
        {
            if gst < start {
                if let Some(c) = self.vault.session(&keys[gst])? {
                    mfa_session_expires = c.expiration;
                }
            }
        }
        let mut creds = match current {
            Some(c) => c,
            None => self.base(plan).await?,
        };
        for (i, (step, key)) in plan.steps.iter().zip(&keys).enumerate().skip(start) {
            if want.mfa_session_only && !matches!(step, Step::GetSessionToken(_)) {
                break;
            }
            // One prompt per MFA device at a time; callers behind it hear that they wait.
            let device = match step {
                Step::GetSessionToken(g) => Some(&g.mfa_serial.value),
                Step::AssumeRole(r) => r.mfa_serial.as_ref().map(|m| &m.value),
            };
            let mfa_request = device.map(|serial| MfaRequest {
                serial: serial.clone(),
                profile: plan.profile.clone(),
                mfa_process: self.mfa_process(step_profile(step), &plan.profile),
            });
            let _device_guard = match (self.flights, &mfa_request) {
                (Some(f), Some(req)) => {
                    let name = format!("mfa:{}", req.serial);
                    Some(match f.try_lock(&name) {
                        Some(g) => g,
                        None => {
                            self.mfa.waiting(req);
                            f.lock(&name).await
                        }
                    })
                }
                _ => None,
            };
            // One STS call per cache key: whoever waited here finds the result cached.
            let _step_guard = match self.flights {
                Some(f) => Some(f.lock(key.as_str()).await),
                None => None,
            };
            if self.flights.is_some() && !(want.force_mfa && i == 0) {
                if let Some(c) = self.vault.session(key)? {
                    if c.remaining(UtcTime::now())
                        .is_some_and(|r| r > self.needed(plan, i, want))
                    {
                        if matches!(step, Step::GetSessionToken(_)) {
                            mfa_session_expires = c.expiration;
                        }
                        creds = c;
                        continue;
                    }
                }
            }
            let (new, info) = match step {
                Step::GetSessionToken(g) => {
                    let req = mfa_request.as_ref().expect("a session step has a device");
                    let code = self.code(req, want).await?;
                    let req = sts::Request::GetSessionToken {
                        duration_seconds: Some(g.duration_seconds.value),
                        serial_number: Some(g.mfa_serial.value.clone()),
                        token_code: Some(code),
                    };
                    sts_calls += 1;
                    let client =
                        sts_client(&mut client, &endpoint, self.settings).map_err(|e| *e)?;
                    let (c, answer) = client.credentials(&creds, &req).await?;
                    if let Some(skew) = answer.clock_skew {
                        notices.push(crate::edge::sts_client::describe_skew(skew));
                    }
                    mfa_session_expires = c.expiration;
                    (
                        c,
                        SessionInfo {
                            profile: g.profile.clone(),
                            kind: "mfa_session".into(),
                            mfa_serial: Some(g.mfa_serial.value.clone()),
                            role_arn: None,
                            issued: UtcTime::now(),
                        },
                    )
                }
                Step::AssumeRole(r) => {
                    let token_code = match &mfa_request {
                        Some(req) => Some(self.code(req, want).await?),
                        None => None,
                    };
                    let mut duration = r.duration_seconds.value;
                    let c = loop {
                        let req = sts::Request::AssumeRole {
                            role_arn: r.role_arn.value.clone(),
                            role_session_name: r.role_session_name.value.clone(),
                            external_id: r.external_id.as_ref().map(|e| e.value.clone()),
                            duration_seconds: Some(duration),
                            serial_number: r.mfa_serial.as_ref().map(|m| m.value.clone()),
                            token_code: token_code.clone(),
                        };
                        sts_calls += 1;
                        let client =
                            sts_client(&mut client, &endpoint, self.settings).map_err(|e| *e)?;
                        match client.credentials(&creds, &req).await {
                            Ok((c, answer)) => {
                                if let Some(skew) = answer.clock_skew {
                                    notices.push(crate::edge::sts_client::describe_skew(skew));
                                }
                                break c;
                            }
                            Err(e)
                                if duration > ROLE_CHAINING_MAX
                                    && token_code.is_none()
                                    && e.service_error()
                                        .is_some_and(|s| s.kind() == ErrorKind::ChainingLimit) =>
                            {
                                notices.push(format!(
                                    "profile `{}`: STS limits role chaining to 1 hour, so the role was assumed for 1 hour instead of {} — set duration_seconds = 3600 to silence this",
                                    r.profile,
                                    human_duration(duration as i64)
                                ));
                                duration = ROLE_CHAINING_MAX;
                            }
                            Err(e) => return Err(e.into()),
                        }
                    };
                    (
                        c,
                        SessionInfo {
                            profile: r.profile.clone(),
                            kind: "role".into(),
                            mfa_serial: r.mfa_serial.as_ref().map(|m| m.value.clone()),
                            role_arn: Some(r.role_arn.value.clone()),
                            issued: UtcTime::now(),
                        },
                    )
                }
            };
            self.vault.save_session(key, &info, &new)?;
            creds = new;
        }
        if let Some(rem) = creds.remaining(UtcTime::now()) {
            if rem <= 0 {
                return Err(EngineError::Source(format!(
                    "the credentials of profile `{}` have expired — run `awsenv login {}`",
                    plan.profile, plan.profile
                )));
            }
        }
        Ok(Issued {
            credentials: creds,
            profile: plan.profile.clone(),
            region: match plan.region.from {
                plan::From::Default { .. } => None,
                _ => Some(plan.region.value.clone()),
            },
            mfa_session_expires,
            notices,
            sts_calls,
        })
    }

    /// An MFA code from the prompt, unless the caller forbade prompts.
    async fn code(&self, req: &MfaRequest, want: Want) -> Result<Secret, MfaError> {
        if want.no_prompt {
            return Err(MfaError::Needed {
                profile: req.profile.clone(),
            });
        }
        self.mfa.code(req).await
    }

    /// How long the credentials of step `i` must still be valid to be used from cache.
    fn needed(&self, plan: &Plan, i: usize, want: Want) -> i64 {
        needed(plan, i, want)
    }

    /// The `mfa_process` of the step's profile, else of the profile asked for.
    fn mfa_process(&self, step_profile: &str, target: &str) -> Option<String> {
        mfa_process(self.profiles, step_profile, target)
    }
}

/// The last step whose cached credentials are good enough for `want`, with them: every step before
/// it can be skipped (the base keys are not even read). Looks from the last step back and reads no
/// further than it must. `None` when nothing cached will do, or `want` forces a new MFA session.
fn usable_from_cache(
    plan: &Plan,
    want: Want,
    now: UtcTime,
    mut session: impl FnMut(usize) -> Result<Option<Credentials>, VaultError>,
) -> Result<Option<(usize, Credentials)>, VaultError> {
    if want.force_mfa {
        return Ok(None);
    }
    for i in (0..plan.steps.len()).rev() {
        let is_session = matches!(plan.steps[i], Step::GetSessionToken(_));
        if want.mfa_session_only && !is_session {
            continue;
        }
        if let Some(c) = session(i)? {
            if c.remaining(now).is_some_and(|r| r > needed(plan, i, want)) {
                return Ok(Some((i, c)));
            }
        }
    }
    Ok(None)
}

/// How long the credentials of step `i` must still be valid to be used from cache.
fn needed(plan: &Plan, i: usize, want: Want) -> i64 {
    let is_last = i + 1 == plan.steps.len();
    let is_session = matches!(plan.steps[i], Step::GetSessionToken(_));
    let is_handout = is_last || (want.mfa_session_only && is_session);
    if !is_handout {
        return SIGNING_MARGIN;
    }
    // Fresh credentials must always qualify, whatever the duration: cap the demand at what a new
    // call would give, less two minutes.
    let fresh = match &plan.steps[i] {
        Step::GetSessionToken(g) => g.duration_seconds.value as i64,
        Step::AssumeRole(r) => r.duration_seconds.value as i64,
    };
    want.min_remaining.min(fresh - 120).max(SIGNING_MARGIN)
}

/// The `mfa_process` of the step's profile, else of the profile asked for.
fn mfa_process(profiles: &ProfileSet, step_profile: &str, target: &str) -> Option<String> {
    [step_profile, target].iter().find_map(|p| {
        profiles
            .profile(p)
            .and_then(|s| s.non_empty("mfa_process"))
            .map(|v| v.value.clone())
    })
}

impl Engine<'_> {
    /// The base credentials of a plan.
    async fn base(&self, plan: &Plan) -> Result<Credentials, EngineError> {
        match &plan.source {
            Source::Keychain { profile } => {
                self.vault
                    .long_term_keys(profile)?
                    .ok_or_else(|| EngineError::NoKeys {
                        profile: profile.clone(),
                    })
            }
            Source::FileKeys { profile, .. } => {
                let p = self
                    .profiles
                    .profile(profile)
                    .ok_or_else(|| EngineError::NoKeys {
                        profile: profile.clone(),
                    })?;
                let get = |k: &str| p.non_empty(k).map(|v| v.value.clone());
                Ok(Credentials {
                    access_key_id: get("aws_access_key_id").unwrap_or_default(),
                    secret_access_key: crate::core::credentials::Secret::new(
                        get("aws_secret_access_key").unwrap_or_default(),
                    ),
                    session_token: get("aws_session_token")
                        .map(crate::core::credentials::Secret::new),
                    expiration: None,
                })
            }
            Source::Process { profile, command } => {
                process::run(&command.value, profile).map_err(EngineError::Source)
            }
            Source::CredentialSource { profile, source } => match source.value {
                CredentialSource::Environment => {
                    let akid = self.env.non_empty("AWS_ACCESS_KEY_ID");
                    let secret = self.env.non_empty("AWS_SECRET_ACCESS_KEY");
                    match (akid, secret) {
                        (Some(a), Some(s)) => Ok(Credentials {
                            access_key_id: a.into(),
                            secret_access_key: crate::core::credentials::Secret::new(s),
                            session_token: self
                                .env
                                .non_empty("AWS_SESSION_TOKEN")
                                .map(crate::core::credentials::Secret::new),
                            expiration: None,
                        }),
                        _ => Err(EngineError::Source(format!(
                            "profile `{profile}` takes its source credentials from the environment (credential_source = Environment), but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"
                        ))),
                    }
                }
                other
                @ (CredentialSource::Ec2InstanceMetadata | CredentialSource::EcsContainer) => {
                    let section = self.profiles.profile(profile);
                    let fetched = if other == CredentialSource::EcsContainer {
                        match crate::core::metadata::container_target(self.env) {
                            Ok(t) => crate::edge::metadata::container_credentials(&t).await,
                            Err(e) => Err(e),
                        }
                    } else {
                        match crate::core::metadata::imds_target(self.env, section) {
                            Ok(t) => crate::edge::metadata::imds_credentials(&t).await,
                            Err(e) => Err(e),
                        }
                    };
                    fetched.map_err(|e| {
                        EngineError::Source(format!(
                            "profile `{profile}` takes its source credentials from {}: {e}",
                            describe_source(&other)
                        ))
                    })
                }
            },
        }
    }
}

fn step_profile(step: &Step) -> &str {
    match step {
        Step::GetSessionToken(g) => &g.profile,
        Step::AssumeRole(r) => &r.profile,
    }
}

/// The remaining validity of every cached step of a plan, for `awsenv list` and dry runs.
pub fn cached_steps(
    plan: &Plan,
    vault: &dyn Vault,
    now: UtcTime,
) -> Result<BTreeMap<usize, i64>, VaultError> {
    let mut out = BTreeMap::new();
    for (i, key) in step_keys(plan).iter().enumerate() {
        if let Some(c) = vault.session(key)? {
            if let Some(r) = c.remaining(now) {
                out.insert(i, r);
            }
        }
    }
    Ok(out)
}

/// What [`Engine::issue`] would do for a plan, read from the cache alone: which steps are cached and
/// for how long, where it would start, and which STS calls and MFA prompts would follow. The
/// dry runs (`--dry-run`) print it; nothing is called and nothing is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forecast {
    /// Per step of the plan: the seconds its cached credentials have left, if cached.
    pub cached: Vec<Option<i64>>,
    /// Per step: the seconds cached credentials must have left to be used.
    pub needed: Vec<i64>,
    /// The first step that would be called (`steps.len()` when none).
    pub start: usize,
    /// The steps that would be called, in order.
    pub calls: Vec<usize>,
    /// Whether the base credentials would be read (keychain, files, or the credential_process run).
    pub reads_base: bool,
    /// Per called step with an MFA device: the device and the `mfa_process` that would give the code
    /// (`None`: a prompt on the terminal).
    pub mfa: Vec<(usize, String, Option<String>)>,
}

/// Forecasts [`Engine::issue`] for `plan` and `want` at `now`, reading only the cache.
pub fn forecast(
    profiles: &ProfileSet,
    plan: &Plan,
    vault: &dyn Vault,
    want: Want,
    now: UtcTime,
) -> Result<Forecast, VaultError> {
    let keys = step_keys(plan);
    let last = plan.steps.len();
    let sessions = keys
        .iter()
        .map(|key| vault.session(key))
        .collect::<Result<Vec<_>, _>>()?;
    let cached = sessions
        .iter()
        .map(|c| c.as_ref().and_then(|c| c.remaining(now)))
        .collect();
    let needed: Vec<i64> = (0..last).map(|i| needed(plan, i, want)).collect();
    let start =
        usable_from_cache(plan, want, now, |i| Ok(sessions[i].clone()))?.map_or(0, |(i, _)| i + 1);
    let mut calls = Vec::new();
    let mut mfa = Vec::new();
    for (i, step) in plan.steps.iter().enumerate().skip(start) {
        if want.mfa_session_only && !matches!(step, Step::GetSessionToken(_)) {
            break;
        }
        calls.push(i);
        let device = match step {
            Step::GetSessionToken(g) => Some(&g.mfa_serial.value),
            Step::AssumeRole(r) => r.mfa_serial.as_ref().map(|m| &m.value),
        };
        if let Some(d) = device {
            mfa.push((
                i,
                d.clone(),
                mfa_process(profiles, step_profile(step), &plan.profile),
            ));
        }
    }
    Ok(Forecast {
        cached,
        needed,
        start,
        calls,
        reads_base: start == 0,
        mfa,
    })
}
