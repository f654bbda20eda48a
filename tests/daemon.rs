//! The daemon and the std-only `awsenv-credential-process` client, as real processes: `awsenv daemon
//! run|start|stop|status`, concurrent clients behind one MFA prompt (shown on a real pseudo-terminal),
//! a daemon killed with SIGKILL and replaced, its folder and socket permissions, a client of another
//! user, malformed and hostile messages, a daemon out of file descriptors, a client leaving in the
//! middle of its prompt, the AWS CLI and boto3 through `credential_process`, and a daemon that speaks
//! another protocol.
//!
//! Each test gets its own HOME, its own runtime folder (`$HOME/run`, 0700) and its own kernel session
//! keyring: the test runs itself again under `keyctl session -` in a user namespace of its own
//! ([`common::in_session_keyring`]), so the daemon and every client it starts share that keyring, as
//! they would in a login session. The two tests that need a real second user (65534) run outside it:
//! they touch no keychain. Tests that need STS get a real moto behind the counting, signature-checking
//! proxy that also plays alice's MFA device. Everything a test starts dies with it, also when it
//! panics: [`World`]'s drop kills every process that still runs with the test's HOME in its
//! environment.

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::process::{
    kill_processes_of, processes_of, run_to_end, signal, text, wait_until, SIGKILL, SIGTERM,
};
use common::sts_peer::{StsPeer, SESSION_NAME};
use serde_json::{json, Value};

const CODE: &str = "123456";
const WAITING: &str = "waiting for the MFA code being entered in another terminal (profile dev)";
/// What an `awsenv` command may take at most before the test calls it hung.
const COMMAND_LIMIT: Duration = Duration::from_secs(30);

extern "C" {
    fn setsid() -> i32;
}

/// One test's HOME, runtime folder and (when it needs STS) peer.
struct World {
    home: tempfile::TempDir,
    peer: Option<StsPeer>,
}

impl Drop for World {
    fn drop(&mut self) {
        kill_processes_of(self.home());
    }
}

impl World {
    /// A world without STS (the daemon's own behaviour).
    fn bare() -> World {
        let home = tempfile::tempdir().unwrap();
        let run = home.path().join("run");
        std::fs::create_dir(&run).unwrap();
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
        World { home, peer: None }
    }

    /// A world with the STS peer and alice: her keys in `~/.aws/credentials`, her MFA device, the
    /// role profile `dev` behind an MFA session, and `viaprocess`, which asks awsenv for `dev`
    /// through `credential_process`. `None` (a skip) when the peer is missing outside CI.
    fn with_peer() -> Option<World> {
        let peer = StsPeer::start()?;
        let mut w = World::bare();
        let mfa = peer.mfa_serial().to_string();
        let config = format!(
            "[profile alice]\nmfa_serial = {mfa}\nregion = us-east-1\n\n\
             [profile dev]\nrole_arn = {dev}\nsource_profile = alice\nmfa_serial = {mfa}\n\
             role_session_name = {SESSION_NAME}\nregion = us-east-1\n\n\
             [profile viaprocess]\ncredential_process = awsenv-credential-process dev\nregion = us-east-1\n",
            dev = peer.role_arn("dev"),
        );
        common::write_file(w.home(), ".aws/config", &config);
        let (akid, secret) = peer.user_key();
        common::write_file(
            w.home(),
            ".aws/credentials",
            &format!("[alice]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n"),
        );
        peer.set_mfa_code(CODE);
        w.peer = Some(peer);
        Some(w)
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    fn peer(&self) -> &StsPeer {
        self.peer.as_ref().expect("this world has an STS peer")
    }

    fn runtime_root(&self) -> PathBuf {
        self.home().join("run")
    }

    /// The daemon's folder: `$XDG_RUNTIME_DIR/awsenv`.
    fn run_dir(&self) -> PathBuf {
        self.runtime_root().join("awsenv")
    }

    fn socket(&self) -> PathBuf {
        self.run_dir().join("daemon.sock")
    }

    /// `program` with a clean environment for this world, no stdin and no controlling terminal.
    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut path = vec![common::bin("awsenv").parent().unwrap().to_path_buf()];
        if let Some(venv) = std::env::var_os("AWSENV_TEST_VENV") {
            path.push(PathBuf::from(venv).join("bin"));
        } else {
            path.push(common::repo_root().join(".venv/bin"));
        }
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .env("HOME", self.home())
            .env("XDG_RUNTIME_DIR", self.runtime_root())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("AWSENV_KEYCHAIN", "keyutils")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("PATH", std::env::join_paths(path).unwrap())
            .stdin(Stdio::null());
        if let Some(peer) = &self.peer {
            cmd.env("AWS_ENDPOINT_URL_STS", peer.endpoint());
        }
        // SAFETY: setsid(2) is async-signal-safe; it leaves the child without a controlling
        // terminal, so nothing can prompt unless a test gives it one.
        unsafe {
            cmd.pre_exec(|| {
                setsid();
                Ok(())
            });
        }
        cmd
    }

    fn awsenv(&self, args: &[&str]) -> Output {
        run_to_end(self.command(&common::bin("awsenv"), args), COMMAND_LIMIT)
    }

    /// `awsenv-credential-process PROFILE`.
    fn client(&self, profile: &str) -> Output {
        run_to_end(
            self.command(&common::bin("awsenv-credential-process"), &[profile]),
            COMMAND_LIMIT,
        )
    }

    /// `awsenv daemon start`; the daemon's pid.
    fn start_daemon(&self) -> i32 {
        let out = self.awsenv(&["daemon", "start"]);
        assert!(
            out.status.success(),
            "daemon start: {}\n{}",
            text(&out.stderr),
            self.daemon_log()
        );
        self.status()["pid"]
            .as_i64()
            .unwrap_or_else(|| panic!("no pid in the status\n{}", self.daemon_log())) as i32
    }

    /// `awsenv daemon status --json` (null when none runs).
    fn status(&self) -> Value {
        let out = self.awsenv(&["daemon", "status", "--json"]);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "daemon status --json printed no JSON ({e}): {}{}",
                text(&out.stdout),
                text(&out.stderr)
            )
        })
    }

    /// The pids of `awsenv daemon run` processes of this world.
    fn daemon_pids(&self) -> Vec<i32> {
        processes_of(self.home())
            .into_iter()
            .filter(|(_, cmdline)| cmdline.contains("daemon run"))
            .map(|(pid, _)| pid)
            .collect()
    }

    fn daemon_log(&self) -> String {
        let log = std::fs::read_to_string(self.run_dir().join("daemon.log")).unwrap_or_default();
        let peer = self.peer.as_ref().map(StsPeer::logs).unwrap_or_default();
        format!("daemon.log:\n{log}\n{peer}")
    }

    /// The MFA prompt the client shows for `dev`.
    fn prompt(&self) -> String {
        format!("MFA code for {} (profile dev): ", self.peer().mfa_serial())
    }
}

/// Whether `pid` has ended (gone, or a zombie nobody reaped yet).
fn ended(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

/// The credentials a successful `awsenv-credential-process` printed: exactly one JSON object on
/// stdout, in the shape every SDK reads, and nothing on stderr.
fn credentials(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "awsenv-credential-process failed ({}): {}",
        out.status,
        text(&out.stderr)
    );
    assert_eq!(text(&out.stderr), "", "nothing on stderr on success");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            text(&out.stdout)
        )
    });
    assert_eq!(v["Version"], json!(1), "{v}");
    for k in [
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
    ] {
        assert!(v[k].is_string(), "{k} missing in {v}");
    }
    let exp = v["Expiration"].as_str().unwrap();
    assert!(exp.len() == 20 && exp.ends_with('Z'), "Expiration {exp}");
    v
}

/// A raw connection to the daemon, speaking the protocol by hand.
struct Raw {
    stream: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Raw {
    fn connect(socket: &Path) -> Raw {
        let stream = UnixStream::connect(socket)
            .unwrap_or_else(|e| panic!("connect {}: {e}", socket.display()));
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Raw { stream, reader }
    }

    /// Sends bytes as they are (a broken pipe is not an error here: the daemon may have answered and
    /// closed before reading all of an oversized line).
    fn send_bytes(&mut self, bytes: &[u8]) {
        match self.stream.write_all(bytes) {
            Ok(()) => {}
            Err(e) if matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset) => {}
            Err(e) => panic!("send: {e}"),
        }
    }

    fn send(&mut self, message: &Value) {
        self.send_bytes(format!("{message}\n").as_bytes());
    }

    /// The next message line; `None` when the daemon closed the connection.
    fn next(&mut self) -> Option<Value> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            // After a reply the daemon may close with part of an oversized request unread, which
            // resets the connection once the reply has been read.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => None,
            Err(e) => panic!("read from the daemon: {e}"),
            Ok(_) => Some(serde_json::from_str(&line).unwrap_or_else(|e| {
                panic!("the daemon sent a line that is not JSON ({e}): {line:?}")
            })),
        }
    }

    /// Every message until the daemon closes.
    fn rest(&mut self) -> Vec<Value> {
        std::iter::from_fn(|| self.next()).collect()
    }
}

/// One request, every message of the answer.
fn ask(socket: &Path, bytes: &[u8]) -> Vec<Value> {
    let mut raw = Raw::connect(socket);
    raw.send_bytes(bytes);
    raw.rest()
}

fn credentials_request(profile: &str) -> Value {
    json!({"v": 1, "op": "credentials", "profile": profile, "env": {}})
}

fn status_request() -> Vec<u8> {
    b"{\"v\":1,\"op\":\"status\"}\n".to_vec()
}

/// Whether the test runs as root (needed to act as another user).
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The runner of the concurrent clients, run on a pseudo-terminal by `script`: `$2` clients at once,
/// each one's stdout, stderr and exit code in files under `$1`; the terminal is theirs to prompt on.
const DRIVER: &str = r#"set -u
cd "$1" || exit 1
mkdir -p out err rc
i=0
while [ "$i" -lt "$2" ]; do
  i=$((i + 1))
  ( awsenv-credential-process dev >"out/$i" 2>"err/$i"; echo $? >"rc/$i" ) &
done
wait
echo ALL-CLIENTS-DONE
"#;

#[test]
fn two_hundred_concurrent_clients_share_one_prompt_and_one_call_of_each_kind() {
    if !common::in_session_keyring(
        "two_hundred_concurrent_clients_share_one_prompt_and_one_call_of_each_kind",
    ) {
        return;
    }
    let Some(script) = common::require_program("script") else {
        return;
    };
    let Some(w) = World::with_peer() else { return };
    const CLIENTS: usize = 200;
    w.start_daemon();
    let started = Instant::now();
    let work = w.home().join("clients");
    std::fs::create_dir(&work).unwrap();
    let driver = common::write_file(w.home(), "driver.sh", DRIVER);
    // All the clients share one terminal, as callers started from one shell would; the prompt and
    // the "waiting" notices go to it (through /dev/tty), and we type the code into it.
    let line = format!("bash {} {} {CLIENTS}", driver.display(), work.display());
    let mut cmd = w.command(&script, &["-qfec", &line, "/dev/null"]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut terminal = cmd.spawn().expect("run script");
    let transcript = Arc::new(Mutex::new(String::new()));
    let reader = {
        let transcript = transcript.clone();
        let mut out = terminal.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                transcript
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let seen = |s: &str| transcript.lock().unwrap().matches(s).count();
    let prompt = w.prompt();
    // The code is typed only once every other client is queued behind the prompt.
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen(&prompt) < 1 || seen(WAITING) < CLIENTS - 1 {
        assert!(
            Instant::now() < deadline,
            "expected one prompt and {} waiting notices; the terminal shows {} and {}:\n{}\n{}",
            CLIENTS - 1,
            seen(&prompt),
            seen(WAITING),
            transcript.lock().unwrap(),
            w.daemon_log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let queued = started.elapsed();
    assert_eq!(
        w.peer().count("GetSessionToken"),
        0,
        "no STS call before the code"
    );
    let mut stdin = terminal.stdin.take().unwrap();
    stdin.write_all(format!("{CODE}\n").as_bytes()).unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !transcript.lock().unwrap().contains("ALL-CLIENTS-DONE") {
        assert!(
            Instant::now() < deadline,
            "the clients did not finish:\n{}\n{}",
            transcript.lock().unwrap(),
            w.daemon_log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let total = started.elapsed();
    drop(stdin);
    let _ = terminal.wait();
    let _ = reader.join();
    let transcript = transcript.lock().unwrap().clone();

    let mut first: Option<Value> = None;
    for i in 1..=CLIENTS {
        let read = |dir: &str| std::fs::read(work.join(dir).join(i.to_string())).unwrap();
        let rc: i32 = text(&read("rc")).trim().parse().unwrap();
        let out = Output {
            status: ExitStatus::from_raw(rc << 8),
            stdout: read("out"),
            stderr: read("err"),
        };
        let creds = credentials(&out);
        match &first {
            None => first = Some(creds),
            Some(f) => assert_eq!(&creds, f, "client {i} got other credentials"),
        }
    }
    assert_eq!(
        seen_in(&transcript, &prompt),
        1,
        "one prompt:\n{transcript}"
    );
    assert_eq!(
        seen_in(&transcript, &format!("awsenv: {WAITING}")),
        CLIENTS - 1,
        "everyone else is told why they wait:\n{transcript}"
    );
    assert_eq!(
        w.peer().count("GetSessionToken"),
        1,
        "{:?}",
        w.peer().counts()
    );
    assert_eq!(w.peer().count("AssumeRole"), 1, "{:?}", w.peer().counts());
    eprintln!("{CLIENTS} clients: all queued after {queued:.1?}, all served after {total:.1?}");
}

fn seen_in(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn a_daemon_killed_with_sigkill_is_replaced_and_serves_from_the_keychain() {
    if !common::in_session_keyring(
        "a_daemon_killed_with_sigkill_is_replaced_and_serves_from_the_keychain",
    ) {
        return;
    }
    let Some(w) = World::with_peer() else { return };
    // `login` starts the daemon, which makes the MFA session.
    let out = w.awsenv(&["login", "dev", "--token-code", CODE]);
    assert!(out.status.success(), "login: {}", text(&out.stderr));
    assert_eq!(w.peer().count("GetSessionToken"), 1);
    assert_eq!(w.peer().count("AssumeRole"), 0);
    let pids = w.daemon_pids();
    assert_eq!(pids.len(), 1, "login started one daemon: {pids:?}");

    signal(pids[0], SIGKILL);
    wait_until(Duration::from_secs(5), "the daemon dies", || ended(pids[0]));
    assert!(w.socket().exists(), "SIGKILL leaves the socket file behind");

    // Eight clients at once find no daemon: each tries to start one, one wins, all are served, from
    // the MFA session in the keychain (no client has a terminal: a prompt would fail them).
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let cmd = w.command(&common::bin("awsenv-credential-process"), &["dev"]);
            std::thread::spawn(move || run_to_end(cmd, COMMAND_LIMIT))
        })
        .collect();
    let outs: Vec<Output> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let first = credentials(&outs[0]);
    for out in &outs[1..] {
        assert_eq!(credentials(out), first);
    }
    assert_eq!(w.peer().count("GetSessionToken"), 1, "no new MFA session");
    assert_eq!(w.peer().count("AssumeRole"), 1);
    let second = w.daemon_pids();
    assert_eq!(second.len(), 1, "exactly one new daemon: {second:?}");
    assert_ne!(second[0], pids[0]);

    // Once more: the role credentials, too, were written through to the keychain.
    signal(second[0], SIGKILL);
    wait_until(Duration::from_secs(5), "the daemon dies", || {
        ended(second[0])
    });
    assert_eq!(credentials(&w.client("dev")), first);
    assert_eq!(w.peer().count("GetSessionToken"), 1);
    assert_eq!(w.peer().count("AssumeRole"), 1, "served from the keychain");
    assert_eq!(w.daemon_pids().len(), 1);
}

#[test]
fn daemon_lifecycle_start_status_single_instance_stale_socket_stop() {
    if !common::in_session_keyring(
        "daemon_lifecycle_start_status_single_instance_stale_socket_stop",
    ) {
        return;
    }
    let w = World::bare();
    let sock = w.socket();

    let out = w.awsenv(&["daemon", "status"]);
    assert_eq!(out.status.code(), Some(3), "status with no daemon");
    assert!(
        text(&out.stderr).contains("no daemon is running"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(w.status(), Value::Null);

    let pid = w.start_daemon();
    assert_eq!(w.daemon_pids(), vec![pid]);
    let dir = std::fs::symlink_metadata(w.run_dir()).unwrap();
    assert!(dir.is_dir());
    assert_eq!(
        dir.permissions().mode() & 0o777,
        0o700,
        "the folder is 0700"
    );
    let meta = std::fs::symlink_metadata(&sock).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "the socket is 0600"
    );

    let status = w.status();
    assert_eq!(status["protocol"], json!(1), "{status}");
    assert_eq!(status["version"], json!(env!("CARGO_PKG_VERSION")));
    assert_eq!(status["socket"], json!(sock.display().to_string()));
    assert!(
        status["keychain"].as_str().unwrap().contains("keyutils"),
        "{status}"
    );
    let out = w.awsenv(&["daemon", "status"]);
    assert!(out.status.success());
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with(&format!("running   pid {pid}, awsenv ")),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("socket    {}\n", sock.display())),
        "{shown}"
    );
    assert!(
        shown.contains("keychain  ") && shown.contains("keyutils"),
        "{shown}"
    );
    assert!(shown.contains("requests served"), "{shown}");

    // A second start is a no-op; a second `run` is refused and leaves the first one alone.
    let out = w.awsenv(&["daemon", "start"]);
    assert!(out.status.success());
    assert!(
        text(&out.stderr).contains(&format!("already running (pid {pid})")),
        "{}",
        text(&out.stderr)
    );
    let out = w.awsenv(&["daemon", "run"]);
    assert!(!out.status.success(), "a second daemon must not run");
    assert!(
        text(&out.stderr).contains("an awsenv daemon is already running"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        w.status()["pid"],
        json!(pid),
        "the first daemon still serves"
    );
    assert_eq!(w.daemon_pids(), vec![pid]);

    // Killed: the socket file stays, answers nothing, and the next start replaces it.
    signal(pid, SIGKILL);
    wait_until(Duration::from_secs(5), "the daemon dies", || ended(pid));
    assert!(sock.exists(), "a killed daemon leaves its socket");
    assert_eq!(w.awsenv(&["daemon", "status"]).status.code(), Some(3));
    let pid2 = w.start_daemon();
    assert_ne!(pid2, pid);
    assert_eq!(w.status()["pid"], json!(pid2));

    // stop: the daemon exits and removes its socket.
    let out = w.awsenv(&["daemon", "stop"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("daemon stopped"),
        "{}",
        text(&out.stderr)
    );
    assert!(!sock.exists(), "stop removes the socket");
    wait_until(Duration::from_secs(5), "the daemon exits", || ended(pid2));
    assert_eq!(w.awsenv(&["daemon", "status"]).status.code(), Some(3));
    let out = w.awsenv(&["daemon", "stop"]);
    assert!(out.status.success());
    assert!(
        text(&out.stderr).contains("no daemon is running"),
        "{}",
        text(&out.stderr)
    );

    // SIGTERM is a clean shutdown too.
    let pid3 = w.start_daemon();
    signal(pid3, SIGTERM);
    wait_until(Duration::from_secs(5), "SIGTERM stops the daemon", || {
        ended(pid3)
    });
    assert!(!sock.exists(), "SIGTERM removes the socket");
}

#[test]
fn an_unsafe_runtime_folder_is_refused_by_the_daemon_and_the_client() {
    // No keychain is touched here, and the folder must belong to a real other user: this runs in the
    // test's own user namespace, not in a session keyring's (where only root is mapped).
    if !is_root() {
        let _: Option<()> = common::missing("root", "the test chowns a folder to another user");
        return;
    }
    // (case, how to make the folder, what the refusal says)
    type Make = fn(&Path) -> PathBuf;
    let cases: [(&str, Make, &str); 3] = [
        (
            "a symbolic link",
            |dir| {
                let real = dir.with_file_name("elsewhere");
                std::fs::create_dir(&real).unwrap();
                std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
                std::os::unix::fs::symlink(&real, dir).unwrap();
                real
            },
            "is a symbolic link",
        ),
        (
            "owned by another user",
            |dir| {
                std::fs::create_dir(dir).unwrap();
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
                std::os::unix::fs::chown(dir, Some(65534), Some(65534)).unwrap();
                dir.to_path_buf()
            },
            "belongs to user 65534, not to you (0)",
        ),
        (
            "mode 0755",
            |dir| {
                std::fs::create_dir(dir).unwrap();
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
                dir.to_path_buf()
            },
            "can be entered by other users (mode 755)",
        ),
    ];
    for (case, make, says) in cases {
        let w = World::bare();
        let real = make(&w.run_dir());
        for args in [&["daemon", "run"][..], &["daemon", "start"]] {
            let out = w.awsenv(args);
            assert!(!out.status.success(), "{case}: {args:?} must fail");
            assert!(
                text(&out.stderr).contains(says),
                "{case}: {args:?} says {}",
                text(&out.stderr)
            );
        }
        assert!(w.daemon_pids().is_empty(), "{case}: no daemon runs");
        assert!(
            !real.join("daemon.sock").exists(),
            "{case}: no socket was made"
        );

        // Someone else's "daemon" listening in that folder: the client does not even connect to it
        // (it would hand out that user's credentials and read our MFA codes).
        let fake = UnixListener::bind(real.join("daemon.sock")).unwrap();
        fake.set_nonblocking(true).unwrap();
        let out = w.client("dev");
        assert!(!out.status.success(), "{case}: the client must refuse");
        assert!(
            text(&out.stderr).contains(says),
            "{case}: the client says {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), "");
        assert!(
            matches!(fake.accept(), Err(e) if e.kind() == ErrorKind::WouldBlock),
            "{case}: the client connected to a socket in an unsafe folder"
        );
        let out = w.awsenv(&["daemon", "status"]);
        assert!(
            !out.status.success() && text(&out.stderr).contains(says),
            "{case}"
        );
        assert!(w.daemon_pids().is_empty(), "{case}: no daemon was started");
    }
}

#[test]
fn a_client_of_another_user_is_refused_and_the_daemon_goes_on() {
    // As above: user 65534 must exist, so no user namespace; the daemon touches no keychain here.
    let Some(setpriv) = common::require_program("setpriv") else {
        return;
    };
    if !is_root() {
        let _: Option<()> = common::missing("root", "the test acts as user 65534 with setpriv");
        return;
    }
    // A Python every user can run (the test venv lives under a private folder on some machines).
    let python = Path::new("/usr/bin/python3");
    if !python.is_file() {
        let _: Option<()> = common::missing("/usr/bin/python3", "apt-get install python3");
        return;
    }
    let w = World::bare();
    w.start_daemon();
    let before = w.status()["requests"].as_i64().unwrap();
    // Let user 65534 reach the socket: the daemon checked its folder when it started; loosen the
    // folders and the socket now, as a misconfiguration would.
    for (p, mode) in [
        (w.home().to_path_buf(), 0o711),
        (w.runtime_root(), 0o711),
        (w.run_dir(), 0o711),
        (w.socket(), 0o666),
    ] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let as_nobody = |program: &Path, args: &[&str]| {
        let mut cmd = w.command(
            &setpriv,
            &["--reuid=65534", "--regid=65534", "--clear-groups"],
        );
        cmd.arg(program).args(args).env("HOME", "/nonexistent");
        run_to_end(cmd, COMMAND_LIMIT)
    };
    // The daemon answers before reading and closes with the request unread, so the send may meet a
    // closed socket and the connection is reset once the answer has been read: read until then.
    const RAW_CLIENT: &str = "import socket, sys\n\
        s = socket.socket(socket.AF_UNIX)\n\
        s.connect(sys.argv[1])\n\
        try:\n\
        \x20   s.sendall(sys.argv[2].encode() + b'\\n')\n\
        except (BrokenPipeError, ConnectionResetError):\n\
        \x20   pass\n\
        data = b''\n\
        while True:\n\
        \x20   try:\n\
        \x20       chunk = s.recv(65536)\n\
        \x20   except ConnectionResetError:\n\
        \x20       break\n\
        \x20   if not chunk:\n\
        \x20       break\n\
        \x20   data += chunk\n\
        sys.stdout.write(data.decode())\n";
    for request in [
        json!({"v": 1, "op": "credentials", "profile": "dev", "env": {}}),
        json!({"v": 1, "op": "shutdown"}),
    ] {
        let sock = w.socket().display().to_string();
        let out = as_nobody(python, &["-c", RAW_CLIENT, &sock, &request.to_string()]);
        assert!(out.status.success(), "raw client: {}", text(&out.stderr));
        let reply: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
        assert_eq!(reply["v"], json!(1), "{reply}");
        assert_eq!(reply["ok"], json!(false), "{reply}");
        assert_eq!(reply["error"]["code"], json!("forbidden"), "{reply}");
        assert!(
            reply["error"]["message"]
                .as_str()
                .unwrap()
                .contains("serves only the user who started it"),
            "{reply}"
        );
    }
    // The real client, as that user, does not even talk to a daemon in a folder that is not theirs.
    let out = as_nobody(&common::bin("awsenv-credential-process"), &["dev"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not to you (65534)"),
        "{}",
        text(&out.stderr)
    );
    // The daemon goes on, and did not count the refused requests. (Our own client, too, talks to it
    // only once its folder is private again.)
    std::fs::set_permissions(w.run_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let status = w.status();
    assert_eq!(status["requests"].as_i64().unwrap(), before + 1, "{status}");
    assert_eq!(w.daemon_pids().len(), 1);
}

#[test]
fn bad_messages_get_error_replies_and_the_daemon_goes_on_serving() {
    if !common::in_session_keyring("bad_messages_get_error_replies_and_the_daemon_goes_on_serving")
    {
        return;
    }
    let w = World::bare();
    w.start_daemon();
    let sock = w.socket();
    // Clients that connect and say nothing: the others must be served meanwhile.
    let silent: Vec<Raw> = (0..20).map(|_| Raw::connect(&sock)).collect();
    let opened = Instant::now();

    let mut oversized = br#"{"v":1,"op":"status","pad":""#.to_vec();
    oversized.resize(70 * 1024, b'x');
    oversized.extend_from_slice(b"\"}\n");
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "malformed JSON",
            b"{\"v\":1,\"op\":\n".to_vec(),
            "bad_request",
            "the request is not JSON",
        ),
        (
            "not UTF-8",
            b"\xff\xfe{}\n".to_vec(),
            "bad_request",
            "not UTF-8",
        ),
        (
            "unknown op",
            b"{\"v\":1,\"op\":\"frobnicate\"}\n".to_vec(),
            "bad_request",
            "unknown request `frobnicate`",
        ),
        ("no op", b"{\"v\":1}\n".to_vec(), "bad_request", "no op"),
        (
            "credentials without a profile",
            b"{\"v\":1,\"op\":\"credentials\"}\n".to_vec(),
            "bad_request",
            "needs a profile",
        ),
        (
            "protocol version 2",
            b"{\"v\":2,\"op\":\"status\"}\n".to_vec(),
            "version",
            "client speaks protocol 2; restart the daemon with `awsenv daemon stop`",
        ),
        (
            "no protocol version",
            b"{\"op\":\"status\"}\n".to_vec(),
            "version",
            "restart the daemon with `awsenv daemon stop`",
        ),
        (
            "a 70 KiB line",
            oversized,
            "too_large",
            "longer than 65536 bytes",
        ),
    ];
    for (case, bytes, code, says) in &cases {
        let replies = ask(&sock, bytes);
        assert_eq!(
            replies.len(),
            1,
            "{case}: one reply, then the daemon closes: {replies:?}"
        );
        let r = &replies[0];
        assert_eq!(r["v"], json!(1), "{case}: {r}");
        assert_eq!(r["ok"], json!(false), "{case}: {r}");
        assert_eq!(r["error"]["code"], json!(code), "{case}: {r}");
        let message = r["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{case}: {message}");
    }

    // Half a message, then the client closes its side, or goes away: no reply, no harm.
    let mut half = Raw::connect(&sock);
    half.send_bytes(br#"{"v":1,"op":"sta"#);
    half.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(
        half.rest(),
        Vec::<Value>::new(),
        "a half-sent message gets no reply"
    );
    let mut gone = Raw::connect(&sock);
    gone.send_bytes(br#"{"v":1,"op":"cred"#);
    drop(gone);

    // Meanwhile the silent clients still hold their connections, and status answers at once.
    let t = Instant::now();
    let replies = ask(&sock, &status_request());
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "status took {:?}",
        t.elapsed()
    );
    assert_eq!(replies[0]["ok"], json!(true), "{replies:?}");
    assert!(
        opened.elapsed() < Duration::from_secs(9),
        "the checks took too long to prove anything"
    );
    // The silent ones are dropped at the request deadline (10 s), without a reply.
    for mut s in silent {
        assert_eq!(s.rest(), Vec::<Value>::new());
    }
    let waited = opened.elapsed();
    assert!(
        (Duration::from_secs(9)..Duration::from_secs(15)).contains(&waited),
        "silent clients dropped after {waited:?}"
    );
    let replies = ask(&sock, &status_request());
    assert_eq!(replies[0]["ok"], json!(true), "{replies:?}");
    assert_eq!(w.daemon_pids().len(), 1);
}

#[test]
fn a_client_leaving_during_its_mfa_prompt_passes_the_prompt_to_the_next_waiter() {
    if !common::in_session_keyring(
        "a_client_leaving_during_its_mfa_prompt_passes_the_prompt_to_the_next_waiter",
    ) {
        return;
    }
    let Some(w) = World::with_peer() else { return };
    w.start_daemon();
    let sock = w.socket();
    let mut first = Raw::connect(&sock);
    first.send(&credentials_request("dev"));
    let asked = first.next().expect("an event");
    assert_eq!(asked["event"], json!("need_mfa"), "{asked}");
    assert_eq!(asked["serial"], json!(w.peer().mfa_serial()), "{asked}");
    assert_eq!(asked["profile"], json!("dev"), "{asked}");
    assert_eq!(asked["v"], json!(1), "{asked}");

    // Two more wait behind the prompt; the first of them gives up while waiting.
    let mut waiters: Vec<Raw> = (0..2)
        .map(|_| {
            let mut w = Raw::connect(&sock);
            w.send(&credentials_request("dev"));
            let told = w.next().expect("an event");
            assert_eq!(told["event"], json!("waiting"), "{told}");
            assert_eq!(told["message"], json!(WAITING), "{told}");
            w
        })
        .collect();
    let mut second = waiters.pop().unwrap();
    drop(waiters);
    // A pending prompt holds up nobody else.
    let status = ask(&sock, &status_request());
    assert_eq!(status[0]["ok"], json!(true), "{status:?}");

    // The first client goes away in the middle of its prompt: the next live waiter is asked.
    drop(first);
    let asked = second.next().expect("the next waiter is asked");
    assert_eq!(asked["event"], json!("need_mfa"), "{asked}");
    assert_eq!(
        w.peer().count("GetSessionToken"),
        0,
        "nothing was made for the one who left"
    );
    second.send(&json!({"v": 1, "op": "mfa_code", "code": CODE}));
    let reply = second.next().expect("a reply");
    assert_eq!(reply["ok"], json!(true), "{reply}\n{}", w.daemon_log());
    assert_eq!(second.rest(), Vec::<Value>::new());
    assert_eq!(w.peer().count("GetSessionToken"), 1);
    assert_eq!(w.peer().count("AssumeRole"), 1);

    // What the second client got is what is cached; a client without a terminal gets it too.
    let creds = credentials(&w.client("dev"));
    assert_eq!(creds, reply["credentials"]);
    assert_eq!(w.peer().count("AssumeRole"), 1);
}

#[test]
fn aws_cli_and_boto3_get_the_role_through_credential_process() {
    if !common::in_session_keyring("aws_cli_and_boto3_get_the_role_through_credential_process") {
        return;
    }
    let Some(w) = World::with_peer() else { return };
    let Some(python) = common::venv_python() else {
        return;
    };
    let aws = python.with_file_name("aws");
    let out = w.awsenv(&["login", "dev", "--token-code", CODE]);
    assert!(out.status.success(), "login: {}", text(&out.stderr));
    let role = format!(
        "arn:aws:sts::{}:assumed-role/dev/{SESSION_NAME}",
        w.peer().account_id()
    );

    let out = run_to_end(
        w.command(
            &aws,
            &[
                "sts",
                "get-caller-identity",
                "--profile",
                "viaprocess",
                "--output",
                "json",
            ],
        ),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "aws: {}\n{}",
        text(&out.stderr),
        w.daemon_log()
    );
    let identity: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(identity["Arn"], json!(role), "{identity}");

    let out = run_to_end(
        w.command(
            &python,
            &[
                "-c",
                "import boto3\n\
                 print(boto3.Session(profile_name='viaprocess').client('sts')\
                 .get_caller_identity()['Arn'])",
            ],
        ),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "boto3: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), role);
    assert_eq!(w.peer().count("GetSessionToken"), 1);
    assert_eq!(
        w.peer().count("AssumeRole"),
        1,
        "boto3 was served from the cache"
    );
    assert_eq!(w.peer().count("GetCallerIdentity"), 2);
}

#[test]
fn the_client_names_the_fix_when_the_daemon_speaks_another_protocol() {
    // No daemon and no keychain here: a fake daemon answers on the socket.
    let w = World::bare();
    std::fs::create_dir(w.run_dir()).unwrap();
    std::fs::set_permissions(w.run_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let cases = [
        (
            "a reply of protocol 2",
            r#"{"v":2,"ok":true,"credentials":{"Version":1}}"#,
            "awsenv daemon speaks protocol version 2, this client 1; restart it with `awsenv daemon stop`",
        ),
        (
            "an event of protocol 2",
            r#"{"v":2,"event":"need_mfa","serial":"x","profile":"dev"}"#,
            "restart it with `awsenv daemon stop`",
        ),
        (
            "no protocol version",
            r#"{"ok":true,"credentials":{"Version":1}}"#,
            "has no protocol version; restart it with `awsenv daemon stop`",
        ),
        (
            "a newer daemon refusing protocol 1",
            r#"{"v":1,"ok":false,"error":{"code":"version","message":"awsenv daemon is version 9.0.0 (protocol 2) and the client speaks protocol 1; restart the daemon with `awsenv daemon stop`"}}"#,
            "restart the daemon with `awsenv daemon stop`",
        ),
    ];
    for (case, answer, says) in cases {
        let _ = std::fs::remove_file(w.socket());
        let listener = UnixListener::bind(w.socket()).unwrap();
        let answer = answer.to_string();
        let fake = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            (&stream)
                .write_all(format!("{answer}\n").as_bytes())
                .unwrap();
            // Hold the connection until the client has read and gone.
            let mut rest = Vec::new();
            let _ = reader.read_to_end(&mut rest);
            request
        });
        let out = w.client("dev");
        let request: Value = serde_json::from_str(&fake.join().unwrap()).unwrap();
        assert_eq!(request["v"], json!(1), "{case}: {request}");
        assert_eq!(request["op"], json!("credentials"), "{case}: {request}");
        assert_eq!(request["profile"], json!("dev"), "{case}: {request}");
        assert_eq!(out.status.code(), Some(1), "{case}");
        assert_eq!(text(&out.stdout), "", "{case}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with("awsenv-credential-process: "),
            "{case}: {err}"
        );
        assert!(err.contains(says), "{case}: {err}");
        assert_eq!(err.lines().count(), 1, "{case}: one line: {err}");
    }
    assert!(w.daemon_pids().is_empty(), "no daemon was started");

    // `daemon start` meeting a daemon of another protocol says what to do instead of claiming
    // success, and `daemon stop` still sends it `shutdown` (understood by every version).
    let _ = std::fs::remove_file(w.socket());
    let listener = UnixListener::bind(w.socket()).unwrap();
    let fake = std::thread::spawn(move || {
        let mut requests = Vec::new();
        for _ in 0..2 {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            (&stream)
                .write_all(b"{\"v\":2,\"ok\":true,\"status\":{}}\n")
                .unwrap();
            requests.push(request);
        }
        // Gone, as a daemon that obeyed `shutdown` would be.
        drop(listener);
        requests
    });
    let start = w.awsenv(&["daemon", "start"]);
    assert!(!start.status.success(), "start must not claim success");
    assert!(
        text(&start.stderr).contains("restart it with `awsenv daemon stop`"),
        "{}",
        text(&start.stderr)
    );
    let socket = w.socket();
    let stop = std::thread::spawn({
        let w_cmd = w.command(&common::bin("awsenv"), &["daemon", "stop"]);
        move || run_to_end(w_cmd, Duration::from_secs(10))
    });
    let requests = fake.join().unwrap();
    let _ = std::fs::remove_file(&socket);
    let stop = stop.join().unwrap();
    let ops: Vec<Value> = requests
        .iter()
        .map(|r| serde_json::from_str::<Value>(r).unwrap()["op"].clone())
        .collect();
    assert_eq!(ops, [json!("status"), json!("shutdown")]);
    assert!(stop.status.success(), "stop: {}", text(&stop.stderr));
    assert!(w.daemon_pids().is_empty(), "no daemon was started");
}

/// The CPU time (user + system, in clock ticks) `pid` has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 of stat(5); the list starts at field 3 (state).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn a_daemon_out_of_file_descriptors_waits_instead_of_spinning() {
    if !common::in_session_keyring("a_daemon_out_of_file_descriptors_waits_instead_of_spinning") {
        return;
    }
    let Some(prlimit) = common::require_program("prlimit") else {
        return;
    };
    let w = World::bare();
    let awsenv = common::bin("awsenv");
    let mut cmd = w.command(
        &prlimit,
        &["--nofile=40", awsenv.to_str().unwrap(), "daemon", "run"],
    );
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    // prlimit sets the limit on itself and then becomes the daemon.
    let mut daemon = cmd.spawn().unwrap();
    wait_until(Duration::from_secs(10), "the daemon listens", || {
        UnixStream::connect(w.socket()).is_ok()
    });
    // More silent clients than it has descriptors: the rest wait in the listen backlog.
    let silent: Vec<Raw> = (0..60).map(|_| Raw::connect(&w.socket())).collect();
    std::thread::sleep(Duration::from_millis(300));
    let before = cpu_ticks(daemon.id());
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(daemon.id()) - before;
    // Clock ticks are 1/100 s: a spinning accept loop burns about 100 a second.
    assert!(
        used < 30,
        "the daemon used {used} ticks in 1 s while out of descriptors"
    );
    // When the clients go, it serves again.
    drop(silent);
    let t = Instant::now();
    let replies = ask(&w.socket(), &status_request());
    assert_eq!(replies[0]["ok"], json!(true), "{replies:?}");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );
    signal(daemon.id() as i32, SIGTERM);
    assert!(daemon.wait().unwrap().success(), "SIGTERM is a clean exit");
}
