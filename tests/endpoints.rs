//! The credential endpoints with real clients: `awsenv exec --ecs|--imds` and `awsenv serve` give
//! boto3, the AWS CLI (v1) and the JS SDK v3 the `dev` role's credentials, renewed through the daemon
//! while a client runs; the IMDSv2 and container protocols' edge cases over raw HTTP; and
//! `credential_source = Ec2InstanceMetadata | EcsContainer` reading from a second endpoint to assume
//! a role at moto. Every test runs in a private session keyring against the STS peer.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::sts_peer::SESSION_NAME;
use common::world::{stderr, World};

/// Stops the test's daemon when the test ends, pass or fail.
struct DaemonStop<'a>(&'a World);

impl Drop for DaemonStop<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["daemon", "stop"], &[]);
    }
}

/// A world with dev's MFA session started through the daemon.
fn logged_in() -> Option<World> {
    let w = World::start()?;
    w.peer.set_mfa_code("123456");
    let out = w.run(&["login", "dev", "--token-code", "123456"], &[]);
    assert!(out.status.success(), "login: {}", stderr(&out));
    Some(w)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn last_json(text: &str) -> Value {
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("no JSON line ({e}) in {text:?}"))
}

extern "C" {
    fn setsid() -> i32;
}

fn signal(child: &Child, sig: i32) {
    common::process::signal(child.id() as i32, sig);
}

// ---------------------------------------------------------------------------------------------
// `awsenv serve`, as a fixture.

static SERVED: AtomicU32 = AtomicU32::new(0);

/// A running `awsenv serve`: the variables it wrote to its `--env-file`, and its stderr so far.
struct Served {
    child: Child,
    vars: BTreeMap<String, String>,
    env_file: PathBuf,
    err: Arc<Mutex<String>>,
}

impl Served {
    fn start(w: &World, args: &[&str]) -> Served {
        let n = SERVED.fetch_add(1, Ordering::Relaxed);
        let env_file = w.home().join(format!("served-{n}.env"));
        let mut all = vec!["serve"];
        all.extend_from_slice(args);
        all.extend(["--env-file", env_file.to_str().unwrap()]);
        Served::spawn(w.command(&common::bin("awsenv"), &all, &[]), env_file)
    }

    /// Runs `cmd`, an `awsenv serve … --env-file ENV_FILE`, until it serves.
    fn spawn(mut cmd: std::process::Command, env_file: PathBuf) -> Served {
        let args: Vec<_> = cmd.get_args().map(|a| a.to_os_string()).collect();
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = err.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        // The env file is complete before this line is printed.
        while !err.lock().unwrap().contains("awsenv: serving") {
            if let Some(status) = child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "awsenv serve {args:?} exited ({status}): {}",
                    err.lock().unwrap()
                );
            }
            assert!(
                Instant::now() < deadline,
                "awsenv serve did not start: {}",
                err.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let text = std::fs::read_to_string(&env_file).unwrap();
        let vars = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Served {
            child,
            vars,
            env_file,
            err,
        }
    }

    fn var(&self, name: &str) -> &str {
        self.vars
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.vars.keys()))
    }

    fn port(&self) -> u16 {
        let url = self
            .vars
            .get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
            .or_else(|| self.vars.get("AWS_EC2_METADATA_SERVICE_ENDPOINT"))
            .expect("an endpoint variable");
        let rest = url
            .strip_prefix("http://127.0.0.1:")
            .expect("a loopback URL");
        rest.split('/').next().unwrap().parse().unwrap()
    }

    fn stderr(&self) -> String {
        self.err.lock().unwrap().clone()
    }

    /// SIGTERM, then what it printed on stdout.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        signal(&self.child, 15);
        let status = self.child.wait().unwrap();
        assert!(!self.env_file.exists(), "the env file is removed on exit");
        let mut out = String::new();
        if let Some(mut o) = self.child.stdout.take() {
            o.read_to_string(&mut out).unwrap();
        }
        (status, out)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            signal(&self.child, 15);
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP.

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// Sends `head` (request line and headers, without the blank line) to 127.0.0.1:`port` and reads the
/// whole answer (the endpoints close every connection).
fn http(port: u16, head: &str) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // A body, when given, follows a blank line in `head`.
    let (head, body) = head.split_once("\n\n").unwrap_or((head, ""));
    let raw = format!("{}\r\n\r\n{body}", head.trim_end().replace('\n', "\r\n"));
    s.write_all(raw.as_bytes()).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete answer");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Clients.

const BOTO3: &str = r#"
import json, boto3
session = boto3.Session()
ident = session.client("sts").get_caller_identity()
creds = session.get_credentials()
print(json.dumps({"arn": ident["Arn"], "method": creds.method,
                  "key": creds.get_frozen_credentials().access_key}))
"#;

fn venv_bin(name: &str) -> Option<PathBuf> {
    Some(common::venv_python()?.parent().unwrap().join(name))
}

/// boto3 and the AWS CLI, run by `awsenv exec FLAG dev`, reach the proxy as the dev role.
fn python_clients_through(flag: &str, method: &str) {
    if !common::in_session_keyring(&format!("python_clients_through_{}", &flag[2..])) {
        return;
    }
    let (Some(py), Some(aws)) = (common::venv_python(), venv_bin("aws")) else {
        return;
    };
    let Some(w) = logged_in() else { return };
    let _stop = DaemonStop(&w);
    let role = format!("assumed-role/dev/{SESSION_NAME}");

    let out = w.run(
        &["exec", flag, "dev", "--", py.to_str().unwrap(), "-c", BOTO3],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIASTALEEXPORTED00"),
            ("AWS_PROFILE", "nope"),
        ],
    );
    assert!(
        out.status.success(),
        "boto3: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let got = last_json(&stdout(&out));
    assert!(got["arn"].as_str().unwrap().contains(&role), "{got}");
    assert_eq!(
        got["method"], method,
        "boto3 took the credentials from the endpoint"
    );
    assert_eq!(
        stderr(&out),
        "",
        "the endpoint is quiet while all goes well"
    );

    let out = w.run(
        &[
            "exec",
            flag,
            "dev",
            "--",
            aws.to_str().unwrap(),
            "sts",
            "get-caller-identity",
            "--output",
            "json",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "aws: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let got: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(got["Arn"].as_str().unwrap().contains(&role), "{got}");

    // What the child sees: the endpoint on loopback, the region, no keys, no profile.
    let out = w.run(
        &["exec", flag, "dev", "--", "env"],
        &[("AWS_SECRET_ACCESS_KEY", "x")],
    );
    let env = stdout(&out);
    let endpoint_var = if flag == "--ecs" {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:"
    } else {
        "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:"
    };
    assert!(env.contains(endpoint_var), "{env}");
    assert!(env.contains("AWS_REGION=eu-west-1\n"), "{env}");
    for gone in [
        "AWS_SECRET_ACCESS_KEY=",
        "AWS_ACCESS_KEY_ID=",
        "AWS_PROFILE=",
    ] {
        assert!(!env.contains(gone), "{gone} in {env}");
    }
    assert_eq!(
        w.peer.count("GetSessionToken"),
        1,
        "one MFA session for all of it"
    );
}

#[test]
fn python_clients_through_ecs() {
    python_clients_through("--ecs", "container-role");
}

#[test]
fn python_clients_through_imds() {
    python_clients_through("--imds", "iam-role");
}

const JS: &str = r#"
const mods = process.env.JS_MODULES;
const providers = require(mods + "/@aws-sdk/credential-providers");
const { STSClient, GetCallerIdentityCommand } = require(mods + "/@aws-sdk/client-sts");
const which = process.argv[2];
const provider = {
  container: () => providers.fromContainerMetadata({ timeout: 5000, maxRetries: 1 }),
  imds: () => providers.fromInstanceMetadata({ timeout: 5000, maxRetries: 1 }),
  process: () => providers.fromProcess({ profile: "devproc" }),
}[which]();
(async () => {
  const creds = await provider();
  const sts = new STSClient({ region: "eu-west-1", endpoint: process.env.AWS_ENDPOINT_URL_STS, credentials: provider });
  const id = await sts.send(new GetCallerIdentityCommand({}));
  console.log(JSON.stringify({ arn: id.Arn, key: creds.accessKeyId, expiration: creds.expiration }));
})().catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
"#;

#[test]
fn js_sdk_v3_from_container_instance_and_process() {
    if !common::in_session_keyring("js_sdk_v3_from_container_instance_and_process") {
        return;
    }
    let Some(node) = common::require_program("node") else {
        return;
    };
    let (Some(providers), Some(_)) = (
        common::node_module("@aws-sdk/credential-providers"),
        common::node_module("@aws-sdk/client-sts"),
    ) else {
        return;
    };
    let modules = providers.parent().unwrap().parent().unwrap().to_path_buf();
    let Some(w) = logged_in() else { return };
    let _stop = DaemonStop(&w);
    let script = common::write_file(w.home(), "sts.js", JS);
    let config = w.home().join(".aws/config");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[profile devproc]\ncredential_process = {} dev\n",
        common::bin("awsenv-credential-process").display()
    ));
    std::fs::write(&config, text).unwrap();
    let env = [("JS_MODULES", modules.to_str().unwrap())];
    let role = format!("assumed-role/dev/{SESSION_NAME}");
    let mut keys = Vec::new();
    for (flag, which) in [("--ecs", "container"), ("--imds", "imds")] {
        let out = w.run(
            &[
                "exec",
                flag,
                "dev",
                "--",
                node.to_str().unwrap(),
                script.to_str().unwrap(),
                which,
            ],
            &env,
        );
        assert!(
            out.status.success(),
            "{which}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        let got = last_json(&stdout(&out));
        assert!(
            got["arn"].as_str().unwrap().contains(&role),
            "{which}: {got}"
        );
        keys.push(got["key"].as_str().unwrap().to_string());
    }
    let out = w
        .command(&node, &[script.to_str().unwrap(), "process"], &env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "process: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let got = last_json(&stdout(&out));
    assert!(got["arn"].as_str().unwrap().contains(&role), "{got}");
    keys.push(got["key"].as_str().unwrap().to_string());
    // All three paths handed out the daemon's one cached role session.
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    assert_eq!(w.peer.count("AssumeRole"), 1);
}

const BOTO3_LOOP: &str = r#"
import json, time, boto3
session = boto3.Session()
sts = session.client("sts")
seen = []
for i in range(5):
    ident = sts.get_caller_identity()
    seen.append({"arn": ident["Arn"], "key": session.get_credentials().get_frozen_credentials().access_key})
    time.sleep(1.5)
print(json.dumps(seen))
"#;

#[test]
fn a_long_running_client_keeps_working_across_refreshes() {
    if !common::in_session_keyring("a_long_running_client_keeps_working_across_refreshes") {
        return;
    }
    let Some(py) = common::venv_python() else {
        return;
    };
    let Some(w) = logged_in() else { return };
    let _stop = DaemonStop(&w);
    // Role credentials that live 60 seconds: botocore must refresh them at every use, and the
    // daemon must renew them from the MFA session without a code.
    w.peer.set_expiry("AssumeRole", 60);
    let out = w.run(
        &[
            "exec",
            "--ecs",
            "dev",
            "--",
            py.to_str().unwrap(),
            "-c",
            BOTO3_LOOP,
        ],
        &[],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let seen: Vec<Value> = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(seen.len(), 5);
    assert!(seen
        .iter()
        .all(|s| s["arn"].as_str().unwrap().contains("assumed-role/dev/")));
    // The proxy saw every call, signed with keys that changed while the client ran.
    let calls: Vec<_> = w
        .peer
        .requests()
        .into_iter()
        .filter(|r| r.action == "GetCallerIdentity")
        .collect();
    assert_eq!(calls.len(), 5);
    assert!(
        calls
            .iter()
            .all(|c| c.status == Some(200) && c.code.is_none()),
        "{calls:?}"
    );
    let mut keys: Vec<_> = calls
        .iter()
        .filter_map(|c| c.access_key_id.clone())
        .collect();
    keys.dedup();
    assert!(keys.len() >= 2, "the client rotated keys: {keys:?}");
    assert_eq!(
        w.peer.count("GetSessionToken"),
        1,
        "renewed without a new MFA code"
    );
}

#[test]
fn exec_forwards_signals_and_returns_the_command_status() {
    if !common::in_session_keyring("exec_forwards_signals_and_returns_the_command_status") {
        return;
    }
    let Some(w) = logged_in() else { return };
    let _stop = DaemonStop(&w);
    let out = w.run(&["exec", "--imds", "dev", "--", "sh", "-c", "exit 7"], &[]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let out = w.run(
        &["exec", "--ecs", "dev", "--", "sh", "-c", "kill -KILL $$"],
        &[],
    );
    assert_eq!(out.status.code(), Some(128 + 9), "{}", stderr(&out));
    let out = w.run(&["exec", "--ecs", "dev", "--", "no-such-command-here"], &[]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));

    // SIGTERM and SIGINT sent to awsenv reach the command, which decides how to end.
    for (sig, code) in [(15, 42), (2, 43), (1, 44)] {
        let script = "trap 'exit 42' TERM; trap 'exit 43' INT; trap 'exit 44' HUP; echo ready; while :; do sleep 0.05; done";
        let mut cmd = w.command(
            &common::bin("awsenv"),
            &["exec", "--ecs", "dev", "--", "sh", "-c", script],
            &[],
        );
        // In a session of its own, so that no terminal's foreground group can include it.
        use std::os::unix::process::CommandExt as _;
        // SAFETY: setsid(2) is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                setsid();
                Ok(())
            });
        }
        let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ready\n");
        signal(&child, sig);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "signal {sig}");
    }
}

// ---------------------------------------------------------------------------------------------
// Protocol edge cases.

#[test]
fn imds_emulator_protocol() {
    if !common::in_session_keyring("imds_emulator_protocol") {
        return;
    }
    let Some(w) = logged_in() else { return };
    let _stop = DaemonStop(&w);
    let s = Served::start(&w, &["--imds", "dev"]);
    let port = s.port();
    let host = format!("Host: 127.0.0.1:{port}");
    let put = |extra: &str| {
        http(
            port,
            &format!("PUT /latest/api/token HTTP/1.1\n{host}\n{extra}"),
        )
    };
    let token = |ttl: u32| {
        let r = put(&format!("X-aws-ec2-metadata-token-ttl-seconds: {ttl}"));
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            r.header("x-aws-ec2-metadata-token-ttl-seconds"),
            Some(ttl.to_string().as_str()),
            "the TTL is echoed"
        );
        r.body
    };
    let get =
        |path: &str, extra: &str| http(port, &format!("GET {path} HTTP/1.1\n{host}\n{extra}"));
    let creds_path = "/latest/meta-data/iam/security-credentials/";

    for bad in [
        "X-aws-ec2-metadata-token-ttl-seconds: 0",
        "X-aws-ec2-metadata-token-ttl-seconds: 21601",
        "",
    ] {
        assert_eq!(put(bad).status, 400, "{bad:?}");
    }
    let t = token(21600);
    let _ = token(1);
    let r = put("X-aws-ec2-metadata-token-ttl-seconds: 60\nX-Forwarded-For: 203.0.113.9");
    assert_eq!(r.status, 403, "a PUT through a proxy is refused");

    let auth = format!("X-aws-ec2-metadata-token: {t}");
    let role = get(creds_path, &auth);
    assert_eq!((role.status, role.body.as_str()), (200, "dev"));
    let doc = get(&format!("{creds_path}dev"), &auth);
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert_eq!(doc["Code"], "Success");
    assert_eq!(doc["Type"], "AWS-HMAC");
    assert!(doc["Token"].as_str().is_some_and(|t| !t.is_empty()));
    let exp = doc["Expiration"].as_str().unwrap();
    assert!(
        exp.ends_with('Z') && !exp.contains('.') && exp.len() == 20,
        "{exp}"
    );
    assert_eq!(
        get("/latest/meta-data/placement/region", &auth).body,
        "eu-west-1"
    );
    assert_eq!(
        get("/latest/meta-data/placement/availability-zone", &auth).body,
        "eu-west-1a"
    );
    let id = get("/latest/meta-data/instance-id", &auth).body;
    assert!(id.starts_with("i-") && id.len() == 19, "{id}");
    let identity = get("/latest/dynamic/instance-identity/document", &auth).json();
    assert_eq!(identity["region"], "eu-west-1");
    assert_eq!(identity["accountId"], w.peer.account_id());
    assert_eq!(identity["instanceId"], id.as_str());
    let info = get("/latest/meta-data/iam/info", &auth).json();
    assert_eq!(info["Code"], "Success");
    assert_eq!(get("/latest/meta-data/no-such-thing", &auth).status, 404);

    // Tokens: missing (IMDSv1 is off), wrong, altered, expired.
    assert_eq!(get(creds_path, "").status, 401);
    assert_eq!(
        get(creds_path, "X-aws-ec2-metadata-token: wrong").status,
        401
    );
    let mut altered = t.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'0' { b'1' } else { b'0' };
    let altered = String::from_utf8(altered).unwrap();
    assert_eq!(
        get(creds_path, &format!("X-aws-ec2-metadata-token: {altered}")).status,
        401
    );
    let short = token(1);
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        get(creds_path, &format!("X-aws-ec2-metadata-token: {short}")).status,
        401,
        "expired"
    );

    // DNS rebinding: a foreign Host is refused, for the token and for reads.
    for other in [
        "Host: attacker.example",
        &format!("Host: attacker.example:{port}"),
        &format!("Host: 127.0.0.1:{}", port + 1),
    ] {
        let r = http(
            port,
            &format!(
                "PUT /latest/api/token HTTP/1.1\n{other}\nX-aws-ec2-metadata-token-ttl-seconds: 60"
            ),
        );
        assert_eq!(r.status, 403, "{other}");
        let r = http(port, &format!("GET {creds_path} HTTP/1.1\n{other}\n{auth}"));
        assert_eq!(r.status, 403, "{other}");
    }
    assert_eq!(
        http(
            port,
            &format!("GET {creds_path} HTTP/1.1\nHost: localhost:{port}\n{auth}")
        )
        .status,
        200
    );
    assert_eq!(http(port, "garbage").status, 400);

    // Bound to 127.0.0.1 alone: not the rest of 127/8, not ::1, not the host's other addresses.
    assert!(TcpStream::connect(("127.0.0.2", port)).is_err());
    assert!(TcpStream::connect(("::1", port)).is_err());
    if let Some(ip) = outward_address() {
        assert!(TcpStream::connect((ip, port)).is_err(), "reachable on {ip}");
    }

    let printed = s.stderr();
    assert!(
        printed.contains("refused"),
        "serve reports refusals: {printed}"
    );
    assert!(!printed.contains(&t), "no token in the log");
    let (status, out) = s.stop();
    assert!(status.success());
    assert!(
        out.contains(&format!(
            "export AWS_EC2_METADATA_SERVICE_ENDPOINT='http://127.0.0.1:{port}'"
        )),
        "{out}"
    );
    assert!(out.contains("unset -v AWS_ACCESS_KEY_ID\n"), "{out}");

    // IMDSv1 only when asked for; a bad token is still refused then.
    let v1 = Served::start(&w, &["--imds", "--imds-v1", "dev"]);
    let port = v1.port();
    let r = http(
        port,
        &format!("GET {creds_path}dev HTTP/1.1\nHost: 127.0.0.1:{port}"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(!v1.vars.contains_key("AWS_EC2_METADATA_V1_DISABLED"));
    let r = http(
        port,
        &format!(
            "GET {creds_path} HTTP/1.1\nHost: 127.0.0.1:{port}\nX-aws-ec2-metadata-token: bad"
        ),
    );
    assert_eq!(r.status, 401);
}

/// This machine's address towards the outside, if it has one (no packet is sent).
fn outward_address() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn container_endpoint_protocol() {
    if !common::in_session_keyring("container_endpoint_protocol") {
        return;
    }
    let Some(w) = logged_in() else { return };
    let _stop = DaemonStop(&w);
    let token_file = w.home().join("ecs-token");
    let s = Served::start(
        &w,
        &["--ecs", "dev", "--token-file", token_file.to_str().unwrap()],
    );
    let port = s.port();
    assert_eq!(
        s.var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
        token_file.to_str().unwrap()
    );
    assert!(!s.vars.contains_key("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert!(token.len() >= 32 && !token.ends_with('\n'), "{token:?}");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let url = s.var("AWS_CONTAINER_CREDENTIALS_FULL_URI").to_string();
    let path = &url[url.find(&format!(":{port}")).unwrap() + port.to_string().len() + 1..];
    let host = format!("Host: 127.0.0.1:{port}");
    let get = |extra: &str| http(port, &format!("GET {path} HTTP/1.1\n{host}\n{extra}"));
    let is_error_doc = |r: &Reply| {
        let d = r.json();
        assert!(d["Code"].is_string() && d["Message"].is_string(), "{r:?}");
        assert_eq!(r.header("content-type"), Some("application/json"));
    };

    let r = get("");
    assert_eq!(r.status, 401);
    is_error_doc(&r);
    for wrong in [
        "Authorization: wrong",
        &format!("Authorization: Bearer {token}"),
        &format!("Authorization: {token}x"),
    ] {
        let r = get(wrong);
        assert_eq!(r.status, 403, "{wrong}");
        is_error_doc(&r);
    }
    let r = http(
        port,
        &format!("GET {path} HTTP/1.1\nHost: evil.example:{port}\nAuthorization: {token}"),
    );
    assert_eq!(r.status, 403);
    is_error_doc(&r);
    let ok = get(&format!("Authorization: {token}"));
    assert_eq!(ok.status, 200, "{ok:?}");
    let doc = ok.json();
    for k in ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"] {
        assert!(doc[k].as_str().is_some_and(|v| !v.is_empty()), "{k}");
    }
    assert_eq!(doc["AccountId"], w.peer.account_id());
    assert_eq!(doc["RoleArn"], w.peer.role_arn("dev").as_str());
    let r = http(
        port,
        &format!("GET /other HTTP/1.1\n{host}\nAuthorization: {token}"),
    );
    assert_eq!(r.status, 404);
    let r = http(
        port,
        &format!("POST {path} HTTP/1.1\n{host}\nAuthorization: {token}\nContent-Length: 2\n\nab"),
    );
    assert_eq!(r.status, 405);
    assert!(TcpStream::connect(("127.0.0.2", port)).is_err());

    // The MFA session ends: the endpoint answers an error saying what to do, and prompts nobody.
    let sessions = w.peer.count("GetSessionToken");
    let out = w.run(&["logout", "dev"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let started = Instant::now();
    let r = get(&format!("Authorization: {token}"));
    assert_eq!(r.status, 503, "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let d = r.json();
    assert_eq!(d["Code"], "MfaSessionEnded", "{d}");
    assert!(
        d["Message"].as_str().unwrap().contains("awsenv login dev"),
        "{d}"
    );
    assert_eq!(
        w.peer.count("GetSessionToken"),
        sessions,
        "no STS call without a code"
    );
    assert!(s.stderr().contains("awsenv login dev"), "{}", s.stderr());

    // Logged in again, the same endpoint serves again.
    w.peer.set_mfa_code("234567");
    assert!(w
        .run(&["login", "dev", "--token-code", "234567"], &[])
        .status
        .success());
    assert_eq!(get(&format!("Authorization: {token}")).status, 200);
    let (status, _) = s.stop();
    assert!(status.success());
    assert!(!token_file.exists(), "the token file is removed on exit");
}

// ---------------------------------------------------------------------------------------------
// credential_source.

#[test]
fn credential_source_reads_imds_and_container_endpoints() {
    if !common::in_session_keyring("credential_source_reads_imds_and_container_endpoints") {
        return;
    }
    let Some(w) = logged_in() else { return };
    let _stop = DaemonStop(&w);
    let chain2 = w.peer.role_arn("chain2");
    let config = w.home().join(".aws/config");
    let mut text = std::fs::read_to_string(&config).unwrap();
    for (name, source) in [
        ("fromimds", "Ec2InstanceMetadata"),
        ("fromecs", "EcsContainer"),
    ] {
        text.push_str(&format!(
            "\n[profile {name}]\nrole_arn = {chain2}\ncredential_source = {source}\nrole_session_name = {SESSION_NAME}\nregion = eu-west-1\n"
        ));
    }
    std::fs::write(&config, text).unwrap();

    // The "instance" is a second endpoint serving dev, as an EC2 instance profile would.
    let imds = Served::start(&w, &["--imds", "dev"]);
    let ecs = Served::start(&w, &["--ecs", "dev"]);
    let dev_key = w.creds("dev")["AccessKeyId"].as_str().unwrap().to_string();
    let role = format!("assumed-role/chain2/{SESSION_NAME}");

    let cases = [
        (
            "fromimds",
            vec![(
                "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                imds.var("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
            )],
            false,
        ),
        (
            "fromecs",
            vec![
                (
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    ecs.var("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
                ),
                (
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                    ecs.var("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
                ),
            ],
            true,
        ),
    ];
    for (profile, env, no_daemon) in cases {
        let before = w.peer.count("AssumeRole");
        // Through the daemon (which sees the caller's variables) and in-process.
        let mut args = vec!["export", profile, "--format", "json"];
        if no_daemon {
            args.push("--no-daemon");
        }
        let out = w.run(&args, &env);
        assert!(out.status.success(), "{profile}: {}", stderr(&out));
        let exported: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(
            w.peer.count("AssumeRole"),
            before + 1,
            "{profile}: one AssumeRole"
        );
        let assumed = w
            .peer
            .requests()
            .into_iter()
            .rfind(|r| r.action == "AssumeRole")
            .unwrap();
        assert_eq!(
            assumed.access_key_id.as_deref(),
            Some(dev_key.as_str()),
            "{profile}: signed with the served keys"
        );
        assert_eq!(assumed.status, Some(200));
        let mut whoami = vec!["whoami", profile, "--json"];
        if no_daemon {
            whoami.clear();
            whoami.extend(["whoami", "--json"]);
        }
        let keys: Vec<(&str, &str)> = if no_daemon {
            vec![
                (
                    "AWS_ACCESS_KEY_ID",
                    exported["AWS_ACCESS_KEY_ID"].as_str().unwrap(),
                ),
                (
                    "AWS_SECRET_ACCESS_KEY",
                    exported["AWS_SECRET_ACCESS_KEY"].as_str().unwrap(),
                ),
                (
                    "AWS_SESSION_TOKEN",
                    exported["AWS_SESSION_TOKEN"].as_str().unwrap(),
                ),
            ]
        } else {
            env.clone()
        };
        let out = w.run(&whoami, &keys);
        assert!(out.status.success(), "{profile}: {}", stderr(&out));
        let id: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert!(
            id["Arn"].as_str().unwrap().contains(&role),
            "{profile}: {id}"
        );
    }

    // Without an endpoint, or with one the SDKs would refuse, the message says why.
    for profile in ["fromimds", "fromecs"] {
        assert!(w.run(&["logout", profile], &[]).status.success());
    }
    let out = w.run(
        &["export", "fromimds", "--no-daemon"],
        &[("AWS_EC2_METADATA_DISABLED", "true")],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("AWS_EC2_METADATA_DISABLED"),
        "{}",
        stderr(&out)
    );
    let out = w.run(
        &["export", "fromecs", "--no-daemon"],
        &[(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://192.0.2.1/creds",
        )],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("plain http is allowed only to loopback"),
        "{}",
        stderr(&out)
    );
    let out = w.run(
        &["export", "fromecs", "--no-daemon"],
        &[
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                ecs.var("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong"),
        ],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("403"), "{}", stderr(&out));
}

/// Loopback is shared by every user of the machine: on Linux the endpoints also check who is at the
/// other end (`/proc/net/tcp`) and serve only their own user and root. Needs root to act as another
/// user (`setpriv`); runs outside the keyring sandbox (its uid map has no other user), with a
/// `credential_process` profile and `--no-daemon`, so no keychain is involved.
#[test]
fn other_users_are_refused() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Some(setpriv) = common::require_program("setpriv") else {
        return;
    };
    let Some(bash) = common::require_program("bash") else {
        return;
    };
    let out = std::process::Command::new("id").arg("-u").output().unwrap();
    if stdout(&out).trim() != "0" {
        eprintln!("SKIP: acting as another user needs root");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let creds = common::write_file(
        home.path(),
        "fake-creds",
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"ASIAFAKEFAKEFAKE0001\", \"SecretAccessKey\": \"s\", \"SessionToken\": \"t\", \"Expiration\": \"2099-01-01T00:00:00Z\"}'\n",
    );
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o755)).unwrap();
    common::write_file(
        home.path(),
        ".aws/config",
        &format!("[profile fake]\ncredential_process = {}\n", creds.display()),
    );
    let env_file = home.path().join("fake.env");
    let mut cmd = std::process::Command::new(common::bin("awsenv"));
    cmd.args(["serve", "--ecs", "fake", "--no-daemon", "--env-file"])
        .arg(&env_file)
        .env_clear()
        .env("HOME", home.path())
        .env("AWSENV_KEYCHAIN", "keyutils")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null());
    let s = Served::spawn(cmd, env_file);
    let port = s.port();
    let token = s.var("AWS_CONTAINER_AUTHORIZATION_TOKEN").to_string();
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/{port}; printf 'GET /credentials HTTP/1.1\\r\\nHost: 127.0.0.1:{port}\\r\\nAuthorization: {token}\\r\\n\\r\\n' >&3; cat <&3"
    );
    let as_user = |uid: &str| {
        let out = std::process::Command::new(&setpriv)
            .args([
                &format!("--reuid={uid}"),
                &format!("--regid={uid}"),
                "--clear-groups",
            ])
            .arg(&bash)
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let theirs = as_user("65534");
    assert!(theirs.starts_with("HTTP/1.1 403 "), "{theirs}");
    assert!(theirs.contains("\"Code\":\"Forbidden\""), "{theirs}");
    assert!(!theirs.contains("ASIAFAKE"), "{theirs}");
    let ours = as_user("0");
    assert!(ours.starts_with("HTTP/1.1 200 "), "{ours}");
    assert!(ours.contains("ASIAFAKEFAKEFAKE0001"), "{ours}");
    assert!(
        s.stderr().contains("refused a request from another user"),
        "{}",
        s.stderr()
    );
}
