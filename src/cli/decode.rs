//! `awsenv decode MESSAGE`: decodes an "encoded authorization failure message" with STS
//! DecodeAuthorizationMessage and prints it with the denied action and resource first.

use std::fmt::Write as _;
use std::io::Read;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::Value;

use super::{direct, print_out, Context, Run};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The encoded message (from an error such as "Encoded authorization failure message: …"), or `-`
    /// to read it from standard input
    message: String,
    /// The profile whose credentials call STS (they need sts:DecodeAuthorizationMessage)
    #[arg(long, short)]
    profile: Option<String>,
    /// Print only the decoded JSON
    #[arg(long)]
    json: bool,
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let message = if self.message == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the message from standard input")?;
            s
        } else {
            self.message
        };
        // People paste the whole error line; keep the encoded part.
        let message = message
            .rsplit("message:")
            .next()
            .unwrap_or(&message)
            .trim()
            .to_string();
        let d = direct::credentials(ctx, self.profile.as_deref())?;
        let (decoded, answer) = direct::block_on(d.client.decode_message(&d.creds, &message))??;
        direct::warn_about(&answer);
        let doc: Value = serde_json::from_str(&decoded)
            .with_context(|| "STS's decoded message is not JSON".to_string())?;
        let pretty = serde_json::to_string_pretty(&doc)?;
        if self.json {
            print_out(&format!("{pretty}\n"))?;
        } else {
            print_out(&format!("{}\n{pretty}\n", summary(&doc)))?;
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// The lines that matter first: allowed or denied, action, resource, principal, why.
pub fn summary(doc: &Value) -> String {
    let ctx = &doc["context"];
    let s = |v: &Value| v.as_str().unwrap_or("?").to_string();
    let mut out = String::new();
    let verdict = if doc["allowed"].as_bool() == Some(true) {
        "Allowed"
    } else {
        "Denied"
    };
    let _ = writeln!(out, "{verdict}:   {}", s(&ctx["action"]));
    let _ = writeln!(out, "Resource: {}", s(&ctx["resource"]));
    let _ = writeln!(out, "Principal: {}", s(&ctx["principal"]["arn"]));
    if doc["explicitDeny"].as_bool() == Some(true) {
        let _ = writeln!(
            out,
            "Why: an explicit Deny statement matched (a Deny in any policy wins over every Allow)"
        );
    } else if verdict == "Denied" {
        let _ = writeln!(
            out,
            "Why: no policy statement allows this action on this resource"
        );
    }
    out
}
