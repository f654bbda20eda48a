//! What the credential commands share: getting a profile's credentials through the daemon (started
//! when none answers) or, with `--no-daemon`, in this process with the keychain and the engine.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context as _};

use super::{direct, Context};
use crate::core::credentials::{Credentials, Secret};
use crate::core::plan::{self, Plan};
use crate::core::time::{parse_duration, UtcTime};
use crate::edge::aws_files;
use crate::edge::sts_client::ClientSettings;
use crate::engine::keychain_vault::KeychainVault;
use crate::engine::mfa::InteractivePrompt;
use crate::engine::{Engine, Issued, VaultKeys, Want};
use crate::thin::client::{self, ClientError};
use crate::thin::json::Json;
use crate::thin::wire;

/// Credentials handed to a command, with what it needs to export them.
#[derive(Debug, Clone)]
pub struct Handout {
    pub credentials: Credentials,
    pub region: Option<String>,
    pub mfa_expires: Option<UtcTime>,
}

/// The socket this user's daemon listens on.
pub fn socket_path(ctx: &Context) -> PathBuf {
    crate::thin::paths::socket_path(
        &|k| ctx.env.get(k).map(str::to_string),
        crate::thin::paths::current_uid(),
    )
}

/// `--ensure 50m`: the credentials must have at least this long left (never less than the default).
pub fn want_with_ensure(ensure: Option<&str>) -> anyhow::Result<Want> {
    let mut want = Want::default();
    if let Some(e) = ensure {
        let secs = parse_duration(e)
            .with_context(|| format!("--ensure {e}: not a duration such as 50m or 2h"))?;
        if secs > 12 * 3600 {
            bail!("--ensure {e}: STS credentials last at most 12 hours");
        }
        want.min_remaining = want.min_remaining.max(secs);
    }
    Ok(want)
}

/// What the plan needs to know about the keychain: the real one, or (when it cannot be opened) none,
/// with a warning.
pub fn key_index(ctx: &Context) -> Box<dyn plan::KeyIndex> {
    match KeychainVault::open(&ctx.env) {
        Ok(v) => Box::new(v),
        Err(e) => {
            eprintln!(
                "awsenv: warning: cannot open the keychain ({e}); keys stored there are not taken into account"
            );
            Box::new(plan::NoKeys)
        }
    }
}

/// The AWS files and the keychain, for in-process work.
pub struct Local {
    pub files: aws_files::Loaded,
    pub vault: KeychainVault,
}

impl Local {
    pub fn open(ctx: &Context) -> anyhow::Result<Local> {
        let files = aws_files::load(&ctx.env)?;
        let vault = KeychainVault::open(&ctx.env)?;
        Ok(Local { files, vault })
    }

    pub fn plan(&self, ctx: &Context, profile: &str) -> anyhow::Result<Plan> {
        let keys = VaultKeys(&self.vault);
        let inputs = plan::Inputs {
            profiles: &self.files.profiles,
            env: &ctx.env,
            keys: &keys,
        };
        Ok(plan::resolve(&inputs, profile)?)
    }

    /// Runs the engine in this process, the MFA prompt on this terminal.
    pub fn issue(
        &self,
        ctx: &Context,
        plan: &Plan,
        want: Want,
        token_code: Option<String>,
    ) -> anyhow::Result<Issued> {
        let prompt = InteractivePrompt::new(ctx.env.clone(), token_code);
        let engine = Engine {
            profiles: &self.files.profiles,
            env: &ctx.env,
            vault: &self.vault,
            mfa: &prompt,
            settings: ClientSettings::from_env(&ctx.env)?,
            flights: None,
        };
        let issued = direct::block_on(engine.issue(plan, want))??;
        for n in &issued.notices {
            eprintln!("awsenv: {n}");
        }
        Ok(issued)
    }
}

/// Sends a request to the daemon, starting it when none answers.
pub fn ask_daemon(ctx: &Context, request: &Json) -> anyhow::Result<Json> {
    let socket = socket_path(ctx);
    let get = |k: &str| ctx.env.get(k).map(str::to_string);
    match client::request(&socket, request, &get) {
        Err(ClientError::NotRunning) => {
            let exe = std::env::current_exe().context("cannot find the awsenv program")?;
            client::start_daemon(&exe, &socket).map_err(|e| anyhow!("{e}"))?;
            client::request(&socket, request, &get).map_err(client_error)
        }
        other => other.map_err(client_error),
    }
}

/// The daemon refused because an MFA code would be needed and prompts were off (`--no-prompt`); the
/// message says what to run. Exits with [`super::EXIT_MFA_NEEDED`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MfaNeeded(pub String);

fn client_error(e: ClientError) -> anyhow::Error {
    match e {
        ClientError::Daemon { code, message } if code == wire::MFA_NEEDED => {
            anyhow::Error::new(MfaNeeded(message))
        }
        e => anyhow!("{e}"),
    }
}

fn handout_from_reply(reply: &Json) -> anyhow::Result<Handout> {
    let c = reply
        .get("credentials")
        .ok_or_else(|| anyhow!("the awsenv daemon's answer has no credentials"))?;
    let field = |k: &str| c.get(k).and_then(Json::as_str).map(str::to_string);
    Ok(Handout {
        credentials: Credentials {
            access_key_id: field("AccessKeyId").unwrap_or_default(),
            secret_access_key: Secret::new(field("SecretAccessKey").unwrap_or_default()),
            session_token: field("SessionToken").map(Secret::new),
            expiration: field("Expiration").and_then(|e| UtcTime::parse_rfc3339(&e)),
        },
        region: reply
            .get("region")
            .and_then(Json::as_str)
            .map(str::to_string),
        mfa_expires: reply
            .get("mfa_expires")
            .and_then(Json::as_str)
            .and_then(UtcTime::parse_rfc3339),
    })
}

fn print_notices(reply: &Json) {
    if let Some(Json::Array(items)) = reply.get("notices") {
        for n in items.iter().filter_map(Json::as_str) {
            eprintln!("awsenv: {n}");
        }
    }
}

/// Runs the engine in this process (`--no-daemon`).
fn in_process(
    ctx: &Context,
    profile: &str,
    want: Want,
    token_code: Option<String>,
) -> anyhow::Result<Handout> {
    let local = Local::open(ctx)?;
    let plan = local.plan(ctx, profile)?;
    let issued = local.issue(ctx, &plan, want, token_code)?;
    Ok(Handout {
        credentials: issued.credentials,
        region: issued.region,
        mfa_expires: issued.mfa_session_expires,
    })
}

/// Sends a request whose reply carries credentials, and tells the user the daemon's notices.
fn ask_for_handout(ctx: &Context, fields: Vec<(&str, Json)>) -> anyhow::Result<Handout> {
    let reply = ask_daemon(ctx, &wire::message(fields))?;
    print_notices(&reply);
    handout_from_reply(&reply)
}

/// A profile's credentials, through the daemon unless `no_daemon`.
pub fn credentials(
    ctx: &Context,
    profile: &str,
    want: Want,
    token_code: Option<String>,
    no_daemon: bool,
) -> anyhow::Result<Handout> {
    if no_daemon {
        return in_process(ctx, profile, want, token_code);
    }
    let get = |k: &str| ctx.env.get(k).map(str::to_string);
    let mut fields = vec![
        ("op", wire::s("credentials")),
        ("profile", wire::s(profile)),
        (
            "min_remaining",
            Json::Number(want.min_remaining.to_string()),
        ),
        ("env", wire::forwarded_env(&get)),
    ];
    if let Some(code) = token_code {
        fields.push(("token_code", wire::s(&code)));
    }
    if want.no_prompt {
        fields.push(("prompt", Json::Bool(false)));
    }
    ask_for_handout(ctx, fields)
}

/// Makes sure an MFA session exists (`login`), through the daemon unless `no_daemon`.
pub fn login(
    ctx: &Context,
    profile: &str,
    force: bool,
    token_code: Option<String>,
    no_daemon: bool,
) -> anyhow::Result<Handout> {
    let want = Want {
        mfa_session_only: true,
        force_mfa: force,
        ..Want::default()
    };
    if no_daemon {
        return in_process(ctx, profile, want, token_code);
    }
    let get = |k: &str| ctx.env.get(k).map(str::to_string);
    let mut fields = vec![
        ("op", wire::s("login")),
        ("profile", wire::s(profile)),
        ("force", Json::Bool(force)),
        ("env", wire::forwarded_env(&get)),
    ];
    if let Some(code) = token_code {
        fields.push(("token_code", wire::s(&code)));
    }
    ask_for_handout(ctx, fields)
}
