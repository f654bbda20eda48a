//! The official SigV4 test suite (awslabs/aws-c-auth `aws-signing-test-suite/v4`, 38 cases), both the
//! header and the query (presigned) form of every case: canonical request, string to sign, signature
//! and the signed request must match the expected files byte for byte. Every failing case is listed
//! before the test fails.

mod common;

use std::fmt::Write as _;
use std::path::Path;

use awsenv::core::sigv4::{self, Credentials, HttpRequest, Signature, SigningParams};
use awsenv::core::time::UtcTime;
use serde_json::Value;

const CASES: usize = 38;

/// `request.txt`: the request line, header lines (a line starting with whitespace continues the
/// previous value, kept with its line break), an empty line and the body.
struct RawRequest {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse_request(text: &str) -> RawRequest {
    let (head, body) = match text.split_once("\n\n") {
        Some((head, body)) => (head, body),
        None => (text.strip_suffix('\n').unwrap_or(text), ""),
    };
    let mut lines = head.split('\n');
    let request_line = lines.next().expect("a request line");
    // The target may hold spaces (get-space-*), so cut at the first and the last space.
    let (method, rest) = request_line.split_once(' ').expect("method");
    let (target, version) = rest.rsplit_once(' ').expect("HTTP version");
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().expect("a continuation follows a header");
            last.1.push('\n');
            last.1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').expect("a header line");
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    RawRequest {
        method: method.to_owned(),
        target: target.to_owned(),
        version: version.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

/// The signed request as the suite writes it: the original headers as they were, then the added ones.
fn render(raw: &RawRequest, sig: &Signature) -> String {
    let mut out = format!("{} {} {}\n", raw.method, sig.path_and_query, raw.version);
    for (name, value) in raw.headers.iter().chain(&sig.headers) {
        writeln!(out, "{name}:{value}").unwrap();
    }
    out.push('\n');
    out.push_str(std::str::from_utf8(&raw.body).expect("suite bodies are text"));
    out
}

/// Compares the four expected files of one form; returns one line per difference.
fn check(dir: &Path, form: &str, raw: &RawRequest, sig: &Signature) -> Vec<String> {
    let got = [
        ("canonical-request", sig.canonical_request.clone()),
        ("string-to-sign", sig.string_to_sign.clone()),
        ("signature", sig.signature.clone()),
        ("signed-request", render(raw, sig)),
    ];
    let mut problems = Vec::new();
    for (what, got) in got {
        let file = format!("{form}-{what}.txt");
        let want = std::fs::read_to_string(dir.join(&file)).unwrap();
        if want != got {
            problems.push(format!("{file}:\n--- want\n{want:?}\n--- got\n{got:?}"));
        }
    }
    problems
}

#[test]
fn every_case_in_both_forms() {
    let Some(conformance) = common::conformance_dir() else {
        return;
    };
    let suite = conformance.join("sigv4-suite/v4");
    let mut dirs: Vec<_> = std::fs::read_dir(&suite)
        .unwrap_or_else(|e| panic!("reading {}: {e}", suite.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), CASES, "the suite has {CASES} cases");

    let mut failures = Vec::new();
    let mut passed = 0;
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let context: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("context.json")).unwrap())
                .unwrap();
        let creds = &context["credentials"];
        let creds = Credentials {
            access_key_id: creds["access_key_id"].as_str().unwrap(),
            secret_access_key: creds["secret_access_key"].as_str().unwrap(),
            session_token: creds["token"].as_str(),
        };
        let time = UtcTime::parse_rfc3339(context["timestamp"].as_str().unwrap()).unwrap();
        let params = SigningParams {
            region: context["region"].as_str().unwrap(),
            service: context["service"].as_str().unwrap(),
            time,
            normalize_path: context["normalize"].as_bool().unwrap(),
            sign_body_header: context["sign_body"].as_bool().unwrap(),
            omit_session_token: context["omit_session_token"].as_bool().unwrap_or(false),
            unsigned_payload: false,
        };
        let expires = context["expiration_in_seconds"].as_u64().unwrap();

        let raw = parse_request(&std::fs::read_to_string(dir.join("request.txt")).unwrap());
        let req = HttpRequest {
            method: raw.method.clone(),
            path_and_query: raw.target.clone(),
            headers: raw.headers.clone(),
            body: raw.body.clone(),
        };
        for (form, sig) in [
            ("header", sigv4::sign_headers(&req, &creds, &params)),
            ("query", sigv4::presign(&req, &creds, &params, expires)),
        ] {
            let problems = check(dir, form, &raw, &sig);
            if problems.is_empty() {
                passed += 1;
            } else {
                failures.push(format!("{name} ({form} form)\n{}", problems.join("\n")));
            }
        }
    }
    eprintln!("sigv4 suite: {passed}/{} checks pass", CASES * 2);
    assert!(
        failures.is_empty(),
        "{} of {} checks fail:\n\n{}",
        failures.len(),
        CASES * 2,
        failures.join("\n\n")
    );
}
