//! Fetching source credentials from a real metadata endpoint, for profiles with
//! `credential_source = Ec2InstanceMetadata` (IMDSv2: a session token, then the role name, then the
//! role's credentials) or `EcsContainer` (one `GET`, with the authorization token). Where the
//! endpoint is and how long to wait come from [`crate::core::metadata`]; this file only does the HTTP.
//!
//! No proxy is used (the endpoints are link-local or loopback), and there is no fallback to IMDSv1:
//! an endpoint that refuses a session token is reported, not worked around.

use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::core::credentials::Credentials;
use crate::core::metadata::{self, ContainerAuth, ContainerTarget, ImdsTarget, Patience};
use crate::edge::sts_client::USER_AGENT;

/// The token lifetime asked for (the SDKs ask for the most, six hours).
const TOKEN_TTL: u32 = metadata::MAX_TTL;

/// What one attempt gave.
enum Failure {
    /// Worth another attempt: no connection, a timeout, a 5xx.
    Transient(String),
    /// Not worth another: a 4xx, a document that makes no sense.
    Final(String),
}

fn client(p: Patience) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .no_proxy()
        .connect_timeout(p.timeout)
        .timeout(p.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))
}

/// One request, its status and body.
async fn call(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
) -> Result<(StatusCode, String), Failure> {
    let mut req = http.request(method, url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.map_err(|e| {
        Failure::Transient(if e.is_timeout() {
            "it did not answer in time".to_string()
        } else if e.is_connect() {
            "nothing answers there".to_string()
        } else {
            format!("the request failed ({e})")
        })
    })?;
    let status = resp.status();
    let body = resp
        .text()
        .await
        .map_err(|e| Failure::Transient(format!("its answer broke off ({e})")))?;
    Ok((status, body))
}

/// Runs `attempt` up to `p.attempts` times, with a short pause between attempts.
async fn with_attempts<F, Fut>(p: Patience, mut attempt: F) -> Result<Credentials, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Credentials, Failure>>,
{
    let mut last = String::new();
    for n in 1..=p.attempts {
        match attempt().await {
            Ok(c) => return Ok(c),
            Err(Failure::Final(m)) => return Err(m),
            Err(Failure::Transient(m)) => last = m,
        }
        if n < p.attempts {
            tokio::time::sleep(Duration::from_millis(100 * u64::from(n))).await;
        }
    }
    Err(format!(
        "{last} ({} attempt{}, {:.1}s each; AWS_METADATA_SERVICE_TIMEOUT and AWS_METADATA_SERVICE_NUM_ATTEMPTS change that)",
        p.attempts,
        if p.attempts == 1 { "" } else { "s" },
        p.timeout.as_secs_f64()
    ))
}

fn refused(status: StatusCode, body: &str, what: &str) -> Failure {
    let msg = format!(
        "{what} was answered {status}{}",
        match metadata::error_message(body) {
            m if m.is_empty() => String::new(),
            m => format!(": {m}"),
        }
    );
    if status.is_server_error() {
        Failure::Transient(msg)
    } else {
        Failure::Final(msg)
    }
}

/// The instance profile's credentials from IMDSv2 at `target`.
pub async fn imds_credentials(target: &ImdsTarget) -> Result<Credentials, String> {
    let http = client(target.patience)?;
    let base = &target.endpoint;
    let result = with_attempts(target.patience, || async {
        let ttl = TOKEN_TTL.to_string();
        let (status, token) = call(
            &http,
            Method::PUT,
            &format!("{base}{}", metadata::TOKEN_PATH),
            &[(metadata::TTL_HEADER, &ttl)],
        )
        .await?;
        if !status.is_success() {
            return Err(refused(
                status,
                &token,
                "the session token request (IMDSv2)",
            ));
        }
        let auth = [(metadata::TOKEN_HEADER, token.trim())];
        let list_url = format!("{base}/latest/meta-data/iam/security-credentials/");
        let (status, roles) = call(&http, Method::GET, &list_url, &auth).await?;
        if status == StatusCode::NOT_FOUND {
            return Err(Failure::Final(
                "the instance has no instance profile (no IAM role is attached)".into(),
            ));
        }
        if !status.is_success() {
            return Err(refused(status, &roles, "the role name request"));
        }
        let Some(role) = roles.lines().map(str::trim).find(|l| !l.is_empty()) else {
            return Err(Failure::Final(
                "the instance has no IAM role attached".into(),
            ));
        };
        let (status, doc) = call(&http, Method::GET, &format!("{list_url}{role}"), &auth).await?;
        if !status.is_success() {
            return Err(refused(status, &doc, "the credentials request"));
        }
        metadata::parse_imds_credentials(&doc)
            .map_err(|e| Failure::Final(format!("the credentials of role {role}: {e}")))
    })
    .await;
    result.map_err(|e| {
        format!(
            "the instance metadata service at {base} ({}): {e}",
            target.from
        )
    })
}

/// The credentials of the container endpoint at `target`.
pub async fn container_credentials(target: &ContainerTarget) -> Result<Credentials, String> {
    let http = client(target.patience)?;
    let result = with_attempts(target.patience, || async {
        // Read at each attempt: EKS rotates the file.
        let auth = match &target.auth {
            ContainerAuth::None => None,
            ContainerAuth::Token(t) => Some(
                metadata::authorization_value(t.expose(), "AWS_CONTAINER_AUTHORIZATION_TOKEN")
                    .map_err(Failure::Final)?,
            ),
            ContainerAuth::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Failure::Final(format!(
                        "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {}: {e}",
                        path.display()
                    ))
                })?;
                Some(
                    metadata::authorization_value(&text, &path.display().to_string())
                        .map_err(Failure::Final)?,
                )
            }
        };
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("Authorization", a)])
            .unwrap_or_default();
        let (status, doc) = call(&http, Method::GET, &target.url, &headers).await?;
        if !status.is_success() {
            return Err(refused(status, &doc, "the credentials request"));
        }
        metadata::parse_container_credentials(&doc).map_err(Failure::Final)
    })
    .await;
    result.map_err(|e| format!("the container credentials endpoint {}: {e}", target.url))
}
