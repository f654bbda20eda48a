//! `awsenv prompt`: a short prompt segment from the exported variables — the profile, the minutes its
//! credentials have left and, when there is one, the MFA session's. It reads only the environment
//! (no daemon, no keychain), so a prompt can call it on every line; for a prompt that spawns nothing,
//! read `$AWSENV_PROFILE` and `$AWSENV_EXPIRES` directly (see README).

use std::process::ExitCode;

use super::{print_out, Context, Run};
use crate::core::time::human_duration;
use crate::core::time::UtcTime;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The template: {profile}, {left} (role credentials), {mfa_left} (the MFA session; empty
    /// without one)
    #[arg(long, default_value = "{profile} {left}{mfa}")]
    format: String,
}

/// The segment for the variables `get` reads, at `now`; empty when nothing is exported.
pub fn segment(get: &dyn Fn(&str) -> Option<String>, now: i64, format: &str) -> String {
    let Some(profile) = get("AWSENV_PROFILE").filter(|p| !p.is_empty()) else {
        return String::new();
    };
    let until = |name: &str| get(name).and_then(|v| v.parse::<i64>().ok());
    let left = match until("AWSENV_EXPIRES") {
        Some(t) if t > now => human_duration(t - now),
        Some(_) => "expired".to_string(),
        None => "long-term".to_string(),
    };
    let mfa_left = match until("AWSENV_MFA_EXPIRES") {
        Some(t) if t > now => human_duration(t - now),
        Some(_) => "ended".to_string(),
        None => String::new(),
    };
    let mfa = if mfa_left.is_empty() {
        String::new()
    } else {
        format!(" (MFA {mfa_left})")
    };
    format
        .replace("{profile}", &profile)
        .replace("{left}", &left)
        .replace("{mfa_left}", &mfa_left)
        .replace("{mfa}", &mfa)
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let get = |k: &str| ctx.env.get(k).map(str::to_string);
        let text = segment(&get, UtcTime::now().0, &self.format);
        if !text.is_empty() {
            print_out(&format!("{text}\n"))?;
        }
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn segments() {
        let now = 1_000_000;
        let f = "{profile} {left}{mfa}";
        assert_eq!(segment(&env(&[]), now, f), "");
        assert_eq!(
            segment(
                &env(&[
                    ("AWSENV_PROFILE", "dev"),
                    ("AWSENV_EXPIRES", "1002520"),
                    ("AWSENV_MFA_EXPIRES", "1039720")
                ]),
                now,
                f
            ),
            "dev 42m (MFA 11h02m)"
        );
        assert_eq!(
            segment(
                &env(&[("AWSENV_PROFILE", "ci"), ("AWSENV_EXPIRES", "999999")]),
                now,
                f
            ),
            "ci expired"
        );
        assert_eq!(
            segment(&env(&[("AWSENV_PROFILE", "keys")]), now, "{profile}:{left}"),
            "keys:long-term"
        );
    }
}
