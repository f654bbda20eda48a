//! The typed model of the shared config files: profiles, `sso-session` and `services` sections, each
//! value with the file and line it came from.
//!
//! The rules are the cross-SDK ones: `[profile NAME]` in the config file, `[NAME]` in the credentials
//! file, `[default]` in both with `[profile default]` winning over `[default]` in the config file;
//! duplicate sections merge and the last value wins; the credentials file overrides the config file
//! key by key; sections and keys with invalid names are ignored (and reported as warnings).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value as Json};

use super::profile_file::{self, is_valid_identifier, RawFile, SyntaxError};

/// Which of the two shared files a text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    Config,
    Credentials,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Config => "config file",
            FileKind::Credentials => "credentials file",
        })
    }
}

/// A file's text with its path and kind.
#[derive(Debug, Clone, Copy)]
pub struct SourceFile<'a> {
    pub kind: FileKind,
    pub path: &'a Path,
    pub text: &'a str,
}

/// A place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub kind: FileKind,
    pub path: Arc<Path>,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// A property value and where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub value: String,
    pub origin: Origin,
}

/// A profile, `sso-session` or `services` section after merging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub properties: BTreeMap<String, Value>,
    /// Every header that contributed to this section, in reading order (config file first).
    pub defined_at: Vec<Origin>,
}

impl Section {
    /// A section with no property, defined nowhere (a profile that exists only in the keychain).
    pub fn new(name: &str) -> Self {
        Section {
            name: name.to_string(),
            properties: BTreeMap::new(),
            defined_at: Vec::new(),
        }
    }

    /// A property's value (keys are lower-case).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(|v| v.value.as_str())
    }

    /// A property's value and origin.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.properties.get(key)
    }

    /// A property's value when it is present and not empty.
    pub fn non_empty(&self, key: &str) -> Option<&Value> {
        self.properties.get(key).filter(|v| !v.value.is_empty())
    }

    /// The pairs of a sub-property block (`s3 =` followed by indented `k = v` lines).
    pub fn sub_properties(&self, key: &str) -> Option<Vec<(String, String)>> {
        profile_file::sub_properties(&self.properties.get(key)?.value)
    }
}

/// Something legal but probably not what the user meant, found while reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub origin: Origin,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

/// A file that cannot be read as a shared config file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: {message} — fix that line of the {kind}", path = .path.display(), line = .error.line, message = .error.message)]
pub struct ConfigError {
    pub kind: FileKind,
    pub path: PathBuf,
    pub error: SyntaxError,
}

/// Everything the two shared files define.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileSet {
    pub profiles: BTreeMap<String, Section>,
    pub sso_sessions: BTreeMap<String, Section>,
    pub services: BTreeMap<String, Section>,
    pub warnings: Vec<Warning>,
    /// The files that were read, in order.
    pub files: Vec<(FileKind, PathBuf)>,
}

/// What a section header of a given file means.
enum Header<'a> {
    Profile {
        name: &'a str,
        prefixed_default: bool,
    },
    SsoSession(&'a str),
    Services(&'a str),
    Ignored(String),
}

/// `prefix` followed by at least one whitespace character, then the (trimmed) rest.
fn after_keyword<'a>(header: &'a str, keyword: &str) -> Option<&'a str> {
    let rest = header.strip_prefix(keyword)?;
    rest.starts_with([' ', '\t']).then(|| rest.trim())
}

fn classify(kind: FileKind, header: &str) -> Header<'_> {
    let named = |name: &'static str, n: &'_ str| {
        if is_valid_identifier(n) {
            None
        } else {
            Some(Header::Ignored(format!(
                "[{header}] is ignored: the {name} name `{n}` may only use letters, digits and _ - / . % @ : +"
            )))
        }
    };
    match kind {
        FileKind::Credentials => {
            if let Some(h) = named("profile", header) {
                return h;
            }
            Header::Profile {
                name: header,
                prefixed_default: false,
            }
        }
        FileKind::Config => {
            if header == "default" {
                return Header::Profile {
                    name: header,
                    prefixed_default: false,
                };
            }
            if let Some(name) = after_keyword(header, "profile") {
                return named("profile", name).unwrap_or(Header::Profile {
                    name,
                    prefixed_default: name == "default",
                });
            }
            if let Some(name) = after_keyword(header, "sso-session") {
                return named("sso-session", name).unwrap_or(Header::SsoSession(name));
            }
            if let Some(name) = after_keyword(header, "services") {
                return named("services", name).unwrap_or(Header::Services(name));
            }
            Header::Ignored(format!(
                "[{header}] is ignored: in the config file a profile is written [profile {header}] (only [default] goes without the prefix)"
            ))
        }
    }
}

impl ProfileSet {
    /// Reads the two files' texts (either may be absent). A syntax error names the file and line.
    pub fn parse(
        config: Option<SourceFile<'_>>,
        credentials: Option<SourceFile<'_>>,
    ) -> Result<ProfileSet, ConfigError> {
        let mut set = ProfileSet::default();
        for file in [config, credentials].into_iter().flatten() {
            let raw = profile_file::parse(file.text).map_err(|error| ConfigError {
                kind: file.kind,
                path: file.path.to_path_buf(),
                error,
            })?;
            set.merge_file(file.kind, file.path, &raw);
        }
        Ok(set)
    }

    fn merge_file(&mut self, kind: FileKind, path: &Path, raw: &RawFile) {
        let path: Arc<Path> = Arc::from(path);
        self.files.push((kind, path.to_path_buf()));
        let origin = |line: usize| Origin {
            kind,
            path: path.clone(),
            line,
        };
        if raw.had_bom {
            self.warnings.push(Warning {
                origin: origin(1),
                message: "the file starts with a UTF-8 byte-order mark; awsenv skips it, but the AWS CLI and the Rust SDK fail to read the file — save it as UTF-8 without BOM".into(),
            });
        }
        // In the config file `[profile default]` hides every plain `[default]`.
        let has_prefixed_default = kind == FileKind::Config
            && raw.sections.iter().any(|s| {
                matches!(
                    classify(kind, &s.header),
                    Header::Profile {
                        prefixed_default: true,
                        ..
                    }
                )
            });
        for section in &raw.sections {
            let target = match classify(kind, &section.header) {
                Header::Profile {
                    name,
                    prefixed_default,
                } => {
                    if name == "default" && has_prefixed_default && !prefixed_default {
                        self.warnings.push(Warning {
                            origin: origin(section.line),
                            message: "[default] is ignored because [profile default] is also defined; keep one of them".into(),
                        });
                        continue;
                    }
                    self.profiles
                        .entry(name.to_string())
                        .or_insert_with(|| Section::new(name))
                }
                Header::SsoSession(name) => self
                    .sso_sessions
                    .entry(name.to_string())
                    .or_insert_with(|| Section::new(name)),
                Header::Services(name) => self
                    .services
                    .entry(name.to_string())
                    .or_insert_with(|| Section::new(name)),
                Header::Ignored(message) => {
                    self.warnings.push(Warning {
                        origin: origin(section.line),
                        message,
                    });
                    continue;
                }
            };
            target.defined_at.push(origin(section.line));
            for p in &section.properties {
                if !is_valid_identifier(&p.key) {
                    self.warnings.push(Warning {
                        origin: origin(p.line),
                        message: format!(
                            "`{}` is ignored: property names may only use letters, digits and _ - / . % @ : +",
                            p.key
                        ),
                    });
                    continue;
                }
                target.properties.insert(
                    p.key.clone(),
                    Value {
                        value: p.value.clone(),
                        origin: origin(p.line),
                    },
                );
            }
        }
    }

    /// A profile by name.
    pub fn profile(&self, name: &str) -> Option<&Section> {
        self.profiles.get(name)
    }

    /// The model as plain JSON in the shape of the cross-SDK test data:
    /// `{"profiles": {name: {key: value}}, "sso_sessions": {…}, "services": {…}}`.
    pub fn to_json(&self) -> Json {
        fn plain(map: &BTreeMap<String, Section>) -> Json {
            Json::Object(
                map.iter()
                    .map(|(name, s)| {
                        let props = s
                            .properties
                            .iter()
                            .map(|(k, v)| (k.clone(), Json::String(v.value.clone())))
                            .collect();
                        (name.clone(), Json::Object(props))
                    })
                    .collect(),
            )
        }
        json!({
            "profiles": plain(&self.profiles),
            "sso_sessions": plain(&self.sso_sessions),
            "services": plain(&self.services),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_config(text: &str) -> ProfileSet {
        ProfileSet::parse(
            Some(SourceFile {
                kind: FileKind::Config,
                path: Path::new("/home/u/.aws/config"),
                text,
            }),
            None,
        )
        .unwrap()
    }

    #[test]
    fn values_remember_their_line() {
        let set = parse_config("# c\n[profile dev]\n\nregion = eu-west-1\n");
        let v = set.profile("dev").unwrap().value("region").unwrap();
        assert_eq!(v.origin.line, 4);
        assert_eq!(v.origin.to_string(), "/home/u/.aws/config:4");
    }

    #[test]
    fn ignored_sections_are_reported() {
        let set = parse_config("[dev]\nregion = x\n[profile ok]\nbad key = 1\n");
        assert!(set.profile("dev").is_none());
        assert_eq!(set.warnings.len(), 2);
        assert!(set.warnings[0].message.contains("[profile dev]"));
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let err = ProfileSet::parse(
            Some(SourceFile {
                kind: FileKind::Config,
                path: Path::new("/c"),
                text: "[profile a]\nnonsense\n",
            }),
            None,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("/c:2: Expected an '=' sign"), "{msg}");
    }
}
