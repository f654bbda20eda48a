//! Code shared with the std-only `awsenv-credential-process` binary, which includes this folder with
//! `#[path]` instead of linking the library: where the daemon's socket is, the wire format, and the
//! terminal side of an MFA prompt. Nothing here may use a crate other than `std`, nor `crate::` paths
//! outside this folder.

#![allow(dead_code)]

pub mod client;
pub mod json;
pub mod paths;
pub mod prompt;
pub mod wire;
