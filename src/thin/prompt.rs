//! The user's side of an MFA prompt, shared by the CLI and the std-only client: the code from the
//! profile's `mfa_process`, else from `/dev/tty`, else from a desktop dialog; validation of six digits.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

/// Why no code was had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptError {
    /// No terminal and no desktop dialog.
    NoTerminal,
    /// What was typed is not six digits (a short excerpt).
    BadFormat(String),
    /// `mfa_process` failed (why).
    Process(String),
    Cancelled,
}

/// Checks a code: six digits, spaces allowed between them (`123 456`). Returns the digits.
pub fn validate(code: &str) -> Result<String, PromptError> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(digits)
    } else {
        // Never echo a long input back: it may be something pasted by mistake.
        let given = if code.chars().count() <= 12 {
            code.trim().to_string()
        } else {
            format!("{}…", code.chars().take(8).collect::<String>())
        };
        Err(PromptError::BadFormat(given))
    }
}

fn open_tty() -> Option<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()
}

/// Writes one line to the terminal, if there is one (for "waiting for …" notices).
pub fn tell_tty(line: &str) -> bool {
    match open_tty() {
        Some(mut t) => writeln!(t, "{line}").is_ok(),
        None => false,
    }
}

/// Asks on the controlling terminal, up to three times for a well-formed code.
pub fn ask_on_tty(prompt: &str) -> Result<String, PromptError> {
    let tty = open_tty().ok_or(PromptError::NoTerminal)?;
    let mut writer = tty.try_clone().map_err(|_| PromptError::NoTerminal)?;
    let mut reader = BufReader::new(tty);
    let mut last = PromptError::Cancelled;
    for _ in 0..3 {
        writer
            .write_all(prompt.as_bytes())
            .map_err(|_| PromptError::NoTerminal)?;
        let _ = writer.flush();
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => return Err(PromptError::Cancelled),
            Ok(_) => {}
            Err(_) => return Err(PromptError::NoTerminal),
        }
        match validate(&line) {
            Ok(code) => return Ok(code),
            Err(e) => {
                if let PromptError::BadFormat(given) = &e {
                    let _ = writeln!(
                        writer,
                        "awsenv: `{given}` is not an MFA code: it must be 6 digits"
                    );
                }
                last = e;
            }
        }
    }
    Err(last)
}

/// Runs `mfa_process` through `sh -c`, with the terminal as its stdin and stderr when there is one
/// (for a "touch your key" prompt), and reads the code from the last line of its stdout.
pub fn run_mfa_process(cmd: &str) -> Result<String, PromptError> {
    let mut command = Command::new("/bin/sh");
    command.arg("-c").arg(cmd).stdout(Stdio::piped());
    match open_tty().and_then(|t| t.try_clone().ok().map(|t2| (t, t2))) {
        Some((t, t2)) => {
            command.stdin(t).stderr(t2);
        }
        None => {
            command.stdin(Stdio::null()).stderr(Stdio::inherit());
        }
    }
    let out = command
        .output()
        .map_err(|e| PromptError::Process(e.to_string()))?;
    if !out.status.success() {
        return Err(PromptError::Process(format!(
            "it exited with {}",
            out.status
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    validate(last).map_err(|_| PromptError::Process("it did not print a 6-digit code".into()))
}

fn on_path(path: Option<&str>, program: &str) -> bool {
    path.map(|p| std::env::split_paths(p).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

/// A desktop dialog, when a display and a dialog program exist; `None` when not available.
pub fn ask_on_desktop(
    get: &dyn Fn(&str) -> Option<String>,
    prompt: &str,
) -> Option<Result<String, PromptError>> {
    let mut cmd = if cfg!(target_os = "macos") {
        let script = format!(
            "text returned of (display dialog \"{}\" default answer \"\" with title \"awsenv\")",
            prompt.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let mut c = Command::new("osascript");
        c.arg("-e").arg(script);
        c
    } else {
        let set = |k: &str| get(k).is_some_and(|v| !v.is_empty());
        if !set("DISPLAY") && !set("WAYLAND_DISPLAY") {
            return None;
        }
        let path = get("PATH");
        if on_path(path.as_deref(), "zenity") {
            let mut c = Command::new("zenity");
            c.args(["--entry", "--title=awsenv", "--text"]).arg(prompt);
            c
        } else if on_path(path.as_deref(), "kdialog") {
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
        return Some(Err(PromptError::Cancelled));
    }
    Some(validate(&String::from_utf8_lossy(&out.stdout)))
}

/// The whole chain: `mfa_process`, else the terminal, else a desktop dialog.
pub fn get_code(
    prompt: &str,
    mfa_process: Option<&str>,
    get: &dyn Fn(&str) -> Option<String>,
    allow_desktop: bool,
) -> Result<String, PromptError> {
    if let Some(cmd) = mfa_process {
        return run_mfa_process(cmd);
    }
    match ask_on_tty(prompt) {
        Err(PromptError::NoTerminal) => {}
        other => return other,
    }
    if allow_desktop {
        if let Some(r) = ask_on_desktop(get, prompt) {
            return r;
        }
    }
    Err(PromptError::NoTerminal)
}

/// The prompt text.
pub fn prompt_text(serial: &str, profile: &str) -> String {
    format!("MFA code for {serial} (profile {profile}): ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        assert_eq!(validate("123456").unwrap(), "123456");
        assert_eq!(validate(" 123 456\n").unwrap(), "123456");
        assert!(validate("12345").is_err());
        assert!(validate("12345a").is_err());
        assert!(validate("1234567").is_err());
        let long = validate("AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMI").unwrap_err();
        assert!(!format!("{long:?}").contains("wJalr"));
    }
}
