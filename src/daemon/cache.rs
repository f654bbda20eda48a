//! The daemon's cache: sessions in memory, written through to the keychain, so that a daemon killed
//! with SIGKILL loses nothing it had issued and the next one serves from the keychain.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::core::credentials::Credentials;
use crate::core::session_key::SessionKey;
use crate::engine::{SessionInfo, Vault, VaultError};

/// Runs a keychain call so that it does not stall the daemon: on the multi-threaded runtime the
/// worker hands its other tasks to another thread while the call blocks (a Secret Service call is a
/// D-Bus round trip; an unlock dialog may take minutes).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Memory in front of a persistent [`Vault`].
pub struct MemoryCache {
    inner: Arc<dyn Vault>,
    sessions: Mutex<HashMap<SessionKey, Credentials>>,
}

impl MemoryCache {
    pub fn new(inner: Arc<dyn Vault>) -> Self {
        MemoryCache {
            inner,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// How many sessions are held in memory.
    pub fn len(&self) -> usize {
        self.sessions.lock().expect("not poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Vault for MemoryCache {
    fn long_term_keys(&self, profile: &str) -> Result<Option<Credentials>, VaultError> {
        // Long-term keys are not kept in memory: they are read only when a new MFA session is made.
        blocking(|| self.inner.long_term_keys(profile))
    }

    fn session(&self, key: &SessionKey) -> Result<Option<Credentials>, VaultError> {
        if let Some(c) = self.sessions.lock().expect("not poisoned").get(key) {
            return Ok(Some(c.clone()));
        }
        let found = blocking(|| self.inner.session(key))?;
        if let Some(c) = &found {
            self.sessions
                .lock()
                .expect("not poisoned")
                .insert(key.clone(), c.clone());
        }
        Ok(found)
    }

    fn save_session(
        &self,
        key: &SessionKey,
        info: &SessionInfo,
        creds: &Credentials,
    ) -> Result<(), VaultError> {
        // Keychain first: what the memory holds is always also on disk.
        blocking(|| self.inner.save_session(key, info, creds))?;
        self.sessions
            .lock()
            .expect("not poisoned")
            .insert(key.clone(), creds.clone());
        Ok(())
    }

    fn delete_session(&self, key: &SessionKey) -> Result<(), VaultError> {
        self.sessions.lock().expect("not poisoned").remove(key);
        blocking(|| self.inner.delete_session(key))
    }

    fn delete_all_sessions(&self) -> Result<usize, VaultError> {
        self.sessions.lock().expect("not poisoned").clear();
        blocking(|| self.inner.delete_all_sessions())
    }

    fn has_keys(&self, profile: &str) -> bool {
        blocking(|| self.inner.has_keys(profile))
    }
}
