//! `awsenv credential-process PROFILE`: the `credential_process` JSON, from the full binary (the small
//! `awsenv-credential-process` does the same faster).

use std::process::ExitCode;

use super::{print_out, setup, Context, Run};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The profile
    #[arg(add = clap_complete::ArgValueCompleter::new(super::completions::profile_names))]
    profile: String,
    /// Run in this process instead of through the awsenv daemon
    #[arg(long)]
    no_daemon: bool,
    /// Print what would be done — the plan, what is cached, which STS calls and MFA prompts — and do
    /// nothing
    #[arg(long)]
    dry_run: bool,
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        if self.dry_run {
            return super::dry_run::print(
                ctx,
                &self.profile,
                crate::engine::Want::default(),
                &format!("awsenv credential-process {}", self.profile),
                "print the credentials as credential_process JSON",
            );
        }
        let h = setup::credentials(
            ctx,
            &self.profile,
            crate::engine::Want::default(),
            None,
            self.no_daemon,
        )?;
        print_out(&format!("{}\n", h.credentials.process_json()))?;
        Ok(ExitCode::SUCCESS)
    }
}
