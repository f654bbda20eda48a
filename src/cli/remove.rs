//! `awsenv remove PROFILE`: deletes a profile's long-term keys from the keychain.

use std::process::ExitCode;

use anyhow::bail;

use super::{Context, Run};
use crate::engine::keychain_vault::KeychainVault;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The profile whose keys to delete
    #[arg(add = clap_complete::ArgValueCompleter::new(super::completions::profile_names))]
    profile: String,
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let vault = KeychainVault::open(&ctx.env)?;
        if !vault.keychain.delete_keys(&self.profile)? {
            bail!(
                "the {} holds no keys for profile {} (`awsenv list` shows what it holds)",
                vault.selection.backend,
                self.profile
            );
        }
        eprintln!(
            "awsenv: deleted the keys of profile {} from the {}; its cached sessions last until they expire (`awsenv logout {}` forgets them now)",
            self.profile, vault.selection.backend, self.profile
        );
        Ok(ExitCode::SUCCESS)
    }
}
