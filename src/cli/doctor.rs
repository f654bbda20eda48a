//! `awsenv doctor [PROFILE] [--json]`: which credentials every tool would use here, and why — the AWS
//! CLI v1/v2, boto3 and the Rust, Go and JS SDKs ([`crate::core::provider_chain`]) next to awsenv's
//! own plan — and what is wrong with the setup, each with its fix: keys that shadow a profile or a
//! role, `AWS_PROFILE` with keys, plaintext keys, config lines botocore reads differently, MFA profiles
//! without `mfa_serial`, `credential_process` quoting ([`crate::core::diagnosis`]); the keychain, the
//! daemon, the shell hook, and the clock against STS.
//!
//! The clock is compared with the `Date` header of one unsigned POST to the profile's STS endpoint:
//! nothing is signed and no credentials are sent, and STS's error answer carries its time. With
//! `--offline`, or when STS cannot be reached, the check is skipped and doctor says so.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{print_out, setup, Context, Run};
use crate::core::botocore_compat;
use crate::core::config::ProfileSet;
use crate::core::diagnosis::{self, Finding, Level};
use crate::core::endpoint;
use crate::core::location::{self, Chosen};
use crate::core::plan::{self, Plan};
use crate::core::provider_chain::{self, Prediction};
use crate::core::time::{human_duration, UtcTime};
use crate::edge::aws_files;
use crate::engine::keychain_vault::KeychainVault;
use crate::engine::{self, VaultKeys, Want, HANDOUT_MARGIN, REFRESH_WINDOW};
use crate::thin::client::{self, ClientError};
use crate::thin::json::Json;
use crate::thin::wire;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The profile, as if named with `--profile` (default: what the environment selects:
    /// $AWS_PROFILE, $AWS_DEFAULT_PROFILE, `default`)
    #[arg(add = clap_complete::ArgValueCompleter::new(super::completions::profile_names))]
    profile: Option<String>,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
    /// Skip the one network check (the clock against STS)
    #[arg(long)]
    offline: bool,
}

/// A clock off by more than this is reported (STS refuses requests 5 minutes off).
const SKEW_WARNING: i64 = 60;

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let env = &ctx.env;
        let mut findings: Vec<Finding> = Vec::new();
        let locations = location::locate(env, location::Platform::current());
        let (profiles, loaded) = match aws_files::load(env) {
            Ok(l) => (l.profiles.clone(), Some(l)),
            Err(e) => {
                findings.push(Finding::warning(
                    "config_unreadable",
                    format!("awsenv and the Rust, Go and JS SDKs cannot read your AWS files: {e}"),
                    Some("fix the line named, then run `awsenv doctor` again".into()),
                ));
                (ProfileSet::default(), None)
            }
        };
        let (profile, profile_from) = match &self.profile {
            Some(p) => (p.clone(), "named explicitly".to_string()),
            None => {
                let (p, from) = location::selected_profile(env);
                let from = match from {
                    Chosen::Env(v) => format!("${v}"),
                    Chosen::Default => "default".into(),
                };
                (p, from)
            }
        };

        // What every tool would do.
        let config_text = std::fs::read_to_string(&locations.config).ok();
        let boto = config_text.as_deref().map(botocore_compat::botocore_json);
        let on_ec2 = on_ec2();
        let predictions = provider_chain::predict(&provider_chain::Inputs {
            env,
            profiles: &profiles,
            botocore_config: boto.as_ref(),
            explicit_profile: self.profile.as_deref(),
            on_ec2,
        });
        findings.extend(diagnosis::findings(&diagnosis::Inputs {
            env,
            profiles: &profiles,
            config: config_text
                .as_deref()
                .map(|t| (t, locations.config.as_str())),
            predictions: &predictions,
            profile: &profile,
            on_ec2,
        }));
        findings.extend(diagnosis::agreement(&predictions));

        // awsenv's own plan, with what its cache holds.
        let vault = match KeychainVault::open(env) {
            Ok(v) => Some(v),
            Err(e) => {
                findings.push(Finding::warning(
                    "keychain",
                    format!("cannot open the keychain: {e}"),
                    None,
                ));
                None
            }
        };
        let awsenv = awsenv_view(ctx, &profiles, vault.as_ref(), &profile);
        if let Err(e) = &awsenv {
            findings.push(Finding::warning(
                "awsenv_plan",
                format!("awsenv cannot get credentials for `{profile}`: {e}"),
                None,
            ));
        }
        if let Some(v) = &vault {
            findings.push(keychain_finding(v, &profiles, &profile));
        }
        findings.push(daemon_finding(ctx, vault.as_ref()));
        findings.extend(hook_findings(ctx));
        let region = awsenv
            .as_ref()
            .map(|(p, _)| p.region.value.clone())
            .unwrap_or_else(|_| plan::DEFAULT_REGION.to_string());
        findings.push(if self.offline {
            Finding::info(
                "clock",
                "clock not compared with STS (--offline)".to_string(),
            )
        } else {
            clock_finding(ctx, &profiles, &profile, &region)
        });
        let _ = loaded;

        let warnings = findings
            .iter()
            .filter(|f| f.level == Level::Warning)
            .count();
        if self.json {
            let doc = json!({
                "profile": profile,
                "profile_from": profile_from,
                "tools": predictions,
                "awsenv": match &awsenv {
                    Ok((plan, text)) => json!({"plan": plan, "summary": text}),
                    Err(e) => json!({"error": e.to_string()}),
                },
                "findings": findings,
                "warnings": warnings,
            });
            print_out(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
        } else {
            print_out(&render(
                &profile,
                &profile_from,
                &predictions,
                &awsenv,
                &findings,
                warnings,
            ))?;
        }
        Ok(if warnings == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

/// awsenv's plan for the profile in one line, with what is cached.
fn awsenv_view(
    ctx: &Context,
    profiles: &ProfileSet,
    vault: Option<&KeychainVault>,
    profile: &str,
) -> anyhow::Result<(Plan, String)> {
    let none = plan::NoKeys;
    let keys = vault.map(|v| VaultKeys(v));
    let key_index: &dyn plan::KeyIndex = match &keys {
        Some(k) => k,
        None => &none,
    };
    let inputs = plan::Inputs {
        profiles,
        env: &ctx.env,
        keys: key_index,
    };
    let plan = plan::resolve(&inputs, profile)?;
    let kind = plan::kind_of(&inputs, profile);
    let mut text = format!(
        "{} — {}",
        kind.describe(),
        match &plan.source {
            plan::Source::Keychain { profile } => format!("keys of `{profile}` in the keychain"),
            plan::Source::FileKeys { profile, .. } => format!("keys of `{profile}` in the files"),
            plan::Source::Process { command, .. } =>
                format!("credential_process `{}`", command.value),
            plan::Source::CredentialSource { source, .. } => source.value.describe().to_string(),
        }
    );
    for s in &plan.steps {
        match s {
            plan::Step::GetSessionToken(g) => {
                text.push_str(&format!(" → MFA session ({})", g.mfa_serial.value))
            }
            plan::Step::AssumeRole(r) => text.push_str(&format!(" → role {}", r.role_arn.value)),
        }
    }
    if let Some(v) = vault {
        let f = engine::forecast(profiles, &plan, v, Want::default(), UtcTime::now())?;
        text.push_str(&match f.calls.len() {
            0 if !plan.steps.is_empty() => "; cached, no STS call needed".to_string(),
            0 => String::new(),
            n => format!(
                "; {n} STS call{} needed{}",
                if n == 1 { "" } else { "s" },
                if f.mfa.is_empty() {
                    ""
                } else {
                    ", with an MFA code"
                }
            ),
        });
    }
    Ok((plan, text))
}

/// Whether this is an EC2 instance (so that its role is a credential source): the DMI vendor or the
/// Xen hypervisor UUID, as the SDKs' own detection does. Reads two small files, no network.
fn on_ec2() -> bool {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    read("/sys/devices/virtual/dmi/id/sys_vendor").contains("Amazon EC2")
        || read("/sys/devices/virtual/dmi/id/board_vendor").contains("Amazon EC2")
        || read("/sys/hypervisor/uuid").starts_with("ec2")
}

fn keychain_finding(v: &KeychainVault, profiles: &ProfileSet, profile: &str) -> Finding {
    let backend = v.selection.backend;
    if v.selection.persistent {
        return Finding::ok(
            "keychain",
            format!("keychain: {} — entries survive a reboot", v.describe()),
        );
    }
    let mut names: Vec<&str> = profiles.profiles.keys().map(String::as_str).collect();
    if !names.contains(&profile) {
        names.push(profile);
    }
    let stored: Vec<&str> = names
        .into_iter()
        .filter(|n| v.keychain.has_keys(n))
        .collect();
    if stored.is_empty() {
        Finding::info(
            "keychain",
            format!("keychain: {} — sessions there are gone after a reboot, which only costs a new MFA code", v.describe()),
        )
    } else {
        Finding::warning(
            "keychain",
            format!(
                "the long-term keys of {} are in the {backend}, which loses them at reboot ({})",
                stored
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                v.selection.reason
            ),
            Some(format!(
                "unlock a Secret Service (GNOME Keyring, KWallet) in this session and store them there: AWSENV_KEYCHAIN=secret-service awsenv add {}",
                stored[0]
            )),
        )
    }
}

fn daemon_finding(ctx: &Context, vault: Option<&KeychainVault>) -> Finding {
    let socket = setup::socket_path(ctx);
    let get = |k: &str| ctx.env.get(k).map(str::to_string);
    match client::request(
        &socket,
        &wire::message(vec![("op", wire::s("status"))]),
        &get,
    ) {
        Ok(reply) => {
            let s = reply.get("status").cloned().unwrap_or(Json::Null);
            let field = |k: &str| match s.get(k) {
                Some(Json::String(v)) => v.clone(),
                Some(v) => v.to_text(),
                None => "?".into(),
            };
            let theirs = field("keychain");
            let ours = vault.map(|v| v.describe());
            let text = format!(
                "daemon: running (pid {}, awsenv {}, up {}) at {}, {} sessions in memory",
                field("pid"),
                field("version"),
                human_duration(s.get("uptime_seconds").and_then(Json::as_i64).unwrap_or(0)),
                socket.display(),
                field("sessions_in_memory")
            );
            match ours {
                Some(o)
                    if keychain_name(&o) != keychain_name(&theirs) =>
                {
                    Finding::warning(
                        "daemon",
                        format!("{text}, but it opened another keychain than this shell would: {theirs} (this shell: {o})"),
                        Some("restart it with this shell's settings: awsenv daemon stop (it starts again on first use)".into()),
                    )
                }
                _ => Finding::ok("daemon", text),
            }
        }
        Err(ClientError::NotRunning) => Finding::info(
            "daemon",
            format!(
                "daemon: not running at {} — it starts by itself on first use (`awsenv service install` keeps one from login on)",
                socket.display()
            ),
        ),
        Err(e) => Finding::warning(
            "daemon",
            format!("daemon: {e}"),
            Some("awsenv daemon stop, then try again (a new daemon starts on first use)".into()),
        ),
    }
}

/// The backend part of a keychain description ("kernel keyutils (…)" → "kernel keyutils").
fn keychain_name(described: &str) -> &str {
    described.split(" (").next().unwrap_or(described).trim()
}

fn hook_findings(ctx: &Context) -> Vec<Finding> {
    let env = &ctx.env;
    let mut out = Vec::new();
    let now = UtcTime::now();
    match (
        env.non_empty("AWSENV_PROFILE"),
        env.non_empty("AWSENV_EXPIRES")
            .and_then(|e| e.parse::<i64>().ok()),
    ) {
        (Some(p), Some(expires)) => {
            let left = expires - now.0;
            let window = REFRESH_WINDOW + HANDOUT_MARGIN;
            let logged_out = logout_after(ctx, p, env.non_empty("AWSENV_EXPORTED_AT"));
            out.push(if logged_out {
                Finding::info(
                    "shell_exports",
                    format!("this shell has profile `{p}` exported, but `awsenv logout` ran since: a hooked shell drops the variables at its next prompt"),
                )
            } else if left <= 0 {
                Finding::warning(
                    "shell_exports",
                    format!("the credentials of `{p}` exported in this shell expired {} ago", human_duration(-left)),
                    Some(format!("awsenv use {p} (with the hook), or eval \"$(awsenv export {p})\"")),
                )
            } else if left <= window {
                Finding::info(
                    "shell_exports",
                    format!("the credentials of `{p}` exported in this shell have {} left: a hooked shell renews them at its next prompt", human_duration(left)),
                )
            } else {
                Finding::ok(
                    "shell_exports",
                    format!("this shell has profile `{p}` exported, {} left (the hook renews it from {} before the end)", human_duration(left), human_duration(window)),
                )
            });
        }
        (Some(p), None) => out.push(Finding::warning(
            "shell_exports",
            format!("AWSENV_PROFILE={p} is set but AWSENV_EXPIRES is not a Unix time, so the hook cannot tell when to renew"),
            Some(format!("awsenv use {p}")),
        )),
        _ => out.push(Finding::info(
            "shell_exports",
            "no awsenv credentials are exported in this shell (AWSENV_PROFILE is unset)".into(),
        )),
    }
    if let Some((shell, rc)) = rc_file(env) {
        let loaded = std::fs::read_to_string(&rc)
            .map(|t| t.contains("awsenv hook"))
            .unwrap_or(false);
        out.push(if loaded {
            Finding::ok(
                "shell_hook",
                format!("shell hook: {} loads `awsenv hook {shell}`", rc.display()),
            )
        } else {
            let line = match shell {
                "fish" => "awsenv hook fish | source".to_string(),
                "elvish" => "eval (awsenv hook elvish | slurp)".to_string(),
                s => format!("eval \"$(awsenv hook {s})\""),
            };
            Finding::info(
                "shell_hook",
                format!("shell hook: {} does not load it, so exported credentials are not renewed at the prompt — add `{line}`", rc.display()),
            )
        });
    }
    out
}

/// Whether a logout of `profile` (or of all) was recorded after the export.
fn logout_after(ctx: &Context, profile: &str, exported_at: Option<&str>) -> bool {
    let Some(at) = exported_at.and_then(|a| a.parse::<i64>().ok()) else {
        return false;
    };
    let marker = super::hook::logout_marker(ctx);
    let Ok(text) = std::fs::read_to_string(marker) else {
        return false;
    };
    let mut parts = text.split_whitespace();
    let when = parts
        .next()
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or(0);
    let who = parts.next().unwrap_or("");
    when > at && (who == "*" || who == profile)
}

/// The shell (from `$SHELL`) and the startup file its hook line goes in.
fn rc_file(env: &crate::core::env::Env) -> Option<(&'static str, PathBuf)> {
    let shell = env.non_empty("SHELL")?;
    let home = PathBuf::from(env.non_empty("HOME")?);
    let config = env
        .non_empty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".config"));
    let name = Path::new(shell).file_name()?.to_str()?;
    Some(match name {
        "bash" => ("bash", home.join(".bashrc")),
        "zsh" => (
            "zsh",
            env.non_empty("ZDOTDIR")
                .map(PathBuf::from)
                .unwrap_or(home)
                .join(".zshrc"),
        ),
        "fish" => ("fish", config.join("fish/config.fish")),
        "elvish" => ("elvish", config.join("elvish/rc.elv")),
        _ => return None,
    })
}

/// Compares this machine's clock with the `Date` of an unsigned request to STS.
fn clock_finding(ctx: &Context, profiles: &ProfileSet, profile: &str, region: &str) -> Finding {
    let target = profiles.profile(profile);
    let sts = endpoint::resolve(&ctx.env, profiles, target, region);
    let url = format!("{}/", sts.url.trim_end_matches('/'));
    let probe = async {
        let http = reqwest::Client::builder()
            .user_agent(crate::edge::sts_client::USER_AGENT)
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let sent = UtcTime::now();
        let started = Instant::now();
        let response = http
            .post(&url)
            .header("Content-Type", crate::core::sts::CONTENT_TYPE)
            .body("")
            .send()
            .await
            .map_err(|e| transport_reason(&e))?;
        let half_trip = (started.elapsed().as_secs_f64() / 2.0).round() as i64;
        let date = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|d| d.to_str().ok())
            .ok_or_else(|| "its answer has no Date header".to_string())?;
        let server = UtcTime::parse_http_date(date)
            .ok_or_else(|| format!("its Date header `{date}` is not an HTTP date"))?;
        Ok::<i64, String>(sent.plus_seconds(half_trip).seconds_until(server))
    };
    match super::direct::block_on(probe) {
        Ok(Ok(skew)) if skew.abs() < SKEW_WARNING => Finding::ok(
            "clock",
            format!(
                "clock: within {} of STS ({url}, by the Date of an unsigned request)",
                human_duration(skew.abs().max(1))
            ),
        ),
        Ok(Ok(skew)) => Finding::warning(
            "clock",
            format!(
                "clock: this machine's clock is {} {} STS's ({url}){}",
                human_duration(skew.abs()),
                if skew > 0 { "behind" } else { "ahead of" },
                if skew.abs() > 300 {
                    " — more than the 5 minutes STS accepts, so every signed request fails"
                } else {
                    ""
                }
            ),
            Some("set the clock right: timedatectl set-ntp true (or your system's time settings)".into()),
        ),
        Ok(Err(e)) => Finding::info(
            "clock",
            format!("clock: not compared — cannot reach STS at {url} ({e}); `--offline` skips this check"),
        ),
        Err(e) => Finding::info("clock", format!("clock: not compared ({e})")),
    }
}

fn transport_reason(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn render(
    profile: &str,
    profile_from: &str,
    predictions: &[Prediction],
    awsenv: &anyhow::Result<(Plan, String)>,
    findings: &[Finding],
    warnings: usize,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "Profile `{profile}` ({profile_from})\n");
    let _ = writeln!(out, "Where each tool takes its credentials from:");
    let width = predictions
        .iter()
        .map(|p| p.label.len())
        .max()
        .unwrap_or(0)
        .max("awsenv".len());
    for p in predictions {
        let _ = writeln!(out, "  {:width$}  {}", p.label, p.found.describe());
        let selects = if p.profile == profile {
            String::new()
        } else {
            format!("selects profile `{}` ({}); ", p.profile, p.profile_from)
        };
        let _ = writeln!(out, "  {:width$}  why: {selects}{}", "", p.why);
        for n in &p.notes {
            let _ = writeln!(out, "  {:width$}  note: {n}", "");
        }
    }
    match awsenv {
        Ok((_, text)) => {
            let _ = writeln!(out, "  {:width$}  {text}", "awsenv");
        }
        Err(e) => {
            let _ = writeln!(out, "  {:width$}  cannot: {e}", "awsenv");
        }
    }
    let _ = writeln!(out, "\nChecks:");
    for f in findings {
        let mark = match f.level {
            Level::Ok => "ok  ",
            Level::Info => "info",
            Level::Warning => "WARN",
        };
        let _ = writeln!(out, "  {mark}  {}", f.message);
        if let Some(fix) = &f.fix {
            let _ = writeln!(out, "        fix: {fix}");
        }
    }
    let _ = writeln!(
        out,
        "\n{}",
        match warnings {
            0 => "No problems found.".to_string(),
            1 => "1 warning.".to_string(),
            n => format!("{n} warnings."),
        }
    );
    out
}
