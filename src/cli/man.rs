//! `awsenv man` (being written).

use std::process::ExitCode;

use super::{Context, Run};

#[derive(Debug, clap::Args)]
pub struct Args {}

impl Run for Args {
    fn run(self, _ctx: &Context) -> anyhow::Result<ExitCode> {
        anyhow::bail!("`awsenv man` is not written yet")
    }
}
