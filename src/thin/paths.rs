//! Where the daemon listens: `$AWSENV_SOCKET` when set; on Linux `$XDG_RUNTIME_DIR/awsenv/daemon.sock`;
//! elsewhere (macOS, or no runtime dir) `$TMPDIR/awsenv-$UID/daemon.sock`, the per-user temp dir.

use std::path::{Path, PathBuf};

/// The socket path, from the variables a caller passes (so tests need not touch the real environment).
pub fn socket_path(get: &dyn Fn(&str) -> Option<String>, uid: u32) -> PathBuf {
    if let Some(p) = get("AWSENV_SOCKET").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    runtime_dir(get, uid).join("daemon.sock")
}

/// The folder that holds the socket (and nothing else).
pub fn runtime_dir(get: &dyn Fn(&str) -> Option<String>, uid: u32) -> PathBuf {
    if let Some(p) = get("AWSENV_SOCKET").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return p.parent().map(PathBuf::from).unwrap_or(p);
    }
    if let Some(dir) = get("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("awsenv");
    }
    let tmp = get("TMPDIR")
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "/tmp".to_string());
    PathBuf::from(tmp).join(format!("awsenv-{uid}"))
}

/// Whether the socket's folder is one only `uid` controls, by the rule the daemon applies to the folder
/// it binds in (a real folder, ours, closed to others). A socket anywhere else may belong to someone
/// else's daemon, which could hand out their credentials and read our MFA codes, so clients do not
/// connect to it. `Ok(false)`: the folder does not exist yet (no daemon runs).
pub fn check_socket_dir(dir: &Path, uid: u32) -> Result<bool, String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let shown = dir.display();
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(format!(
                "cannot check the awsenv daemon's folder {shown}: {e}"
            ))
        }
    };
    let mode = meta.permissions().mode() & 0o777;
    if meta.file_type().is_symlink() {
        Err(format!(
            "{shown} is a symbolic link; awsenv keeps its socket only in a real folder — remove the link"
        ))
    } else if meta.uid() != uid {
        Err(format!(
            "{shown} belongs to user {}, not to you ({uid}), so its socket may not be your awsenv daemon — remove it, or set AWSENV_SOCKET elsewhere",
            meta.uid()
        ))
    } else if mode & 0o077 != 0 {
        Err(format!(
            "{shown} can be entered by other users (mode {mode:o}) — run `chmod 700 {shown}`"
        ))
    } else {
        Ok(true)
    }
}

/// The socket path for this process's environment and user.
pub fn current_socket_path() -> PathBuf {
    socket_path(&|k| std::env::var(k).ok(), current_uid())
}

/// The real user id, without libc: the owner of `/proc/self` on Linux; elsewhere the owner of a file
/// this process creates.
pub fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    if let Ok(m) = std::fs::metadata("/proc/self") {
        return m.uid();
    }
    let probe = std::env::temp_dir().join(format!("awsenv-uid-{}", std::process::id()));
    let uid = std::fs::File::create(&probe)
        .and_then(|_| std::fs::metadata(&probe))
        .map(|m| m.uid())
        .unwrap_or(u32::MAX);
    let _ = std::fs::remove_file(&probe);
    uid
}
