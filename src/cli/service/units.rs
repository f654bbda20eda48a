//! The pure half of `awsenv service`: the templates of `packaging/` (embedded with `include_str!`, so
//! the files written are the files shipped) turned into the files for one user and one awsenv binary,
//! and read back. Nothing here touches the file system or runs a program.

use std::path::{Component, Path, PathBuf};

use anyhow::bail;

const SYSTEMD_SOCKET: &str = include_str!("../../../packaging/systemd/awsenv.socket");
const SYSTEMD_SERVICE: &str = include_str!("../../../packaging/systemd/awsenv.service");
const LAUNCHD_PLIST: &str = include_str!("../../../packaging/launchd/awsenv.daemon.plist");

/// The launchd job's label (and the plist's name without `.plist`).
pub const LAUNCHD_LABEL: &str = "awsenv.daemon";

/// The first line of every file `install` writes; files without it are someone else's, and are
/// neither replaced nor removed without `--force`.
pub const MARKER: &str = "Written by `awsenv service install`";

/// A service manager awsenv can install itself into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Manager {
    /// systemd user units with socket activation
    Systemd,
    /// a launchd agent
    Launchd,
}

impl Manager {
    pub fn native() -> Manager {
        if cfg!(target_os = "macos") {
            Manager::Launchd
        } else {
            Manager::Systemd
        }
    }

    /// The names of the files this manager gets, in the order they are written.
    pub fn file_names(self) -> &'static [&'static str] {
        match self {
            Manager::Systemd => &["awsenv.socket", "awsenv.service"],
            Manager::Launchd => &["awsenv.daemon.plist"],
        }
    }
}

/// What the files are made for.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The awsenv binary the service runs (absolute).
    pub awsenv: &'a Path,
    /// The socket the user's clients look for (launchd only: systemd's is `%t/awsenv/daemon.sock`).
    pub socket: &'a Path,
    /// Where the daemon's messages go (launchd only: systemd's go to the journal).
    pub log: &'a Path,
    /// Variables to set in the service's environment.
    pub env: &'a [(String, String)],
}

/// One rendered file: its name in the unit folder and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFile {
    pub name: &'static str,
    pub text: String,
}

/// The files for `manager`, from the embedded templates.
pub fn render(manager: Manager, target: &Target) -> anyhow::Result<Vec<UnitFile>> {
    let awsenv = plain_text("the awsenv path", target.awsenv)?;
    if !target.awsenv.is_absolute() {
        bail!("the awsenv path {awsenv} is not absolute");
    }
    for (name, value) in target.env {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("`{name}` is not a variable name a service file can set");
        }
        check_line("the value of ".to_string() + name, value)?;
    }
    let header = format!(
        "{MARKER} (awsenv {}); the next install replaces this file.",
        env!("CARGO_PKG_VERSION")
    );
    match manager {
        Manager::Systemd => {
            let socket = format!("# {header}\n{SYSTEMD_SOCKET}");
            let mut service = format!("# {header}\n");
            for line in SYSTEMD_SERVICE.split_inclusive('\n') {
                match line.strip_prefix("ExecStart=") {
                    Some(rest) => {
                        service.push_str("ExecStart=");
                        service.push_str(&rest.replace("@AWSENV@", &systemd_word(&awsenv)));
                        for (name, value) in target.env {
                            service.push_str(&format!(
                                "Environment={}\n",
                                systemd_quoted(&format!("{name}={value}"))
                            ));
                        }
                    }
                    None => service.push_str(line),
                }
            }
            Ok(vec![
                UnitFile {
                    name: "awsenv.socket",
                    text: socket,
                },
                UnitFile {
                    name: "awsenv.service",
                    text: service,
                },
            ])
        }
        Manager::Launchd => {
            let socket = plain_text("the socket path", target.socket)?;
            let log = plain_text("the log path", target.log)?;
            let mut plist = String::new();
            for line in LAUNCHD_PLIST.split_inclusive('\n') {
                let filled = line
                    .replace("@AWSENV@", &xml_escape(&awsenv))
                    .replace("@SOCKET@", &xml_escape(&socket))
                    .replace("@LOG@", &xml_escape(&log));
                plist.push_str(&filled);
                if line.starts_with("<!DOCTYPE") {
                    plist.push_str(&format!("<!-- {header} -->\n"));
                }
                if line.contains("@SOCKET@") {
                    let indent = &line[..line.len() - line.trim_start().len()];
                    for (name, value) in target.env {
                        plist.push_str(&format!(
                            "{indent}<key>{}</key>\n{indent}<string>{}</string>\n",
                            xml_escape(name),
                            xml_escape(value)
                        ));
                    }
                }
            }
            Ok(vec![UnitFile {
                name: "awsenv.daemon.plist",
                text: plist,
            }])
        }
    }
}

/// The awsenv binary a file written by [`render`] runs, read back from its text.
pub fn binary_in(manager: Manager, text: &str) -> Option<String> {
    match manager {
        Manager::Systemd => {
            let rest = text.lines().find_map(|l| l.strip_prefix("ExecStart="))?;
            first_systemd_word(rest)
        }
        Manager::Launchd => {
            let after = text.split_once("<key>ProgramArguments</key>")?.1;
            let start = after.find("<string>")? + "<string>".len();
            let end = start + after[start..].find("</string>")?;
            Some(xml_unescape(&after[start..end]))
        }
    }
}

/// A path as text a unit file can hold: UTF-8, one line.
fn plain_text(what: &str, path: &Path) -> anyhow::Result<String> {
    let Some(text) = path.to_str() else {
        bail!(
            "{what} {} is not UTF-8, which a service file cannot hold",
            path.display()
        );
    };
    check_line(what.to_string(), text)?;
    Ok(text.to_string())
}

fn check_line(what: String, text: &str) -> anyhow::Result<()> {
    if text.chars().any(char::is_control) {
        bail!("{what} {text:?} holds a control character (a line break, say), which a service file cannot carry");
    }
    Ok(())
}

/// The program word of `ExecStart=`: as is when it needs no quoting, else double-quoted with
/// systemd's escapes (`\\`, `\"`, `%%` for its specifiers). A `$` stays single: systemd expands
/// variables in the arguments, never in the program's path (`systemd-analyze verify` confirms it).
fn systemd_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._+-,:=@~".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        systemd_quoted(word)
    }
}

/// `"…"` with systemd's escapes, for the program of `ExecStart=` and for `Environment=`, neither of
/// which expands `$`.
fn systemd_quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The first word of a systemd command line, its quoting and escapes undone.
fn first_systemd_word(line: &str) -> Option<String> {
    let line = line.trim_start();
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let quoted = chars.peek() == Some(&'"');
    if quoted {
        chars.next();
    }
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => return Some(out),
            c if !quoted && c.is_whitespace() => break,
            '\\' => out.push(chars.next()?),
            '%' if chars.peek() == Some(&'%') => {
                chars.next();
                out.push(c);
            }
            c => out.push(c),
        }
    }
    (!quoted && !out.is_empty()).then_some(out)
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `…/Cellar/awsenv/1.2.3/bin/awsenv` → `…/opt/awsenv/bin/awsenv`: the Homebrew path that stays the
/// same across upgrades (`current_exe` sees through Homebrew's symlinks to the versioned one).
pub fn homebrew_opt_path(exe: &Path) -> Option<PathBuf> {
    let parts: Vec<Component> = exe.components().collect();
    let cellar = parts.iter().rposition(|c| c.as_os_str() == "Cellar")?;
    if parts.len() < cellar + 4 {
        return None;
    }
    let mut opt: PathBuf = parts[..cellar].iter().collect();
    opt.push("opt");
    opt.push(parts[cellar + 1]);
    opt.extend(&parts[cellar + 3..]);
    Some(opt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target<'a>(awsenv: &'a Path, env: &'a [(String, String)]) -> Target<'a> {
        Target {
            awsenv,
            socket: Path::new("/var/folders/xy/T/awsenv-501/daemon.sock"),
            log: Path::new("/Users/alice/Library/Logs/awsenv.log"),
            env,
        }
    }

    #[test]
    fn systemd_units_run_the_given_binary_and_carry_the_environment() {
        let env = vec![("AWSENV_KEYCHAIN".to_string(), "keyutils".to_string())];
        let files = render(
            Manager::Systemd,
            &target(Path::new("/home/alice/.cargo/bin/awsenv"), &env),
        )
        .unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name).collect();
        assert_eq!(names, ["awsenv.socket", "awsenv.service"]);
        let service = &files[1].text;
        assert!(service.starts_with(&format!("# {MARKER}")));
        assert!(service.contains(
            "\nExecStart=/home/alice/.cargo/bin/awsenv daemon run --idle-exit 12h\nEnvironment=\"AWSENV_KEYCHAIN=keyutils\"\n"
        ));
        assert!(
            !service.contains("@AWSENV@"),
            "no placeholder left: {service}"
        );
        assert!(files[0]
            .text
            .contains("ListenStream=%t/awsenv/daemon.sock\n"));
        assert_eq!(
            binary_in(Manager::Systemd, service).as_deref(),
            Some("/home/alice/.cargo/bin/awsenv")
        );
    }

    #[test]
    fn systemd_paths_with_spaces_percent_and_dollar_are_quoted_and_read_back() {
        let path = r#"/home/al ice/50% "off"/$HOME\bin/awsenv"#;
        let files = render(Manager::Systemd, &target(Path::new(path), &[])).unwrap();
        let service = &files[1].text;
        assert!(
            service
                .contains(r#"ExecStart="/home/al ice/50%% \"off\"/$HOME\\bin/awsenv" daemon run"#),
            "{service}"
        );
        assert_eq!(binary_in(Manager::Systemd, service).as_deref(), Some(path));
    }

    #[test]
    fn the_plist_is_filled_in_escaped_and_read_back() {
        let env = vec![(
            "XDG_CONFIG_HOME".to_string(),
            "/Users/a&b/.config".to_string(),
        )];
        let files = render(
            Manager::Launchd,
            &target(Path::new("/opt/homebrew/opt/awsenv/bin/awsenv"), &env),
        )
        .unwrap();
        assert_eq!(files.len(), 1);
        let plist = &files[0].text;
        assert!(plist.starts_with("<?xml"));
        assert!(plist.contains(&format!("<!-- {MARKER}")));
        assert!(
            !plist.contains("@AWSENV@") && !plist.contains("@SOCKET@") && !plist.contains("@LOG@"),
            "no placeholder left: {plist}"
        );
        assert!(plist.contains("<string>/var/folders/xy/T/awsenv-501/daemon.sock</string>\n    <key>XDG_CONFIG_HOME</key>\n    <string>/Users/a&amp;b/.config</string>\n"), "{plist}");
        assert!(plist.contains("<string>/Users/alice/Library/Logs/awsenv.log</string>"));
        assert_eq!(
            binary_in(Manager::Launchd, plist).as_deref(),
            Some("/opt/homebrew/opt/awsenv/bin/awsenv")
        );
    }

    #[test]
    fn a_line_break_or_a_relative_path_is_refused() {
        let env = vec![(
            "AWSENV_KEYCHAIN".to_string(),
            "a\nExecStartPre=/bin/evil".to_string(),
        )];
        assert!(render(Manager::Systemd, &target(Path::new("/bin/awsenv"), &env)).is_err());
        assert!(render(Manager::Systemd, &target(Path::new("/bin/aws\nenv"), &[])).is_err());
        assert!(render(Manager::Launchd, &target(Path::new("bin/awsenv"), &[])).is_err());
    }

    #[test]
    fn homebrew_cellar_paths_become_opt_paths() {
        assert_eq!(
            homebrew_opt_path(Path::new("/opt/homebrew/Cellar/awsenv/0.1.0/bin/awsenv")),
            Some(PathBuf::from("/opt/homebrew/opt/awsenv/bin/awsenv"))
        );
        assert_eq!(homebrew_opt_path(Path::new("/usr/bin/awsenv")), None);
        assert_eq!(homebrew_opt_path(Path::new("/x/Cellar/awsenv")), None);
    }
}
