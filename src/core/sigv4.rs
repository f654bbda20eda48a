//! AWS Signature Version 4, as a pure function: a request, credentials and a time go in; the canonical
//! request, the string to sign, the signature and the headers (or presigned request target) to put on
//! the wire come out. Nothing here reads the clock, the environment or the network, so the STS client,
//! `awsenv curl` and `awsenv presign` all share one signer that the official test suite
//! (`tests/sigv4_conformance.rs`) and botocore (`tests/sigv4_botocore.rs`) check byte for byte.
//!
//! Two forms are supported: [`sign_headers`] (an `Authorization` header) and [`presign`] (the
//! `X-Amz-*` query parameters of a presigned URL). The signing key depends only on the secret, the day,
//! the region and the service, so callers that sign often can derive a [`SigningKey`] once a day and use
//! [`sign_headers_with_key`] / [`presign_with_key`].

use std::borrow::Cow;
use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::core::time::UtcTime;

/// The only algorithm this signer speaks.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// SHA-256 of the empty string: the payload hash of a request without a body.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The payload hash S3 accepts in place of a real one (presigned URLs, streamed uploads).
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Headers never signed: `authorization` is what we produce, the rest are hop-by-hop headers or
/// headers that proxies and HTTP clients rewrite, so signing them would break requests in transit.
/// The list is botocore's (`SIGNED_HEADERS_BLACKLIST`), so both sign the same set.
const UNSIGNED_HEADERS: &[&str] = &[
    "authorization",
    "baggage",
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "traceparent",
    "tracestate",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "x-amzn-trace-id",
];

/// The key pair (and, for temporary credentials, the session token) a request is signed with.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
}

impl fmt::Debug for Credentials<'_> {
    // By hand, so that neither the secret nor the token can end up in a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &self.session_token.map(|_| "<redacted>"))
            .finish()
    }
}

/// Where and when a request is signed, and the service-specific rules to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigningParams<'a> {
    pub region: &'a str,
    pub service: &'a str,
    /// The signing time; it becomes `X-Amz-Date` and the day of the credential scope.
    pub time: UtcTime,
    /// The path rules of every service but S3: remove `.`/`..` segments and empty segments (`//`),
    /// then percent-encode the wire path once more ("double encoding"). When false (S3), the wire path
    /// is signed as it is, segments and existing `%XX` escapes untouched; only bytes that may not
    /// appear raw in a path (space, non-ASCII, …) are encoded, as an HTTP client would send them.
    pub normalize_path: bool,
    /// Header form only: add a signed `x-amz-content-sha256` header with the payload hash (S3 needs it).
    pub sign_body_header: bool,
    /// Send the session token without signing it: added after signing (header or query parameter).
    /// A few services (IoT's MQTT gateway) want it that way; everything else signs it.
    pub omit_session_token: bool,
    /// Use `UNSIGNED-PAYLOAD` instead of the body's SHA-256 (S3 presigned URLs and streamed uploads).
    /// An `x-amz-content-sha256` header already on the request wins over both, unless
    /// `sign_body_header` replaces it.
    pub unsigned_payload: bool,
}

impl<'a> SigningParams<'a> {
    /// The usual parameters for `service`: S3 keeps its paths as they are and wants the
    /// `x-amz-content-sha256` header; every other service normalizes paths.
    pub fn new(region: &'a str, service: &'a str, time: UtcTime) -> Self {
        let s3 = service == "s3";
        SigningParams {
            region,
            service,
            time,
            normalize_path: !s3,
            sign_body_header: s3,
            omit_session_token: false,
            unsigned_payload: false,
        }
    }
}

/// The parts of an HTTP request that SigV4 covers.
///
/// `path_and_query` is the request target exactly as it goes on the request line (origin form, e.g.
/// `/a%20b?x=1`); the signer encodes what needs encoding itself. `headers` keep their order and may
/// repeat a name; the request must carry its `Host` header, which every SigV4 request signs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpRequest {
    // By hand: after signing, a request carries the session token and the signature, and a body can
    // carry an MFA code. None of them belongs in a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let secret = name.eq_ignore_ascii_case("authorization")
                    || name.eq_ignore_ascii_case("x-amz-security-token");
                (name.as_str(), if secret { "<redacted>" } else { value })
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("path_and_query", &redact_query(&self.path_and_query))
            .field("headers", &headers)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

/// Hides the values of the presigned-URL parameters that grant access.
fn redact_query(path_and_query: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else {
        return path_and_query.to_owned();
    };
    let params: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _))
                if name.eq_ignore_ascii_case("X-Amz-Security-Token")
                    || name.eq_ignore_ascii_case("X-Amz-Signature") =>
            {
                format!("{name}=<redacted>")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", params.join("&"))
}

/// The result of signing: the intermediate strings (for debugging and for the conformance suite) and
/// what to change on the request.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature {
    pub canonical_request: String,
    pub string_to_sign: String,
    /// Lower-case hex HMAC-SHA256 of the string to sign.
    pub signature: String,
    /// Header form: the headers to add, in this order (`X-Amz-Security-Token`, `X-Amz-Date`,
    /// `x-amz-content-sha256`, `Authorization`, each only when it applies). Query form: empty.
    pub headers: Vec<(String, String)>,
    /// Query form: the signed request target, the original one with the `X-Amz-*` parameters
    /// appended. Header form: the original request target.
    pub path_and_query: String,
}

impl Signature {
    /// The `Authorization` header value (header form only).
    pub fn authorization(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(name, _)| name == "Authorization")
            .map(|(_, value)| value.as_str())
    }

    /// Puts the signature on `req`: replaces any header of the same name, sets the request target.
    pub fn apply(&self, req: &mut HttpRequest) {
        for (name, value) in &self.headers {
            req.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            req.headers.push((name.clone(), value.clone()));
        }
        req.path_and_query.clone_from(&self.path_and_query);
    }
}

impl fmt::Debug for Signature {
    // By hand: the signature, the canonical request (which can hold the session token) and a presigned
    // target are bearer material; the string to sign only holds a hash of the request.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Signature")
            .field("string_to_sign", &self.string_to_sign)
            .field("signature", &"<redacted>")
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

/// The derived key `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request")`,
/// with the scope it is valid for. Cache it per (secret, day, region, service) to skip four HMACs.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    day: String,
    region: String,
    service: String,
    key: [u8; 32],
}

impl SigningKey {
    /// Derives the key for the day of `time` (UTC), `region` and `service`.
    pub fn derive(secret_access_key: &str, time: UtcTime, region: &str, service: &str) -> Self {
        let day = time.amz_day();
        let mut secret = Vec::with_capacity(4 + secret_access_key.len());
        secret.extend_from_slice(b"AWS4");
        secret.extend_from_slice(secret_access_key.as_bytes());
        let k_date = hmac_sha256(&secret, day.as_bytes());
        let k_region = hmac_sha256(&k_date, region.as_bytes());
        let k_service = hmac_sha256(&k_region, service.as_bytes());
        let key = hmac_sha256(&k_service, b"aws4_request");
        SigningKey {
            day,
            region: region.to_owned(),
            service: service.to_owned(),
            key,
        }
    }

    /// True when this key signs requests made with `params` (same day, region and service).
    pub fn matches(&self, params: &SigningParams) -> bool {
        self.region == params.region
            && self.service == params.service
            && self.day == params.time.amz_day()
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.key
    }
}

impl fmt::Debug for SigningKey {
    // The key signs anything in its scope for a whole day: as secret as the secret key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("day", &self.day)
            .field("region", &self.region)
            .field("service", &self.service)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Signs `req` in header form: the result's `headers` carry `X-Amz-Date`, the session token and
/// `Authorization`.
pub fn sign_headers(req: &HttpRequest, creds: &Credentials, params: &SigningParams) -> Signature {
    let key = SigningKey::derive(
        creds.secret_access_key,
        params.time,
        params.region,
        params.service,
    );
    sign(req, creds, params, &key, Form::Headers)
}

/// [`sign_headers`] with a cached key. A key for another day, region or service is not used: a fresh
/// one is derived from `creds`, so a stale cache costs time, never a wrong signature.
pub fn sign_headers_with_key(
    req: &HttpRequest,
    creds: &Credentials,
    params: &SigningParams,
    key: &SigningKey,
) -> Signature {
    with_matching_key(creds, params, key, |key| {
        sign(req, creds, params, key, Form::Headers)
    })
}

/// Signs `req` in query form (a presigned URL valid for `expires_in_secs`; AWS accepts up to 7 days).
/// The result's `path_and_query` is the target to use; no header is added.
pub fn presign(
    req: &HttpRequest,
    creds: &Credentials,
    params: &SigningParams,
    expires_in_secs: u64,
) -> Signature {
    let key = SigningKey::derive(
        creds.secret_access_key,
        params.time,
        params.region,
        params.service,
    );
    sign(req, creds, params, &key, Form::Query { expires_in_secs })
}

/// [`presign`] with a cached key; see [`sign_headers_with_key`] for a key that does not match.
pub fn presign_with_key(
    req: &HttpRequest,
    creds: &Credentials,
    params: &SigningParams,
    expires_in_secs: u64,
    key: &SigningKey,
) -> Signature {
    with_matching_key(creds, params, key, |key| {
        sign(req, creds, params, key, Form::Query { expires_in_secs })
    })
}

fn with_matching_key<T>(
    creds: &Credentials,
    params: &SigningParams,
    key: &SigningKey,
    f: impl FnOnce(&SigningKey) -> T,
) -> T {
    if key.matches(params) {
        f(key)
    } else {
        f(&SigningKey::derive(
            creds.secret_access_key,
            params.time,
            params.region,
            params.service,
        ))
    }
}

#[derive(Clone, Copy)]
enum Form {
    Headers,
    Query { expires_in_secs: u64 },
}

fn sign(
    req: &HttpRequest,
    creds: &Credentials,
    params: &SigningParams,
    key: &SigningKey,
    form: Form,
) -> Signature {
    let amz_date = params.time.amz_date();
    let scope = format!(
        "{}/{}/{}/aws4_request",
        params.time.amz_day(),
        params.region,
        params.service
    );
    let token = creds.session_token;
    let sign_token = token.filter(|_| !params.omit_session_token);
    let header_form = matches!(form, Form::Headers);
    let body_header = header_form && params.sign_body_header;

    // In header form the signer owns these headers: copies already on the request are replaced.
    let replaced = |lname: &str| {
        header_form
            && (lname == "x-amz-date"
                || (lname == "x-amz-security-token" && token.is_some())
                || (lname == "x-amz-content-sha256" && body_header))
    };

    // The payload hash: the one in the header we add; else a caller-supplied x-amz-content-sha256
    // (S3 streaming and the like), which is what the service compares with, as botocore does; else
    // UNSIGNED-PAYLOAD if asked; else the body's SHA-256.
    let supplied_hash = req
        .headers
        .iter()
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("x-amz-content-sha256"))
        .map(|(_, v)| collapse_whitespace(v));
    let payload_hash = match supplied_hash {
        Some(hash) if !body_header => hash,
        _ if params.unsigned_payload => UNSIGNED_PAYLOAD.to_owned(),
        _ => hex(&Sha256::digest(&req.body)),
    };

    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value))
        .filter(|(lname, _)| !UNSIGNED_HEADERS.contains(&lname.as_str()) && !replaced(lname))
        .map(|(lname, value)| (lname, collapse_whitespace(value)))
        .collect();
    if header_form {
        headers.push(("x-amz-date".to_owned(), amz_date.clone()));
        if let Some(token) = sign_token {
            headers.push(("x-amz-security-token".to_owned(), token.to_owned()));
        }
        if body_header {
            headers.push(("x-amz-content-sha256".to_owned(), payload_hash.clone()));
        }
    }
    // Stable: the values of a repeated header keep their order.
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let (canonical_headers, signed_headers) = canonical_headers(&headers);

    let (path, query) = match req.path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (req.path_and_query.as_str(), None),
    };
    let mut query_params = parse_query(query.unwrap_or(""));
    // The X-Amz-* parameters of a presigned URL, encoded, in the order botocore and aws-c-auth append
    // them to the URL.
    let mut added_params: Vec<(&str, String)> = Vec::new();
    if let Form::Query { expires_in_secs } = form {
        let credential = format!("{}/{scope}", creds.access_key_id);
        added_params.push(("X-Amz-Algorithm", ALGORITHM.to_owned()));
        added_params.push(("X-Amz-Credential", encode(credential.as_bytes(), false)));
        added_params.push(("X-Amz-Date", amz_date.clone()));
        added_params.push((
            "X-Amz-SignedHeaders",
            encode(signed_headers.as_bytes(), false),
        ));
        added_params.push(("X-Amz-Expires", expires_in_secs.to_string()));
        if let Some(token) = token {
            added_params.push(("X-Amz-Security-Token", encode(token.as_bytes(), false)));
        }
        for (name, value) in &added_params {
            if *name != "X-Amz-Security-Token" || sign_token.is_some() {
                query_params.push((Cow::Borrowed(*name), Cow::Borrowed(value.as_str())));
            }
        }
    }
    query_params.sort_unstable();

    // One allocation for the usual request; longer ones grow as needed.
    let mut canonical_request = String::with_capacity(1024);
    canonical_request.push_str(&req.method);
    canonical_request.push('\n');
    push_canonical_uri(&mut canonical_request, path, params.normalize_path);
    canonical_request.push('\n');
    for (i, (name, value)) in query_params.iter().enumerate() {
        if i > 0 {
            canonical_request.push('&');
        }
        canonical_request.push_str(name);
        canonical_request.push('=');
        canonical_request.push_str(value);
    }
    canonical_request.push('\n');
    canonical_request.push_str(&canonical_headers);
    canonical_request.push('\n');
    canonical_request.push_str(&signed_headers);
    canonical_request.push('\n');
    canonical_request.push_str(&payload_hash);

    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let signature = hex(&hmac_sha256(&key.key, string_to_sign.as_bytes()));

    let mut out_headers = Vec::new();
    let mut path_and_query = req.path_and_query.clone();
    match form {
        Form::Headers => {
            if let Some(token) = token {
                out_headers.push(("X-Amz-Security-Token".to_owned(), token.to_owned()));
            }
            out_headers.push(("X-Amz-Date".to_owned(), amz_date));
            if body_header {
                out_headers.push(("x-amz-content-sha256".to_owned(), payload_hash));
            }
            out_headers.push((
                "Authorization".to_owned(),
                format!(
                    "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
                    creds.access_key_id
                ),
            ));
        }
        Form::Query { .. } => {
            if query.is_none() {
                path_and_query.push('?');
            } else if !path_and_query.ends_with(['?', '&']) {
                path_and_query.push('&');
            }
            for (name, value) in &added_params {
                path_and_query.push_str(name);
                path_and_query.push('=');
                path_and_query.push_str(value);
                path_and_query.push('&');
            }
            path_and_query.push_str("X-Amz-Signature=");
            path_and_query.push_str(&signature);
        }
    }

    Signature {
        canonical_request,
        string_to_sign,
        signature,
        headers: out_headers,
        path_and_query,
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Lower-case hex, as SigV4 writes hashes and signatures.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 encoding as SigV4 wants it: unreserved bytes kept, everything else `%XX` upper-case;
/// `/` kept too when `keep_slash` (paths).
fn encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    encode_into(&mut out, bytes, keep_slash);
    out
}

fn encode_into(out: &mut String, bytes: &[u8], keep_slash: bool) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(DIGITS[usize::from(b >> 4)] as char);
            out.push(DIGITS[usize::from(b & 0x0f)] as char);
        }
    }
}

/// Decodes `%XX` escapes. A `%` not followed by two hex digits stays a literal `%`, and `+` stays `+`
/// (RFC 3986 has no space-as-plus; servers that sign see the same bytes).
fn percent_decode(s: &str) -> Vec<u8> {
    fn nibble(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(nibble),
                bytes.get(i + 2).copied().and_then(nibble),
            ) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Appends the canonical URI of a wire path; see [`SigningParams::normalize_path`].
fn push_canonical_uri(out: &mut String, path: &str, normalize: bool) {
    if path.is_empty() {
        out.push('/');
    } else if normalize {
        encode_into(out, remove_dot_segments(path).as_bytes(), true);
    } else {
        push_keeping_escapes(out, path);
    }
}

/// Like [`encode_into`] with `/` kept, but a valid `%XX` escape stays as it is: S3 signs the path the
/// client sent (botocore and the Rust SDK sign it verbatim), and `%2F` in a key is not a `/`.
fn push_keeping_escapes(out: &mut String, path: &str) {
    let bytes = path.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if escape {
            encode_into(out, &bytes[start..i], true);
            out.push('%');
            start = i + 1;
        }
    }
    encode_into(out, &bytes[start..], true);
}

/// RFC 3986 dot-segment removal plus the AWS rule that empty segments (`//`) go too. A trailing `/`
/// survives, one after a final `.` or `..` does not — botocore's `remove_dot_segments` exactly.
fn remove_dot_segments(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    out.push('/');
    out.push_str(&segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    out
}

/// Splits a raw query into (encoded name, encoded value) pairs, each decoded first so that any
/// spelling of the same bytes signs the same. `k` and `k=` both become `k=`; empty pieces (`&&`) go.
fn parse_query(query: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (canonical_component(name), canonical_component(value))
        })
        .collect()
}

/// A query component decoded and encoded strictly; borrowed when it already is canonical.
fn canonical_component(raw: &str) -> Cow<'_, str> {
    if raw.bytes().all(is_unreserved) {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(encode(&percent_decode(raw), false))
    }
}

/// Header values are trimmed and each inner run of whitespace (line folds included) becomes one space.
fn collapse_whitespace(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for word in value
        .split([' ', '\t', '\r', '\n', '\x0b', '\x0c'])
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// From headers sorted by lower-case name: the canonical header block (each line ending in `\n`, the
/// values of a repeated name joined by `,`) and the `;`-separated signed header list.
fn canonical_headers(sorted: &[(String, String)]) -> (String, String) {
    let mut block = String::new();
    let mut names = String::new();
    let mut previous: Option<&str> = None;
    for (name, value) in sorted {
        if previous == Some(name.as_str()) {
            block.push(',');
        } else {
            if previous.is_some() {
                block.push('\n');
                names.push(';');
            }
            block.push_str(name);
            block.push(':');
            names.push_str(name);
            previous = Some(name);
        }
        block.push_str(value);
    }
    if previous.is_some() {
        block.push('\n');
    }
    (block, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn time() -> UtcTime {
        UtcTime::parse_rfc3339("2015-08-30T12:36:00Z").unwrap()
    }

    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(encode(b"-._~azAZ09", false), "-._~azAZ09");
        assert_eq!(encode(b"a b/c+d=e&f%", false), "a%20b%2Fc%2Bd%3De%26f%25");
        assert_eq!(encode(b"/a b/", true), "/a%20b/");
        assert_eq!(encode("ሴ".as_bytes(), false), "%E1%88%B4");
    }

    #[test]
    fn decodes_valid_escapes_only() {
        assert_eq!(percent_decode("%E1%88%b4"), "ሴ".as_bytes());
        assert_eq!(percent_decode("a+b"), b"a+b");
        assert_eq!(percent_decode("100%"), b"100%");
        assert_eq!(percent_decode("%zz%4"), b"%zz%4");
    }

    #[test]
    fn removes_dot_and_empty_segments() {
        for (raw, want) in [
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/../../a", "/a"),
            ("//example//", "/example/"),
            ("/a/./b/../c/", "/a/c/"),
            ("/a/b/..", "/a"),
            ("/a/.", "/a"),
            ("/a/...", "/a/..."),
        ] {
            assert_eq!(remove_dot_segments(raw), want, "{raw}");
        }
    }

    fn canonical_uri(path: &str, normalize: bool) -> String {
        let mut out = String::new();
        push_canonical_uri(&mut out, path, normalize);
        out
    }

    #[test]
    fn canonical_uri_double_encodes_unless_s3() {
        assert_eq!(canonical_uri("", true), "/");
        assert_eq!(canonical_uri("", false), "/");
        assert_eq!(canonical_uri("/a%20b/ሴ", true), "/a%2520b/%E1%88%B4");
        assert_eq!(canonical_uri("/a%20b/ሴ", false), "/a%20b/%E1%88%B4");
        assert_eq!(
            canonical_uri("/a%7e/./b%2F//c d", false),
            "/a%7e/./b%2F//c%20d"
        );
        assert_eq!(canonical_uri("/100%/%z%4", false), "/100%25/%25z%254");
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted_by_encoded_bytes() {
        let mut q = parse_query("b=2&a=&%E1%88%B4=x&a=1&&c&P=%2f");
        q.sort();
        assert!(
            matches!(q[4].0, Cow::Borrowed(_)),
            "canonical pieces are not copied"
        );
        let joined: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(joined, ["%E1%88%B4=x", "P=%2F", "a=", "a=1", "b=2", "c="]);
    }

    #[test]
    fn collapses_header_whitespace_and_line_folds() {
        assert_eq!(collapse_whitespace("  a   b\t c  "), "a b c");
        assert_eq!(
            collapse_whitespace("value1\n  value2\n     value3"),
            "value1 value2 value3"
        );
        assert_eq!(collapse_whitespace("   "), "");
        assert_eq!(collapse_whitespace("\"a   b   c\""), "\"a b c\"");
    }

    #[test]
    fn joins_repeated_headers_in_order() {
        let headers = vec![
            ("host".to_owned(), "h".to_owned()),
            ("my".to_owned(), "2".to_owned()),
            ("my".to_owned(), "1".to_owned()),
        ];
        let (block, names) = canonical_headers(&headers);
        assert_eq!(block, "host:h\nmy:2,1\n");
        assert_eq!(names, "host;my");
    }

    #[test]
    fn derives_the_documented_signing_key() {
        // The worked example of the AWS General Reference (IAM, us-east-1, 2012-02-15).
        let t = UtcTime::parse_rfc3339("2012-02-15T00:00:00Z").unwrap();
        let key = SigningKey::derive(SECRET, t, "us-east-1", "iam");
        assert_eq!(
            hex(key.as_bytes()),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn stale_cached_key_is_not_used() {
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: SECRET,
            session_token: None,
        };
        let req = HttpRequest {
            method: "GET".into(),
            path_and_query: "/".into(),
            headers: vec![("Host".into(), "example.amazonaws.com".into())],
            body: Vec::new(),
        };
        let params = SigningParams::new("us-east-1", "service", time());
        let stale = SigningKey::derive(SECRET, time().plus_seconds(-86400), "us-east-1", "service");
        assert!(!stale.matches(&params));
        let fresh = sign_headers(&req, &creds, &params);
        assert_eq!(sign_headers_with_key(&req, &creds, &params, &stale), fresh);
        assert_eq!(
            fresh.signature,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn header_form_replaces_signer_owned_headers_and_skips_unsigned_ones() {
        let creds = Credentials {
            access_key_id: "AKID",
            secret_access_key: SECRET,
            session_token: Some("tok"),
        };
        let mut req = HttpRequest {
            method: "POST".into(),
            path_and_query: "/".into(),
            headers: vec![
                ("Host".into(), "sts.amazonaws.com".into()),
                ("X-Amz-Date".into(), "19990101T000000Z".into()),
                ("X-Amz-Security-Token".into(), "old".into()),
                ("User-Agent".into(), "awsenv".into()),
                ("Authorization".into(), "stale".into()),
            ],
            body: b"Action=GetCallerIdentity".to_vec(),
        };
        let params = SigningParams::new("us-east-1", "sts", time());
        let sig = sign_headers(&req, &creds, &params);
        assert!(sig
            .canonical_request
            .contains("\nhost;x-amz-date;x-amz-security-token\n"));
        assert!(!sig.canonical_request.contains("19990101"));
        sig.apply(&mut req);
        let names: Vec<&str> = req.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "Host",
                "User-Agent",
                "X-Amz-Security-Token",
                "X-Amz-Date",
                "Authorization"
            ]
        );
        assert_eq!(req.headers[2].1, "tok");
    }

    #[test]
    fn presign_appends_parameters_after_the_existing_query() {
        let creds = Credentials {
            access_key_id: "AKID",
            secret_access_key: SECRET,
            session_token: None,
        };
        let mut req = HttpRequest {
            method: "GET".into(),
            path_and_query: "/?Action=GetCallerIdentity".into(),
            headers: vec![("Host".into(), "sts.amazonaws.com".into())],
            body: Vec::new(),
        };
        let params = SigningParams::new("us-east-1", "sts", time());
        let sig = presign(&req, &creds, &params, 900);
        assert!(sig.headers.is_empty());
        assert!(sig.path_and_query.starts_with(
            "/?Action=GetCallerIdentity&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20150830%2F"
        ));
        assert!(sig
            .path_and_query
            .ends_with(&format!("&X-Amz-Signature={}", sig.signature)));
        req.path_and_query = "/".into();
        assert!(presign(&req, &creds, &params, 900)
            .path_and_query
            .starts_with("/?X-Amz-Algorithm="));
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: SECRET,
            session_token: Some("TOKENVALUE"),
        };
        let shown = format!("{creds:?}");
        assert!(shown.contains("AKIDEXAMPLE"));
        assert!(!shown.contains(SECRET) && !shown.contains("TOKENVALUE"));

        let key = SigningKey::derive(SECRET, time(), "us-east-1", "sts");
        assert!(!format!("{key:?}").contains(&hex(key.as_bytes())));

        let mut req = HttpRequest {
            method: "GET".into(),
            path_and_query: "/?a=1".into(),
            headers: vec![("Host".into(), "h".into())],
            body: b"TokenCode=123456".to_vec(),
        };
        let params = SigningParams::new("us-east-1", "sts", time());
        let sig = presign(&req, &creds, &params, 60);
        let shown = format!("{sig:?}");
        assert!(!shown.contains("TOKENVALUE") && !shown.contains(&sig.signature));
        sig.apply(&mut req);
        let signed = sign_headers(&req, &creds, &params);
        signed.apply(&mut req);
        let shown = format!("{req:?}");
        assert!(!shown.contains("TOKENVALUE"), "{shown}");
        assert!(!shown.contains(&sig.signature) && !shown.contains(&signed.signature));
        assert!(!shown.contains("123456"));
    }
}
