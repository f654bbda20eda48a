//! STS's Query API as pure values: the form bodies of the calls awsenv makes, the parsing of their
//! XML results and of both error shapes, and the translation of error codes into messages that say
//! what to do. No I/O: [`crate::edge::sts_client`] sends what this module builds.

use std::fmt;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::credentials::{Credentials, Secret};
use super::time::UtcTime;

/// The STS API version every call names.
pub const API_VERSION: &str = "2011-06-15";
/// The form content type STS expects.
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// One STS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    GetSessionToken {
        duration_seconds: Option<u32>,
        serial_number: Option<String>,
        token_code: Option<Secret>,
    },
    AssumeRole {
        role_arn: String,
        role_session_name: String,
        external_id: Option<String>,
        duration_seconds: Option<u32>,
        serial_number: Option<String>,
        token_code: Option<Secret>,
    },
    GetCallerIdentity,
    DecodeAuthorizationMessage {
        encoded_message: String,
    },
    GetFederationToken {
        name: String,
        duration_seconds: Option<u32>,
        policy: Option<String>,
    },
}

/// Percent-encodes a form value: RFC 3986 unreserved characters stay, everything else is `%XX`.
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Request {
    /// The `Action` name.
    pub fn action(&self) -> &'static str {
        match self {
            Request::GetSessionToken { .. } => "GetSessionToken",
            Request::AssumeRole { .. } => "AssumeRole",
            Request::GetCallerIdentity => "GetCallerIdentity",
            Request::DecodeAuthorizationMessage { .. } => "DecodeAuthorizationMessage",
            Request::GetFederationToken { .. } => "GetFederationToken",
        }
    }

    /// Whether the call carries an MFA code (such a call is never sent twice: a code works once).
    pub fn carries_mfa_code(&self) -> bool {
        matches!(
            self,
            Request::GetSessionToken {
                token_code: Some(_),
                ..
            } | Request::AssumeRole {
                token_code: Some(_),
                ..
            }
        )
    }

    /// The `application/x-www-form-urlencoded` body.
    pub fn form_body(&self) -> String {
        let mut params: Vec<(&str, String)> = vec![
            ("Action", self.action().to_string()),
            ("Version", API_VERSION.to_string()),
        ];
        let mut opt = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                params.push((k, v));
            }
        };
        match self {
            Request::GetSessionToken {
                duration_seconds,
                serial_number,
                token_code,
            } => {
                opt("DurationSeconds", duration_seconds.map(|d| d.to_string()));
                opt("SerialNumber", serial_number.clone());
                opt(
                    "TokenCode",
                    token_code.as_ref().map(|t| t.expose().to_string()),
                );
            }
            Request::AssumeRole {
                role_arn,
                role_session_name,
                external_id,
                duration_seconds,
                serial_number,
                token_code,
            } => {
                opt("RoleArn", Some(role_arn.clone()));
                opt("RoleSessionName", Some(role_session_name.clone()));
                opt("ExternalId", external_id.clone());
                opt("DurationSeconds", duration_seconds.map(|d| d.to_string()));
                opt("SerialNumber", serial_number.clone());
                opt(
                    "TokenCode",
                    token_code.as_ref().map(|t| t.expose().to_string()),
                );
            }
            Request::GetCallerIdentity => {}
            Request::DecodeAuthorizationMessage { encoded_message } => {
                opt("EncodedMessage", Some(encoded_message.clone()));
            }
            Request::GetFederationToken {
                name,
                duration_seconds,
                policy,
            } => {
                opt("Name", Some(name.clone()));
                opt("DurationSeconds", duration_seconds.map(|d| d.to_string()));
                opt("Policy", policy.clone());
            }
        }
        params
            .iter()
            .map(|(k, v)| format!("{k}={}", form_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// An XML document flattened to `(path, text)` pairs, path as `A/B/C` of local element names.
fn flatten(xml: &str) -> Result<Vec<(String, String)>, String> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut saw_element = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                saw_element = true;
                stack.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
            }
            Ok(Event::Empty(e)) => {
                saw_element = true;
                let mut path = stack.join("/");
                if !path.is_empty() {
                    path.push('/');
                }
                path.push_str(&String::from_utf8_lossy(e.local_name().as_ref()));
                out.push((path, String::new()));
            }
            Ok(Event::End(_)) => {
                stack.pop();
            }
            Ok(Event::Text(t)) => {
                let text = t.unescape().map_err(|e| e.to_string())?.into_owned();
                out.push((stack.join("/"), text));
            }
            Ok(Event::CData(c)) => {
                out.push((
                    stack.join("/"),
                    String::from_utf8_lossy(&c.into_inner()).into_owned(),
                ));
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    if !saw_element {
        return Err("not an XML document".into());
    }
    if !stack.is_empty() {
        return Err("the XML document ends early".into());
    }
    Ok(out)
}

fn field<'a>(fields: &'a [(String, String)], suffix: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(p, _)| p == suffix || p.ends_with(&format!("/{suffix}")))
        .map(|(_, v)| v.as_str())
}

/// A response body that is not what STS sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("STS answered {action} with something that is not a valid response ({problem}); if an endpoint override or a proxy is configured, check that it reaches STS")]
pub struct BadResponse {
    pub action: String,
    pub problem: String,
}

fn bad(action: &str, problem: impl Into<String>) -> BadResponse {
    BadResponse {
        action: action.to_string(),
        problem: problem.into(),
    }
}

/// The `Credentials` of a GetSessionToken, AssumeRole or GetFederationToken result.
pub fn parse_credentials(action: &str, xml: &str) -> Result<Credentials, BadResponse> {
    let fields = flatten(xml).map_err(|e| bad(action, e))?;
    let get = |name: &str| {
        field(&fields, &format!("Credentials/{name}"))
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad(action, format!("no Credentials/{name}")))
    };
    let expiration = get("Expiration")?;
    Ok(Credentials {
        access_key_id: get("AccessKeyId")?.to_string(),
        secret_access_key: Secret::new(get("SecretAccessKey")?),
        session_token: Some(Secret::new(get("SessionToken")?)),
        expiration: Some(
            UtcTime::parse_rfc3339(expiration)
                .ok_or_else(|| bad(action, format!("Expiration `{expiration}` is not a time")))?,
        ),
    })
}

/// The result of GetCallerIdentity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CallerIdentity {
    #[serde(rename = "Account")]
    pub account: String,
    #[serde(rename = "Arn")]
    pub arn: String,
    #[serde(rename = "UserId")]
    pub user_id: String,
}

pub fn parse_caller_identity(xml: &str) -> Result<CallerIdentity, BadResponse> {
    const ACTION: &str = "GetCallerIdentity";
    let fields = flatten(xml).map_err(|e| bad(ACTION, e))?;
    let get = |name: &str| {
        field(&fields, &format!("GetCallerIdentityResult/{name}"))
            .map(str::to_string)
            .ok_or_else(|| bad(ACTION, format!("no {name}")))
    };
    Ok(CallerIdentity {
        account: get("Account")?,
        arn: get("Arn")?,
        user_id: get("UserId")?,
    })
}

/// The decoded text (JSON) of DecodeAuthorizationMessage.
pub fn parse_decoded_message(xml: &str) -> Result<String, BadResponse> {
    const ACTION: &str = "DecodeAuthorizationMessage";
    let fields = flatten(xml).map_err(|e| bad(ACTION, e))?;
    field(&fields, "DecodeAuthorizationMessageResult/DecodedMessage")
        .map(str::to_string)
        .ok_or_else(|| bad(ACTION, "no DecodedMessage"))
}

/// The assumed role's ARN in an AssumeRole result.
pub fn parse_assumed_role_arn(xml: &str) -> Option<String> {
    let fields = flatten(xml).ok()?;
    field(&fields, "AssumedRoleUser/Arn").map(str::to_string)
}

/// An error response, in either of STS's two shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    pub status: u16,
    /// The AWS error code, when the body had one.
    pub code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
}

/// Parses an error body (`<ErrorResponse><Error>…` or `<ErrorResponse><Errors><Error>…`); a body that
/// is not such XML gives an error with no code and a short excerpt as the message.
pub fn parse_error(status: u16, body: &str) -> ServiceError {
    match flatten(body) {
        Ok(fields) => ServiceError {
            status,
            code: field(&fields, "Error/Code").map(str::to_string),
            message: field(&fields, "Error/Message").unwrap_or("").to_string(),
            request_id: field(&fields, "RequestId")
                .or_else(|| field(&fields, "RequestID"))
                .map(str::to_string),
        },
        Err(_) => {
            let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
            let mut excerpt: String = flat.chars().take(100).collect();
            if flat.chars().count() > 100 {
                excerpt.push('…');
            }
            ServiceError {
                status,
                code: None,
                message: excerpt,
                request_id: None,
            }
        }
    }
}

/// What an STS error means for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The MFA code was wrong or already used.
    WrongMfaCode,
    /// The credentials that signed the call have expired.
    ExpiredToken,
    /// The access key id is unknown.
    InvalidKey,
    /// The secret does not match the key id.
    SignatureMismatch,
    /// The request's time is too far from STS's (clock skew).
    ClockSkew,
    /// STS is not enabled in this region.
    RegionDisabled,
    Validation,
    /// Role chaining asked for more than an hour.
    ChainingLimit,
    AccessDenied,
    Throttled,
    Other,
}

impl ServiceError {
    pub fn kind(&self) -> ErrorKind {
        let code = self.code.as_deref().unwrap_or("");
        let msg = self.message.as_str();
        match code {
            "AccessDenied" if msg.contains("MultiFactorAuthentication") || msg.contains("MFA") => {
                ErrorKind::WrongMfaCode
            }
            "AccessDenied" => ErrorKind::AccessDenied,
            "ExpiredToken" | "ExpiredTokenException" => ErrorKind::ExpiredToken,
            "InvalidClientTokenId" | "UnrecognizedClientException" => ErrorKind::InvalidKey,
            "SignatureDoesNotMatch" if msg.contains("Signature expired") => ErrorKind::ClockSkew,
            "RequestExpired" | "RequestTimeTooSkewed" => ErrorKind::ClockSkew,
            "SignatureDoesNotMatch" => ErrorKind::SignatureMismatch,
            "RegionDisabledException" => ErrorKind::RegionDisabled,
            "ValidationError" if msg.contains("role chaining") => ErrorKind::ChainingLimit,
            "ValidationError" => ErrorKind::Validation,
            _ if super::retry::is_throttling(Some(code)) => ErrorKind::Throttled,
            _ => ErrorKind::Other,
        }
    }

    /// One sentence on what to do, for the user.
    pub fn advice(&self) -> &'static str {
        match self.kind() {
            ErrorKind::WrongMfaCode => {
                "the MFA code was refused (wrong, or already used once) — wait for the next code and try again"
            }
            ErrorKind::ExpiredToken => {
                "the session credentials have expired — log in again with `awsenv login`"
            }
            ErrorKind::InvalidKey => {
                "STS does not know this access key id (deleted, deactivated or mistyped) — check the key in the IAM console and store it again"
            }
            ErrorKind::SignatureMismatch => {
                "the secret access key does not match the access key id — re-enter the secret key"
            }
            ErrorKind::ClockSkew => {
                "the request's time is too far from STS's clock — set your system clock right (timedatectl set-ntp true)"
            }
            ErrorKind::RegionDisabled => {
                "STS is not enabled in this region for the account — enable the region in the account settings, or set another region"
            }
            ErrorKind::Validation => "STS refused a parameter — check the profile's settings",
            ErrorKind::ChainingLimit => {
                "a role assumed with another role's credentials can last at most 1 hour — set duration_seconds = 3600 or less"
            }
            ErrorKind::AccessDenied => {
                "access denied — check the role's trust policy and your permissions (`awsenv decode` reads an encoded authorization message)"
            }
            ErrorKind::Throttled => "STS is throttling requests — wait a little and try again",
            ErrorKind::Other => "STS refused the call",
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.code.as_deref().unwrap_or("no error code");
        write!(f, "{} (HTTP {}, {code}", self.advice(), self.status)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, "; request id {id}")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for ServiceError {}

/// The clock offset announced by a "Signature expired" message or a `Date` header, in seconds to add to
/// the local clock.
pub fn skew_from_date(local_now: UtcTime, server_date: &str) -> Option<i64> {
    UtcTime::parse_http_date(server_date).map(|server| local_now.seconds_until(server))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSUME_ROLE: &str = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <AssumedRoleId>AROA:awsenv-alice</AssumedRoleId>
      <Arn>arn:aws:sts::123456789012:assumed-role/dev/awsenv-alice</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
      <SecretAccessKey>secret&amp;key</SecretAccessKey>
      <SessionToken>token</SessionToken>
      <Expiration>2026-11-22T12:00:00.123456Z</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#;

    #[test]
    fn parses_credentials_with_fractional_expiration() {
        let c = parse_credentials("AssumeRole", ASSUME_ROLE).unwrap();
        assert_eq!(c.access_key_id, "ASIAEXAMPLE");
        assert_eq!(c.secret_access_key.expose(), "secret&key");
        assert_eq!(c.expiration.unwrap().rfc3339(), "2026-11-22T12:00:00Z");
        assert_eq!(
            parse_assumed_role_arn(ASSUME_ROLE).unwrap(),
            "arn:aws:sts::123456789012:assumed-role/dev/awsenv-alice"
        );
    }

    #[test]
    fn parses_both_error_shapes() {
        let a = parse_error(
            403,
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>MultiFactorAuthentication failed with invalid MFA one time pass code. </Message></Error><RequestId>x</RequestId></ErrorResponse>",
        );
        assert_eq!(a.kind(), ErrorKind::WrongMfaCode);
        assert_eq!(a.request_id.as_deref(), Some("x"));
        let b = parse_error(
            400,
            "<ErrorResponse><Errors><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></Errors><RequestID>y</RequestID></ErrorResponse>",
        );
        assert_eq!(b.kind(), ErrorKind::Throttled);
        assert_eq!(b.request_id.as_deref(), Some("y"));
        let c = parse_error(502, "<html>bad gateway");
        assert_eq!(c.code, None);
    }

    #[test]
    fn garbage_is_a_bad_response() {
        assert!(parse_credentials("AssumeRole", "not xml at all").is_err());
        assert!(parse_credentials("AssumeRole", "<a><b>").is_err());
        assert!(parse_caller_identity("<x/>").is_err());
    }

    #[test]
    fn form_bodies() {
        let r = Request::AssumeRole {
            role_arn: "arn:aws:iam::1:role/a b".into(),
            role_session_name: "s".into(),
            external_id: Some("e/1".into()),
            duration_seconds: Some(900),
            serial_number: None,
            token_code: None,
        };
        assert_eq!(
            r.form_body(),
            "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa%20b&RoleSessionName=s&ExternalId=e%2F1&DurationSeconds=900"
        );
        assert!(!r.carries_mfa_code());
    }
}
