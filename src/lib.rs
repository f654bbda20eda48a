//! awsenv: an AWS credential helper that asks for an MFA code once, keeps the resulting STS sessions in
//! the OS keychain and hands credentials to every shell and SDK.
//!
//! The crate is layered; nothing below imports anything above:
//!
//! - [`core`]: pure and synchronous — the shared config grammar and model, profile resolution into a
//!   [`core::plan::Plan`], SigV4, STS request and response shapes, retry policy. No I/O, fully testable.
//! - [`edge`]: I/O edges — reading the AWS files, HTTP to STS.
//! - [`engine`]: runs a plan — base keys, the cached MFA session, role hops — over the edges.
//! - [`daemon`]: the per-user daemon that shares one cache among every caller.
//! - [`cli`]: the `awsenv` commands, one file each.
//! - [`thin`]: std-only pieces shared with the `awsenv-credential-process` binary.

pub mod cli;
pub mod core;
pub mod daemon;
pub mod edge;
pub mod engine;
pub mod thin;
