//! `awsenv service install|uninstall|status`: awsenv's daemon as a user service of systemd (Linux) or
//! launchd (macOS), so that it is simply there after login instead of starting on first use.
//!
//! Two halves. [`units`] is pure: it turns the templates of `packaging/` (embedded, so the files
//! written are the files shipped) into the files for one user and one awsenv binary. The rest finds
//! the folders, writes the files and drives `systemctl --user` or `launchctl`, saying each step.
//! Where no user manager answers (containers, WSL without systemd, an SSH session on a Mac) the files
//! are still written, the manager steps are skipped and reported, and the exit status is 0: awsenv
//! keeps starting its daemon by itself on first use, which is a working setup, not a failure.

mod units;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context as _};

use super::{print_out, setup, Context, Run};
use crate::core::time::human_duration;
use crate::edge::keychain::Keychain;
use crate::thin::client::{self, ClientError};
use crate::thin::json::Json;
use crate::thin::wire;
use units::{binary_in, homebrew_opt_path, render, Manager, Target, LAUNCHD_LABEL, MARKER};

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
    // systemd listens on %t/awsenv/daemon.sock whatever this shell says; a client looking elsewhere
    // would start a daemon of its own beside the service.
    let systemd_socket = ctx
        .env
        .non_empty("XDG_RUNTIME_DIR")
        .map(|d| Path::new(d).join("awsenv/daemon.sock"));
    if manager == Manager::Systemd && systemd_socket.as_deref() != Some(layout.socket.as_path()) {
        say(&format!(
            "warning: clients in this shell look for the daemon at {} (AWSENV_SOCKET, or no XDG_RUNTIME_DIR), but the service listens on $XDG_RUNTIME_DIR/awsenv/daemon.sock; unset AWSENV_SOCKET so that they find it",
            layout.socket.display()
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
