//! `StsPeer`: a real STS/IAM peer for the integration tests. moto's server, seeded with an IAM world by
//! `tests/peers/seed_iam.py`, behind `tests/peers/sts_proxy.py`, which verifies every request's SigV4
//! signature itself, plays alice's MFA device, answers DecodeAuthorizationMessage, injects faults and
//! counts requests per action (its module docstring documents the control API this file wraps).
//!
//! ```ignore
//! let Some(peer) = StsPeer::start() else { return }; // a visible skip, or a failure under CI=true
//! peer.set_mfa_code("123456");
//! peer.inject("AssumeRole", "throttle", 2, serde_json::Value::Null);
//! // run awsenv with AWS_ENDPOINT_URL_STS = peer.endpoint() and alice's key, peer.user_key()
//! assert_eq!(peer.count("AssumeRole"), 3);
//! ```
//!
//! The seeded world (account 123456789012): user `alice` (policy `sts:*`, one access key, MFA device
//! [`StsPeer::mfa_serial`]); roles `dev` and `admin` trusted by alice; `partner` trusted by alice with
//! ExternalId [`StsPeer::external_id`]; `chain2` trusted by sessions of `dev`, `chain3` by sessions of
//! `chain2`. moto matches a trust policy's principal against the caller's exact ARN
//! (`arn:aws:sts::123456789012:assumed-role/dev/SESSION`), so a chain only works when the previous
//! hop's session is named [`SESSION_NAME`] or one of [`StsPeerOptions::chain_session_names`].
//!
//! Signature checking: by default moto checks nothing and the proxy checks everything, because moto's
//! GetSessionToken hands out fixed example keys that moto itself then rejects. With
//! `moto_checks_signatures` moto checks too (user and role flows only). Both switches can be flipped on
//! a running peer. Both processes die with the `StsPeer` (also on a panic), and exit by themselves when
//! the test process dies, since each watches its stdin pipe.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};

/// The role session name the seeded chain roles trust for the previous hop.
pub const SESSION_NAME: &str = "awsenv-test";

const MOTO_START: Duration = Duration::from_secs(30);
const PROXY_START: Duration = Duration::from_secs(30);
const SEED_TIMEOUT: Duration = Duration::from_secs(60);
const STDERR_KEPT: usize = 64 * 1024;

/// moto's server, run with the venv's Python so that it also exits when its stdin closes (the
/// `moto_server` entry point is exactly `moto.server.main`).
const MOTO_MAIN: &str = "\
import os, sys, threading
def _watch_stdin():
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)
threading.Thread(target=_watch_stdin, daemon=True).start()
from moto.server import main
main(sys.argv[1:])
";

/// How to start an [`StsPeer`].
#[derive(Debug, Clone)]
pub struct StsPeerOptions {
    /// moto checks signatures and policies itself (`INITIAL_NO_AUTH_ACTION_COUNT` 0, switched on after
    /// seeding). Breaks any use of GetSessionToken credentials, so off by default.
    pub moto_checks_signatures: bool,
    /// The proxy verifies every request's signature (on by default).
    pub proxy_verifies: bool,
    /// Session names, besides [`SESSION_NAME`], under which a `dev`/`chain2` session may assume the
    /// next role of the chain.
    pub chain_session_names: Vec<String>,
}

impl Default for StsPeerOptions {
    fn default() -> Self {
        StsPeerOptions {
            moto_checks_signatures: false,
            proxy_verifies: true,
            chain_session_names: Vec::new(),
        }
    }
}

/// One request the proxy saw, as `GET /__proxy/requests` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProxiedRequest {
    /// The `Action` of the form body (`(none)` when absent).
    pub action: String,
    /// The access key named in the Authorization header.
    pub access_key_id: Option<String>,
    /// Whether the request carried an MFA `TokenCode`.
    pub mfa: bool,
    /// The HTTP status of the answer; `None` while in flight or when the connection was dropped.
    pub status: Option<u16>,
    /// The injected fault kind that handled it, if any.
    pub fault: Option<String>,
    /// The AWS error code of the answer, if it was an error.
    pub code: Option<String>,
    /// Whether moto saw it (false when the proxy answered: a fault, the signature or MFA check).
    pub relayed: bool,
}

/// What `seed_iam.py` prints.
#[derive(Debug, Deserialize)]
struct Seed {
    account: String,
    user_arn: String,
    access_key_id: String,
    secret_access_key: String,
    mfa_serial: String,
    external_id: String,
    roles: BTreeMap<String, String>,
}

/// moto behind the STS test proxy, seeded; see the module documentation.
pub struct StsPeer {
    // Dropped in this order: the proxy first, then moto.
    proxy: Process,
    moto: Process,
    python: PathBuf,
    proxy_port: u16,
    moto_port: u16,
    seed: Seed,
}

impl StsPeer {
    /// Starts a peer with the default options; `None` (a skip) when the test venv is missing outside
    /// CI. Panics, with the processes' stderr, if moto or the proxy fails to start.
    pub fn start() -> Option<StsPeer> {
        Self::start_with(StsPeerOptions::default())
    }

    /// Starts a peer with `options`; see [`StsPeer::start`].
    pub fn start_with(options: StsPeerOptions) -> Option<StsPeer> {
        let python = super::venv_python()?;
        let bin = python.parent().expect("venv python has a parent");
        if !bin.join("moto_server").is_file() {
            return super::missing(
                &format!("moto in the test venv ({})", bin.display()),
                "run ./tests/run, which installs tests/requirements.txt",
            );
        }
        let peers = super::repo_root().join("tests/peers");
        match Self::launch(&python, &peers, &options) {
            Ok(peer) => Some(peer),
            Err(e) => panic!("the STS test peer did not start: {e}"),
        }
    }

    fn launch(python: &Path, peers: &Path, options: &StsPeerOptions) -> Result<StsPeer, String> {
        let started = Instant::now();
        let mut moto_cmd = clean_python(python);
        moto_cmd
            .args(["-c", MOTO_MAIN, "-H", "127.0.0.1", "-p", "0"])
            .env_remove("INITIAL_NO_AUTH_ACTION_COUNT")
            .env_remove("MOTO_PORT");
        let (mut moto, _, moto_err) = Process::spawn("moto", moto_cmd)?;
        // werkzeug reports the port it bound: " * Running on http://127.0.0.1:PORT".
        let line = moto.wait_for_line(&moto_err, MOTO_START, |l| {
            l.contains("Running on http://127.0.0.1:")
        })?;
        let moto_port = parse_port(line.rsplit(':').next().unwrap_or(""))
            .ok_or_else(|| format!("moto reported no port in {line:?}"))?;
        let moto_endpoint = format!("http://127.0.0.1:{moto_port}");

        // The proxy starts while seed_iam.py runs.
        let mut proxy_cmd = clean_python(python);
        proxy_cmd.arg(peers.join("sts_proxy.py")).args([
            "--upstream",
            &moto_endpoint,
            "--port",
            "0",
            "--exit-on-stdin-eof",
        ]);
        if !options.proxy_verifies {
            proxy_cmd.arg("--no-verify");
        }
        let (mut proxy, proxy_out, _) = Process::spawn("sts_proxy.py", proxy_cmd)?;

        let mut seed_cmd = clean_python(python);
        seed_cmd
            .arg(peers.join("seed_iam.py"))
            .args(["--endpoint", &moto_endpoint]);
        for name in std::iter::once(SESSION_NAME)
            .chain(options.chain_session_names.iter().map(String::as_str))
        {
            seed_cmd.args(["--session-name", name]);
        }
        let seed = run_to_end("seed_iam.py", seed_cmd, SEED_TIMEOUT)
            .map_err(|e| format!("{e}\nmoto's stderr:\n{}", moto.stderr()))?;
        let seed: Seed = serde_json::from_str(&seed)
            .map_err(|e| format!("seed_iam.py printed no seed JSON ({e}): {seed:?}"))?;

        let line = proxy.wait_for_line(&proxy_out, PROXY_START, |l| l.starts_with("LISTENING "))?;
        let proxy_port = parse_port(&line["LISTENING ".len()..])
            .ok_or_else(|| format!("sts_proxy.py reported no port in {line:?}"))?;

        let peer = StsPeer {
            proxy,
            moto,
            python: python.to_path_buf(),
            proxy_port,
            moto_port,
            seed,
        };
        peer.register_key(&peer.seed.access_key_id, &peer.seed.secret_access_key, None);
        if options.moto_checks_signatures {
            peer.set_moto_checks_signatures(true);
        }
        // Captured by the test harness; shown with --nocapture or on failure.
        eprintln!(
            "StsPeer ready in {:.1?}: proxy {}, moto {}",
            started.elapsed(),
            peer.endpoint(),
            peer.moto_endpoint()
        );
        Ok(peer)
    }

    /// The proxy's URL: what awsenv (`AWS_ENDPOINT_URL_STS`, `endpoint_url`) and clients talk to.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.proxy_port)
    }

    /// moto's own URL, bypassing the proxy.
    pub fn moto_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.moto_port)
    }

    /// `123456789012`.
    pub fn account_id(&self) -> &str {
        &self.seed.account
    }

    /// `arn:aws:iam::123456789012:user/alice`.
    pub fn user_arn(&self) -> &str {
        &self.seed.user_arn
    }

    /// alice's long-term access key: (access key id, secret access key).
    pub fn user_key(&self) -> (String, String) {
        (
            self.seed.access_key_id.clone(),
            self.seed.secret_access_key.clone(),
        )
    }

    /// The ARN of a seeded role: `dev`, `admin`, `partner`, `chain2` or `chain3`.
    pub fn role_arn(&self, name: &str) -> String {
        match self.seed.roles.get(name) {
            Some(arn) => arn.clone(),
            None => panic!(
                "no seeded role {name:?}; the STS peer has {:?}",
                self.seed.roles.keys().collect::<Vec<_>>()
            ),
        }
    }

    /// alice's MFA device: `arn:aws:iam::123456789012:mfa/alice`.
    pub fn mfa_serial(&self) -> &str {
        &self.seed.mfa_serial
    }

    /// The ExternalId role `partner` requires.
    pub fn external_id(&self) -> &str {
        &self.seed.external_id
    }

    /// Makes `code` the current code of alice's MFA device (usable once, like a TOTP code).
    pub fn set_mfa_code(&self, code: &str) {
        self.control(
            "POST",
            "/__proxy/mfa",
            json!({ "serial": self.mfa_serial(), "code": code }),
        );
    }

    /// Queues a fault for the next `count` requests (0: all, until [`StsPeer::reset`]) with `Action`
    /// `action` (`"*"`: any). `kind` is one of `throttle`, `throttle_errors_shape`, `http_500`,
    /// `http_503`, `access_denied`, `error`, `hang`, `garbage`, `close`, `clock_skew`; `extra` is
    /// `Value::Null` or an object of further fields (`{"offset": 3600}` for `clock_skew`,
    /// `{"seconds": 2}` for a finite `hang`, `{"status", "code", "message"}` for `error`).
    pub fn inject(&self, action: &str, kind: &str, count: u32, extra: Value) {
        let mut spec = json!({ "action": action, "kind": kind, "count": count });
        match extra {
            Value::Null => {}
            Value::Object(fields) => spec.as_object_mut().unwrap().extend(fields),
            other => panic!("inject: `extra` must be null or an object, not {other}"),
        }
        self.control("POST", "/__proxy/faults", spec);
    }

    /// Requests per `Action` since the last reset, including those answered by the proxy itself.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        serde_json::from_value(self.control("GET", "/__proxy/counts", Value::Null))
            .expect("counts are a map of numbers")
    }

    /// Requests with `Action` `action` since the last reset.
    pub fn count(&self, action: &str) -> u64 {
        self.counts().get(action).copied().unwrap_or(0)
    }

    /// Every request since the last reset, in arrival order.
    pub fn requests(&self) -> Vec<ProxiedRequest> {
        serde_json::from_value(self.control("GET", "/__proxy/requests", Value::Null))
            .expect("requests are a list of records")
    }

    /// Forgets counts, the request log, faults, MFA codes and decode registrations, and releases hung
    /// requests. Keys and moto's state stay.
    pub fn reset(&self) {
        self.control("POST", "/__proxy/reset", Value::Null);
    }

    /// DecodeAuthorizationMessage of `encoded` will answer `decoded` (serialized as JSON text; a string
    /// is sent as is).
    /// Makes the credentials of every later successful `action` expire `seconds` from now (until
    /// [`StsPeer::reset`]), to test renewals without waiting an hour.
    pub fn set_expiry(&self, action: &str, seconds: i64) {
        self.control(
            "POST",
            "/__proxy/expiry",
            json!({"action": action, "seconds": seconds}),
        );
    }

    pub fn register_decode(&self, encoded: &str, decoded: Value) {
        self.control(
            "POST",
            "/__proxy/decode",
            json!({ "encoded": encoded, "decoded": decoded }),
        );
    }

    /// Teaches the proxy a key it has not seen issued.
    pub fn register_key(&self, access_key_id: &str, secret: &str, session_token: Option<&str>) {
        self.control(
            "POST",
            "/__proxy/keys",
            json!({ "access_key_id": access_key_id, "secret_access_key": secret,
                    "session_token": session_token }),
        );
    }

    /// Turns the proxy's own signature check on or off.
    pub fn set_proxy_verifies(&self, on: bool) {
        self.control("POST", "/__proxy/verify", json!({ "enabled": on }));
    }

    /// Turns moto's signature and policy checks on (`INITIAL_NO_AUTH_ACTION_COUNT` 0) or off.
    pub fn set_moto_checks_signatures(&self, on: bool) {
        let count = if on { "0" } else { "inf" };
        match http(
            self.moto_port,
            "POST",
            "/moto-api/reset-auth",
            "text/plain",
            count.as_bytes(),
        ) {
            Ok((200, _)) => {}
            Ok((status, body)) => panic!("moto's reset-auth answered {status}: {body}"),
            Err(e) => panic!("moto's reset-auth failed: {e}\n{}", self.logs()),
        }
    }

    /// The test venv's Python.
    pub fn python(&self) -> &Path {
        &self.python
    }

    /// Environment for an AWS client talking to the peer as alice: the STS (and IAM) endpoint, her
    /// key, region us-east-1.
    pub fn client_env(&self) -> Vec<(String, String)> {
        let (akid, secret) = self.user_key();
        [
            ("AWS_ENDPOINT_URL_STS", self.endpoint()),
            ("AWS_ENDPOINT_URL_IAM", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", akid),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The venv's Python with no `AWS_*` from the test's environment, no config files, and
    /// [`StsPeer::client_env`] set: ready for a boto3 snippet.
    pub fn python_command(&self) -> Command {
        let mut cmd = clean_python(&self.python);
        cmd.envs(self.client_env());
        cmd
    }

    /// The recent stderr of moto and the proxy, for assertion messages.
    pub fn logs(&self) -> String {
        format!(
            "sts_proxy.py stderr:\n{}\nmoto stderr:\n{}",
            self.proxy.stderr(),
            self.moto.stderr()
        )
    }

    fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        match http(self.proxy_port, method, path, "application/json", &body) {
            Ok((200, text)) => serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{method} {path}: answer is not JSON ({e}): {text}")),
            Ok((status, text)) => {
                panic!("{method} {path}: the STS proxy answered {status}: {text}")
            }
            Err(e) => panic!("{method} {path}: {e}\n{}", self.logs()),
        }
    }
}

/// A child process killed (and reaped) on drop, its stderr kept for error messages.
struct Process {
    name: &'static str,
    child: Child,
    /// Held open: the child exits when it closes, i.e. when this process dies without dropping it.
    _stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl Process {
    /// Spawns `cmd` with piped stdio; returns the process and receivers of its stdout and stderr lines
    /// (disconnected when the stream closes).
    fn spawn(
        name: &'static str,
        mut cmd: Command,
    ) -> Result<(Process, Receiver<String>, Receiver<String>), String> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("could not run {name} ({:?}): {e}", cmd.get_program()))?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let (out_lines, _) = forward_lines(child.stdout.take().unwrap(), None);
        let (err_lines, reader) = forward_lines(child.stderr.take().unwrap(), Some(stderr.clone()));
        let stdin = child.stdin.take();
        let process = Process {
            name,
            child,
            _stdin: stdin,
            stderr,
            stderr_reader: Some(reader),
        };
        Ok((process, out_lines, err_lines))
    }

    /// Waits for a line matching `want`; an error naming the process and quoting its stderr when it
    /// exits first or `timeout` passes.
    fn wait_for_line(
        &mut self,
        lines: &Receiver<String>,
        timeout: Duration,
        want: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if want(&line) => return Ok(line),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "{} did not get ready within {timeout:?}; its stderr:\n{}",
                        self.name,
                        self.stderr()
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let how = match self.wait_exit(Duration::from_secs(2)) {
                        Some(status) => format!("exited ({status})"),
                        None => "closed its output".to_string(),
                    };
                    return Err(format!(
                        "{} {how} before it was ready; its stderr:\n{}",
                        self.name,
                        self.stderr()
                    ));
                }
            }
        }
    }

    /// Waits up to `within` for the child to exit (it has closed its output); once it has, its
    /// stderr is fully collected.
    fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    if let Some(reader) = self.stderr_reader.take() {
                        let _ = reader.join();
                    }
                    return Some(status);
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) | Err(_) => return None,
            }
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `stream` line by line on a thread: each line goes to the returned receiver (while anyone
/// listens) and, if given, to the tail buffer `keep`.
fn forward_lines(
    stream: impl Read + Send + 'static,
    keep: Option<Arc<Mutex<String>>>,
) -> (Receiver<String>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut raw = Vec::new();
        loop {
            raw.clear();
            match reader.read_until(b'\n', &mut raw) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&raw).trim_end().to_string();
            if let Some(keep) = &keep {
                if let Ok(mut buf) = keep.lock() {
                    buf.push_str(&line);
                    buf.push('\n');
                    if buf.len() > STDERR_KEPT {
                        let mut cut = buf.len() - STDERR_KEPT;
                        while !buf.is_char_boundary(cut) {
                            cut += 1;
                        }
                        buf.drain(..cut);
                    }
                }
            }
            let _ = tx.send(line);
        }
    });
    (rx, reader)
}

/// The venv's Python with the test's `AWS_*` variables removed and no shared config or IMDS, so the
/// developer's own AWS setup can't leak in.
fn clean_python(python: &Path) -> Command {
    let mut cmd = Command::new(python);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

/// Runs `cmd` to completion within `timeout`; its stdout, or an error with its stderr.
fn run_to_end(name: &'static str, cmd: Command, timeout: Duration) -> Result<String, String> {
    let (mut process, out, _) = Process::spawn(name, cmd)?;
    let deadline = Instant::now() + timeout;
    let mut stdout = String::new();
    loop {
        match out.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                stdout.push_str(&line);
                stdout.push('\n');
            }
            Err(RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "{name} did not finish within {timeout:?}; its stderr:\n{}",
                    process.stderr()
                ))
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    match process.wait_exit(deadline.saturating_duration_since(Instant::now())) {
        Some(status) if status.success() => Ok(stdout),
        Some(status) => Err(format!(
            "{name} failed ({status}); its stderr:\n{}",
            process.stderr()
        )),
        None => Err(format!(
            "{name} did not exit within {timeout:?}; its stderr:\n{}",
            process.stderr()
        )),
    }
}

fn parse_port(text: &str) -> Option<u16> {
    text.trim().parse().ok().filter(|p| *p != 0)
}

/// A one-shot HTTP/1.1 exchange with 127.0.0.1:`port`: (status, body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> Result<(u16, String), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let what = format!("{method} http://{addr}{path}");
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("{what}: cannot connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .and_then(|_| stream.set_write_timeout(Some(Duration::from_secs(30))))
        .map_err(|e| format!("{what}: {e}"))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(body))
        .map_err(|e| format!("{what}: cannot send: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("{what}: cannot read the answer: {e}"))?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            format!(
                "{what}: no HTTP header in {:?}",
                String::from_utf8_lossy(&raw)
            )
        })?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut payload = raw[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{what}: bad status line in {head:?}"))?;
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        payload = dechunk(&payload).ok_or_else(|| format!("{what}: bad chunked body"))?;
    }
    Ok((status, String::from_utf8_lossy(&payload).to_string()))
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}
