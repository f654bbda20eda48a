//! Micro-benchmark of the SigV4 signer, std only: a typical STS `GetSessionToken` POST signed in
//! header form, a `GetCallerIdentity` presigned URL, each with the signing key derived per call and
//! cached, and the key derivation alone. Prints the median over interleaved batches of ns per call.
//!
//! Run with `cargo bench --bench sigv4`; figures go in BENCHMARKS.md.

use std::hint::black_box;
use std::time::Instant;

use awsenv::core::sigv4::{self, Credentials, HttpRequest, SigningKey, SigningParams};
use awsenv::core::time::UtcTime;

const ROUNDS: usize = 101;
const WARMUP_ROUNDS: usize = 5;
const PER_BATCH: u32 = 2_000;

/// One measured operation.
struct Bench<'a> {
    name: &'static str,
    run: Box<dyn FnMut() + 'a>,
    samples: Vec<f64>,
}

impl<'a> Bench<'a> {
    fn new(name: &'static str, run: impl FnMut() + 'a) -> Self {
        Bench {
            name,
            run: Box::new(run),
            samples: Vec::with_capacity(ROUNDS),
        }
    }
}

/// Runs one batch of every bench per round, so that the bursts of noise of a shared VM fall on all
/// of them alike, and prints the median (and the spread) of ns per call.
fn run_all(benches: &mut [Bench]) {
    for round in 0..WARMUP_ROUNDS + ROUNDS {
        for bench in benches.iter_mut() {
            let start = Instant::now();
            for _ in 0..PER_BATCH {
                (bench.run)();
            }
            let ns = start.elapsed().as_nanos() as f64 / f64::from(PER_BATCH);
            if round >= WARMUP_ROUNDS {
                bench.samples.push(ns);
            }
        }
    }
    println!("SigV4 signer: ns per call, median of {ROUNDS} interleaved batches of {PER_BATCH}");
    for bench in benches.iter_mut() {
        bench.samples.sort_by(f64::total_cmp);
        let s = &bench.samples;
        let (p10, median, p90) = (s[ROUNDS / 10], s[ROUNDS / 2], s[ROUNDS * 9 / 10]);
        println!(
            "{:<46} {median:>7.0}   (p10 {p10:.0}, p90 {p90:.0})",
            bench.name
        );
    }
}

fn main() {
    let time = UtcTime::parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
    let creds = Credentials {
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        session_token: None,
    };
    let session_creds = Credentials {
        session_token: Some(
            "IQoJb3JpZ2luX2VjEPT//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampletokenexampletokenexample\
             tokenexampletokenexampletokenexampletokenexampletokenexampletokenexampletoken==",
        ),
        ..creds
    };
    let params = SigningParams::new("us-east-1", "sts", time);

    let post = HttpRequest {
        method: "POST".into(),
        path_and_query: "/".into(),
        headers: vec![
            ("Host".into(), "sts.us-east-1.amazonaws.com".into()),
            (
                "Content-Type".into(),
                "application/x-www-form-urlencoded; charset=utf-8".into(),
            ),
            ("User-Agent".into(), "awsenv/0.1.0".into()),
        ],
        body: b"Action=GetSessionToken&Version=2011-06-15&DurationSeconds=43200\
                &SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Falice&TokenCode=123456"
            .to_vec(),
    };
    let get = HttpRequest {
        method: "GET".into(),
        path_and_query: "/?Action=GetCallerIdentity&Version=2011-06-15".into(),
        headers: vec![("Host".into(), "sts.us-east-1.amazonaws.com".into())],
        body: Vec::new(),
    };
    let key = SigningKey::derive(creds.secret_access_key, time, params.region, params.service);

    run_all(&mut [
        Bench::new("derive signing key", || {
            black_box(SigningKey::derive(
                black_box(creds.secret_access_key),
                time,
                "us-east-1",
                "sts",
            ));
        }),
        Bench::new("sign_headers (STS POST)", || {
            black_box(sigv4::sign_headers(black_box(&post), &creds, &params));
        }),
        Bench::new("sign_headers_with_key (STS POST, cached key)", || {
            black_box(sigv4::sign_headers_with_key(
                black_box(&post),
                &creds,
                &params,
                &key,
            ));
        }),
        Bench::new("presign (STS GET + session token)", || {
            black_box(sigv4::presign(
                black_box(&get),
                &session_creds,
                &params,
                900,
            ));
        }),
        Bench::new("presign_with_key (cached key)", || {
            black_box(sigv4::presign_with_key(
                black_box(&get),
                &session_creds,
                &params,
                900,
                &key,
            ));
        }),
    ]);
}
