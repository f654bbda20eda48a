//! `awsenv hook` (being written).

use std::process::ExitCode;

use super::{Context, Run};

#[derive(Debug, clap::Args)]
pub struct Args {}

impl Run for Args {
    fn run(self, _ctx: &Context) -> anyhow::Result<ExitCode> {
        anyhow::bail!("`awsenv hook` is not written yet")
    }
}

/// `awsenv use` / `awsenv unuse` reached as a program: they are shell functions of the hook.
#[derive(Debug, clap::Args)]
pub struct UseArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

impl Run for UseArgs {
    fn run(self, _ctx: &Context) -> anyhow::Result<ExitCode> {
        anyhow::bail!("`awsenv use` and `awsenv unuse` are shell functions: add `eval \"$(awsenv hook bash)\"` (or zsh, fish, elvish) to your shell's rc file, or run `eval \"$(awsenv export PROFILE)\"` instead")
    }
}
