//! A test world for the credential commands: the STS peer (moto behind the counting proxy), a
//! temporary HOME with alice (long-term keys in the keyring, MFA device), `dev` (a role behind alice's
//! MFA session, region eu-west-1), `chain2` (a role assumed from dev) and `byprocess` (dev with an
//! `mfa_process`), and ways to run awsenv in it without a controlling terminal. Tests that use it run
//! inside [`super::in_session_keyring`].

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::sts_peer::{StsPeer, SESSION_NAME};

pub struct World {
    pub peer: StsPeer,
    home: tempfile::TempDir,
}

impl World {
    pub fn start() -> Option<World> {
        let peer = StsPeer::start()?;
        let home = tempfile::tempdir().unwrap();
        let mfa = peer.mfa_serial().to_string();
        let config = format!(
            "[profile alice]\nmfa_serial = {mfa}\n\n\
             [profile dev]\nrole_arn = {dev}\nsource_profile = alice\nmfa_serial = {mfa}\nrole_session_name = {SESSION_NAME}\nregion = eu-west-1\n\n\
             [profile chain2]\nrole_arn = {chain2}\nsource_profile = dev\nrole_session_name = {SESSION_NAME}\n\n\
             [profile byprocess]\nrole_arn = {dev}\nsource_profile = alice\nmfa_serial = {mfa}\nrole_session_name = {SESSION_NAME}\nmfa_process = cat {home}/code\n",
            dev = peer.role_arn("dev"),
            chain2 = peer.role_arn("chain2"),
            home = home.path().display(),
        );
        super::write_file(home.path(), ".aws/config", &config);
        std::fs::create_dir_all(home.path().join("run")).unwrap();
        let w = World { peer, home };
        let (akid, secret) = w.peer.user_key();
        let out = w.run(
            &["add", "alice", "--from-env"],
            &[
                ("AWS_ACCESS_KEY_ID", akid.as_str()),
                ("AWS_SECRET_ACCESS_KEY", secret.as_str()),
            ],
        );
        assert!(out.status.success(), "add: {}", stderr(&out));
        Some(w)
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn command(&self, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .env("HOME", self.home())
            .env("XDG_RUNTIME_DIR", self.home().join("run"))
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("AWSENV_KEYCHAIN", "keyutils")
            .env("AWS_ENDPOINT_URL_STS", self.peer.endpoint())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs awsenv in a new session with no controlling terminal.
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(&super::bin("awsenv"), args, env);
        use std::os::unix::process::CommandExt;
        // SAFETY: setsid is async-signal-safe; it detaches the child from our terminal.
        unsafe {
            cmd.pre_exec(|| {
                nix_setsid();
                Ok(())
            });
        }
        cmd.output().unwrap()
    }

    pub fn creds(&self, profile: &str) -> Value {
        let out = self.run(&["credential-process", profile, "--no-daemon"], &[]);
        assert!(out.status.success(), "credential-process: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).expect("one JSON document on stdout")
    }
}

/// `setsid()` without libc: the syscall through std's only exposure, `process_group` is not enough
/// to drop the controlling terminal, so call the C library function directly.
fn nix_setsid() {
    extern "C" {
        fn setsid() -> i32;
    }
    // SAFETY: no arguments, no memory; failure (already a leader) is harmless here.
    unsafe {
        setsid();
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
