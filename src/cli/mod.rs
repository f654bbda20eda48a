//! The `awsenv` command line: clap definitions and dispatch. Each subcommand lives in its own file
//! with its own args struct and a `run`.

mod decode;
mod direct;
mod explain;
mod profiles;
mod whoami;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::core::env::Env;

/// awsenv: one MFA prompt a day, AWS credentials for every shell and SDK.
#[derive(Debug, Parser)]
#[command(name = "awsenv", version, about, long_about = None, propagate_version = true)]
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
    /// Ask STS who the credentials belong to (GetCallerIdentity)
    Whoami(whoami::Args),
    /// Decode an "encoded authorization failure message" (STS DecodeAuthorizationMessage)
    Decode(decode::Args),
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
            Command::Whoami(a) => a.run(ctx),
            Command::Decode(a) => a.run(ctx),
        }
    }
}

/// Entry point of the `awsenv` binary.
pub fn main() -> ExitCode {
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
    ExitCode::FAILURE
}

/// Writes `text` to stdout, returning I/O errors (so a broken pipe is reported, not a panic).
pub(crate) fn print_out(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
