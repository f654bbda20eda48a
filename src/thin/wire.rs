//! The daemon protocol: newline-delimited JSON, one request per connection, a protocol version in
//! every message. A request may be answered by events (`need_mfa`, `waiting`) before its reply; the
//! client answers `need_mfa` with `mfa_code` or `mfa_unavailable` on the same connection.
//!
//! ```text
//! → {"v":1,"op":"credentials","profile":"dev","min_remaining":1200,"env":{…}}
//! ← {"v":1,"event":"need_mfa","serial":"arn:…:mfa/alice","profile":"dev","mfa_process":null}
//! → {"v":1,"op":"mfa_code","code":"123456"}
//! ← {"v":1,"ok":true,"credentials":{"Version":1,"AccessKeyId":…},"region":"eu-west-1",…}
//! ```

use super::json::{self, Json};

/// The version every message carries; a peer with another one is refused with a clear message.
pub const PROTOCOL_VERSION: i64 = 1;
/// The longest message line either side accepts.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// The error code of a `credentials` request sent with `"prompt": false` that would need an MFA code
/// (the MFA session has ended).
pub const MFA_NEEDED: &str = "mfa_needed";

/// Environment variables a client passes along, so the daemon reads the same files and endpoints the
/// caller would (never credentials; the container endpoint's authorization token goes along because
/// `credential_source = EcsContainer` is resolved in the daemon, as the SDKs would in the caller).
pub const FORWARDED_ENV: &[&str] = &[
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_MAX_ATTEMPTS",
    "AWSENV_PROFILE",
    "AWSENV_TIMEOUT",
    "AWSENV_CONNECT_TIMEOUT",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_METADATA_SERVICE_TIMEOUT",
    "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

/// Builds a message object with the version first.
pub fn message(fields: Vec<(&str, Json)>) -> Json {
    let mut members = vec![("v".to_string(), Json::Number(PROTOCOL_VERSION.to_string()))];
    members.extend(fields.into_iter().map(|(k, v)| (k.to_string(), v)));
    Json::Object(members)
}

pub fn s(v: &str) -> Json {
    Json::String(v.to_string())
}

/// The `env` member of a request: the forwarded variables that are set.
pub fn forwarded_env(get: &dyn Fn(&str) -> Option<String>) -> Json {
    Json::Object(
        FORWARDED_ENV
            .iter()
            .filter_map(|k| get(k).map(|v| (k.to_string(), Json::String(v))))
            .collect(),
    )
}

/// Parses one line from the other side and checks its version.
pub fn parse_line(line: &str) -> Result<Json, String> {
    let v =
        json::parse(line).map_err(|e| format!("malformed message from the awsenv daemon: {e}"))?;
    match v.get("v").and_then(Json::as_i64) {
        Some(PROTOCOL_VERSION) => Ok(v),
        Some(other) => Err(format!(
            "awsenv daemon speaks protocol version {other}, this client {PROTOCOL_VERSION}; restart it with `awsenv daemon stop` (the next call starts the new one)"
        )),
        None => Err("message from the awsenv daemon has no protocol version; restart it with `awsenv daemon stop`".into()),
    }
}
