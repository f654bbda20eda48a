//! The loopback HTTP server behind `awsenv exec --ecs|--imds` and `awsenv serve`: it listens on
//! 127.0.0.1 only, reads one small request per connection (head at most 8 KiB, within 5 seconds),
//! lets [`crate::core::metadata`] decide the answer, and when that answer is a credentials document
//! asks a [`Feed`] — the daemon, in practice — for the profile's credentials at that moment, so a
//! client that refreshes gets whatever the daemon has renewed.

use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};

use crate::core::credentials::Credentials;
use crate::core::http1::{self, HeadError, Response};
use crate::core::metadata::{self, Answer, Container, Imds, Kind};
use crate::core::time::UtcTime;

/// How long a client has to send its request.
const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 64;
/// Credential fetches at once (each is a thread waiting on the daemon).
const MAX_FETCHES: usize = 8;

/// Where the served credentials come from.
pub trait Feed: Send + Sync + 'static {
    /// The profile's credentials now. Blocking: it runs on a thread of its own. It must never
    /// prompt; when a prompt would be needed it fails and the client gets the error.
    fn credentials(&self) -> Result<Credentials, FeedError>;
}

/// Why the feed has no credentials: a short code for the error document and a message that says
/// what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedError {
    pub code: &'static str,
    pub message: String,
}

/// Which protocol is served.
pub enum Protocol {
    Imds(Imds),
    Container(Container),
}

impl Protocol {
    pub fn kind(&self) -> Kind {
        match self {
            Protocol::Imds(_) => Kind::Imds,
            Protocol::Container(_) => Kind::Container,
        }
    }
}

/// What the server reports on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    /// Every credentials handout and every refused request (`awsenv serve`).
    Requests,
    /// Only failures to get credentials, each message once in a row (`awsenv exec`, whose stderr
    /// is the command's).
    Failures,
}

struct Shared {
    protocol: Protocol,
    feed: Arc<dyn Feed>,
    port: u16,
    log: Log,
    fetches: Semaphore,
    last_failure: Mutex<Option<String>>,
}

/// A bound, not yet serving endpoint.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

/// Random bytes from the kernel, for tokens and keys.
pub fn random_bytes<const N: usize>() -> std::io::Result<[u8; N]> {
    let mut buf = [0u8; N];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf)
}

impl Server {
    /// Binds 127.0.0.1:`port` (0: any free port). Never another address: the endpoints hand out
    /// credentials to whoever can connect.
    pub async fn bind(
        port: u16,
        protocol: Protocol,
        feed: Arc<dyn Feed>,
        log: Log,
    ) -> std::io::Result<Server> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
        let port = listener.local_addr()?.port();
        Ok(Server {
            listener,
            shared: Arc::new(Shared {
                protocol,
                feed,
                port,
                log,
                fetches: Semaphore::new(MAX_FETCHES),
                last_failure: Mutex::new(None),
            }),
        })
    }

    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// The URL clients are given: the credentials path for the container endpoint, the bare
    /// address for IMDS (the SDKs add `/latest/…`).
    pub fn url(&self) -> String {
        match self.shared.protocol {
            Protocol::Container(_) => {
                format!(
                    "http://127.0.0.1:{}{}",
                    self.port(),
                    metadata::CONTAINER_PATH
                )
            }
            Protocol::Imds(_) => format!("http://127.0.0.1:{}", self.port()),
        }
    }

    /// Serves until the future is dropped.
    pub async fn serve(self) {
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        loop {
            let permit = slots
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let stream = match self.listener.accept().await {
                Ok((s, _)) => s,
                // Out of descriptors the listener stays readable: pause instead of spinning.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let shared = self.shared.clone();
            tokio::spawn(async move {
                handle(&shared, stream).await;
                drop(permit);
            });
        }
    }
}

/// Reads the request head (and a small body, ignored), within the deadline.
async fn read_request(stream: &mut TcpStream) -> Result<http1::RequestHead, Response> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let (head, body_at) = loop {
        match http1::parse_head(&buf) {
            Ok(Some(parsed)) => break parsed,
            Ok(None) => {}
            Err(HeadError::TooLarge) => {
                return Err(Response::text(431, "Request Header Fields Too Large"))
            }
            Err(HeadError::Malformed(_)) => return Err(Response::text(400, "Bad Request")),
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return Err(Response::text(400, "Bad Request")),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let body_len = head
        .body_length()
        .map_err(|_| Response::text(400, "Bad Request"))?;
    let mut have = buf.len() - body_at;
    while have < body_len {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return Err(Response::text(400, "Bad Request")),
            Ok(n) => have += n,
        }
    }
    Ok(head)
}

/// On Linux, the uid of the process at the other end, when it is someone else than this user or
/// root (`u32::MAX` when its socket is gone). Elsewhere (no `/proc/net/tcp`) nobody is refused here; the loopback binding and, for the
/// container endpoint, the token are the protection.
fn foreign_user(stream: &TcpStream) -> Option<u32> {
    use std::net::SocketAddr::V4;
    let (Ok(V4(peer)), Ok(V4(local))) = (stream.peer_addr(), stream.local_addr()) else {
        return None;
    };
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let own = crate::thin::paths::current_uid();
    // A connection that is already gone has no row: refused like a stranger's.
    let client = metadata::tcp_socket_owner(&table, peer, local).unwrap_or(u32::MAX);
    (!metadata::uid_allowed(client, own)).then_some(client)
}

async fn handle(shared: &Shared, mut stream: TcpStream) {
    let peer = stream.peer_addr().ok();
    let response = match tokio::time::timeout(REQUEST_DEADLINE, read_request(&mut stream)).await {
        Err(_) => Response::text(408, "Request Timeout"),
        Ok(Err(r)) => r,
        // Checked once the request is in, so that the refusal is read rather than reset away.
        Ok(Ok(_)) if foreign_user(&stream).is_some() => {
            eprintln!(
                "awsenv: refused a request from another user ({}): the {} serves only this user and root",
                peer.map(|p| p.to_string()).unwrap_or_default(),
                shared.protocol.kind().describe()
            );
            metadata::error_response(
                403,
                "Forbidden",
                "this endpoint serves only the user who started it (and root)",
            )
        }
        Ok(Ok(head)) => {
            let answer = match &shared.protocol {
                Protocol::Imds(i) => i.answer(&head, shared.port, UtcTime::now()),
                Protocol::Container(c) => c.answer(&head, shared.port),
            };
            let response = match answer {
                Answer::Now(r) => r,
                Answer::Credentials => credentials_response(shared).await,
            };
            if shared.log == Log::Requests && response.status >= 400 {
                eprintln!(
                    "awsenv: refused {} {} from {}: {} {}",
                    head.method,
                    head.path,
                    peer.map(|p| p.to_string()).unwrap_or_default(),
                    response.status,
                    http1::reason(response.status)
                );
            }
            response
        }
    };
    let _ = stream.write_all(&response.to_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Asks the feed on a thread of its own, and writes the document or the error.
async fn credentials_response(shared: &Shared) -> Response {
    let _permit = shared.fetches.acquire().await.expect("never closed");
    let (tx, rx) = oneshot::channel();
    let feed = shared.feed.clone();
    std::thread::spawn(move || {
        let _ = tx.send(feed.credentials());
    });
    let result = rx.await.unwrap_or_else(|_| {
        Err(FeedError {
            code: "InternalError",
            message: "the credentials fetch failed unexpectedly".into(),
        })
    });
    match result {
        Ok(c) => {
            *shared.last_failure.lock().expect("not poisoned") = None;
            let response = match &shared.protocol {
                Protocol::Imds(i) => i.credentials(&c, UtcTime::now()),
                Protocol::Container(ct) => ct.credentials(&c),
            };
            if shared.log == Log::Requests && response.status == 200 {
                eprintln!(
                    "awsenv: handed out {} ({}, valid until {})",
                    c.access_key_id,
                    shared.protocol.kind().describe(),
                    c.expiration.map(|e| e.rfc3339()).unwrap_or_default()
                );
            }
            response
        }
        Err(e) => {
            let mut last = shared.last_failure.lock().expect("not poisoned");
            if shared.log == Log::Requests || last.as_deref() != Some(e.message.as_str()) {
                eprintln!(
                    "awsenv: the {} has no credentials to give: {}",
                    shared.protocol.kind().describe(),
                    e.message
                );
            }
            *last = Some(e.message.clone());
            metadata::unavailable(e.code, &e.message)
        }
    }
}
