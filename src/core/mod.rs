//! The pure core: no file, network or process access happens here. Every function takes its inputs
//! (file text, an [`env::Env`] snapshot, the current time) as arguments, so all of it is testable with
//! plain values.

pub mod botocore_compat;
pub mod config;
pub mod credentials;
pub mod diagnosis;
pub mod endpoint;
pub mod env;
pub mod export;
pub mod file_edit;
pub mod http1;
pub mod location;
pub mod metadata;
pub mod plan;
pub mod profile_file;
pub mod provider_chain;
pub mod retry;
pub mod service_host;
pub mod session_key;
pub mod shell_words;
pub mod sigv4;
pub mod sts;
pub mod time;
