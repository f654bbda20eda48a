//! `awsenv-credential-process PROFILE`: the `credential_process` client on the hot path of every `aws`
//! command. Standard library only, on purpose: it must start and answer in about a millisecond.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let profile = match (args.next(), args.next()) {
        (Some(p), None) if !p.is_empty() => p,
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "usage: awsenv-credential-process PROFILE (use it as `credential_process = awsenv-credential-process PROFILE` in ~/.aws/config)"
            );
            return ExitCode::from(2);
        }
    };
    let _ = writeln!(
        std::io::stderr(),
        "awsenv-credential-process: serving credentials through the awsenv daemon is not implemented yet; for profile {} use `awsenv credential-process {}` when it lands",
        profile.to_string_lossy(),
        profile.to_string_lossy()
    );
    ExitCode::from(1)
}
