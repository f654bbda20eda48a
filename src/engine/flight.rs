//! Single-flight locks: one STS call per cache key, and one MFA prompt per device, however many
//! callers ask at once. Callers that find a lock taken wait for it and then read what the holder
//! cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// A map of named async locks.
#[derive(Default)]
pub struct Flights {
    locks: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

impl Flights {
    fn entry(&self, name: &str) -> Arc<AsyncMutex<()>> {
        self.locks
            .lock()
            .expect("not poisoned")
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    /// Takes the lock `name`, waiting as long as it takes.
    pub async fn lock(&self, name: &str) -> OwnedMutexGuard<()> {
        self.entry(name).lock_owned().await
    }

    /// Takes the lock `name` if it is free.
    pub fn try_lock(&self, name: &str) -> Option<OwnedMutexGuard<()>> {
        self.entry(name).try_lock_owned().ok()
    }
}
