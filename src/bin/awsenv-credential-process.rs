//! `awsenv-credential-process PROFILE`: the `credential_process` client on the hot path of every `aws`
//! command. Standard library only, on purpose: it connects to the awsenv daemon, asks for the
//! profile's credentials, prints the JSON and exits — about a millisecond on a cache hit. When the
//! daemon asks for an MFA code it prompts on `/dev/tty`; when no daemon answers it starts one.

#[path = "../thin/mod.rs"]
mod thin;

use std::io::Write;
use std::process::ExitCode;

use thin::client::{self, ClientError};
use thin::json::Json;
use thin::wire;

fn fail(msg: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "awsenv-credential-process: {msg}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let profile = match (args.next(), args.next()) {
        (Some(p), None) if !p.is_empty() && !p.starts_with('-') => p,
        (Some(v), None) if v == "--version" => {
            println!("awsenv-credential-process {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "usage: awsenv-credential-process PROFILE\n(in ~/.aws/config: credential_process = awsenv-credential-process PROFILE)"
            );
            return ExitCode::from(2);
        }
    };
    let get = |k: &str| std::env::var(k).ok();
    let socket = thin::paths::current_socket_path();
    let request = wire::message(vec![
        ("op", wire::s("credentials")),
        ("profile", wire::s(&profile)),
        ("env", wire::forwarded_env(&get)),
    ]);
    let mut reply = client::request(&socket, &request, &get);
    if reply == Err(ClientError::NotRunning) {
        let Some(awsenv) = client::find_awsenv(std::env::current_exe().ok(), get("PATH")) else {
            return fail(&format!(
                "no awsenv daemon answers at {} and the `awsenv` command is neither beside this program nor on PATH — install awsenv, or run `awsenv daemon start`",
                socket.display()
            ));
        };
        if let Err(e) = client::start_daemon(&awsenv, &socket) {
            return fail(&format!(
                "{e} — run `{} daemon run` in a terminal to see why",
                awsenv.display()
            ));
        }
        reply = client::request(&socket, &request, &get);
    }
    match reply {
        Ok(msg) => match msg.get("credentials") {
            Some(creds @ Json::Object(_)) => {
                let mut out = creds.to_text();
                out.push('\n');
                let mut stdout = std::io::stdout().lock();
                if stdout.write_all(out.as_bytes()).and_then(|_| stdout.flush()).is_err() {
                    return ExitCode::FAILURE;
                }
                ExitCode::SUCCESS
            }
            _ => fail("the awsenv daemon's answer has no credentials; restart it with `awsenv daemon stop`"),
        },
        Err(e) => fail(&e.to_string()),
    }
}
