//! `awsenv serve --ecs|--imds PROFILE`, and the endpoint half of `awsenv exec --ecs|--imds`: a
//! loopback credentials endpoint (container credentials or an IMDSv2 emulator) that asks the daemon
//! for the profile's credentials at every request, so programs that run for hours refresh through
//! their SDK and never hold expired keys.
//!
//! `exec` runs the command as a child (it cannot replace itself: the endpoint must outlive it),
//! forwards SIGINT, SIGTERM and SIGHUP to it and exits with its status (128 + N when signal N killed
//! it). `serve` prints the variables to set and serves until it is stopped.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context as _};

use super::setup::{self, Handout};
use super::{Context, Run};
use crate::core::credentials::{Credentials, Secret};
use crate::core::env::Env;
use crate::core::export::{fish_quote, sh_quote, EnvChanges};
use crate::core::metadata::{self, Container, Imds, Instance, Kind, TokenPassing, TokenSigner};
use crate::core::plan::DEFAULT_REGION;
use crate::core::time::{human_duration, UtcTime};
use crate::edge::aws_files;
use crate::edge::metadata_server::{random_bytes, Feed, FeedError, Log, Protocol, Server};
use crate::engine::Want;

/// `--ecs` / `--imds`, shared by `exec` and `serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct EndpointArgs {
    /// Serve the credentials on a container credentials endpoint on 127.0.0.1
    /// (AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN), refreshed by the
    /// daemon for as long as awsenv runs
    #[arg(long, conflicts_with = "imds")]
    pub(crate) ecs: bool,
    /// Serve them on an IMDSv2 emulator on 127.0.0.1 (AWS_EC2_METADATA_SERVICE_ENDPOINT)
    #[arg(long)]
    pub(crate) imds: bool,
    /// With --imds, also answer requests that carry no session token (IMDSv1; off by default)
    #[arg(long, requires = "imds")]
    pub(crate) imds_v1: bool,
}

impl EndpointArgs {
    pub(crate) fn kind(&self) -> Option<Kind> {
        match (self.ecs, self.imds) {
            (true, _) => Some(Kind::Container),
            (_, true) => Some(Kind::Imds),
            _ => None,
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(
    group(clap::ArgGroup::new("protocol").args(["ecs", "imds"]).required(true)),
    after_help = "Examples:\n  awsenv serve --ecs dev                  (prints the variables, serves until Ctrl-C)\n  awsenv serve --ecs dev --env-file dev.env\n      then: docker run --network host --env-file dev.env IMAGE …\n  awsenv serve --imds dev --port 9911\n      then: AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9911 TOOL …"
)]
pub struct Args {
    /// The profile whose credentials are served
    #[arg(add = clap_complete::ArgValueCompleter::new(super::completions::profile_names))]
    profile: String,
    #[command(flatten)]
    endpoint: EndpointArgs,
    /// The port on 127.0.0.1 (default: any free port)
    #[arg(long, value_name = "PORT")]
    port: Option<u16>,
    /// How to print the variables: env (sh, bash, zsh), fish, or dotenv (KEY=VALUE)
    #[arg(long, short = 'f', default_value = "env", value_parser = ["env", "fish", "dotenv"])]
    format: String,
    /// Also write the variables as KEY=VALUE lines to this file (mode 0600, removed on exit), for
    /// `docker run --env-file`
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// With --ecs: write the token to this file (mode 0600, no newline, removed on exit) and give
    /// clients AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE instead of the token itself
    #[arg(long, value_name = "FILE", requires = "ecs")]
    token_file: Option<PathBuf>,
    /// Every credentials handout must have at least this long left (e.g. 50m, 2h)
    #[arg(long, value_name = "DURATION")]
    ensure: Option<String>,
    /// The MFA code, if one is needed when starting (six digits)
    #[arg(long, value_name = "CODE")]
    token_code: Option<String>,
    /// Get the credentials in this process instead of through the awsenv daemon
    #[arg(long)]
    no_daemon: bool,
}

/// How each request gets its credentials: through the daemon (or this process), never prompting.
pub(crate) struct ProfileFeed {
    env: Env,
    profile: String,
    want: Want,
    no_daemon: bool,
}

impl ProfileFeed {
    pub(crate) fn new(
        ctx: &Context,
        profile: &str,
        ensure: Option<&str>,
        no_daemon: bool,
    ) -> anyhow::Result<ProfileFeed> {
        let mut want = setup::want_with_ensure(ensure)?;
        // A program asking in the background has no terminal to type a code into.
        want.no_prompt = true;
        Ok(ProfileFeed {
            env: ctx.env.clone(),
            profile: profile.to_string(),
            want,
            no_daemon,
        })
    }
}

impl Feed for ProfileFeed {
    fn credentials(&self) -> Result<Credentials, FeedError> {
        let ctx = Context {
            env: self.env.clone(),
        };
        setup::credentials(&ctx, &self.profile, self.want, None, self.no_daemon)
            .map(|h| h.credentials)
            .map_err(|e| FeedError {
                code: if super::mfa_needed(&e) {
                    "MfaSessionEnded"
                } else {
                    "CredentialsUnavailable"
                },
                message: format!("{e:#}"),
            })
    }
}

/// Refuses credentials the metadata protocols cannot describe.
fn require_temporary(h: &Handout, profile: &str) -> anyhow::Result<()> {
    if h.credentials.session_token.is_none() || h.credentials.expiration.is_none() {
        bail!(
            "profile `{profile}` gives long-term keys, which the container and IMDS protocols cannot carry (they need a session token and an expiration) — give the profile an mfa_serial or a role_arn, or use `awsenv exec {profile}` without --ecs/--imds"
        );
    }
    Ok(())
}

/// A bound endpoint and what its clients need to know.
struct Endpoint {
    server: Server,
    url: String,
    token: Option<TokenPassing>,
    kind: Kind,
    allow_v1: bool,
}

/// How an endpoint is set up.
struct Options<'a> {
    kind: Kind,
    /// IMDSv1 (requests without a token) answered too.
    allow_v1: bool,
    /// On 127.0.0.1; 0 for any free port.
    port: u16,
    log: Log,
    /// Container endpoint: hand the token over in this file instead of a variable.
    token_file: Option<&'a Path>,
}

impl Endpoint {
    /// Binds the endpoint for the feed's profile, whose first credentials were `first`.
    async fn start(
        ctx: &Context,
        feed: ProfileFeed,
        first: &Handout,
        o: Options<'_>,
    ) -> anyhow::Result<Endpoint> {
        let role_arn = aws_files::load(&ctx.env).ok().and_then(|f| {
            f.profiles
                .profile(&feed.profile)
                .and_then(|s| s.non_empty("role_arn"))
                .map(|v| v.value.clone())
        });
        let id: [u8; 9] = random_bytes().context("cannot read random bytes")?;
        let instance = Instance::new(
            &feed.profile,
            role_arn.as_deref(),
            first.region.as_deref().unwrap_or(DEFAULT_REGION),
            &format!("i-{}", &crate::core::sigv4::hex(&id)[..17]),
            UtcTime::now(),
        );
        let key: [u8; 32] = random_bytes().context("cannot read random bytes")?;
        let (protocol, token) = match o.kind {
            Kind::Imds => (
                Protocol::Imds(Imds {
                    signer: TokenSigner::new(key),
                    instance,
                    allow_v1: o.allow_v1,
                }),
                None,
            ),
            Kind::Container => {
                let token = crate::core::sigv4::hex(&key);
                let passing = match o.token_file {
                    Some(path) => {
                        write_private(path, &token)?;
                        TokenPassing::File(path.to_path_buf())
                    }
                    None => TokenPassing::Value(Secret::new(token.clone())),
                };
                (
                    Protocol::Container(Container::new(&token, instance)),
                    Some(passing),
                )
            }
        };
        let server = Server::bind(o.port, protocol, Arc::new(feed), o.log)
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{}", o.port))?;
        Ok(Endpoint {
            url: server.url(),
            server,
            token,
            kind: o.kind,
            allow_v1: o.allow_v1,
        })
    }

    fn child_env(&self, region: Option<&str>) -> EnvChanges {
        metadata::child_env(
            self.kind,
            &self.url,
            self.token.as_ref(),
            self.allow_v1,
            region,
        )
    }
}

/// Writes a file only this user can read (the token, the env file).
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // An existing file keeps its mode on open: make it private before anything secret goes in.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot make {} private", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `awsenv exec --ecs|--imds`: serves the endpoint while `program` runs as a child with its
/// variables; returns the child's exit status.
pub(crate) fn exec_with_endpoint(
    ctx: &Context,
    feed: ProfileFeed,
    first: Handout,
    kind: Kind,
    allow_v1: bool,
    program: OsString,
    args: Vec<OsString>,
) -> anyhow::Result<ExitCode> {
    require_temporary(&first, &feed.profile)?;
    runtime()?.block_on(async move {
        let options = Options {
            kind,
            allow_v1,
            port: 0,
            log: Log::Failures,
            token_file: None,
        };
        let endpoint = Endpoint::start(ctx, feed, &first, options).await?;
        let changes = endpoint.child_env(first.region.as_deref());
        let mut cmd = std::process::Command::new(&program);
        cmd.args(&args);
        super::exec::apply_env(&mut cmd, &changes);
        // Caught before the child exists, so none of them can kill awsenv and leave the child
        // without its endpoint. exec(2) gives the child the default actions back.
        let mut signals = Signals::new()?;
        let mut child = match tokio::process::Command::from(cmd).spawn() {
            Ok(c) => c,
            Err(e) => return Ok(super::exec::cannot_run(&e, &program)),
        };
        let server = tokio::spawn(endpoint.server.serve());
        let status = loop {
            tokio::select! {
                status = child.wait() => break status.context("cannot wait for the command")?,
                sig = signals.next() => {
                    // The terminal sends Ctrl-C to the whole foreground group, the child included.
                    if sig == SIGINT && terminal_sent_it() {
                        continue;
                    }
                    // `id()` is None once the child is reaped, so a recycled pid is never hit.
                    if let Some(pid) = child.id() {
                        send_signal(pid, sig);
                    }
                }
            }
        };
        server.abort();
        Ok(exit_code(status))
    })
}

/// The child's status as awsenv's: its exit code, or 128 + N when signal N ended it.
fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(c), _) => ExitCode::from(c.clamp(0, 255) as u8),
        (None, Some(s)) => ExitCode::from((128 + s).clamp(0, 255) as u8),
        (None, None) => ExitCode::FAILURE,
    }
}

const SIGHUP: i32 = 1;
const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// SIGINT, SIGTERM and SIGHUP, caught.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        let catch = |k: SignalKind| signal(k).context("cannot catch signals");
        Ok(Signals {
            int: catch(SignalKind::interrupt())?,
            term: catch(SignalKind::terminate())?,
            hup: catch(SignalKind::hangup())?,
        })
    }

    /// The next signal's number.
    async fn next(&mut self) -> i32 {
        tokio::select! {
            _ = self.int.recv() => SIGINT,
            _ = self.term.recv() => SIGTERM,
            _ = self.hup.recv() => SIGHUP,
        }
    }
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
    fn tcgetpgrp(fd: i32) -> i32;
    fn getpgrp() -> i32;
}

fn send_signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) with plain integers; the pid is our own unreaped child.
    unsafe {
        kill(pid as i32, sig);
    }
}

/// Whether awsenv's process group is the foreground group of its terminal, so that a SIGINT most
/// likely came from the terminal's Ctrl-C, which the child (in the same group) got as well.
fn terminal_sent_it() -> bool {
    // SAFETY: tcgetpgrp and getpgrp take and return plain integers.
    unsafe {
        let own = getpgrp();
        (0..3).any(|fd| tcgetpgrp(fd) == own)
    }
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let kind = self.endpoint.kind().expect("clap requires --ecs or --imds");
        let feed = ProfileFeed::new(ctx, &self.profile, self.ensure.as_deref(), self.no_daemon)?;
        let mut want = feed.want;
        want.no_prompt = false;
        let first = setup::credentials(
            ctx,
            &self.profile,
            want,
            self.token_code.clone(),
            self.no_daemon,
        )?;
        if let (Some(ensure), Some(exp)) = (&self.ensure, first.credentials.expiration) {
            let left = UtcTime::now().seconds_until(exp);
            if left < want.min_remaining {
                bail!(
                    "profile {}'s credentials last {} when new, less than --ensure {ensure}",
                    self.profile,
                    human_duration(left)
                );
            }
        }
        require_temporary(&first, &self.profile)?;
        let profile = self.profile.clone();
        runtime()?.block_on(async move {
            let options = Options {
                kind,
                allow_v1: self.endpoint.imds_v1,
                port: self.port.unwrap_or(0),
                log: Log::Requests,
                token_file: self.token_file.as_deref(),
            };
            let endpoint = Endpoint::start(ctx, feed, &first, options).await?;
            let changes = endpoint.child_env(first.region.as_deref());
            let mut signals = Signals::new()?;
            if let Some(path) = &self.env_file {
                write_private(path, &render(&changes, "dotenv"))?;
            }
            super::print_out(&render(&changes, &self.format))?;
            eprintln!(
                "awsenv: serving the credentials of {profile} on the {} {} — stop with Ctrl-C",
                kind.describe(),
                endpoint.url
            );
            let server = tokio::spawn(endpoint.server.serve());
            let sig = signals.next().await;
            server.abort();
            for path in [&self.token_file, &self.env_file].into_iter().flatten() {
                let _ = std::fs::remove_file(path);
            }
            eprintln!("awsenv: stopped serving {profile} (signal {sig})");
            Ok(ExitCode::SUCCESS)
        })
    }
}

/// The variables as shell code or KEY=VALUE lines (`dotenv` cannot unset, so it only sets; its
/// values are URLs, hex tokens, paths and region names, which need no quoting).
fn render(changes: &EnvChanges, format: &str) -> String {
    let mut out = String::new();
    match format {
        "fish" => {
            for name in &changes.unset {
                out.push_str(&format!("set -e {name};\n"));
            }
            for (name, value) in &changes.set {
                out.push_str(&format!("set -gx {name} {};\n", fish_quote(value)));
            }
        }
        "dotenv" => {
            for (name, value) in &changes.set {
                out.push_str(&format!("{name}={value}\n"));
            }
        }
        _ => {
            for name in &changes.unset {
                out.push_str(&format!("unset -v {name}\n"));
            }
            for (name, value) in &changes.set {
                out.push_str(&format!("export {name}={}\n", sh_quote(value)));
            }
        }
    }
    out
}
