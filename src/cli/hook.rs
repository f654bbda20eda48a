//! `awsenv hook SHELL`: prints the shell integration (`shell/awsenv.*`, embedded) with this
//! installation's paths filled in. Also what `awsenv logout` leaves for the hooks to see.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::{print_out, setup, Context, Run};
use crate::core::export::{fish_quote, sh_quote, ALWAYS_UNSET, UNSET_ON_CLEAR};
use crate::core::time::UtcTime;
use crate::engine::{HANDOUT_MARGIN, REFRESH_WINDOW};

const BASH: &str = include_str!("../../shell/awsenv.bash");
const ZSH: &str = include_str!("../../shell/awsenv.zsh");
const FISH: &str = include_str!("../../shell/awsenv.fish");
const ELVISH: &str = include_str!("../../shell/awsenv.elv");

/// The shells with a hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Add to your shell's startup file:\n  bash  ~/.bashrc                  eval \"$(awsenv hook bash)\"\n  zsh   ~/.zshrc                   eval \"$(awsenv hook zsh)\"\n  fish  ~/.config/fish/config.fish  awsenv hook fish | source"
)]
pub struct Args {
    /// The shell
    shell: Shell,
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let exe = std::env::current_exe().context("cannot find the awsenv program")?;
        let exe = exe
            .to_str()
            .context("the path of the awsenv program is not UTF-8")?;
        let marker = logout_marker(ctx);
        let marker = marker
            .to_str()
            .context("the path of awsenv's runtime folder is not UTF-8")?;
        print_out(&render(self.shell, exe, marker))?;
        Ok(ExitCode::SUCCESS)
    }
}

/// The hook script for `shell`, with the program and marker paths quoted for that shell.
pub fn render(shell: Shell, exe: &str, marker: &str) -> String {
    let (template, quote): (&str, fn(&str) -> String) = match shell {
        Shell::Bash => (BASH, sh_quote),
        Shell::Zsh => (ZSH, sh_quote),
        Shell::Fish => (FISH, fish_quote),
        Shell::Elvish => (ELVISH, elvish_quote),
    };
    template
        .replace("__AWSENV_BIN__", &quote(exe))
        .replace("__AWSENV_LOGOUT_FILE__", &quote(marker))
        .replace(
            "__AWSENV_WINDOW__",
            &(REFRESH_WINDOW + HANDOUT_MARGIN).to_string(),
        )
        .replace("__AWSENV_VARS__", &UNSET_ON_CLEAR.join(" "))
        .replace("__AWSENV_ALWAYS_UNSET__", &ALWAYS_UNSET.join(" "))
}

/// Elvish single quotes: nothing is special inside but the quote, written twice.
fn elvish_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// The file `awsenv logout` writes ("UNIX-TIME PROFILE" or "UNIX-TIME *") and every hooked shell
/// reads at its prompt (a read, no process): beside the daemon's socket.
pub fn logout_marker(ctx: &Context) -> PathBuf {
    let socket = setup::socket_path(ctx);
    socket
        .parent()
        .map(|d| d.join("logout"))
        .unwrap_or_else(|| PathBuf::from("logout"))
}

/// Records a logout (of `profile`, or of all when `None`) for the hooked shells, atomically.
pub fn record_logout(ctx: &Context, profile: Option<&str>) -> anyhow::Result<()> {
    let marker = logout_marker(ctx);
    let dir = marker.parent().context("no folder for the logout marker")?;
    crate::daemon::runtime_dir::prepare(dir, crate::thin::paths::current_uid())?;
    let tmp = dir.join(format!(".logout.{}", std::process::id()));
    let line = format!("{} {}\n", UtcTime::now().0, profile.unwrap_or("*"));
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(line.as_bytes())?;
    drop(f);
    std::fs::rename(&tmp, &marker).with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(())
}

/// `awsenv use` / `awsenv unuse` reached as a program: they are shell functions of the hook.
#[derive(Debug, clap::Args)]
pub struct UseArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

impl Run for UseArgs {
    fn run(self, _ctx: &Context) -> anyhow::Result<ExitCode> {
        anyhow::bail!("`awsenv use` and `awsenv unuse` are shell functions: add `eval \"$(awsenv hook bash)\"` (or zsh; fish: `awsenv hook fish | source`) to your shell's startup file, or run `eval \"$(awsenv export PROFILE)\"` instead")
    }
}
