//! One client connection: the peer's uid is checked, one request line is read (at most 64 KiB, within
//! a deadline), answered, and the connection closed. A malformed, oversized or half-sent message gets
//! an error reply (where the peer is still there) and the daemon goes on serving everyone else.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::Mutex as AsyncMutex;

use super::broker::{ClientPrompt, NoPrompt};
use super::State;
use crate::core::env::Env;
use crate::core::plan;
use crate::core::session_key::step_keys;
use crate::core::time::UtcTime;
use crate::edge::aws_files;
use crate::edge::sts_client::ClientSettings;
use crate::engine::mfa::{MfaError, MfaPrompt};
use crate::engine::{Engine, EngineError, Issued, Vault, VaultKeys, Want};
use crate::thin::wire::{FORWARDED_ENV, MAX_MESSAGE, MFA_NEEDED, PROTOCOL_VERSION};

/// How long a client has to send its request line.
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

/// The two halves of a connection.
pub struct Io {
    pub reader: BufReader<OwnedReadHalf>,
    pub writer: OwnedWriteHalf,
}

/// What reading a line gave.
pub enum Line {
    Text(String),
    /// The peer closed the connection first.
    Eof,
    TooLong,
    NotUtf8,
    Failed,
}

/// Reads one `\n`-terminated line of at most [`MAX_MESSAGE`] bytes.
pub async fn read_line(reader: &mut BufReader<OwnedReadHalf>) -> Line {
    let mut buf = Vec::new();
    let mut limited = (&mut *reader).take(MAX_MESSAGE as u64 + 1);
    match limited.read_until(b'\n', &mut buf).await {
        Ok(0) => Line::Eof,
        Ok(_) if buf.last() != Some(&b'\n') => {
            if buf.len() > MAX_MESSAGE {
                Line::TooLong
            } else {
                // The peer closed in the middle of a line: a half-sent message.
                Line::Eof
            }
        }
        Ok(_) => match String::from_utf8(buf) {
            Ok(s) => Line::Text(s),
            Err(_) => Line::NotUtf8,
        },
        Err(_) => Line::Failed,
    }
}

fn error_reply(code: &str, message: &str) -> Value {
    json!({"v": PROTOCOL_VERSION, "ok": false, "error": {"code": code, "message": message}})
}

async fn send(io: &AsyncMutex<Io>, reply: &Value) {
    let mut line = reply.to_string();
    line.push('\n');
    let mut io = io.lock().await;
    let _ = io.writer.write_all(line.as_bytes()).await;
    let _ = io.writer.shutdown().await;
}

/// Serves one connection.
pub async fn handle(state: Arc<State>, stream: UnixStream, uid: u32) {
    let peer_uid = stream.peer_cred().map(|c| c.uid()).ok();
    let (r, w) = stream.into_split();
    let io = Arc::new(AsyncMutex::new(Io {
        reader: BufReader::new(r),
        writer: w,
    }));
    if peer_uid != Some(uid) {
        send(
            &io,
            &error_reply(
                "forbidden",
                "this awsenv daemon serves only the user who started it",
            ),
        )
        .await;
        return;
    }
    let line = {
        let mut guard = io.lock().await;
        match tokio::time::timeout(REQUEST_DEADLINE, read_line(&mut guard.reader)).await {
            Ok(l) => l,
            Err(_) => Line::Eof,
        }
    };
    let text = match line {
        Line::Text(t) => t,
        Line::TooLong => {
            let msg = format!("the request is longer than {MAX_MESSAGE} bytes");
            send(&io, &error_reply("too_large", &msg)).await;
            return;
        }
        Line::NotUtf8 => {
            send(&io, &error_reply("bad_request", "the request is not UTF-8")).await;
            return;
        }
        Line::Eof | Line::Failed => return,
    };
    state.requests.fetch_add(1, Ordering::Relaxed);
    let reply = match serde_json::from_str::<Value>(&text) {
        Err(e) => error_reply("bad_request", &format!("the request is not JSON: {e}")),
        Ok(req) => match req["v"].as_i64() {
            Some(PROTOCOL_VERSION) => dispatch(&state, &io, &req).await,
            // `shutdown` is understood whatever the version, so `awsenv daemon stop` from a newer
            // client can always replace an old daemon.
            _ if req["op"] == "shutdown" => dispatch(&state, &io, &req).await,
            other => error_reply(
                "version",
                &format!(
                    "awsenv daemon is version {} (protocol {PROTOCOL_VERSION}) and the client speaks protocol {}; restart the daemon with `awsenv daemon stop`",
                    env!("CARGO_PKG_VERSION"),
                    other.map_or("none".to_string(), |v| v.to_string())
                ),
            ),
        },
    };
    send(&io, &reply).await;
}

/// The daemon's environment with what the client forwarded on top.
fn request_env(state: &State, req: &Value) -> Env {
    let mut env = state.options.env.clone();
    if let Some(fwd) = req["env"].as_object() {
        for (k, v) in fwd {
            if let (true, Some(v)) = (FORWARDED_ENV.contains(&k.as_str()), v.as_str()) {
                env.set(k.clone(), v.to_string());
            }
        }
    }
    env
}

async fn dispatch(state: &Arc<State>, io: &Arc<AsyncMutex<Io>>, req: &Value) -> Value {
    match req["op"].as_str() {
        Some("credentials") => {
            let Some(profile) = req["profile"].as_str() else {
                return error_reply("bad_request", "a credentials request needs a profile");
            };
            let env = request_env(state, req);
            let want = Want {
                min_remaining: req["min_remaining"]
                    .as_i64()
                    .unwrap_or(Want::default().min_remaining)
                    .max(Want::default().min_remaining),
                no_prompt: req["prompt"].as_bool() == Some(false),
                ..Want::default()
            };
            let prompt = ClientPrompt {
                io: io.clone(),
                preset: Mutex::new(req["token_code"].as_str().map(str::to_string)),
            };
            match issue(state, profile, &env, want, &prompt).await {
                Ok(issued) => {
                    state.remember(profile, &env);
                    issued_reply(&issued)
                }
                Err(e) => engine_error(&e),
            }
        }
        Some("login") => {
            let Some(profile) = req["profile"].as_str() else {
                return error_reply("bad_request", "a login request needs a profile");
            };
            let env = request_env(state, req);
            let want = Want {
                mfa_session_only: true,
                force_mfa: req["force"].as_bool().unwrap_or(false),
                ..Want::default()
            };
            let prompt = ClientPrompt {
                io: io.clone(),
                preset: Mutex::new(req["token_code"].as_str().map(str::to_string)),
            };
            match issue(state, profile, &env, want, &prompt).await {
                Ok(issued) => issued_reply(&issued),
                Err(e) => engine_error(&e),
            }
        }
        Some("logout") => {
            let result = if req["all"].as_bool() == Some(true) {
                state.cache.delete_all_sessions().map_err(|e| e.to_string())
            } else {
                let Some(profile) = req["profile"].as_str() else {
                    return error_reply("bad_request", "logout needs a profile or all");
                };
                logout_profile(state, profile, &request_env(state, req))
            };
            match result {
                Ok(n) => json!({"v": PROTOCOL_VERSION, "ok": true, "deleted": n}),
                Err(e) => error_reply("keychain", &e),
            }
        }
        Some("status") => json!({
            "v": PROTOCOL_VERSION,
            "ok": true,
            "status": {
                "pid": std::process::id(),
                "version": env!("CARGO_PKG_VERSION"),
                "protocol": PROTOCOL_VERSION,
                "started": state.started.rfc3339(),
                "uptime_seconds": UtcTime::now().0 - state.started.0,
                "socket": state.options.socket.display().to_string(),
                "keychain": state.options.keychain,
                "sessions_in_memory": state.cache.len(),
                "requests": state.requests.load(Ordering::Relaxed),
            }
        }),
        Some("shutdown") => {
            state.shutdown.notify_one();
            json!({"v": PROTOCOL_VERSION, "ok": true})
        }
        Some(other) => error_reply("bad_request", &format!("unknown request `{other}`")),
        None => error_reply("bad_request", "the request has no op"),
    }
}

fn logout_profile(state: &State, profile: &str, env: &Env) -> Result<usize, String> {
    let files = aws_files::load(env).map_err(|e| e.to_string())?;
    let keys = VaultKeys(&state.cache);
    let inputs = plan::Inputs {
        profiles: &files.profiles,
        env,
        keys: &keys,
    };
    let plan = plan::resolve(&inputs, profile).map_err(|e| e.to_string())?;
    let mut n = 0;
    for key in step_keys(&plan) {
        if state.cache.session(&key).ok().flatten().is_some() {
            n += 1;
        }
        state
            .cache
            .delete_session(&key)
            .map_err(|e| e.to_string())?;
    }
    Ok(n)
}

/// Runs the engine for a request.
pub async fn issue(
    state: &State,
    profile: &str,
    env: &Env,
    want: Want,
    prompt: &dyn MfaPrompt,
) -> Result<Issued, EngineError> {
    let files = aws_files::load(env).map_err(|e| EngineError::Settings(e.to_string()))?;
    let plan = {
        let keys = VaultKeys(&state.cache);
        let inputs = plan::Inputs {
            profiles: &files.profiles,
            env,
            keys: &keys,
        };
        plan::resolve(&inputs, profile)?
    };
    let engine = Engine {
        profiles: &files.profiles,
        env,
        vault: &state.cache,
        mfa: prompt,
        settings: ClientSettings::from_env(env)
            .map_err(|e| EngineError::Settings(e.to_string()))?,
        flights: Some(&state.flights),
    };
    engine.issue(&plan, want).await
}

/// A refresh that never prompts (for the refresh-ahead task).
pub async fn issue_without_prompt(
    state: &State,
    profile: &str,
    env: &Env,
    min_remaining: i64,
) -> Result<Issued, EngineError> {
    let want = Want {
        min_remaining,
        ..Want::default()
    };
    issue(state, profile, env, want, &NoPrompt).await
}

fn issued_reply(issued: &Issued) -> Value {
    json!({
        "v": PROTOCOL_VERSION,
        "ok": true,
        "profile": issued.profile,
        "region": issued.region,
        "credentials": issued.credentials.process_json(),
        "mfa_expires": issued.mfa_session_expires.map(|t| t.rfc3339()),
        "notices": issued.notices,
        "sts_calls": issued.sts_calls,
    })
}

fn engine_error(e: &EngineError) -> Value {
    let code = match e {
        EngineError::Mfa(MfaError::NoTerminal { .. }) => "no_terminal",
        EngineError::Mfa(MfaError::Needed { .. }) => MFA_NEEDED,
        EngineError::Mfa(_) => "mfa",
        EngineError::Plan(_) => "plan",
        EngineError::Sts(_) => "sts",
        EngineError::Vault(_) => "keychain",
        EngineError::NoKeys { .. } => "no_keys",
        EngineError::Source(_) | EngineError::Settings(_) => "config",
    };
    error_reply(code, &e.to_string())
}
