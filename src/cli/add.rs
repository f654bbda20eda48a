//! `awsenv add PROFILE`: long-term keys into the OS keychain — typed on the terminal (the secret with
//! echo off), taken from the environment, or moved out of `~/.aws/credentials`.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context as _};

use super::{Context, Run};
use crate::core::config::FileKind;
use crate::core::credentials::{Credentials, Secret};
use crate::core::file_edit;
use crate::edge::aws_files;
use crate::engine::keychain_vault::KeychainVault;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The profile the keys belong to
    #[arg(add = clap_complete::ArgValueCompleter::new(super::completions::profile_names))]
    profile: String,
    /// Take the keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
    #[arg(long, conflicts_with = "import")]
    from_env: bool,
    /// Move the profile's keys out of the shared credentials file
    #[arg(long)]
    import: bool,
    /// With --import: delete the keys from the credentials file afterwards (the rest of the file is
    /// kept as it is)
    #[arg(long, requires = "import")]
    remove_plaintext: bool,
}

/// An access key id: 16 to 128 letters and digits.
fn check_key_id(akid: &str) -> anyhow::Result<()> {
    if !(16..=128).contains(&akid.len()) || !akid.chars().all(|c| c.is_ascii_alphanumeric()) {
        bail!("`{akid}` does not look like an access key id (AKIA… with 16 or more letters and digits)");
    }
    if akid.starts_with("ASIA") {
        bail!("{akid} is a temporary key (ASIA…), which expires; store a long-term access key (AKIA…) instead");
    }
    Ok(())
}

fn ask_terminal(profile: &str) -> anyhow::Result<Credentials> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| {
            anyhow!("no terminal to type the keys of {profile} on — use --from-env or --import")
        })?;
    let mut out = tty.try_clone()?;
    write!(out, "Access key ID for {profile}: ")?;
    out.flush()?;
    let mut akid = String::new();
    std::io::BufReader::new(tty).read_line(&mut akid)?;
    let akid = akid.trim().to_string();
    check_key_id(&akid)?;
    let secret = rpassword::prompt_password("Secret access key (not shown): ")
        .context("cannot read the secret key from the terminal")?;
    let secret = secret.trim().to_string();
    if secret.is_empty() {
        bail!("no secret access key was typed");
    }
    Ok(Credentials {
        access_key_id: akid,
        secret_access_key: Secret::new(secret),
        session_token: None,
        expiration: None,
    })
}

/// Replaces `path` with `text` atomically: a temporary file beside it, fsync, rename; the file's
/// permissions are kept.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let perms = std::fs::metadata(path)?.permissions();
    let tmp = dir.join(format!(
        ".{}.awsenv-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.set_permissions(perms)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot rewrite {}", path.display()))
}

impl Run for Args {
    fn run(self, ctx: &Context) -> anyhow::Result<ExitCode> {
        let profile = &self.profile;
        let vault = KeychainVault::open(&ctx.env)?;
        let files = aws_files::load(&ctx.env)?;
        let creds = if self.from_env {
            let akid = ctx
                .env
                .non_empty("AWS_ACCESS_KEY_ID")
                .ok_or_else(|| anyhow!("--from-env: AWS_ACCESS_KEY_ID is not set"))?;
            let secret = ctx
                .env
                .non_empty("AWS_SECRET_ACCESS_KEY")
                .ok_or_else(|| anyhow!("--from-env: AWS_SECRET_ACCESS_KEY is not set"))?;
            check_key_id(akid)?;
            Credentials {
                access_key_id: akid.into(),
                secret_access_key: Secret::new(secret),
                session_token: None,
                expiration: None,
            }
        } else if self.import {
            let section = files.profiles.profile(profile).ok_or_else(|| {
                anyhow!(
                    "profile `{profile}` is not in {} — nothing to import",
                    files.locations.credentials
                )
            })?;
            let get = |k: &str| section.non_empty(k).map(|v| v.value.clone());
            let (Some(akid), Some(secret)) =
                (get("aws_access_key_id"), get("aws_secret_access_key"))
            else {
                bail!("profile `{profile}` has no aws_access_key_id and aws_secret_access_key to import");
            };
            check_key_id(&akid)?;
            Credentials {
                access_key_id: akid,
                secret_access_key: Secret::new(secret),
                session_token: None,
                expiration: None,
            }
        } else {
            ask_terminal(profile)?
        };
        if !vault.selection.persistent {
            eprintln!(
                "awsenv: warning: {} — the keys of {profile} will be lost at reboot; set AWSENV_KEYCHAIN to a persistent keychain to avoid that",
                vault.selection.reason
            );
        }
        vault.keychain.set_keys(profile, &creds)?;
        let masked = format!(
            "{}…{}",
            &creds.access_key_id[..4],
            &creds.access_key_id[creds.access_key_id.len() - 4..]
        );
        eprintln!(
            "awsenv: stored the keys of profile {profile} ({masked}) in the {}",
            vault.selection.backend
        );
        if self.remove_plaintext {
            let path = Path::new(&files.locations.credentials);
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let (new, removed) = file_edit::remove_keys(&text, profile, FileKind::Credentials);
            if removed > 0 {
                write_atomically(path, &new)?;
                eprintln!(
                    "awsenv: removed {removed} line(s) of keys of {profile} from {}",
                    path.display()
                );
            }
        } else if self.import {
            eprintln!(
                "awsenv: the keys are still in {} as plaintext; `awsenv add {profile} --import --remove-plaintext` deletes them there",
                files.locations.credentials
            );
        }
        if files
            .profiles
            .profile(profile)
            .is_none_or(|p| p.get("mfa_serial").is_none())
        {
            eprintln!(
                "awsenv: hint: to use MFA with these keys, give the profile its device in {}:\n  [profile {profile}]\n  mfa_serial = arn:aws:iam::ACCOUNT:mfa/USER",
                files.locations.config
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}
