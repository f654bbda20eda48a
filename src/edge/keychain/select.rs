//! Which backend to use: `AWSENV_KEYCHAIN`, else `keychain =` in awsenv's settings file, else
//! `auto`, which probes and says what it found.

use super::{Backend, KeychainError, Selection};
use crate::core::env::Env;
use crate::edge::settings::AwsenvSettings;

/// A backend asked for by name, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Auto,
    Backend(Backend),
}

impl Choice {
    /// Parses a setting value (`auto`, `secret-service`, `keyutils`, `macos`; case-insensitive,
    /// with a few spellings people use).
    pub fn parse(value: &str) -> Option<Choice> {
        Some(match value.trim().to_ascii_lowercase().as_str() {
            "auto" => Choice::Auto,
            "secret-service" | "secret_service" | "secretservice" => {
                Choice::Backend(Backend::SecretService)
            }
            "keyutils" | "linux-keyutils" | "kernel" => Choice::Backend(Backend::Keyutils),
            "macos" | "macos-keychain" | "keychain" => Choice::Backend(Backend::MacosKeychain),
            _ => return None,
        })
    }
}

/// Decides the backend for `env`. Only `auto` touches anything (the D-Bus session bus).
pub fn select(env: &Env) -> Result<Selection, KeychainError> {
    let (choice, origin) = match env.non_empty("AWSENV_KEYCHAIN") {
        Some(value) => (
            Choice::parse(value).ok_or_else(|| KeychainError::BadSetting {
                origin: "AWSENV_KEYCHAIN".into(),
                value: value.into(),
            })?,
            format!("AWSENV_KEYCHAIN={value}"),
        ),
        None => {
            let settings = AwsenvSettings::load(env)?;
            match (settings.keychain, settings.path) {
                (Some(value), path) => {
                    let file = path.map_or_else(
                        || "awsenv's settings".to_string(),
                        |p| p.display().to_string(),
                    );
                    (
                        Choice::parse(&value).ok_or_else(|| KeychainError::BadSetting {
                            origin: format!("`keychain` in {file}"),
                            value: value.clone(),
                        })?,
                        format!("keychain = {value} in {file}"),
                    )
                }
                (None, _) => (Choice::Auto, String::new()),
            }
        }
    };
    match choice {
        Choice::Backend(backend) => {
            ensure_built(backend)?;
            Ok(selection(backend, origin))
        }
        Choice::Auto => auto(env),
    }
}

/// A selection with the standard wording: `<why> → <backend>` plus a warning for backends whose
/// entries do not survive a reboot.
pub fn selection(backend: Backend, why: String) -> Selection {
    let mut reason = format!("{why} → {backend}");
    if !backend.persistent() {
        reason.push_str(match backend {
            Backend::Keyutils => {
                "; its entries vanish at reboot (and after a few days unused), so long-term keys \
                 stored there must be added again"
            }
            _ => "; its entries vanish when the process exits",
        });
    }
    Selection {
        backend,
        reason,
        persistent: backend.persistent(),
    }
}

fn ensure_built(backend: Backend) -> Result<(), KeychainError> {
    let available = match backend {
        Backend::SecretService | Backend::Keyutils => cfg!(target_os = "linux"),
        Backend::MacosKeychain => cfg!(target_os = "macos"),
        Backend::Memory => true,
    };
    if available {
        Ok(())
    } else {
        Err(KeychainError::NoBackend {
            reason: format!(
                "the {backend} is not available on {} — choose another with AWSENV_KEYCHAIN \
                 (or leave it unset for auto)",
                std::env::consts::OS
            ),
        })
    }
}

#[cfg(target_os = "macos")]
fn auto(_: &Env) -> Result<Selection, KeychainError> {
    Ok(selection(Backend::MacosKeychain, "macOS".into()))
}

#[cfg(not(any(target_os = "macos", target_os = "linux")))]
fn auto(_: &Env) -> Result<Selection, KeychainError> {
    Err(KeychainError::NoBackend {
        reason: format!(
            "awsenv has no keychain backend for {}",
            std::env::consts::OS
        ),
    })
}

/// Linux: the Secret Service when a provider answers on the session bus, else keyutils.
#[cfg(target_os = "linux")]
fn auto(env: &Env) -> Result<Selection, KeychainError> {
    use super::secret_service as ss;

    let address = match ss::session_bus_address(env) {
        Ok(a) => a,
        Err(why) => {
            return Ok(selection(
                Backend::Keyutils,
                format!("no D-Bus session bus ({why})"),
            ))
        }
    };
    enum Found {
        Unlocked,
        Locked,
        NoDefault,
    }
    let probe_address = address.clone();
    let probe = ss::with_deadline(ss::DEADLINE, move || -> Result<Found, String> {
        let conn = ss::connect(&probe_address).map_err(|e| {
            format!("the D-Bus session bus at {probe_address} did not accept a connection ({e})")
        })?;
        let available = ss::provider_available(&conn).map_err(|e| {
            format!("the D-Bus session bus at {probe_address} did not answer ({e})")
        })?;
        if !available {
            return Err(format!(
                "no Secret Service provider (GNOME Keyring, KWallet, KeePassXC) on the D-Bus session bus at {probe_address}"
            ));
        }
        let answer = |e: zbus::Error| format!("the Secret Service did not answer ({e})");
        match ss::default_collection(&conn).map_err(answer)? {
            None => Ok(Found::NoDefault),
            Some(c) => Ok(
                if ss::collection_locked(&conn, c.as_str()).map_err(answer)? {
                    Found::Locked
                } else {
                    Found::Unlocked
                },
            ),
        }
    });
    let found = match probe {
        Ok(Ok(found)) => found,
        Ok(Err(why)) => return Ok(selection(Backend::Keyutils, why)),
        Err(ss::Late) => {
            return Ok(selection(
                Backend::Keyutils,
                format!(
                    "the Secret Service on the D-Bus session bus at {address} did not answer within {}s",
                    ss::DEADLINE.as_secs()
                ),
            ))
        }
    };
    let mut chosen = selection(
        Backend::SecretService,
        "a Secret Service provider answers on the D-Bus session bus".into(),
    );
    match found {
        Found::Unlocked => {}
        Found::Locked => chosen
            .reason
            .push_str(" (its default keyring is locked now: unlock it before use)"),
        Found::NoDefault => chosen.reason.push_str(
            " (it has no default keyring yet: create one, or set AWSENV_KEYCHAIN=keyutils)",
        ),
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        assert_eq!(Choice::parse("auto"), Some(Choice::Auto));
        assert_eq!(
            Choice::parse(" Secret-Service "),
            Some(Choice::Backend(Backend::SecretService))
        );
        assert_eq!(
            Choice::parse("keyutils"),
            Some(Choice::Backend(Backend::Keyutils))
        );
        assert_eq!(
            Choice::parse("macos"),
            Some(Choice::Backend(Backend::MacosKeychain))
        );
        assert_eq!(Choice::parse("kwallet"), None);
    }

    #[test]
    fn bad_values_say_where_they_came_from() {
        let env = Env::from_pairs([("AWSENV_KEYCHAIN", "kwallet")]);
        let err = select(&env).unwrap_err().to_string();
        assert!(
            err.contains("AWSENV_KEYCHAIN") && err.contains("kwallet"),
            "{err}"
        );
        assert!(err.contains("keyutils"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("awsenv/config.ini");
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        std::fs::write(&cfg, "keychain = vault\n").unwrap();
        let env = Env::from_pairs([("XDG_CONFIG_HOME", dir.path().to_str().unwrap())]);
        let err = select(&env).unwrap_err().to_string();
        assert!(err.contains("config.ini") && err.contains("vault"), "{err}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_environment_wins_over_the_settings_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("awsenv/config.ini");
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        std::fs::write(&cfg, "keychain = secret-service\n").unwrap();
        let mut env = Env::from_pairs([("XDG_CONFIG_HOME", dir.path().to_str().unwrap())]);
        let s = select(&env).unwrap();
        assert_eq!(s.backend, Backend::SecretService);
        assert!(s.reason.contains("config.ini"), "{}", s.reason);
        assert!(s.persistent);
        env.set("AWSENV_KEYCHAIN", "keyutils");
        let s = select(&env).unwrap();
        assert_eq!(s.backend, Backend::Keyutils);
        assert!(!s.persistent);
        assert!(
            s.reason.starts_with(
                "AWSENV_KEYCHAIN=keyutils → kernel keyutils; its entries vanish at reboot"
            ),
            "{}",
            s.reason
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn auto_without_a_session_bus_picks_keyutils_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::from_pairs([
            ("XDG_RUNTIME_DIR", dir.path().to_str().unwrap()),
            ("XDG_CONFIG_HOME", dir.path().to_str().unwrap()),
        ]);
        let s = select(&env).unwrap();
        assert_eq!(s.backend, Backend::Keyutils);
        assert!(!s.persistent);
        assert!(
            s.reason
                .starts_with("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS unset"),
            "{}",
            s.reason
        );
        assert!(s.reason.contains("vanish at reboot"), "{}", s.reason);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn auto_with_a_dead_bus_address_picks_keyutils() {
        let dir = tempfile::tempdir().unwrap();
        let address = format!("unix:path={}/nobody-listens", dir.path().display());
        let env = Env::from_pairs([
            ("DBUS_SESSION_BUS_ADDRESS", address.as_str()),
            ("XDG_CONFIG_HOME", dir.path().to_str().unwrap()),
        ]);
        let s = select(&env).unwrap();
        assert_eq!(s.backend, Backend::Keyutils);
        assert!(
            s.reason.contains("did not accept a connection"),
            "{}",
            s.reason
        );
    }
}
