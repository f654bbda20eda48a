//! The export formats read by their real consumers: bash, zsh, `sh` and fish evaluate `env`,
//! `env-no-export` and `fish` output built from hostile values and print the variables back, which
//! must match byte for byte with no marker file created; Python's `json` reads `json` and `process`;
//! python-dotenv and npm `dotenv` (pinned in `tests/js`) read `dotenv`.
//!
//! PowerShell, nushell and cmd.exe are not installable on the test machines: their output is covered
//! by the unit tests in `src/core/export.rs` only.
//!
//! Everything a shell writes (the export scripts, `env` dumps, `HOME`, fish's data) lives in a
//! `tempfile` directory that is removed at the end of each run.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use awsenv::core::credentials::{Credentials, Secret};
use awsenv::core::export::{render, render_unset, ExportError, Exported, Format};
use awsenv::core::time::UtcTime;

/// 2026-01-02T03:04:05Z.
const EXPIRES: i64 = 1767323045;
const EXPIRES_RFC3339: &str = "2026-01-02T03:04:05Z";

/// Every variable an export sets or unsets, written out here rather than taken from the module.
const ALL_NAMES: [&str; 16] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_SESSION_EXPIRATION",
    "AWSENV_EXPIRES",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWSENV_PROFILE",
    "AWSENV_MFA_EXPIRES",
    "AWSENV_EXPORTED_AT",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_FILE",
    "AWS_SDK_LOAD_CONFIG",
];

/// What each variable should be after an export (`None`: unset).
type Expected = BTreeMap<&'static str, Option<String>>;

fn expected(e: &Exported) -> Expected {
    let c = e.credentials;
    let exp = c.expiration;
    let mut m: Expected = ALL_NAMES.iter().map(|n| (*n, None)).collect();
    m.insert("AWS_ACCESS_KEY_ID", Some(c.access_key_id.clone()));
    m.insert(
        "AWS_SECRET_ACCESS_KEY",
        Some(c.secret_access_key.expose().to_string()),
    );
    m.insert(
        "AWS_SESSION_TOKEN",
        c.session_token.as_ref().map(|t| t.expose().to_string()),
    );
    m.insert("AWS_CREDENTIAL_EXPIRATION", exp.map(|t| t.rfc3339()));
    m.insert("AWS_SESSION_EXPIRATION", exp.map(|t| t.rfc3339()));
    m.insert("AWSENV_EXPIRES", exp.map(|t| t.0.to_string()));
    m.insert("AWS_REGION", e.region.map(str::to_string));
    m.insert("AWS_DEFAULT_REGION", e.region.map(str::to_string));
    m.insert("AWSENV_PROFILE", Some(e.profile.to_string()));
    m.insert("AWSENV_MFA_EXPIRES", e.mfa_expires.map(|t| t.0.to_string()));
    m.insert("AWSENV_EXPORTED_AT", e.exported_at.map(|t| t.0.to_string()));
    m
}

fn everything_unset() -> Expected {
    ALL_NAMES.iter().map(|n| (*n, None)).collect()
}

/// Values that break naive quoting somewhere. Markers are created relative to the shell's working
/// directory (the test's temp dir) or under `dir`.
fn hostile_values(dir: &Path) -> Vec<String> {
    let d = dir.display();
    let mut v: Vec<String> = [
        "'",
        "''",
        "a'b",
        "'\\''",
        "\"",
        "a\"b\"c",
        "‘single’ ‚low‛ “double” „low‟",
        "`",
        "`touch pwned-backtick`",
        "$(touch pwned-dollar)",
        "$HOME",
        "${HOME}",
        "$",
        "$'\\x41'",
        "; touch pwned-semicolon",
        "&& touch pwned-and",
        "|| touch pwned-or",
        "| touch pwned-pipe",
        "& touch pwned-background",
        "\ntouch pwned-newline\n",
        "\n",
        "a\nb",
        "trailing newline\n",
        "\r\n",
        "carriage\rreturn",
        "'; touch pwned-single; '",
        "\"; touch pwned-double; \"",
        "\\'; touch pwned-fish-escape; echo \\'",
        "(touch pwned-fish-subst)",
        "{a,b}",
        "*",
        "?",
        "[a]",
        "~",
        "~root",
        "=ls",
        "!!",
        "!$",
        "\\",
        "\\\\",
        "ends with backslash\\",
        "\\n\\t\\0",
        "%PATH% !x! ^& <> |",
        "-e",
        "-n",
        "--",
        "--help",
        "  leading and trailing  ",
        "\t",
        "",
        "#not a comment",
        "a # b",
        "export X=1; set -gx X 1",
        "é 日本語 🦀 \u{200b} \u{202e}rtl",
        "\u{f600}\u{f6ff}\u{fffd}",
        "\u{2028}\u{2029}\u{85}\u{a0}",
        "\u{1b}[31mred\u{1b}[0m",
        "\u{1}\u{7f}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("$(touch {d}/pwned-absolute)"));
    v.push(format!("`touch {d}/pwned-absolute-backtick`"));
    v.push(format!("'$(touch {d}/pwned-absolute-quoted)'"));
    // Long, but each variable stays under Linux's 128 KiB limit so `env` can still be exec'd.
    let unit = "'\"$(touch pwned-long)`x`\\\n;&|%日\u{1b}";
    v.push(unit.repeat(30_000 / unit.len()));
    v
}

/// The credentials of one case: every field carries the hostile value, each slightly differently so a
/// mix-up between fields shows.
fn hostile_credentials(v: &str) -> Credentials {
    Credentials {
        access_key_id: format!("AKIA{v}"),
        secret_access_key: Secret::new(v),
        session_token: Some(Secret::new(format!("{v}|{v}"))),
        expiration: Some(UtcTime(EXPIRES)),
    }
}

fn temporary() -> Credentials {
    Credentials {
        access_key_id: "ASIAFIRST".into(),
        secret_access_key: Secret::new("first/secret+key"),
        session_token: Some(Secret::new("FwoGZXIvYXdzFIRST=")),
        expiration: Some(UtcTime(EXPIRES)),
    }
}

fn long_term() -> Credentials {
    Credentials {
        access_key_id: "AKIALONGTERM".into(),
        secret_access_key: Secret::new("long/term+secret"),
        session_token: None,
        expiration: None,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Dialect {
    Posix,
    Fish,
}

/// A shell as the tests run it.
struct Shell {
    label: &'static str,
    program: &'static str,
    args: &'static [&'static str],
    dialect: Dialect,
    formats: &'static [Format],
}

const POSIX_FORMATS: &[Format] = &[Format::Env, Format::EnvNoExport];

const BASH: &[Shell] = &[
    Shell {
        label: "bash",
        program: "bash",
        args: &["--norc", "--noprofile"],
        dialect: Dialect::Posix,
        formats: POSIX_FORMATS,
    },
    Shell {
        label: "bash --posix",
        program: "bash",
        args: &["--norc", "--noprofile", "--posix"],
        dialect: Dialect::Posix,
        formats: POSIX_FORMATS,
    },
];

const ZSH: &[Shell] = &[
    Shell {
        label: "zsh",
        program: "zsh",
        args: &["-f"],
        dialect: Dialect::Posix,
        formats: POSIX_FORMATS,
    },
    // RC_QUOTES turns `''` inside single quotes into a quote: the `'\''` escape must not produce one.
    Shell {
        label: "zsh -o rcquotes",
        program: "zsh",
        args: &["-f", "-o", "rcquotes"],
        dialect: Dialect::Posix,
        formats: POSIX_FORMATS,
    },
];

const SH: &[Shell] = &[Shell {
    label: "sh",
    program: "sh",
    args: &[],
    dialect: Dialect::Posix,
    formats: POSIX_FORMATS,
}];

const FISH: &[Shell] = &[Shell {
    label: "fish",
    program: "fish",
    args: &["--no-config"],
    dialect: Dialect::Fish,
    formats: &[Format::Fish],
}];

const LOCALES: [&str; 2] = ["C.UTF-8", "C"];

/// What a shell saw after evaluating the exports.
struct Observed {
    /// Each variable as the shell itself sees it (`None`: unset).
    vars: BTreeMap<String, Option<Vec<u8>>>,
    /// The environment a child process of the shell receives.
    child_env: BTreeMap<String, Vec<u8>>,
}

fn single_quoted_path(p: &Path) -> String {
    let s = p.to_str().expect("temp paths are UTF-8");
    assert!(!s.contains('\''), "temp path {s} has a quote");
    format!("'{s}'")
}

/// A driver script that evaluates `scripts` in order the way users do (`eval "$(…)"`, `… | source`),
/// then optionally prints every variable NUL-separated and dumps a child's environment.
fn driver(dialect: Dialect, scripts: &[PathBuf], print_to: Option<&Path>) -> String {
    let mut out = String::new();
    for s in scripts {
        let s = single_quoted_path(s);
        match dialect {
            Dialect::Posix => out += &format!("eval \"$(cat {s})\" || exit 97\n"),
            Dialect::Fish => out += &format!("cat {s} | source; or exit 97\n"),
        }
    }
    if let Some(dump) = print_to {
        for name in ALL_NAMES {
            match dialect {
                Dialect::Posix => {
                    out += &format!(
                        "if [ \"${{{name}+x}}\" = x ]; then printf '%s=%s\\0' {name} \"${name}\"; \
                         else printf '%s\\0' {name}; fi\n"
                    )
                }
                Dialect::Fish => {
                    out += &format!(
                        "if set -q {name}; printf '%s=%s\\0' {name} \"${name}\"; \
                         else; printf '%s\\0' {name}; end\n"
                    )
                }
            }
        }
        out += &format!("env -0 > {}\n", single_quoted_path(dump));
    }
    out
}

/// Runs `scripts` in `shell` with a clean environment plus `initial`, in `dir`.
fn run_shell(
    shell: &Shell,
    locale: &str,
    dir: &Path,
    scripts: &[PathBuf],
    initial: &[(&str, &str)],
    print: bool,
) -> Output {
    let dump = dir.join("child-env");
    let driver_path = dir.join("driver");
    std::fs::write(
        &driver_path,
        driver(shell.dialect, scripts, print.then_some(dump.as_path())),
    )
    .unwrap();
    let mut cmd = Command::new(shell.program);
    cmd.args(shell.args)
        .arg(&driver_path)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("LC_ALL", locale)
        .stdin(Stdio::null());
    for (k, v) in initial {
        cmd.env(k, v);
    }
    cmd.output().expect("shell runs")
}

fn parse_observed(out: &Output, dir: &Path) -> Observed {
    let mut vars = BTreeMap::new();
    for item in out.stdout.split(|b| *b == 0).filter(|i| !i.is_empty()) {
        match item.iter().position(|b| *b == b'=') {
            Some(i) => vars.insert(
                String::from_utf8(item[..i].to_vec()).unwrap(),
                Some(item[i + 1..].to_vec()),
            ),
            None => vars.insert(String::from_utf8(item.to_vec()).unwrap(), None),
        };
    }
    let dump = std::fs::read(dir.join("child-env")).unwrap();
    let mut child_env = BTreeMap::new();
    for item in dump.split(|b| *b == 0).filter(|i| !i.is_empty()) {
        let i = item.iter().position(|b| *b == b'=').unwrap();
        child_env.insert(
            String::from_utf8_lossy(&item[..i]).into_owned(),
            item[i + 1..].to_vec(),
        );
    }
    Observed { vars, child_env }
}

/// A value for an assertion message: short, with control characters visible.
fn show(bytes: Option<&[u8]>) -> String {
    let Some(b) = bytes else {
        return "<unset>".to_string();
    };
    let s = format!("{:?}", String::from_utf8_lossy(b));
    if s.chars().count() <= 160 {
        return s;
    }
    let head: String = s.chars().take(150).collect();
    format!("{head}… ({} bytes)", b.len())
}

fn assert_no_markers(dir: &Path, context: &str) {
    let pwned: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("pwned"))
        .collect();
    assert!(
        pwned.is_empty(),
        "{context}: a value was executed: {pwned:?}"
    );
}

/// Asserts the shell sees exactly `want` and, for exporting formats, that a child process does too.
fn assert_observed(obs: &Observed, want: &Expected, exported: bool, context: &str) {
    for (name, value) in want {
        let got = obs
            .vars
            .get(*name)
            .unwrap_or_else(|| panic!("{context}: {name} was not printed"));
        assert!(
            got.as_deref() == value.as_deref().map(str::as_bytes),
            "{context}: {name} is {} in the shell, expected {}",
            show(got.as_deref()),
            show(value.as_deref().map(str::as_bytes)),
        );
        if exported {
            let child = obs.child_env.get(*name);
            assert!(
                child.map(Vec::as_slice) == value.as_deref().map(str::as_bytes),
                "{context}: {name} is {} in a child process, expected {}",
                show(child.map(Vec::as_slice)),
                show(value.as_deref().map(str::as_bytes)),
            );
        }
    }
}

fn assert_quiet_success(out: &Output, context: &str) {
    assert!(
        out.status.success(),
        "{context}: exit {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{context}: stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_script(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    p
}

/// Stale values for every variable, as an earlier export (or the user) might have left them.
fn stale_environment() -> Vec<(&'static str, &'static str)> {
    ALL_NAMES.iter().map(|n| (*n, "stale-value")).collect()
}

fn round_trip_hostile_values(shells: &[Shell]) {
    for shell in shells {
        if common::require_program(shell.program).is_none() {
            return;
        }
    }
    let stale = stale_environment();
    for shell in shells {
        for locale in LOCALES {
            for &format in shell.formats {
                for i in 0..hostile_values(Path::new("/")).len() {
                    let dir = tempfile::tempdir().unwrap();
                    // Built per run so the absolute marker paths point into this run's directory.
                    let value = hostile_values(dir.path()).swap_remove(i);
                    let creds = hostile_credentials(&value);
                    let region = format!("r-{value}");
                    let profile = format!("{value}-p");
                    let e = Exported {
                        credentials: &creds,
                        region: Some(&region),
                        profile: &profile,
                        mfa_expires: Some(UtcTime(EXPIRES + 3600)),
                        exported_at: Some(UtcTime(EXPIRES - 60)),
                    };
                    let context = format!(
                        "{} (LC_ALL={locale}), --format {format}, hostile value #{i} {}",
                        shell.label,
                        show(Some(value.as_bytes()))
                    );
                    let text = render(&e, format)
                        .unwrap_or_else(|err| panic!("{context}: refused: {err}"));
                    let script = write_script(dir.path(), "export", &text);
                    let out = run_shell(shell, locale, dir.path(), &[script], &stale, true);
                    assert_no_markers(dir.path(), &context);
                    assert_quiet_success(&out, &context);
                    let obs = parse_observed(&out, dir.path());
                    // env-no-export assigns without `export`: only variables that were already in the
                    // environment (all of them here, stale) reach a child.
                    assert_observed(&obs, &expected(&e), true, &context);
                }
            }
        }
    }
}

#[test]
fn bash_round_trips_hostile_values() {
    round_trip_hostile_values(BASH);
}

#[test]
fn zsh_round_trips_hostile_values() {
    round_trip_hostile_values(ZSH);
}

#[test]
fn sh_round_trips_hostile_values() {
    round_trip_hostile_values(SH);
}

#[test]
fn fish_round_trips_hostile_values() {
    round_trip_hostile_values(FISH);
}

fn all_shells() -> Option<Vec<&'static Shell>> {
    let shells: Vec<&Shell> = [BASH, ZSH, SH, FISH].into_iter().flatten().collect();
    for s in &shells {
        common::require_program(s.program)?;
    }
    Some(shells)
}

#[test]
fn long_term_keys_clear_an_earlier_export() {
    let Some(shells) = all_shells() else { return };
    let first = temporary();
    let second = long_term();
    let earlier = Exported {
        credentials: &first,
        region: Some("eu-west-1"),
        profile: "dev",
        mfa_expires: Some(UtcTime(EXPIRES + 3600)),
        exported_at: Some(UtcTime(EXPIRES - 60)),
    };
    let later = Exported {
        credentials: &second,
        region: None,
        profile: "base",
        mfa_expires: None,
        exported_at: None,
    };
    for shell in shells {
        for &format in shell.formats {
            let dir = tempfile::tempdir().unwrap();
            let context = format!("{}, --format {format}", shell.label);
            let scripts = [
                write_script(dir.path(), "earlier", &render(&earlier, format).unwrap()),
                write_script(dir.path(), "later", &render(&later, format).unwrap()),
            ];
            // The user also had AWS_PROFILE and a botocore-style token around.
            let initial = [("AWS_PROFILE", "dev"), ("AWS_SECURITY_TOKEN", "old")];
            let out = run_shell(shell, "C.UTF-8", dir.path(), &scripts, &initial, true);
            assert_quiet_success(&out, &context);
            let obs = parse_observed(&out, dir.path());
            let want = expected(&later);
            for name in [
                "AWS_SESSION_TOKEN",
                "AWS_CREDENTIAL_EXPIRATION",
                "AWS_SESSION_EXPIRATION",
                "AWSENV_EXPIRES",
                "AWS_REGION",
                "AWS_DEFAULT_REGION",
                "AWS_PROFILE",
                "AWS_SECURITY_TOKEN",
            ] {
                assert_eq!(want[name], None, "{name}");
            }
            assert_observed(&obs, &want, format != Format::EnvNoExport, &context);
        }
    }
}

#[test]
fn unset_output_clears_everything() {
    let Some(shells) = all_shells() else { return };
    let creds = temporary();
    let e = Exported {
        credentials: &creds,
        region: Some("eu-west-1"),
        profile: "dev",
        mfa_expires: Some(UtcTime(EXPIRES + 3600)),
        exported_at: Some(UtcTime(EXPIRES - 60)),
    };
    for shell in shells {
        for &format in shell.formats {
            let dir = tempfile::tempdir().unwrap();
            let context = format!("{}, --format {format} --unset", shell.label);
            let scripts = [
                write_script(dir.path(), "export", &render(&e, format).unwrap()),
                write_script(dir.path(), "unset", &render_unset(format).unwrap()),
            ];
            let out = run_shell(
                shell,
                "C.UTF-8",
                dir.path(),
                &scripts,
                &stale_environment(),
                true,
            );
            assert_quiet_success(&out, &context);
            let obs = parse_observed(&out, dir.path());
            assert_observed(&obs, &everything_unset(), true, &context);
        }
    }
}

/// The regression guarded: fish versions that complain about `set -e` of a missing variable.
#[test]
fn unsetting_nothing_is_silent_in_every_shell() {
    let Some(shells) = all_shells() else { return };
    let creds = long_term();
    let e = Exported {
        credentials: &creds,
        region: None,
        profile: "base",
        mfa_expires: None,
        exported_at: None,
    };
    for shell in shells {
        for &format in shell.formats {
            for (what, text) in [
                ("--unset", render_unset(format).unwrap()),
                ("an export of long-term keys", render(&e, format).unwrap()),
            ] {
                let dir = tempfile::tempdir().unwrap();
                let context = format!("{}, --format {format}, {what} in a clean env", shell.label);
                let script = write_script(dir.path(), "script", &text);
                let out = run_shell(shell, "C.UTF-8", dir.path(), &[script], &[], false);
                assert_quiet_success(&out, &context);
                assert!(
                    out.stdout.is_empty(),
                    "{context}: stdout: {}",
                    String::from_utf8_lossy(&out.stdout)
                );
            }
        }
    }
}

/// Runs `program` with `args`, the documents NUL-separated on stdin, and parses its stdout as JSON.
fn run_parser(program: &Path, args: &[&str], docs: &[String], dir: &Path) -> serde_json::Value {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("parser runs");
    let input = docs.join("\0");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "{} failed: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the parser prints JSON")
}

/// Reads NUL-separated documents, `json.loads` each whole, checks the `process` rules when asked, and
/// prints the parsed objects back as ASCII JSON.
const PY_JSON: &str = r#"
import json, sys
process = sys.argv[1] == "process"
out = []
for doc in sys.stdin.buffer.read().decode("utf-8").split("\0"):
    d = json.loads(doc)
    assert isinstance(d, dict), doc
    if process:
        assert doc.endswith("\n") and doc.count("\n") == 1, "not one line"
        assert type(d["Version"]) is int and d["Version"] == 1, d["Version"]
        del d["Version"]
    assert all(isinstance(v, str) for v in d.values()), d
    out.append(d)
sys.stdout.write(json.dumps(out, ensure_ascii=True))
"#;

fn as_json_objects(v: serde_json::Value) -> Vec<BTreeMap<String, String>> {
    serde_json::from_value(v).expect("a list of string maps")
}

#[test]
fn json_and_process_are_read_by_python() {
    let Some(python) = common::require_program("python3") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let values = hostile_values(dir.path());
    let mut json_docs = Vec::new();
    let mut process_docs = Vec::new();
    let mut cases = Vec::new();
    for value in &values {
        let creds = hostile_credentials(value);
        let region = format!("r-{value}");
        let e = Exported {
            credentials: &creds,
            region: Some(&region),
            profile: value,
            mfa_expires: Some(UtcTime(EXPIRES + 3600)),
            exported_at: Some(UtcTime(EXPIRES - 60)),
        };
        json_docs.push(render(&e, Format::Json).unwrap());
        process_docs.push(render(&e, Format::Process).unwrap());
        cases.push((expected(&e), creds.clone()));
    }
    let lt = long_term();
    process_docs.push(
        render(
            &Exported {
                credentials: &lt,
                region: None,
                profile: "base",
                mfa_expires: None,
                exported_at: None,
            },
            Format::Process,
        )
        .unwrap(),
    );

    let parsed = as_json_objects(run_parser(
        &python,
        &["-c", PY_JSON, "json"],
        &json_docs,
        dir.path(),
    ));
    assert_eq!(parsed.len(), cases.len());
    for (i, (got, (want, _))) in parsed.iter().zip(&cases).enumerate() {
        let want: BTreeMap<String, String> = want
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
            .collect();
        assert!(
            *got == want,
            "json, hostile value #{i}: python read something else"
        );
    }

    let parsed = as_json_objects(run_parser(
        &python,
        &["-c", PY_JSON, "process"],
        &process_docs,
        dir.path(),
    ));
    assert_eq!(parsed.len(), cases.len() + 1);
    for (i, (got, (_, creds))) in parsed.iter().zip(&cases).enumerate() {
        let want = BTreeMap::from([
            ("AccessKeyId".to_string(), creds.access_key_id.clone()),
            (
                "SecretAccessKey".to_string(),
                creds.secret_access_key.expose().to_string(),
            ),
            (
                "SessionToken".to_string(),
                creds.session_token.as_ref().unwrap().expose().to_string(),
            ),
            ("Expiration".to_string(), EXPIRES_RFC3339.to_string()),
        ]);
        assert!(
            *got == want,
            "process, hostile value #{i}: python read something else"
        );
    }
    assert_eq!(
        parsed.last().unwrap(),
        &BTreeMap::from([
            ("AccessKeyId".to_string(), "AKIALONGTERM".to_string()),
            (
                "SecretAccessKey".to_string(),
                "long/term+secret".to_string()
            ),
        ]),
        "long-term keys carry no SessionToken or Expiration"
    );
    assert_no_markers(dir.path(), "json/process");
}

/// python-dotenv itself (pinned in tests/requirements.txt).
const PY_DOTENV: &str = r#"
import io, json, sys
from dotenv import dotenv_values
out = [dict(dotenv_values(stream=io.StringIO(doc)))
       for doc in sys.stdin.buffer.read().decode("utf-8").split("\0")]
sys.stdout.write(json.dumps(out, ensure_ascii=True))
"#;

/// npm `dotenv`'s own `parse`, from the pinned package in `tests/js`.
const JS_DOTENV: &str = r#"
const { parse } = require(process.argv[1])
const input = require('fs').readFileSync(0, 'utf8')
process.stdout.write(JSON.stringify(input.split('\0').map((doc) => parse(doc))))
"#;

#[test]
fn dotenv_is_read_alike_by_python_dotenv_and_npm_dotenv() {
    let dir = tempfile::tempdir().unwrap();
    let mut docs = Vec::new();
    let mut wants = Vec::new();
    for value in hostile_values(dir.path()) {
        let creds = hostile_credentials(&value);
        let region = format!("r-{value}");
        let e = Exported {
            credentials: &creds,
            region: Some(&region),
            profile: &value,
            mfa_expires: Some(UtcTime(EXPIRES + 3600)),
            exported_at: Some(UtcTime(EXPIRES - 60)),
        };
        match render(&e, Format::Dotenv) {
            Ok(text) => {
                docs.push(text);
                wants.push(
                    expected(&e)
                        .into_iter()
                        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
                        .collect::<BTreeMap<_, _>>(),
                );
            }
            Err(ExportError::Unrepresentable {
                format: Format::Dotenv,
                ..
            }) => assert!(
                value.contains(['"', '\\', '$', '`']),
                "dotenv refused {}",
                show(Some(value.as_bytes()))
            ),
            Err(other) => panic!("dotenv: {other}"),
        }
    }
    assert!(docs.len() > 30, "most hostile values are representable");

    let mut parsers = Vec::new();
    if let Some(python) = common::venv_python() {
        let has_dotenv = Command::new(&python)
            .args(["-c", "import dotenv"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if has_dotenv {
            parsers.push(("python-dotenv", python, vec!["-c", PY_DOTENV]));
        } else {
            common::missing::<()>(
                "python-dotenv in the test venv",
                "pip install python-dotenv",
            );
        }
    }
    let dotenv = common::node_module("dotenv");
    if let (Some(node), Some(dotenv)) = (common::require_program("node"), &dotenv) {
        parsers.push((
            "npm dotenv",
            node,
            vec!["-e", JS_DOTENV, dotenv.to_str().expect("a UTF-8 path")],
        ));
    }
    for (label, program, args) in parsers {
        let parsed = as_json_objects(run_parser(&program, &args, &docs, dir.path()));
        assert_eq!(parsed.len(), wants.len(), "{label}");
        for (i, (got, want)) in parsed.iter().zip(&wants).enumerate() {
            for (k, v) in want {
                assert!(
                    got.get(k) == Some(v),
                    "{label}, document #{i}: {k} read as {}, expected {}",
                    show(got.get(k).map(|s| s.as_bytes())),
                    show(Some(v.as_bytes()))
                );
            }
            assert_eq!(got.len(), want.len(), "{label}, document #{i}: extra keys");
        }
    }
    assert_no_markers(dir.path(), "dotenv");
}
