//! `awsenv completions` and `awsenv man` in the real programs that use them. Each test makes a home
//! folder with `~/.aws/config` and `~/.aws/credentials`, generates the completion script, checks it
//! with the shell's own syntax check, loads it (nothing may be printed), then completes command lines
//! the way the shell does on Tab: bash calls the registered `complete -F` function with `COMP_WORDS`
//! set, zsh runs a real `complete-word` in an interactive shell on a pseudo-terminal, fish answers
//! `complete -C`, and elvish calls its registered arg-completer in an interactive shell. The manual
//! pages go through groff and man with warnings on.
//!
//! PowerShell cannot be installed on the test machines: its script is only compared with what
//! `COMPLETE=powershell awsenv` prints.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Profiles of the fixture's config and credentials files. `list` is named like a subcommand.
const CONFIG: &str = "\
[default]
region = eu-west-1

[profile dev]
region = eu-west-1

[profile prod-admin]
role_arn = arn:aws:iam::123456789012:role/admin
source_profile = dev

[profile list]
region = eu-west-1
";

const CREDENTIALS: &str = "\
[ci-bot]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
";

const ALL_PROFILES: [&str; 5] = ["ci-bot", "default", "dev", "list", "prod-admin"];

/// Every subcommand whose positional argument is a profile.
const PROFILE_SUBCOMMANDS: [&str; 9] = [
    "export",
    "exec",
    "login",
    "logout",
    "credential-process",
    "explain",
    "whoami",
    "add",
    "remove",
];

/// A shell (or formatter) run may take this long before the test fails instead of hanging.
const DEADLINE: Duration = Duration::from_secs(60);

/// A private home folder with AWS files; every program runs with only `PATH`, `HOME`, `TERM` and
/// `LANG` from outside, so no rc file, `AWS_*` variable or fish history of the user takes part.
struct Home {
    dir: TempDir,
}

impl Home {
    fn new() -> Home {
        let home = Home {
            dir: tempfile::tempdir().unwrap(),
        };
        common::write_file(home.path(), ".aws/config", CONFIG);
        common::write_file(home.path(), ".aws/credentials", CREDENTIALS);
        home
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("TERM", "xterm")
            .env("LANG", "C.UTF-8")
            .current_dir(self.path())
            .stdin(Stdio::null());
        cmd
    }

    fn awsenv(&self, args: &[&str]) -> Command {
        let mut cmd = self.command(common::bin("awsenv"));
        cmd.args(args);
        cmd
    }

    /// `awsenv completions SHELL`, written to `awsenv.SHELL` in the home folder.
    fn script(&self, shell: &str) -> PathBuf {
        let out = run_ok(self.awsenv(&["completions", shell]));
        assert!(
            out.stderr.is_empty(),
            "awsenv completions {shell} wrote to stderr: {}",
            text(&out.stderr)
        );
        assert!(!out.stdout.is_empty(), "no script for {shell}");
        let path = self.path().join(format!("awsenv.{shell}"));
        std::fs::write(&path, &out.stdout).unwrap();
        path
    }

    /// Runs `shell_command` on a pseudo-terminal (util-linux `script`) with the extra variables
    /// `vars`, typing `input`; returns what the terminal showed, for failure messages.
    fn in_terminal(&self, shell_command: &str, vars: &[(&str, &OsStr)], input: &str) -> String {
        let mut cmd = self.command("script");
        cmd.envs(vars.iter().copied())
            .args(["-qec", shell_command, "/dev/null"]);
        let input_path = self.path().join("typed-input");
        std::fs::write(&input_path, input).unwrap();
        cmd.stdin(File::open(&input_path).unwrap());
        text(&run_ok(cmd).stdout)
    }
}

/// Runs `cmd` to completion (stdout and stderr through files, so nothing blocks), failing the test
/// after [`DEADLINE`].
fn run(mut cmd: Command) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    cmd.stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} did not finish within {DEADLINE:?}; it printed:\n{}\n{}",
                std::fs::read_to_string(&out_path).unwrap_or_default(),
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    }
}

fn run_ok(cmd: Command) -> Output {
    let shown = format!("{cmd:?}");
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{shown} failed ({}):\n{}\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// Runs `cmd` and requires it to succeed without printing anything.
fn run_quiet(cmd: Command) {
    let shown = format!("{cmd:?}");
    let out = run_ok(cmd);
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "{shown} printed something:\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Parses `== LINE` headers each followed by one candidate a line (anything after a tab is the
/// candidate's description and dropped) into LINE → candidates.
fn parse_answers(output: &str) -> BTreeMap<String, Vec<String>> {
    let mut answers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in output.lines() {
        if let Some(asked) = line.strip_prefix("== ") {
            current = Some(asked.to_string());
            answers.entry(asked.to_string()).or_default();
        } else if let Some(asked) = &current {
            let value = line.split('\t').next().unwrap_or_default();
            if !value.is_empty() {
                answers.get_mut(asked).unwrap().push(value.to_string());
            }
        }
    }
    answers
}

/// The candidates offered for `line`, with a readable failure when the shell gave no answer at all.
fn answer<'a>(answers: &'a BTreeMap<String, Vec<String>>, line: &str, raw: &str) -> &'a [String] {
    answers
        .get(line)
        .unwrap_or_else(|| panic!("no completion answer for {line:?}; the shell printed:\n{raw}"))
}

fn profiles_in(candidates: &[String]) -> Vec<&str> {
    ALL_PROFILES
        .into_iter()
        .filter(|p| candidates.iter().any(|c| c == p))
        .collect()
}

/// The lines every shell must complete, and what each must offer. `awsenv l` must not offer the
/// profile `list` as a shorthand (the subcommand wins) but `awsenv export l` must.
fn check_common_answers(shell: &str, answers: &BTreeMap<String, Vec<String>>, raw: &str) {
    let exp = answer(answers, "awsenv exp", raw);
    assert!(
        exp.iter().any(|c| c == "export") && exp.iter().any(|c| c == "explain"),
        "{shell}: `awsenv exp` offered {exp:?}"
    );
    assert!(
        profiles_in(exp).is_empty(),
        "{shell}: `awsenv exp` offered profiles: {exp:?}"
    );

    let all = answer(answers, "awsenv export ", raw);
    assert_eq!(
        profiles_in(all),
        ALL_PROFILES,
        "{shell}: `awsenv export ` offered {all:?}"
    );

    let pr = answer(answers, "awsenv export pr", raw);
    assert_eq!(pr, ["prod-admin"], "{shell}: `awsenv export pr`");

    let d = answer(answers, "awsenv d", raw);
    for want in ["daemon", "decode", "default", "dev"] {
        assert!(
            d.iter().any(|c| c == want),
            "{shell}: `awsenv d` lacks {want}: {d:?}"
        );
    }
    let l = answer(answers, "awsenv l", raw);
    assert_eq!(
        l.iter().filter(|c| *c == "list").count(),
        1,
        "{shell}: `awsenv l` must offer `list` once (the subcommand): {l:?}"
    );
}

const COMMON_LINES: [&str; 5] = [
    "awsenv exp",
    "awsenv export ",
    "awsenv export pr",
    "awsenv d",
    "awsenv l",
];

/// Calls the function bash registered for `awsenv` the way programmable completion does: `COMP_WORDS`,
/// `COMP_CWORD`, `COMP_LINE`, `COMP_POINT` set and the command, current and previous word as
/// arguments; prints `COMPREPLY` under a `== LINE` header for each line given.
const BASH_DRIVER: &str = r#"
source "$1" || exit 1
shift
spec=$(complete -p awsenv) || exit 1
fn=${spec##*-F }
fn=${fn%% *}
for line in "$@"; do
  read -ra COMP_WORDS <<<"$line"
  [[ $line == *' ' ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE=$line
  COMP_POINT=${#line}
  COMPREPLY=()
  "$fn" awsenv "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  printf '== %s\n' "$line"
  if ((${#COMPREPLY[@]})); then printf '%s\n' "${COMPREPLY[@]}"; fi
done
"#;

fn bash_complete(home: &Home, script: &Path, lines: &[&str]) -> (String, String) {
    let mut cmd = home.command("bash");
    cmd.args(["--noprofile", "--norc", "-c", BASH_DRIVER, "bash"])
        .arg(script)
        .args(lines);
    let out = run_ok(cmd);
    (text(&out.stdout), text(&out.stderr))
}

#[test]
fn completions_print_what_complete_env_prints() {
    let home = Home::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let ours = run_ok(home.awsenv(&["completions", shell]));
        let mut env = home.awsenv(&[]);
        env.env("COMPLETE", shell);
        let theirs = run_ok(env);
        assert_eq!(text(&ours.stdout), text(&theirs.stdout), "{shell}");
        assert!(
            text(&ours.stdout).contains(common::bin("awsenv").to_str().unwrap()),
            "{shell}: the script must call this binary back"
        );
    }
}

#[test]
fn completions_for_an_unknown_shell_fail_with_the_choices() {
    let home = Home::new();
    let out = run(home.awsenv(&["completions", "tcsh"]));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("bash") && err.contains("powershell"), "{err}");
}

#[test]
fn bash_script_passes_checks_and_loads_quietly() {
    let Some(_) = common::require_program("bash") else {
        return;
    };
    let home = Home::new();
    let script = home.script("bash");
    let mut check = home.command("bash");
    check.arg("-n").arg(&script);
    run_quiet(check);
    let mut load = home.command("bash");
    load.args(["--noprofile", "--norc", "-c", "source \"$1\"", "bash"])
        .arg(&script);
    run_quiet(load);
    let Some(_) = common::require_program("shellcheck") else {
        return;
    };
    // clap_complete's script splits the program's answer on purpose (IFS is \013 there) and checks
    // `$?` after the assignment: those two findings are by design.
    let mut lint = home.command("shellcheck");
    lint.args(["--shell=bash", "--exclude=SC2207,SC2181"])
        .arg(&script);
    run_quiet(lint);
}

#[test]
fn bash_completes_subcommands_and_profiles() {
    let Some(_) = common::require_program("bash") else {
        return;
    };
    let home = Home::new();
    let script = home.script("bash");
    let mut lines: Vec<String> = COMMON_LINES.iter().map(|l| l.to_string()).collect();
    lines.extend(PROFILE_SUBCOMMANDS.iter().map(|s| format!("awsenv {s} ")));
    lines.push("awsenv login d".into());
    let line_refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (raw, stderr) = bash_complete(&home, &script, &line_refs);
    assert!(stderr.is_empty(), "completion wrote to stderr: {stderr}");
    let answers = parse_answers(&raw);
    check_common_answers("bash", &answers, &raw);
    for sub in PROFILE_SUBCOMMANDS {
        let line = format!("awsenv {sub} ");
        let got = answer(&answers, &line, &raw);
        assert_eq!(
            profiles_in(got),
            ALL_PROFILES,
            "bash: `{line}` offered {got:?}"
        );
    }
    assert_eq!(
        answer(&answers, "awsenv login d", &raw),
        ["default", "dev"],
        "bash: `awsenv login d`"
    );
}

#[test]
fn bash_reads_the_config_file_aws_config_file_names() {
    let Some(_) = common::require_program("bash") else {
        return;
    };
    let home = Home::new();
    let script = home.script("bash");
    let elsewhere = common::write_file(
        home.path(),
        "elsewhere/config",
        "[profile staging]\nregion = eu-west-1\n",
    );
    let mut cmd = home.command("bash");
    cmd.env("AWS_CONFIG_FILE", &elsewhere)
        .args(["--noprofile", "--norc", "-c", BASH_DRIVER, "bash"])
        .arg(&script)
        .arg("awsenv exec ");
    let raw = text(&run_ok(cmd).stdout);
    let answers = parse_answers(&raw);
    let got = answer(&answers, "awsenv exec ", &raw);
    assert!(got.iter().any(|c| c == "staging"), "{got:?}");
    assert_eq!(
        profiles_in(got),
        ["ci-bot"],
        "credentials file still read: {got:?}"
    );
}

#[test]
fn unreadable_config_completes_no_profiles_and_prints_nothing() {
    let Some(_) = common::require_program("bash") else {
        return;
    };
    let home = Home::new();
    let script = home.script("bash");
    // Not UTF-8: awsenv itself refuses the file with an error, completion must stay silent.
    std::fs::write(
        home.path().join(".aws/config"),
        b"[profile dev]\nregion = \xff\xfe\n",
    )
    .unwrap();
    let (raw, stderr) = bash_complete(&home, &script, &["awsenv export ", "awsenv exp"]);
    assert!(stderr.is_empty(), "completion wrote to stderr: {stderr}");
    let answers = parse_answers(&raw);
    let got = answer(&answers, "awsenv export ", &raw);
    assert!(profiles_in(got).is_empty(), "{got:?}");
    assert!(
        got.iter().any(|c| c == "--format"),
        "options still complete: {got:?}"
    );
    assert!(answer(&answers, "awsenv exp", &raw).contains(&"export".to_string()));
}

#[test]
fn zsh_script_passes_checks_and_loads_quietly() {
    let Some(_) = common::require_program("zsh") else {
        return;
    };
    let home = Home::new();
    let script = home.script("zsh");
    let mut check = home.command("zsh");
    check.arg("-n").arg(&script);
    run_quiet(check);
    // The script registers with `compdef`, so (as in every zshrc) compinit comes first.
    let mut load = home.command("zsh");
    load.args([
        "-f",
        "-c",
        "autoload -Uz compinit && compinit -u -D && source \"$1\"",
        "zsh",
    ])
    .arg(&script);
    run_quiet(load);
}

/// An interactive zsh on a pseudo-terminal: on its first prompt a `zle-line-init` widget puts each
/// line in the buffer and runs the real `complete-word`; `compadd` is wrapped to record what the
/// completion function adds, under a `== LINE` header, then the widget types `exit`.
const ZSH_DRIVER: &str = r#"
autoload -Uz compinit && compinit -u -D
source "$AWSENV_TEST_SCRIPT"
compadd() {
  # Calls that only query (-O, -A, -D) are zsh's own business.
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a __hits
  builtin compadd -A __hits "$@"
  (( $#__hits )) && print -rl -- $__hits >> "$AWSENV_TEST_OUT"
  return 0
}
__awsenv_test_drive() {
  local line
  for line in "${(@f)AWSENV_TEST_LINES}"; do
    print -r -- "== $line" >> "$AWSENV_TEST_OUT"
    BUFFER=$line
    CURSOR=$#BUFFER
    zle complete-word
  done
  BUFFER=exit
  zle accept-line
}
zle -N zle-line-init __awsenv_test_drive
"#;

#[test]
fn zsh_completes_subcommands_and_profiles() {
    let (Some(_), Some(_)) = (
        common::require_program("zsh"),
        common::require_program("script"),
    ) else {
        return;
    };
    let home = Home::new();
    let script = home.script("zsh");
    let driver = common::write_file(home.path(), "drive.zsh", ZSH_DRIVER);
    let out = home.path().join("zsh-answers");
    let lines = COMMON_LINES.join("\n");
    let terminal = home.in_terminal(
        "zsh -f -i",
        &[
            ("AWSENV_TEST_SCRIPT", script.as_os_str()),
            ("AWSENV_TEST_OUT", out.as_os_str()),
            ("AWSENV_TEST_LINES", OsStr::new(&lines)),
        ],
        &format!("source '{}'\n", driver.display()),
    );
    let raw = std::fs::read_to_string(&out)
        .unwrap_or_else(|_| panic!("zsh completed nothing; the terminal showed:\n{terminal}"));
    check_common_answers("zsh", &parse_answers(&raw), &raw);
}

#[test]
fn fish_script_passes_checks_and_loads_quietly() {
    let Some(_) = common::require_program("fish") else {
        return;
    };
    let home = Home::new();
    let script = home.script("fish");
    let mut check = home.command("fish");
    check.arg("--no-execute").arg(&script);
    run_quiet(check);
    let mut load = home.command("fish");
    load.args(["--no-config", "-c", "source $argv[1]"])
        .arg(&script);
    run_quiet(load);
}

#[test]
fn fish_completes_subcommands_and_profiles() {
    let Some(_) = common::require_program("fish") else {
        return;
    };
    let home = Home::new();
    let script = home.script("fish");
    let driver = "source $argv[1]; or exit 1
for line in $argv[2..]
    echo \"== $line\"
    complete -C \"$line\"
end";
    let mut cmd = home.command("fish");
    cmd.args(["--no-config", "-c", driver])
        .arg(&script)
        .args(COMMON_LINES);
    let out = run_ok(cmd);
    let (raw, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stderr.is_empty(), "completion wrote to stderr: {stderr}");
    check_common_answers("fish", &parse_answers(&raw), &raw);
}

/// Elvish has its `edit:` module only when interactive, so the script is loaded and its completer
/// called in an interactive elvish on a pseudo-terminal; the driver writes to files, not the terminal.
#[test]
fn elvish_script_loads_quietly_and_completes_profiles() {
    let (Some(_), Some(_)) = (
        common::require_program("elvish"),
        common::require_program("script"),
    ) else {
        return;
    };
    let home = Home::new();
    let script = home.script("elvish");
    let path = |name: &str| elvish_quote(&home.path().join(name));
    let mut driver = format!(
        "eval (slurp < {}) > {} 2> {}\n",
        elvish_quote(&script),
        path("load.out"),
        path("load.err")
    );
    for line in COMMON_LINES {
        let mut words: Vec<String> = line.split_whitespace().map(|w| format!("'{w}'")).collect();
        if line.ends_with(' ') {
            words.push("''".into());
        }
        driver += &format!(
            "echo '== {line}' >> {out}\n$edit:completion:arg-completer[awsenv] {words} >> {out}\n",
            out = path("answers"),
            words = words.join(" ")
        );
    }
    driver += "exit\n";
    let driver_path = common::write_file(home.path(), "drive.elv", &driver);
    let terminal = home.in_terminal(
        "elvish -norc",
        &[],
        &format!("eval (slurp < {})\n", elvish_quote(&driver_path)),
    );
    let read = |name: &str| std::fs::read_to_string(home.path().join(name));
    let raw = read("answers").unwrap_or_else(|_| {
        panic!("elvish did not load or complete; the terminal showed:\n{terminal}")
    });
    assert_eq!(read("load.out").unwrap(), "", "loading printed to stdout");
    assert_eq!(read("load.err").unwrap(), "", "loading printed to stderr");
    check_common_answers("elvish", &parse_answers(&raw), &raw);
}

fn elvish_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "''"))
}

#[test]
fn man_prints_a_page_that_groff_and_man_render_without_warnings() {
    let (Some(_), Some(_)) = (
        common::require_program("groff"),
        common::require_program("man"),
    ) else {
        return;
    };
    let home = Home::new();
    let out = run_ok(home.awsenv(&["man"]));
    let page = text(&out.stdout);
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    assert!(page.starts_with(".TH awsenv 1 "), "{page}");
    for part in [
        ".SH SYNOPSIS",
        "awsenv\\-export(1)",
        "awsenv\\-completions(1)",
    ] {
        assert!(page.contains(part), "the page lacks {part}:\n{page}");
    }
    assert!(
        !page.contains("awsenv\\-help(1)") && !page.contains("awsenv\\-use(1)"),
        "pages that are not written are not referenced:\n{page}"
    );
    let manual = home.path().join("awsenv.1");
    std::fs::write(&manual, &page).unwrap();
    groff_renders_cleanly(&home, &manual);

    let mut man = home.command("sh");
    man.args(["-c", "man --warnings -l - < \"$1\"", "sh"])
        .arg(&manual)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80");
    let out = run_ok(man);
    assert!(out.stderr.is_empty(), "man warned: {}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("SYNOPSIS") && shown.contains("awsenv-export(1)"),
        "{shown}"
    );
}

#[test]
fn man_dir_writes_a_page_per_visible_subcommand() {
    let Some(_) = common::require_program("groff") else {
        return;
    };
    let home = Home::new();
    let dir = home.path().join("share/man/man1");
    let out = run_ok(home.awsenv(&["man", "--dir", dir.to_str().unwrap()]));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for want in [
        "awsenv.1",
        "awsenv-export.1",
        "awsenv-completions.1",
        "awsenv-man.1",
        "awsenv-daemon.1",
        "awsenv-daemon-run.1",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    for unwanted in [
        "awsenv-help.1",
        "awsenv-use.1",
        "awsenv-unuse.1",
        "awsenv-daemon-help.1",
    ] {
        assert!(
            !names.iter().any(|n| n == unwanted),
            "{unwanted}: {names:?}"
        );
    }
    for name in &names {
        let page = dir.join(name);
        let body = std::fs::read_to_string(&page).unwrap();
        assert!(body.starts_with(".TH "), "{name} does not start with .TH");
        groff_renders_cleanly(&home, &page);
    }
}

/// groff with every warning on, output discarded: nothing may be printed.
fn groff_renders_cleanly(home: &Home, page: &Path) {
    let mut groff = home.command("groff");
    groff.args(["-man", "-Tutf8", "-ww", "-z"]).arg(page);
    run_quiet(groff);
}
