//! Where the shared files are and which profile is meant, as the SDKs decide it from the environment
//! (the rules behind `file-location-tests.json`).

use super::env::Env;

/// The platform whose path rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Unix,
    Windows,
}

impl Platform {
    pub fn current() -> Self {
        if cfg!(windows) {
            Platform::Windows
        } else {
            Platform::Unix
        }
    }

    fn separator(self) -> char {
        match self {
            Platform::Unix => '/',
            Platform::Windows => '\\',
        }
    }
}

/// Where a value came from, for messages such as "from AWS_PROFILE".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chosen {
    Env(&'static str),
    Default,
}

/// The two file paths and the selected profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    pub config: String,
    pub config_from: Chosen,
    pub credentials: String,
    pub credentials_from: Chosen,
    pub profile: String,
    pub profile_from: Chosen,
}

/// The user's home directory as the SDKs find it: `HOME` first everywhere; on Windows then
/// `USERPROFILE`, then `HOMEDRIVE` + `HOMEPATH`.
pub fn home_dir(env: &Env, platform: Platform) -> Option<String> {
    if let Some(h) = env.non_empty("HOME") {
        return Some(h.to_string());
    }
    if platform == Platform::Windows {
        if let Some(h) = env.non_empty("USERPROFILE") {
            return Some(h.to_string());
        }
        if let (Some(d), Some(p)) = (env.non_empty("HOMEDRIVE"), env.non_empty("HOMEPATH")) {
            return Some(format!("{d}{p}"));
        }
    }
    None
}

/// Expands a leading `~` (alone or followed by a separator) to the home directory.
pub fn expand_tilde(path: &str, env: &Env, platform: Platform) -> String {
    let rest = match path.strip_prefix('~') {
        Some(r) if r.is_empty() || r.starts_with('/') || r.starts_with(platform.separator()) => r,
        _ => return path.to_string(),
    };
    match home_dir(env, platform) {
        Some(home) => format!("{home}{rest}"),
        None => path.to_string(),
    }
}

fn default_file(env: &Env, platform: Platform, name: &str) -> String {
    let sep = platform.separator();
    let home = home_dir(env, platform).unwrap_or_else(|| "~".to_string());
    format!("{home}{sep}.aws{sep}{name}")
}

/// Locates the config and credentials files and the profile for `env`.
pub fn locate(env: &Env, platform: Platform) -> Locations {
    let (config, config_from) = match env.non_empty("AWS_CONFIG_FILE") {
        Some(p) => (
            expand_tilde(p, env, platform),
            Chosen::Env("AWS_CONFIG_FILE"),
        ),
        None => (default_file(env, platform, "config"), Chosen::Default),
    };
    let (credentials, credentials_from) = match env.non_empty("AWS_SHARED_CREDENTIALS_FILE") {
        Some(p) => (
            expand_tilde(p, env, platform),
            Chosen::Env("AWS_SHARED_CREDENTIALS_FILE"),
        ),
        None => (default_file(env, platform, "credentials"), Chosen::Default),
    };
    let (profile, profile_from) = selected_profile(env);
    Locations {
        config,
        config_from,
        credentials,
        credentials_from,
        profile,
        profile_from,
    }
}

/// The profile meant when none is named: `AWS_PROFILE`, then `AWS_DEFAULT_PROFILE` (the order of the
/// AWS CLI v2, Go and Rust; botocore alone reads them the other way round), then `default`.
pub fn selected_profile(env: &Env) -> (String, Chosen) {
    for var in ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"] {
        if let Some(p) = env.non_empty(var) {
            return (p.to_string(), Chosen::Env(var));
        }
    }
    ("default".to_string(), Chosen::Default)
}
