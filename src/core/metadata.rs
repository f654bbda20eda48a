//! The two metadata protocols through which SDKs fetch credentials over HTTP — the container
//! credentials endpoint (ECS/EKS) and the EC2 instance metadata service (IMDSv2) — seen from both
//! sides, without any I/O:
//!
//! - serving: what awsenv's loopback endpoints answer to a request ([`Imds::answer`],
//!   [`Container::answer`]), the credentials documents, the session tokens, and the variables a
//!   child process needs to find the endpoint ([`child_env`]);
//! - fetching, for `credential_source = Ec2InstanceMetadata | EcsContainer`: where the real endpoint
//!   is ([`imds_target`], [`container_target`]) and what its documents say.
//!
//! The facts (TTL bounds, the echoed TTL header, `X-Forwarded-For`, document fields, allowed hosts)
//! are those of aws-reference.md section 6, as botocore, the Rust, Go and JS SDKs expect them.

use std::path::PathBuf;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::config::Section;
use super::credentials::{Credentials, Secret};
use super::env::Env;
use super::export::{EnvChanges, ALWAYS_UNSET, UNSET_ON_CLEAR};
use super::http1::{RequestHead, Response};
use super::sigv4::hex;
use super::time::UtcTime;

/// `PUT` here gives an IMDSv2 session token.
pub const TOKEN_PATH: &str = "/latest/api/token";
/// The token's lifetime in seconds: asked for on the `PUT`, echoed in its answer.
pub const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
/// The token on every later `GET`.
pub const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// IMDS's longest token lifetime (6 hours).
pub const MAX_TTL: u32 = 21_600;
const CREDENTIALS_PREFIX: &str = "/latest/meta-data/iam/security-credentials/";
/// The path of awsenv's container credentials endpoint.
pub const CONTAINER_PATH: &str = "/credentials";

/// Which protocol an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`).
    Container,
    /// The IMDSv2 emulator (`AWS_EC2_METADATA_SERVICE_ENDPOINT`).
    Imds,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Container => "container credentials endpoint",
            Kind::Imds => "instance metadata (IMDSv2) endpoint",
        }
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Compares two secrets without an early exit, through their digests so that neither the content
/// nor the length of the expected value shows in the timing.
pub fn secrets_match(given: &str, expected_digest: &[u8; 32]) -> bool {
    let d: [u8; 32] = Sha256::digest(given.as_bytes()).into();
    d.iter()
        .zip(expected_digest)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// Issues and checks IMDSv2 session tokens without remembering them: a token is its expiry time
/// and an HMAC of it under a key that lives as long as the endpoint, so no client can grow the
/// endpoint's memory and a forged or altered token never checks out.
pub struct TokenSigner {
    key: [u8; 32],
}

/// What a presented token is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    Valid,
    Expired,
    Invalid,
}

impl TokenSigner {
    pub fn new(key: [u8; 32]) -> Self {
        TokenSigner { key }
    }

    fn mac(&self, expires: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(b"awsenv-imds-token-v1");
        mac.update(&expires.to_be_bytes());
        mac
    }

    /// A token valid for `ttl` seconds from `now`.
    pub fn issue(&self, now: UtcTime, ttl: u32) -> String {
        let expires = now.0 + i64::from(ttl);
        let tag = self.mac(expires).finalize().into_bytes();
        format!("{}{}", hex(&expires.to_be_bytes()), hex(&tag))
    }

    pub fn check(&self, token: &str, now: UtcTime) -> TokenCheck {
        let Some(bytes) = unhex(token).filter(|b| b.len() == 40) else {
            return TokenCheck::Invalid;
        };
        let expires = i64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
        // `verify_slice` compares in constant time.
        if self.mac(expires).verify_slice(&bytes[8..]).is_err() {
            return TokenCheck::Invalid;
        }
        if now.0 >= expires {
            TokenCheck::Expired
        } else {
            TokenCheck::Valid
        }
    }
}

/// Whether a request's `Host` names this endpoint (`127.0.0.1:PORT` or `localhost:PORT`). Anything
/// else is refused: a web page that rebinds its own name to 127.0.0.1 sends its own name here.
pub fn host_is_ours(host: Option<&str>, port: u16) -> bool {
    let Some(host) = host else { return false };
    let (name, p) = match host.split_once(':') {
        Some((n, p)) => (n, p.parse::<u16>().ok()),
        None => (host, Some(80)),
    };
    p == Some(port) && (name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost"))
}

/// The uid owning the client end of a loopback TCP connection, from the text of Linux's
/// `/proc/net/tcp`: the row whose local address is the client's (`peer`) and whose remote address is
/// the endpoint's (`local`). Addresses there are the raw 32-bit value in the machine's byte order
/// and ports are big-endian numbers, both in hex.
pub fn tcp_socket_owner(
    proc_net_tcp: &str,
    peer: std::net::SocketAddrV4,
    local: std::net::SocketAddrV4,
) -> Option<u32> {
    let fmt = |a: std::net::SocketAddrV4| {
        format!(
            "{:08X}:{:04X}",
            u32::from_ne_bytes(a.ip().octets()),
            a.port()
        )
    };
    let (want_local, want_remote) = (fmt(peer), fmt(local));
    proc_net_tcp.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.len() > 7 && f[1] == want_local && f[2] == want_remote)
            .then(|| f[7].parse().ok())
            .flatten()
    })
}

/// Who may fetch credentials from an endpoint: the user who runs it, and root (who can read them
/// from awsenv's memory anyway).
pub fn uid_allowed(client: u32, own: u32) -> bool {
    client == own || client == 0
}

/// What the endpoints say about the "instance" whose credentials they serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The awsenv profile served.
    pub profile: String,
    /// The name under `iam/security-credentials/`: the role's name, else the profile's.
    pub role_name: String,
    pub role_arn: Option<String>,
    pub account_id: Option<String>,
    pub region: String,
    /// `i-` and 17 hex digits, made up per endpoint.
    pub instance_id: String,
    pub started: UtcTime,
}

impl Instance {
    /// The instance for `profile`, whose role (if it has one) is `role_arn`.
    pub fn new(
        profile: &str,
        role_arn: Option<&str>,
        region: &str,
        instance_id: &str,
        started: UtcTime,
    ) -> Instance {
        let arn_parts: Vec<&str> = role_arn.map(|a| a.split(':').collect()).unwrap_or_default();
        let account_id = arn_parts
            .get(4)
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            .map(|a| a.to_string());
        let role = arn_parts
            .get(5)
            .and_then(|r| r.strip_prefix("role/"))
            .and_then(|r| r.rsplit('/').next())
            .filter(|r| !r.is_empty());
        // IAM's role-name characters only: the name becomes a path segment.
        let role_name: String = role
            .unwrap_or(profile)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        Instance {
            profile: profile.to_string(),
            role_name,
            role_arn: role_arn.map(str::to_string),
            account_id,
            region: region.to_string(),
            instance_id: instance_id.to_string(),
            started,
        }
    }
}

/// What the server does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Answer this at once.
    Now(Response),
    /// Fetch the profile's credentials, then answer with [`Imds::credentials`] or
    /// [`Container::credentials`].
    Credentials,
}

/// An error document: `{"Code", "Message"}`, the shape the container endpoint uses and SDKs show.
pub fn error_response(status: u16, code: &str, message: &str) -> Response {
    Response::json(status, &json!({"Code": code, "Message": message}))
}

/// The answer when the profile's credentials cannot be had (the MFA session ended, STS failed…).
pub fn unavailable(code: &str, message: &str) -> Response {
    error_response(503, code, message)
}

/// The parts of temporary credentials both documents need; long-term keys cannot be described
/// (every SDK requires a token and an expiration there).
fn temporary<'c>(c: &'c Credentials, profile: &str) -> Result<(&'c Secret, UtcTime), Response> {
    match (&c.session_token, c.expiration) {
        (Some(t), Some(e)) => Ok((t, e)),
        _ => Err(unavailable(
            "LongTermKeys",
            &format!(
                "profile `{profile}` gives long-term keys, which the metadata protocols cannot carry (they need a session token and an expiration) — give the profile an mfa_serial or a role_arn"
            ),
        )),
    }
}

/// The IMDSv2 emulator.
pub struct Imds {
    pub signer: TokenSigner,
    pub instance: Instance,
    /// Answer `GET`s that carry no token (IMDSv1). Off unless asked for.
    pub allow_v1: bool,
}

impl Imds {
    /// What to answer `req`, received on `port` at `now`.
    pub fn answer(&self, req: &RequestHead, port: u16, now: UtcTime) -> Answer {
        let text = |status: u16, body: &str| Answer::Now(Response::text(status, body));
        let host = match req.header("host") {
            Ok(h) => h,
            Err(_) => return text(400, "Bad Request"),
        };
        if !host_is_ours(host, port) {
            return text(403, "Forbidden");
        }
        if req.method == "PUT" {
            if req.path != TOKEN_PATH {
                return text(403, "Forbidden");
            }
            // Through a proxy (or a container's NAT) the request did not come from this host.
            if req.has("x-forwarded-for") {
                return text(403, "Forbidden");
            }
            let ttl = match req.header(TTL_HEADER) {
                Ok(Some(v)) => v.parse::<u32>().ok().filter(|t| (1..=MAX_TTL).contains(t)),
                _ => None,
            };
            let Some(ttl) = ttl else {
                return text(400, "Bad Request");
            };
            let response = Response::text(200, self.signer.issue(now, ttl))
                .with_header("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", ttl.to_string());
            return Answer::Now(response);
        }
        if req.method != "GET" {
            return Answer::Now(
                Response::text(405, "Method Not Allowed").with_header("Allow", "GET, PUT"),
            );
        }
        if req.path == TOKEN_PATH {
            return Answer::Now(
                Response::text(405, "Method Not Allowed").with_header("Allow", "PUT"),
            );
        }
        match req.header(TOKEN_HEADER) {
            Ok(Some(token)) => {
                if self.signer.check(token, now) != TokenCheck::Valid {
                    return text(401, "Unauthorized");
                }
            }
            Ok(None) if self.allow_v1 => {}
            _ => return text(401, "Unauthorized"),
        }
        self.get(&req.path)
    }

    fn get(&self, path: &str) -> Answer {
        let i = &self.instance;
        let ok = |body: String| Answer::Now(Response::text(200, body));
        let az = format!("{}a", i.region);
        match path {
            "/" => ok("latest".into()),
            "/latest" | "/latest/" => ok("dynamic\nmeta-data".into()),
            "/latest/meta-data" | "/latest/meta-data/" => {
                ok("iam/\ninstance-id\nplacement/".into())
            }
            "/latest/meta-data/iam" | "/latest/meta-data/iam/" => {
                ok("info\nsecurity-credentials/".into())
            }
            "/latest/meta-data/iam/security-credentials" | CREDENTIALS_PREFIX => {
                ok(i.role_name.clone())
            }
            "/latest/meta-data/iam/info" => {
                let mut doc = json!({
                    "Code": "Success",
                    "LastUpdated": i.started.rfc3339(),
                });
                if let Some(account) = &i.account_id {
                    doc["InstanceProfileArn"] = json!(format!(
                        "arn:aws:iam::{account}:instance-profile/{}",
                        i.role_name
                    ));
                }
                ok(serde_json::to_string_pretty(&doc).expect("JSON"))
            }
            "/latest/meta-data/instance-id" => ok(i.instance_id.clone()),
            "/latest/meta-data/placement" | "/latest/meta-data/placement/" => {
                ok("availability-zone\nregion".into())
            }
            "/latest/meta-data/placement/region" => ok(i.region.clone()),
            "/latest/meta-data/placement/availability-zone" => ok(az),
            "/latest/dynamic/instance-identity/document" => {
                let doc = json!({
                    "accountId": i.account_id,
                    "architecture": if cfg!(target_arch = "aarch64") { "arm64" } else { "x86_64" },
                    "availabilityZone": az,
                    "instanceId": i.instance_id,
                    "pendingTime": i.started.rfc3339(),
                    "privateIp": "127.0.0.1",
                    "region": i.region,
                    "version": "2017-09-30",
                });
                ok(serde_json::to_string_pretty(&doc).expect("JSON"))
            }
            p if p.strip_prefix(CREDENTIALS_PREFIX) == Some(i.role_name.as_str()) => {
                Answer::Credentials
            }
            // Unknown paths (the "-extended" credentials API included) are 404, which makes the
            // SDKs that try newer paths first fall back.
            _ => Answer::Now(Response::text(404, "Not Found")),
        }
    }

    /// The credentials document of the role.
    pub fn credentials(&self, c: &Credentials, now: UtcTime) -> Response {
        let (token, expiration) = match temporary(c, &self.instance.profile) {
            Ok(t) => t,
            Err(r) => return r,
        };
        let doc = json!({
            "Code": "Success",
            "LastUpdated": now.rfc3339(),
            "Type": "AWS-HMAC",
            "AccessKeyId": c.access_key_id,
            "SecretAccessKey": c.secret_access_key.expose(),
            "Token": token.expose(),
            "Expiration": expiration.rfc3339(),
        });
        Response::text(200, serde_json::to_string_pretty(&doc).expect("JSON"))
    }
}

/// The container credentials endpoint.
pub struct Container {
    token_digest: [u8; 32],
    pub instance: Instance,
}

impl Container {
    /// An endpoint that requires `token` in `Authorization`.
    pub fn new(token: &str, instance: Instance) -> Container {
        Container {
            token_digest: Sha256::digest(token.as_bytes()).into(),
            instance,
        }
    }

    pub fn answer(&self, req: &RequestHead, port: u16) -> Answer {
        let refuse =
            |status, code, message: &str| Answer::Now(error_response(status, code, message));
        let host = match req.header("host") {
            Ok(h) => h,
            Err(_) => {
                return refuse(
                    400,
                    "BadRequest",
                    "the request has more than one Host header",
                )
            }
        };
        if !host_is_ours(host, port) {
            return refuse(
                403,
                "Forbidden",
                "the Host header does not name this endpoint (127.0.0.1 or localhost with its port)",
            );
        }
        match req.header("authorization") {
            Ok(Some(given)) => {
                if !secrets_match(given, &self.token_digest) {
                    return refuse(
                        403,
                        "AccessDenied",
                        "the Authorization header does not carry this endpoint's token (AWS_CONTAINER_AUTHORIZATION_TOKEN)",
                    );
                }
            }
            Ok(None) => {
                return refuse(
                    401,
                    "Unauthorized",
                    "the request has no Authorization header: set AWS_CONTAINER_AUTHORIZATION_TOKEN (or …_TOKEN_FILE) as awsenv printed it",
                )
            }
            Err(_) => return refuse(400, "BadRequest", "the request has more than one Authorization header"),
        }
        if req.method != "GET" {
            return Answer::Now(
                error_response(405, "MethodNotAllowed", "only GET is served")
                    .with_header("Allow", "GET"),
            );
        }
        if req.path != CONTAINER_PATH {
            return refuse(
                404,
                "NotFound",
                &format!("credentials are served at {CONTAINER_PATH}"),
            );
        }
        Answer::Credentials
    }

    /// The credentials document.
    pub fn credentials(&self, c: &Credentials) -> Response {
        let (token, expiration) = match temporary(c, &self.instance.profile) {
            Ok(t) => t,
            Err(r) => return r,
        };
        let mut doc = json!({
            "AccessKeyId": c.access_key_id,
            "SecretAccessKey": c.secret_access_key.expose(),
            "Token": token.expose(),
            "Expiration": expiration.rfc3339(),
        });
        if let Some(arn) = &self.instance.role_arn {
            doc["RoleArn"] = json!(arn);
        }
        if let Some(account) = &self.instance.account_id {
            doc["AccountId"] = json!(account);
        }
        Response::json(200, &doc)
    }
}

/// Variables that would make an SDK take credentials from somewhere before the endpoint (the
/// environment, a profile, web identity, another container endpoint) or look for it elsewhere.
const DISPLACED: [&str; 11] = [
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_EC2_METADATA_V1_DISABLED",
];

/// How a client authenticates to the container endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenPassing {
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    Value(Secret),
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`.
    File(PathBuf),
}

/// The environment changes that point a child process's SDKs at an endpoint: every variable that
/// would take precedence goes, then the endpoint's variables and the profile's region are set.
pub fn child_env(
    kind: Kind,
    url: &str,
    token: Option<&TokenPassing>,
    allow_v1: bool,
    region: Option<&str>,
) -> EnvChanges {
    let mut unset: Vec<&'static str> = Vec::new();
    for name in ALWAYS_UNSET.iter().chain(&UNSET_ON_CLEAR).chain(&DISPLACED) {
        if !unset.contains(name) {
            unset.push(name);
        }
    }
    let mut set: Vec<(&'static str, String)> = Vec::new();
    match kind {
        Kind::Container => {
            set.push(("AWS_CONTAINER_CREDENTIALS_FULL_URI", url.to_string()));
            match token {
                Some(TokenPassing::Value(t)) => {
                    set.push(("AWS_CONTAINER_AUTHORIZATION_TOKEN", t.expose().to_string()))
                }
                Some(TokenPassing::File(p)) => set.push((
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                    p.display().to_string(),
                )),
                None => {}
            }
        }
        Kind::Imds => {
            set.push(("AWS_EC2_METADATA_SERVICE_ENDPOINT", url.to_string()));
            if !allow_v1 {
                // botocore and the JS SDK otherwise retry without a token after some failures.
                set.push(("AWS_EC2_METADATA_V1_DISABLED", "true".to_string()));
            }
        }
    }
    if let Some(r) = region {
        set.push(("AWS_REGION", r.to_string()));
        set.push(("AWS_DEFAULT_REGION", r.to_string()));
    }
    unset.retain(|u| !set.iter().any(|(s, _)| s == u));
    EnvChanges { unset, set }
}

// ---------------------------------------------------------------------------------------------
// Fetching from a real endpoint (credential_source).

/// Timeouts and attempts for metadata requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    /// For one attempt, connecting included.
    pub timeout: Duration,
    pub attempts: u32,
}

/// `AWS_METADATA_SERVICE_TIMEOUT` / `metadata_service_timeout` (seconds, default 2) and
/// `AWS_METADATA_SERVICE_NUM_ATTEMPTS` / `metadata_service_num_attempts` (default 3), as botocore
/// names them.
pub fn patience(env: &Env, section: Option<&Section>) -> Result<Patience, String> {
    let setting = |var: &str, key: &str| {
        env.non_empty(var)
            .map(|v| (var.to_string(), v.to_string()))
            .or_else(|| {
                section
                    .and_then(|s| s.non_empty(key))
                    .map(|v| (format!("{key} ({})", v.origin), v.value.clone()))
            })
    };
    let mut p = Patience {
        timeout: Duration::from_secs(2),
        attempts: 3,
    };
    if let Some((from, v)) = setting("AWS_METADATA_SERVICE_TIMEOUT", "metadata_service_timeout") {
        let secs: f64 = v
            .trim()
            .parse()
            .ok()
            .filter(|s: &f64| *s > 0.0 && *s <= 300.0)
            .ok_or_else(|| format!("{from} = {v:?} is not a number of seconds (1 to 300)"))?;
        p.timeout = Duration::from_secs_f64(secs);
    }
    if let Some((from, v)) = setting(
        "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
        "metadata_service_num_attempts",
    ) {
        p.attempts = v
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=10).contains(n))
            .ok_or_else(|| format!("{from} = {v:?} is not a number of attempts (1 to 10)"))?;
    }
    Ok(p)
}

/// Where the instance metadata service is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImdsTarget {
    /// `http://169.254.169.254`, without a trailing slash.
    pub endpoint: String,
    /// Where the endpoint was named, for messages.
    pub from: String,
    pub patience: Patience,
}

/// The IMDS endpoint as the SDKs find it: `AWS_EC2_METADATA_SERVICE_ENDPOINT`, the profile's
/// `ec2_metadata_service_endpoint`, else the IPv4 or (`…_ENDPOINT_MODE = IPv6`) IPv6 address.
/// `AWS_EC2_METADATA_DISABLED=true` turns it off.
pub fn imds_target(env: &Env, section: Option<&Section>) -> Result<ImdsTarget, String> {
    if env
        .non_empty("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Err(
            "the instance metadata service is turned off (AWS_EC2_METADATA_DISABLED=true)".into(),
        );
    }
    let patience = patience(env, section)?;
    let named = env
        .non_empty("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .map(|v| {
            (
                v.to_string(),
                "AWS_EC2_METADATA_SERVICE_ENDPOINT".to_string(),
            )
        })
        .or_else(|| {
            section
                .and_then(|s| s.non_empty("ec2_metadata_service_endpoint"))
                .map(|v| {
                    (
                        v.value.clone(),
                        format!("ec2_metadata_service_endpoint ({})", v.origin),
                    )
                })
        });
    if let Some((url, from)) = named {
        let parsed =
            parse_url(&url).ok_or_else(|| format!("{from} = {url:?} is not an http(s) URL"))?;
        let endpoint = format!("{}://{}", parsed.scheme, parsed.authority);
        return Ok(ImdsTarget {
            endpoint,
            from,
            patience,
        });
    }
    let mode = env
        .non_empty("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
        .map(str::to_string)
        .or_else(|| {
            section
                .and_then(|s| s.non_empty("ec2_metadata_service_endpoint_mode"))
                .map(|v| v.value.clone())
        });
    let endpoint = match mode.as_deref() {
        Some(m) if m.eq_ignore_ascii_case("ipv6") => "http://[fd00:ec2::254]",
        Some(m) if !m.eq_ignore_ascii_case("ipv4") => {
            return Err(format!(
                "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE = {m:?} is neither IPv4 nor IPv6"
            ))
        }
        _ => "http://169.254.169.254",
    };
    Ok(ImdsTarget {
        endpoint: endpoint.to_string(),
        from: "the default address".into(),
        patience,
    })
}

/// How the container endpoint wants its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerAuth {
    None,
    Token(Secret),
    /// Read the file at each request (EKS rotates it); its content is sent as it is.
    File(PathBuf),
}

/// Where the container credentials endpoint is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerTarget {
    pub url: String,
    pub auth: ContainerAuth,
    pub patience: Patience,
}

/// The container endpoint as the SDKs find it: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on ECS's
/// fixed address) first, else `AWS_CONTAINER_CREDENTIALS_FULL_URI`, which must be https or one of
/// the addresses the SDKs allow plain http to (loopback, ECS 169.254.170.2, EKS 169.254.170.23 and
/// fd00:ec2::23). The token comes from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, else
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
pub fn container_target(env: &Env) -> Result<ContainerTarget, String> {
    let patience = patience(env, None)?;
    let url = if let Some(rel) = env.non_empty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        if !rel.starts_with('/') {
            return Err(format!(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = {rel:?} does not start with /"
            ));
        }
        format!("http://169.254.170.2{rel}")
    } else if let Some(full) = env.non_empty("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        let u = parse_url(full).ok_or_else(|| {
            format!("AWS_CONTAINER_CREDENTIALS_FULL_URI = {full:?} is not an http(s) URL")
        })?;
        if u.scheme == "http" && !plain_http_allowed(&u.host) {
            return Err(format!(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI = {full:?}: plain http is allowed only to loopback, 169.254.170.2, 169.254.170.23 or fd00:ec2::23 (as in every SDK) — use https"
            ));
        }
        full.to_string()
    } else {
        return Err("neither AWS_CONTAINER_CREDENTIALS_FULL_URI nor AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is set".into());
    };
    let auth = if let Some(file) = env.non_empty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        ContainerAuth::File(PathBuf::from(file))
    } else if let Some(token) = env.non_empty("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
        ContainerAuth::Token(Secret::new(token))
    } else {
        ContainerAuth::None
    };
    Ok(ContainerTarget {
        url,
        auth,
        patience,
    })
}

/// The `Authorization` value from a token as read from its file or variable: CR and LF would split
/// the header, so they are refused (a trailing newline in a file is the usual mistake).
pub fn authorization_value(token: &str, from: &str) -> Result<String, String> {
    if token.contains(['\r', '\n']) {
        return Err(format!(
            "the container authorization token in {from} contains a line break (a file must hold the token without a trailing newline)"
        ));
    }
    Ok(token.to_string())
}

fn plain_http_allowed(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") || h == "::1" {
        return true;
    }
    if matches!(h, "169.254.170.2" | "169.254.170.23") || h.eq_ignore_ascii_case("fd00:ec2::23") {
        return true;
    }
    h.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|a| a.is_loopback())
}

struct Url<'a> {
    scheme: &'a str,
    authority: &'a str,
    host: String,
}

fn parse_url(s: &str) -> Option<Url<'_>> {
    let (scheme, rest) = s.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next()?.to_string()
    } else {
        authority.split(':').next()?.to_string()
    };
    Some(Url {
        scheme,
        authority,
        host,
    })
}

fn field<'a>(doc: &'a serde_json::Value, name: &str) -> Result<&'a str, String> {
    doc[name]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("the answer has no {name}"))
}

fn credentials_from(doc: &serde_json::Value, token_field: &str) -> Result<Credentials, String> {
    let expiration = match doc.get("Expiration").and_then(|e| e.as_str()) {
        Some(e) => Some(
            UtcTime::parse_rfc3339(e)
                .ok_or_else(|| format!("its Expiration {e:?} is not a time"))?,
        ),
        None => None,
    };
    Ok(Credentials {
        access_key_id: field(doc, "AccessKeyId")?.to_string(),
        secret_access_key: Secret::new(field(doc, "SecretAccessKey")?),
        session_token: doc[token_field].as_str().map(Secret::new),
        expiration,
    })
}

/// Reads an IMDS credentials document (`Code` must be `Success`).
pub fn parse_imds_credentials(body: &str) -> Result<Credentials, String> {
    let doc: serde_json::Value =
        serde_json::from_str(body).map_err(|_| "the answer is not JSON".to_string())?;
    match doc["Code"].as_str() {
        Some("Success") => credentials_from(&doc, "Token"),
        Some(code) => Err(format!(
            "it answered {code}: {}",
            doc["Message"].as_str().unwrap_or("no message")
        )),
        None => Err("the answer has no Code".into()),
    }
}

/// Reads a container credentials document.
pub fn parse_container_credentials(body: &str) -> Result<Credentials, String> {
    let doc: serde_json::Value =
        serde_json::from_str(body).map_err(|_| "the answer is not JSON".to_string())?;
    credentials_from(&doc, "Token")
}

/// The message of an error document (`{"Code","Message"}`), or the start of the body.
pub fn error_message(body: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(doc) if doc["Message"].is_string() || doc["message"].is_string() => format!(
            "{}{}",
            doc["Code"]
                .as_str()
                .map(|c| format!("{c}: "))
                .unwrap_or_default(),
            doc["Message"]
                .as_str()
                .or(doc["message"].as_str())
                .unwrap_or_default()
        ),
        _ => body
            .chars()
            .take(200)
            .collect::<String>()
            .trim()
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::http1::parse_head;

    const PORT: u16 = 4711;

    fn request(raw: &str) -> RequestHead {
        parse_head(raw.as_bytes()).unwrap().unwrap().0
    }

    fn instance() -> Instance {
        Instance::new(
            "dev",
            Some("arn:aws:iam::123456789012:role/team/dev"),
            "eu-west-1",
            "i-0123456789abcdef0",
            UtcTime(1_700_000_000),
        )
    }

    fn imds(allow_v1: bool) -> Imds {
        Imds {
            signer: TokenSigner::new([7; 32]),
            instance: instance(),
            allow_v1,
        }
    }

    fn status(a: &Answer) -> u16 {
        match a {
            Answer::Now(r) => r.status,
            Answer::Credentials => 200,
        }
    }

    fn put(ttl: Option<&str>, extra: &str) -> RequestHead {
        let ttl = ttl
            .map(|t| format!("{TTL_HEADER}: {t}\r\n"))
            .unwrap_or_default();
        request(&format!(
            "PUT {TOKEN_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n{ttl}{extra}\r\n"
        ))
    }

    fn get(path: &str, token: Option<&str>) -> RequestHead {
        let token = token
            .map(|t| format!("{TOKEN_HEADER}: {t}\r\n"))
            .unwrap_or_default();
        request(&format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n{token}\r\n"
        ))
    }

    #[test]
    fn token_ttl_must_be_1_to_21600_and_is_echoed() {
        let now = UtcTime(1_700_000_000);
        let i = imds(false);
        for bad in [
            None,
            Some("0"),
            Some("21601"),
            Some("-1"),
            Some("abc"),
            Some(""),
        ] {
            assert_eq!(status(&i.answer(&put(bad, ""), PORT, now)), 400, "{bad:?}");
        }
        for good in ["1", "21600"] {
            let Answer::Now(r) = i.answer(&put(Some(good), ""), PORT, now) else {
                panic!()
            };
            assert_eq!(r.status, 200);
            assert!(r
                .headers
                .contains(&("X-Aws-Ec2-Metadata-Token-Ttl-Seconds".into(), good.into())));
            assert_eq!(i.signer.check(&r.body, now), TokenCheck::Valid);
        }
    }

    #[test]
    fn tokens_expire_and_cannot_be_forged() {
        let s = TokenSigner::new([1; 32]);
        let t = s.issue(UtcTime(100), 5);
        assert_eq!(s.check(&t, UtcTime(104)), TokenCheck::Valid);
        assert_eq!(s.check(&t, UtcTime(105)), TokenCheck::Expired);
        // A later expiry with the old tag, another key, garbage: all invalid.
        let stretched = format!("{}{}", hex(&1000i64.to_be_bytes()), &t[16..]);
        assert_eq!(s.check(&stretched, UtcTime(104)), TokenCheck::Invalid);
        assert_eq!(
            TokenSigner::new([2; 32]).check(&t, UtcTime(104)),
            TokenCheck::Invalid
        );
        assert_eq!(s.check("not-a-token", UtcTime(104)), TokenCheck::Invalid);
    }

    #[test]
    fn gets_need_a_valid_token_unless_v1_is_allowed() {
        let now = UtcTime(1_700_000_000);
        let i = imds(false);
        let path = "/latest/meta-data/iam/security-credentials/dev";
        let token = i.signer.issue(now, 60);
        assert_eq!(
            i.answer(&get(path, Some(&token)), PORT, now),
            Answer::Credentials
        );
        assert_eq!(status(&i.answer(&get(path, None), PORT, now)), 401);
        assert_eq!(status(&i.answer(&get(path, Some("0000")), PORT, now)), 401);
        assert_eq!(
            status(&i.answer(&get(path, Some(&token)), PORT, UtcTime(now.0 + 60))),
            401
        );
        let v1 = imds(true);
        assert_eq!(v1.answer(&get(path, None), PORT, now), Answer::Credentials);
        assert_eq!(
            status(&v1.answer(&get(path, Some("bad")), PORT, now)),
            401,
            "a bad token is still refused"
        );
    }

    #[test]
    fn forwarded_puts_and_foreign_hosts_are_refused() {
        let now = UtcTime(1_700_000_000);
        let i = imds(true);
        assert_eq!(
            status(&i.answer(&put(Some("60"), "X-Forwarded-For: 10.0.0.1\r\n"), PORT, now)),
            403
        );
        for host in [
            "evil.example",
            "evil.example:4711",
            "127.0.0.1:4712",
            "169.254.169.254",
        ] {
            let r = request(&format!(
                "GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: {host}\r\n\r\n"
            ));
            assert_eq!(status(&i.answer(&r, PORT, now)), 403, "{host}");
        }
        let no_host = request("GET /latest/meta-data/instance-id HTTP/1.0\r\n\r\n");
        assert_eq!(status(&i.answer(&no_host, PORT, now)), 403);
        assert!(host_is_ours(Some("localhost:4711"), PORT));
    }

    #[test]
    fn metadata_paths() {
        let now = UtcTime(1_700_000_000);
        let i = imds(true);
        let body = |p: &str| match i.answer(&get(p, None), PORT, now) {
            Answer::Now(r) => (r.status, r.body),
            Answer::Credentials => (200, "<credentials>".into()),
        };
        assert_eq!(
            body("/latest/meta-data/iam/security-credentials/"),
            (200, "dev".into())
        );
        assert_eq!(
            body("/latest/meta-data/placement/region"),
            (200, "eu-west-1".into())
        );
        assert_eq!(
            body("/latest/meta-data/placement/availability-zone"),
            (200, "eu-west-1a".into())
        );
        assert_eq!(
            body("/latest/meta-data/instance-id").1,
            "i-0123456789abcdef0"
        );
        let doc: serde_json::Value =
            serde_json::from_str(&body("/latest/dynamic/instance-identity/document").1).unwrap();
        assert_eq!(doc["accountId"], "123456789012");
        assert_eq!(doc["region"], "eu-west-1");
        let info: serde_json::Value =
            serde_json::from_str(&body("/latest/meta-data/iam/info").1).unwrap();
        assert_eq!(
            info["InstanceProfileArn"],
            "arn:aws:iam::123456789012:instance-profile/dev"
        );
        assert_eq!(
            body("/latest/meta-data/iam/security-credentials/other").0,
            404
        );
        assert_eq!(
            body("/latest/meta-data/iam/security-credentials-extended/").0,
            404
        );
    }

    #[test]
    fn credentials_documents() {
        let c = Credentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("s3cr3t"),
            session_token: Some(Secret::new("t0k3n")),
            expiration: Some(UtcTime(1_700_003_600)),
        };
        let now = UtcTime(1_700_000_000);
        let r = imds(false).credentials(&c, now);
        let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(doc["Code"], "Success");
        assert_eq!(doc["Type"], "AWS-HMAC");
        assert_eq!(doc["Token"], "t0k3n");
        assert_eq!(doc["Expiration"], "2023-11-14T23:13:20Z");
        assert_eq!(parse_imds_credentials(&r.body).unwrap(), c);

        let container = Container::new("tok", instance());
        let r = container.credentials(&c);
        let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(doc["AccountId"], "123456789012");
        assert_eq!(doc["RoleArn"], "arn:aws:iam::123456789012:role/team/dev");
        assert_eq!(parse_container_credentials(&r.body).unwrap(), c);

        let long_term = Credentials {
            session_token: None,
            expiration: None,
            ..c
        };
        assert_eq!(container.credentials(&long_term).status, 503);
    }

    #[test]
    fn container_endpoint_checks_host_then_token() {
        let c = Container::new("the-token", instance());
        let req = |auth: &str, host: &str, method: &str, path: &str| {
            request(&format!(
                "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n"
            ))
        };
        let ours = format!("127.0.0.1:{PORT}");
        let code = |a: Answer| match a {
            Answer::Now(r) => {
                let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
                assert!(doc["Code"].is_string() && doc["Message"].is_string());
                r.status
            }
            Answer::Credentials => 200,
        };
        assert_eq!(
            code(c.answer(&req("", &ours, "GET", CONTAINER_PATH), PORT)),
            401
        );
        assert_eq!(
            code(c.answer(
                &req("Authorization: nope\r\n", &ours, "GET", CONTAINER_PATH),
                PORT
            )),
            403
        );
        assert_eq!(
            code(c.answer(
                &req(
                    "Authorization: Bearer the-token\r\n",
                    &ours,
                    "GET",
                    CONTAINER_PATH
                ),
                PORT
            )),
            403
        );
        assert_eq!(
            code(c.answer(
                &req(
                    "Authorization: the-token\r\n",
                    "evil:4711",
                    "GET",
                    CONTAINER_PATH
                ),
                PORT
            )),
            403
        );
        assert_eq!(
            code(c.answer(
                &req(
                    "Authorization: the-token\r\n",
                    &ours,
                    "POST",
                    CONTAINER_PATH
                ),
                PORT
            )),
            405
        );
        assert_eq!(
            code(c.answer(
                &req("Authorization: the-token\r\n", &ours, "GET", "/other"),
                PORT
            )),
            404
        );
        assert_eq!(
            c.answer(
                &req("Authorization: the-token\r\n", &ours, "GET", CONTAINER_PATH),
                PORT
            ),
            Answer::Credentials
        );
    }

    #[test]
    fn child_env_points_at_the_endpoint_and_clears_what_would_win() {
        let token = TokenPassing::Value(Secret::new("tok"));
        let e = child_env(
            Kind::Container,
            "http://127.0.0.1:1/credentials",
            Some(&token),
            false,
            Some("eu-west-1"),
        );
        for gone in [
            "AWS_ACCESS_KEY_ID",
            "AWS_PROFILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ] {
            assert!(e.unset.contains(&gone), "{gone}");
        }
        assert!(!e.unset.contains(&"AWS_CONTAINER_CREDENTIALS_FULL_URI"));
        assert!(e
            .set
            .contains(&("AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok".into())));
        assert!(e.set.contains(&("AWS_REGION", "eu-west-1".into())));
        let e = child_env(Kind::Imds, "http://127.0.0.1:1", None, false, None);
        assert!(e
            .set
            .contains(&("AWS_EC2_METADATA_V1_DISABLED", "true".into())));
        assert!(e.unset.contains(&"AWS_CONTAINER_CREDENTIALS_FULL_URI"));
        assert!(
            e.unset.contains(&"AWS_REGION"),
            "no region chosen: none inherited either"
        );
    }

    #[test]
    fn finding_the_real_endpoints() {
        let env = |pairs: &[(&str, &str)]| Env::from_pairs(pairs.iter().copied());
        assert_eq!(
            imds_target(&env(&[]), None).unwrap().endpoint,
            "http://169.254.169.254"
        );
        assert_eq!(
            imds_target(
                &env(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6")]),
                None
            )
            .unwrap()
            .endpoint,
            "http://[fd00:ec2::254]"
        );
        assert_eq!(
            imds_target(
                &env(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9/")]),
                None
            )
            .unwrap()
            .endpoint,
            "http://127.0.0.1:9"
        );
        assert!(imds_target(&env(&[("AWS_EC2_METADATA_DISABLED", "TRUE")]), None).is_err());
        let p = imds_target(
            &env(&[
                ("AWS_METADATA_SERVICE_TIMEOUT", "5"),
                ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "1"),
            ]),
            None,
        )
        .unwrap()
        .patience;
        assert_eq!((p.timeout, p.attempts), (Duration::from_secs(5), 1));

        let t = container_target(&env(&[
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://127.0.0.1:9/credentials",
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/run/token"),
        ]))
        .unwrap();
        assert_eq!(
            t.auth,
            ContainerAuth::File("/run/token".into()),
            "the file wins, as in botocore"
        );
        let t = container_target(&env(&[
            ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds"),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/"),
        ]))
        .unwrap();
        assert_eq!(t.url, "http://169.254.170.2/v2/creds");
        for allowed in [
            "http://localhost:1/",
            "http://127.0.0.2/",
            "http://[::1]:3/",
            "http://169.254.170.23/x",
            "https://example.com/",
        ] {
            assert!(
                container_target(&env(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", allowed)])).is_ok(),
                "{allowed}"
            );
        }
        for refused in [
            "http://example.com/",
            "http://10.0.0.1/",
            "ftp://127.0.0.1/",
            "http://user@127.0.0.1/",
        ] {
            assert!(
                container_target(&env(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", refused)])).is_err(),
                "{refused}"
            );
        }
        assert!(authorization_value("tok\n", "f").is_err());
    }

    #[test]
    fn the_client_socket_owner_is_read_from_proc_net_tcp() {
        use std::net::{Ipv4Addr, SocketAddrV4};
        let lo = |port| SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        let addr = format!("{:08X}", u32::from_ne_bytes([127, 0, 0, 1]));
        let table = format!(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
             0: {addr}:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1\n\
             1: {addr}:1F90 {addr}:C350 01 00000000:00000000 00:00000000 00000000  1000        0 2 1\n\
             2: {addr}:C350 {addr}:1F90 01 00000000:00000000 00:00000000 00000000  65534        0 3 1\n"
        );
        assert_eq!(
            tcp_socket_owner(&table, lo(0xC350), lo(0x1F90)),
            Some(65534)
        );
        assert_eq!(tcp_socket_owner(&table, lo(0xC351), lo(0x1F90)), None);
        assert!(uid_allowed(1000, 1000) && uid_allowed(0, 1000) && !uid_allowed(65534, 1000));
    }

    #[test]
    fn error_documents_are_read_for_messages() {
        assert_eq!(error_message(r#"{"Code":"X","Message":"why"}"#), "X: why");
        assert_eq!(error_message("plain words\n"), "plain words");
        assert!(parse_imds_credentials(
            r#"{"Code":"AssumeRoleUnauthorizedAccess","Message":"no"}"#
        )
        .unwrap_err()
        .contains("AssumeRoleUnauthorizedAccess"));
    }
}
