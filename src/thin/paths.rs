//! Where the daemon listens: `$AWSENV_SOCKET` when set; on Linux `$XDG_RUNTIME_DIR/awsenv/daemon.sock`;
//! elsewhere (macOS, or no runtime dir) `$TMPDIR/awsenv-$UID/daemon.sock`, the per-user temp dir.

use std::path::PathBuf;

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
