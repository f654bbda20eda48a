//! Runs a profile's `credential_process` and reads its JSON, as the SDKs do.

use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::core::credentials::{Credentials, Secret};
use crate::core::time::UtcTime;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessOutput {
    version: serde_json::Value,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    expiration: Option<String>,
}

/// Runs `command` through `sh -c` (as the Go, JS and Rust SDKs do), stderr passed through.
pub fn run(command: &str, profile: &str) -> Result<Credentials, String> {
    let fail = |why: String| {
        format!("credential_process of profile `{profile}` (`{command}`) {why} — run it by hand to see what it prints")
    };
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        // A socket-activated daemon's variables are about its own descriptors, not the child's.
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_FDNAMES")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| fail(format!("could not start: {e}")))?;
    if !out.status.success() {
        return Err(fail(format!("exited with {}", out.status)));
    }
    // Never quote the output in an error: it holds a secret key.
    let parsed: ProcessOutput = serde_json::from_slice(&out.stdout)
        .map_err(|_| fail("did not print the credential_process JSON".into()))?;
    if parsed.version != serde_json::json!(1) {
        return Err(fail("printed a Version other than the number 1".into()));
    }
    let expiration = match parsed.expiration {
        Some(e) => Some(
            UtcTime::parse_rfc3339(&e)
                .ok_or_else(|| fail(format!("printed an Expiration that is not a time: {e}")))?,
        ),
        None => None,
    };
    Ok(Credentials {
        access_key_id: parsed.access_key_id,
        secret_access_key: Secret::new(parsed.secret_access_key),
        session_token: parsed.session_token.map(Secret::new),
        expiration,
    })
}
