//! `awsenv presign PROFILE URL [--expires 15m]`: a query-signed (presigned) URL made with the
//! profile's credentials, which anyone holding it can use until it expires. S3 URLs are signed with
//! `UNSIGNED-PAYLOAD`, as the S3 presigners of the SDKs do.

use std::process::ExitCode;

use anyhow::{bail, Context as _};

use super::curl::{self, ScopeArgs};
use super::{print_out, setup, Context, Run};
use crate::core::sigv4::{self, HttpRequest, SigningParams};
use crate::core::time::parse_duration;

/// AWS accepts presigned URLs valid for at most 7 days.
const MAX_EXPIRES: i64 = 7 * 24 * 3600;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  awsenv presign dev https://my-bucket.s3.eu-west-1.amazonaws.com/report.pdf --expires 1h\n  awsenv presign dev 'https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15'"
)]
pub struct Args {
    /// The profile whose credentials sign the URL
    #[arg(add = clap_complete::ArgValueCompleter::new(super::completions::profile_names))]
    profile: String,
    /// The URL to sign
    url: String,
    /// How long the URL works (e.g. 15m, 12h; at most 7 days, and never longer than the credentials)
    #[arg(long, default_value = "15m", value_name = "DURATION")]
    expires: String,
    /// The HTTP method the URL is for
    #[arg(short = 'X', long = "method", default_value = "GET")]
    method: String,
    #[command(flatten)]
    scope: ScopeArgs,
    /// Print the canonical request and the string to sign on stderr
    #[arg(long)]
    explain: bool,
    /// Get the credentials in this process instead of through the awsenv daemon
    #[arg(long)]
    no_daemon: bool,
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let url = reqwest::Url::parse(&self.url)
            .with_context(|| format!("`{}` is not a URL", self.url))?;
        let expires = parse_duration(&self.expires)
            .filter(|s| *s > 0)
            .with_context(|| format!("--expires {}: not a duration such as 15m", self.expires))?;
        if expires > MAX_EXPIRES {
            bail!(
                "--expires {}: AWS accepts presigned URLs for at most 7 days",
                self.expires
            );
        }
        let host = curl::host_header(&url)?;
        let (service, region) = self.scope.resolve(ctx, &self.profile, &host)?;
        let time = curl::signing_time(ctx)?;
        let h = setup::credentials(
            ctx,
            &self.profile,
            crate::engine::Want::default(),
            None,
            self.no_daemon,
        )?;
        if let Some(exp) = h.credentials.expiration {
            let left = time.seconds_until(exp);
            if left < expires {
                eprintln!(
                    "awsenv: warning: the credentials of {} end in {}, and the URL stops working with them",
                    self.profile,
                    crate::core::time::human_duration(left.max(0))
                );
            }
        }
        let req = HttpRequest {
            method: self.method.to_ascii_uppercase(),
            path_and_query: curl::path_and_query(&url),
            headers: vec![("Host".into(), host.clone())],
            body: Vec::new(),
        };
        let mut params = SigningParams::new(&region, &service, time);
        params.unsigned_payload = service == "s3";
        let creds = curl::signer_credentials(&h.credentials);
        let sig = sigv4::presign(&req, &creds, &params, expires as u64);
        if self.explain {
            eprint!("{}", curl::explain(&sig, creds.session_token));
        }
        print_out(&format!(
            "{}://{host}{}\n",
            url.scheme(),
            sig.path_and_query
        ))?;
        Ok(ExitCode::SUCCESS)
    }
}
