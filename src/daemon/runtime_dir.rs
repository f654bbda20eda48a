//! The daemon's folder: created 0700, and refused when it is a symlink, belongs to someone else or
//! lets others in — another user who could create or replace the socket could serve us fake
//! credentials or read real ones.

use std::fs::{self, DirBuilder, File};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why the folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    #[error("{path} is a symbolic link; awsenv keeps its socket only in a real folder — remove the link")]
    Symlink { path: PathBuf },
    #[error("{path} belongs to user {owner}, not to you ({me}) — remove it, or set AWSENV_SOCKET elsewhere")]
    Owner { path: PathBuf, owner: u32, me: u32 },
    #[error("{path} can be entered by other users (mode {mode:o}) — run `chmod 700 {path}`")]
    Loose { path: PathBuf, mode: u32 },
    #[error("cannot create {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "an awsenv daemon is already running (it holds {path}); `awsenv daemon status` shows it"
    )]
    AlreadyRunning { path: PathBuf },
}

/// Creates (if needed) and checks the folder.
pub fn prepare(dir: &Path, uid: u32) -> Result<(), DirError> {
    match DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(DirError::Create {
                path: dir.to_path_buf(),
                source,
            })
        }
    }
    check(dir, uid)
}

/// Checks an existing folder.
pub fn check(dir: &Path, uid: u32) -> Result<(), DirError> {
    let meta = fs::symlink_metadata(dir).map_err(|source| DirError::Create {
        path: dir.to_path_buf(),
        source,
    })?;
    if meta.file_type().is_symlink() {
        return Err(DirError::Symlink {
            path: dir.to_path_buf(),
        });
    }
    if meta.uid() != uid {
        return Err(DirError::Owner {
            path: dir.to_path_buf(),
            owner: meta.uid(),
            me: uid,
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(DirError::Loose {
            path: dir.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// The lock that makes the daemon single: held for its whole life, released by the kernel when the
/// process ends however it ends.
pub fn lock(dir: &Path) -> Result<File, DirError> {
    let path = dir.join("daemon.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| DirError::Create {
            path: path.clone(),
            source,
        })?;
    if try_lock_exclusive(&file) {
        Ok(file)
    } else {
        Err(DirError::AlreadyRunning { path })
    }
}

/// `flock(LOCK_EX | LOCK_NB)`, which is what `File::try_lock` does; that needs Rust 1.89, newer than
/// the crate's `rust-version`.
fn try_lock_exclusive(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    extern "C" {
        fn flock(fd: i32, operation: i32) -> i32;
    }
    // The same values on Linux and macOS.
    const LOCK_EX: i32 = 2;
    const LOCK_NB: i32 = 4;
    // SAFETY: flock(2) reads no memory; the descriptor stays open (borrowed) for the call.
    unsafe { flock(file.as_raw_fd(), LOCK_EX | LOCK_NB) == 0 }
}

/// Sets a file's mode (the socket's 0600).
pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}
