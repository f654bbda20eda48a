//! Reads the shared config and credentials files from where the environment says they are.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::core::config::{ConfigError, FileKind, ProfileSet, SourceFile};
use crate::core::env::Env;
use crate::core::location::{locate, Locations, Platform};

/// The files as read, with the model built from them.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub profiles: ProfileSet,
    pub locations: Locations,
    /// Which of the two files exist.
    pub config_exists: bool,
    pub credentials_exists: bool,
}

/// Why the files could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the AWS {kind} {path}: {source} — check its permissions")]
    Read {
        kind: FileKind,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the AWS {kind} {path} is not valid UTF-8 — save it as UTF-8")]
    NotUtf8 { kind: FileKind, path: PathBuf },
    #[error(transparent)]
    Syntax(#[from] ConfigError),
}

fn read(kind: FileKind, path: &Path) -> Result<Option<String>, LoadError> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| LoadError::NotUtf8 {
                kind,
                path: path.to_path_buf(),
            }),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LoadError::Read {
            kind,
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Reads both files (a missing file is simply empty).
pub fn load(env: &Env) -> Result<Loaded, LoadError> {
    let locations = locate(env, Platform::current());
    let config_path = PathBuf::from(&locations.config);
    let credentials_path = PathBuf::from(&locations.credentials);
    let config = read(FileKind::Config, &config_path)?;
    let credentials = read(FileKind::Credentials, &credentials_path)?;
    let profiles = ProfileSet::parse(
        config.as_deref().map(|text| SourceFile {
            kind: FileKind::Config,
            path: &config_path,
            text,
        }),
        credentials.as_deref().map(|text| SourceFile {
            kind: FileKind::Credentials,
            path: &credentials_path,
            text,
        }),
    )?;
    Ok(Loaded {
        profiles,
        locations,
        config_exists: config.is_some(),
        credentials_exists: credentials.is_some(),
    })
}
