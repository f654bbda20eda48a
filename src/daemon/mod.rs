//! The per-user daemon: one cache of MFA sessions and role credentials for every shell and tool.
//!
//! Start → serve → stop, as atuin's daemon: [`Daemon::bind`] prepares the folder (0700, checked), takes
//! the single-instance lock, binds the socket (0600) or takes the one systemd/launchd passed in; then
//! [`Daemon::serve`] accepts connections (each checked to come from our own uid) until SIGTERM/SIGINT,
//! a `shutdown` request or the idle timeout, and removes the socket on the way out. Shared state lives
//! in an `Arc<State>`; a background task renews role credentials ahead of expiry.

mod broker;
pub mod cache;
mod connection;
pub mod runtime_dir;

use std::os::fd::{FromRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::net::UnixListener;
use tokio::sync::Notify;

use crate::core::env::Env;
use crate::core::time::UtcTime;
use crate::engine::flight::Flights;
use crate::engine::Vault;
use cache::MemoryCache;

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub socket: PathBuf,
    /// Exit after this long without a connection (for socket activation).
    pub idle_exit: Option<Duration>,
    /// The daemon's own environment; requests overlay what clients forward.
    pub env: Env,
    /// How the keychain was chosen, for `status`.
    pub keychain: String,
}

/// What every connection shares.
pub struct State {
    pub options: Options,
    pub cache: MemoryCache,
    pub flights: Flights,
    pub started: UtcTime,
    pub requests: AtomicU64,
    pub shutdown: Notify,
    last_activity: Mutex<Instant>,
    /// Profiles (with the env they were asked with) to keep fresh, and when they were last asked.
    pub recent: Mutex<Vec<(String, Env, Instant)>>,
}

impl State {
    fn touch(&self) {
        *self.last_activity.lock().expect("not poisoned") = Instant::now();
    }

    /// Remembers a profile for refresh-ahead.
    pub fn remember(&self, profile: &str, env: &Env) {
        let mut recent = self.recent.lock().expect("not poisoned");
        recent.retain(|(p, e, _)| !(p == profile && e == env));
        recent.push((profile.to_string(), env.clone(), Instant::now()));
        // A bounded list: the daemon's memory must stay flat whatever clients ask.
        if recent.len() > 64 {
            recent.remove(0);
        }
    }
}

/// A bound, not yet serving daemon.
pub struct Daemon {
    listener: UnixListener,
    state: Arc<State>,
    /// Whether we created the socket file (and so remove it on exit).
    owns_socket: bool,
    _lock: std::fs::File,
}

/// Marks an inherited descriptor close-on-exec, so processes the daemon starts (a profile's
/// `credential_process`) do not inherit the listening socket.
fn set_cloexec(fd: RawFd) {
    extern "C" {
        fn fcntl(fd: i32, cmd: i32, ...) -> i32;
    }
    // The same values on Linux and macOS.
    const F_GETFD: i32 = 1;
    const F_SETFD: i32 = 2;
    const FD_CLOEXEC: i32 = 1;
    // SAFETY: fcntl(2) on a descriptor we own, with integer arguments only.
    unsafe {
        let flags = fcntl(fd, F_GETFD);
        if flags >= 0 {
            fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
        }
    }
}

/// The listening socket systemd or launchd passed in, if any (`LISTEN_PID` = us, `LISTEN_FDS` ≥ 1).
fn inherited_listener(env: &Env) -> Option<RawFd> {
    let pid: u32 = env.get("LISTEN_PID")?.parse().ok()?;
    let fds: u32 = env.get("LISTEN_FDS")?.parse().ok()?;
    (pid == std::process::id() && fds >= 1).then_some(3)
}

impl Daemon {
    /// Prepares the folder, takes the lock and binds (or adopts) the socket.
    pub fn bind(options: Options, vault: Arc<dyn Vault>) -> anyhow::Result<Daemon> {
        let uid = crate::thin::paths::current_uid();
        let dir = options
            .socket
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        runtime_dir::prepare(&dir, uid)?;
        let lock = runtime_dir::lock(&dir)?;
        let (std_listener, owns_socket) = match inherited_listener(&options.env) {
            Some(fd) => {
                // SAFETY: systemd's protocol hands us fd 3 as a listening socket we now own.
                let l = unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) };
                if l.local_addr().is_err() {
                    anyhow::bail!("LISTEN_FDS says a socket was passed in, but descriptor {fd} is not a Unix socket — check the awsenv.socket unit (ListenStream= must be a path)");
                }
                set_cloexec(fd);
                (l, false)
            }
            None => {
                // We hold the lock, so a socket file left here is stale.
                match std::fs::remove_file(&options.socket) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(e).with_context(|| {
                            format!(
                                "cannot remove the stale socket {}",
                                options.socket.display()
                            )
                        })
                    }
                }
                let l = std::os::unix::net::UnixListener::bind(&options.socket)
                    .with_context(|| format!("cannot listen on {}", options.socket.display()))?;
                runtime_dir::set_mode(&options.socket, 0o600)?;
                (l, true)
            }
        };
        std_listener.set_nonblocking(true)?;
        let listener = UnixListener::from_std(std_listener)?;
        let state = Arc::new(State {
            cache: MemoryCache::new(vault),
            flights: Flights::default(),
            started: UtcTime::now(),
            requests: AtomicU64::new(0),
            shutdown: Notify::new(),
            last_activity: Mutex::new(Instant::now()),
            recent: Mutex::new(Vec::new()),
            options,
        });
        Ok(Daemon {
            listener,
            state,
            owns_socket,
            _lock: lock,
        })
    }

    pub fn state(&self) -> Arc<State> {
        self.state.clone()
    }

    /// Serves until a signal, a `shutdown` request or the idle timeout; then removes the socket.
    pub async fn serve(self) -> anyhow::Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let uid = crate::thin::paths::current_uid();
        let refresher = tokio::spawn(refresh_ahead(self.state.clone()));
        let idle = self.state.options.idle_exit;
        loop {
            let idle_check = async {
                match idle {
                    Some(d) => tokio::time::sleep(Duration::from_secs(5).min(d)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, _) = match accepted {
                        Ok(s) => s,
                        // Out of descriptors (EMFILE) the listener stays readable and every accept
                        // fails at once: pause rather than spin a core until a connection ends.
                        Err(_) => {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    self.state.touch();
                    let state = self.state.clone();
                    tokio::spawn(async move {
                        connection::handle(state, stream, uid).await;
                    });
                }
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = self.state.shutdown.notified() => break,
                _ = idle_check => {
                    let last = *self.state.last_activity.lock().expect("not poisoned");
                    if idle.is_some_and(|d| last.elapsed() >= d) {
                        break;
                    }
                }
            }
        }
        refresher.abort();
        if self.owns_socket {
            let _ = std::fs::remove_file(&self.state.options.socket);
        }
        Ok(())
    }
}

/// Renews role credentials before they enter the 15-minute window, from the cached MFA session,
/// without ever prompting: a profile that would need a code is left for the next caller.
async fn refresh_ahead(state: Arc<State>) {
    loop {
        // Every 30 to 60 seconds, jittered so many daemons do not call STS in step.
        let wait = Duration::from_secs(30) + Duration::from_millis(fastrand::u64(0..30_000));
        tokio::time::sleep(wait).await;
        let recent: Vec<(String, Env)> = {
            let mut r = state.recent.lock().expect("not poisoned");
            // Forget profiles nobody asked for in 12 hours.
            r.retain(|(_, _, at)| at.elapsed() < Duration::from_secs(12 * 3600));
            r.iter().map(|(p, e, _)| (p.clone(), e.clone())).collect()
        };
        for (profile, env) in recent {
            // Renew when less than 15 + 5..10 minutes are left.
            let margin = crate::engine::REFRESH_WINDOW
                + crate::engine::HANDOUT_MARGIN
                + fastrand::i64(0..300);
            let _ = connection::issue_without_prompt(&state, &profile, &env, margin).await;
        }
        state.requests.load(Ordering::Relaxed);
    }
}
