//! Where an MFA code comes from, in order: `--token-code`; the profile's `mfa_process` (a command
//! that prints the code, run with the terminal reachable for a touch prompt); a prompt on `/dev/tty`;
//! a desktop prompt when there is no terminal (zenity or kdialog on Linux, osascript on macOS);
//! otherwise an immediate error that says which command to run in a terminal. The terminal side lives
//! in [`crate::thin::prompt`], shared with the std-only client.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use crate::core::credentials::Secret;
use crate::core::env::Env;
use crate::thin::prompt::{self, PromptError};

/// What the code is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaRequest {
    pub serial: String,
    /// The profile the user asked for (named in prompts and errors).
    pub profile: String,
    /// The profile's `mfa_process`, if it has one.
    pub mfa_process: Option<String>,
}

/// Why no code could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MfaError {
    #[error("no terminal to ask for the MFA code of {profile} — run `awsenv login {profile}`")]
    NoTerminal { profile: String },
    #[error("the MFA session for {profile} has ended — run `awsenv login {profile}`")]
    Needed { profile: String },
    #[error("`{given}` is not an MFA code: it must be 6 digits")]
    BadFormat { given: String },
    #[error("mfa_process `{command}` failed: {reason} — run it by hand to see why, or use `awsenv login {profile} --token-code CODE`")]
    Process {
        command: String,
        reason: String,
        profile: String,
    },
    #[error("the MFA prompt for {profile} was cancelled")]
    Cancelled { profile: String },
}

impl MfaError {
    /// Maps the terminal side's error for `req`.
    pub fn from_prompt(e: PromptError, req: &MfaRequest) -> Self {
        match e {
            PromptError::NoTerminal => MfaError::NoTerminal {
                profile: req.profile.clone(),
            },
            PromptError::BadFormat(given) => MfaError::BadFormat { given },
            PromptError::Process(reason) => MfaError::Process {
                command: req.mfa_process.clone().unwrap_or_default(),
                reason,
                profile: req.profile.clone(),
            },
            PromptError::Cancelled => MfaError::Cancelled {
                profile: req.profile.clone(),
            },
        }
    }
}

/// The future of an MFA code.
pub type CodeFuture<'a> = Pin<Box<dyn Future<Output = Result<Secret, MfaError>> + Send + 'a>>;

/// Something that can produce an MFA code.
pub trait MfaPrompt: Send + Sync {
    fn code<'a>(&'a self, req: &'a MfaRequest) -> CodeFuture<'a>;

    /// Called when this caller has to wait for a code someone else is entering for the same device.
    fn waiting(&self, _req: &MfaRequest) {}
}

/// The interactive chain described in the module documentation.
pub struct InteractivePrompt {
    /// `--token-code`: used for the first code asked, then forgotten (a code works once).
    token_code: Mutex<Option<String>>,
    env: Env,
    /// Whether a desktop dialog may be shown when there is no terminal.
    pub allow_desktop: bool,
}

impl InteractivePrompt {
    pub fn new(env: Env, token_code: Option<String>) -> Self {
        InteractivePrompt {
            token_code: Mutex::new(token_code),
            env,
            allow_desktop: true,
        }
    }
}

impl MfaPrompt for InteractivePrompt {
    fn code<'a>(&'a self, req: &'a MfaRequest) -> CodeFuture<'a> {
        // The prompt blocks on the terminal; in one CLI process there is nothing else to run.
        let result = self.code_now(req);
        Box::pin(async move { result })
    }
}

impl InteractivePrompt {
    fn code_now(&self, req: &MfaRequest) -> Result<Secret, MfaError> {
        let given = self.token_code.lock().expect("not poisoned").take();
        let code = match given {
            Some(code) => prompt::validate(&code),
            None => prompt::get_code(
                &prompt::prompt_text(&req.serial, &req.profile),
                req.mfa_process.as_deref(),
                &|k| self.env.get(k).map(str::to_string),
                self.allow_desktop,
            ),
        };
        code.map(Secret::new)
            .map_err(|e| MfaError::from_prompt(e, req))
    }
}
