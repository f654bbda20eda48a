//! Credentials that can be used as they are — keys in the environment or in the shared files — with
//! the region and STS endpoint that go with them. `whoami` and `decode` use this until the credential
//! engine (MFA sessions, role hops) is in place.

use anyhow::{anyhow, Context as _};

use super::Context;
use crate::core::credentials::{Credentials, Secret};
use crate::core::endpoint::{self, StsEndpoint};
use crate::core::plan::{self, Inputs, Source};
use crate::edge::aws_files;
use crate::edge::sts_client::{describe_skew, Answer, ClientSettings, StsClient};

/// Credentials with where they came from, and the STS client to use them with.
pub struct Direct {
    pub creds: Credentials,
    /// "the environment" or "profile `x` (file:line)".
    pub label: String,
    pub client: StsClient,
}

/// The credentials of `profile`, or with no profile named, the environment's keys when set (as every
/// SDK's chain puts them first), else the selected profile's.
pub fn credentials(ctx: &Context, profile: Option<&str>) -> anyhow::Result<Direct> {
    let env = &ctx.env;
    let loaded = aws_files::load(env)?;
    let settings = ClientSettings::from_env(env)?;
    let env_keys = (
        env.non_empty("AWS_ACCESS_KEY_ID"),
        env.non_empty("AWS_SECRET_ACCESS_KEY"),
    );
    if let (None, (Some(akid), Some(secret))) = (profile, env_keys) {
        let section = loaded.profiles.profile(&loaded.locations.profile);
        let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|v| env.non_empty(v))
            .or_else(|| section.and_then(|s| s.get("region")))
            .unwrap_or(plan::DEFAULT_REGION)
            .to_string();
        let token = env
            .non_empty("AWS_SESSION_TOKEN")
            .or_else(|| env.non_empty("AWS_SECURITY_TOKEN"));
        let endpoint = endpoint::resolve(env, &loaded.profiles, section, &region);
        return Ok(Direct {
            creds: Credentials {
                access_key_id: akid.to_string(),
                secret_access_key: Secret::new(secret),
                session_token: token.map(Secret::new),
                expiration: None,
            },
            label: "the environment (AWS_ACCESS_KEY_ID)".into(),
            client: StsClient::new(endpoint, settings)?,
        });
    }
    let name = profile.unwrap_or(&loaded.locations.profile);
    let keys = super::setup::key_index(ctx);
    let inputs = Inputs {
        profiles: &loaded.profiles,
        env,
        keys: keys.as_ref(),
    };
    let plan = plan::resolve(&inputs, name)?;
    let target = loaded.profiles.profile(name);
    let endpoint = endpoint::resolve(env, &loaded.profiles, target, &plan.region.value);
    if let (true, Source::FileKeys { profile: owner, .. }) = (plan.steps.is_empty(), &plan.source) {
        let section = loaded
            .profiles
            .profile(owner)
            .ok_or_else(|| anyhow!("profile `{owner}` vanished"))?;
        let get = |k: &str| section.non_empty(k).map(|v| v.value.clone());
        let akid = get("aws_access_key_id").context("no aws_access_key_id")?;
        let secret = get("aws_secret_access_key").context("no aws_secret_access_key")?;
        let at = section
            .value("aws_access_key_id")
            .map(|v| v.origin.to_string())
            .unwrap_or_default();
        return Ok(Direct {
            creds: Credentials {
                access_key_id: akid,
                secret_access_key: Secret::new(secret),
                session_token: get("aws_session_token").map(Secret::new),
                expiration: None,
            },
            label: format!("profile `{owner}` ({at})"),
            client: StsClient::new(endpoint, settings)?,
        });
    }
    // Everything else — keychain keys, an MFA session, role hops — comes from the engine.
    let handout =
        super::setup::credentials(ctx, name, crate::engine::Want::default(), None, false)?;
    Ok(Direct {
        creds: handout.credentials,
        label: format!("profile `{name}` through awsenv"),
        client: StsClient::new(endpoint, settings)?,
    })
}

/// Tells the user about a clock skew that a call had to correct.
pub fn warn_about(answer: &Answer) {
    if let Some(skew) = answer.clock_skew {
        eprintln!("awsenv: warning: {}", describe_skew(skew));
    }
}

/// A runtime for the one async call a command makes.
pub fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(rt.block_on(f))
}

/// Where STS is, for messages.
pub fn describe_endpoint(e: &StsEndpoint) -> String {
    format!("{} ({})", e.url, e.from)
}
