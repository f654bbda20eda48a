//! The client side of the daemon protocol, std only: connect, send one request, answer MFA events on
//! the terminal, return the reply. Starts the daemon when none answers.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::json::Json;
use super::paths;
use super::prompt;
use super::wire::{self, MAX_MESSAGE};

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// No daemon listens at the socket.
    NotRunning,
    /// The daemon answered with an error: its code and message.
    Daemon { code: String, message: String },
    /// The connection broke or the daemon spoke nonsense.
    Protocol(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::NotRunning => f.write_str("the awsenv daemon is not running"),
            ClientError::Daemon { message, .. } => f.write_str(message),
            ClientError::Protocol(m) => f.write_str(m),
        }
    }
}

/// Sends `request` to the daemon at `socket` and returns its final reply (an object with `ok`).
/// `get` reads the caller's environment (for the desktop prompt). A socket in a folder that is not
/// private to this user is refused before connecting ([`paths::check_socket_dir`]).
pub fn request(
    socket: &Path,
    request: &Json,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Json, ClientError> {
    let dir = socket.parent().unwrap_or(Path::new("."));
    if !paths::check_socket_dir(dir, paths::current_uid()).map_err(ClientError::Protocol)? {
        return Err(ClientError::NotRunning);
    }
    let stream = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(ClientError::NotRunning)
        }
        Err(e) => {
            return Err(ClientError::Protocol(format!(
                "cannot connect to the awsenv daemon at {}: {e}",
                socket.display()
            )))
        }
    };
    let broken = |e: std::io::Error| {
        ClientError::Protocol(format!("the connection to the awsenv daemon broke: {e}"))
    };
    let mut writer = stream.try_clone().map_err(broken)?;
    let mut line = request.to_text();
    line.push('\n');
    writer.write_all(line.as_bytes()).map_err(broken)?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut buf = Vec::new();
        let n = (&mut reader)
            .take(MAX_MESSAGE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(broken)?;
        if n == 0 {
            return Err(ClientError::Protocol(
                "the awsenv daemon closed the connection without an answer; `awsenv daemon status` tells whether it still runs".into(),
            ));
        }
        let text = String::from_utf8_lossy(&buf);
        let msg = wire::parse_line(text.trim_end()).map_err(ClientError::Protocol)?;
        match msg.get("event").and_then(Json::as_str) {
            Some("need_mfa") => {
                let serial = msg.get("serial").and_then(Json::as_str).unwrap_or("?");
                let profile = msg.get("profile").and_then(Json::as_str).unwrap_or("?");
                let process = msg.get("mfa_process").and_then(Json::as_str);
                let answer = match prompt::get_code(
                    &prompt::prompt_text(serial, profile),
                    process,
                    get,
                    true,
                ) {
                    Ok(code) => {
                        wire::message(vec![("op", wire::s("mfa_code")), ("code", wire::s(&code))])
                    }
                    Err(e) => wire::message(vec![
                        ("op", wire::s("mfa_unavailable")),
                        ("reason", wire::s(&format!("{e:?}"))),
                    ]),
                };
                let mut line = answer.to_text();
                line.push('\n');
                writer.write_all(line.as_bytes()).map_err(broken)?;
            }
            Some("waiting") => {
                let m = msg
                    .get("message")
                    .and_then(Json::as_str)
                    .unwrap_or("waiting");
                let line = format!("awsenv: {m}");
                if !prompt::tell_tty(&line) {
                    eprintln!("{line}");
                }
            }
            Some(_) => {}
            None => {
                if msg.get("ok").and_then(Json::as_bool) == Some(true) {
                    return Ok(msg);
                }
                let err = msg.get("error");
                let field = |k: &str| {
                    err.and_then(|e| e.get(k))
                        .and_then(Json::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                return Err(ClientError::Daemon {
                    code: field("code"),
                    message: field("message"),
                });
            }
        }
    }
}

/// The `awsenv` binary to start the daemon with: beside `current_exe`, else on `PATH`.
pub fn find_awsenv(current_exe: Option<PathBuf>, path: Option<String>) -> Option<PathBuf> {
    if let Some(dir) = current_exe.as_deref().and_then(Path::parent) {
        let p = dir.join("awsenv");
        if p.is_file() {
            return Some(p);
        }
    }
    std::env::split_paths(&path?)
        .map(|d| d.join("awsenv"))
        .find(|p| p.is_file())
}

/// Starts a daemon with `awsenv daemon start` and waits until the socket answers. What `start` says
/// is kept for its failure: when several clients race to start one, the losers' "already running"
/// must not reach the caller's stderr (Go's SDK shows a `credential_process`'s stderr).
pub fn start_daemon(awsenv: &Path, socket: &Path) -> Result<(), String> {
    let out = Command::new(awsenv)
        .args(["daemon", "start"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", awsenv.display()))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        let said: Vec<&str> = said
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.strip_prefix("awsenv: ").unwrap_or(l))
            .collect();
        let said = said.join("; ");
        return Err(format!(
            "`{} daemon start` failed: {said}",
            awsenv.display()
        ));
    }
    wait_for(socket, Duration::from_secs(5))
}

/// Waits until something accepts connections at `socket`.
pub fn wait_for(socket: &Path, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        if UnixStream::connect(socket).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "the awsenv daemon did not start listening on {} within {}s",
                socket.display(),
                limit.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
