//! `awsenv explain PROFILE`: the plan as numbered steps, each value with where it came from.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::json;

use super::{print_out, setup, Context, Run};
use crate::core::plan::{self, Inputs, Plan, Source, Step};
use crate::core::time::human_duration;
use crate::edge::aws_files;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The profile (default: $AWS_PROFILE, then $AWS_DEFAULT_PROFILE, then `default`)
    #[arg(add = clap_complete::ArgValueCompleter::new(super::completions::profile_names))]
    profile: Option<String>,
    /// Print the plan as JSON
    #[arg(long)]
    json: bool,
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let loaded = aws_files::load(&ctx.env)?;
        let profile = self
            .profile
            .unwrap_or_else(|| loaded.locations.profile.clone());
        let keys = setup::key_index(ctx);
        let inputs = Inputs {
            profiles: &loaded.profiles,
            env: &ctx.env,
            keys: keys.as_ref(),
        };
        let plan = plan::resolve(&inputs, &profile)?;
        let kind = plan::kind_of(&inputs, &profile);
        if self.json {
            let doc = json!({"profile": profile, "kind": kind, "plan": plan});
            print_out(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
        } else {
            print_out(&render(&plan, kind.describe()))?;
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// `AKIA…WXYZ`: enough to recognise a key id without spreading it.
fn mask(akid: &str) -> String {
    if akid.len() <= 8 {
        return "…".to_string();
    }
    format!("{}…{}", &akid[..4], &akid[akid.len() - 4..])
}

/// The plan as text, one numbered step per action.
pub fn render(plan: &Plan, kind: &str) -> String {
    let mut out = String::new();
    let mut n = 0;
    let step = |out: &mut String, n: &mut usize, text: String| {
        *n += 1;
        let _ = writeln!(out, "{n}. {text}");
    };
    let _ = writeln!(
        out,
        "Profile `{}` ({kind}), region {} ({})",
        plan.profile, plan.region.value, plan.region.from
    );
    let _ = writeln!(out);
    let source = match &plan.source {
        Source::Keychain { profile } => {
            format!("Take the long-term keys of profile `{profile}` from the OS keychain")
        }
        Source::FileKeys {
            profile,
            access_key_id,
            temporary,
        } => format!(
            "Take the {} keys of profile `{profile}` from the shared files ({} at {})",
            if *temporary { "temporary" } else { "long-term" },
            mask(&access_key_id.value),
            access_key_id.from
        ),
        Source::Process { profile, command } => format!(
            "Run profile `{profile}`'s credential_process `{}` ({})",
            command.value, command.from
        ),
        Source::CredentialSource { profile, source } => format!(
            "Take the credentials of {} (credential_source of profile `{profile}`, {})",
            source.value.describe(),
            source.from
        ),
    };
    step(&mut out, &mut n, source);
    let mut session_step = None;
    for s in &plan.steps {
        match s {
            Step::GetSessionToken(g) => {
                step(
                    &mut out,
                    &mut n,
                    format!(
                        "GetSessionToken with MFA device {} ({}) for {} ({}); this MFA session is cached and the steps below reuse it without another code",
                        g.mfa_serial.value,
                        g.mfa_serial.from,
                        human_duration(g.duration_seconds.value as i64),
                        g.duration_seconds.from
                    ),
                );
                session_step = Some(n);
            }
            Step::AssumeRole(r) => {
                let mut text = format!(
                    "AssumeRole {} ({}) for profile `{}`\n   session name {} ({})\n   duration {} ({}){}",
                    r.role_arn.value,
                    r.role_arn.from,
                    r.profile,
                    r.role_session_name.value,
                    r.role_session_name.from,
                    human_duration(r.duration_seconds.value as i64),
                    r.duration_seconds.from,
                    if r.chained {
                        "; role chaining: STS caps it at 1 hour"
                    } else {
                        ""
                    }
                );
                if let Some(e) = &r.external_id {
                    let _ = write!(text, "\n   external id from {}", e.from);
                }
                if let Some(m) = &r.mfa_serial {
                    let _ = write!(
                        text,
                        "\n   MFA device {} ({}): asks for a code on this call",
                        m.value, m.from
                    );
                } else if r.mfa_from_session {
                    let _ = write!(
                        text,
                        "\n   MFA: covered by the MFA session of step {}",
                        session_step.unwrap_or(0)
                    );
                }
                step(&mut out, &mut n, text);
            }
        }
    }
    if plan.steps.is_empty() {
        let _ = writeln!(
            out,
            "   (no STS call: these credentials are used as they are)"
        );
    }
    if !plan.notes.is_empty() {
        let _ = writeln!(out, "\nNotes:");
        for note in &plan.notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    out
}
