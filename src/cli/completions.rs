//! `awsenv completions SHELL`: the shell's completion registration, generated from the clap
//! definitions by `clap_complete`. The registration is a small function that calls
//! `COMPLETE=SHELL awsenv -- WORDS…` on every Tab, so completions always match the installed binary and
//! profile names come from the AWS config files as they are at that moment ([`profile_names`]).
//! `main` answers those calls first ([`command`] is the clap command it completes against).

use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory as _;
use clap_complete::engine::{CompletionCandidate, SubcommandCandidates};
use clap_complete::env::Shells;

use super::{Cli, Context, Run};
use crate::core::env::Env;
use crate::edge::aws_files;

/// The variable that turns a run of `awsenv` into a completion request (clap_complete's default).
const COMPLETE_VAR: &str = "COMPLETE";

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Install (the script calls awsenv on each Tab, so it never goes stale):\n  \
    bash:       echo 'source <(awsenv completions bash)' >> ~/.bashrc\n  \
    zsh:        echo 'source <(awsenv completions zsh)' >> ~/.zshrc   (after compinit)\n  \
    fish:       echo 'awsenv completions fish | source' > ~/.config/fish/completions/awsenv.fish\n  \
    elvish:     echo 'eval (awsenv completions elvish | slurp)' >> ~/.config/elvish/rc.elv\n  \
    powershell: awsenv completions powershell | Out-String | Invoke-Expression   (in $PROFILE)"
)]
pub struct Args {
    /// The shell to print the completion script for
    shell: Shell,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

impl Shell {
    /// clap_complete's name for the shell.
    fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Elvish => "elvish",
            Shell::Powershell => "powershell",
        }
    }
}

impl Run for Args {
    fn run(self, _ctx: &Context) -> anyhow::Result<ExitCode> {
        let shells = Shells::builtins();
        let shell = shells
            .completer(self.shell.name())
            .ok_or_else(|| anyhow::anyhow!("clap_complete has no `{}`", self.shell.name()))?;
        let mut script = Vec::new();
        // The same script `COMPLETE=SHELL awsenv` prints: it calls this binary by the name it was
        // started with (made absolute when it is a relative path such as `./target/debug/awsenv`).
        shell.write_registration(
            COMPLETE_VAR,
            Cli::command().get_name(),
            Cli::command().get_name(),
            &completer_path(),
            &mut script,
        )?;
        let mut out = std::io::stdout().lock();
        out.write_all(&script)?;
        out.flush()?;
        Ok(ExitCode::SUCCESS)
    }
}

/// How the registration script calls awsenv back: `argv[0]`, as `CompleteEnv` does.
fn completer_path() -> String {
    let argv0 = std::env::args_os()
        .next()
        .unwrap_or_else(|| OsString::from("awsenv"));
    let mut path = PathBuf::from(argv0);
    if path.components().count() > 1 {
        if let Ok(dir) = std::env::current_dir() {
            path = dir.join(path);
        }
    }
    path.to_string_lossy().into_owned()
}

/// The command completions are computed against: [`Cli`], plus profile names as candidates for the
/// first word, since `awsenv PROFILE` is short for `awsenv export PROFILE`.
pub(crate) fn command() -> clap::Command {
    Cli::command().add(SubcommandCandidates::new(shorthand_profiles))
}

/// Profiles for `awsenv PROFILE`: those not named like a subcommand (which wins over the shorthand).
fn shorthand_profiles() -> Vec<CompletionCandidate> {
    let cli = Cli::command();
    profiles()
        .into_iter()
        .filter(|name| cli.find_subcommand(name).is_none())
        .map(CompletionCandidate::new)
        .collect()
}

/// Completes a profile argument: the profile names of the AWS config and credentials files that
/// start with what is typed. Tab must stay quiet: when the files cannot be read it offers nothing and
/// prints nothing. The keychain is not asked (it may need D-Bus or an unlock prompt), so profiles
/// whose only trace is their keys in the keychain are not offered.
pub(crate) fn profile_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    profiles()
        .into_iter()
        .filter(|name| name.starts_with(current))
        .map(CompletionCandidate::new)
        .collect()
}

/// Every profile name of the shared files, sorted; none when they cannot be read.
fn profiles() -> Vec<String> {
    match aws_files::load(&Env::from_process()) {
        Ok(loaded) => loaded.profiles.profiles.into_keys().collect(),
        Err(_) => Vec::new(),
    }
}
