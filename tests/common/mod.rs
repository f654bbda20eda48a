//! Shared pieces of the integration tests: where the conformance data and the Python peers are, and
//! the rule that a missing peer fails under `CI=true` instead of skipping.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub mod process;
pub mod sts_peer;
pub mod world;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// True when running in CI, where every peer must be present.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Reports a missing peer: a failure under `CI=true`, otherwise a visible skip. Returns `None` so
/// callers can write `let Some(x) = … else { return };`.
pub fn missing<T>(what: &str, how: &str) -> Option<T> {
    if in_ci() {
        panic!("{what} is missing, and CI=true requires it: {how}");
    }
    eprintln!("SKIP: {what} is missing ({how}); under CI=true this fails");
    None
}

/// The shared conformance folder: `AWSENV_CONFORMANCE_DIR`, else `../shared/conformance`.
pub fn conformance_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("AWSENV_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => repo_root().join("../shared/conformance"),
    };
    if dir.join("profile-parser-tests.json").is_file() {
        Some(dir)
    } else {
        missing(
            &format!("conformance data at {}", dir.display()),
            "set AWSENV_CONFORMANCE_DIR or check out shared/ beside the repository",
        )
    }
}

/// The test virtualenv's Python (`AWSENV_TEST_VENV`, else `.venv`), created by `tests/run`.
pub fn venv_python() -> Option<PathBuf> {
    let venv = match std::env::var_os("AWSENV_TEST_VENV") {
        Some(d) => PathBuf::from(d),
        None => repo_root().join(".venv"),
    };
    let py = venv.join("bin/python");
    if py.is_file() {
        Some(py)
    } else {
        missing(
            &format!("the test venv at {}", venv.display()),
            "run ./tests/run, which creates it",
        )
    }
}

/// A package of the JavaScript peers (`tests/js`, installed by `./tests/run` with `npm ci`): the folder
/// to `require`, or a skip/failure as [`missing`] says.
pub fn node_module(name: &str) -> Option<PathBuf> {
    let modules = match std::env::var_os("AWSENV_TEST_NODE_MODULES") {
        Some(d) => PathBuf::from(d),
        None => repo_root().join("tests/js/node_modules"),
    };
    let dir = modules.join(name);
    if dir.join("package.json").is_file() {
        Some(dir)
    } else {
        missing(
            &format!("the npm package {name} in {}", modules.display()),
            "run ./tests/run, which installs it",
        )
    }
}

/// A program on `PATH`, or a skip/failure as [`missing`] says.
pub fn require_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        let p = dir.join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    missing(&format!("`{name}`"), "run ./tests/run, which installs it")
}

/// Path of a built binary of this package.
pub fn bin(name: &str) -> PathBuf {
    match name {
        "awsenv" => PathBuf::from(env!("CARGO_BIN_EXE_awsenv")),
        "awsenv-credential-process" => {
            PathBuf::from(env!("CARGO_BIN_EXE_awsenv-credential-process"))
        }
        other => panic!("unknown binary {other}"),
    }
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs the calling test again inside a fresh kernel session keyring (`keyctl session -`) in a user
/// namespace of its own (`unshare --user --map-root-user`), so that every process it starts shares
/// that keyring and no other test sees it (awsenv's keyutils entries are also linked into the user's
/// persistent keyring, which is per user namespace). Returns `true` in the inner run (carry on with
/// the test) and `false` in the outer one (the inner run passed, or a tool is missing outside CI).
pub fn in_session_keyring(test_name: &str) -> bool {
    if std::env::var_os("AWSENV_TEST_IN_KEYRING").is_some() {
        return true;
    }
    let (Some(unshare), Some(keyctl)) = (require_program("unshare"), require_program("keyctl"))
    else {
        return false;
    };
    let exe = std::env::current_exe().expect("the test binary");
    let out = std::process::Command::new(unshare)
        .args(["--user", "--map-root-user"])
        .arg(keyctl)
        .args(["session", "-"])
        .arg(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env("AWSENV_TEST_IN_KEYRING", "1")
        .output()
        .expect("run keyctl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("1 passed"),
        "the test failed inside its session keyring:\n{text}"
    );
    false
}
