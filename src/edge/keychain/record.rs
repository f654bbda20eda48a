//! The versioned JSON each keychain entry holds, and its strict reading.
//!
//! ```json
//! {"v":1,"kind":"long_term_keys","profile":"dev","access_key_id":"AKIA…","secret_access_key":"…",
//!  "issued":"2026-01-02T03:04:05Z"}
//! {"v":1,"kind":"session","profile":"dev","session_kind":"mfa_session","mfa_serial":"arn:…",
//!  "role_arn":null,"access_key_id":"ASIA…","secret_access_key":"…","session_token":"…",
//!  "expiration":"2026-01-02T15:04:05Z","issued":"2026-01-02T03:04:05Z"}
//! {"v":1,"kind":"index","keys":["keys/dev","session/mfa-…"]}
//! ```
//!
//! Reading never fails loudly: anything that is not exactly this shape gives a *reason* that the
//! caller turns into [`super::KeychainError::Corrupt`]. Reasons are written here from field names
//! only and never quote the stored text, which holds secrets.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{SessionKind, StoredKeys, StoredSession};
use crate::core::credentials::{Credentials, Secret};
use crate::core::time::UtcTime;

/// The format version this awsenv writes and reads.
pub const VERSION: u64 = 1;

const KIND_KEYS: &str = "long_term_keys";
const KIND_SESSION: &str = "session";
const KIND_INDEX: &str = "index";

#[derive(Serialize)]
struct KeysOut<'a> {
    v: u64,
    kind: &'static str,
    profile: &'a str,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
    issued: String,
}

#[derive(Serialize)]
struct SessionOut<'a> {
    v: u64,
    kind: &'static str,
    profile: &'a str,
    session_kind: &'static str,
    mfa_serial: Option<&'a str>,
    role_arn: Option<&'a str>,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    expiration: String,
    issued: String,
}

#[derive(Serialize)]
struct IndexOut<'a> {
    v: u64,
    kind: &'static str,
    keys: &'a BTreeSet<String>,
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Serializing plain strings and numbers into a String cannot fail.
    serde_json::to_string(value).expect("JSON of plain fields")
}

pub fn encode_keys(keys: &StoredKeys) -> String {
    let c = &keys.credentials;
    to_json(&KeysOut {
        v: VERSION,
        kind: KIND_KEYS,
        profile: &keys.profile,
        access_key_id: &c.access_key_id,
        secret_access_key: c.secret_access_key.expose(),
        session_token: c.session_token.as_ref().map(Secret::expose),
        expiration: c.expiration.map(UtcTime::rfc3339),
        issued: keys.issued.rfc3339(),
    })
}

/// The session as JSON, or why it cannot be stored (a session needs a token and an expiration).
pub fn encode_session(s: &StoredSession) -> Result<String, &'static str> {
    let c = &s.credentials;
    let token = c
        .session_token
        .as_ref()
        .ok_or("a session needs a session token")?;
    let expiration = c.expiration.ok_or("a session needs an expiration")?;
    Ok(to_json(&SessionOut {
        v: VERSION,
        kind: KIND_SESSION,
        profile: &s.profile,
        session_kind: s.kind.as_str(),
        mfa_serial: s.mfa_serial.as_deref(),
        role_arn: s.role_arn.as_deref(),
        access_key_id: &c.access_key_id,
        secret_access_key: c.secret_access_key.expose(),
        session_token: token.expose(),
        expiration: expiration.rfc3339(),
        issued: s.issued.rfc3339(),
    }))
}

pub fn encode_index(keys: &BTreeSet<String>) -> String {
    to_json(&IndexOut {
        v: VERSION,
        kind: KIND_INDEX,
        keys,
    })
}

/// Any awsenv record, for listings.
pub enum Record {
    Keys(StoredKeys),
    Session(StoredSession),
    Index(BTreeSet<String>),
}

pub fn decode_keys(bytes: &[u8]) -> Result<StoredKeys, String> {
    match decode(bytes)? {
        Record::Keys(k) => Ok(k),
        other => Err(wrong_kind(&other, KIND_KEYS)),
    }
}

pub fn decode_session(bytes: &[u8]) -> Result<StoredSession, String> {
    match decode(bytes)? {
        Record::Session(s) => Ok(s),
        other => Err(wrong_kind(&other, KIND_SESSION)),
    }
}

pub fn decode_index(bytes: &[u8]) -> Result<BTreeSet<String>, String> {
    match decode(bytes)? {
        Record::Index(keys) => Ok(keys),
        other => Err(wrong_kind(&other, KIND_INDEX)),
    }
}

fn wrong_kind(found: &Record, expected: &str) -> String {
    let found = match found {
        Record::Keys(_) => KIND_KEYS,
        Record::Session(_) => KIND_SESSION,
        Record::Index(_) => KIND_INDEX,
    };
    format!("it holds kind `{found}` where `{expected}` was expected")
}

/// Reads any awsenv record, or says why the bytes are not one.
pub fn decode(bytes: &[u8]) -> Result<Record, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("it is empty".into());
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())?;
    let value: Value = serde_json::from_str(text).map_err(|_| "it is not JSON".to_string())?;
    let Value::Object(obj) = value else {
        return Err("it is JSON but not an object".into());
    };
    let fields = Fields(&obj);
    match obj.get("v") {
        None => return Err("it has no version field `v`: not written by awsenv".into()),
        Some(Value::Number(n)) if n.as_u64() == Some(VERSION) => {}
        Some(Value::Number(n)) => {
            return Err(match n.as_u64() {
                Some(v) => format!(
                    "it has format version {v}, and this awsenv reads version {VERSION} (written by a newer awsenv?)"
                ),
                None => "its version field `v` is not a whole number".into(),
            })
        }
        Some(_) => return Err("its version field `v` is not a number".into()),
    }
    let kind = fields.string("kind")?;
    match kind.as_str() {
        KIND_KEYS => Ok(Record::Keys(StoredKeys {
            profile: fields.string("profile")?,
            credentials: Credentials {
                access_key_id: fields.string("access_key_id")?,
                secret_access_key: Secret::new(fields.string("secret_access_key")?),
                session_token: fields.opt_string("session_token")?.map(Secret::new),
                expiration: fields.opt_time("expiration")?,
            },
            issued: fields.time("issued")?,
        })),
        KIND_SESSION => {
            let kind = match fields.string("session_kind")?.as_str() {
                "mfa_session" => SessionKind::MfaSession,
                "role" => SessionKind::Role,
                _ => return Err("field `session_kind` has an unknown value".into()),
            };
            Ok(Record::Session(StoredSession {
                profile: fields.string("profile")?,
                kind,
                mfa_serial: fields.opt_string("mfa_serial")?,
                role_arn: fields.opt_string("role_arn")?,
                issued: fields.time("issued")?,
                credentials: Credentials {
                    access_key_id: fields.string("access_key_id")?,
                    secret_access_key: Secret::new(fields.string("secret_access_key")?),
                    session_token: Some(Secret::new(fields.string("session_token")?)),
                    expiration: Some(fields.time("expiration")?),
                },
            }))
        }
        KIND_INDEX => {
            let Some(Value::Array(items)) = obj.get("keys") else {
                return Err("field `keys` is missing or not a list".into());
            };
            items
                .iter()
                .map(|k| match k {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err("field `keys` holds something other than strings".to_string()),
                })
                .collect::<Result<BTreeSet<_>, _>>()
                .map(Record::Index)
        }
        // The value is not quoted: a foreign writer could have put anything there.
        _ => Err("field `kind` has a value awsenv does not know".into()),
    }
}

/// Typed access to an object's fields with reasons that name the field, never its value.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn opt_string(&self, name: &str) -> Result<Option<String>, String> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("field `{name}` is not a string")),
        }
    }

    fn string(&self, name: &str) -> Result<String, String> {
        match self.opt_string(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(format!("field `{name}` is empty")),
            None => Err(format!("field `{name}` is missing")),
        }
    }

    fn opt_time(&self, name: &str) -> Result<Option<UtcTime>, String> {
        self.opt_string(name)?
            .map(|s| {
                UtcTime::parse_rfc3339(&s)
                    .ok_or_else(|| format!("field `{name}` is not an RFC 3339 time"))
            })
            .transpose()
    }

    fn time(&self, name: &str) -> Result<UtcTime, String> {
        self.opt_time(name)?
            .ok_or_else(|| format!("field `{name}` is missing"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> StoredSession {
        StoredSession {
            profile: "dev".into(),
            kind: SessionKind::MfaSession,
            mfa_serial: Some("arn:aws:iam::123456789012:mfa/alice".into()),
            role_arn: None,
            issued: UtcTime(1_800_000_000),
            credentials: Credentials {
                access_key_id: "ASIAEXAMPLE".into(),
                secret_access_key: Secret::new("s3cr3t-SAK"),
                session_token: Some(Secret::new("t0k3n")),
                expiration: Some(UtcTime(1_800_043_200)),
            },
        }
    }

    #[test]
    fn session_round_trips_and_starts_with_version_and_kind() {
        let s = session();
        let json = encode_session(&s).unwrap();
        assert!(json.starts_with(r#"{"v":1,"kind":"session","#), "{json}");
        assert!(
            json.contains(r#""expiration":"2027-01-15T20:00:00Z""#),
            "{json}"
        );
        assert_eq!(decode_session(json.as_bytes()).unwrap(), s);
    }

    #[test]
    fn keys_round_trip() {
        let k = StoredKeys {
            profile: "dev".into(),
            credentials: Credentials {
                access_key_id: "AKIAEXAMPLE".into(),
                secret_access_key: Secret::new("s3cr3t"),
                session_token: None,
                expiration: None,
            },
            issued: UtcTime(1_800_000_000),
        };
        let json = encode_keys(&k);
        assert!(!json.contains("session_token"), "{json}");
        assert_eq!(decode_keys(json.as_bytes()).unwrap(), k);
        assert!(decode_session(json.as_bytes())
            .unwrap_err()
            .contains("kind `long_term_keys` where `session` was expected"));
    }

    #[test]
    fn sessions_need_a_token_and_an_expiration() {
        let mut s = session();
        s.credentials.expiration = None;
        assert!(encode_session(&s).is_err());
    }

    #[test]
    fn corrupt_and_foreign_values_give_reasons_without_their_content() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "empty"),
            (b"\xff\xfe", "not UTF-8"),
            (b"hunter2-not-json", "not JSON"),
            (b"[\"hunter2\"]", "not an object"),
            (br#"{"password":"hunter2"}"#, "no version field"),
            (br#"{"v":"hunter2"}"#, "not a number"),
            (br#"{"v":2,"kind":"session"}"#, "format version 2"),
            (br#"{"v":1,"kind":"hunter2"}"#, "`kind` has a value"),
            (br#"{"v":1,"kind":"session","profile":"p"}"#, "field `session_kind` is missing"),
            (
                br#"{"v":1,"kind":"long_term_keys","profile":"p","access_key_id":"A","secret_access_key":7,"issued":"2026-01-01T00:00:00Z"}"#,
                "`secret_access_key` is not a string",
            ),
            (
                br#"{"v":1,"kind":"long_term_keys","profile":"p","access_key_id":"A","secret_access_key":"hunter2","issued":"hunter2"}"#,
                "`issued` is not an RFC 3339 time",
            ),
            (br#"{"v":1,"kind":"index","keys":[1]}"#, "other than strings"),
        ];
        for (bytes, want) in cases {
            let reason = match decode(bytes) {
                Ok(_) => panic!("accepted {:?}", String::from_utf8_lossy(bytes)),
                Err(r) => r,
            };
            assert!(reason.contains(want), "{reason:?} lacks {want:?}");
            assert!(!reason.contains("hunter2"), "{reason:?} quotes the value");
        }
    }

    #[test]
    fn index_round_trips() {
        let keys: BTreeSet<String> = ["keys/dev".to_string(), "session/mfa-00".to_string()].into();
        assert_eq!(decode_index(encode_index(&keys).as_bytes()).unwrap(), keys);
    }
}
