//! Credentials as text for a shell or a tool: the formats `awsenv export --format F` prints and
//! `eval "$(awsenv dev)"` evaluates.
//!
//! Every value (keys and token from STS, region and profile name from the user's config) is treated
//! as hostile: it is quoted so that no shell or parser can run it or break out of its quotes, and where
//! a format cannot carry a character safely the whole export fails with [`ExportError`] instead of
//! printing something half-safe. A NUL is rejected everywhere (no environment variable can hold one).
//!
//! Besides setting the credentials, an export unsets the variables that would make an SDK ignore or
//! misread them (the JS SDK skips env keys when `AWS_PROFILE` is set; botocore prefers
//! `AWS_SECURITY_TOKEN` to `AWS_SESSION_TOKEN`), and the ones an earlier export may have left behind.

use std::fmt;
use std::str::FromStr;

use super::credentials::Credentials;
use super::time::UtcTime;

/// What to export: the credentials, the region (if any) and the profile they belong to.
pub struct Exported<'a> {
    pub credentials: &'a Credentials,
    pub region: Option<&'a str>,
    pub profile: &'a str,
    /// When the MFA session behind the credentials ends (`AWSENV_MFA_EXPIRES`), for prompts.
    pub mfa_expires: Option<UtcTime>,
    /// When the export was made (`AWSENV_EXPORTED_AT`): the shell hook compares it with the time of
    /// the last `awsenv logout`.
    pub exported_at: Option<UtcTime>,
}

/// An output format of `awsenv export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// POSIX sh, bash, zsh: `export NAME='value'`, `unset -v NAME`.
    Env,
    /// Like [`Format::Env`] without `export`: `NAME='value'`.
    EnvNoExport,
    /// fish: `set -gx NAME 'value'`.
    Fish,
    /// PowerShell: `$Env:NAME = 'value'`.
    Powershell,
    /// cmd.exe: `set "NAME=value"`; rejects values cmd cannot hold safely.
    WindowsCmd,
    /// nushell: `hide-env -i …` and `load-env { NAME: "value" }`.
    Nu,
    /// A JSON object of the variables to set.
    Json,
    /// The `credential_process` JSON document.
    Process,
    /// A `.env` file: `NAME="value"`.
    Dotenv,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 9] = [
        Format::Env,
        Format::EnvNoExport,
        Format::Fish,
        Format::Powershell,
        Format::WindowsCmd,
        Format::Nu,
        Format::Json,
        Format::Process,
        Format::Dotenv,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Env => "env",
            Format::EnvNoExport => "env-no-export",
            Format::Fish => "fish",
            Format::Powershell => "powershell",
            Format::WindowsCmd => "windows-cmd",
            Format::Nu => "nu",
            Format::Json => "json",
            Format::Process => "process",
            Format::Dotenv => "dotenv",
        }
    }

    /// Whether the format is a script that can remove variables (so `--unset` makes sense).
    pub fn can_unset(self) -> bool {
        !matches!(self, Format::Json | Format::Process | Format::Dotenv)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--format` name that is not one of [`Format::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown export format `{0}`; use one of: env, env-no-export, fish, powershell, windows-cmd, nu, json, process, dotenv")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

/// Why an export was refused. The messages name the variable and the offending character, never the
/// value (it may be a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("{variable} contains a NUL character, which no environment variable can hold; nothing was exported — check the value in your AWS config (or what STS returned)")]
    Nul { variable: &'static str },
    #[error("{variable} contains {found}, which the `{format}` format cannot write safely; nothing was exported — use another format (`--format json` carries any value) or fix the value")]
    Unrepresentable {
        variable: &'static str,
        format: Format,
        found: String,
    },
    #[error("the `{format}` format only lists values and cannot remove variables; `--unset` works with env, env-no-export, fish, powershell, windows-cmd and nu")]
    NoUnset { format: Format },
}

pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
pub const AWS_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
pub const AWS_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
pub const AWS_CREDENTIAL_EXPIRATION: &str = "AWS_CREDENTIAL_EXPIRATION";
pub const AWS_SESSION_EXPIRATION: &str = "AWS_SESSION_EXPIRATION";
/// The expiration as Unix seconds, so a prompt hook can compare it with `$EPOCHSECONDS` without
/// spawning a process.
pub const AWSENV_EXPIRES: &str = "AWSENV_EXPIRES";
pub const AWS_REGION: &str = "AWS_REGION";
pub const AWS_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
pub const AWSENV_PROFILE: &str = "AWSENV_PROFILE";
/// The end of the MFA session, as Unix seconds.
pub const AWSENV_MFA_EXPIRES: &str = "AWSENV_MFA_EXPIRES";
/// When the variables were exported, as Unix seconds.
pub const AWSENV_EXPORTED_AT: &str = "AWSENV_EXPORTED_AT";

/// Unset by every export: each makes some SDK ignore or misread the exported keys (see
/// `aws-reference.md` §2).
pub const ALWAYS_UNSET: [&str; 5] = [
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_FILE",
    "AWS_SDK_LOAD_CONFIG",
];

/// What `--unset` removes: every variable an export sets, plus `AWS_SECURITY_TOKEN` (a stale token).
/// The user's own settings (`AWS_PROFILE`, `AWS_SDK_LOAD_CONFIG`, …) are left alone: an export already
/// removed them, so if they are back the user put them there.
pub const UNSET_ON_CLEAR: [&str; 12] = [
    AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN,
    "AWS_SECURITY_TOKEN",
    AWS_CREDENTIAL_EXPIRATION,
    AWS_SESSION_EXPIRATION,
    AWSENV_EXPIRES,
    AWS_REGION,
    AWS_DEFAULT_REGION,
    AWSENV_PROFILE,
    AWSENV_MFA_EXPIRES,
    AWSENV_EXPORTED_AT,
];

/// The environment changes of one export, format-independent: also what `awsenv exec` would apply to a
/// child process. Values are checked for NUL.
#[derive(Clone, PartialEq, Eq)]
pub struct EnvChanges {
    /// Variables to remove, before the assignments.
    pub unset: Vec<&'static str>,
    /// Variables to set, in output order.
    pub set: Vec<(&'static str, String)>,
}

impl fmt::Debug for EnvChanges {
    // Names only: the values include secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvChanges")
            .field("unset", &self.unset)
            .field(
                "set",
                &self.set.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The variables an export of `e` sets and unsets. Fails only on a NUL in a value.
pub fn env_changes(e: &Exported) -> Result<EnvChanges, ExportError> {
    let c = e.credentials;
    let mut set: Vec<(&'static str, String)> = vec![
        (AWS_ACCESS_KEY_ID, c.access_key_id.clone()),
        (
            AWS_SECRET_ACCESS_KEY,
            c.secret_access_key.expose().to_string(),
        ),
    ];
    let mut unset: Vec<&'static str> = ALWAYS_UNSET.to_vec();
    // Each optional part is set or unset on its own, so nothing stale from an earlier export survives.
    match &c.session_token {
        Some(token) => set.push((AWS_SESSION_TOKEN, token.expose().to_string())),
        None => unset.push(AWS_SESSION_TOKEN),
    }
    match c.expiration {
        Some(t) => {
            set.push((AWS_CREDENTIAL_EXPIRATION, t.rfc3339()));
            set.push((AWS_SESSION_EXPIRATION, t.rfc3339()));
            set.push((AWSENV_EXPIRES, t.0.to_string()));
        }
        None => unset.extend([
            AWS_CREDENTIAL_EXPIRATION,
            AWS_SESSION_EXPIRATION,
            AWSENV_EXPIRES,
        ]),
    }
    match e.region {
        Some(region) => {
            set.push((AWS_REGION, region.to_string()));
            set.push((AWS_DEFAULT_REGION, region.to_string()));
        }
        None => unset.extend([AWS_REGION, AWS_DEFAULT_REGION]),
    }
    set.push((AWSENV_PROFILE, e.profile.to_string()));
    match e.mfa_expires {
        Some(t) => set.push((AWSENV_MFA_EXPIRES, t.0.to_string())),
        None => unset.push(AWSENV_MFA_EXPIRES),
    }
    match e.exported_at {
        Some(t) => set.push((AWSENV_EXPORTED_AT, t.0.to_string())),
        None => unset.push(AWSENV_EXPORTED_AT),
    }
    if let Some((variable, _)) = set.iter().find(|(_, v)| v.contains('\0')) {
        return Err(ExportError::Nul { variable });
    }
    Ok(EnvChanges { unset, set })
}

/// The export of `e` in `format`, ending with a newline. Either all of it or an error: a value the
/// format cannot carry safely fails the whole export.
pub fn render(e: &Exported, format: Format) -> Result<String, ExportError> {
    let changes = env_changes(e)?;
    match format {
        Format::Process => Ok(process_json(e.credentials)),
        Format::Json => Ok(json_object(&changes.set)),
        _ => script(format, &changes.unset, &changes.set),
    }
}

/// `--unset`: only the removal of [`UNSET_ON_CLEAR`], for the script formats.
pub fn render_unset(format: Format) -> Result<String, ExportError> {
    if !format.can_unset() {
        return Err(ExportError::NoUnset { format });
    }
    script(format, &UNSET_ON_CLEAR, &[])
}

fn script(
    format: Format,
    unset: &[&'static str],
    set: &[(&'static str, String)],
) -> Result<String, ExportError> {
    let mut out = String::new();
    match format {
        Format::Env | Format::EnvNoExport => {
            // `-v`: without it an unset name may remove a shell function of that name instead.
            for name in unset {
                out += &format!("unset -v {name}\n");
            }
            let export = if format == Format::Env { "export " } else { "" };
            for (name, value) in set {
                out += &format!("{export}{name}={}\n", sh_quote(value));
            }
        }
        Format::Fish => {
            // `if` keeps it silent in every fish version and leaves `$status` at 0.
            for name in unset {
                out += &format!("if set -q {name}; set -e {name}; end\n");
            }
            for (name, value) in set {
                out += &format!("set -gx {name} {}\n", fish_quote(value));
            }
        }
        Format::Powershell => {
            for name in unset {
                out += &format!("Remove-Item Env:{name} -ErrorAction SilentlyContinue\n");
            }
            for (name, value) in set {
                out += &format!("$Env:{name} = {}\n", powershell_quote(value));
            }
        }
        Format::WindowsCmd => {
            for name in unset {
                out += &format!("set \"{name}=\"\n");
            }
            for (name, value) in set {
                check_cmd(name, value)?;
                out += &format!("set \"{name}={value}\"\n");
            }
        }
        Format::Nu => {
            if !unset.is_empty() {
                out += &format!("hide-env -i {}\n", unset.join(" "));
            }
            if !set.is_empty() {
                out += "load-env {\n";
                for (name, value) in set {
                    out += &format!("    {name}: {}\n", nu_quote(value));
                }
                out += "}\n";
            }
        }
        Format::Dotenv => {
            for (name, value) in set {
                out += &format!("{name}={}\n", dotenv_quote(name, value)?);
            }
        }
        Format::Json | Format::Process => unreachable!("not a script format"),
    }
    Ok(out)
}

/// POSIX single quotes: nothing inside is special; a `'` is closed, escaped and reopened. (zsh's
/// `RC_QUOTES` is not triggered: a closing quote is never directly followed by an opening one.)
pub fn sh_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

/// fish single quotes: only `\\` and `\'` are escapes inside.
pub fn fish_quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', r"\\").replace('\'', r"\'"))
}

/// PowerShell single quotes: a quote is written twice. PowerShell also takes the typographic single
/// quotes U+2018–U+201B as quote characters, so those are doubled too.
fn powershell_quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('\'');
    for c in v.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// cmd.exe has no quoting that is safe for every character (`%` expands even inside quotes, `!` with
/// delayed expansion, `"` ends the quotes), so values with any of these are refused.
fn check_cmd(variable: &'static str, value: &str) -> Result<(), ExportError> {
    match value
        .chars()
        .find(|c| matches!(c, '"' | '%' | '!' | '^' | '&' | '|' | '<' | '>') || is_control(*c))
    {
        Some(c) => Err(ExportError::Unrepresentable {
            variable,
            format: Format::WindowsCmd,
            found: describe(c),
        }),
        None => Ok(()),
    }
}

/// nushell double quotes (no interpolation without `$`): `\"`, `\\`, `\n`, `\r`, `\t`, and `\u{…}` for
/// the other control characters.
fn nu_quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            '\n' => out += "\\n",
            '\r' => out += "\\r",
            '\t' => out += "\\t",
            c if is_control(c) => out += &format!("\\u{{{:x}}}", c as u32),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Double quotes that npm `dotenv` (v16+) and `python-dotenv` read the same way. They share only the
/// escapes `\n` and `\r`: npm keeps `\\` and `\"` as two characters while python-dotenv decodes them,
/// so a value with `\` or `"` cannot be written for both and is refused. `$` is refused because
/// python-dotenv and `dotenv-expand` interpolate `${…}`/`$NAME` even in double quotes, and `` ` `` so
/// that the file stays inert when someone `source`s it in sh (where `$`, `` ` ``, `\` and `"` are the
/// only specials inside double quotes).
fn dotenv_quote(variable: &'static str, v: &str) -> Result<String, ExportError> {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '\n' => out += "\\n",
            '\r' => out += "\\r",
            '"' | '\\' | '$' | '`' => {
                return Err(ExportError::Unrepresentable {
                    variable,
                    format: Format::Dotenv,
                    found: describe(c),
                })
            }
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// C0 controls other than tab, and DEL.
fn is_control(c: char) -> bool {
    (c.is_ascii_control() && c != '\t') || c == '\u{7f}'
}

/// A character named for an error message.
fn describe(c: char) -> String {
    match c {
        '\n' => "a newline".to_string(),
        '\r' => "a carriage return".to_string(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

/// A JSON object of the assignments, in output order (serde_json's map would sort the keys).
fn json_object(set: &[(&'static str, String)]) -> String {
    let mut out = String::from("{\n");
    for (i, (name, value)) in set.iter().enumerate() {
        let comma = if i + 1 < set.len() { "," } else { "" };
        out += &format!("  \"{name}\": {}{comma}\n", json_string(value));
    }
    out += "}\n";
    out
}

fn json_string(v: &str) -> String {
    serde_json::to_string(v).expect("a string always serializes")
}

/// The `credential_process` document on one line.
fn process_json(c: &Credentials) -> String {
    let mut out =
        serde_json::to_string(&c.process_document()).expect("plain strings always serialize");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::credentials::Secret;
    use crate::core::time::UtcTime;

    const EPOCH: i64 = 1767323045; // 2026-01-02T03:04:05Z

    fn temporary() -> Credentials {
        Credentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("wJalr/K7+MDENG"),
            session_token: Some(Secret::new("FwoGZXIvYXdz=")),
            expiration: Some(UtcTime(EPOCH)),
        }
    }

    fn long_term() -> Credentials {
        Credentials {
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: Secret::new("wJalr/K7+MDENG"),
            session_token: None,
            expiration: None,
        }
    }

    fn dev(c: &Credentials) -> Exported<'_> {
        Exported {
            credentials: c,
            region: Some("eu-west-1"),
            profile: "dev",
            mfa_expires: Some(UtcTime(EPOCH + 3600)),
            exported_at: Some(UtcTime(EPOCH - 100)),
        }
    }

    fn with_secret(secret: &str) -> Credentials {
        Credentials {
            secret_access_key: Secret::new(secret),
            ..temporary()
        }
    }

    #[test]
    fn expiration_constant_is_the_documented_time() {
        assert_eq!(UtcTime(EPOCH).rfc3339(), "2026-01-02T03:04:05Z");
    }

    #[test]
    fn env_output() {
        let c = temporary();
        assert_eq!(
            render(&dev(&c), Format::Env).unwrap(),
            "\
unset -v AWS_PROFILE
unset -v AWS_DEFAULT_PROFILE
unset -v AWS_SECURITY_TOKEN
unset -v AWS_CREDENTIAL_FILE
unset -v AWS_SDK_LOAD_CONFIG
export AWS_ACCESS_KEY_ID='ASIAEXAMPLE'
export AWS_SECRET_ACCESS_KEY='wJalr/K7+MDENG'
export AWS_SESSION_TOKEN='FwoGZXIvYXdz='
export AWS_CREDENTIAL_EXPIRATION='2026-01-02T03:04:05Z'
export AWS_SESSION_EXPIRATION='2026-01-02T03:04:05Z'
export AWSENV_EXPIRES='1767323045'
export AWS_REGION='eu-west-1'
export AWS_DEFAULT_REGION='eu-west-1'
export AWSENV_PROFILE='dev'
export AWSENV_MFA_EXPIRES='1767326645'
export AWSENV_EXPORTED_AT='1767322945'
"
        );
    }

    #[test]
    fn env_output_for_long_term_keys_without_region_unsets_the_rest() {
        let c = long_term();
        let e = Exported {
            credentials: &c,
            region: None,
            profile: "base",
            mfa_expires: None,
            exported_at: None,
        };
        assert_eq!(
            render(&e, Format::Env).unwrap(),
            "\
unset -v AWS_PROFILE
unset -v AWS_DEFAULT_PROFILE
unset -v AWS_SECURITY_TOKEN
unset -v AWS_CREDENTIAL_FILE
unset -v AWS_SDK_LOAD_CONFIG
unset -v AWS_SESSION_TOKEN
unset -v AWS_CREDENTIAL_EXPIRATION
unset -v AWS_SESSION_EXPIRATION
unset -v AWSENV_EXPIRES
unset -v AWS_REGION
unset -v AWS_DEFAULT_REGION
unset -v AWSENV_MFA_EXPIRES
unset -v AWSENV_EXPORTED_AT
export AWS_ACCESS_KEY_ID='AKIAEXAMPLE'
export AWS_SECRET_ACCESS_KEY='wJalr/K7+MDENG'
export AWSENV_PROFILE='base'
"
        );
    }

    #[test]
    fn env_no_export_output() {
        let c = temporary();
        let out = render(&dev(&c), Format::EnvNoExport).unwrap();
        assert!(out.starts_with("unset -v AWS_PROFILE\n"), "{out}");
        assert!(out.contains("\nAWS_ACCESS_KEY_ID='ASIAEXAMPLE'\n"), "{out}");
        assert!(out.ends_with("\nAWSENV_PROFILE='dev'\nAWSENV_MFA_EXPIRES='1767326645'\nAWSENV_EXPORTED_AT='1767322945'\n"));
        assert!(!out.contains("export"), "{out}");
    }

    #[test]
    fn fish_output() {
        let c = temporary();
        assert_eq!(
            render(&dev(&c), Format::Fish).unwrap(),
            "\
if set -q AWS_PROFILE; set -e AWS_PROFILE; end
if set -q AWS_DEFAULT_PROFILE; set -e AWS_DEFAULT_PROFILE; end
if set -q AWS_SECURITY_TOKEN; set -e AWS_SECURITY_TOKEN; end
if set -q AWS_CREDENTIAL_FILE; set -e AWS_CREDENTIAL_FILE; end
if set -q AWS_SDK_LOAD_CONFIG; set -e AWS_SDK_LOAD_CONFIG; end
set -gx AWS_ACCESS_KEY_ID 'ASIAEXAMPLE'
set -gx AWS_SECRET_ACCESS_KEY 'wJalr/K7+MDENG'
set -gx AWS_SESSION_TOKEN 'FwoGZXIvYXdz='
set -gx AWS_CREDENTIAL_EXPIRATION '2026-01-02T03:04:05Z'
set -gx AWS_SESSION_EXPIRATION '2026-01-02T03:04:05Z'
set -gx AWSENV_EXPIRES '1767323045'
set -gx AWS_REGION 'eu-west-1'
set -gx AWS_DEFAULT_REGION 'eu-west-1'
set -gx AWSENV_PROFILE 'dev'
set -gx AWSENV_MFA_EXPIRES '1767326645'
set -gx AWSENV_EXPORTED_AT '1767322945'
"
        );
    }

    // PowerShell is not installable on the test machines: its output is checked here only.
    #[test]
    fn powershell_output() {
        let c = temporary();
        assert_eq!(
            render(&dev(&c), Format::Powershell).unwrap(),
            "\
Remove-Item Env:AWS_PROFILE -ErrorAction SilentlyContinue
Remove-Item Env:AWS_DEFAULT_PROFILE -ErrorAction SilentlyContinue
Remove-Item Env:AWS_SECURITY_TOKEN -ErrorAction SilentlyContinue
Remove-Item Env:AWS_CREDENTIAL_FILE -ErrorAction SilentlyContinue
Remove-Item Env:AWS_SDK_LOAD_CONFIG -ErrorAction SilentlyContinue
$Env:AWS_ACCESS_KEY_ID = 'ASIAEXAMPLE'
$Env:AWS_SECRET_ACCESS_KEY = 'wJalr/K7+MDENG'
$Env:AWS_SESSION_TOKEN = 'FwoGZXIvYXdz='
$Env:AWS_CREDENTIAL_EXPIRATION = '2026-01-02T03:04:05Z'
$Env:AWS_SESSION_EXPIRATION = '2026-01-02T03:04:05Z'
$Env:AWSENV_EXPIRES = '1767323045'
$Env:AWS_REGION = 'eu-west-1'
$Env:AWS_DEFAULT_REGION = 'eu-west-1'
$Env:AWSENV_PROFILE = 'dev'
$Env:AWSENV_MFA_EXPIRES = '1767326645'
$Env:AWSENV_EXPORTED_AT = '1767322945'
"
        );
    }

    #[test]
    fn windows_cmd_output() {
        let c = temporary();
        assert_eq!(
            render(&dev(&c), Format::WindowsCmd).unwrap(),
            "\
set \"AWS_PROFILE=\"
set \"AWS_DEFAULT_PROFILE=\"
set \"AWS_SECURITY_TOKEN=\"
set \"AWS_CREDENTIAL_FILE=\"
set \"AWS_SDK_LOAD_CONFIG=\"
set \"AWS_ACCESS_KEY_ID=ASIAEXAMPLE\"
set \"AWS_SECRET_ACCESS_KEY=wJalr/K7+MDENG\"
set \"AWS_SESSION_TOKEN=FwoGZXIvYXdz=\"
set \"AWS_CREDENTIAL_EXPIRATION=2026-01-02T03:04:05Z\"
set \"AWS_SESSION_EXPIRATION=2026-01-02T03:04:05Z\"
set \"AWSENV_EXPIRES=1767323045\"
set \"AWS_REGION=eu-west-1\"
set \"AWS_DEFAULT_REGION=eu-west-1\"
set \"AWSENV_PROFILE=dev\"
set \"AWSENV_MFA_EXPIRES=1767326645\"
set \"AWSENV_EXPORTED_AT=1767322945\"
"
        );
    }

    // nushell is not installable on the test machines: its output is checked here only.
    #[test]
    fn nu_output() {
        let c = temporary();
        assert_eq!(
            render(&dev(&c), Format::Nu).unwrap(),
            "\
hide-env -i AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SECURITY_TOKEN AWS_CREDENTIAL_FILE AWS_SDK_LOAD_CONFIG
load-env {
    AWS_ACCESS_KEY_ID: \"ASIAEXAMPLE\"
    AWS_SECRET_ACCESS_KEY: \"wJalr/K7+MDENG\"
    AWS_SESSION_TOKEN: \"FwoGZXIvYXdz=\"
    AWS_CREDENTIAL_EXPIRATION: \"2026-01-02T03:04:05Z\"
    AWS_SESSION_EXPIRATION: \"2026-01-02T03:04:05Z\"
    AWSENV_EXPIRES: \"1767323045\"
    AWS_REGION: \"eu-west-1\"
    AWS_DEFAULT_REGION: \"eu-west-1\"
    AWSENV_PROFILE: \"dev\"
    AWSENV_MFA_EXPIRES: \"1767326645\"
    AWSENV_EXPORTED_AT: \"1767322945\"
}
"
        );
    }

    #[test]
    fn json_output() {
        let c = temporary();
        assert_eq!(
            render(&dev(&c), Format::Json).unwrap(),
            r#"{
  "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE",
  "AWS_SECRET_ACCESS_KEY": "wJalr/K7+MDENG",
  "AWS_SESSION_TOKEN": "FwoGZXIvYXdz=",
  "AWS_CREDENTIAL_EXPIRATION": "2026-01-02T03:04:05Z",
  "AWS_SESSION_EXPIRATION": "2026-01-02T03:04:05Z",
  "AWSENV_EXPIRES": "1767323045",
  "AWS_REGION": "eu-west-1",
  "AWS_DEFAULT_REGION": "eu-west-1",
  "AWSENV_PROFILE": "dev",
  "AWSENV_MFA_EXPIRES": "1767326645",
  "AWSENV_EXPORTED_AT": "1767322945"
}
"#
        );
    }

    #[test]
    fn process_output() {
        let c = temporary();
        assert_eq!(
            render(&dev(&c), Format::Process).unwrap(),
            "{\"Version\":1,\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"wJalr/K7+MDENG\",\
             \"SessionToken\":\"FwoGZXIvYXdz=\",\"Expiration\":\"2026-01-02T03:04:05Z\"}\n"
        );
        let c = long_term();
        assert_eq!(
            render(&dev(&c), Format::Process).unwrap(),
            "{\"Version\":1,\"AccessKeyId\":\"AKIAEXAMPLE\",\"SecretAccessKey\":\"wJalr/K7+MDENG\"}\n"
        );
    }

    #[test]
    fn dotenv_output() {
        let c = temporary();
        assert_eq!(
            render(&dev(&c), Format::Dotenv).unwrap(),
            "\
AWS_ACCESS_KEY_ID=\"ASIAEXAMPLE\"
AWS_SECRET_ACCESS_KEY=\"wJalr/K7+MDENG\"
AWS_SESSION_TOKEN=\"FwoGZXIvYXdz=\"
AWS_CREDENTIAL_EXPIRATION=\"2026-01-02T03:04:05Z\"
AWS_SESSION_EXPIRATION=\"2026-01-02T03:04:05Z\"
AWSENV_EXPIRES=\"1767323045\"
AWS_REGION=\"eu-west-1\"
AWS_DEFAULT_REGION=\"eu-west-1\"
AWSENV_PROFILE=\"dev\"
AWSENV_MFA_EXPIRES=\"1767326645\"
AWSENV_EXPORTED_AT=\"1767322945\"
"
        );
    }

    #[test]
    fn unset_output() {
        assert_eq!(
            render_unset(Format::Env).unwrap(),
            "\
unset -v AWS_ACCESS_KEY_ID
unset -v AWS_SECRET_ACCESS_KEY
unset -v AWS_SESSION_TOKEN
unset -v AWS_SECURITY_TOKEN
unset -v AWS_CREDENTIAL_EXPIRATION
unset -v AWS_SESSION_EXPIRATION
unset -v AWSENV_EXPIRES
unset -v AWS_REGION
unset -v AWS_DEFAULT_REGION
unset -v AWSENV_PROFILE
unset -v AWSENV_MFA_EXPIRES
unset -v AWSENV_EXPORTED_AT
"
        );
        assert_eq!(
            render_unset(Format::EnvNoExport).unwrap(),
            render_unset(Format::Env).unwrap()
        );
        let fish = render_unset(Format::Fish).unwrap();
        assert!(fish.starts_with("if set -q AWS_ACCESS_KEY_ID; set -e AWS_ACCESS_KEY_ID; end\n"));
        assert_eq!(fish.lines().count(), 12);
        let ps = render_unset(Format::Powershell).unwrap();
        assert!(ps.ends_with("Remove-Item Env:AWSENV_EXPORTED_AT -ErrorAction SilentlyContinue\n"));
        assert_eq!(ps.lines().count(), 12);
        let cmd = render_unset(Format::WindowsCmd).unwrap();
        assert!(cmd.starts_with("set \"AWS_ACCESS_KEY_ID=\"\n"), "{cmd}");
        assert_eq!(
            render_unset(Format::Nu).unwrap(),
            "hide-env -i AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN \
             AWS_CREDENTIAL_EXPIRATION AWS_SESSION_EXPIRATION AWSENV_EXPIRES AWS_REGION AWS_DEFAULT_REGION \
             AWSENV_PROFILE AWSENV_MFA_EXPIRES AWSENV_EXPORTED_AT\n"
        );
        for format in [Format::Json, Format::Process, Format::Dotenv] {
            assert_eq!(
                render_unset(format),
                Err(ExportError::NoUnset { format }),
                "{format}"
            );
        }
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
            assert_eq!(f.to_string(), f.name());
        }
        let err = "bash".parse::<Format>().unwrap_err();
        assert!(err.to_string().contains("env-no-export"), "{err}");
    }

    #[test]
    fn hostile_quotes_in_posix_fish_and_powershell() {
        let c = with_secret("a'b\\c\"d$(x)`y`\n‘’");
        let e = dev(&c);
        assert!(render(&e, Format::Env)
            .unwrap()
            .contains("export AWS_SECRET_ACCESS_KEY='a'\\''b\\c\"d$(x)`y`\n‘’'\n"));
        assert!(render(&e, Format::Fish)
            .unwrap()
            .contains("set -gx AWS_SECRET_ACCESS_KEY 'a\\'b\\\\c\"d$(x)`y`\n‘’'\n"));
        assert!(render(&e, Format::Powershell)
            .unwrap()
            .contains("$Env:AWS_SECRET_ACCESS_KEY = 'a''b\\c\"d$(x)`y`\n‘‘’’'\n"));
        assert!(render(&e, Format::Nu)
            .unwrap()
            .contains("    AWS_SECRET_ACCESS_KEY: \"a'b\\\\c\\\"d$(x)`y`\\n‘’\"\n"));
    }

    #[test]
    fn nu_escapes_control_characters() {
        assert_eq!(
            nu_quote("a\tb\rc\u{1b}d\u{7f}e\u{1}"),
            "\"a\\tb\\rc\\u{1b}d\\u{7f}e\\u{1}\""
        );
    }

    #[test]
    fn nul_is_rejected_in_every_format() {
        let c = with_secret("abc\0def");
        for f in Format::ALL {
            assert_eq!(
                render(&dev(&c), f),
                Err(ExportError::Nul {
                    variable: AWS_SECRET_ACCESS_KEY
                }),
                "{f}"
            );
        }
        let c = temporary();
        let e = Exported {
            credentials: &c,
            region: None,
            profile: "de\0v",
            mfa_expires: None,
            exported_at: None,
        };
        assert_eq!(
            render(&e, Format::Json),
            Err(ExportError::Nul {
                variable: AWSENV_PROFILE
            })
        );
    }

    #[test]
    fn windows_cmd_rejects_what_it_cannot_quote() {
        for (value, found) in [
            ("a\"b", "`\"`"),
            ("100%", "`%`"),
            ("hi!", "`!`"),
            ("a^b", "`^`"),
            ("a&b", "`&`"),
            ("a|b", "`|`"),
            ("a<b", "`<`"),
            ("a>b", "`>`"),
            ("a\nb", "a newline"),
            ("a\rb", "a carriage return"),
            ("a\u{1a}b", "the control character U+001A"),
        ] {
            let c = with_secret(value);
            let err = render(&dev(&c), Format::WindowsCmd).unwrap_err();
            assert_eq!(
                err,
                ExportError::Unrepresentable {
                    variable: AWS_SECRET_ACCESS_KEY,
                    format: Format::WindowsCmd,
                    found: found.to_string(),
                },
                "{value:?}"
            );
        }
        // Everything else passes through verbatim, unicode and tabs included.
        let c = with_secret("a'b;c(d)e$f`g\th 日本 🦀");
        assert!(render(&dev(&c), Format::WindowsCmd)
            .unwrap()
            .contains("set \"AWS_SECRET_ACCESS_KEY=a'b;c(d)e$f`g\th 日本 🦀\"\n"));
    }

    #[test]
    fn dotenv_escapes_newlines_and_rejects_what_dialects_disagree_on() {
        let c = with_secret("line1\nline2\r'single' #hash 日本");
        assert!(render(&dev(&c), Format::Dotenv)
            .unwrap()
            .contains("AWS_SECRET_ACCESS_KEY=\"line1\\nline2\\r'single' #hash 日本\"\n"));
        for bad in ['"', '\\', '$', '`'] {
            let c = with_secret(&format!("a{bad}b"));
            assert_eq!(
                render(&dev(&c), Format::Dotenv),
                Err(ExportError::Unrepresentable {
                    variable: AWS_SECRET_ACCESS_KEY,
                    format: Format::Dotenv,
                    found: format!("`{bad}`"),
                })
            );
        }
    }

    #[test]
    fn json_formats_escape_everything_json_needs() {
        let c = with_secret("q\"b\\n\nc\u{1}");
        let out = render(&dev(&c), Format::Json).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v[AWS_SECRET_ACCESS_KEY], "q\"b\\n\nc\u{1}");
        let out = render(&dev(&c), Format::Process).unwrap();
        assert_eq!(out.matches('\n').count(), 1, "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["SecretAccessKey"], "q\"b\\n\nc\u{1}");
        assert_eq!(v["Version"], 1);
    }

    #[test]
    fn errors_never_show_the_value() {
        let c = with_secret("TOPSECRET%\0");
        for f in Format::ALL {
            let msg = render(&dev(&c), f).unwrap_err().to_string();
            assert!(!msg.contains("TOPSECRET"), "{msg}");
        }
        let c = with_secret("TOPSECRET%");
        let msg = render(&dev(&c), Format::WindowsCmd)
            .unwrap_err()
            .to_string();
        assert!(!msg.contains("TOPSECRET"), "{msg}");
        assert!(
            msg.contains("AWS_SECRET_ACCESS_KEY") && msg.contains("`%`"),
            "{msg}"
        );
        let changes = env_changes(&dev(&temporary())).unwrap();
        assert!(!format!("{changes:?}").contains("wJalr"));
    }
}
