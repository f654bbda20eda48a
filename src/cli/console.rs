//! `awsenv console PROFILE [--print] [--destination URL]`: signs in to the AWS console with the
//! profile's credentials through the federation endpoint (`getSigninToken`, then a `login` URL valid
//! for 15 minutes) and opens it in the browser, or prints it.
//!
//! The console takes a role's credentials or a federation token's, not long-term keys or an MFA
//! session's (GetSessionToken) credentials: for a profile without a role, awsenv first calls
//! GetFederationToken with the profile's long-term keys. China and GovCloud have their own sign-in
//! and console hosts; `AWSENV_FEDERATION_ENDPOINT` replaces the federation URL (for tests).

use std::process::ExitCode;

use anyhow::{anyhow, bail, Context as _};

use super::{print_out, setup, Context, Run};
use crate::core::credentials::{Credentials, Secret};
use crate::core::endpoint;
use crate::core::plan::{Plan, Source};
use crate::core::sts::{self, form_encode};
use crate::edge::sts_client::{ClientSettings, StsClient};
use crate::engine::Vault as _;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The profile
    #[arg(add = clap_complete::ArgValueCompleter::new(super::completions::profile_names))]
    profile: String,
    /// Print the sign-in URL instead of opening the browser (it works for 15 minutes: treat it as a
    /// password)
    #[arg(long)]
    print: bool,
    /// The console page to land on (default: the console home in the profile's region)
    #[arg(long, value_name = "URL")]
    destination: Option<String>,
    /// Get the credentials in this process instead of through the awsenv daemon
    #[arg(long)]
    no_daemon: bool,
}

/// The policy passed to GetFederationToken: without one the federated session may do nothing; with
/// it, exactly what the user's own policies allow.
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// A partition's sign-in and console hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub federation: &'static str,
    pub console: &'static str,
}

/// The partition of a region (or of an ARN's partition name, which wins when given).
pub fn partition(region: &str, arn: Option<&str>) -> Partition {
    let name = arn
        .and_then(|a| a.split(':').nth(1))
        .filter(|p| p.starts_with("aws"))
        .unwrap_or(if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        });
    match name {
        "aws-cn" => Partition {
            federation: "https://signin.amazonaws.cn/federation",
            console: "https://console.amazonaws.cn/",
        },
        "aws-us-gov" => Partition {
            federation: "https://signin.amazonaws-us-gov.com/federation",
            console: "https://console.amazonaws-us-gov.com/",
        },
        _ => Partition {
            federation: "https://signin.aws.amazon.com/federation",
            console: "https://console.aws.amazon.com/",
        },
    }
}

/// The `getSigninToken` URL for some credentials.
pub fn signin_token_url(federation: &str, c: &Credentials) -> String {
    let session = serde_json::json!({
        "sessionId": c.access_key_id,
        "sessionKey": c.secret_access_key.expose(),
        "sessionToken": c.session_token.as_ref().map(|t| t.expose()).unwrap_or_default(),
    });
    format!(
        "{federation}?Action=getSigninToken&Session={}",
        form_encode(&session.to_string())
    )
}

/// The `login` URL that signs the browser in.
pub fn login_url(federation: &str, destination: &str, token: &str) -> String {
    format!(
        "{federation}?Action=login&Issuer=awsenv&Destination={}&SigninToken={}",
        form_encode(destination),
        form_encode(token)
    )
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let local = setup::Local::open(ctx)?;
        let plan = local.plan(ctx, &self.profile)?;
        let region = plan.region.value.clone();
        let last_role = plan.role_steps().last().map(|r| r.role_arn.value.clone());
        let part = partition(&region, last_role.as_deref());
        let federation = ctx
            .env
            .non_empty("AWSENV_FEDERATION_ENDPOINT")
            .map(str::to_string)
            .unwrap_or_else(|| part.federation.to_string());
        let destination = self
            .destination
            .clone()
            .unwrap_or_else(|| format!("{}console/home?region={region}", part.console));

        let creds = if last_role.is_some() {
            setup::credentials(
                ctx,
                &self.profile,
                crate::engine::Want::default(),
                None,
                self.no_daemon,
            )?
            .credentials
        } else {
            federation_token(ctx, &local, &plan)?
        };
        let token = super::direct::block_on(signin_token(&federation, &creds))??;
        let url = login_url(&federation, &destination, &token);
        if self.print {
            print_out(&format!("{url}\n"))?;
            return Ok(ExitCode::SUCCESS);
        }
        match open_browser(ctx, &url) {
            Ok(how) => {
                eprintln!("awsenv: opened the console for {} ({how})", self.profile);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!(
                    "awsenv: cannot open a browser ({e}); the sign-in URL, valid for 15 minutes:"
                );
                print_out(&format!("{url}\n"))?;
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

/// GetFederationToken with the profile's long-term keys: the console refuses long-term keys and MFA
/// session credentials, and GetSessionToken credentials cannot call GetFederationToken.
fn federation_token(
    ctx: &Context,
    local: &setup::Local,
    plan: &Plan,
) -> anyhow::Result<Credentials> {
    let base = match &plan.source {
        Source::Keychain { profile } => local
            .vault
            .long_term_keys(profile)?
            .ok_or_else(|| anyhow!("no long-term keys for profile `{profile}` in the keychain — store them with `awsenv add {profile}`"))?,
        Source::FileKeys { profile, .. } => {
            let p = local
                .files
                .profiles
                .profile(profile)
                .ok_or_else(|| anyhow!("profile `{profile}` vanished"))?;
            let get = |k: &str| p.non_empty(k).map(|v| v.value.clone());
            Credentials {
                access_key_id: get("aws_access_key_id").unwrap_or_default(),
                secret_access_key: Secret::new(get("aws_secret_access_key").unwrap_or_default()),
                session_token: get("aws_session_token").map(Secret::new),
                expiration: None,
            }
        }
        Source::Process { profile, command } => {
            crate::engine::process::run(&command.value, profile).map_err(|e| anyhow!(e))?
        }
        Source::CredentialSource { profile, .. } => bail!(
            "profile `{profile}` gets its credentials from a credential_source without a role; give it a role_arn to sign in to the console"
        ),
    };
    if base.session_token.is_some() {
        // Temporary already (a role's or a federation token's, one hopes): the console decides.
        return Ok(base);
    }
    if plan.session_step().is_some() {
        eprintln!(
            "awsenv: profile {} has no role, so the console session is a federation token made from its long-term keys; it carries no MFA (give the profile a role to sign in with MFA)",
            plan.profile
        );
    }
    let user: String = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| ctx.env.non_empty(v))
        .unwrap_or("user")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c))
        .collect();
    let mut name = format!("awsenv-{user}");
    name.truncate(32);
    let target = local.files.profiles.profile(&plan.profile);
    let sts_endpoint =
        endpoint::resolve(&ctx.env, &local.files.profiles, target, &plan.region.value);
    let client = StsClient::new(sts_endpoint, ClientSettings::from_env(&ctx.env)?)?;
    let request = sts::Request::GetFederationToken {
        name,
        duration_seconds: Some(12 * 3600),
        policy: Some(ALLOW_ALL.to_string()),
    };
    let (creds, answer) = super::direct::block_on(client.credentials(&base, &request))??;
    super::direct::warn_about(&answer);
    Ok(creds)
}

/// `getSigninToken`: the federation endpoint turns the credentials into a sign-in token.
async fn signin_token(federation: &str, c: &Credentials) -> anyhow::Result<String> {
    let http = reqwest::Client::builder()
        .user_agent(crate::edge::sts_client::USER_AGENT)
        .build()?;
    let response = http
        .get(signin_token_url(federation, c))
        .send()
        .await
        .with_context(|| format!("cannot reach the federation endpoint {federation}"))?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!(
            "the federation endpoint {federation} refused the credentials (HTTP {status}): {}",
            text.chars().take(300).collect::<String>()
        );
    }
    let doc: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("the federation endpoint {federation} did not answer JSON"))?;
    doc.get("SigninToken")
        .and_then(|t| t.as_str())
        .map(str::to_string)
        .ok_or_else(|| {
            anyhow!("the federation endpoint {federation} answered without a SigninToken")
        })
}

/// Opens `url` with `$BROWSER`, else the desktop's opener.
fn open_browser(ctx: &Context, url: &str) -> anyhow::Result<String> {
    let candidates: Vec<String> = match ctx.env.non_empty("BROWSER") {
        Some(b) => vec![b.to_string()],
        None if cfg!(target_os = "macos") => vec!["open".into()],
        None => vec!["xdg-open".into()],
    };
    for program in &candidates {
        let status = std::process::Command::new(program)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        if let Ok(s) = status {
            if s.success() {
                return Ok(program.clone());
            }
        }
    }
    bail!("{} did not start", candidates.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions() {
        assert_eq!(
            partition("eu-west-1", None).federation,
            "https://signin.aws.amazon.com/federation"
        );
        assert_eq!(
            partition("cn-north-1", None).federation,
            "https://signin.amazonaws.cn/federation"
        );
        assert_eq!(
            partition("us-gov-west-1", None).console,
            "https://console.amazonaws-us-gov.com/"
        );
        assert_eq!(
            partition("us-east-1", Some("arn:aws-cn:iam::1:role/x")).console,
            "https://console.amazonaws.cn/"
        );
    }
}
