//! `awsenv whoami [PROFILE]`: who STS says the credentials belong to (GetCallerIdentity).

use std::process::ExitCode;

use super::{direct, print_out, Context, Run};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The profile (default: keys in the environment, then $AWS_PROFILE, then `default`)
    #[arg(add = clap_complete::ArgValueCompleter::new(super::completions::profile_names))]
    profile: Option<String>,
    /// Print the identity as JSON (the AWS CLI's shape)
    #[arg(long)]
    json: bool,
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let d = direct::credentials(ctx, self.profile.as_deref())?;
        let (id, answer) = direct::block_on(d.client.caller_identity(&d.creds))??;
        direct::warn_about(&answer);
        if self.json {
            print_out(&format!("{}\n", serde_json::to_string_pretty(&id)?))?;
        } else {
            print_out(&format!(
                "Account  {}\nArn      {}\nUserId   {}\n",
                id.account, id.arn, id.user_id
            ))?;
            eprintln!(
                "(credentials from {}; STS at {})",
                d.label,
                direct::describe_endpoint(d.client.endpoint())
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}
