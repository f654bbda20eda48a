//! awsenv's own settings file, `<config dir>/awsenv/config.ini` (`$XDG_CONFIG_HOME/awsenv/config.ini`,
//! else `~/.config/awsenv/config.ini` on Linux and `~/Library/Application Support/awsenv/config.ini`
//! on macOS). It holds what is awsenv's and not the AWS SDKs' business, such as which keychain to
//! use. A missing file means every setting takes its default.
//!
//! ```ini
//! # which keychain holds keys and sessions: auto, secret-service, keyutils or macos
//! keychain = keyutils
//! ```

use std::path::{Path, PathBuf};

use crate::core::env::Env;

/// The settings read from awsenv's config file. Every field is optional: `None` means "not set".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsenvSettings {
    /// `keychain = auto|secret-service|keyutils|macos` (checked by the keychain, which knows the
    /// names).
    pub keychain: Option<String>,
    /// The file the settings came from, for messages (`None` when there was no file).
    pub path: Option<PathBuf>,
}

/// Why the settings file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read awsenv's settings file {}: {source} — fix its permissions or remove it", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("awsenv's settings file {} is not valid INI ({detail}) — fix or remove it", path.display())]
    Parse { path: PathBuf, detail: String },
}

impl AwsenvSettings {
    /// Where the settings file is: `$XDG_CONFIG_HOME/awsenv/config.ini` when `XDG_CONFIG_HOME` is set
    /// to an absolute path (on every OS, so tests and unusual setups can point it anywhere), else the
    /// platform's config directory. `None` when no home directory can be found.
    pub fn path(env: &Env) -> Option<PathBuf> {
        let base = match env.non_empty("XDG_CONFIG_HOME").map(PathBuf::from) {
            Some(dir) if dir.is_absolute() => dir,
            _ => directories::BaseDirs::new()?.config_dir().to_path_buf(),
        };
        Some(base.join("awsenv").join("config.ini"))
    }

    /// Reads the settings file; a missing file (or no home directory) gives the defaults.
    pub fn load(env: &Env) -> Result<AwsenvSettings, SettingsError> {
        match Self::path(env) {
            Some(path) => Self::load_from(&path),
            None => Ok(AwsenvSettings::default()),
        }
    }

    /// Reads the settings from `path`; a missing file gives the defaults.
    pub fn load_from(path: &Path) -> Result<AwsenvSettings, SettingsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(AwsenvSettings::default())
            }
            Err(source) => {
                return Err(SettingsError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let mut settings = Self::parse(&text).map_err(|detail| SettingsError::Parse {
            path: path.to_path_buf(),
            detail,
        })?;
        settings.path = Some(path.to_path_buf());
        Ok(settings)
    }

    /// Parses the text of a settings file. Settings live at the top, before any `[section]`.
    pub fn parse(text: &str) -> Result<AwsenvSettings, String> {
        let ini = ini::Ini::load_from_str_noescape(text).map_err(|e| e.to_string())?;
        let general = ini.general_section();
        Ok(AwsenvSettings {
            keychain: general
                .get("keychain")
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            path: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keychain_from_the_top_of_the_file() {
        let s = AwsenvSettings::parse("# comment\nkeychain = keyutils\n[later]\nx = 1\n").unwrap();
        assert_eq!(s.keychain.as_deref(), Some("keyutils"));
        assert_eq!(
            AwsenvSettings::parse("").unwrap(),
            AwsenvSettings::default()
        );
        assert_eq!(
            AwsenvSettings::parse("keychain =\n").unwrap().keychain,
            None
        );
    }

    #[test]
    fn path_honours_xdg_config_home() {
        let env = Env::from_pairs([("XDG_CONFIG_HOME", "/tmp/cfg")]);
        assert_eq!(
            AwsenvSettings::path(&env).unwrap(),
            PathBuf::from("/tmp/cfg/awsenv/config.ini")
        );
    }

    #[test]
    fn missing_file_gives_defaults_and_bad_file_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.ini");
        assert_eq!(
            AwsenvSettings::load_from(&path).unwrap(),
            AwsenvSettings::default()
        );
        std::fs::write(&path, "[unterminated\n").unwrap();
        let err = AwsenvSettings::load_from(&path).unwrap_err().to_string();
        assert!(
            err.contains("config.ini") && err.contains("not valid INI"),
            "{err}"
        );
        std::fs::write(&path, "keychain = secret-service\n").unwrap();
        let s = AwsenvSettings::load_from(&path).unwrap();
        assert_eq!(s.keychain.as_deref(), Some("secret-service"));
        assert_eq!(s.path.as_deref(), Some(path.as_path()));
    }
}
