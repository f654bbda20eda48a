//! MFA brokering: the daemon never prompts itself; it asks the client whose request needs the code
//! (over that client's connection), and tells other clients waiting for the same device that they
//! wait. If the asked client goes away, its request fails and releases the device, and the next waiter
//! is asked in turn.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex as AsyncMutex;

use super::connection::{read_line, Io, Line};
use crate::core::credentials::Secret;
use crate::engine::mfa::{CodeFuture, MfaError, MfaPrompt, MfaRequest};
use crate::thin::prompt;
use crate::thin::wire::PROTOCOL_VERSION;

/// How long a client may take to enter a code.
const CODE_TIMEOUT: Duration = Duration::from_secs(300);

/// Asks the client of one connection.
pub struct ClientPrompt {
    pub io: Arc<AsyncMutex<Io>>,
    /// A code the request carried (`login --token-code`): used first, once.
    pub preset: Mutex<Option<String>>,
}

impl MfaPrompt for ClientPrompt {
    fn code<'a>(&'a self, req: &'a MfaRequest) -> CodeFuture<'a> {
        Box::pin(async move {
            if let Some(code) = self.preset.lock().expect("not poisoned").take() {
                return prompt::validate(&code)
                    .map(Secret::new)
                    .map_err(|e| MfaError::from_prompt(e, req));
            }
            let cancelled = || MfaError::Cancelled {
                profile: req.profile.clone(),
            };
            let mut io = self.io.lock().await;
            let event = json!({
                "v": PROTOCOL_VERSION,
                "event": "need_mfa",
                "serial": req.serial,
                "profile": req.profile,
                "mfa_process": req.mfa_process,
            });
            let mut line = event.to_string();
            line.push('\n');
            io.writer
                .write_all(line.as_bytes())
                .await
                .map_err(|_| cancelled())?;
            let reply = match tokio::time::timeout(CODE_TIMEOUT, read_line(&mut io.reader)).await {
                Ok(Line::Text(t)) => t,
                _ => return Err(cancelled()),
            };
            let v: serde_json::Value = serde_json::from_str(&reply).map_err(|_| cancelled())?;
            match v["op"].as_str() {
                Some("mfa_code") => {
                    let code = v["code"].as_str().unwrap_or("");
                    prompt::validate(code)
                        .map(Secret::new)
                        .map_err(|e| MfaError::from_prompt(e, req))
                }
                Some("mfa_unavailable") => Err(MfaError::NoTerminal {
                    profile: req.profile.clone(),
                }),
                _ => Err(cancelled()),
            }
        })
    }

    fn waiting(&self, req: &MfaRequest) {
        let io = self.io.clone();
        let msg = format!(
            "waiting for the MFA code being entered in another terminal (profile {})",
            req.profile
        );
        tokio::spawn(async move {
            let event = json!({"v": PROTOCOL_VERSION, "event": "waiting", "message": msg});
            let mut line = event.to_string();
            line.push('\n');
            let mut io = io.lock().await;
            let _ = io.writer.write_all(line.as_bytes()).await;
        });
    }
}

/// For background refreshes: never prompts.
pub struct NoPrompt;

impl MfaPrompt for NoPrompt {
    fn code<'a>(&'a self, req: &'a MfaRequest) -> CodeFuture<'a> {
        let e = MfaError::NoTerminal {
            profile: req.profile.clone(),
        };
        Box::pin(async move { Err(e) })
    }
}
