//! `awsenv daemon run|start|stop|status`: the per-user daemon that caches sessions for every caller.

use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};

use super::{print_out, setup, Context, Run};
use crate::core::time::{human_duration, parse_duration};
use crate::daemon::{Daemon, Options};
use crate::engine::keychain_vault::KeychainVault;
use crate::thin::client::{self, ClientError};
use crate::thin::json::Json;
use crate::thin::wire;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Run the daemon in the foreground (what the service units and `start` run)
    Run {
        /// Exit after this long without a request (e.g. 30m); for socket activation
        #[arg(long, value_name = "DURATION")]
        idle_exit: Option<String>,
    },
    /// Start the daemon in the background, unless one is running
    Start,
    /// Stop the running daemon
    Stop,
    /// Show whether the daemon runs, and what it holds
    Status {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

/// Exit code of `status` when no daemon runs (as `systemctl status`).
const NOT_RUNNING: u8 = 3;

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let socket = setup::socket_path(ctx);
        let get = |k: &str| ctx.env.get(k).map(str::to_string);
        let status = || {
            client::request(
                &socket,
                &wire::message(vec![("op", wire::s("status"))]),
                &get,
            )
        };
        match self.action {
            Action::Run { idle_exit } => {
                let idle_exit = idle_exit
                    .map(|d| {
                        parse_duration(&d)
                            .filter(|s| *s > 0)
                            .map(|s| Duration::from_secs(s as u64))
                            .ok_or_else(|| anyhow!("--idle-exit {d}: not a duration such as 30m"))
                    })
                    .transpose()?;
                let vault = KeychainVault::open(&ctx.env)?;
                let keychain = vault.describe();
                let options = Options {
                    socket: socket.clone(),
                    idle_exit,
                    env: ctx.env.clone(),
                    keychain,
                };
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .context("cannot start the async runtime")?;
                rt.block_on(async move {
                    let daemon = Daemon::bind(options, Arc::new(vault))?;
                    eprintln!(
                        "awsenv: daemon {} listening on {} (pid {})",
                        env!("CARGO_PKG_VERSION"),
                        socket.display(),
                        std::process::id()
                    );
                    daemon.serve().await
                })?;
                Ok(ExitCode::SUCCESS)
            }
            Action::Start => {
                match status() {
                    Ok(reply) => {
                        let pid = reply
                            .get("status")
                            .and_then(|s| s.get("pid"))
                            .and_then(Json::as_i64)
                            .unwrap_or(0);
                        eprintln!("awsenv: the daemon is already running (pid {pid})");
                        return Ok(ExitCode::SUCCESS);
                    }
                    Err(ClientError::NotRunning) => {}
                    // A daemon answers but cannot serve us (another protocol version, say): starting
                    // would only meet its lock, so say what to do.
                    Err(e) => bail!("{e}"),
                }
                let exe = std::env::current_exe().context("cannot find the awsenv program")?;
                let dir = socket.parent().map(|p| p.to_path_buf()).unwrap_or_default();
                crate::daemon::runtime_dir::prepare(&dir, crate::thin::paths::current_uid())?;
                let log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join("daemon.log"))
                    .context("cannot open the daemon log")?;
                use std::os::unix::process::CommandExt;
                Command::new(exe)
                    .args(["daemon", "run"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log)
                    // Its own process group: a Ctrl-C in this terminal must not stop it.
                    .process_group(0)
                    .spawn()
                    .context("cannot start the daemon")?;
                client::wait_for(&socket, Duration::from_secs(5))
                    .map_err(|e| anyhow!("{e}; its log is {}", dir.join("daemon.log").display()))?;
                Ok(ExitCode::SUCCESS)
            }
            Action::Stop => {
                let mut said = None;
                match client::request(
                    &socket,
                    &wire::message(vec![("op", wire::s("shutdown"))]),
                    &get,
                ) {
                    Ok(_) => {}
                    Err(ClientError::NotRunning) => {
                        eprintln!("awsenv: no daemon is running");
                        return Ok(ExitCode::SUCCESS);
                    }
                    // A daemon of another version still shuts down; its reply is not ours to read.
                    Err(ClientError::Protocol(e)) => said = Some(e),
                    Err(e) => bail!("{e}"),
                }
                // Wait until it has let go of the socket.
                for _ in 0..200 {
                    if std::os::unix::net::UnixStream::connect(&socket).is_err() {
                        eprintln!("awsenv: daemon stopped");
                        return Ok(ExitCode::SUCCESS);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                match said {
                    Some(e) => bail!("{e}"),
                    None => bail!("the daemon did not stop within 2 seconds"),
                }
            }
            Action::Status { json } => match status() {
                Ok(reply) => {
                    let s = reply.get("status").cloned().unwrap_or(Json::Null);
                    if json {
                        print_out(&format!("{}\n", s.to_text()))?;
                    } else {
                        let f = |k: &str| match s.get(k) {
                            Some(Json::String(v)) => v.clone(),
                            Some(v) => v.to_text(),
                            None => "?".into(),
                        };
                        let uptime = s.get("uptime_seconds").and_then(Json::as_i64).unwrap_or(0);
                        print_out(&format!(
                            "running   pid {}, awsenv {}, protocol {}, up {}\nsocket    {}\nkeychain  {}\nsessions  {} in memory, {} requests served\n",
                            f("pid"), f("version"), f("protocol"), human_duration(uptime),
                            f("socket"), f("keychain"), f("sessions_in_memory"), f("requests")
                        ))?;
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(ClientError::NotRunning) => {
                    if json {
                        print_out("null\n")?;
                    } else {
                        eprintln!(
                            "awsenv: no daemon is running at {} (it starts by itself on first use, or `awsenv daemon start`)",
                            socket.display()
                        );
                    }
                    Ok(ExitCode::from(NOT_RUNNING))
                }
                Err(e) => bail!("{e}"),
            },
        }
    }
}
