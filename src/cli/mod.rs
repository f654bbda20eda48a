//! The `awsenv` command line: clap definitions and dispatch. Each subcommand lives in its own file
//! with its own args struct and a `run`.

mod add;
mod completions;
mod console;
mod credential_process;
mod curl;
mod daemon;
mod decode;
mod direct;
mod doctor;
mod dry_run;
mod exec;
mod explain;
mod export;
mod hook;
mod list;
mod login;
mod logout;
mod man;
mod presign;
mod profiles;
mod prompt;
mod remove;
mod serve;
mod service;
mod setup;
mod whoami;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::core::env::Env;

/// awsenv: one MFA prompt a day, AWS credentials for every shell and SDK.
#[derive(Debug, Parser)]
#[command(
    name = "awsenv",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = "`awsenv PROFILE [OPTIONS]` is short for `awsenv export PROFILE [OPTIONS]`: eval \"$(awsenv dev)\""
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every profile of ~/.aws/config and ~/.aws/credentials with its kind
    Profiles(profiles::Args),
    /// Show, step by step, how awsenv will get a profile's credentials, and why
    Explain(explain::Args),
    /// Which credentials the AWS CLI and each SDK would use here, and what is wrong with the setup
    Doctor(doctor::Args),
    /// Ask STS who the credentials belong to (GetCallerIdentity)
    Whoami(whoami::Args),
    /// Decode an "encoded authorization failure message" (STS DecodeAuthorizationMessage)
    Decode(decode::Args),
    /// Sign in to the AWS console with a profile's credentials (opens the browser, or --print)
    Console(console::Args),
    /// Send an HTTP request signed with a profile's credentials (SigV4), with curl-like options
    Curl(curl::Args),
    /// Print a presigned (query-signed) URL made with a profile's credentials
    Presign(presign::Args),
    /// Make sure a profile's MFA session exists, asking for a code if needed
    Login(login::Args),
    /// Forget cached sessions (never long-term keys)
    Logout(logout::Args),
    /// Print a profile's credentials as shell code to eval, or as JSON or .env
    Export(export::Args),
    /// Run a command (default: your shell) with a profile's credentials
    Exec(exec::Args),
    /// Print a profile's credentials as credential_process JSON
    CredentialProcess(credential_process::Args),
    /// Serve a profile's credentials on a local container-credentials or IMDSv2 endpoint
    Serve(serve::Args),
    /// Store a profile's long-term keys in the OS keychain
    Add(add::Args),
    /// Delete a profile's long-term keys from the keychain
    Remove(remove::Args),
    /// Show what the keychain holds: keys and sessions, with their time left
    List(list::Args),
    /// Run, start, stop or query the per-user daemon
    Daemon(daemon::Args),
    /// Print the shell integration to evaluate in your shell's rc file: eval "$(awsenv hook bash)"
    Hook(hook::Args),
    /// Print a short prompt segment: the exported profile and the time its credentials have left
    Prompt(prompt::Args),
    /// Print the completion script for a shell
    Completions(completions::Args),
    /// Print the manual page (roff)
    Man(man::Args),
    /// Install, remove or check awsenv as a systemd or launchd user service
    Service(service::Args),
    /// (a shell function of the hook) Export a profile's credentials into this shell
    #[command(hide = true)]
    Use(hook::UseArgs),
    /// (a shell function of the hook) Remove awsenv's credentials from this shell
    #[command(hide = true)]
    Unuse(hook::UseArgs),
    /// `awsenv PROFILE …`: `awsenv export PROFILE …`
    #[command(external_subcommand)]
    Shorthand(Vec<OsString>),
}

/// What every command gets: the environment, read once.
pub struct Context {
    pub env: Env,
}

/// One subcommand: its arguments and how to run it.
pub trait Run {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode>;
}

impl Run for Command {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        match self {
            Command::Profiles(a) => a.run(ctx),
            Command::Explain(a) => a.run(ctx),
            Command::Doctor(a) => a.run(ctx),
            Command::Whoami(a) => a.run(ctx),
            Command::Decode(a) => a.run(ctx),
            Command::Console(a) => a.run(ctx),
            Command::Curl(a) => a.run(ctx),
            Command::Presign(a) => a.run(ctx),
            Command::Login(a) => a.run(ctx),
            Command::Logout(a) => a.run(ctx),
            Command::CredentialProcess(a) => a.run(ctx),
            Command::Daemon(a) => a.run(ctx),
            Command::Add(a) => a.run(ctx),
            Command::Remove(a) => a.run(ctx),
            Command::List(a) => a.run(ctx),
            Command::Export(a) => a.run(ctx),
            Command::Exec(a) => a.run(ctx),
            Command::Serve(a) => a.run(ctx),
            Command::Shorthand(words) => shorthand(ctx, words),
            Command::Hook(a) => a.run(ctx),
            Command::Prompt(a) => a.run(ctx),
            Command::Completions(a) => a.run(ctx),
            Command::Man(a) => a.run(ctx),
            Command::Service(a) => a.run(ctx),
            Command::Use(a) | Command::Unuse(a) => a.run(ctx),
        }
    }
}

/// `awsenv PROFILE [OPTIONS]`, parsed as `awsenv export PROFILE [OPTIONS]`. When it fails and the name
/// looks like a mistyped subcommand, says so.
fn shorthand(ctx: &Context, words: Vec<OsString>) -> anyhow::Result<ExitCode> {
    #[derive(Debug, Parser)]
    #[command(name = "awsenv", no_binary_name = true)]
    struct Shorthand {
        #[command(flatten)]
        args: export::Args,
    }
    let name = words
        .first()
        .map(|w| w.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parsed = Shorthand::try_parse_from(&words).unwrap_or_else(|e| e.exit());
    parsed.args.run(ctx).map_err(|e| {
        use clap::CommandFactory as _;
        let near = Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .find(|c| crate::core::plan::edit_distance(c, &name) <= 2);
        match near {
            Some(c) => e.context(format!(
                "`{name}` is neither a subcommand nor a usable profile (did you mean `awsenv {c}`?)"
            )),
            None => e,
        }
    })
}

/// Entry point of the `awsenv` binary.
pub fn main() -> ExitCode {
    clap_complete::CompleteEnv::with_factory(completions::command).complete();
    let cli = Cli::parse();
    let ctx = Context {
        env: Env::from_process(),
    };
    match cli.command.run(&ctx) {
        Ok(code) => code,
        Err(e) => report(&e),
    }
}

/// Prints an error as one `awsenv: …` line (with its causes) and picks the exit code; a closed stdout
/// (`awsenv profiles | head`) exits quietly.
fn report(e: &anyhow::Error) -> ExitCode {
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        if io.kind() == std::io::ErrorKind::BrokenPipe {
            return ExitCode::SUCCESS;
        }
    }
    let _ = writeln!(std::io::stderr(), "awsenv: {e:#}");
    if mfa_needed(e) {
        return ExitCode::from(EXIT_MFA_NEEDED);
    }
    ExitCode::FAILURE
}

/// Exit status when an MFA code would be needed but prompts were turned off (`--no-prompt`): the
/// shell hook tells the user once and removes the variables.
pub(crate) const EXIT_MFA_NEEDED: u8 = 4;

fn mfa_needed(e: &anyhow::Error) -> bool {
    use crate::engine::{mfa::MfaError, EngineError};
    e.chain().any(|c| {
        c.downcast_ref::<setup::MfaNeeded>().is_some()
            || matches!(
                c.downcast_ref::<EngineError>(),
                Some(EngineError::Mfa(MfaError::Needed { .. }))
            )
            || matches!(c.downcast_ref::<MfaError>(), Some(MfaError::Needed { .. }))
    })
}

/// The profile named, or the one the environment selects (`AWS_PROFILE`, `AWS_DEFAULT_PROFILE`,
/// `default`).
pub(crate) fn profile_or_default(ctx: &Context, profile: Option<String>) -> String {
    profile.unwrap_or_else(|| crate::core::location::selected_profile(&ctx.env).0)
}

/// Writes `text` to stdout, returning I/O errors (so a broken pipe is reported, not a panic).
pub(crate) fn print_out(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
