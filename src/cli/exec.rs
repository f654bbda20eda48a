//! `awsenv exec PROFILE [-- COMMAND ARGS…]`: runs a command (by default your shell) with the profile's
//! credentials in its environment, replacing any an earlier export left there.

use std::ffi::OsString;
use std::process::{Command, ExitCode};

use super::export::GetArgs;
use super::{Context, Run};
use crate::core::export::{self, Exported};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  awsenv exec dev -- aws s3 ls\n  awsenv exec dev --ensure 2h -- terraform apply\n  awsenv exec dev            (a shell with the credentials)\n  awsenv exec --ecs dev -- ./long-job    (its SDK refreshes from a local endpoint)"
)]
pub struct Args {
    /// The profile
    #[arg(add = clap_complete::ArgValueCompleter::new(super::completions::profile_names))]
    profile: String,
    #[command(flatten)]
    get: GetArgs,
    #[command(flatten)]
    endpoint: super::serve::EndpointArgs,
    /// The command and its arguments, after `--` (default: $SHELL)
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let (program, args) = match self.command.split_first() {
            Some((p, a)) => (p.clone(), a.to_vec()),
            None => {
                let shell = ctx.env.non_empty("SHELL").unwrap_or("/bin/sh");
                eprintln!(
                    "awsenv: starting {shell} with the credentials of {}; leave it with `exit`",
                    self.profile
                );
                (OsString::from(shell), Vec::new())
            }
        };
        if self.get.dry_run {
            let then = format!("run `{}` with them", program.to_string_lossy());
            let shown = format!("awsenv exec {}", self.profile);
            return self.get.dry_run(ctx, &self.profile, &shown, &then);
        }
        if let Some(kind) = self.endpoint.kind() {
            let feed = super::serve::ProfileFeed::new(
                ctx,
                &self.profile,
                self.get.ensure.as_deref(),
                self.get.no_daemon,
            )?;
            let h = self.get.fetch(ctx, &self.profile)?;
            let v1 = self.endpoint.imds_v1;
            return super::serve::exec_with_endpoint(ctx, feed, h, kind, v1, program, args);
        }
        let h = self.get.fetch(ctx, &self.profile)?;
        let changes = export::env_changes(&Exported {
            credentials: &h.credentials,
            region: h.region.as_deref(),
            profile: &self.profile,
            mfa_expires: h.mfa_expires,
            exported_at: Some(crate::core::time::UtcTime::now()),
        })?;
        let mut cmd = Command::new(&program);
        cmd.args(&args);
        apply_env(&mut cmd, &changes);
        Ok(run(cmd, &program))
    }
}

/// Gives a child process an export's environment: the removals first, then the assignments. Every
/// variable an earlier export may have set is either removed or set again, so nothing stale survives.
pub(super) fn apply_env(cmd: &mut Command, changes: &export::EnvChanges) {
    for name in &changes.unset {
        cmd.env_remove(name);
    }
    for (name, value) in &changes.set {
        cmd.env(name, value);
    }
}

/// Replaces this process with the command (its exit status is then the command's own); the shells'
/// 127 and 126 when it cannot be started.
#[cfg(unix)]
fn run(mut cmd: Command, program: &std::ffi::OsStr) -> ExitCode {
    use std::os::unix::process::CommandExt as _;
    let e = cmd.exec();
    cannot_run(&e, program)
}

#[cfg(not(unix))]
fn run(mut cmd: Command, program: &std::ffi::OsStr) -> ExitCode {
    match cmd.status() {
        Ok(s) => ExitCode::from(s.code().unwrap_or(1).clamp(0, 255) as u8),
        Err(e) => cannot_run(&e, program),
    }
}

pub(super) fn cannot_run(e: &std::io::Error, program: &std::ffi::OsStr) -> ExitCode {
    let shown = program.to_string_lossy();
    if e.kind() == std::io::ErrorKind::NotFound {
        eprintln!("awsenv: cannot run `{shown}`: no such command (is it in $PATH?)");
        ExitCode::from(127)
    } else {
        eprintln!("awsenv: cannot run `{shown}`: {e}");
        ExitCode::from(126)
    }
}
