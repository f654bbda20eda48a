//! AWS credentials as values, with the secret parts kept out of `Debug` output and logs.

use std::fmt;

use super::time::UtcTime;

/// A secret string: prints as `<redacted>` in `Debug`, so a stray `{:?}` or panic cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for the few places that must send or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A set of AWS credentials.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    /// When the credentials stop working; `None` for long-term keys.
    pub expiration: Option<UtcTime>,
}

impl Credentials {
    /// Seconds of validity left at `now` (`None` when they do not expire).
    pub fn remaining(&self, now: UtcTime) -> Option<i64> {
        self.expiration.map(|e| now.seconds_until(e))
    }

    /// The `credential_process` JSON: `Version` the number 1, `SessionToken` and `Expiration` (RFC 3339
    /// with `Z`) only when the credentials have them.
    pub fn process_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "Version": 1,
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key.expose(),
        });
        if let Some(t) = &self.session_token {
            v["SessionToken"] = serde_json::json!(t.expose());
        }
        if let Some(e) = self.expiration {
            v["Expiration"] = serde_json::json!(e.rfc3339());
        }
        v
    }

    /// Whether these are temporary (STS) credentials.
    pub fn is_temporary(&self) -> bool {
        self.session_token.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI"),
            session_token: Some(Secret::new("FwoGZXIvYXdz")),
            expiration: None,
        };
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("wJalr") && !shown.contains("FwoG"),
            "{shown}"
        );
        assert!(shown.contains("AKIDEXAMPLE"));
    }
}
