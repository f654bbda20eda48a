//! The OS keychain: long-term keys per profile and cached STS sessions, as versioned JSON in the
//! Secret Service (GNOME Keyring, KWallet), the kernel's keyutils or the macOS Keychain.
//!
//! **Backends.** [`Keychain::open`] picks one from `AWSENV_KEYCHAIN`, else `keychain =` in awsenv's
//! settings file ([`crate::edge::settings`]), else `auto`: the macOS Keychain on macOS; on Linux the
//! Secret Service when a provider answers on the D-Bus session bus, otherwise keyutils. The
//! [`Selection`] says which and why, and whether entries survive a reboot (`persistent`), so the
//! CLI can warn before it puts long-term keys where they will vanish.
//!
//! **Entries.** Everything is stored under the service name `awsenv`, one item per [`EntryKey`],
//! whose account string is stable and says what it is:
//!
//! | entry                       | account                      |
//! |-----------------------------|------------------------------|
//! | long-term keys of `dev`     | `keys/dev`                   |
//! | a cached session            | `session/<SessionKey>`, e.g. `session/mfa-3f2a…` or `session/role-9c01…` |
//! | the index (see listing)     | `index`                      |
//!
//! A [`SessionKey`] is `<mfa|role>-<128 bits of SHA-256>` over the canonical JSON of the source
//! (profile and where its keys come from), the MFA device, the chain of role ARNs (with session
//! names and external IDs) and the durations ([`crate::core::session_key`]): the same chain asked
//! for by two profiles shares one entry, and any change to the chain gives a new one. A read is one
//! lookup of that account, never an enumeration.
//!
//! **Values** are JSON with a version and a kind, `{"v":1,"kind":"long_term_keys"|"session"|"index",
//! …}` (the `record` submodule has the exact shapes); anything else found there (another tool's item,
//! a newer format, garbage) is reported as [`KeychainError::Corrupt`] and overwritten by the next
//! write. The JSON never goes into an error or a log line; `Debug` of the types here
//! redacts secrets.
//!
//! **Listing.** `keyring` cannot enumerate, so awsenv keeps an `index` entry: the set of accounts it
//! has written, updated on every write of a new account and on delete (read, change, write, then
//! read again to catch a concurrent writer). [`Keychain::list`] reads the index plus, on the Secret
//! Service, a native attribute search (`service=awsenv`), so there nothing is missed even if the
//! index is lost; entries listed in the index but gone are pruned from it. Listing and
//! [`Keychain::delete_all_sessions`] are the only operations that look at more than one entry.
//!
//! **Locks and prompts.** awsenv never asks a keychain to unlock: on the Secret Service, a locked
//! item or collection gives [`KeychainError::Locked`] at once (unlocking would open a prompt that
//! nobody can answer in a daemon or over SSH), and every Secret Service call has a deadline.
//!
//! **Threads.** [`Keychain`] is `Clone + Send + Sync`. Its calls block (a D-Bus round trip or a
//! syscall, normally milliseconds); async code must call them through `tokio::task::spawn_blocking`.

mod record;
#[cfg(target_os = "linux")]
mod secret_service;
mod select;
mod store;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::core::credentials::Credentials;
use crate::core::env::Env;
use crate::core::plan::KeyIndex;
use crate::core::session_key::SessionKey;
use crate::core::time::UtcTime;
use crate::edge::settings::SettingsError;
use store::{ItemInfo, MemoryStore, Store};

/// The service name every awsenv entry is stored under.
pub const SERVICE: &str = "awsenv";

/// A keychain backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The freedesktop Secret Service on the D-Bus session bus (GNOME Keyring, KWallet, KeePassXC).
    SecretService,
    /// The Linux kernel's key retention service: in memory, gone at reboot.
    Keyutils,
    /// The macOS login Keychain.
    MacosKeychain,
    /// A map in this process, for tests.
    Memory,
}

impl Backend {
    /// The name used in `AWSENV_KEYCHAIN` and the settings file.
    pub fn setting_name(self) -> &'static str {
        match self {
            Backend::SecretService => "secret-service",
            Backend::Keyutils => "keyutils",
            Backend::MacosKeychain => "macos",
            Backend::Memory => "memory",
        }
    }

    /// Whether entries survive a reboot.
    pub fn persistent(self) -> bool {
        matches!(self, Backend::SecretService | Backend::MacosKeychain)
    }

    /// Whether the backend can be locked (and so can answer "locked").
    fn locks(self) -> bool {
        matches!(self, Backend::SecretService | Backend::MacosKeychain)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::SecretService => "Secret Service",
            Backend::Keyutils => "kernel keyutils",
            Backend::MacosKeychain => "macOS Keychain",
            Backend::Memory => "in-memory store",
        })
    }
}

/// Which backend [`Keychain::open`] chose, and why, for the CLI to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub backend: Backend,
    /// One line for a person, e.g. "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS unset, …) →
    /// kernel keyutils; its entries vanish at reboot …".
    pub reason: String,
    /// Whether entries survive a reboot. When `false`, warn before storing long-term keys.
    pub persistent: bool,
}

/// What went wrong, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum KeychainError {
    #[error("{}", locked_message(*.backend))]
    Locked { backend: Backend },
    #[error("no keychain is available: {reason}")]
    NoBackend { reason: String },
    #[error("the {backend} denied awsenv access ({detail}) — allow it in the keychain's settings, or choose another keychain with AWSENV_KEYCHAIN")]
    AccessDenied { backend: Backend, detail: String },
    #[error("the {backend} failed: {detail}")]
    Backend { backend: Backend, detail: String },
    #[error("the {backend} did not answer within {}s — is it hung? Try again, or choose another keychain with AWSENV_KEYCHAIN", .after.as_secs())]
    Timeout { backend: Backend, after: Duration },
    #[error("the keychain entry `{key}` (service `awsenv`) is not a usable awsenv entry: {reason} — {}", replace_hint(.key))]
    Corrupt { key: String, reason: String },
    #[error("cannot store `{key}` in the keychain: {reason}")]
    Invalid { key: String, reason: String },
    #[error("{origin} is `{value}`, which is not a keychain awsenv knows — use auto, secret-service, keyutils or macos")]
    BadSetting { origin: String, value: String },
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

fn locked_message(backend: Backend) -> String {
    match backend {
        Backend::SecretService => "the GNOME keyring (Secret Service) is locked — unlock it (log in to the desktop, or `gnome-keyring-daemon --unlock`) and try again, or choose the kernel keyring with AWSENV_KEYCHAIN=keyutils".into(),
        Backend::MacosKeychain => "the macOS login Keychain is locked — unlock it (`security unlock-keychain`) and try again".into(),
        other => format!("the {other} is locked — unlock it and try again"),
    }
}

fn replace_hint(key: &str) -> String {
    match EntryKey::parse(key) {
        Some(EntryKey::LongTermKeys { profile }) => {
            format!("store the keys again with `awsenv add {profile}`, which replaces it")
        }
        Some(EntryKey::Session { .. }) => {
            "the next login for a profile that uses it replaces it".into()
        }
        _ => "the next write replaces it".into(),
    }
}

/// What an entry is; its [`EntryKey::account`] string is the keychain's account (user) field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKey {
    /// The long-term access keys of one profile (`awsenv add`).
    LongTermKeys { profile: String },
    /// A cached STS session: an MFA session or a role's credentials, keyed by the chain that made it.
    Session { key: SessionKey },
    /// The list of accounts awsenv has written (for listing).
    Index,
}

impl EntryKey {
    /// The account string: `keys/<profile>`, `session/<key>` or `index`. The prefix up to the first
    /// `/` says the kind, and everything after it is the name verbatim, so no two keys share one.
    pub fn account(&self) -> String {
        match self {
            EntryKey::LongTermKeys { profile } => format!("keys/{profile}"),
            EntryKey::Session { key } => format!("session/{}", key.as_str()),
            EntryKey::Index => "index".into(),
        }
    }

    /// The key an account string names (`None` for accounts awsenv does not write).
    pub fn parse(account: &str) -> Option<EntryKey> {
        if account == "index" {
            return Some(EntryKey::Index);
        }
        let (kind, name) = account.split_once('/')?;
        if name.is_empty() {
            return None;
        }
        match kind {
            "keys" => Some(EntryKey::LongTermKeys {
                profile: name.into(),
            }),
            "session" => Some(EntryKey::Session {
                key: SessionKey(name.into()),
            }),
            _ => None,
        }
    }
}

impl fmt::Display for EntryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.account())
    }
}

/// Which step made a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionKind {
    /// GetSessionToken with an MFA code.
    MfaSession,
    /// AssumeRole.
    Role,
}

impl SessionKind {
    /// `mfa_session` or `role`, as stored (and as the engine's `SessionInfo::kind` spells it).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::MfaSession => "mfa_session",
            SessionKind::Role => "role",
        }
    }

    pub fn parse(s: &str) -> Option<SessionKind> {
        match s {
            "mfa_session" => Some(SessionKind::MfaSession),
            "role" => Some(SessionKind::Role),
            _ => None,
        }
    }
}

/// Long-term keys as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKeys {
    pub profile: String,
    pub credentials: Credentials,
    /// When they were stored.
    pub issued: UtcTime,
}

/// A cached session as stored: the credentials (with a token and an expiration) and what made them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The profile whose step made it.
    pub profile: String,
    pub kind: SessionKind,
    pub mfa_serial: Option<String>,
    pub role_arn: Option<String>,
    pub issued: UtcTime,
    pub credentials: Credentials,
}

/// One entry as `awsenv list` shows it: what it is and until when, never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedEntry {
    pub key: EntryKey,
    /// The profile it belongs to (for sessions, the one whose step made it); `None` when unreadable.
    pub profile: Option<String>,
    /// For sessions: which step made it.
    pub session_kind: Option<SessionKind>,
    pub mfa_serial: Option<String>,
    pub role_arn: Option<String>,
    pub access_key_id: Option<String>,
    pub issued: Option<UtcTime>,
    pub expiration: Option<UtcTime>,
    /// Why the entry could not be read (it is corrupt or foreign); the other fields are then empty.
    pub problem: Option<String>,
}

impl ListedEntry {
    pub fn is_session(&self) -> bool {
        matches!(self.key, EntryKey::Session { .. })
    }

    fn unreadable(key: EntryKey, problem: String) -> Self {
        let profile = match &key {
            EntryKey::LongTermKeys { profile } => Some(profile.clone()),
            _ => None,
        };
        ListedEntry {
            key,
            profile,
            session_kind: None,
            mfa_serial: None,
            role_arn: None,
            access_key_id: None,
            issued: None,
            expiration: None,
            problem: Some(problem),
        }
    }
}

/// A handle on the chosen keychain. Cheap to clone; share it between threads.
#[derive(Clone)]
pub struct Keychain {
    store: Arc<dyn Store>,
    backend: Backend,
}

impl fmt::Debug for Keychain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keychain")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Keychain {
    /// Chooses the backend for `env` (see the module docs) and opens it. Only `auto` probes (one
    /// D-Bus connection on Linux); nothing is read or written yet.
    pub fn open(env: &Env) -> Result<(Keychain, Selection), KeychainError> {
        let selection = select::select(env)?;
        Ok((Keychain::with_backend(selection.backend)?, selection))
    }

    /// Opens the given backend without probing.
    pub fn with_backend(backend: Backend) -> Result<Keychain, KeychainError> {
        let store: Arc<dyn Store> = match backend {
            Backend::Memory => Arc::new(MemoryStore::default()),
            #[cfg(target_os = "linux")]
            Backend::SecretService => Arc::new(store::SecretServiceStore),
            #[cfg(target_os = "linux")]
            Backend::Keyutils => Arc::new(store::KeyutilsStore),
            #[cfg(target_os = "macos")]
            Backend::MacosKeychain => Arc::new(store::MacosStore),
            #[allow(unreachable_patterns)]
            other => {
                return Err(KeychainError::NoBackend {
                    reason: format!("the {other} is not available on {}", std::env::consts::OS),
                })
            }
        };
        Ok(Keychain { store, backend })
    }

    /// A keychain in this process's memory (tests; `--no-keychain`).
    pub fn in_memory() -> Keychain {
        Keychain {
            store: Arc::new(MemoryStore::default()),
            backend: Backend::Memory,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The long-term keys of `profile`; `Ok(None)` when none are stored.
    pub fn get_keys(&self, profile: &str) -> Result<Option<Credentials>, KeychainError> {
        let key = EntryKey::LongTermKeys {
            profile: profile.into(),
        };
        match self.read(&key, record::decode_keys)? {
            None => Ok(None),
            Some(stored) if stored.profile == profile => Ok(Some(stored.credentials)),
            // Keys filed under another profile's name (copied by hand?) are not handed out.
            Some(stored) => Err(KeychainError::Corrupt {
                key: key.account(),
                reason: format!("it holds the keys of profile `{}`", stored.profile),
            }),
        }
    }

    /// Stores (or replaces) the long-term keys of `profile`.
    pub fn set_keys(&self, profile: &str, credentials: &Credentials) -> Result<(), KeychainError> {
        let key = EntryKey::LongTermKeys {
            profile: profile.into(),
        };
        let value = record::encode_keys(&StoredKeys {
            profile: profile.into(),
            credentials: credentials.clone(),
            issued: UtcTime::now(),
        });
        let info = ItemInfo {
            label: format!("awsenv: long-term keys of profile {profile}"),
            attributes: vec![
                ("awsenv:kind", "long_term_keys".into()),
                ("awsenv:profile", profile.into()),
                ("awsenv:access_key_id", credentials.access_key_id.clone()),
            ],
        };
        self.write(&key, &info, value)
    }

    /// Deletes the long-term keys of `profile`; `false` when there were none.
    pub fn delete_keys(&self, profile: &str) -> Result<bool, KeychainError> {
        self.remove(&EntryKey::LongTermKeys {
            profile: profile.into(),
        })
    }

    /// Whether long-term keys are stored for `profile`: one lookup that neither reads nor unlocks
    /// the entry. A corrupt entry counts (the read that follows says what is wrong with it), and so
    /// does an error, for the same reason.
    pub fn has_keys(&self, profile: &str) -> bool {
        let key = EntryKey::LongTermKeys {
            profile: profile.into(),
        };
        self.store.exists(&key.account()).unwrap_or(true)
    }

    /// The cached session for `key`; `Ok(None)` when there is none.
    pub fn get_session(&self, key: &SessionKey) -> Result<Option<StoredSession>, KeychainError> {
        self.read(
            &EntryKey::Session { key: key.clone() },
            record::decode_session,
        )
    }

    /// Stores (or replaces) the session for `key`. It must have a session token and an expiration.
    pub fn set_session(
        &self,
        key: &SessionKey,
        session: &StoredSession,
    ) -> Result<(), KeychainError> {
        let entry = EntryKey::Session { key: key.clone() };
        let value = record::encode_session(session).map_err(|reason| KeychainError::Invalid {
            key: entry.account(),
            reason: reason.into(),
        })?;
        let what = match session.kind {
            SessionKind::MfaSession => "MFA session",
            SessionKind::Role => "role session",
        };
        let via = session
            .role_arn
            .as_deref()
            .or(session.mfa_serial.as_deref())
            .map(|arn| format!(" ({arn})"))
            .unwrap_or_default();
        let mut attributes = vec![
            ("awsenv:kind", "session".to_string()),
            ("awsenv:session_kind", session.kind.as_str().into()),
            ("awsenv:profile", session.profile.clone()),
        ];
        if let Some(mfa) = &session.mfa_serial {
            attributes.push(("awsenv:mfa_serial", mfa.clone()));
        }
        if let Some(role) = &session.role_arn {
            attributes.push(("awsenv:role_arn", role.clone()));
        }
        let info = ItemInfo {
            label: format!("awsenv: {what} for profile {}{via}", session.profile),
            attributes,
        };
        self.write(&entry, &info, value)
    }

    /// Deletes the session for `key`; `false` when there was none.
    pub fn delete_session(&self, key: &SessionKey) -> Result<bool, KeychainError> {
        self.remove(&EntryKey::Session { key: key.clone() })
    }

    /// Every entry awsenv has stored, keys first, then sessions by profile. Reads each entry;
    /// corrupt ones are listed with their `problem`.
    pub fn list(&self) -> Result<Vec<ListedEntry>, KeychainError> {
        let (indexed, _) = self.read_index()?;
        let mut keys: BTreeSet<EntryKey> =
            indexed.iter().filter_map(|a| EntryKey::parse(a)).collect();
        if let Some(found) = self.store.search()? {
            keys.extend(found.iter().filter_map(|a| EntryKey::parse(a)));
        }
        keys.remove(&EntryKey::Index);

        let mut listed = Vec::new();
        let mut gone = Vec::new();
        for key in keys {
            let account = key.account();
            let Some(bytes) = self.store.read(&account)? else {
                gone.push(account);
                continue;
            };
            listed.push(match record::decode(&bytes) {
                Ok(record::Record::Keys(k))
                    if matches!(&key, EntryKey::LongTermKeys { profile } if *profile == k.profile) =>
                {
                    ListedEntry {
                        key,
                        profile: Some(k.profile),
                        session_kind: None,
                        mfa_serial: None,
                        role_arn: None,
                        access_key_id: Some(k.credentials.access_key_id),
                        issued: Some(k.issued),
                        expiration: k.credentials.expiration,
                        problem: None,
                    }
                }
                Ok(record::Record::Session(s)) if matches!(key, EntryKey::Session { .. }) => {
                    ListedEntry {
                        key,
                        profile: Some(s.profile),
                        session_kind: Some(s.kind),
                        mfa_serial: s.mfa_serial,
                        role_arn: s.role_arn,
                        access_key_id: Some(s.credentials.access_key_id),
                        issued: Some(s.issued),
                        expiration: s.credentials.expiration,
                        problem: None,
                    }
                }
                Ok(record::Record::Keys(k)) if matches!(key, EntryKey::LongTermKeys { .. }) => {
                    let reason = format!("it holds the keys of profile `{}`", k.profile);
                    ListedEntry::unreadable(key, reason)
                }
                Ok(_) => ListedEntry::unreadable(key, "it holds another kind of entry".into()),
                Err(reason) => ListedEntry::unreadable(key, reason),
            });
        }
        if !gone.is_empty() {
            // Best effort: a stale index only costs a lookup next time.
            let _ = self.update_index(|set| {
                let before = set.len();
                set.retain(|a| !gone.contains(a));
                set.len() != before
            });
        }
        listed.sort_by(|a, b| {
            (a.is_session(), &a.profile, &a.key).cmp(&(b.is_session(), &b.profile, &b.key))
        });
        Ok(listed)
    }

    /// Deletes every cached session (long-term keys stay); returns how many were deleted.
    pub fn delete_all_sessions(&self) -> Result<usize, KeychainError> {
        let (indexed, _) = self.read_index()?;
        let mut accounts: BTreeSet<String> = indexed;
        if let Some(found) = self.store.search()? {
            accounts.extend(found);
        }
        let sessions: Vec<String> = accounts
            .into_iter()
            .filter(|a| matches!(EntryKey::parse(a), Some(EntryKey::Session { .. })))
            .collect();
        let mut deleted = 0;
        for account in &sessions {
            if self.store.remove(account)? {
                deleted += 1;
            }
        }
        self.update_index(|set| {
            let before = set.len();
            set.retain(|a| !sessions.contains(a));
            set.len() != before
        })?;
        Ok(deleted)
    }

    fn read<T>(
        &self,
        key: &EntryKey,
        decode: fn(&[u8]) -> Result<T, String>,
    ) -> Result<Option<T>, KeychainError> {
        let account = key.account();
        match self.store.read(&account)? {
            None => Ok(None),
            Some(bytes) => decode(&bytes)
                .map(Some)
                .map_err(|reason| KeychainError::Corrupt {
                    key: account,
                    reason,
                }),
        }
    }

    fn write(&self, key: &EntryKey, info: &ItemInfo, value: String) -> Result<(), KeychainError> {
        let account = key.account();
        self.store.write(&account, info, value)?;
        // Record the account in the index (usually it is there already: one read), then read the
        // index again to check that it stayed: another process may have rewritten the index
        // between our read and our write.
        let (mut set, readable) = self.read_index()?;
        for _ in 0..3 {
            if readable && set.contains(&account) {
                return Ok(());
            }
            set.insert(account.clone());
            self.write_index(&set)?;
            let (now, ok) = self.read_index()?;
            if ok && now.contains(&account) {
                return Ok(());
            }
            set = now;
        }
        Ok(())
    }

    fn remove(&self, key: &EntryKey) -> Result<bool, KeychainError> {
        let account = key.account();
        let existed = self.store.remove(&account)?;
        self.update_index(|set| set.remove(&account))?;
        Ok(existed)
    }

    /// The index's accounts, and whether it was readable (a corrupt or missing index reads as
    /// empty: it is rebuilt by the next write).
    fn read_index(&self) -> Result<(BTreeSet<String>, bool), KeychainError> {
        match self.store.read(&EntryKey::Index.account())? {
            None => Ok((BTreeSet::new(), true)),
            Some(bytes) => match record::decode_index(&bytes) {
                Ok(set) => Ok((set, true)),
                Err(_) => Ok((BTreeSet::new(), false)),
            },
        }
    }

    /// Applies `change` to the index and writes it back when `change` says it changed something
    /// (or the index was unreadable).
    fn update_index(
        &self,
        change: impl FnOnce(&mut BTreeSet<String>) -> bool,
    ) -> Result<(), KeychainError> {
        let (mut set, readable) = self.read_index()?;
        if change(&mut set) || !readable {
            self.write_index(&set)?;
        }
        Ok(())
    }

    fn write_index(&self, set: &BTreeSet<String>) -> Result<(), KeychainError> {
        let info = ItemInfo {
            label: "awsenv: index of stored entries (no secrets)".into(),
            attributes: vec![("awsenv:kind", "index".into())],
        };
        self.store
            .write(&EntryKey::Index.account(), &info, record::encode_index(set))
    }
}

impl KeyIndex for Keychain {
    fn has_keys(&self, profile: &str) -> bool {
        Keychain::has_keys(self, profile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::credentials::Secret;

    fn memory() -> (Keychain, Arc<MemoryStore>) {
        let store = Arc::new(MemoryStore::default());
        let keychain = Keychain {
            store: store.clone(),
            backend: Backend::Memory,
        };
        (keychain, store)
    }

    fn keys(akid: &str) -> Credentials {
        Credentials {
            access_key_id: akid.into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG"),
            session_token: None,
            expiration: None,
        }
    }

    fn session(profile: &str) -> StoredSession {
        StoredSession {
            profile: profile.into(),
            kind: SessionKind::Role,
            mfa_serial: Some("arn:aws:iam::111111111111:mfa/alice".into()),
            role_arn: Some("arn:aws:iam::222222222222:role/Admin".into()),
            issued: UtcTime(1_800_000_000),
            credentials: Credentials {
                access_key_id: "ASIAROLE".into(),
                secret_access_key: Secret::new("role-secret"),
                session_token: Some(Secret::new("role-token")),
                expiration: Some(UtcTime(1_800_003_600)),
            },
        }
    }

    #[test]
    fn entry_keys_are_stable_and_unambiguous() {
        let cases = [
            (
                EntryKey::LongTermKeys {
                    profile: "dev".into(),
                },
                "keys/dev",
            ),
            (
                EntryKey::LongTermKeys {
                    profile: "team/dev".into(),
                },
                "keys/team/dev",
            ),
            (
                EntryKey::Session {
                    key: SessionKey("mfa-0123456789abcdef0123456789abcdef".into()),
                },
                "session/mfa-0123456789abcdef0123456789abcdef",
            ),
            (EntryKey::Index, "index"),
        ];
        for (key, account) in cases {
            assert_eq!(key.account(), account);
            assert_eq!(EntryKey::parse(account), Some(key));
        }
        assert_eq!(EntryKey::parse("keys/"), None);
        assert_eq!(EntryKey::parse("something-else"), None);
    }

    #[test]
    fn keys_and_sessions_round_trip_and_are_listed() {
        let (kc, _) = memory();
        assert_eq!(kc.get_keys("dev").unwrap(), None);
        assert!(!kc.has_keys("dev"));
        kc.set_keys("dev", &keys("AKIADEV")).unwrap();
        assert!(kc.has_keys("dev"));
        assert_eq!(kc.get_keys("dev").unwrap(), Some(keys("AKIADEV")));

        let sk = SessionKey("role-00".into());
        kc.set_session(&sk, &session("prod")).unwrap();
        assert_eq!(kc.get_session(&sk).unwrap(), Some(session("prod")));

        let listed = kc.list().unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].profile.as_deref(), Some("dev"));
        assert!(!listed[0].is_session());
        assert_eq!(listed[1].session_kind, Some(SessionKind::Role));
        assert_eq!(listed[1].expiration, Some(UtcTime(1_800_003_600)));
        let shown = format!("{listed:?}");
        assert!(
            !shown.contains("wJalr") && !shown.contains("role-secret"),
            "{shown}"
        );

        assert_eq!(kc.delete_all_sessions().unwrap(), 1);
        assert_eq!(kc.get_session(&sk).unwrap(), None);
        assert!(kc.delete_keys("dev").unwrap());
        assert!(!kc.delete_keys("dev").unwrap());
        assert!(kc.list().unwrap().is_empty());
    }

    #[test]
    fn corrupt_entries_are_reported_then_replaced() {
        let (kc, raw) = memory();
        raw.put_raw("keys/dev", b"AKIA hunter2 not json");
        assert!(kc.has_keys("dev"));
        let err = kc.get_keys("dev").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, KeychainError::Corrupt { .. }), "{text}");
        assert!(
            text.contains("keys/dev") && text.contains("not JSON"),
            "{text}"
        );
        assert!(text.contains("awsenv add dev"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        kc.set_keys("dev", &keys("AKIANEW")).unwrap();
        assert_eq!(kc.get_keys("dev").unwrap(), Some(keys("AKIANEW")));

        // A session stored where keys belong is the wrong kind.
        let sk = SessionKey("mfa-11".into());
        kc.set_session(&sk, &session("dev")).unwrap();
        let json = String::from_utf8(raw.read("session/mfa-11").unwrap().unwrap()).unwrap();
        raw.put_raw("keys/dev", json.as_bytes());
        let err = kc.get_keys("dev").unwrap_err().to_string();
        assert!(err.contains("kind `session`"), "{err}");

        // Keys filed under another profile's name.
        kc.set_keys("prod", &keys("AKIAPROD")).unwrap();
        let json = raw.read("keys/prod").unwrap().unwrap();
        raw.put_raw("keys/dev", &json);
        let err = kc.get_keys("dev").unwrap_err().to_string();
        assert!(err.contains("keys of profile `prod`"), "{err}");
        assert!(!err.contains("role-secret"), "{err}");
        let listed = kc.list().unwrap();
        let bad = listed
            .iter()
            .find(|e| e.key.account() == "keys/dev")
            .unwrap();
        assert!(bad.problem.is_some());
    }

    #[test]
    fn a_lost_or_corrupt_index_is_rebuilt_and_stale_entries_pruned() {
        let (kc, raw) = memory();
        kc.set_keys("a", &keys("AKIAA")).unwrap();
        raw.put_raw("index", b"garbage");
        assert!(
            kc.list().unwrap().is_empty(),
            "a corrupt index lists nothing"
        );
        kc.set_keys("b", &keys("AKIAB")).unwrap();
        let profiles: Vec<_> = kc.list().unwrap().into_iter().map(|e| e.profile).collect();
        assert_eq!(profiles, [Some("b".to_string())]);

        raw.remove("keys/b").unwrap();
        assert!(kc.list().unwrap().is_empty());
        let index = String::from_utf8(raw.read("index").unwrap().unwrap()).unwrap();
        assert!(!index.contains("keys/b"), "{index}");
    }

    #[test]
    fn sessions_without_expiration_are_refused() {
        let (kc, _) = memory();
        let mut s = session("dev");
        s.credentials.expiration = None;
        let err = kc
            .set_session(&SessionKey("mfa-22".into()), &s)
            .unwrap_err();
        assert!(matches!(err, KeychainError::Invalid { .. }), "{err}");
    }

    #[test]
    fn the_handle_is_shareable() {
        fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
        assert_shareable::<Keychain>();
    }
}
