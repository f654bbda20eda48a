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

/// The `credential_process` document of a set of credentials (see [`Credentials::process_document`]).
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessDocument<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
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

    /// The `credential_process` document (aws-reference §1): `Version` the number 1, exact key
    /// casing, `SessionToken` and `Expiration` (RFC 3339 with `Z`) only when the credentials have
    /// them. Serialized as is it keeps that key order; [`Credentials::process_json`] is the same as a
    /// JSON value.
    pub fn process_document(&self) -> ProcessDocument<'_> {
        ProcessDocument {
            version: 1,
            access_key_id: &self.access_key_id,
            secret_access_key: self.secret_access_key.expose(),
            session_token: self.session_token.as_ref().map(Secret::expose),
            expiration: self.expiration.map(|t| t.rfc3339()),
        }
    }

    /// The `credential_process` JSON as a value ([`Credentials::process_document`]).
    pub fn process_json(&self) -> serde_json::Value {
        serde_json::to_value(self.process_document()).expect("plain strings always serialize")
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
