//! `--dry-run` of `login`, `export`, `exec` and `credential-process`: the STS peer's counting proxy
//! sees no request from a dry run, and the calls a dry run announces are exactly the ones the real
//! run then makes (through the daemon and in-process).

mod common;

use std::collections::BTreeMap;

use common::world::{stderr, World};

/// The `STS calls:` line of a dry run, as a list.
fn announced(out: &std::process::Output) -> Vec<String> {
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "dry run: {}{text}", stderr(out));
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("STS calls: "))
        .unwrap_or_else(|| panic!("no `STS calls:` line in\n{text}"));
    if line == "none" {
        Vec::new()
    } else {
        line.split(", ").map(str::to_string).collect()
    }
}

/// What the proxy counted since `before`, as a list of calls (sorted by action).
fn made(w: &World, before: &BTreeMap<String, u64>) -> Vec<String> {
    let mut out = Vec::new();
    for (action, n) in w.peer.counts() {
        for _ in before.get(&action).copied().unwrap_or(0)..n {
            out.push(action.clone());
        }
    }
    out
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Runs `args` with `--dry-run` (no request may reach the peer), then for real, and checks that the
/// real run made the calls the dry run announced. Returns the dry run's text.
fn dry_then_real(w: &World, args: &[&str], real_extra: &[&str]) -> String {
    let before = w.peer.counts();
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let out = w.run(&dry, &[]);
    let calls = announced(&out);
    assert_eq!(w.peer.counts(), before, "a dry run sends nothing: {args:?}");
    let mut real = args.to_vec();
    real.extend_from_slice(real_extra);
    let out = w.run(&real, &[]);
    assert!(out.status.success(), "{real:?}: {}", stderr(&out));
    assert_eq!(
        made(w, &before),
        sorted(calls),
        "{args:?}: the real run made other calls than announced"
    );
    String::from_utf8(w.run(&dry, &[]).stdout).unwrap()
}

#[test]
fn dry_runs_call_nothing_and_announce_what_the_real_run_does() {
    if !common::in_session_keyring("dry_runs_call_nothing_and_announce_what_the_real_run_does") {
        return;
    }
    let Some(w) = World::start() else { return };
    w.peer.set_mfa_code("123456");

    // Nothing cached: login needs the MFA session, with a code.
    let out = w.run(&["login", "dev", "--dry-run"], &[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(announced(&out), ["GetSessionToken"]);
    assert!(text.contains("MFA prompts: 1"), "{text}");
    assert!(
        text.contains(&format!("MFA device {}", w.peer.mfa_serial())),
        "{text}"
    );
    assert!(
        text.contains("read the long-term keys of `alice` from the keychain"),
        "{text}"
    );
    assert!(text.contains("not cached"), "{text}");
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    let after = dry_then_real(
        &w,
        &["login", "dev"],
        &["--token-code", "123456", "--no-daemon"],
    );
    assert!(after.contains("STS calls: none"), "{after}");
    assert!(
        after.contains("(GetSessionToken): cached, 1"),
        "the session's time left: {after}"
    );

    // The MFA session is cached: the role is one AssumeRole, without a code, through the daemon.
    let text = dry_then_real(&w, &["credential-process", "dev"], &[]);
    assert!(text.contains("STS calls: none"), "{text}");
    // Everything cached now: export calls nothing.
    let text = dry_then_real(&w, &["export", "dev"], &["--no-daemon"]);
    assert!(text.contains("MFA prompts: none"), "{text}");
    // A chain on top of dev: one more AssumeRole.
    let out = w.run(&["exec", "chain2", "--dry-run", "--", "true"], &[]);
    assert_eq!(announced(&out), ["AssumeRole"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("start from the cached credentials of step"),
        "{text}"
    );
    assert!(text.contains("run `true` with them"), "{text}");
    dry_then_real(&w, &["exec", "chain2"], &["--no-daemon", "--", "true"]);
    // login --force: a new MFA session, with a code.
    let out = w.run(&["login", "dev", "--force", "--dry-run"], &[]);
    assert_eq!(announced(&out), ["GetSessionToken"]);
    w.peer.set_mfa_code("654321");
    let before = w.peer.counts();
    assert!(w
        .run(
            &[
                "login",
                "dev",
                "--force",
                "--token-code",
                "654321",
                "--no-daemon"
            ],
            &[]
        )
        .status
        .success());
    assert_eq!(made(&w, &before), ["GetSessionToken"]);
    let _ = w.run(&["daemon", "stop"], &[]);
}
