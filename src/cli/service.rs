//! `awsenv service install|uninstall|status`: awsenv's daemon as a user service of systemd (Linux) or
//! launchd (macOS), so that it is simply there after login instead of starting on first use.
//!
//! Two halves. [`render`] is pure: it turns the templates of `packaging/` (embedded, so the files
//! written are the files shipped) into the files for one user and one awsenv binary. The rest finds
//! the folders, writes the files and drives `systemctl --user` or `launchctl`, saying each step.
//! Where no user manager answers (containers, WSL without systemd, an SSH session on a Mac) the files
//! are still written, the manager steps are skipped and reported, and the exit status is 0: awsenv
//! keeps starting its daemon by itself on first use, which is a working setup, not a failure.

use std::path::{Component, Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context as _};

use super::{print_out, setup, Context, Run};
use crate::core::time::human_duration;
use crate::edge::keychain::Keychain;
use crate::thin::client::{self, ClientError};
use crate::thin::json::Json;
use crate::thin::wire;

const SYSTEMD_SOCKET: &str = include_str!("../../packaging/systemd/awsenv.socket");
const SYSTEMD_SERVICE: &str = include_str!("../../packaging/systemd/awsenv.service");
const LAUNCHD_PLIST: &str = include_str!("../../packaging/launchd/awsenv.daemon.plist");

/// The launchd job's label (and the plist's name without `.plist`).
pub const LAUNCHD_LABEL: &str = "awsenv.daemon";

/// The first line of every file `install` writes; files without it are someone else's, and are
/// neither replaced nor removed without `--force`.
const MARKER: &str = "Written by `awsenv service install`";

/// Variables the daemon reads from its own environment (clients do not forward them) and that decide
/// which keychain it opens. Carried into the unit when the installing shell sets them, so the
/// service uses the keychain this shell uses; a user manager's environment rarely has them.
const CARRIED_ENV: &[&str] = &["AWSENV_KEYCHAIN", "XDG_CONFIG_HOME"];

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    awsenv service install        write the units for your user, enable and start them\n  \
    awsenv service status         is the service, its socket and the keychain healthy?\n  \
    awsenv service uninstall      back to the daemon that starts itself on first use")]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Write the systemd units (or the launchd agent) for your user, then enable and start them
    Install {
        #[command(flatten)]
        common: Common,
        /// Replace unit files that `awsenv service install` did not write
        #[arg(long)]
        force: bool,
    },
    /// Stop and disable the service and remove its files
    Uninstall {
        #[command(flatten)]
        common: Common,
        /// Remove unit files even when `awsenv service install` did not write them
        #[arg(long)]
        force: bool,
    },
    /// Show whether the service, its socket, the daemon and the keychain are healthy (exit 1 if not)
    Status {
        /// Which service manager to look at (default: launchd on macOS, systemd elsewhere)
        #[arg(long, value_enum)]
        manager: Option<Manager>,
    },
}

#[derive(Debug, clap::Args)]
struct Common {
    /// Only write (or remove) the files; do not call systemctl or launchctl
    #[arg(long)]
    files_only: bool,
    /// Which service manager to write for (default: launchd on macOS, systemd elsewhere)
    #[arg(long, value_enum)]
    manager: Option<Manager>,
}

/// A service manager awsenv can install itself into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Manager {
    /// systemd user units with socket activation
    Systemd,
    /// a launchd agent
    Launchd,
}

impl Manager {
    fn native() -> Manager {
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

// ---------------------------------------------------------------------------------------------
// The pure half: templates to files.

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

// ---------------------------------------------------------------------------------------------
// The I/O half.

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        match self.action {
            Action::Install { common, force } => install(ctx, &common, force),
            Action::Uninstall { common, force } => uninstall(ctx, &common, force),
            Action::Status { manager } => status(ctx, manager.unwrap_or_else(Manager::native)),
        }
    }
}

fn say(text: &str) {
    eprintln!("awsenv: {text}");
}

/// Where one manager's files and log live for this user.
struct Layout {
    /// The folder the files go into.
    dir: PathBuf,
    /// The daemon's log (launchd; systemd's journal needs no file).
    log: PathBuf,
    socket: PathBuf,
}

impl Layout {
    fn new(ctx: &Context, manager: Manager) -> anyhow::Result<Layout> {
        let home =
            ctx.env.non_empty("HOME").map(PathBuf::from).context(
                "HOME is not set, so there is no user folder to install the service into",
            )?;
        let socket = setup::socket_path(ctx);
        Ok(match manager {
            Manager::Systemd => {
                let config = ctx
                    .env
                    .non_empty("XDG_CONFIG_HOME")
                    .map(PathBuf::from)
                    .filter(|p| p.is_absolute())
                    .unwrap_or_else(|| home.join(".config"));
                Layout {
                    dir: config.join("systemd/user"),
                    log: PathBuf::new(),
                    socket,
                }
            }
            Manager::Launchd => Layout {
                dir: home.join("Library/LaunchAgents"),
                log: home.join("Library/Logs/awsenv.log"),
                socket,
            },
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// The awsenv binary the service should run: this one, by its upgrade-proof path under Homebrew.
fn installed_awsenv() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the path of this awsenv program")?;
    Ok(match homebrew_opt_path(&exe) {
        Some(opt) if opt.is_file() => opt,
        _ => exe,
    })
}

fn carried_env(ctx: &Context) -> Vec<(String, String)> {
    CARRIED_ENV
        .iter()
        .filter_map(|k| ctx.env.non_empty(k).map(|v| (k.to_string(), v.to_string())))
        .collect()
}

/// Whether the user manager is there to talk to, and if not, why.
enum Presence {
    Here,
    Absent(String),
}

fn presence(manager: Manager) -> Presence {
    let (program, args, what): (&str, Vec<String>, &str) = match manager {
        Manager::Systemd => (
            "systemctl",
            vec!["--user".into(), "show-environment".into()],
            "no systemd user manager answers here",
        ),
        Manager::Launchd => (
            "launchctl",
            vec!["print".into(), gui_domain()],
            "no launchd GUI session of this user answers here",
        ),
    };
    match Command::new(program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
    {
        Ok(out) if out.status.success() => Presence::Here,
        Ok(out) => {
            let said = String::from_utf8_lossy(&out.stderr);
            let said = said.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            Presence::Absent(format!("{what} (`{program} {}`: {said})", args.join(" ")))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Presence::Absent(format!("`{program}` is not installed"))
        }
        Err(e) => Presence::Absent(format!("cannot run `{program}`: {e}")),
    }
}

fn gui_domain() -> String {
    format!("gui/{}", crate::thin::paths::current_uid())
}

fn launchd_service() -> String {
    format!("{}/{LAUNCHD_LABEL}", gui_domain())
}

/// Runs one manager step, says so, and fails with what it printed.
fn step(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let shown = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{shown}`"))?;
    if !out.status.success() {
        bail!(
            "`{shown}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    say(&format!("ran `{shown}`"));
    Ok(())
}

/// Whether a query (`systemctl --user is-active --quiet …`) succeeds.
fn query_ok(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// What a query prints on stdout, trimmed ("active", "enabled", …); what it said on stderr when it
/// printed nothing.
fn query_text(program: &str, args: &[&str]) -> String {
    match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if text.is_empty() {
                String::from_utf8_lossy(&out.stderr).trim().to_string()
            } else {
                text
            }
        }
        Err(e) => format!("cannot run {program}: {e}"),
    }
}

fn systemctl(args: &[&str]) -> anyhow::Result<()> {
    let mut all = vec!["--user"];
    all.extend_from_slice(args);
    step("systemctl", &all)
}

/// Writes `text` to `path` unless it is already there; `Ok(true)` when the file changed.
fn write_unit(path: &Path, text: &str, force: bool) -> anyhow::Result<bool> {
    match std::fs::read_to_string(path) {
        Ok(old) if old == text => {
            say(&format!("{} is up to date", path.display()));
            return Ok(false);
        }
        Ok(old) if !old.contains(MARKER) && !force => bail!(
            "{} exists and was not written by `awsenv service install`; move it away, or run again with --force to replace it",
            path.display()
        ),
        _ => {}
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}", path.display())
    })?;
    say(&format!("wrote {}", path.display()));
    Ok(true)
}

/// Stops a daemon that started by itself (`awsenv daemon stop`), so that the service manager's
/// daemon can take the socket and the single-instance lock.
fn stop_self_started(awsenv: &Path) -> anyhow::Result<()> {
    let out = Command::new(awsenv)
        .args(["daemon", "stop"])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{} daemon stop`", awsenv.display()))?;
    let said = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!(
            "cannot stop the daemon that started by itself: {}",
            said.trim()
        );
    }
    if said.contains("daemon stopped") {
        say("stopped the daemon that had started by itself, so that the service's daemon can take its socket");
    }
    Ok(())
}

fn install(ctx: &Context, common: &Common, force: bool) -> anyhow::Result<ExitCode> {
    let manager = common.manager.unwrap_or_else(Manager::native);
    let layout = Layout::new(ctx, manager)?;
    let awsenv = installed_awsenv()?;
    let env = carried_env(ctx);
    let files = render(
        manager,
        &Target {
            awsenv: &awsenv,
            socket: &layout.socket,
            log: &layout.log,
            env: &env,
        },
    )?;
    std::fs::create_dir_all(&layout.dir)
        .with_context(|| format!("cannot create {}", layout.dir.display()))?;
    let mut changed = false;
    for file in &files {
        changed |= write_unit(&layout.path(file.name), &file.text, force)?;
    }
    say(&format!("the service runs {}", awsenv.display()));
    for (name, value) in &env {
        say(&format!(
            "carried {name}={value} from this shell into the service, so it opens the same keychain"
        ));
    }
    if manager == Manager::Launchd {
        if let Some(logs) = layout.log.parent() {
            std::fs::create_dir_all(logs)
                .with_context(|| format!("cannot create {}", logs.display()))?;
        }
    }
    let steps = match manager {
        Manager::Systemd => {
            "`systemctl --user daemon-reload` and `systemctl --user enable --now awsenv.socket`"
                .to_string()
        }
        Manager::Launchd => format!(
            "`launchctl bootstrap {} {}`",
            gui_domain(),
            layout.path(files[0].name).display()
        ),
    };
    let why = if common.files_only {
        "--files-only".to_string()
    } else {
        match presence(manager) {
            Presence::Here => String::new(),
            Presence::Absent(why) => why,
        }
    };
    if !why.is_empty() {
        say(&format!("skipped {steps}: {why}"));
        say(&format!(
            "the files are written but not enabled, so nothing changes for now: awsenv starts its daemon by itself on first use, as before. Where {} runs, enable them with {steps} (or run `awsenv service install` there again).",
            match manager {
                Manager::Systemd => "a systemd user manager",
                Manager::Launchd => "launchd",
            }
        ));
        return Ok(ExitCode::SUCCESS);
    }
    match manager {
        Manager::Systemd => {
            systemctl(&["daemon-reload"])?;
            let socket_active = query_ok(
                "systemctl",
                &["--user", "is-active", "--quiet", "awsenv.socket"],
            );
            let service_active = query_ok(
                "systemctl",
                &["--user", "is-active", "--quiet", "awsenv.service"],
            );
            // Whatever answers at the socket while systemd holds neither is a daemon that started by
            // itself; it would keep the lock the service's daemon needs.
            if !socket_active && !service_active {
                stop_self_started(&awsenv)?;
            }
            systemctl(&["enable", "--now", "awsenv.socket"])?;
            if service_active && changed {
                systemctl(&["try-restart", "awsenv.service"])?;
            }
            say(&format!(
                "done: systemd listens on {} and starts the daemon on the first request (and at no other time); it exits after 12 hours without one. Its log: `journalctl --user -u awsenv.service`. Check it with `awsenv service status`.",
                layout.socket.display()
            ));
        }
        Manager::Launchd => {
            if query_ok("launchctl", &["print", &launchd_service()]) {
                step("launchctl", &["bootout", &launchd_service()])?;
            }
            stop_self_started(&awsenv)?;
            let plist = layout.path(files[0].name);
            step(
                "launchctl",
                &["bootstrap", &gui_domain(), &plist.to_string_lossy()],
            )?;
            say(&format!(
                "done: launchd runs the daemon now and at every login, and starts it again if it fails; it listens on {}. Its log: {}. Check it with `awsenv service status`.",
                layout.socket.display(),
                layout.log.display()
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn uninstall(ctx: &Context, common: &Common, force: bool) -> anyhow::Result<ExitCode> {
    let manager = common.manager.unwrap_or_else(Manager::native);
    let layout = Layout::new(ctx, manager)?;
    let present: Vec<PathBuf> = manager
        .file_names()
        .iter()
        .map(|n| layout.path(n))
        .filter(|p| p.exists())
        .collect();
    if present.is_empty() {
        say(&format!(
            "no awsenv service files in {}; nothing to remove",
            layout.dir.display()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    if !force {
        for path in &present {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if !text.contains(MARKER) {
                bail!(
                    "{} was not written by `awsenv service install`, so it is left alone; remove it yourself, or run again with --force",
                    path.display()
                );
            }
        }
    }
    let manager_here = if common.files_only {
        say("skipped stopping the service (--files-only)");
        false
    } else {
        match presence(manager) {
            Presence::Here => true,
            Presence::Absent(why) => {
                say(&format!("skipped stopping the service: {why}"));
                false
            }
        }
    };
    if manager_here {
        match manager {
            Manager::Systemd => {
                systemctl(&["disable", "--now", "awsenv.socket", "awsenv.service"])?
            }
            Manager::Launchd => {
                if query_ok("launchctl", &["print", &launchd_service()]) {
                    step("launchctl", &["bootout", &launchd_service()])?;
                }
            }
        }
    }
    for path in &present {
        std::fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
        say(&format!("removed {}", path.display()));
    }
    if manager_here && manager == Manager::Systemd {
        systemctl(&["daemon-reload"])?;
    }
    say("from now on awsenv starts its daemon by itself on first use");
    Ok(ExitCode::SUCCESS)
}

/// `status`: one line per part, and what to do about each problem.
fn status(ctx: &Context, manager: Manager) -> anyhow::Result<ExitCode> {
    let layout = Layout::new(ctx, manager)?;
    let mut lines: Vec<(&str, String)> = Vec::new();
    let mut problems = 0;
    let mut problem = |lines: &mut Vec<(&str, String)>, label, text: String| {
        problems += 1;
        lines.push((label, format!("PROBLEM: {text}")));
    };

    // The files.
    let present: Vec<&str> = manager
        .file_names()
        .iter()
        .copied()
        .filter(|n| layout.path(n).exists())
        .collect();
    let installed = !present.is_empty();
    if !installed {
        lines.push((
            "service",
            format!(
                "not installed in {} (awsenv starts its daemon by itself on first use; `awsenv service install` makes it a service)",
                layout.dir.display()
            ),
        ));
    } else {
        let missing: Vec<&str> = manager
            .file_names()
            .iter()
            .copied()
            .filter(|n| !present.contains(n))
            .collect();
        let main = match manager {
            Manager::Systemd => "awsenv.service",
            Manager::Launchd => "awsenv.daemon.plist",
        };
        let text = std::fs::read_to_string(layout.path(main)).unwrap_or_default();
        let binary = binary_in(manager, &text);
        lines.push((
            "service",
            format!(
                "{} in {}{}",
                present.join(", "),
                layout.dir.display(),
                binary
                    .as_deref()
                    .map(|b| format!(", running {b}"))
                    .unwrap_or_default()
            ),
        ));
        if !missing.is_empty() {
            problem(
                &mut lines,
                "service",
                format!(
                    "{} missing — run `awsenv service install` again",
                    missing.join(", ")
                ),
            );
        }
        if let Some(b) = binary.as_deref().filter(|b| !Path::new(b).is_file()) {
            problem(
                &mut lines,
                "service",
                format!(
                    "{b} is gone — run `awsenv service install` again with the awsenv you use now"
                ),
            );
        }
    }

    // The manager.
    let manager_here = match presence(manager) {
        Presence::Here => true,
        Presence::Absent(why) => {
            lines.push((
                "manager",
                format!("{why}: awsenv starts its daemon by itself on first use"),
            ));
            false
        }
    };
    if manager_here && installed {
        match manager {
            Manager::Systemd => {
                let q = |args: &[&str]| {
                    let mut all = vec!["--user"];
                    all.extend_from_slice(args);
                    query_text("systemctl", &all)
                };
                let enabled = q(&["is-enabled", "awsenv.socket"]);
                let socket = q(&["is-active", "awsenv.socket"]);
                let service = q(&["is-active", "awsenv.service"]);
                lines.push((
                    "manager",
                    format!(
                        "systemd: awsenv.socket {enabled}, {socket}; awsenv.service {service}{}",
                        if service == "inactive" {
                            " (it starts on the first request)"
                        } else {
                            ""
                        }
                    ),
                ));
                if enabled != "enabled" || socket != "active" {
                    problem(&mut lines, "manager", "awsenv.socket is not enabled and listening — run `awsenv service install` again, or see `systemctl --user status awsenv.socket`".into());
                }
                if service == "failed" {
                    problem(
                        &mut lines,
                        "manager",
                        "awsenv.service failed — see `journalctl --user -u awsenv.service`".into(),
                    );
                }
            }
            Manager::Launchd => {
                let printed = query_text("launchctl", &["print", &launchd_service()]);
                let field = |name: &str| {
                    printed.lines().find_map(|l| {
                        l.trim()
                            .strip_prefix(name)
                            .and_then(|r| r.trim_start().strip_prefix('='))
                            .map(|v| v.trim().to_string())
                    })
                };
                match field("state") {
                    Some(state) => lines.push((
                        "manager",
                        format!(
                            "launchd: {LAUNCHD_LABEL} {state}{}",
                            field("pid").map(|p| format!(", pid {p}")).unwrap_or_default()
                        ),
                    )),
                    None => problem(
                        &mut lines,
                        "manager",
                        format!("launchd has not loaded {LAUNCHD_LABEL} — run `awsenv service install` again; the daemon's log is {}", layout.log.display()),
                    ),
                }
            }
        }
    }

    // The daemon, through its socket (under socket activation, asking starts it).
    let get = |k: &str| ctx.env.get(k).map(str::to_string);
    let mut daemon_keychain = None;
    match client::request(
        &layout.socket,
        &wire::message(vec![("op", wire::s("status"))]),
        &get,
    ) {
        Ok(reply) => {
            let s = reply.get("status").cloned().unwrap_or(Json::Null);
            let text = |k: &str| match s.get(k) {
                Some(Json::String(v)) => v.clone(),
                Some(v) => v.to_text(),
                None => "?".into(),
            };
            daemon_keychain = s.get("keychain").and_then(Json::as_str).map(str::to_string);
            lines.push((
                "daemon",
                format!(
                    "running, pid {}, awsenv {}, up {}",
                    text("pid"),
                    text("version"),
                    human_duration(s.get("uptime_seconds").and_then(Json::as_i64).unwrap_or(0))
                ),
            ));
        }
        Err(ClientError::NotRunning) => lines.push((
            "daemon",
            "not running (it starts on the first request)".to_string(),
        )),
        Err(e) => problem(&mut lines, "daemon", e.to_string()),
    }
    lines.push(("socket", layout.socket.display().to_string()));

    // The keychain this shell opens, and the daemon's.
    match Keychain::open(&ctx.env) {
        Ok((keychain, selection)) => match keychain.list() {
            Ok(entries) => {
                lines.push((
                    "keychain",
                    format!(
                        "{} ({}): readable, {} awsenv entries",
                        selection.backend,
                        selection.reason,
                        entries.len()
                    ),
                ));
                let shell = selection.backend.to_string();
                if let Some(d) = daemon_keychain.filter(|d| !d.starts_with(&shell)) {
                    problem(&mut lines, "keychain", format!(
                        "the daemon uses {d}, but this shell opens the {shell}: what one stores the other cannot see — set `keychain = …` in awsenv's settings file (~/.config/awsenv/config.ini), which both read, and restart the daemon"
                    ));
                }
            }
            Err(e) => problem(&mut lines, "keychain", e.to_string()),
        },
        Err(e) => problem(&mut lines, "keychain", e.to_string()),
    }

    let mut out = String::new();
    for (label, text) in &lines {
        out.push_str(&format!("{label:<9} {text}\n"));
    }
    print_out(&out)?;
    Ok(if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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
