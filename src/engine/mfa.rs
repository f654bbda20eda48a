//! Where an MFA code comes from, in order: `--token-code`; the profile's `mfa_process` (a command
//! that prints the code, run with the terminal reachable for a touch prompt); a prompt on `/dev/tty`;
//! a desktop prompt when there is no terminal (zenity or kdialog on Linux, osascript on macOS);
//! otherwise an immediate error that says which command to run in a terminal.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use crate::core::credentials::Secret;
use crate::core::env::Env;

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
    #[error("`{given}` is not an MFA code: it must be 6 digits")]
    BadFormat { given: String },
    #[error("mfa_process `{command}` failed: {reason} — run it by hand to see why, or use `awsenv login {profile} --token-code CODE`")]
    Process {
        command: String,
        reason: String,
        profile: String,
    },
    #[error("the MFA prompt was cancelled")]
    Cancelled,
}

/// Checks and normalizes a code: six digits, spaces allowed between them (`123 456`).
pub fn validate(code: &str) -> Result<Secret, MfaError> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(Secret::new(digits))
    } else {
        // Never echo a long input back: it may be something pasted by mistake.
        let given = if code.chars().count() <= 12 {
            code.trim().to_string()
        } else {
            format!("{}…", code.chars().take(8).collect::<String>())
        };
        Err(MfaError::BadFormat { given })
    }
}

/// Something that can produce an MFA code.
pub trait MfaPrompt: Send + Sync {
    fn code(&self, req: &MfaRequest) -> Result<Secret, MfaError>;
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
    fn code(&self, req: &MfaRequest) -> Result<Secret, MfaError> {
        if let Some(code) = self.token_code.lock().expect("not poisoned").take() {
            return validate(&code);
        }
        if let Some(cmd) = &req.mfa_process {
            return run_mfa_process(cmd, &req.profile);
        }
        let prompt = format!("MFA code for {} (profile {}): ", req.serial, req.profile);
        match ask_on_tty(&prompt) {
            Ok(code) => return code,
            Err(TtyError::NoTerminal) => {}
        }
        if self.allow_desktop {
            if let Some(code) = ask_on_desktop(&self.env, &prompt) {
                return code;
            }
        }
        Err(MfaError::NoTerminal {
            profile: req.profile.clone(),
        })
    }
}

enum TtyError {
    NoTerminal,
}

/// Asks on the controlling terminal, up to three times for a well-formed code.
fn ask_on_tty(prompt: &str) -> Result<Result<Secret, MfaError>, TtyError> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| TtyError::NoTerminal)?;
    let mut writer = tty.try_clone().map_err(|_| TtyError::NoTerminal)?;
    let mut reader = BufReader::new(tty);
    let mut last = None;
    for _ in 0..3 {
        writer
            .write_all(prompt.as_bytes())
            .map_err(|_| TtyError::NoTerminal)?;
        let _ = writer.flush();
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => return Ok(Err(MfaError::Cancelled)),
            Ok(_) => {}
            Err(_) => return Err(TtyError::NoTerminal),
        }
        match validate(&line) {
            Ok(code) => return Ok(Ok(code)),
            Err(e) => {
                let _ = writeln!(writer, "awsenv: {e}");
                last = Some(e);
            }
        }
    }
    Ok(Err(last.unwrap_or(MfaError::Cancelled)))
}

/// Runs `mfa_process` through `sh -c`, its stdin and stderr on the terminal when there is one (for a
/// "touch your key" prompt), and reads the code from its stdout.
fn run_mfa_process(cmd: &str, profile: &str) -> Result<Secret, MfaError> {
    let fail = |reason: String| MfaError::Process {
        command: cmd.to_string(),
        reason,
        profile: profile.to_string(),
    };
    let mut command = Command::new("/bin/sh");
    command.arg("-c").arg(cmd).stdout(Stdio::piped());
    if let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    {
        if let Ok(t2) = tty.try_clone() {
            command.stdin(tty).stderr(t2);
        }
    } else {
        command.stdin(Stdio::null()).stderr(Stdio::inherit());
    }
    let out = command.output().map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        return Err(fail(format!("it exited with {}", out.status)));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    validate(last).map_err(|_| fail("it did not print a 6-digit code".into()))
}

fn on_path(env: &Env, program: &str) -> bool {
    env.get("PATH")
        .map(|p| std::env::split_paths(p).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

/// A desktop dialog, when a display and a dialog program exist. `None` means "not available".
fn ask_on_desktop(env: &Env, prompt: &str) -> Option<Result<Secret, MfaError>> {
    let mut cmd = if cfg!(target_os = "macos") {
        let script = format!(
            "text returned of (display dialog \"{}\" default answer \"\" with title \"awsenv\")",
            prompt.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let mut c = Command::new("osascript");
        c.arg("-e").arg(script);
        c
    } else {
        if env.non_empty("DISPLAY").is_none() && env.non_empty("WAYLAND_DISPLAY").is_none() {
            return None;
        }
        if on_path(env, "zenity") {
            let mut c = Command::new("zenity");
            c.args(["--entry", "--title=awsenv", "--text"]).arg(prompt);
            c
        } else if on_path(env, "kdialog") {
            let mut c = Command::new("kdialog");
            c.args(["--title", "awsenv", "--inputbox"]).arg(prompt);
            c
        } else {
            return None;
        }
    };
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return Some(Err(MfaError::Cancelled));
    }
    Some(validate(&String::from_utf8_lossy(&out.stdout)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        assert_eq!(validate("123456").unwrap().expose(), "123456");
        assert_eq!(validate(" 123 456\n").unwrap().expose(), "123456");
        assert!(validate("12345").is_err());
        assert!(validate("12345a").is_err());
        assert!(validate("1234567").is_err());
        let long = validate("AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMI").unwrap_err();
        assert!(!long.to_string().contains("wJalr"), "{long}");
    }
}
