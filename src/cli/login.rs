//! `awsenv login [PROFILE]`: makes sure the profile's MFA session exists, asking for a code if not.

use std::process::ExitCode;

use super::{setup, Context, Run};
use crate::core::time::{human_duration, UtcTime};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The profile (default: $AWS_PROFILE, then `default`)
    #[arg(add = clap_complete::ArgValueCompleter::new(super::completions::profile_names))]
    profile: Option<String>,
    /// The MFA code, instead of a prompt (six digits; a code works once)
    #[arg(long, value_name = "CODE")]
    token_code: Option<String>,
    /// Start a new MFA session even if one is cached
    #[arg(long)]
    force: bool,
    /// Run in this process instead of through the awsenv daemon
    #[arg(long)]
    no_daemon: bool,
    /// Print what would be done — the plan, what is cached, which STS calls and MFA prompts — and do
    /// nothing
    #[arg(long, conflicts_with = "token_code")]
    dry_run: bool,
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let profile = super::profile_or_default(ctx, self.profile);
        if self.dry_run {
            let want = crate::engine::Want {
                mfa_session_only: true,
                force_mfa: self.force,
                ..crate::engine::Want::default()
            };
            return super::dry_run::print(
                ctx,
                &profile,
                want,
                &format!("awsenv login {profile}"),
                "report how long the MFA session lasts",
            );
        }
        let h = setup::login(ctx, &profile, self.force, self.token_code, self.no_daemon)?;
        let now = UtcTime::now();
        match h.mfa_expires.or(h.credentials.expiration) {
            Some(end) => eprintln!(
                "awsenv: {} session for {profile} valid until {} ({} left)",
                if h.mfa_expires.is_some() { "MFA" } else { "the" },
                end.rfc3339(),
                human_duration(now.seconds_until(end))
            ),
            None => eprintln!(
                "awsenv: profile {profile} uses long-term keys without MFA; there is no session to log in to"
            ),
        }
        Ok(ExitCode::SUCCESS)
    }
}
