//! The keychain against the real backends: gnome-keyring's Secret Service inside `dbus-run-session`
//! (fresh `HOME` per test) and the kernel's keyutils inside `keyctl session -` in a user namespace of
//! its own (so each test has its own session *and* persistent keyring).
//!
//! Each test builds a sandbox, starts the peer, and runs this test binary again inside it with one
//! scenario selected by `AWSENV_KEYCHAIN_TEST_SCENARIO` (the `helper_process` test below, which does
//! nothing in a normal run). Several helper runs in one sandbox are separate processes, which is how
//! "a value written by one process is read by a new one" is tested. At the end every file in the
//! sandbox is scanned for the secrets used: none may be on disk in plain text.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use awsenv::core::credentials::{Credentials, Secret};
use awsenv::core::env::Env;
use awsenv::core::plan::KeyIndex;
use awsenv::core::session_key::SessionKey;
use awsenv::core::time::UtcTime;
use awsenv::edge::keychain::{
    Backend, Keychain, KeychainError, SessionKind, StoredSession, SERVICE,
};

const SCENARIO_VAR: &str = "AWSENV_KEYCHAIN_TEST_SCENARIO";
const SECRET_VAR: &str = "AWSENV_KEYCHAIN_TEST_SECRET";
const KEYRING_PASSWORD: &str = "pw";

// ---------------------------------------------------------------------------------------------
// The tests (outside the sandbox)
// ---------------------------------------------------------------------------------------------

#[test]
fn secret_service_round_trip_labels_listing_and_auto_selection() {
    let Some(sandbox) = Sandbox::new(Peer::SecretService) else {
        return;
    };
    sandbox.run_dbus(&["unlock", "ss_round_trip"]);
    sandbox.assert_no_secret_on_disk();
}

#[test]
fn secret_service_value_survives_a_new_process_and_a_daemon_restart() {
    let Some(sandbox) = Sandbox::new(Peer::SecretService) else {
        return;
    };
    // One bus and daemon: written by one process, read by the next.
    sandbox.run_dbus(&["unlock", "write", "read_back"]);
    // A new bus and daemon that nobody unlocked: the login keyring on disk is locked.
    sandbox.run_dbus(&["start_locked", "ss_locked_at_start"]);
    // Unlocked again: the value is still there.
    sandbox.run_dbus(&["unlock", "read_back"]);
    sandbox.assert_no_secret_on_disk();
}

#[test]
fn secret_service_locked_collection_gives_the_locked_error_at_once() {
    let Some(sandbox) = Sandbox::new(Peer::SecretService) else {
        return;
    };
    sandbox.run_dbus(&["unlock", "ss_locked"]);
    sandbox.assert_no_secret_on_disk();
}

#[test]
fn secret_service_corrupt_and_foreign_entries_are_reported_then_replaced() {
    let Some(sandbox) = Sandbox::new(Peer::SecretService) else {
        return;
    };
    sandbox.run_dbus(&["unlock", "ss_corrupt"]);
    sandbox.assert_no_secret_on_disk();
}

#[test]
fn keyutils_round_trip_and_listing() {
    let Some(sandbox) = Sandbox::new(Peer::Keyutils) else {
        return;
    };
    sandbox.run_keyutils("keyctl session - \"$H\" ku_round_trip", &["ku_round_trip"]);
    sandbox.assert_no_secret_on_disk();
}

#[test]
fn keyutils_value_survives_a_new_process_and_a_new_session_keyring() {
    let Some(sandbox) = Sandbox::new(Peer::Keyutils) else {
        return;
    };
    // The same session keyring, then a new one (a new login): the persistent keyring links them.
    sandbox.run_keyutils(
        "keyctl session - sh -c '\"$H\" write && \"$H\" read_back' && keyctl session - \"$H\" read_back",
        &["write", "read_back", "read_back"],
    );
    sandbox.assert_no_secret_on_disk();
}

#[test]
fn keyutils_corrupt_entries_are_reported_then_replaced() {
    let Some(sandbox) = Sandbox::new(Peer::Keyutils) else {
        return;
    };
    sandbox.run_keyutils("keyctl session - \"$H\" ku_corrupt", &["ku_corrupt"]);
    sandbox.assert_no_secret_on_disk();
}

#[test]
fn auto_without_a_session_bus_picks_keyutils_and_says_why() {
    let Some(sandbox) = Sandbox::new(Peer::Keyutils) else {
        return;
    };
    sandbox.run_keyutils("keyctl session - \"$H\" auto_keyutils", &["auto_keyutils"]);
    sandbox.assert_no_secret_on_disk();
}

/// The entry point of the helper processes; does nothing unless a sandbox started it.
#[test]
fn helper_process() {
    let Ok(scenario) = std::env::var(SCENARIO_VAR) else {
        return;
    };
    let started = Instant::now();
    scenarios::run(&scenario);
    println!(
        "SCENARIO {scenario} PASSED in {}ms",
        started.elapsed().as_millis()
    );
}

// ---------------------------------------------------------------------------------------------
// The sandbox
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Peer {
    SecretService,
    Keyutils,
}

/// A temporary HOME (and XDG directories) with a helper script that re-runs this test binary.
struct Sandbox {
    dir: tempfile::TempDir,
    secret: String,
    peer: Peer,
}

impl Sandbox {
    fn new(peer: Peer) -> Option<Sandbox> {
        let programs: &[&str] = match peer {
            Peer::SecretService => &["dbus-run-session", "gnome-keyring-daemon"],
            Peer::Keyutils => &["keyctl", "unshare"],
        };
        for p in programs {
            common::require_program(p)?;
        }
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "data", "config", "cache", "run"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("run"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        let exe = std::env::current_exe().unwrap();
        let helper = dir.path().join("helper.sh");
        // `$1` is the scenario; each call is a new process of this test binary.
        std::fs::write(
            &helper,
            format!(
                "#!/bin/sh\n{SCENARIO_VAR}=\"$1\" exec '{}' helper_process --exact --nocapture --test-threads=1 -q\n",
                exe.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let secret = format!(
            "s3cr3t-{:016x}{:08x}",
            fastrand::u64(..),
            std::process::id()
        );
        Some(Sandbox { dir, secret, peer })
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        for var in [
            "DBUS_SESSION_BUS_ADDRESS",
            "DISPLAY",
            "WAYLAND_DISPLAY",
            "AWSENV_KEYCHAIN",
            SCENARIO_VAR,
        ] {
            cmd.env_remove(var);
        }
        cmd.env("HOME", self.path("home"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("XDG_RUNTIME_DIR", self.path("run"))
            .env("H", self.path("helper.sh"))
            .env(SECRET_VAR, &self.secret)
            .env(
                "AWSENV_KEYCHAIN_TEST_PEER",
                match self.peer {
                    Peer::SecretService => "secret-service",
                    Peer::Keyutils => "keyutils",
                },
            );
        cmd
    }

    /// Runs `steps` in one `dbus-run-session`: `unlock` starts gnome-keyring unlocked with the
    /// test password, `start_locked` starts it without unlocking; every other step is a scenario
    /// run in a new helper process.
    fn run_dbus(&self, steps: &[&str]) {
        let script: Vec<String> = steps
            .iter()
            .map(|step| match *step {
                "unlock" => format!(
                    "printf '%s' '{KEYRING_PASSWORD}' | gnome-keyring-daemon --unlock --components=secrets >/dev/null"
                ),
                "start_locked" => {
                    "gnome-keyring-daemon --start --components=secrets >/dev/null".to_string()
                }
                scenario => format!("\"$H\" {scenario}"),
            })
            .collect();
        let mut cmd = self.command("dbus-run-session");
        cmd.args(["--", "sh", "-ec", &script.join("\n")]);
        self.check(cmd, steps);
    }

    /// Runs a shell command line in a user namespace of its own (so a persistent keyring of its
    /// own); `scenarios` are the helper runs it makes, each of which must report success.
    fn run_keyutils(&self, line: &str, scenarios: &[&str]) {
        let mut cmd = self.command("unshare");
        cmd.args(["--user", "--map-root-user", "sh", "-ec", line]);
        self.check(cmd, scenarios);
    }

    fn check(&self, mut cmd: Command, steps: &[&str]) {
        let started = Instant::now();
        let out: Output = cmd.output().expect("start the sandbox");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let report = format!(
            "{cmd:?}\nexit: {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            out.status
        );
        // Shown with `--nocapture`: the timings the helpers print.
        println!("{report}");
        assert!(out.status.success(), "sandbox failed:\n{report}");
        for step in steps {
            if matches!(*step, "unlock" | "start_locked") {
                continue;
            }
            let wanted = steps.iter().filter(|s| *s == step).count();
            let passed = stdout.matches(&format!("SCENARIO {step} PASSED")).count();
            assert_eq!(
                passed, wanted,
                "scenario {step} should have passed {wanted} time(s):\n{report}"
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the sandbox took {:?}",
            started.elapsed()
        );
    }

    /// No file under the sandbox (gnome-keyring's keyring files included) holds a secret in plain
    /// text.
    fn assert_no_secret_on_disk(&self) {
        let mut files = 0;
        let mut stack = vec![self.dir.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let entry = entry.unwrap();
                let kind = entry.file_type().unwrap();
                if kind.is_dir() {
                    stack.push(entry.path());
                } else if kind.is_file() {
                    files += 1;
                    let bytes = std::fs::read(entry.path()).unwrap();
                    assert!(
                        !contains(&bytes, self.secret.as_bytes()),
                        "{} holds a secret in plain text",
                        entry.path().display()
                    );
                }
            }
        }
        assert!(files > 0, "the sandbox has no files at all");
        if self.peer == Peer::SecretService {
            let keyring = self.path("data/keyrings/login.keyring");
            assert!(
                keyring.is_file(),
                "gnome-keyring wrote no {}",
                keyring.display()
            );
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// Inside the sandbox
// ---------------------------------------------------------------------------------------------

mod scenarios {
    use super::*;

    pub fn run(name: &str) {
        match name {
            "ss_round_trip" => ss_round_trip(),
            "ss_locked" => ss_locked(),
            "ss_locked_at_start" => ss_locked_at_start(),
            "ss_corrupt" => ss_corrupt(),
            "ku_round_trip" => ku_round_trip(),
            "ku_corrupt" => ku_corrupt(),
            "auto_keyutils" => auto_keyutils(),
            "write" => write(),
            "read_back" => read_back(),
            other => panic!("unknown scenario {other}"),
        }
    }

    fn env() -> Env {
        Env::from_process()
    }

    fn secret() -> String {
        std::env::var(SECRET_VAR).expect("the sandbox sets the secret")
    }

    /// The backend the sandbox provides, chosen explicitly.
    fn keychain() -> Keychain {
        let mut env = env();
        let peer = std::env::var("AWSENV_KEYCHAIN_TEST_PEER").unwrap();
        env.set("AWSENV_KEYCHAIN", peer.as_str());
        if peer == "secret-service" {
            raw::wait_until_ready(false);
        }
        let (kc, selection) = Keychain::open(&env).unwrap();
        assert!(
            selection
                .reason
                .starts_with(&format!("AWSENV_KEYCHAIN={peer} → ")),
            "{}",
            selection.reason
        );
        kc
    }

    pub fn long_term(secret: &str) -> Credentials {
        Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: Secret::new(format!("{secret}-sak")),
            session_token: None,
            expiration: None,
        }
    }

    pub fn session(secret: &str, kind: SessionKind) -> StoredSession {
        StoredSession {
            profile: "dev".into(),
            kind,
            mfa_serial: Some("arn:aws:iam::111111111111:mfa/alice".into()),
            role_arn: (kind == SessionKind::Role)
                .then(|| "arn:aws:iam::222222222222:role/Admin".to_string()),
            issued: UtcTime(1_800_000_000),
            credentials: Credentials {
                access_key_id: "ASIAEXAMPLEEXAMPLE".into(),
                secret_access_key: Secret::new(format!("{secret}-session-sak")),
                session_token: Some(Secret::new(format!("{secret}-token"))),
                expiration: Some(UtcTime(1_800_043_200)),
            },
        }
    }

    pub fn mfa_key() -> SessionKey {
        SessionKey("mfa-0123456789abcdef0123456789abcdef".into())
    }

    fn role_key() -> SessionKey {
        SessionKey("role-fedcba9876543210fedcba9876543210".into())
    }

    /// Set, get, overwrite, list and delete keys and sessions.
    fn round_trip(kc: &Keychain) {
        let s = secret();
        assert_eq!(kc.get_keys("rt").unwrap(), None);
        assert!(!kc.has_keys("rt"));
        assert!(!KeyIndex::has_keys(kc, "rt"));

        kc.set_keys("rt", &long_term("old")).unwrap();
        kc.set_keys("rt", &long_term(&s)).unwrap();
        assert!(kc.has_keys("rt"));
        assert!(KeyIndex::has_keys(kc, "rt"));
        assert_eq!(kc.get_keys("rt").unwrap(), Some(long_term(&s)));

        assert_eq!(kc.get_session(&mfa_key()).unwrap(), None);
        kc.set_session(&mfa_key(), &session(&s, SessionKind::MfaSession))
            .unwrap();
        kc.set_session(&role_key(), &session(&s, SessionKind::Role))
            .unwrap();
        assert_eq!(
            kc.get_session(&mfa_key()).unwrap(),
            Some(session(&s, SessionKind::MfaSession))
        );
        assert_eq!(
            kc.get_session(&role_key()).unwrap(),
            Some(session(&s, SessionKind::Role))
        );

        let listed = kc.list().unwrap();
        let shown = format!("{listed:?}");
        assert!(!shown.contains(&s), "the listing shows a secret: {shown}");
        let accounts: Vec<String> = listed.iter().map(|e| e.key.account()).collect();
        assert_eq!(
            accounts,
            [
                "keys/rt".to_string(),
                format!("session/{}", mfa_key().as_str()),
                format!("session/{}", role_key().as_str()),
            ]
        );
        assert_eq!(listed[0].profile.as_deref(), Some("rt"));
        assert_eq!(listed[1].session_kind, Some(SessionKind::MfaSession));
        assert_eq!(
            listed[2].role_arn.as_deref(),
            Some("arn:aws:iam::222222222222:role/Admin")
        );
        assert_eq!(listed[2].expiration, Some(UtcTime(1_800_043_200)));
        assert!(listed.iter().all(|e| e.problem.is_none()));

        assert!(kc.delete_session(&mfa_key()).unwrap());
        assert!(!kc.delete_session(&mfa_key()).unwrap());
        assert_eq!(kc.get_session(&mfa_key()).unwrap(), None);
        assert_eq!(kc.delete_all_sessions().unwrap(), 1);
        assert_eq!(kc.get_session(&role_key()).unwrap(), None);
        assert_eq!(kc.list().unwrap().len(), 1, "the keys stay");

        assert!(kc.delete_keys("rt").unwrap());
        assert!(!kc.delete_keys("rt").unwrap());
        assert_eq!(kc.get_keys("rt").unwrap(), None);
        assert!(!kc.has_keys("rt"));
        assert!(kc.list().unwrap().is_empty());
    }

    fn ss_round_trip() {
        raw::wait_until_ready(false);
        // Auto picks the Secret Service here.
        let (kc, selection) = Keychain::open(&env()).unwrap();
        assert_eq!(selection.backend, Backend::SecretService, "{selection:?}");
        assert!(selection.persistent);
        assert!(
            selection.reason.starts_with(
                "a Secret Service provider answers on the D-Bus session bus → Secret Service"
            ),
            "{}",
            selection.reason
        );
        round_trip(&kc);

        // People can tell the items apart in Seahorse: label and attributes.
        let s = secret();
        kc.set_keys("dev", &long_term(&s)).unwrap();
        kc.set_session(&mfa_key(), &session(&s, SessionKind::MfaSession))
            .unwrap();
        let conn = raw::conn();
        let (items, locked) = raw::search(&conn, &[("service", SERVICE), ("username", "keys/dev")]);
        assert_eq!((items.len(), locked.len()), (1, 0));
        assert_eq!(
            raw::label(&conn, &items[0]),
            "awsenv: long-term keys of profile dev"
        );
        let attrs = raw::attributes(&conn, &items[0]);
        assert_eq!(attrs["awsenv:profile"], "dev");
        assert_eq!(attrs["awsenv:kind"], "long_term_keys");
        assert!(!attrs.values().any(|v| v.contains(&s)), "{attrs:?}");
        let account = format!("session/{}", mfa_key().as_str());
        let (items, _) = raw::search(&conn, &[("service", SERVICE), ("username", &account)]);
        assert_eq!(
            raw::label(&conn, &items[0]),
            "awsenv: MFA session for profile dev (arn:aws:iam::111111111111:mfa/alice)"
        );
        assert_eq!(
            raw::attributes(&conn, &items[0])["awsenv:session_kind"],
            "mfa_session"
        );

        // The native search finds entries even when the index is lost.
        let (index, _) = raw::search(&conn, &[("service", SERVICE), ("username", "index")]);
        raw::delete(&conn, &index[0]);
        let listed: Vec<String> = kc.list().unwrap().iter().map(|e| e.key.account()).collect();
        assert_eq!(listed, ["keys/dev".to_string(), account]);
        assert_eq!(kc.delete_all_sessions().unwrap(), 1);
        assert!(kc.delete_keys("dev").unwrap());
    }

    /// Writes keys and a session for `read_back` in another process.
    fn write() {
        let kc = keychain();
        let s = secret();
        kc.set_keys("persist", &long_term(&s)).unwrap();
        kc.set_session(&mfa_key(), &session(&s, SessionKind::MfaSession))
            .unwrap();
    }

    fn read_back() {
        let kc = keychain();
        let s = secret();
        assert!(kc.has_keys("persist"));
        assert_eq!(kc.get_keys("persist").unwrap(), Some(long_term(&s)));
        assert_eq!(
            kc.get_session(&mfa_key()).unwrap(),
            Some(session(&s, SessionKind::MfaSession))
        );
        assert_eq!(kc.list().unwrap().len(), 2);
    }

    /// Asserts that `f` fails with the locked error, quickly.
    fn assert_locked<T: std::fmt::Debug>(what: &str, f: impl FnOnce() -> Result<T, KeychainError>) {
        let started = Instant::now();
        let result = f();
        let took = started.elapsed();
        match result {
            Err(e @ KeychainError::Locked { .. }) => {
                let text = e.to_string();
                assert!(
                    text.contains("is locked") && text.contains("gnome-keyring-daemon --unlock"),
                    "{what}: {text}"
                );
            }
            other => panic!("{what}: expected the locked error, got {other:?}"),
        }
        assert!(
            took < Duration::from_secs(3),
            "{what}: the locked error took {took:?}"
        );
        println!("{what}: locked error in {}ms", took.as_millis());
    }

    fn ss_locked() {
        let kc = keychain();
        let s = secret();
        kc.set_keys("dev", &long_term(&s)).unwrap();
        kc.set_session(&mfa_key(), &session(&s, SessionKind::MfaSession))
            .unwrap();
        let conn = raw::conn();
        let collection = raw::default_collection(&conn).unwrap();
        raw::lock(&conn, &collection);
        assert!(raw::locked(&conn, &collection));

        assert_locked("get_keys", || kc.get_keys("dev"));
        assert_locked("set_keys on an existing entry", || {
            kc.set_keys("dev", &long_term(&s))
        });
        assert_locked("set_keys on a new entry", || {
            kc.set_keys("other", &long_term(&s))
        });
        assert_locked("set_session", || {
            kc.set_session(&mfa_key(), &session(&s, SessionKind::MfaSession))
        });
        assert_locked("get_session", || kc.get_session(&mfa_key()));
        assert_locked("delete_keys", || kc.delete_keys("dev"));
        assert_locked("list", || kc.list());
        assert_locked("delete_all_sessions", || kc.delete_all_sessions());
        // Whether keys exist is known without unlocking (profile resolution needs no secret).
        assert!(kc.has_keys("dev"));
        assert!(!kc.has_keys("nobody"));
        // So is the absence of an entry: a miss needs no unlock.
        let other = SessionKey("role-00000000000000000000000000000000".into());
        assert_eq!(kc.get_session(&other).unwrap(), None);
        // Still locked: awsenv never asked to unlock.
        assert!(raw::locked(&conn, &collection));
    }

    fn ss_locked_at_start() {
        raw::wait_until_ready(true);
        let (kc, selection) = Keychain::open(&env()).unwrap();
        assert_eq!(selection.backend, Backend::SecretService);
        assert!(
            selection.reason.contains("locked"),
            "the selection should say the keyring is locked: {}",
            selection.reason
        );
        assert_locked("get_keys after a restart", || kc.get_keys("persist"));
        assert_locked("get_session after a restart", || kc.get_session(&mfa_key()));
        assert!(kc.has_keys("persist"));
    }

    fn assert_corrupt<T: std::fmt::Debug>(
        what: &str,
        result: Result<T, KeychainError>,
        key: &str,
        reason: &str,
    ) {
        match result {
            Err(e @ KeychainError::Corrupt { .. }) => {
                let text = e.to_string();
                assert!(
                    text.contains(key) && text.contains(reason),
                    "{what}: {text} lacks {key} / {reason}"
                );
                assert!(!text.contains("hunter2"), "{what}: {text} quotes the value");
                assert!(!text.contains(&secret()), "{what}: {text} quotes a secret");
            }
            other => panic!("{what}: expected a corrupt entry, got {other:?}"),
        }
    }

    fn ss_corrupt() {
        let kc = keychain();
        let s = secret();
        let conn = raw::conn();
        let collection = raw::default_collection(&conn).unwrap();
        let ours = |user: &str| -> Vec<(String, String)> {
            vec![
                ("service".into(), SERVICE.into()),
                ("username".into(), user.into()),
                ("target".into(), "default".into()),
            ]
        };

        // Not JSON, in the very item awsenv would use.
        raw::create_item(
            &conn,
            &collection,
            "garbage",
            &ours("keys/dev"),
            b"hunter2 {",
            true,
        );
        assert!(kc.has_keys("dev"));
        assert_corrupt("garbage", kc.get_keys("dev"), "keys/dev", "not JSON");
        kc.set_keys("dev", &long_term(&s)).unwrap();
        assert_eq!(kc.get_keys("dev").unwrap(), Some(long_term(&s)));

        // Not UTF-8.
        raw::create_item(
            &conn,
            &collection,
            "bytes",
            &ours("keys/dev"),
            b"\xff\xfehunter2",
            true,
        );
        assert_corrupt("bytes", kc.get_keys("dev"), "keys/dev", "not UTF-8");

        // A newer format, and a session where keys belong.
        raw::create_item(
            &conn,
            &collection,
            "v2",
            &ours("keys/dev"),
            br#"{"v":2,"kind":"long_term_keys","secret":"hunter2"}"#,
            true,
        );
        assert_corrupt("v2", kc.get_keys("dev"), "keys/dev", "format version 2");
        kc.set_session(&mfa_key(), &session(&s, SessionKind::MfaSession))
            .unwrap();
        let account = format!("session/{}", mfa_key().as_str());
        raw::create_item(
            &conn,
            &collection,
            "missing field",
            &ours(&account),
            br#"{"v":1,"kind":"session","profile":"dev","session_kind":"role","access_key_id":"A","secret_access_key":"hunter2","issued":"2026-01-01T00:00:00Z"}"#,
            true,
        );
        assert_corrupt(
            "missing field",
            kc.get_session(&mfa_key()),
            &account,
            "field `session_token` is missing",
        );
        let listed = kc.list().unwrap();
        let bad = listed.iter().find(|e| e.key.account() == account).unwrap();
        assert!(bad.problem.as_deref().unwrap().contains("session_token"));
        kc.set_session(&mfa_key(), &session(&s, SessionKind::MfaSession))
            .unwrap();
        assert_eq!(
            kc.get_session(&mfa_key()).unwrap(),
            Some(session(&s, SessionKind::MfaSession))
        );

        // Another program's item under the same service and user, without keyring's `target`
        // (as `secret-tool store service awsenv username keys/ops` makes it).
        let foreign = vec![
            ("service".to_string(), SERVICE.to_string()),
            ("username".to_string(), "keys/ops".to_string()),
        ];
        raw::create_item(
            &conn,
            &collection,
            "foreign",
            &foreign,
            br#"{"password":"hunter2"}"#,
            true,
        );
        assert!(kc.has_keys("ops"));
        assert_corrupt(
            "foreign",
            kc.get_keys("ops"),
            "keys/ops",
            "no version field",
        );
        kc.set_keys("ops", &long_term(&s)).unwrap();
        assert_eq!(kc.get_keys("ops").unwrap(), Some(long_term(&s)));

        // Two items where awsenv keeps one: ambiguous, then replaced by a single item.
        raw::create_item(
            &conn,
            &collection,
            "twin",
            &ours("keys/dev"),
            b"hunter2",
            false,
        );
        let (both, _) = raw::search(&conn, &[("service", SERVICE), ("username", "keys/dev")]);
        assert_eq!(both.len(), 2);
        assert_corrupt("twins", kc.get_keys("dev"), "keys/dev", "2 items");
        kc.set_keys("dev", &long_term(&s)).unwrap();
        assert_eq!(kc.get_keys("dev").unwrap(), Some(long_term(&s)));
        let (one, _) = raw::search(&conn, &[("service", SERVICE), ("username", "keys/dev")]);
        assert_eq!(one.len(), 1);

        // A corrupt index is rebuilt by the next write.
        raw::create_item(
            &conn,
            &collection,
            "index",
            &ours("index"),
            b"hunter2",
            true,
        );
        kc.set_keys("after", &long_term(&s)).unwrap();
        let accounts: Vec<String> = kc.list().unwrap().iter().map(|e| e.key.account()).collect();
        assert!(accounts.contains(&"keys/after".to_string()), "{accounts:?}");
        assert!(accounts.contains(&"keys/dev".to_string()), "{accounts:?}");
    }

    fn ku_round_trip() {
        let kc = keychain();
        assert_eq!(kc.backend(), Backend::Keyutils);
        round_trip(&kc);
    }

    /// Runs `keyctl` in this process's session keyring.
    fn keyctl(args: &[&str], stdin: Option<&[u8]>) {
        use std::io::Write;
        let mut cmd = Command::new("keyctl");
        cmd.args(args);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(bytes) = stdin {
            input.write_all(bytes).unwrap();
        }
        drop(input);
        let status = child.wait().unwrap();
        assert!(status.success(), "keyctl {args:?} failed");
    }

    fn ku_corrupt() {
        let kc = keychain();
        let s = secret();
        // Another tool writes garbage under awsenv's description.
        keyctl(
            &["add", "user", "awsenv:keys/dev", "hunter2 not json", "@s"],
            None,
        );
        assert!(kc.has_keys("dev"));
        assert_corrupt("garbage", kc.get_keys("dev"), "keys/dev", "not JSON");
        kc.set_keys("dev", &long_term(&s)).unwrap();
        assert_eq!(kc.get_keys("dev").unwrap(), Some(long_term(&s)));

        keyctl(
            &["padd", "user", "awsenv:keys/dev", "@s"],
            Some(b"\xff\xfe\x00hunter2"),
        );
        assert_corrupt("bytes", kc.get_keys("dev"), "keys/dev", "not UTF-8");

        let account = format!("session/{}", mfa_key().as_str());
        keyctl(
            &[
                "add",
                "user",
                &format!("awsenv:{account}"),
                r#"{"v":1,"kind":"long_term_keys","profile":"p","access_key_id":"A","secret_access_key":"hunter2","issued":"2026-01-01T00:00:00Z"}"#,
                "@s",
            ],
            None,
        );
        assert_corrupt(
            "wrong kind",
            kc.get_session(&mfa_key()),
            &account,
            "kind `long_term_keys` where `session` was expected",
        );
        kc.set_session(&mfa_key(), &session(&s, SessionKind::MfaSession))
            .unwrap();
        assert_eq!(
            kc.get_session(&mfa_key()).unwrap(),
            Some(session(&s, SessionKind::MfaSession))
        );
    }

    fn auto_keyutils() {
        let env = env();
        assert!(env.get("DBUS_SESSION_BUS_ADDRESS").is_none());
        let (kc, selection) = Keychain::open(&env).unwrap();
        assert_eq!(selection.backend, Backend::Keyutils, "{selection:?}");
        assert!(!selection.persistent);
        assert!(
            selection
                .reason
                .starts_with("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS unset, no socket at "),
            "{}",
            selection.reason
        );
        assert!(
            selection
                .reason
                .contains("→ kernel keyutils; its entries vanish at reboot"),
            "{}",
            selection.reason
        );
        round_trip(&kc);
    }
}

/// Raw Secret Service calls, as another program would make them: to check labels, lock the
/// collection and plant foreign items.
mod raw {
    use super::*;
    use zbus::blocking::Connection;
    use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue, Value};

    const DEST: &str = "org.freedesktop.secrets";
    const SERVICE_PATH: &str = "/org/freedesktop/secrets";
    const SERVICE_IFACE: &str = "org.freedesktop.Secret.Service";

    pub fn conn() -> Connection {
        Connection::session().expect("connect to the session bus")
    }

    pub fn default_collection(conn: &Connection) -> Option<OwnedObjectPath> {
        let path: OwnedObjectPath = conn
            .call_method(
                Some(DEST),
                SERVICE_PATH,
                Some(SERVICE_IFACE),
                "ReadAlias",
                &("default",),
            )
            .ok()?
            .body()
            .deserialize()
            .ok()?;
        (path.as_str() != "/").then_some(path)
    }

    fn property(conn: &Connection, path: &str, iface: &str, name: &str) -> OwnedValue {
        conn.call_method(
            Some(DEST),
            path,
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &(iface, name),
        )
        .unwrap()
        .body()
        .deserialize()
        .unwrap()
    }

    pub fn locked(conn: &Connection, collection: &OwnedObjectPath) -> bool {
        bool::try_from(property(
            conn,
            collection.as_str(),
            "org.freedesktop.Secret.Collection",
            "Locked",
        ))
        .unwrap()
    }

    /// Waits until gnome-keyring serves its default collection, unlocked (or locked, when
    /// `locked`): the daemon registers on the bus a moment after `--unlock` returns.
    pub fn wait_until_ready(want_locked: bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(conn) = Connection::session() {
                if let Some(c) = default_collection(&conn) {
                    if locked(&conn, &c) == want_locked {
                        return;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "gnome-keyring's default collection did not become ready (locked: {want_locked})"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn lock(conn: &Connection, collection: &OwnedObjectPath) {
        let paths = vec![ObjectPath::try_from(collection.as_str()).unwrap()];
        conn.call_method(
            Some(DEST),
            SERVICE_PATH,
            Some(SERVICE_IFACE),
            "Lock",
            &(paths,),
        )
        .unwrap();
    }

    pub fn search(
        conn: &Connection,
        attributes: &[(&str, &str)],
    ) -> (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>) {
        let attributes: HashMap<&str, &str> = attributes.iter().copied().collect();
        conn.call_method(
            Some(DEST),
            SERVICE_PATH,
            Some(SERVICE_IFACE),
            "SearchItems",
            &(attributes,),
        )
        .unwrap()
        .body()
        .deserialize()
        .unwrap()
    }

    pub fn label(conn: &Connection, item: &OwnedObjectPath) -> String {
        String::try_from(property(
            conn,
            item.as_str(),
            "org.freedesktop.Secret.Item",
            "Label",
        ))
        .unwrap()
    }

    pub fn attributes(conn: &Connection, item: &OwnedObjectPath) -> HashMap<String, String> {
        HashMap::try_from(property(
            conn,
            item.as_str(),
            "org.freedesktop.Secret.Item",
            "Attributes",
        ))
        .unwrap()
    }

    pub fn delete(conn: &Connection, item: &OwnedObjectPath) {
        conn.call_method(
            Some(DEST),
            item.as_str(),
            Some("org.freedesktop.Secret.Item"),
            "Delete",
            &(),
        )
        .unwrap();
    }

    /// Creates an item with a plain-text session, as a simple client would.
    pub fn create_item(
        conn: &Connection,
        collection: &OwnedObjectPath,
        label: &str,
        attributes: &[(String, String)],
        secret: &[u8],
        replace: bool,
    ) {
        let (_, session): (OwnedValue, OwnedObjectPath) = conn
            .call_method(
                Some(DEST),
                SERVICE_PATH,
                Some(SERVICE_IFACE),
                "OpenSession",
                &("plain", Value::from("")),
            )
            .unwrap()
            .body()
            .deserialize()
            .unwrap();
        let attributes: HashMap<String, String> = attributes.iter().cloned().collect();
        let mut properties: HashMap<&str, Value> = HashMap::new();
        properties.insert("org.freedesktop.Secret.Item.Label", Value::from(label));
        properties.insert(
            "org.freedesktop.Secret.Item.Attributes",
            Value::from(attributes),
        );
        let secret = (session, Vec::<u8>::new(), secret.to_vec(), "text/plain");
        conn.call_method(
            Some(DEST),
            collection.as_str(),
            Some("org.freedesktop.Secret.Collection"),
            "CreateItem",
            &(properties, secret, replace),
        )
        .unwrap();
    }
}
