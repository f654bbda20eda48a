//! The OS keychain as the engine's [`Vault`]. A corrupt or foreign session entry reads as "no
//! session" (with a warning), so the next call replaces it; corrupt long-term keys are an error the
//! user must fix (`awsenv add` again).

use super::{SessionInfo, Vault, VaultError};
use crate::core::credentials::Credentials;
use crate::core::env::Env;
use crate::core::session_key::SessionKey;
use crate::core::time::UtcTime;
use crate::edge::keychain::{Keychain, KeychainError, Selection, SessionKind, StoredSession};

/// The keychain with how it was chosen.
pub struct KeychainVault {
    pub keychain: Keychain,
    pub selection: Selection,
}

fn err(e: KeychainError) -> VaultError {
    VaultError(e.to_string())
}

impl KeychainVault {
    /// Opens the keychain `AWSENV_KEYCHAIN` (or awsenv's config) selects.
    pub fn open(env: &Env) -> Result<KeychainVault, KeychainError> {
        let (keychain, selection) = Keychain::open(env)?;
        Ok(KeychainVault {
            keychain,
            selection,
        })
    }

    /// One line: which keychain and why.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.selection.backend, self.selection.reason)
    }
}

impl Vault for KeychainVault {
    fn long_term_keys(&self, profile: &str) -> Result<Option<Credentials>, VaultError> {
        self.keychain.get_keys(profile).map_err(err)
    }

    fn session(&self, key: &SessionKey) -> Result<Option<Credentials>, VaultError> {
        match self.keychain.get_session(key) {
            Ok(s) => Ok(s.map(|s| s.credentials)),
            Err(e @ KeychainError::Corrupt { .. }) => {
                eprintln!("awsenv: warning: {e}");
                Ok(None)
            }
            Err(e) => Err(err(e)),
        }
    }

    fn save_session(
        &self,
        key: &SessionKey,
        info: &SessionInfo,
        creds: &Credentials,
    ) -> Result<(), VaultError> {
        let kind = SessionKind::parse(&info.kind).unwrap_or(SessionKind::Role);
        self.keychain
            .set_session(
                key,
                &StoredSession {
                    profile: info.profile.clone(),
                    kind,
                    mfa_serial: info.mfa_serial.clone(),
                    role_arn: info.role_arn.clone(),
                    issued: UtcTime::now(),
                    credentials: creds.clone(),
                },
            )
            .map_err(err)
    }

    fn delete_session(&self, key: &SessionKey) -> Result<(), VaultError> {
        self.keychain.delete_session(key).map(|_| ()).map_err(err)
    }

    fn delete_all_sessions(&self) -> Result<usize, VaultError> {
        self.keychain.delete_all_sessions().map_err(err)
    }

    fn has_keys(&self, profile: &str) -> bool {
        self.keychain.has_keys(profile)
    }
}

impl crate::core::plan::KeyIndex for KeychainVault {
    fn has_keys(&self, profile: &str) -> bool {
        self.keychain.has_keys(profile)
    }
}
