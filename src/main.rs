//! The `awsenv` command: parse, dispatch, turn an error into a message and an exit code.

fn main() -> std::process::ExitCode {
    awsenv::cli::main()
}
