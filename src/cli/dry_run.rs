//! `--dry-run` of `login`, `export`, `exec` and `credential-process`: the plan (as `awsenv explain`
//! prints it), what the cache holds for each step and for how long, and what the real run would do —
//! which STS calls, with which MFA device and durations. It reads the AWS files and the keychain
//! (which the daemon writes through to, so its cache is the same) and calls, runs and asks nothing.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::{explain, print_out, setup, Context};
use crate::core::endpoint;
use crate::core::plan::{self, Source, Step};
use crate::core::time::{human_duration, UtcTime};
use crate::engine::{self, VaultKeys, Want};

/// Prints the dry run of `command` (e.g. `awsenv login dev`) for `profile`; `then` says what the real
/// run does with the credentials at the end.
pub fn print(
    ctx: &Context,
    profile: &str,
    want: Want,
    command: &str,
    then: &str,
) -> anyhow::Result<ExitCode> {
    let local = setup::Local::open(ctx)?;
    let plan = local.plan(ctx, profile)?;
    let keys = VaultKeys(&local.vault);
    let kind = plan::kind_of(
        &plan::Inputs {
            profiles: &local.files.profiles,
            env: &ctx.env,
            keys: &keys,
        },
        profile,
    );
    let now = UtcTime::now();
    let f = engine::forecast(&local.files.profiles, &plan, &local.vault, want, now)?;
    let target = local.files.profiles.profile(&plan.profile);
    let sts = endpoint::resolve(&ctx.env, &local.files.profiles, target, &plan.region.value);

    let mut out = String::new();
    writeln!(
        out,
        "Dry run of `{command}`: nothing below is called, run or asked for.\n"
    )?;
    out.push_str(&explain::render(&plan, kind.describe()));
    writeln!(out, "\nCache (in the {}):", local.vault.selection.backend)?;
    if plan.steps.is_empty() {
        writeln!(
            out,
            "- nothing to cache: the credentials of step 1 are used as they are"
        )?;
    }
    for (i, step) in plan.steps.iter().enumerate() {
        let what = match step {
            Step::GetSessionToken(_) => "the MFA session (GetSessionToken)".to_string(),
            Step::AssumeRole(r) => format!("role credentials of `{}` (AssumeRole)", r.profile),
        };
        let state = match f.cached[i] {
            Some(left) if left > 0 => format!(
                "cached, {} left{}",
                human_duration(left),
                if left > f.needed[i] {
                    String::new()
                } else {
                    format!(
                        " — too little: this run needs more than {}",
                        human_duration(f.needed[i])
                    )
                }
            ),
            Some(_) => "cached but expired".into(),
            None => "not cached".into(),
        };
        writeln!(out, "- step {}, {what}: {state}", i + 2)?;
    }

    writeln!(out, "\nThe real run would:")?;
    let mut n = 0;
    let mut item = |out: &mut String, text: String| {
        n += 1;
        let _ = writeln!(out, "{n}. {text}");
    };
    if f.reads_base {
        let text = match &plan.source {
            Source::Keychain { profile } => {
                format!("read the long-term keys of `{profile}` from the keychain")
            }
            Source::FileKeys { profile, .. } => {
                format!("read the keys of `{profile}` from the shared files")
            }
            Source::Process { command, .. } => {
                format!("run the credential_process `{}`", command.value)
            }
            Source::CredentialSource { source, .. } => {
                format!("take the credentials of {}", source.value.describe())
            }
        };
        item(&mut out, text);
    } else if let Some(i) = f.start.checked_sub(1) {
        item(
            &mut out,
            format!(
                "start from the cached credentials of step {} ({} left)",
                i + 2,
                human_duration(f.cached[i].unwrap_or(0))
            ),
        );
    }
    for &i in &f.calls {
        if let Some((_, device, process)) = f.mfa.iter().find(|(s, _, _)| *s == i) {
            item(
                &mut out,
                match process {
                    Some(p) => format!("get the code of MFA device {device} from mfa_process `{p}`"),
                    None => format!(
                        "ask for the code of MFA device {device} (on the terminal, or through a desktop dialog without one)"
                    ),
                },
            );
        }
        let text = match &plan.steps[i] {
            Step::GetSessionToken(g) => format!(
                "call STS GetSessionToken at {} with MFA device {} for {}, and cache the MFA session",
                sts.url,
                g.mfa_serial.value,
                human_duration(g.duration_seconds.value as i64)
            ),
            Step::AssumeRole(r) => format!(
                "call STS AssumeRole at {} for {} (session name {}) for {}{}, and cache the role credentials",
                sts.url,
                r.role_arn.value,
                r.role_session_name.value,
                human_duration(r.duration_seconds.value as i64),
                if r.mfa_from_session {
                    ", covered by the MFA session"
                } else {
                    ""
                }
            ),
        };
        item(&mut out, text);
    }
    if f.calls.is_empty() && !plan.steps.is_empty() && !f.reads_base {
        // Everything needed is cached.
    } else if f.calls.is_empty() && want.mfa_session_only && plan.session_step().is_none() {
        item(
            &mut out,
            "find no MFA session to log in to (the profile has no mfa_serial on a profile with long-term keys)".into(),
        );
    }
    item(&mut out, then.to_string());
    let calls: Vec<&str> = f
        .calls
        .iter()
        .map(|&i| match plan.steps[i] {
            Step::GetSessionToken(_) => "GetSessionToken",
            Step::AssumeRole(_) => "AssumeRole",
        })
        .collect();
    writeln!(
        out,
        "\nSTS calls: {}",
        if calls.is_empty() {
            "none".to_string()
        } else {
            calls.join(", ")
        }
    )?;
    writeln!(
        out,
        "MFA prompts: {}",
        if f.mfa.is_empty() {
            "none".to_string()
        } else {
            f.mfa.len().to_string()
        }
    )?;
    print_out(&out)?;
    Ok(ExitCode::SUCCESS)
}
