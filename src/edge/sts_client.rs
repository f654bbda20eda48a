//! The STS client: SigV4-signed form POSTs over reqwest (rustls), with the SDKs' standard retries
//! (throttling, 5xx, timeouts and connection errors; never other 4xx), full-jitter backoff, timeouts
//! the user can set, and one clock-skew correction taken from the server's `Date` header.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, DATE};

use crate::core::credentials::Credentials;
use crate::core::endpoint::StsEndpoint;
use crate::core::env::Env;
use crate::core::retry::{self, Failure};
use crate::core::sigv4::{self, HttpRequest, SigningParams};
use crate::core::sts::{self, BadResponse, ServiceError};
use crate::core::time::{human_duration, parse_duration, UtcTime};

/// The user agent every call names.
pub const USER_AGENT: &str = concat!("awsenv/", env!("CARGO_PKG_VERSION"));

/// Timeouts and attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSettings {
    pub connect_timeout: Duration,
    /// For one attempt, from sending to the last byte of the answer.
    pub attempt_timeout: Duration,
    pub max_attempts: u32,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(20),
            max_attempts: retry::MAX_ATTEMPTS,
        }
    }
}

/// A setting the user wrote that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{var} = {value:?} is not {expected}")]
pub struct SettingError {
    var: &'static str,
    value: String,
    expected: &'static str,
}

impl ClientSettings {
    /// The defaults, changed by `AWSENV_CONNECT_TIMEOUT`, `AWSENV_TIMEOUT` (`5s`, `1m`, or seconds) and
    /// the SDKs' `AWS_MAX_ATTEMPTS`.
    pub fn from_env(env: &Env) -> Result<Self, SettingError> {
        let mut s = ClientSettings::default();
        let duration = |var: &'static str| -> Result<Option<Duration>, SettingError> {
            env.non_empty(var)
                .map(|v| {
                    parse_duration(v)
                        .filter(|d| *d > 0)
                        .map(|d| Duration::from_secs(d as u64))
                        .ok_or(SettingError {
                            var,
                            value: v.into(),
                            expected: "a duration such as 5s or 1m",
                        })
                })
                .transpose()
        };
        if let Some(d) = duration("AWSENV_CONNECT_TIMEOUT")? {
            s.connect_timeout = d;
        }
        if let Some(d) = duration("AWSENV_TIMEOUT")? {
            s.attempt_timeout = d;
        }
        if let Some(v) = env.non_empty("AWS_MAX_ATTEMPTS") {
            s.max_attempts =
                v.parse()
                    .ok()
                    .filter(|n| (1..=10).contains(n))
                    .ok_or(SettingError {
                        var: "AWS_MAX_ATTEMPTS",
                        value: v.into(),
                        expected: "a number from 1 to 10",
                    })?;
        }
        Ok(s)
    }
}

/// Why a call failed, with what the user should do.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("STS {action} at {url}: {error}")]
    Service {
        action: &'static str,
        url: String,
        error: ServiceError,
        attempts: u32,
    },
    #[error("STS {action} at {url} did not answer within {} ({attempts} attempt{}) — check your network, or raise AWSENV_TIMEOUT", human_duration(.timeout.as_secs() as i64), if *.attempts == 1 { "" } else { "s" })]
    Timeout {
        action: &'static str,
        url: String,
        timeout: Duration,
        attempts: u32,
    },
    #[error("cannot reach STS at {url} for {action} ({reason}; {attempts} attempt{}) — check your network connection, proxy settings and the STS endpoint ({endpoint_from})", if *.attempts == 1 { "" } else { "s" })]
    Unreachable {
        action: &'static str,
        url: String,
        reason: String,
        attempts: u32,
        endpoint_from: String,
    },
    #[error(transparent)]
    BadResponse(#[from] BadResponse),
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

impl CallError {
    /// The STS error, when STS answered with one.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            CallError::Service { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub body: String,
    pub attempts: u32,
    /// Seconds the local clock was found to be off by (server minus local), when a call had to be
    /// corrected for it.
    pub clock_skew: Option<i64>,
}

/// An STS client for one endpoint.
#[derive(Debug)]
pub struct StsClient {
    http: reqwest::Client,
    endpoint: StsEndpoint,
    settings: ClientSettings,
    /// Seconds to add to the local clock when signing (learned from a skew error).
    clock_offset: AtomicI64,
}

fn host_of(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

impl StsClient {
    pub fn new(endpoint: StsEndpoint, settings: ClientSettings) -> Result<Self, CallError> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.attempt_timeout)
            .build()
            .map_err(|e| CallError::Client(e.to_string()))?;
        Ok(StsClient {
            http,
            endpoint,
            settings,
            clock_offset: AtomicI64::new(0),
        })
    }

    pub fn endpoint(&self) -> &StsEndpoint {
        &self.endpoint
    }

    /// Sends one STS call signed with `creds`, retrying as the standard mode says. A call carrying an
    /// MFA code is retried only when it never reached the server: a code works once.
    pub async fn call(
        &self,
        creds: &Credentials,
        request: &sts::Request,
    ) -> Result<Answer, CallError> {
        let action = request.action();
        let url = reqwest::Url::parse(&format!("{}/", self.endpoint.url.trim_end_matches('/')))
            .map_err(|e| {
                CallError::Client(format!("bad STS endpoint {}: {e}", self.endpoint.url))
            })?;
        let host = host_of(&url).ok_or_else(|| {
            CallError::Client(format!("STS endpoint {} has no host", self.endpoint.url))
        })?;
        let body = request.form_body();
        let mfa = request.carries_mfa_code();
        let mut skew_corrected: Option<i64> = None;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let offset = self.clock_offset.load(Ordering::Relaxed);
            let now = UtcTime::now().plus_seconds(offset);
            let mut req = HttpRequest {
                method: "POST".into(),
                path_and_query: url.path().to_string(),
                headers: vec![
                    ("Host".into(), host.clone()),
                    ("Content-Type".into(), sts::CONTENT_TYPE.into()),
                ],
                body: body.clone().into_bytes(),
            };
            let signing = SigningParams::new(&self.endpoint.signing_region, "sts", now);
            let sig = sigv4::sign_headers(
                &req,
                &sigv4::Credentials {
                    access_key_id: &creds.access_key_id,
                    secret_access_key: creds.secret_access_key.expose(),
                    session_token: creds.session_token.as_ref().map(|t| t.expose()),
                },
                &signing,
            );
            sig.apply(&mut req);
            let mut headers = HeaderMap::new();
            for (k, v) in &req.headers {
                let name = HeaderName::from_bytes(k.as_bytes())
                    .map_err(|e| CallError::Client(e.to_string()))?;
                let value =
                    HeaderValue::from_str(v).map_err(|e| CallError::Client(e.to_string()))?;
                headers.append(name, value);
            }
            let sent = self
                .http
                .post(url.clone())
                .headers(headers)
                .body(req.body)
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    // A connection that never opened cannot have consumed an MFA code.
                    let never_arrived = e.is_connect();
                    let may_retry = !mfa || never_arrived;
                    if attempt < self.settings.max_attempts && may_retry {
                        self.backoff(attempt).await;
                        continue;
                    }
                    return Err(if e.is_timeout() {
                        CallError::Timeout {
                            action,
                            url: url.to_string(),
                            timeout: self.settings.attempt_timeout,
                            attempts: attempt,
                        }
                    } else {
                        CallError::Unreachable {
                            action,
                            url: url.to_string(),
                            reason: transport_reason(&e),
                            attempts: attempt,
                            endpoint_from: self.endpoint.from.to_string(),
                        }
                    });
                }
            };
            let status = response.status().as_u16();
            let date = response
                .headers()
                .get(DATE)
                .and_then(|d| d.to_str().ok())
                .map(str::to_string);
            let text = match response.text().await {
                Ok(t) => t,
                Err(e) => {
                    if attempt < self.settings.max_attempts && !mfa {
                        self.backoff(attempt).await;
                        continue;
                    }
                    return Err(if e.is_timeout() {
                        CallError::Timeout {
                            action,
                            url: url.to_string(),
                            timeout: self.settings.attempt_timeout,
                            attempts: attempt,
                        }
                    } else {
                        CallError::Unreachable {
                            action,
                            url: url.to_string(),
                            reason: transport_reason(&e),
                            attempts: attempt,
                            endpoint_from: self.endpoint.from.to_string(),
                        }
                    });
                }
            };
            if (200..300).contains(&status) {
                return Ok(Answer {
                    body: text,
                    attempts: attempt,
                    clock_skew: skew_corrected,
                });
            }
            let error = sts::parse_error(status, &text);
            if error.kind() == sts::ErrorKind::ClockSkew && skew_corrected.is_none() {
                // Signature checks come before anything else, so the code was not used: retry once
                // with the server's clock.
                if let Some(skew) = date
                    .as_deref()
                    .and_then(|d| sts::skew_from_date(UtcTime::now(), d))
                {
                    self.clock_offset.store(skew, Ordering::Relaxed);
                    skew_corrected = Some(skew);
                    attempt -= 1;
                    continue;
                }
            }
            let retryable = retry::is_retryable(Failure::Http {
                status,
                code: error.code.as_deref(),
            });
            if retryable && !mfa && attempt < self.settings.max_attempts {
                self.backoff(attempt).await;
                continue;
            }
            return Err(CallError::Service {
                action,
                url: url.to_string(),
                error,
                attempts: attempt,
            });
        }
    }

    /// GetCallerIdentity.
    pub async fn caller_identity(
        &self,
        creds: &Credentials,
    ) -> Result<(sts::CallerIdentity, Answer), CallError> {
        let answer = self.call(creds, &sts::Request::GetCallerIdentity).await?;
        Ok((sts::parse_caller_identity(&answer.body)?, answer))
    }

    /// A call that returns credentials: GetSessionToken, AssumeRole or GetFederationToken.
    pub async fn credentials(
        &self,
        creds: &Credentials,
        request: &sts::Request,
    ) -> Result<(Credentials, Answer), CallError> {
        let answer = self.call(creds, request).await?;
        Ok((
            sts::parse_credentials(request.action(), &answer.body)?,
            answer,
        ))
    }

    /// DecodeAuthorizationMessage: the decoded JSON text.
    pub async fn decode_message(
        &self,
        creds: &Credentials,
        encoded: &str,
    ) -> Result<(String, Answer), CallError> {
        let answer = self
            .call(
                creds,
                &sts::Request::DecodeAuthorizationMessage {
                    encoded_message: encoded.to_string(),
                },
            )
            .await?;
        Ok((sts::parse_decoded_message(&answer.body)?, answer))
    }

    async fn backoff(&self, attempt: u32) {
        tokio::time::sleep(retry::backoff(attempt, fastrand::f64())).await;
    }

    /// The clock offset learned so far (seconds, server minus local).
    pub fn clock_offset(&self) -> i64 {
        self.clock_offset.load(Ordering::Relaxed)
    }
}

/// The innermost cause of a transport error, which is the one that tells the user something
/// ("Connection refused", "dns error: …").
fn transport_reason(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Describes a clock skew for the user: "your clock is 10m05s behind STS".
pub fn describe_skew(skew: i64) -> String {
    let direction = if skew > 0 { "behind" } else { "ahead of" };
    format!(
        "your system clock is {} {direction} STS's; awsenv corrected for it this time, but set the clock right (timedatectl set-ntp true), as other tools will fail",
        human_duration(skew.abs())
    )
}
