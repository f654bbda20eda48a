//! `awsenv list`: each profile with where its keys live, its cached sessions and their time left.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::json;

use super::{print_out, Context, Run};
use crate::core::config::FileKind;
use crate::core::time::{human_duration, UtcTime};
use crate::edge::aws_files;
use crate::edge::keychain::{EntryKey, SessionKind};
use crate::engine::keychain_vault::KeychainVault;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

struct Row {
    profile: String,
    what: String,
    place: String,
    detail: String,
    expires: Option<UtcTime>,
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let vault = KeychainVault::open(&ctx.env)?;
        let files = aws_files::load(&ctx.env)?;
        let backend = vault.selection.backend.to_string();
        let mut rows = Vec::new();
        for e in vault.keychain.list()? {
            let what = match (&e.key, e.session_kind) {
                (_, _) if e.problem.is_some() => "unreadable entry".to_string(),
                (EntryKey::LongTermKeys { .. }, _) => "long-term keys".into(),
                (_, Some(SessionKind::MfaSession)) => "MFA session".into(),
                (_, Some(SessionKind::Role)) => "role credentials".into(),
                _ => continue,
            };
            let detail = e
                .problem
                .clone()
                .or(e.role_arn.clone())
                .or(e.mfa_serial.clone())
                .unwrap_or_default();
            rows.push(Row {
                profile: e.profile.clone().unwrap_or_else(|| "?".into()),
                what,
                place: backend.clone(),
                detail,
                expires: e.expiration,
            });
        }
        // Keys still in plaintext.
        for p in files.profiles.profiles.values() {
            if let Some(v) = p.value("aws_access_key_id") {
                if v.origin.kind == FileKind::Credentials || v.origin.kind == FileKind::Config {
                    rows.push(Row {
                        profile: p.name.clone(),
                        what: if p.get("aws_session_token").is_some() {
                            "temporary keys".into()
                        } else {
                            "long-term keys".into()
                        },
                        place: format!("{} (plaintext)", v.origin.path.display()),
                        detail: String::new(),
                        expires: None,
                    });
                }
            }
        }
        rows.sort_by(|a, b| (&a.profile, &a.what).cmp(&(&b.profile, &b.what)));
        let now = UtcTime::now();
        if self.json {
            let list: Vec<_> = rows
                .iter()
                .map(|r| {
                    json!({
                        "profile": r.profile,
                        "what": r.what,
                        "where": r.place,
                        "detail": r.detail,
                        "expires": r.expires.map(|t| t.rfc3339()),
                        "remaining_seconds": r.expires.map(|t| now.seconds_until(t)),
                    })
                })
                .collect();
            print_out(&format!(
                "{}\n",
                serde_json::to_string_pretty(
                    &json!({"keychain": vault.describe(), "entries": list})
                )?
            ))?;
            return Ok(ExitCode::SUCCESS);
        }
        if rows.is_empty() {
            eprintln!(
                "awsenv: nothing stored yet in the {} — `awsenv add PROFILE` stores keys",
                backend
            );
            return Ok(ExitCode::SUCCESS);
        }
        let w0 = rows
            .iter()
            .map(|r| r.profile.len())
            .max()
            .unwrap_or(0)
            .max(7);
        let w1 = rows.iter().map(|r| r.what.len()).max().unwrap_or(0).max(4);
        let w2 = rows.iter().map(|r| r.place.len()).max().unwrap_or(0).max(5);
        let mut out = String::new();
        writeln!(
            out,
            "{:w0$}  {:w1$}  {:w2$}  {:10}  DETAIL",
            "PROFILE", "WHAT", "WHERE", "LEFT"
        )?;
        for r in &rows {
            let left = match r.expires {
                Some(t) if now.seconds_until(t) > 0 => human_duration(now.seconds_until(t)),
                Some(_) => "expired".into(),
                None => "-".into(),
            };
            writeln!(
                out,
                "{:w0$}  {:w1$}  {:w2$}  {:10}  {}",
                r.profile, r.what, r.place, left, r.detail
            )?;
        }
        print_out(&out)?;
        Ok(ExitCode::SUCCESS)
    }
}
