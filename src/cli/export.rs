//! `awsenv export [PROFILE]` (and the shorthand `awsenv PROFILE`): a profile's credentials as text to
//! evaluate — `eval "$(awsenv dev)"` — or to read (`--format json|process|dotenv`).

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::builder::PossibleValuesParser;
use clap::builder::TypedValueParser as _;

use super::{print_out, setup, Context, Run};
use crate::core::export::{self, Exported, Format};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The profile (default: $AWS_PROFILE, then the profile exported last ($AWSENV_PROFILE), then
    /// `default`)
    #[arg(add = clap_complete::ArgValueCompleter::new(super::completions::profile_names))]
    pub(crate) profile: Option<String>,
    /// The output: shell code (env, env-no-export, fish, powershell, windows-cmd, nu), a JSON object
    /// of the variables, the credential_process document, or a .env file
    #[arg(
        long,
        short = 'f',
        default_value = "env",
        value_parser = PossibleValuesParser::new(Format::ALL.map(Format::name))
            .map(|s| s.parse::<Format>().expect("a listed format")),
    )]
    pub(crate) format: Format,
    /// Print only what removes the variables an export sets
    #[arg(long, conflicts_with_all = ["ensure", "token_code"])]
    pub(crate) unset: bool,
    #[command(flatten)]
    pub(crate) get: GetArgs,
}

/// How credentials are obtained, shared by `export` and `exec`.
#[derive(Debug, Clone, clap::Args)]
pub struct GetArgs {
    /// The credentials must have at least this long left (e.g. 50m, 2h); refreshed first otherwise
    #[arg(long, value_name = "DURATION")]
    pub(crate) ensure: Option<String>,
    /// The MFA code, instead of a prompt, if one is needed (six digits; a code works once)
    #[arg(long, value_name = "CODE")]
    pub(crate) token_code: Option<String>,
    /// Run in this process instead of through the awsenv daemon
    #[arg(long)]
    pub(crate) no_daemon: bool,
    /// Never ask for an MFA code: when one is needed, fail with exit status 4 (for scripts and the
    /// shell hook)
    #[arg(long, conflicts_with = "token_code")]
    pub(crate) no_prompt: bool,
    /// Print what would be done — the plan, what is cached, which STS calls and MFA prompts — and do
    /// nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

impl GetArgs {
    /// `--dry-run`: prints what fetching the credentials would do (`command` is the command line
    /// shown, `then` what it does with them) instead of doing it.
    pub(crate) fn dry_run(
        &self,
        ctx: &Context,
        profile: &str,
        command: &str,
        then: &str,
    ) -> anyhow::Result<ExitCode> {
        let mut want = setup::want_with_ensure(self.ensure.as_deref())?;
        want.no_prompt = self.no_prompt;
        super::dry_run::print(ctx, profile, want, command, then)
    }

    /// The profile's credentials, ready to export, with `--ensure` kept.
    pub(crate) fn fetch(self, ctx: &Context, profile: &str) -> anyhow::Result<setup::Handout> {
        let mut want = setup::want_with_ensure(self.ensure.as_deref())?;
        want.no_prompt = self.no_prompt;
        let handout = setup::credentials(ctx, profile, want, self.token_code, self.no_daemon)?;
        if let (Some(ensure), Some(exp)) = (&self.ensure, handout.credentials.expiration) {
            let left = crate::core::time::UtcTime::now().seconds_until(exp);
            if left < want.min_remaining {
                anyhow::bail!(
                    "profile {profile}'s credentials last {} when new, less than --ensure {ensure}: raise the role's duration_seconds (roles reached through another role get at most 1h), or ask for less",
                    crate::core::time::human_duration(left)
                );
            }
        }
        Ok(handout)
    }
}

/// The profile to export when none is named: `$AWS_PROFILE`, then the one exported last, then
/// `default`.
pub(crate) fn chosen_profile(ctx: &Context, profile: Option<String>) -> String {
    profile
        .or_else(|| ctx.env.non_empty("AWS_PROFILE").map(str::to_string))
        .or_else(|| ctx.env.non_empty("AWS_DEFAULT_PROFILE").map(str::to_string))
        .or_else(|| ctx.env.non_empty("AWSENV_PROFILE").map(str::to_string))
        .unwrap_or_else(|| "default".to_string())
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        if self.unset {
            print_out(&export::render_unset(self.format)?)?;
            return Ok(ExitCode::SUCCESS);
        }
        let profile = chosen_profile(ctx, self.profile);
        if self.get.dry_run {
            return self.get.dry_run(
                ctx,
                &profile,
                &format!("awsenv export {profile}"),
                &format!("print the variables as `{}`", self.format.name()),
            );
        }
        let h = self.get.fetch(ctx, &profile)?;
        let text = export::render(
            &Exported {
                credentials: &h.credentials,
                region: h.region.as_deref(),
                profile: &profile,
                mfa_expires: h.mfa_expires,
                exported_at: Some(crate::core::time::UtcTime::now()),
            },
            self.format,
        )?;
        if self.format.can_unset() && std::io::stdout().is_terminal() {
            eprintln!(
                "awsenv: these lines change nothing until your shell runs them: eval \"$(awsenv export {profile})\" (fish: awsenv export {profile} --format fish | source)"
            );
        }
        print_out(&text)?;
        Ok(ExitCode::SUCCESS)
    }
}
