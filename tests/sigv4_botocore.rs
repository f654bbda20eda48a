//! Differential test of the SigV4 signer against botocore (`tests/peers/sigv4_botocore.py`): a seeded
//! generator builds a few thousand requests — every method, unicode and reserved characters in paths
//! and queries, escapes in any spelling, repeated and whitespace-heavy headers, line folds, bodies,
//! session tokens, regions and services including S3 — and both sides sign each one, in header form
//! (`SigV4Auth`, `S3SigV4Auth`) and as presigned URLs (`SigV4QueryAuth`, `S3SigV4QueryAuth`). All cases
//! go to one Python process in one batch; every mismatch is listed before the test fails.
//!
//! Input classes left out, because botocore deliberately (or unavoidably) does something else there:
//!
//! - A `Date` header: botocore then signs `Date` instead of adding `X-Amz-Date`.
//! - Raw query strings for botocore: its `SigV4Auth` signs a query found in the URL verbatim, trusting
//!   its own serializer to have encoded it. We canonicalize whatever spelling arrives, so botocore gets
//!   the decoded pairs (`request.params`) while we get a raw query in a random spelling (characters raw
//!   or escaped, upper- or lower-case hex, `k` or `k=`, stray `&`): the two must meet in the middle.
//! - S3 paths are given to botocore in their encoded form, because `S3SigV4Auth` signs the URL path
//!   verbatim; we get the same path with some characters raw, which we must encode identically.
//! - Presigned requests have no body (botocore moves a body into the query string), no repeated query
//!   names (it folds the query into a dict), no `Authorization` header (botocore's query form signs
//!   it; we never sign one), and never the `Content-Type` value
//!   `application/x-www-form-urlencoded; charset=utf-8` (botocore drops exactly that one).
//! - Control characters (other than folds) and Unicode whitespace in header values: Python's
//!   `str.split()` collapses `\x1c`–`\x1f`, NBSP and friends, which HTTP does not treat as whitespace;
//!   control characters in paths and queries, which `urlsplit` strips and a request line cannot carry.
//! - `omit_session_token`: botocore always signs the token (the suite covers the unsigned variant).
//! - Lower-case methods: botocore upper-cases the method it signs, while a server signs the one it got.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

use awsenv::core::sigv4::{self, Credentials, HttpRequest, SigningParams};
use awsenv::core::time::UtcTime;
use serde_json::{json, Value};

/// Change to explore other inputs; `AWSENV_SIGV4_SEED` overrides it for one run.
const SEED: u64 = 0x5349_4756_345f_6177;
const CASES: usize = 2400;

/// xorshift64*: tiny, deterministic, good enough to pick test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn range(&mut self, lo: usize, hi_inclusive: usize) -> usize {
        lo + self.below(hi_inclusive - lo + 1)
    }

    fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn pick_str(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"];
const REGIONS: &[&str] = &[
    "us-east-1",
    "eu-west-3",
    "ap-southeast-2",
    "us-gov-west-1",
    "cn-north-1",
    "af-south-1",
    "il-central-1",
];
const SERVICES: &[&str] = &[
    "sts",
    "iam",
    "ec2",
    "execute-api",
    "dynamodb",
    "lambda",
    "sqs",
    "service",
    "s3",
    "s3",
];
const WORDS: &[&str] = &[
    "a", "example", "foo-bar", "v1", "x_y.z", "~user", "Key.json", "2015",
];
const UNICODE: &[char] = &['é', 'ß', 'ø', 'Ω', 'ሴ', '日', '本', '🚀'];
/// Characters for path segments and query components: unreserved, reserved, other printable ASCII,
/// space and non-ASCII.
const ALPHABET: &[char] = &[
    'a', 'Z', '0', '9', '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=',
    ':', '@', '/', '?', '#', '[', ']', '%', ' ', '"', '<', '>', '\\', '^', '`', '{', '|', '}', 'é',
    'ß', 'ሴ', '日', '🚀',
];
const HOSTS: &[&str] = &[
    "example.amazonaws.com",
    "sts.us-east-1.amazonaws.com",
    "localhost:4566",
    "Bucket.s3.Amazonaws.com",
    "[::1]:8080",
];
const HEADER_NAMES: &[&str] = &[
    "My-Header1",
    "X-Custom-Thing",
    "Content-Type",
    "Accept",
    "X-Amz-Target",
    "x-amz-meta-Author",
    "Content-Encoding",
    "If-None-Match",
    "X-Forwarded-For",
    "Cache-Control",
];
/// Headers both signers leave unsigned (hop-by-hop, rewritten by proxies).
const UNSIGNED_NAMES: &[&str] = &[
    "User-Agent",
    "X-Amzn-Trace-Id",
    "Expect",
    "Connection",
    "Keep-Alive",
    "TE",
    "Upgrade",
    "Transfer-Encoding",
    "Traceparent",
    "Baggage",
    "Proxy-Authorization",
];
const VALUE_WORDS: &[&str] = &[
    "value",
    "VALUE1",
    "\"quoted   string\"",
    "naïve",
    "日本",
    "text/plain; charset=utf-8",
    "application/x-amz-json-1.1",
    "1,2,3",
    "=",
    "a=b;c=d",
    "*/*",
    "DynamoDB_20120810.GetItem",
];
const INNER_SPACE: &[&str] = &[" ", "  ", "\t", " \t ", "     ", "\n  ", "\r\n\t", "\n "];
const EDGE_SPACE: &[&str] = &["", "", "", " ", "  ", "\t", " \t"];
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn escape(c: char, rng: &mut Rng) -> String {
    let mut buf = [0u8; 4];
    let upper = rng.percent(70);
    c.encode_utf8(&mut buf)
        .bytes()
        .map(|b| {
            if upper {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// A decoded path segment or query component.
fn text(rng: &mut Rng, max: usize) -> String {
    if rng.percent(30) {
        return rng.pick(WORDS).to_string();
    }
    (0..rng.range(1, max))
        .map(|_| {
            if rng.percent(15) {
                *rng.pick(UNICODE)
            } else {
                *rng.pick(ALPHABET)
            }
        })
        .collect()
}

/// A non-S3 wire path, given to both sides as is: botocore and we must both normalize it and encode
/// it once more. Raw characters, valid escapes in either case and stray `%` all occur.
fn plain_path(rng: &mut Rng) -> String {
    if rng.percent(4) {
        return String::new();
    }
    let segments: Vec<String> = (0..rng.range(0, 5))
        .map(|_| match rng.below(10) {
            0 => ".".to_owned(),
            1 => "..".to_owned(),
            2 => String::new(),
            _ => text(rng, 8)
                .chars()
                .filter(|c| !matches!(c, '?' | '#' | '/'))
                .map(|c| {
                    if rng.percent(15) {
                        escape(c, rng)
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        })
        .collect();
    let mut path = format!("/{}", segments.join("/"));
    if !segments.is_empty() && rng.percent(20) {
        path.push('/');
    }
    path
}

/// An S3 path: (what botocore gets, fully encoded; what we get, some characters left raw). Segments
/// hold `/`, `%`, dots and empty pieces, all of which S3 signs as sent.
fn s3_path(rng: &mut Rng) -> (String, String) {
    let mut peer = String::new();
    let mut ours = String::new();
    for _ in 0..rng.range(1, 5) {
        peer.push('/');
        ours.push('/');
        let segment = match rng.below(10) {
            0 => ".".to_owned(),
            1 => "..".to_owned(),
            2 => String::new(),
            _ => text(rng, 8),
        };
        for c in segment.chars() {
            if is_unreserved(c) {
                peer.push(c);
                ours.push(c);
                continue;
            }
            let escaped = escape(c, rng);
            peer.push_str(&escaped);
            let upper_hex = escaped.chars().all(|c| !c.is_ascii_lowercase());
            if upper_hex && !matches!(c, '/' | '%' | '?' | '#') && rng.percent(50) {
                ours.push(c);
            } else {
                ours.push_str(&escaped);
            }
        }
    }
    if rng.percent(20) {
        peer.push('/');
        ours.push('/');
    }
    (peer, ours)
}

/// One query component in a random legal spelling: each character raw or escaped, except those that
/// would change the query's structure.
fn spell(component: &str, is_name: bool, rng: &mut Rng) -> String {
    component
        .chars()
        .map(|c| {
            let must_escape = matches!(c, '&' | '#' | '%') || (is_name && c == '=');
            if must_escape || rng.percent(40) {
                escape(c, rng)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Decoded query pairs and our raw spelling of them.
fn query(rng: &mut Rng, presign: bool) -> (Vec<(String, String)>, String) {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for _ in 0..rng.range(0, 5) {
        let name = if !presign && !pairs.is_empty() && rng.percent(20) {
            pairs[rng.below(pairs.len())].0.clone()
        } else if rng.percent(5) {
            String::new()
        } else {
            text(rng, 6)
        };
        if presign && pairs.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let value = if rng.percent(20) {
            String::new()
        } else {
            text(rng, 10)
        };
        pairs.push((name, value));
    }
    let mut raw: Vec<String> = Vec::new();
    for (name, value) in &pairs {
        if rng.percent(5) {
            raw.push(String::new()); // a stray `&`
        }
        let name = spell(name, true, rng);
        if value.is_empty() && !name.is_empty() && rng.percent(50) {
            raw.push(name);
        } else {
            raw.push(format!("{name}={}", spell(value, false, rng)));
        }
    }
    (pairs, raw.join("&"))
}

fn vary_case(name: &str, rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => name.to_ascii_lowercase(),
        1 => name.to_ascii_uppercase(),
        _ => name.to_owned(),
    }
}

fn header_value(rng: &mut Rng) -> String {
    let mut value = rng.pick(EDGE_SPACE).to_string();
    for i in 0..rng.range(0, 4) {
        if i > 0 {
            value.push_str(rng.pick_str(INNER_SPACE));
        }
        value.push_str(rng.pick_str(VALUE_WORDS));
    }
    value.push_str(rng.pick_str(EDGE_SPACE));
    value
}

fn base64ish(rng: &mut Rng, len: usize) -> String {
    (0..len).map(|_| *rng.pick(BASE64) as char).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One generated request, as we sign it and as botocore gets it.
struct Case {
    req: HttpRequest,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    region: &'static str,
    service: &'static str,
    time: i64,
    presign_expires: Option<u64>,
    peer: Value,
    classes: Vec<&'static str>,
}

fn tag(classes: &mut Vec<&'static str>, class: &'static str) {
    if !classes.contains(&class) {
        classes.push(class);
    }
}

fn generate(rng: &mut Rng) -> Case {
    let mut classes = Vec::new();
    let presign = rng.percent(30);
    let service = *rng.pick(SERVICES);
    let s3 = service == "s3";
    tag(
        &mut classes,
        if presign { "presign" } else { "header form" },
    );
    if s3 {
        tag(&mut classes, "s3");
    }

    let (peer_path, our_path) = if s3 {
        s3_path(rng)
    } else {
        let p = plain_path(rng);
        (p.clone(), p)
    };
    if our_path.contains(['.', '%']) || our_path.contains("//") {
        tag(&mut classes, "dots, escapes or empty segments in path");
    }
    if !our_path.is_ascii() {
        tag(&mut classes, "non-ASCII path");
    }
    let (pairs, raw_query) = query(rng, presign);
    if pairs.iter().any(|(n, v)| !(n.is_ascii() && v.is_ascii())) {
        tag(&mut classes, "non-ASCII query");
    }
    let mut path_and_query = our_path;
    if !raw_query.is_empty() || rng.percent(5) {
        path_and_query.push('?');
        path_and_query.push_str(&raw_query);
    }

    let mut headers: Vec<(String, String)> = Vec::new();
    let host = format!(
        "{}{}{}",
        rng.pick(EDGE_SPACE),
        rng.pick(HOSTS),
        rng.pick(EDGE_SPACE)
    );
    headers.push((vary_case("Host", rng), host));
    for _ in 0..rng.range(0, 6) {
        let name = match rng.below(12) {
            0 | 1 => rng.pick(UNSIGNED_NAMES).to_string(),
            2 if !presign => "Authorization".to_owned(),
            3 => "X-Amz-Date".to_owned(),
            4 => "X-Amz-Security-Token".to_owned(),
            5 => "X-Amz-Content-SHA256".to_owned(),
            6 | 7 if headers.len() > 1 => {
                tag(&mut classes, "repeated header");
                headers[rng.range(1, headers.len() - 1)].0.clone()
            }
            _ => rng.pick(HEADER_NAMES).to_string(),
        };
        let value = if name.eq_ignore_ascii_case("x-amz-content-sha256") {
            "UNSIGNED-PAYLOAD".to_owned()
        } else {
            header_value(rng)
        };
        if value.contains('\n') {
            tag(&mut classes, "folded header value");
        }
        let at = rng.range(0, headers.len());
        headers.insert(at, (vary_case(&name, rng), value));
    }

    let body: Vec<u8> = if presign || rng.percent(30) {
        Vec::new()
    } else if rng.percent(50) {
        format!(
            "Action=GetSessionToken&Version=2011-06-15&DurationSeconds={}",
            rng.range(900, 129600)
        )
        .into_bytes()
    } else {
        (0..rng.range(1, 200)).map(|_| rng.next() as u8).collect()
    };
    if !body.is_empty() {
        tag(&mut classes, "body");
        if rng.percent(30) {
            headers.push(("Content-Length".to_owned(), body.len().to_string()));
        }
    }

    let session_token = rng.percent(50).then(|| {
        let len = rng.range(60, 300);
        base64ish(rng, len) + "=="
    });
    if session_token.is_some() {
        tag(&mut classes, "session token");
    }
    let access_key_id = format!(
        "AKIA{}",
        base64ish(rng, 16)
            .to_ascii_uppercase()
            .replace(['+', '/'], "Q")
    );
    let secret_access_key = base64ish(rng, 40);
    let region = *rng.pick(REGIONS);
    let time = 946_684_800 + rng.below(1_199_232_000) as i64; // 2000 … 2037
    let method = *rng.pick(METHODS);
    let presign_expires = presign.then(|| rng.range(1, 604_800) as u64);

    let peer = json!({
        "method": method,
        "host": "example.com",
        "path": peer_path,
        "params": pairs,
        "headers": headers,
        "body_hex": hex(&body),
        "region": region,
        "service": service,
        "access_key_id": access_key_id,
        "secret_access_key": secret_access_key,
        "session_token": session_token,
        "time": time,
        "presign": presign,
        "expires": presign_expires,
    });
    Case {
        req: HttpRequest {
            method: method.to_owned(),
            path_and_query,
            headers,
            body,
        },
        access_key_id,
        secret_access_key,
        session_token,
        region,
        service,
        time,
        presign_expires,
        peer,
        classes,
    }
}

/// Runs botocore over all cases at once; `None` when the peer is missing (a skip outside CI).
fn botocore_sign(cases: &[Case]) -> Option<Vec<Value>> {
    let python = common::venv_python()?;
    let script = common::repo_root().join("tests/peers/sigv4_botocore.py");
    let input = serde_json::to_vec(&cases.iter().map(|c| &c.peer).collect::<Vec<_>>()).unwrap();
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", python.display()));
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    // A peer that exits early breaks the pipe: its status and stderr say more than the write error.
    let written = writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(3) {
        return common::missing(
            &format!("botocore in {} ({})", python.display(), stderr.trim()),
            "run ./tests/run, which installs tests/requirements.txt",
        );
    }
    assert!(
        output.status.success(),
        "{} failed ({}):\n{stderr}",
        script.display(),
        output.status
    );
    written.expect("writing the cases to the peer");
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(results.len(), cases.len(), "one result per case");
    Some(results)
}

fn describe(i: usize, case: &Case) -> String {
    let mut out = format!(
        "case {i} [{}] {} {}/{} t={} token={} expires={:?}\n  {} {}\n",
        case.classes.join(", "),
        case.access_key_id,
        case.region,
        case.service,
        case.time,
        case.session_token.is_some(),
        case.presign_expires,
        case.req.method,
        case.req.path_and_query
    );
    for (name, value) in &case.req.headers {
        writeln!(out, "  {name}: {value:?}").unwrap();
    }
    writeln!(out, "  body: {} bytes", case.req.body.len()).unwrap();
    out
}

#[test]
fn agrees_with_botocore() {
    let seed = std::env::var("AWSENV_SIGV4_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    let mut rng = Rng(seed | 1);
    let cases: Vec<Case> = (0..CASES).map(|_| generate(&mut rng)).collect();

    let mut coverage: BTreeMap<&str, usize> = BTreeMap::new();
    for case in &cases {
        for class in &case.classes {
            *coverage.entry(class).or_default() += 1;
        }
    }
    eprintln!("seed {seed:#x}, {CASES} cases: {coverage:?}");
    for (class, at_least) in [
        ("header form", 1000),
        ("presign", 300),
        ("s3", 250),
        ("session token", 500),
        ("repeated header", 200),
        ("folded header value", 200),
        ("non-ASCII path", 200),
        ("non-ASCII query", 400),
        ("body", 500),
    ] {
        let n = coverage.get(class).copied().unwrap_or(0);
        assert!(n >= at_least, "only {n} cases of {class}, want {at_least}");
    }

    let Some(results) = botocore_sign(&cases) else {
        return;
    };

    let mut mismatches = Vec::new();
    for (i, (case, peer)) in cases.iter().zip(&results).enumerate() {
        if let Some(error) = peer["error"].as_str() {
            mismatches.push(format!("{}  botocore raised:\n{error}", describe(i, case)));
            continue;
        }
        let creds = Credentials {
            access_key_id: &case.access_key_id,
            secret_access_key: &case.secret_access_key,
            session_token: case.session_token.as_deref(),
        };
        let mut params = SigningParams::new(case.region, case.service, UtcTime(case.time));
        params.unsigned_payload = case.presign_expires.is_some() && case.service == "s3";
        let (ours, theirs) = match case.presign_expires {
            Some(expires) => {
                let sig = sigv4::presign(&case.req, &creds, &params, expires);
                let suffix = format!("X-Amz-Signature={}", sig.signature);
                assert!(sig.path_and_query.ends_with(&suffix));
                (
                    sig,
                    peer["signature"].as_str().unwrap_or_default().to_owned(),
                )
            }
            None => {
                let sig = sigv4::sign_headers(&case.req, &creds, &params);
                let auth = peer["authorization"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                (sig, auth)
            }
        };
        let got = match case.presign_expires {
            Some(_) => ours.signature.clone(),
            None => ours.authorization().unwrap_or_default().to_owned(),
        };
        if got != theirs {
            mismatches.push(format!(
                "{}  ours:     {got}\n  botocore: {theirs}\n--- our canonical request\n{}\n--- botocore's\n{}",
                describe(i, case),
                ours.canonical_request,
                peer["canonical_request"].as_str().unwrap_or("?")
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {CASES} cases differ from botocore (seed {seed:#x}):\n\n{}",
        mismatches.len(),
        mismatches.join("\n\n")
    );
}
