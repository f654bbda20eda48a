//! awsenv as an installed service and package: the systemd units that `awsenv service install` writes
//! pass `systemd-analyze verify --user` without a word, keep to hardening that leaves the keychain
//! reachable, and run the binary they were written for; the launchd agent parses with Python's
//! `plistlib` and has the keys launchd needs; the daemon started the way systemd starts it (a
//! listening socket on fd 3, `LISTEN_FDS`/`LISTEN_PID`) serves `awsenv-credential-process`, exits
//! when idle and leaves the socket to systemd for the next start; `install`, `uninstall` and `status`
//! with no user manager (the manager steps skipped and reported) and with a stand-in `systemctl` that
//! records what it is asked; and the .deb, built by `packaging/build-deb.sh` and unpacked with
//! `dpkg -x` into a scratch root, whose programs run from there.
//!
//! No test talks to a real user manager: each runs with its own HOME, `XDG_CONFIG_HOME` and
//! `XDG_RUNTIME_DIR` and without `DBUS_SESSION_BUS_ADDRESS`, so a real `systemctl --user` finds no
//! manager even on a desktop, and the machine's own services are never touched.

mod common;

use common::process::{kill_processes_of, run_to_end, signal, text, wait_until, SIGTERM};

use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// What an `awsenv` command may take at most before the test calls it hung.
const COMMAND_LIMIT: Duration = Duration::from_secs(60);

const F_SETFD: i32 = 2;

extern "C" {
    fn dup2(old: i32, new: i32) -> i32;
    fn fcntl(fd: i32, cmd: i32, arg: i32) -> i32;
}

/// One test's HOME (with `run/`, its `XDG_RUNTIME_DIR`, 0700). Every process still running with this
/// HOME in its environment is killed when it is dropped, also when the test panics.
struct Home {
    dir: tempfile::TempDir,
    /// Put first on PATH (for a stand-in `systemctl`).
    bin: Option<PathBuf>,
}

impl Drop for Home {
    fn drop(&mut self) {
        kill_processes_of(self.path());
    }
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir(&run).unwrap();
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
        Home { dir, bin: None }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn runtime_dir(&self) -> PathBuf {
        self.path().join("run")
    }

    /// `$XDG_RUNTIME_DIR/awsenv`, the daemon's folder.
    fn socket_dir(&self) -> PathBuf {
        self.runtime_dir().join("awsenv")
    }

    fn socket(&self) -> PathBuf {
        self.socket_dir().join("daemon.sock")
    }

    fn unit_dir(&self) -> PathBuf {
        self.path().join(".config/systemd/user")
    }

    /// `program` with a clean environment for this HOME and no stdin.
    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut path = Vec::new();
        path.extend(self.bin.clone());
        path.push(common::bin("awsenv").parent().unwrap().to_path_buf());
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .env("HOME", self.path())
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("XDG_CONFIG_HOME", self.path().join(".config"))
            .env("AWSENV_KEYCHAIN", "keyutils")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("PATH", std::env::join_paths(path).unwrap())
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, program: &Path, args: &[&str]) -> Output {
        run_to_end(self.command(program, args), COMMAND_LIMIT)
    }

    fn awsenv(&self, args: &[&str]) -> Output {
        self.run(&common::bin("awsenv"), args)
    }

    /// `awsenv daemon status --json` (null when none runs).
    fn daemon_status(&self) -> Value {
        let out = self.awsenv(&["daemon", "status", "--json"]);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "daemon status --json printed no JSON ({e}): {}{}",
                text(&out.stdout),
                text(&out.stderr)
            )
        })
    }

    /// Starts `awsenv daemon run ARGS` as systemd does on a connection to a socket unit: the
    /// listening socket as fd 3, `LISTEN_FDS=1` and `LISTEN_PID` set to the daemon's own pid (a shell
    /// sets it to `$$` and `exec`s awsenv, which keeps the pid). Its stderr goes to `log`.
    fn activate(&self, listener: &UnixListener, args: &[&str], log: &Path) -> Child {
        let awsenv = common::bin("awsenv");
        let mut all = vec![
            "-c",
            "LISTEN_PID=$$ exec \"$0\" daemon run \"$@\"",
            awsenv.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        let mut cmd = self.command(Path::new("/bin/sh"), &all);
        cmd.env("LISTEN_FDS", "1")
            .env("LISTEN_FDNAMES", "awsenv.socket")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap());
        let fd = listener.as_raw_fd();
        // SAFETY: dup2(2) and fcntl(2) are async-signal-safe and touch only descriptors.
        unsafe {
            cmd.pre_exec(move || {
                // fd 3 without close-on-exec, as systemd passes it.
                let r = if fd == 3 {
                    fcntl(3, F_SETFD, 0)
                } else {
                    dup2(fd, 3)
                };
                if r < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.spawn().expect("start the daemon")
    }

    /// Puts a stand-in `systemctl` first on PATH that logs each call's arguments to
    /// `systemctl.log` and answers as a user manager with the units loaded would; the path of the log.
    fn fake_systemctl(&mut self) -> PathBuf {
        let bin = self.path().join("fakebin");
        let log = self.path().join("systemctl.log");
        let script = format!(
            "#!/bin/sh\n\
             echo \"$*\" >> '{log}'\n\
             case \"$*\" in\n\
             '--user is-active --quiet '*) exit 3 ;;\n\
             '--user is-enabled awsenv.socket') echo enabled ;;\n\
             '--user is-active awsenv.socket') echo active ;;\n\
             '--user is-active awsenv.service') echo inactive; exit 3 ;;\n\
             esac\n\
             exit 0\n",
            log = log.display()
        );
        let path = common::write_file(&bin, "systemctl", &script);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        self.bin = Some(bin);
        log
    }
}

fn succeeded(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stderr)
}

/// `systemd-analyze verify --user FILES` as a user manager would load them, with this HOME's
/// runtime folder (the one thing verify needs from a user session; it starts no manager). Fails on
/// any word on stderr: warnings count.
fn systemd_verify(home: &Home, files: &[PathBuf]) {
    let Some(analyze) = common::require_program("systemd-analyze") else {
        return;
    };
    let mut cmd = home.command(&analyze, &["verify", "--user"]);
    cmd.args(files);
    let out = run_to_end(cmd, COMMAND_LIMIT);
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (Some(0), String::new()),
        "systemd-analyze verify --user {files:?}"
    );
}

/// The system calls a `SystemCallFilter=` group allows, its nested groups expanded.
fn syscalls(analyze: &Path, group: &str) -> std::collections::BTreeSet<String> {
    let out = run_to_end(
        {
            let mut c = Command::new(analyze);
            c.args(["syscall-filter", group]);
            c
        },
        COMMAND_LIMIT,
    );
    succeeded(&out, "systemd-analyze syscall-filter");
    let mut calls = std::collections::BTreeSet::new();
    // The first line names the group; its members follow, indented.
    for line in text(&out.stdout).lines().skip(1) {
        match line.trim() {
            "" => {}
            l if l.starts_with('#') => {}
            l if l.starts_with('@') => calls.extend(syscalls(analyze, l)),
            l => {
                calls.insert(l.to_string());
            }
        }
    }
    calls
}

// ---------------------------------------------------------------------------------------------

#[test]
fn installed_systemd_units_pass_systemd_analyze_verify_without_a_warning() {
    let home = Home::new();
    // The binary the units run sits in a folder whose name needs systemd's quoting and escapes.
    let odd = home.path().join("my tools 100% $HOME");
    std::fs::create_dir_all(&odd).unwrap();
    let awsenv = odd.join("awsenv");
    if std::fs::hard_link(common::bin("awsenv"), &awsenv).is_err() {
        std::fs::copy(common::bin("awsenv"), &awsenv).unwrap();
    }
    let out = home.run(&awsenv, &["service", "install", "--files-only"]);
    succeeded(&out, "service install --files-only");
    let service = std::fs::read_to_string(home.unit_dir().join("awsenv.service")).unwrap();
    assert!(
        service.contains(&format!(
            "\nExecStart=\"{}/my tools 100%% $HOME/awsenv\" daemon run --idle-exit 12h\n",
            home.path().display()
        )),
        "{service}"
    );
    // verify checks that ExecStart's program exists: a path systemd would read differently fails.
    systemd_verify(
        &home,
        &[
            home.unit_dir().join("awsenv.socket"),
            home.unit_dir().join("awsenv.service"),
        ],
    );
}

/// Options that, in a user manager, need a namespace and so silently turn on `PrivateUsers=`: the
/// daemon would get keyrings of its own and no longer see what `awsenv add` stored (keyutils).
const NAMESPACE_OPTIONS: &[&str] = &[
    "PrivateUsers",
    "ProtectSystem",
    "ProtectHome",
    "PrivateTmp",
    "PrivateDevices",
    "PrivateNetwork",
    "PrivateIPC",
    "PrivateMounts",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectControlGroups",
    "ProtectHostname",
    "ProtectClock",
    "ProtectProc",
    "ProcSubset",
    "ReadOnlyPaths",
    "ReadWritePaths",
    "InaccessiblePaths",
    "TemporaryFileSystem",
    "BindPaths",
    "BindReadOnlyPaths",
    "RootDirectory",
    "DynamicUser",
];

#[test]
fn the_service_is_hardened_without_options_that_would_hide_the_keychain() {
    let unit =
        std::fs::read_to_string(common::repo_root().join("packaging/systemd/awsenv.service"))
            .unwrap();
    let settings: Vec<(&str, &str)> = unit
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .collect();
    for (key, _) in &settings {
        assert!(
            !NAMESPACE_OPTIONS.contains(key),
            "{key}= in a user service turns on PrivateUsers=, which gives the daemon keyrings of its own"
        );
    }
    let value = |k: &str| {
        settings
            .iter()
            .filter(|(key, _)| *key == k)
            .map(|(_, v)| *v)
            .collect::<Vec<_>>()
            .join(" ")
    };
    for (key, want) in [
        ("NoNewPrivileges", "yes"),
        ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("RestrictNamespaces", "yes"),
        ("RestrictRealtime", "yes"),
        ("SystemCallArchitectures", "native"),
        ("LimitCORE", "0"),
        ("UMask", "0077"),
        // `private` would give the daemon an empty session keyring.
        ("KeyringMode", "inherit"),
    ] {
        assert_eq!(value(key), want, "{key}=");
    }
    // The system-call filter keeps the keyring calls; the address families keep D-Bus and STS.
    let Some(analyze) = common::require_program("systemd-analyze") else {
        return;
    };
    let filter = value("SystemCallFilter");
    let allowed = syscalls(&analyze, &filter);
    for call in [
        "keyctl",
        "add_key",
        "request_key",
        "connect",
        "sendmsg",
        "recvmsg",
    ] {
        assert!(
            allowed.contains(call),
            "SystemCallFilter={filter} must allow {call}"
        );
    }
    let families = value("RestrictAddressFamilies");
    for family in ["AF_UNIX", "AF_INET", "AF_INET6"] {
        assert!(families.split(' ').any(|f| f == family), "{families}");
    }
    // The socket agrees with the daemon's folder check: 0700 folder, 0600 socket, where clients look.
    let socket =
        std::fs::read_to_string(common::repo_root().join("packaging/systemd/awsenv.socket"))
            .unwrap();
    for line in [
        "ListenStream=%t/awsenv/daemon.sock",
        "DirectoryMode=0700",
        "SocketMode=0600",
    ] {
        assert!(socket.lines().any(|l| l == line), "awsenv.socket: {line}");
    }
}

#[test]
fn the_launchd_agent_parses_with_plistlib_and_has_the_keys_launchd_needs() {
    let Some(python) = common::require_program("python3") else {
        return;
    };
    let home = Home::new();
    let out = home.awsenv(&["service", "install", "--manager", "launchd", "--files-only"]);
    let said = succeeded(&out, "service install --manager launchd");
    assert!(said.contains("skipped `launchctl bootstrap gui/"), "{said}");
    let plist = home.path().join("Library/LaunchAgents/awsenv.daemon.plist");
    let check = r#"
import json, plistlib, sys
with open(sys.argv[1], "rb") as f:
    p = plistlib.load(f)
with open(sys.argv[2], "rb") as f:
    plistlib.load(f)  # the template as shipped parses too
print(json.dumps(p))
"#;
    let out = run_to_end(
        {
            let mut c = Command::new(python);
            c.arg("-c")
                .arg(check)
                .arg(&plist)
                .arg(common::repo_root().join("packaging/launchd/awsenv.daemon.plist"));
            c
        },
        COMMAND_LIMIT,
    );
    succeeded(&out, "plistlib");
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    let home_dir = home.path().display().to_string();
    assert_eq!(p["Label"], "awsenv.daemon");
    assert_eq!(
        p["ProgramArguments"],
        serde_json::json!([common::bin("awsenv").display().to_string(), "daemon", "run"])
    );
    assert_eq!(p["RunAtLoad"], true);
    assert_eq!(p["KeepAlive"], serde_json::json!({"SuccessfulExit": false}));
    let log = format!("{home_dir}/Library/Logs/awsenv.log");
    assert_eq!(p["StandardErrorPath"], log.as_str());
    assert_eq!(p["StandardOutPath"], log.as_str());
    assert!(
        home.path().join("Library/Logs").is_dir(),
        "the log's folder exists"
    );
    // The socket the clients of this user look for, and the keychain choice of this shell.
    assert_eq!(
        p["EnvironmentVariables"],
        serde_json::json!({
            "AWSENV_SOCKET": home.socket().display().to_string(),
            "AWSENV_KEYCHAIN": "keyutils",
            "XDG_CONFIG_HOME": format!("{home_dir}/.config"),
        })
    );
    assert_eq!(p["Umask"], 0o077);
    assert_eq!(p["HardResourceLimits"]["Core"], 0);
}

#[test]
fn a_socket_activated_daemon_serves_credential_process_then_leaves_the_socket_to_systemd() {
    if !common::in_session_keyring(
        "a_socket_activated_daemon_serves_credential_process_then_leaves_the_socket_to_systemd",
    ) {
        return;
    }
    let home = Home::new();
    common::write_file(
        home.path(),
        ".aws/config",
        "[profile static]\nregion = eu-west-1\n",
    );
    common::write_file(
        home.path(),
        ".aws/credentials",
        "[static]\naws_access_key_id = AKIASTATIC000EXAMPLE\naws_secret_access_key = staticSecretKeyForTheTest\n",
    );
    // What systemd does for awsenv.socket: the folder with DirectoryMode=0700, the socket with
    // SocketMode=0600, listening before any daemon runs.
    std::fs::create_dir(home.socket_dir()).unwrap();
    std::fs::set_permissions(home.socket_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let listener = UnixListener::bind(home.socket()).unwrap();
    std::fs::set_permissions(home.socket(), std::fs::Permissions::from_mode(0o600)).unwrap();

    let log = home.path().join("daemon1.log");
    let mut first = home.activate(&listener, &["--idle-exit", "2s"], &log);
    let client = home.run(&common::bin("awsenv-credential-process"), &["static"]);
    let daemon_log = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        client.status.success(),
        "credential_process through the socket-activated daemon: {}\ndaemon: {}",
        text(&client.stderr),
        daemon_log()
    );
    let creds: Value = serde_json::from_slice(&client.stdout).unwrap();
    assert_eq!(creds["Version"], 1);
    assert_eq!(creds["AccessKeyId"], "AKIASTATIC000EXAMPLE");
    assert_eq!(creds["SecretAccessKey"], "staticSecretKeyForTheTest");
    // The daemon that answered is the one started on the socket, not one a client started.
    assert_eq!(
        home.daemon_status()["pid"],
        first.id() as i64,
        "{}",
        daemon_log()
    );
    assert!(
        daemon_log().contains(&format!("listening on {}", home.socket().display())),
        "{}",
        daemon_log()
    );

    // Idle for 2 seconds: it exits cleanly and leaves the socket file (systemd's) where it is.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = first.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon exits when idle\n{}",
            daemon_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "idle exit: {status}\n{}", daemon_log());
    assert!(home.socket().exists(), "the socket belongs to systemd");

    // The next connection waits in the socket's queue, as it would for systemd, which then starts the
    // daemon again on the same socket; it serves that waiting connection and the next client.
    let waiting = UnixStream::connect(home.socket()).expect("the socket still listens");
    let log2 = home.path().join("daemon2.log");
    let second = home.activate(&listener, &[], &log2);
    drop(waiting);
    let again = home.run(&common::bin("awsenv-credential-process"), &["static"]);
    assert!(
        again.status.success(),
        "{}\n{}",
        text(&again.stderr),
        std::fs::read_to_string(&log2).unwrap_or_default()
    );
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["AccessKeyId"], "AKIASTATIC000EXAMPLE");
    assert_eq!(home.daemon_status()["pid"], second.id() as i64);

    // Stopped as systemd stops it: SIGTERM; the socket stays for the next activation.
    let pid = second.id() as i32;
    signal(pid, SIGTERM);
    let mut second = second;
    wait_until(Duration::from_secs(10), "SIGTERM stops the daemon", || {
        second.try_wait().unwrap().is_some()
    });
    assert!(
        home.socket().exists(),
        "the daemon never removes a passed socket"
    );
}

#[test]
fn install_without_a_user_manager_writes_the_units_and_reports_the_skipped_systemctl_calls() {
    let home = Home::new();
    let out = home.awsenv(&["service", "install"]);
    let said = succeeded(&out, "service install");
    // Real systemctl (if any) finds no manager: the test's runtime folder has none, and there is no
    // D-Bus session address.
    assert!(
        said.contains(
            "skipped `systemctl --user daemon-reload` and `systemctl --user enable --now awsenv.socket`"
        ),
        "{said}"
    );
    assert!(
        said.contains("awsenv starts its daemon by itself on first use"),
        "{said}"
    );
    assert!(said.contains("carried AWSENV_KEYCHAIN=keyutils"), "{said}");
    let socket = std::fs::read_to_string(home.unit_dir().join("awsenv.socket")).unwrap();
    let service = std::fs::read_to_string(home.unit_dir().join("awsenv.service")).unwrap();
    let first_line = "# Written by `awsenv service install`";
    assert!(socket.starts_with(first_line), "{socket}");
    assert!(service.starts_with(first_line), "{service}");
    assert!(socket.contains("\nListenStream=%t/awsenv/daemon.sock\n"));
    let exec = format!(
        "\nExecStart={} daemon run --idle-exit 12h\nEnvironment=\"AWSENV_KEYCHAIN=keyutils\"\nEnvironment=\"XDG_CONFIG_HOME={}/.config\"\n",
        common::bin("awsenv").display(),
        home.path().display()
    );
    assert!(service.contains(&exec), "{service}");
    assert!(!service.contains("@AWSENV@"));

    // Again: nothing to change.
    let said = succeeded(&home.awsenv(&["service", "install"]), "install again");
    assert!(said.contains("awsenv.service is up to date"), "{said}");

    // A unit file awsenv did not write is neither replaced nor removed without --force.
    let path = home.unit_dir().join("awsenv.service");
    std::fs::write(&path, "[Service]\nExecStart=/bin/true\n").unwrap();
    let out = home.awsenv(&["service", "install"]);
    assert!(!out.status.success(), "a foreign unit must not be replaced");
    assert!(
        text(&out.stderr).contains("was not written by `awsenv service install`"),
        "{}",
        text(&out.stderr)
    );
    let out = home.awsenv(&["service", "uninstall"]);
    assert!(!out.status.success(), "a foreign unit must not be removed");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[Service]\nExecStart=/bin/true\n"
    );
    succeeded(
        &home.awsenv(&["service", "install", "--force"]),
        "install --force",
    );
    assert!(std::fs::read_to_string(&path).unwrap().contains(&exec));

    // uninstall removes both and says that the manager step was skipped.
    let said = succeeded(&home.awsenv(&["service", "uninstall"]), "uninstall");
    assert!(said.contains("skipped stopping the service"), "{said}");
    assert!(!home.unit_dir().join("awsenv.socket").exists());
    assert!(!home.unit_dir().join("awsenv.service").exists());
    let said = succeeded(&home.awsenv(&["service", "uninstall"]), "uninstall again");
    assert!(said.contains("nothing to remove"), "{said}");
}

#[test]
fn install_with_a_user_manager_stops_a_self_started_daemon_and_enables_the_socket() {
    if !common::in_session_keyring(
        "install_with_a_user_manager_stops_a_self_started_daemon_and_enables_the_socket",
    ) {
        return;
    }
    let mut home = Home::new();
    let calls = home.fake_systemctl();
    let out = home.awsenv(&["daemon", "start"]);
    succeeded(&out, "daemon start");
    let pid = home.daemon_status()["pid"].as_i64().unwrap();

    let said = succeeded(&home.awsenv(&["service", "install"]), "service install");
    // The daemon that started by itself would hold the lock the service's daemon needs.
    assert!(
        said.contains("stopped the daemon that had started by itself"),
        "{said}"
    );
    assert_eq!(home.daemon_status(), Value::Null, "pid {pid} was stopped");
    assert!(
        said.contains("ran `systemctl --user enable --now awsenv.socket`"),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "systemd listens on {} and starts the daemon on the first request",
            home.socket().display()
        )),
        "{said}"
    );
    let asked = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(
        asked.lines().collect::<Vec<_>>(),
        [
            "--user show-environment",
            "--user daemon-reload",
            "--user is-active --quiet awsenv.socket",
            "--user is-active --quiet awsenv.service",
            "--user enable --now awsenv.socket",
        ],
    );

    // status: the files, the manager's view, no daemon yet, the keychain readable.
    std::fs::write(&calls, "").unwrap();
    let out = home.awsenv(&["service", "status"]);
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{shown}{}", text(&out.stderr));
    assert!(
        shown.contains(&format!(
            "service   awsenv.socket, awsenv.service in {}, running {}\n",
            home.unit_dir().display(),
            common::bin("awsenv").display()
        )),
        "{shown}"
    );
    assert!(
        shown.contains("manager   systemd: awsenv.socket enabled, active; awsenv.service inactive (it starts on the first request)\n"),
        "{shown}"
    );
    assert!(
        shown.contains("daemon    not running (it starts on the first request)\n"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("socket    {}\n", home.socket().display())),
        "{shown}"
    );
    assert!(
        shown.contains("keychain  kernel keyutils (")
            && shown.contains("readable, 0 awsenv entries"),
        "{shown}"
    );

    // Units written for a binary that is gone since: status names the problem and exits 1.
    let gone = home.path().join("old/awsenv");
    std::fs::create_dir_all(gone.parent().unwrap()).unwrap();
    if std::fs::hard_link(common::bin("awsenv"), &gone).is_err() {
        std::fs::copy(common::bin("awsenv"), &gone).unwrap();
    }
    succeeded(
        &home.run(&gone, &["service", "install"]),
        "install from old/",
    );
    std::fs::remove_file(&gone).unwrap();
    let out = home.awsenv(&["service", "status"]);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains(&format!(
            "service   PROBLEM: {} is gone — run `awsenv service install` again",
            gone.display()
        )),
        "{shown}"
    );
    succeeded(&home.awsenv(&["service", "install"]), "install again");

    // uninstall: disable and stop both units, remove the files, reload.
    std::fs::write(&calls, "").unwrap();
    let said = succeeded(&home.awsenv(&["service", "uninstall"]), "service uninstall");
    assert!(
        said.contains("ran `systemctl --user disable --now awsenv.socket awsenv.service`"),
        "{said}"
    );
    assert_eq!(
        std::fs::read_to_string(&calls)
            .unwrap()
            .lines()
            .collect::<Vec<_>>(),
        [
            "--user show-environment",
            "--user disable --now awsenv.socket awsenv.service",
            "--user daemon-reload",
        ],
    );
    assert!(!home.unit_dir().join("awsenv.service").exists());
}

#[test]
fn the_deb_unpacked_into_a_scratch_root_runs_and_carries_the_units_completions_and_man_pages() {
    let (Some(_), Some(dpkg)) = (
        common::require_program("dpkg-deb"),
        common::require_program("dpkg"),
    ) else {
        return;
    };
    let script = common::repo_root().join("packaging/build-deb.sh");
    if let Some(shellcheck) = common::require_program("shellcheck") {
        let out = run_to_end(
            {
                let mut c = Command::new(shellcheck);
                c.arg(&script);
                c
            },
            COMMAND_LIMIT,
        );
        assert!(out.status.success(), "shellcheck: {}", text(&out.stdout));
    }
    let scratch = tempfile::tempdir().unwrap();
    let out_dir = scratch.path().join("out");
    // The dev profile: the binaries are built already (a release build with LTO takes minutes).
    let started = Instant::now();
    let out = run_to_end(
        {
            let mut c = Command::new(&script);
            c.args(["--profile", "dev", "--fast", "--out"])
                .arg(&out_dir)
                .stdin(Stdio::null());
            c
        },
        Duration::from_secs(900),
    );
    succeeded(&out, "packaging/build-deb.sh");
    eprintln!(
        "packaging/build-deb.sh --profile dev took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let deb = PathBuf::from(text(&out.stdout).trim().lines().last().unwrap_or(""));
    assert!(
        deb.is_file() && deb.starts_with(&out_dir),
        "the script prints the .deb: {}",
        text(&out.stdout)
    );

    let root = scratch.path().join("root");
    let x = run_to_end(
        {
            let mut c = Command::new(dpkg);
            c.arg("-x").arg(&deb).arg(&root);
            c
        },
        COMMAND_LIMIT,
    );
    succeeded(&x, "dpkg -x");

    let home = Home::new();
    let awsenv = root.join("usr/bin/awsenv");
    let version = home.run(&awsenv, &["--version"]);
    succeeded(&version, "awsenv --version");
    assert_eq!(
        text(&version.stdout),
        format!("awsenv {}\n", env!("CARGO_PKG_VERSION"))
    );
    let client = home.run(&root.join("usr/bin/awsenv-credential-process"), &[]);
    assert_eq!(client.status.code(), Some(2), "usage error");
    assert!(
        text(&client.stderr).starts_with("usage: awsenv-credential-process PROFILE"),
        "{}",
        text(&client.stderr)
    );
    assert!(
        client.stdout.is_empty(),
        "nothing on stdout, where an SDK reads"
    );

    // The units, for /usr/bin/awsenv; they verify once ExecStart points into the scratch root.
    let units = root.join("usr/lib/systemd/user");
    let service = std::fs::read_to_string(units.join("awsenv.service")).unwrap();
    assert!(
        service.contains("\nExecStart=/usr/bin/awsenv daemon run --idle-exit 12h\n"),
        "{service}"
    );
    let template =
        std::fs::read_to_string(common::repo_root().join("packaging/systemd/awsenv.service"))
            .unwrap();
    assert_eq!(service, template.replace("@AWSENV@", "/usr/bin/awsenv"));
    let verify_dir = scratch.path().join("verify");
    std::fs::create_dir(&verify_dir).unwrap();
    std::fs::copy(
        units.join("awsenv.socket"),
        verify_dir.join("awsenv.socket"),
    )
    .unwrap();
    std::fs::write(
        verify_dir.join("awsenv.service"),
        service.replace("/usr/bin/awsenv", awsenv.to_str().unwrap()),
    )
    .unwrap();
    systemd_verify(
        &home,
        &[
            verify_dir.join("awsenv.socket"),
            verify_dir.join("awsenv.service"),
        ],
    );

    for file in [
        "usr/share/bash-completion/completions/awsenv",
        "usr/share/zsh/vendor-completions/_awsenv",
        "usr/share/fish/vendor_completions.d/awsenv.fish",
        "usr/share/man/man1/awsenv.1.gz",
        "usr/share/man/man1/awsenv-service-install.1.gz",
        "usr/share/doc/awsenv/copyright",
    ] {
        let meta = std::fs::metadata(root.join(file))
            .unwrap_or_else(|e| panic!("{file} is in the package: {e}"));
        assert!(meta.len() > 0, "{file} is empty");
    }
    let info = run_to_end(
        {
            let mut c = Command::new("dpkg-deb");
            c.args(["--field"]).arg(&deb).args(["Package", "Depends"]);
            c
        },
        COMMAND_LIMIT,
    );
    succeeded(&info, "dpkg-deb --field");
    let fields = text(&info.stdout);
    assert!(fields.contains("Package: awsenv\n"), "{fields}");
    assert!(fields.contains("Depends: libc6"), "{fields}");
}
