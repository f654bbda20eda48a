//! The shell hooks in real interactive bash, zsh and fish on a pseudo-terminal
//! (`tests/peers/shell_scenario.py`, driven by pexpect), against the STS peer and a daemon in a
//! private session keyring; and every hook script through its shell's syntax check and shellcheck.

mod common;

use std::path::Path;
use std::process::Command;

use common::world::{stderr, World};

/// The hook as `awsenv hook SHELL` prints it.
fn hook(shell: &str) -> String {
    let out = Command::new(common::bin("awsenv"))
        .args(["hook", shell])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "awsenv hook {shell}: {}",
        stderr(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn scenario(shell: &str) {
    let Some(program) = common::require_program(shell) else {
        return;
    };
    let Some(w) = World::start() else { return };
    let Some(py) = common::venv_python() else {
        return;
    };
    let awsenv = common::bin("awsenv");
    let home = w.home();
    let line = |sh: &str| match sh {
        "fish" => format!("{} hook fish | source\n", awsenv.display()),
        "elvish" => format!("eval ({} hook elvish | slurp)\n", awsenv.display()),
        _ => format!("eval \"$('{}' hook {sh})\"\n", awsenv.display()),
    };
    // The hook is loaded twice on purpose: it must register once.
    let rc = match shell {
        "bash" => common::write_file(
            home,
            "bashrc",
            &format!(
                "PS1='AWSENV-PROMPT> '\nset -u\n{}{}",
                line("bash"),
                line("bash")
            ),
        ),
        "zsh" => common::write_file(
            home,
            "zdot/.zshrc",
            &format!(
                "PROMPT='AWSENV-PROMPT> '\nunsetopt PROMPT_SP\nsetopt nounset\n{}{}",
                line("zsh"),
                line("zsh")
            ),
        ),
        "elvish" => common::write_file(
            home,
            ".config/elvish/rc.elv",
            &format!(
                "var prompts = 0\n\
                 set edit:before-readline = [{{|| set prompts = (+ $prompts 1) }}]\n\
                 set edit:prompt = {{ put (to-string (% $prompts 10))':AWSENV-PROMPT-'(to-string $prompts)'> ' }}\n\
                 set edit:rprompt = {{ }}\n\
                 set edit:prompt-stale-threshold = 10\n{}{}",
                line("elvish"),
                line("elvish")
            ),
        ),
        _ => common::write_file(
            home,
            ".config/fish/config.fish",
            &format!(
                "set -g fish_greeting ''\nset -g __prompts 0\n\
                 function __count_prompts --on-event fish_prompt; set -g __prompts (math $__prompts + 1); end\n\
                 function fish_prompt; printf 'AWSENV-PROMPT-%s> ' $__prompts; end\n{}{}",
                line("fish"),
                line("fish")
            ),
        ),
    };
    let venv_bin = py.parent().unwrap();
    let path = format!(
        "{}:{}:/usr/local/bin:/usr/bin:/bin",
        venv_bin.display(),
        Path::new(program.to_str().unwrap())
            .parent()
            .unwrap()
            .display()
    );
    let script = common::repo_root().join("tests/peers/shell_scenario.py");
    let proxy = w.peer.endpoint();
    let out = w
        .command(
            &py,
            &[
                script.to_str().unwrap(),
                shell,
                rc.to_str().unwrap(),
                &proxy,
            ],
            &[
                ("PATH", &path),
                ("AWSENV_BIN", awsenv.to_str().unwrap()),
                ("MFA_SERIAL", w.peer.mfa_serial()),
                ("ZDOTDIR", home.join("zdot").to_str().unwrap()),
                ("TERM", "dumb"),
                ("SHELL", program.to_str().unwrap()),
            ],
        )
        .output()
        .unwrap();
    let _ = w.run(&["daemon", "stop"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("SCENARIO OK"),
        "{shell} scenario failed:\n{text}\n{}",
        stderr(&out)
    );
}

#[test]
fn bash_scenario() {
    if common::in_session_keyring("bash_scenario") {
        scenario("bash");
    }
}

#[test]
fn zsh_scenario() {
    if common::in_session_keyring("zsh_scenario") {
        scenario("zsh");
    }
}

#[test]
fn fish_scenario() {
    if common::in_session_keyring("fish_scenario") {
        scenario("fish");
    }
}

#[test]
fn elvish_scenario() {
    if common::in_session_keyring("elvish_scenario") {
        scenario("elvish");
    }
}

#[test]
fn hooks_pass_syntax_checks_and_shellcheck() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, check) in [
        ("bash", vec!["-n"]),
        ("zsh", vec!["-n"]),
        ("fish", vec!["--no-execute"]),
    ] {
        let Some(program) = common::require_program(shell) else {
            continue;
        };
        let file = common::write_file(dir.path(), &format!("hook.{shell}"), &hook(shell));
        let out = Command::new(&program)
            .args(&check)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{shell} {check:?}: {}",
            stderr(&out)
        );
        // Loading it in a non-interactive shell prints nothing.
        let load = match shell {
            "fish" => format!("source {}", file.display()),
            _ => format!(". '{}'", file.display()),
        };
        let out = Command::new(&program)
            .args(["-c", &load])
            .env("HOME", dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "loading the {shell} hook: {}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        );
    }
    if let Some(shellcheck) = common::require_program("shellcheck") {
        for target in [
            common::write_file(dir.path(), "rendered.bash", &hook("bash")),
            common::repo_root().join("shell/awsenv.bash"),
        ] {
            let out = Command::new(&shellcheck)
                .args(["--shell=bash", "--severity=style"])
                .arg(&target)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "shellcheck {}:\n{}",
                target.display(),
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}
