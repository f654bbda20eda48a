//! `awsenv profiles`: every profile with its kind and where it is defined.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::json;

use super::{print_out, setup, Context, Run};
use crate::core::plan::{kind_of, Inputs};
use crate::edge::aws_files;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let loaded = aws_files::load(&ctx.env)?;
        let set = &loaded.profiles;
        let keys = setup::key_index(ctx);
        let inputs = Inputs {
            profiles: set,
            env: &ctx.env,
            keys: keys.as_ref(),
        };
        let rows: Vec<_> = set
            .profiles
            .values()
            .map(|p| {
                let kind = kind_of(&inputs, &p.name);
                let at: Vec<String> = p.defined_at.iter().map(|o| o.to_string()).collect();
                (p.name.clone(), kind, at)
            })
            .collect();
        if self.json {
            let list: Vec<_> = rows
                .iter()
                .map(|(name, kind, at)| {
                    json!({"name": name, "kind": kind, "description": kind.describe(), "defined_at": at})
                })
                .collect();
            let warnings: Vec<String> = set.warnings.iter().map(|w| w.to_string()).collect();
            let doc = json!({"profiles": list, "warnings": warnings});
            print_out(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
            return Ok(ExitCode::SUCCESS);
        }
        for w in &set.warnings {
            eprintln!("awsenv: warning: {w}");
        }
        if rows.is_empty() {
            eprintln!(
                "awsenv: no profiles in {} or {} — add one with `aws configure --profile NAME`",
                loaded.locations.config, loaded.locations.credentials
            );
            return Ok(ExitCode::SUCCESS);
        }
        let name_w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(7);
        let kind_w = rows
            .iter()
            .map(|r| r.1.describe().len())
            .max()
            .unwrap_or(0)
            .max(4);
        let mut out = String::new();
        writeln!(out, "{:name_w$}  {:kind_w$}  DEFINED AT", "PROFILE", "KIND")?;
        for (name, kind, at) in &rows {
            writeln!(
                out,
                "{name:name_w$}  {:kind_w$}  {}",
                kind.describe(),
                at.join(", ")
            )?;
        }
        print_out(&out)?;
        Ok(ExitCode::SUCCESS)
    }
}
