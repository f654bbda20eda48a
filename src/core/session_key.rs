//! Stable cache keys for the credentials each step of a plan produces, so that the MFA session and
//! every role hop are cached and shared: the same source, device, roles and durations give the same
//! key whichever profile asks.

use sha2::{Digest, Sha256};

use super::plan::{Plan, Source, Step};

/// The cache key of one step's credentials.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct SessionKey(pub String);

impl SessionKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn source_identity(source: &Source) -> String {
    match source {
        Source::Keychain { profile } => format!("keychain:{profile}"),
        Source::FileKeys {
            profile,
            access_key_id,
            ..
        } => format!("file:{profile}:{}", access_key_id.value),
        Source::Process { profile, command } => format!("process:{profile}:{}", command.value),
        Source::CredentialSource { profile, source } => {
            format!("credential_source:{profile}:{:?}", source.value)
        }
    }
}

/// One key per step of `plan`, in step order. Each key covers everything that shapes the
/// credentials up to and including that step.
pub fn step_keys(plan: &Plan) -> Vec<SessionKey> {
    let mut canonical = vec![source_identity(&plan.source)];
    plan.steps
        .iter()
        .map(|step| {
            canonical.push(match step {
                Step::GetSessionToken(g) => format!(
                    "GetSessionToken:{}:{}",
                    g.mfa_serial.value, g.duration_seconds.value
                ),
                Step::AssumeRole(r) => format!(
                    "AssumeRole:{}:{}:{}:{}:{}",
                    r.role_arn.value,
                    r.role_session_name.value,
                    r.external_id.as_ref().map_or("", |e| e.value.as_str()),
                    r.duration_seconds.value,
                    r.mfa_serial.as_ref().map_or("", |m| m.value.as_str()),
                ),
            });
            let digest = Sha256::digest(serde_json::to_string(&canonical).unwrap().as_bytes());
            let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
            let kind = match step {
                Step::GetSessionToken(_) => "mfa",
                Step::AssumeRole(_) => "role",
            };
            SessionKey(format!("{kind}-{hex}"))
        })
        .collect()
}
