//! I/O edges: the only places that touch files, the network, the keychain or sockets. They call into
//! [`crate::core`] for every decision.

pub mod aws_files;
pub mod keychain;
pub mod metadata;
pub mod metadata_server;
pub mod settings;
pub mod sts_client;
