//! `awsenv curl PROFILE [-X METHOD] [-H 'Name: value']… [-d DATA] URL`: signs an HTTP request with
//! the profile's credentials (SigV4, header form) and sends it, printing the answer's body. The
//! service and region come from the host name (`--service`, `--region` override them); `--explain`
//! prints the canonical request and the string to sign, to compare with what a
//! `SignatureDoesNotMatch` error says AWS expected.
//!
//! The signing time is the clock's, or `AWSENV_SIGNING_TIME` (RFC 3339 or `YYYYMMDDTHHMMSSZ`), a
//! hidden setting for tests that compare signatures with other signers.

use std::io::{Read as _, Write as _};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context as _};

use super::{setup, Context, Run};
use crate::core::credentials::Credentials;
use crate::core::plan;
use crate::core::service_host;
use crate::core::sigv4::{self, HttpRequest, Signature, SigningParams};
use crate::core::time::UtcTime;
use crate::edge::aws_files;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  awsenv curl dev https://sts.eu-west-1.amazonaws.com/ -d 'Action=GetCallerIdentity&Version=2011-06-15'\n  awsenv curl dev -X POST -H 'Content-Type: application/json' -d @body.json https://abc123.execute-api.eu-west-1.amazonaws.com/prod/items\n  awsenv curl dev --explain https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08"
)]
pub struct Args {
    /// The profile whose credentials sign the request
    #[arg(add = clap_complete::ArgValueCompleter::new(super::completions::profile_names))]
    profile: String,
    /// The URL
    url: String,
    /// The HTTP method (default: GET, or POST with --data)
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    method: Option<String>,
    /// A header, `Name: value` (repeatable); every header given is signed
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// The body; `@FILE` reads a file as it is, `@-` standard input. Without a Content-Type header,
    /// sent as application/x-www-form-urlencoded (as curl does)
    #[arg(
        short = 'd',
        long = "data",
        visible_alias = "data-binary",
        value_name = "DATA"
    )]
    data: Option<String>,
    #[command(flatten)]
    scope: ScopeArgs,
    /// Print the response's status line and headers before its body
    #[arg(short = 'i', long)]
    include: bool,
    /// Exit with status 22 when the answer is an HTTP error (400 or above), as curl --fail does
    #[arg(short = 'f', long)]
    fail: bool,
    /// Print the canonical request and the string to sign on stderr
    #[arg(long)]
    explain: bool,
    /// Get the credentials in this process instead of through the awsenv daemon
    #[arg(long)]
    no_daemon: bool,
}

/// The signing scope, when the host does not tell it (or tells it wrong).
#[derive(Debug, Clone, clap::Args)]
pub struct ScopeArgs {
    /// The SigV4 service name (default: from the host, e.g. `sts` for sts.eu-west-1.amazonaws.com)
    #[arg(long)]
    pub service: Option<String>,
    /// The SigV4 region (default: from the host, else the profile's region, else us-east-1)
    #[arg(long)]
    pub region: Option<String>,
}

impl ScopeArgs {
    /// The service and region for `host`: the options, else the host name, else (region only) the
    /// profile's region.
    pub fn resolve(
        &self,
        ctx: &Context,
        profile: &str,
        host: &str,
    ) -> anyhow::Result<(String, String)> {
        let inferred = service_host::infer(host);
        let service = match (&self.service, &inferred) {
            (Some(s), _) => s.clone(),
            (None, Some(scope)) => scope.service.clone(),
            (None, None) => bail!(
                "cannot tell the AWS service from the host `{host}` — name it with --service (e.g. --service execute-api)"
            ),
        };
        let region = match (&self.region, &inferred) {
            (Some(r), _) => r.clone(),
            (None, Some(scope)) => scope.region.clone(),
            (None, None) => profile_region(ctx, profile),
        };
        Ok((service, region))
    }
}

/// The profile's region (environment, then profile), else us-east-1.
fn profile_region(ctx: &Context, profile: &str) -> String {
    let from_env = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|v| ctx.env.non_empty(v))
        .filter(|_| ctx.env.non_empty("AWSENV_PROFILE").is_none());
    if let Some(r) = from_env {
        return r.to_string();
    }
    aws_files::load(&ctx.env)
        .ok()
        .and_then(|l| {
            l.profiles
                .profile(profile)
                .and_then(|p| p.get("region"))
                .map(str::to_string)
        })
        .unwrap_or_else(|| plan::DEFAULT_REGION.to_string())
}

/// The signing time: `AWSENV_SIGNING_TIME` when set (for tests), else now.
pub fn signing_time(ctx: &Context) -> anyhow::Result<UtcTime> {
    match ctx.env.non_empty("AWSENV_SIGNING_TIME") {
        None => Ok(UtcTime::now()),
        Some(t) => parse_amz_or_rfc3339(t).ok_or_else(|| {
            anyhow!("AWSENV_SIGNING_TIME={t} is neither RFC 3339 nor YYYYMMDDTHHMMSSZ")
        }),
    }
}

fn parse_amz_or_rfc3339(t: &str) -> Option<UtcTime> {
    if let Some(u) = UtcTime::parse_rfc3339(t) {
        return Some(u);
    }
    let b = t.as_bytes();
    if b.len() == 16 && b[8] == b'T' && b[15] == b'Z' {
        let s = format!(
            "{}-{}-{}T{}:{}:{}Z",
            &t[0..4],
            &t[4..6],
            &t[6..8],
            &t[9..11],
            &t[11..13],
            &t[13..15]
        );
        return UtcTime::parse_rfc3339(&s);
    }
    None
}

/// The credentials as the signer takes them.
pub fn signer_credentials(c: &Credentials) -> sigv4::Credentials<'_> {
    sigv4::Credentials {
        access_key_id: &c.access_key_id,
        secret_access_key: c.secret_access_key.expose(),
        session_token: c.session_token.as_ref().map(|t| t.expose()),
    }
}

/// The `--explain` text: the canonical request (the session token's value left out: it is a
/// secret) and the string to sign.
pub fn explain(sig: &Signature, token: Option<&str>) -> String {
    let mut canonical = sig.canonical_request.clone();
    if let Some(t) = token.filter(|t| !t.is_empty()) {
        canonical = canonical.replace(
            t,
            &format!("<session token, {} characters, left out here>", t.len()),
        );
    }
    format!(
        "Canonical request:\n{canonical}\n\nString to sign:\n{}\n\nSignature: {}\n",
        sig.string_to_sign, sig.signature
    )
}

/// `host` or `host:port` as the `Host` header carries it (no default port).
pub fn host_header(url: &reqwest::Url) -> anyhow::Result<String> {
    let host = url
        .host_str()
        .ok_or_else(|| anyhow!("the URL {url} has no host"))?;
    Ok(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

/// The request target as it goes on the request line.
pub fn path_and_query(url: &reqwest::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

fn read_data(data: &str) -> anyhow::Result<Vec<u8>> {
    match data.strip_prefix('@') {
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read the body from standard input")?;
            Ok(buf)
        }
        Some(path) => {
            std::fs::read(path).with_context(|| format!("cannot read the body from {path}"))
        }
        None => Ok(data.as_bytes().to_vec()),
    }
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let url = reqwest::Url::parse(&self.url)
            .with_context(|| format!("`{}` is not a URL", self.url))?;
        let host = host_header(&url)?;
        let (service, region) = self.scope.resolve(ctx, &self.profile, &host)?;
        let body = match &self.data {
            Some(d) => read_data(d)?,
            None => Vec::new(),
        };
        let method = self
            .method
            .clone()
            .unwrap_or_else(|| if self.data.is_some() { "POST" } else { "GET" }.into())
            .to_ascii_uppercase();
        let mut headers = vec![("Host".to_string(), host.clone())];
        for h in &self.headers {
            let (name, value) = h
                .split_once(':')
                .ok_or_else(|| anyhow!("-H `{h}`: write a header as `Name: value`"))?;
            let name = name.trim();
            if name.eq_ignore_ascii_case("host") {
                headers[0].1 = value.trim().to_string();
                continue;
            }
            headers.push((name.to_string(), value.trim().to_string()));
        }
        if self.data.is_some()
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        let time = signing_time(ctx)?;
        let h = setup::credentials(
            ctx,
            &self.profile,
            crate::engine::Want::default(),
            None,
            self.no_daemon,
        )?;
        let mut req = HttpRequest {
            method: method.clone(),
            path_and_query: path_and_query(&url),
            headers,
            body,
        };
        let params = SigningParams::new(&region, &service, time);
        let creds = signer_credentials(&h.credentials);
        let sig = sigv4::sign_headers(&req, &creds, &params);
        if self.explain {
            eprint!("{}", explain(&sig, creds.session_token));
        }
        sig.apply(&mut req);
        let (status, reason, response_headers, answer) =
            super::direct::block_on(send(&url, &req))??;
        let mut out = std::io::stdout().lock();
        if self.include {
            writeln!(out, "HTTP/1.1 {status} {reason}")?;
            for (k, v) in &response_headers {
                writeln!(out, "{k}: {v}")?;
            }
            writeln!(out)?;
        }
        out.write_all(&answer)?;
        out.flush()?;
        if self.fail && status >= 400 {
            return Ok(ExitCode::from(22));
        }
        Ok(ExitCode::SUCCESS)
    }
}

type Answer = (u16, String, Vec<(String, String)>, Vec<u8>);

/// Sends the signed request exactly as signed.
async fn send(url: &reqwest::Url, req: &HttpRequest) -> anyhow::Result<Answer> {
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
    let http = reqwest::Client::builder()
        .user_agent(crate::edge::sts_client::USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut headers = HeaderMap::new();
    for (k, v) in &req.headers {
        headers.append(
            HeaderName::from_bytes(k.as_bytes()).with_context(|| format!("header name `{k}`"))?,
            HeaderValue::from_str(v).with_context(|| format!("the value of header `{k}`"))?,
        );
    }
    let method = reqwest::Method::from_bytes(req.method.as_bytes())
        .with_context(|| format!("`{}` is not an HTTP method", req.method))?;
    let response = http
        .request(method, url.clone())
        .headers(headers)
        .body(req.body.clone())
        .send()
        .await
        .with_context(|| format!("cannot send the request to {url}"))?;
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response.bytes().await?.to_vec();
    Ok((
        status.as_u16(),
        status.canonical_reason().unwrap_or("").to_string(),
        headers,
        body,
    ))
}
