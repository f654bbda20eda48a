//! Request signing and console sign-in: `awsenv curl` against moto with signature checking on,
//! `awsenv presign` against botocore's presigner for the same inputs and time, `awsenv curl` and
//! `awscurl` (PyPI) signing the same request at the same time, and `awsenv console` against a local
//! server standing in for the federation endpoint.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use common::sts_peer::{StsPeer, StsPeerOptions};

/// One request a [`Capture`] server received.
#[derive(Debug, Clone)]
struct Seen {
    target: String,
    headers: BTreeMap<String, String>,
}

/// A tiny HTTP server on loopback that records each request and answers `200` with `body`.
struct Capture {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Capture {
    fn start(body: &'static str) -> Capture {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(16) {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut headers = BTreeMap::new();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                    }
                }
                let len: usize = headers
                    .get("content-length")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0);
                let mut body_in = vec![0; len];
                reader.read_exact(&mut body_in).unwrap();
                log.lock().unwrap().push(Seen { target, headers });
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Capture { port, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A temporary HOME whose `plain` profile holds the given keys in the credentials file.
fn home(config: &str, credentials: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::write_file(dir.path(), ".aws/config", config);
    common::write_file(dir.path(), ".aws/credentials", credentials);
    std::fs::create_dir_all(dir.path().join("run")).unwrap();
    dir
}

fn awsenv(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(common::bin("awsenv"));
    cmd.args(args)
        .env_clear()
        .env("HOME", home)
        .env("USER", "alice")
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env("AWSENV_KEYCHAIN", "keyutils")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const AKID: &str = "AKIDEXAMPLEEXAMPLE01";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "FQoGZXIvYXdzEXAMPLETOKEN/+=";
const TIME: &str = "20250102T030405Z";
const UNIX_TIME: i64 = 1_735_787_045;

#[test]
fn curl_calls_sts_and_iam_with_moto_checking_signatures() {
    let Some(peer) = StsPeer::start_with(StsPeerOptions {
        moto_checks_signatures: true,
        ..StsPeerOptions::default()
    }) else {
        return;
    };
    let (akid, secret) = peer.user_key();
    let dir = home(
        "",
        &format!("[plain]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n"),
    );
    let url = format!("{}/", peer.endpoint());
    let out = awsenv(
        dir.path(),
        &[
            "curl",
            "plain",
            "--no-daemon",
            "--service",
            "sts",
            "--region",
            "us-east-1",
            "-d",
            "Action=GetCallerIdentity&Version=2011-06-15",
            "--explain",
            &url,
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("<Arn>{}</Arn>", peer.user_arn())),
        "{}",
        text(&out.stdout)
    );
    let explained = text(&out.stderr);
    assert!(
        explained.contains("Canonical request:\nPOST\n/\n"),
        "{explained}"
    );
    assert!(
        explained.contains("String to sign:\nAWS4-HMAC-SHA256\n"),
        "{explained}"
    );
    assert!(!explained.contains(&secret), "never the secret");
    // IAM through the same peer, as the SDKs call it (a form POST).
    let list_users = "Action=ListUsers&Version=2010-05-08";
    let out = awsenv(
        dir.path(),
        &[
            "curl",
            "plain",
            "--no-daemon",
            "--service",
            "iam",
            "-i",
            "-d",
            list_users,
            &url,
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body = text(&out.stdout);
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("<UserName>alice</UserName>"), "{body}");
    assert_eq!(peer.count("ListUsers"), 1);
    // A wrong secret: moto refuses the signature, and -f turns that into exit 22.
    let bad = home(
        "",
        &format!("[plain]\naws_access_key_id = {akid}\naws_secret_access_key = wrong{secret}\n"),
    );
    let out = awsenv(
        bad.path(),
        &[
            "curl",
            "plain",
            "--no-daemon",
            "--service",
            "iam",
            "-f",
            "-d",
            list_users,
            &url,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(22), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("SignatureDoesNotMatch"));
}

#[test]
fn presign_matches_botocore() {
    let Some(py) = common::venv_python() else {
        return;
    };
    let dir = home(
        "",
        &format!(
            "[plain]\naws_access_key_id = {AKID}\naws_secret_access_key = {SECRET}\n\
             [temp]\naws_access_key_id = {AKID}\naws_secret_access_key = {SECRET}\naws_session_token = {TOKEN}\n"
        ),
    );
    let cases = [
        (
            "plain",
            "https://examplebucket.s3.amazonaws.com/test%20file.txt",
            900,
            "s3",
            "us-east-1",
        ),
        (
            "temp",
            "https://my-bucket.s3.eu-west-1.amazonaws.com/a/b.pdf?versionId=3",
            3600,
            "s3",
            "eu-west-1",
        ),
        (
            "plain",
            "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
            900,
            "sts",
            "eu-west-1",
        ),
        (
            "temp",
            "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
            7200,
            "iam",
            "us-east-1",
        ),
    ];
    let mut botocore_cases = Vec::new();
    let mut ours = Vec::new();
    for (profile, url, expires, service, region) in cases {
        let expires_arg = format!("{expires}s");
        let out = awsenv(
            dir.path(),
            &[
                "presign",
                profile,
                url,
                "--expires",
                &expires_arg,
                "--no-daemon",
            ],
            &[("AWSENV_SIGNING_TIME", TIME)],
        );
        assert!(out.status.success(), "{url}: {}", text(&out.stderr));
        ours.push(text(&out.stdout).trim().to_string());
        let parsed = reqwest_like_split(url);
        botocore_cases.push(json!({
            "method": "GET", "host": parsed.0, "path": parsed.1, "params": parsed.2,
            "headers": [], "body_hex": "", "region": region, "service": service,
            "access_key_id": AKID, "secret_access_key": SECRET,
            "session_token": if profile == "temp" { Value::from(TOKEN) } else { Value::Null },
            "time": UNIX_TIME, "presign": true, "expires": expires,
        }));
    }
    let script = common::repo_root().join("tests/peers/sigv4_botocore.py");
    let mut child = Command::new(py)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::from(botocore_cases).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    for (url, theirs) in ours.iter().zip(results) {
        let signature = theirs["signature"]
            .as_str()
            .unwrap_or_else(|| panic!("{theirs}"));
        assert!(
            url.ends_with(&format!("X-Amz-Signature={signature}")),
            "ours {url}\nbotocore {}",
            theirs["url"]
        );
        assert!(
            url.contains(&format!("X-Amz-Credential={AKID}%2F20250102%2F")),
            "{url}"
        );
    }
}

/// `https://host/path?a=1&b=2` → (host, path, decoded params).
fn reqwest_like_split(url: &str) -> (String, String, Vec<(String, String)>) {
    let rest = url.split_once("://").unwrap().1;
    let (host, target) = rest.split_at(rest.find('/').unwrap());
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    (host.to_string(), path.to_string(), params)
}

#[test]
fn curl_signs_like_awscurl() {
    let Some(py) = common::venv_python() else {
        return;
    };
    let dir = home(
        "",
        &format!(
            "[temp]\naws_access_key_id = {AKID}\naws_secret_access_key = {SECRET}\naws_session_token = {TOKEN}\n"
        ),
    );
    let server = Capture::start("{\"ok\": true}");
    let url = format!("http://127.0.0.1:{}/prod/items?b=2&a=1", server.port);
    let body = r#"{"name": "x"}"#;
    let hash = {
        use sha2_hex::hex_sha256;
        hex_sha256(body.as_bytes())
    };
    let content_sha = format!("x-amz-content-sha256: {hash}");
    let out = awsenv(
        dir.path(),
        &[
            "curl",
            "temp",
            "--no-daemon",
            "--service",
            "execute-api",
            "--region",
            "eu-west-1",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-H",
            &content_sha,
            "-d",
            body,
            &url,
        ],
        &[("AWSENV_SIGNING_TIME", TIME)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // awscurl at the same fixed time (its clock is the module's `__now`).
    let script = format!(
        "import datetime, sys\nimport awscurl.awscurl as a\na.__now = lambda: datetime.datetime.fromtimestamp({UNIX_TIME}, datetime.timezone.utc).replace(tzinfo=None)\nsys.exit(a.inner_main(sys.argv[1:]))\n"
    );
    let out = Command::new(&py)
        .args(["-c", &script])
        .args([
            "--service",
            "execute-api",
            "--region",
            "eu-west-1",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-H",
            &content_sha,
            "-d",
            body,
            "--access_key",
            AKID,
            "--secret_key",
            SECRET,
            "--session_token",
            TOKEN,
            &url,
        ])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    if !out.status.success() && text(&out.stderr).contains("No module named 'awscurl'") {
        common::missing::<()>(
            "awscurl in the test venv",
            "run ./tests/run (tests/requirements.txt pins it)",
        );
        return;
    }
    assert!(out.status.success(), "awscurl: {}", text(&out.stderr));
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let auth = |s: &Seen| s.headers["authorization"].clone();
    assert_eq!(auth(&seen[0]), auth(&seen[1]), "awsenv vs awscurl");
    assert!(auth(&seen[0]).contains(
        "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
    ));
    assert_eq!(seen[0].headers["x-amz-date"], TIME);
}

/// SHA-256 in hex without a crate the tests do not already have: through the awsenv library.
mod sha2_hex {
    pub fn hex_sha256(data: &[u8]) -> String {
        let req = awsenv::core::sigv4::HttpRequest {
            method: "GET".into(),
            path_and_query: "/".into(),
            headers: vec![("Host".into(), "h".into())],
            body: data.to_vec(),
        };
        let sig = awsenv::core::sigv4::sign_headers(
            &req,
            &awsenv::core::sigv4::Credentials {
                access_key_id: "a",
                secret_access_key: "b",
                session_token: None,
            },
            &awsenv::core::sigv4::SigningParams::new(
                "us-east-1",
                "x",
                awsenv::core::time::UtcTime(0),
            ),
        );
        sig.canonical_request
            .rsplit('\n')
            .next()
            .unwrap()
            .to_string()
    }
}

#[test]
fn console_signs_in_through_the_federation_endpoint() {
    if !common::in_session_keyring("console_signs_in_through_the_federation_endpoint") {
        return;
    }
    let Some(peer) = StsPeer::start() else { return };
    let (akid, secret) = peer.user_key();
    let dir = home(
        &format!(
            "[profile role]\nrole_arn = {}\nsource_profile = plain\nrole_session_name = awsenv-test\n\
             [profile china]\nregion = cn-north-1\n",
            peer.role_arn("dev")
        ),
        &format!(
            "[plain]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n\
             [china]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n"
        ),
    );
    let server = Capture::start("{\"SigninToken\": \"token+/=123\"}");
    let federation = format!("http://127.0.0.1:{}/federation", server.port);
    let endpoint = peer.endpoint();
    let env = [
        ("AWS_ENDPOINT_URL_STS", endpoint.as_str()),
        ("AWSENV_FEDERATION_ENDPOINT", federation.as_str()),
    ];
    // Long-term keys: a federation token first.
    let out = awsenv(
        dir.path(),
        &["console", "plain", "--print", "--no-daemon"],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let url = text(&out.stdout);
    assert_eq!(
        url.trim(),
        format!("{federation}?Action=login&Issuer=awsenv&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fconsole%2Fhome%3Fregion%3Dus-east-1&SigninToken=token%2B%2F%3D123")
    );
    assert_eq!(peer.count("GetFederationToken"), 1);
    let session = |s: &Seen| -> Value {
        let q = s.target.split_once("Session=").unwrap().1;
        let decoded = percent_decode(q);
        serde_json::from_str(&decoded).unwrap()
    };
    let seen = server.seen();
    assert!(seen[0]
        .target
        .starts_with("/federation?Action=getSigninToken&Session="));
    let s = session(&seen[0]);
    assert_ne!(s["sessionId"], akid.as_str(), "never the long-term key");
    assert!(!s["sessionToken"].as_str().unwrap().is_empty());
    // A role: its credentials as they are, no federation token; a chosen destination.
    let out = awsenv(
        dir.path(),
        &[
            "console",
            "role",
            "--print",
            "--no-daemon",
            "--destination",
            "https://console.aws.amazon.com/s3/home",
        ],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3%2Fhome&")
    );
    assert_eq!(peer.count("AssumeRole"), 1);
    assert_eq!(peer.count("GetFederationToken"), 1);
    assert!(session(&server.seen()[1])["sessionId"]
        .as_str()
        .unwrap()
        .starts_with("ASIA"));
    // China: the console of its partition.
    let out = awsenv(
        dir.path(),
        &["console", "china", "--print", "--no-daemon"],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Destination=https%3A%2F%2Fconsole.amazonaws.cn%2Fconsole%2Fhome%3Fregion%3Dcn-north-1&"),
        "{}",
        text(&out.stdout)
    );
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
