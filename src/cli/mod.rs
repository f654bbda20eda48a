//! The `awsenv` command line: clap definitions and dispatch. Each subcommand lives in its own file
//! with its own args struct and a `run`.

use std::process::ExitCode;

pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
