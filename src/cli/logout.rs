//! `awsenv logout [PROFILE | --all]`: forgets cached sessions (never long-term keys).

use std::process::ExitCode;

use anyhow::bail;

use super::{setup, Context, Run};
use crate::core::session_key::step_keys;
use crate::engine::Vault;
use crate::thin::json::Json;
use crate::thin::wire;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The profile whose sessions to forget
    #[arg(add = clap_complete::ArgValueCompleter::new(super::completions::profile_names))]
    profile: Option<String>,
    /// Forget every cached session
    #[arg(long, conflicts_with = "profile")]
    all: bool,
    /// Run in this process instead of through the awsenv daemon
    #[arg(long)]
    no_daemon: bool,
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        if self.profile.is_none() && !self.all {
            bail!("name a profile, or --all to forget every session");
        }
        let deleted = if self.no_daemon {
            let local = setup::Local::open(ctx)?;
            match &self.profile {
                None => local.vault.delete_all_sessions()?,
                Some(p) => {
                    let plan = local.plan(ctx, p)?;
                    let mut n = 0;
                    for key in step_keys(&plan) {
                        if local.vault.session(&key)?.is_some() {
                            n += 1;
                        }
                        local.vault.delete_session(&key)?;
                    }
                    n
                }
            }
        } else {
            let get = |k: &str| ctx.env.get(k).map(str::to_string);
            let mut fields = vec![
                ("op", wire::s("logout")),
                ("env", wire::forwarded_env(&get)),
            ];
            match &self.profile {
                Some(p) => fields.push(("profile", wire::s(p))),
                None => fields.push(("all", Json::Bool(true))),
            }
            let reply = setup::ask_daemon(ctx, &wire::message(fields))?;
            reply.get("deleted").and_then(Json::as_i64).unwrap_or(0) as usize
        };
        let what = match &self.profile {
            Some(p) => format!("profile {p}"),
            None => "all profiles".into(),
        };
        eprintln!("awsenv: forgot {deleted} cached session(s) of {what}");
        // Hooked shells drop the variables of what was logged out at their next prompt.
        if let Err(e) = super::hook::record_logout(ctx, self.profile.as_deref()) {
            eprintln!("awsenv: warning: shells using these credentials are not told: {e:#}");
        }
        Ok(ExitCode::SUCCESS)
    }
}
