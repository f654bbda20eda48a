//! The raw stores under the [`super::Keychain`]: one item per account string, holding bytes. Each
//! backend is a `keyring` credential type used directly (not `keyring`'s process-wide default), so
//! one process can pick its backend at run time.
//!
//! | backend        | item                                                                    |
//! |----------------|-------------------------------------------------------------------------|
//! | Secret Service | attributes `service=awsenv`, `username=<account>`, `target=default` (+ `awsenv:*` for people), in the default collection |
//! | keyutils       | a `user` key described `awsenv:<account>` in the session keyring, linked into the user's persistent keyring |
//! | macOS Keychain | a generic password, service `awsenv`, account `<account>`               |

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{Backend, KeychainError};

/// What people see of an item in a keychain viewer (Seahorse shows the label and the attributes).
/// Only the Secret Service stores it; the other backends have nowhere to put it.
#[derive(Debug, Clone, Default)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub struct ItemInfo {
    pub label: String,
    pub attributes: Vec<(&'static str, String)>,
}

/// One backend's items, addressed by account string.
pub trait Store: Send + Sync {
    /// The item's bytes; `None` when there is no item.
    fn read(&self, account: &str) -> Result<Option<Vec<u8>>, KeychainError>;
    /// Whether the item exists, without reading (or unlocking) it.
    fn exists(&self, account: &str) -> Result<bool, KeychainError>;
    /// Creates or replaces the item.
    fn write(&self, account: &str, info: &ItemInfo, value: String) -> Result<(), KeychainError>;
    /// Removes the item; `false` when there was none.
    fn remove(&self, account: &str) -> Result<bool, KeychainError>;
    /// Every account the backend can find by itself, when it can search (the Secret Service);
    /// `None` when it cannot, and the index entry is all there is.
    fn search(&self) -> Result<Option<Vec<String>>, KeychainError> {
        Ok(None)
    }
}

/// Turns a `keyring` error into ours. `NoEntry` must be handled by the caller first.
fn from_keyring(backend: Backend, account: &str, err: keyring::Error) -> KeychainError {
    match err {
        keyring::Error::Ambiguous(items) => KeychainError::Corrupt {
            key: account.to_string(),
            reason: format!(
                "{} items in the {backend} match it, where awsenv keeps one",
                items.len()
            ),
        },
        keyring::Error::BadEncoding(_) => KeychainError::Corrupt {
            key: account.to_string(),
            reason: "it is not UTF-8 text".into(),
        },
        keyring::Error::NoStorageAccess(e) => {
            let detail = e.to_string();
            if backend.locks() && looks_locked(&detail) {
                KeychainError::Locked { backend }
            } else {
                KeychainError::AccessDenied { backend, detail }
            }
        }
        keyring::Error::PlatformFailure(e) => {
            let detail = e.to_string();
            if backend.locks() && looks_locked(&detail) {
                KeychainError::Locked { backend }
            } else {
                KeychainError::Backend { backend, detail }
            }
        }
        other => KeychainError::Backend {
            backend,
            detail: other.to_string(),
        },
    }
}

/// Whether a backend message means "locked": the Secret Service's `IsLocked` error, or macOS's
/// "user interaction is not allowed" (-25308), which a locked Keychain gives without a UI.
fn looks_locked(detail: &str) -> bool {
    detail.contains("IsLocked")
        || detail.contains("object locked")
        || detail.contains("-25308")
        || detail
            .to_ascii_lowercase()
            .contains("interaction is not allowed")
}

/// Items in memory, for tests and for callers that must not touch the OS keychain. Not shared
/// between processes and gone at exit.
#[derive(Default)]
pub struct MemoryStore {
    items: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    /// Stores raw bytes, bypassing the JSON format (tests use it to plant corrupt entries).
    #[cfg(test)]
    pub fn put_raw(&self, account: &str, bytes: &[u8]) {
        self.lock().insert(account.to_string(), bytes.to_vec());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        // A panic while holding the lock cannot leave the map half-written: recover it.
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemoryStore {
    fn read(&self, account: &str) -> Result<Option<Vec<u8>>, KeychainError> {
        Ok(self.lock().get(account).cloned())
    }

    fn exists(&self, account: &str) -> Result<bool, KeychainError> {
        Ok(self.lock().contains_key(account))
    }

    fn write(&self, account: &str, _: &ItemInfo, value: String) -> Result<(), KeychainError> {
        self.lock().insert(account.to_string(), value.into_bytes());
        Ok(())
    }

    fn remove(&self, account: &str) -> Result<bool, KeychainError> {
        Ok(self.lock().remove(account).is_some())
    }
}

#[cfg(target_os = "linux")]
pub use linux::{KeyutilsStore, SecretServiceStore};

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::HashMap;

    use keyring::keyutils::KeyutilsCredential;
    use keyring::secret_service::SsCredential;
    use keyring::Entry;

    use super::super::secret_service::{self as ss, with_deadline, DEADLINE};
    use super::{from_keyring, ItemInfo, Store};
    use crate::edge::keychain::{Backend, KeychainError, SERVICE};

    /// The kernel key retention service. Keys live in the session keyring and are linked into the
    /// user's persistent keyring (as `keyring` does), so a new login of the same user finds them
    /// until the persistent keyring expires (`/proc/sys/kernel/keys/persistent_keyring_expiry`,
    /// three days unused by default) or the machine reboots.
    pub struct KeyutilsStore;

    impl KeyutilsStore {
        fn credential(account: &str) -> Result<KeyutilsCredential, KeychainError> {
            let description = format!("{SERVICE}:{account}");
            KeyutilsCredential::new_with_target(Some(&description), SERVICE, account)
                .map_err(|e| from_keyring(Backend::Keyutils, account, e))
        }
    }

    impl Store for KeyutilsStore {
        fn read(&self, account: &str) -> Result<Option<Vec<u8>>, KeychainError> {
            let entry = Entry::new_with_credential(Box::new(Self::credential(account)?));
            match entry.get_secret() {
                Ok(bytes) => Ok(Some(bytes)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(from_keyring(Backend::Keyutils, account, e)),
            }
        }

        fn exists(&self, account: &str) -> Result<bool, KeychainError> {
            match Self::credential(account)?.get_credential() {
                Ok(_) => Ok(true),
                Err(keyring::Error::NoEntry) => Ok(false),
                Err(e) => Err(from_keyring(Backend::Keyutils, account, e)),
            }
        }

        fn write(&self, account: &str, _: &ItemInfo, value: String) -> Result<(), KeychainError> {
            let entry = Entry::new_with_credential(Box::new(Self::credential(account)?));
            entry
                .set_secret(value.as_bytes())
                .map_err(|e| from_keyring(Backend::Keyutils, account, e))
        }

        fn remove(&self, account: &str) -> Result<bool, KeychainError> {
            let entry = Entry::new_with_credential(Box::new(Self::credential(account)?));
            match entry.delete_credential() {
                Ok(()) => Ok(true),
                Err(keyring::Error::NoEntry) => Ok(false),
                Err(e) => Err(from_keyring(Backend::Keyutils, account, e)),
            }
        }
    }

    /// The freedesktop Secret Service (GNOME Keyring, KWallet, KeePassXC) through `keyring`, with a
    /// look before every operation so that a locked item or collection is reported instead of
    /// unlocked: `keyring` would open an unlock prompt and wait for it.
    pub struct SecretServiceStore;

    const B: Backend = Backend::SecretService;

    /// What identifies awsenv's item for `account`. Without `target`, so that an item another tool
    /// stored under the same service and user (keyring's v1 layout) is found and replaced too.
    fn lookup(account: &str) -> HashMap<&str, &str> {
        HashMap::from([("service", SERVICE), ("username", account)])
    }

    fn bus_error(e: zbus::Error) -> KeychainError {
        let detail = e.to_string();
        if ss::says_locked(&detail) {
            return KeychainError::Locked { backend: B };
        }
        if detail.contains("ServiceUnknown") {
            return KeychainError::NoBackend {
                reason: "no Secret Service provider (GNOME Keyring, KWallet, KeePassXC) on the \
                         D-Bus session bus — start one, or choose the kernel keyring with \
                         AWSENV_KEYCHAIN=keyutils"
                    .into(),
            };
        }
        match e {
            zbus::Error::Address(_) | zbus::Error::InputOutput(_) | zbus::Error::Handshake(_) => {
                KeychainError::NoBackend {
                    reason: format!(
                        "cannot reach the D-Bus session bus for the Secret Service ({detail}) — \
                         run awsenv inside your desktop session, or choose the kernel keyring with \
                         AWSENV_KEYCHAIN=keyutils"
                    ),
                }
            }
            _ => KeychainError::Backend { backend: B, detail },
        }
    }

    /// Looks `account` up: `Ok(false)` when absent, `Ok(true)` when present and unlocked.
    fn look(conn: &zbus::blocking::Connection, account: &str) -> Result<bool, KeychainError> {
        let (unlocked, locked) = ss::search(conn, &lookup(account)).map_err(bus_error)?;
        if !locked.is_empty() {
            return Err(KeychainError::Locked { backend: B });
        }
        Ok(!unlocked.is_empty())
    }

    /// The credential `keyring` uses for `account`, with a label and attributes for people.
    fn credential(account: &str, info: &ItemInfo) -> Result<SsCredential, KeychainError> {
        let mut cred = SsCredential::new_with_target(None, SERVICE, account)
            .map_err(|e| from_keyring(B, account, e))?;
        if !info.label.is_empty() {
            cred.label = info.label.clone();
        }
        for (name, value) in &info.attributes {
            cred.attributes.insert((*name).to_string(), value.clone());
        }
        Ok(cred)
    }

    fn run<T, F>(f: F) -> Result<T, KeychainError>
    where
        T: Send + 'static,
        F: FnOnce(&zbus::blocking::Connection) -> Result<T, KeychainError> + Send + 'static,
    {
        with_deadline(DEADLINE, move || {
            let conn = ss::connect_session().map_err(bus_error)?;
            f(&conn)
        })
        .map_err(|_| KeychainError::Timeout {
            backend: B,
            after: DEADLINE,
        })?
    }

    impl Store for SecretServiceStore {
        fn read(&self, account: &str) -> Result<Option<Vec<u8>>, KeychainError> {
            let account = account.to_string();
            run(move |conn| {
                if !look(conn, &account)? {
                    return Ok(None);
                }
                let entry = Entry::new_with_credential(Box::new(credential(
                    &account,
                    &ItemInfo::default(),
                )?));
                match entry.get_secret() {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(keyring::Error::NoEntry) => Ok(None),
                    Err(e) => Err(from_keyring(B, &account, e)),
                }
            })
        }

        fn exists(&self, account: &str) -> Result<bool, KeychainError> {
            let account = account.to_string();
            run(move |conn| {
                let (unlocked, locked) = ss::search(conn, &lookup(&account)).map_err(bus_error)?;
                Ok(!unlocked.is_empty() || !locked.is_empty())
            })
        }

        fn write(
            &self,
            account: &str,
            info: &ItemInfo,
            value: String,
        ) -> Result<(), KeychainError> {
            let account = account.to_string();
            let info = info.clone();
            run(move |conn| {
                if !look(conn, &account)? {
                    // A new item goes into the default collection: it must exist and be unlocked,
                    // or `keyring` would prompt.
                    match ss::default_collection(conn).map_err(bus_error)? {
                        None => return Err(no_default_keyring()),
                        Some(c) => {
                            if ss::collection_locked(conn, c.as_str()).map_err(bus_error)? {
                                return Err(KeychainError::Locked { backend: B });
                            }
                        }
                    }
                }
                let cred = credential(&account, &info)?;
                let entry = Entry::new_with_credential(Box::new(cred.clone()));
                match entry.set_secret(value.as_bytes()) {
                    Ok(()) => Ok(()),
                    // Several items match (another tool's beside ours): replace them all by one.
                    Err(keyring::Error::Ambiguous(_)) => {
                        cred.delete_all_passwords()
                            .map_err(|e| from_keyring(B, &account, e))?;
                        entry
                            .set_secret(value.as_bytes())
                            .map_err(|e| from_keyring(B, &account, e))
                    }
                    Err(e) => Err(from_keyring(B, &account, e)),
                }
            })
        }

        fn remove(&self, account: &str) -> Result<bool, KeychainError> {
            let account = account.to_string();
            run(move |conn| {
                if !look(conn, &account)? {
                    return Ok(false);
                }
                let cred = credential(&account, &ItemInfo::default())?;
                match cred.delete_all_passwords() {
                    Ok(()) => Ok(true),
                    Err(keyring::Error::NoEntry) => Ok(false),
                    Err(e) => Err(from_keyring(B, &account, e)),
                }
            })
        }

        fn search(&self) -> Result<Option<Vec<String>>, KeychainError> {
            run(|conn| {
                let (unlocked, locked) =
                    ss::search(conn, &HashMap::from([("service", SERVICE)])).map_err(bus_error)?;
                if !locked.is_empty() {
                    return Err(KeychainError::Locked { backend: B });
                }
                let mut accounts = Vec::new();
                for item in unlocked {
                    let attributes = ss::item_attributes(conn, item.as_str()).map_err(bus_error)?;
                    if let Some(user) = attributes.get("username") {
                        accounts.push(user.clone());
                    }
                }
                Ok(Some(accounts))
            })
        }
    }

    fn no_default_keyring() -> KeychainError {
        KeychainError::NoBackend {
            reason: "the Secret Service has no default keyring to store into — create one (in \
                     Seahorse: + → Password keyring, then \"Set as default\"), or choose the kernel \
                     keyring with AWSENV_KEYCHAIN=keyutils"
                .into(),
        }
    }
}

#[cfg(target_os = "macos")]
pub use macos::MacosStore;

#[cfg(target_os = "macos")]
mod macos {
    use keyring::macos::MacCredential;
    use keyring::Entry;

    use super::{from_keyring, ItemInfo, Store};
    use crate::edge::keychain::{Backend, KeychainError, SERVICE};

    /// The login Keychain: generic passwords under service `awsenv`.
    pub struct MacosStore;

    const B: Backend = Backend::MacosKeychain;

    fn credential(account: &str) -> Result<MacCredential, KeychainError> {
        MacCredential::new_with_target(None, SERVICE, account)
            .map_err(|e| from_keyring(B, account, e))
    }

    impl Store for MacosStore {
        fn read(&self, account: &str) -> Result<Option<Vec<u8>>, KeychainError> {
            let entry = Entry::new_with_credential(Box::new(credential(account)?));
            match entry.get_secret() {
                Ok(bytes) => Ok(Some(bytes)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(from_keyring(B, account, e)),
            }
        }

        fn exists(&self, account: &str) -> Result<bool, KeychainError> {
            match credential(account)?.get_credential() {
                Ok(_) => Ok(true),
                Err(keyring::Error::NoEntry) => Ok(false),
                Err(e) => Err(from_keyring(B, account, e)),
            }
        }

        fn write(&self, account: &str, _: &ItemInfo, value: String) -> Result<(), KeychainError> {
            let entry = Entry::new_with_credential(Box::new(credential(account)?));
            entry
                .set_secret(value.as_bytes())
                .map_err(|e| from_keyring(B, account, e))
        }

        fn remove(&self, account: &str) -> Result<bool, KeychainError> {
            let entry = Entry::new_with_credential(Box::new(credential(account)?));
            match entry.delete_credential() {
                Ok(()) => Ok(true),
                Err(keyring::Error::NoEntry) => Ok(false),
                Err(e) => Err(from_keyring(B, account, e)),
            }
        }
    }
}
