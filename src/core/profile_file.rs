//! The grammar of the shared AWS config and credentials files, as the cross-SDK rules define it (the
//! rules behind `profile-parser-tests.json`, which smithy-rs, the Go and the JS SDKs follow).
//!
//! `rust-ini` cannot express these rules (comments that count only after whitespace, continuation
//! lines, sub-properties, the exact errors), so this is a small line parser of its own. It yields the
//! raw sections in file order with line numbers; [`crate::core::config`] turns them into profiles.
//! Where botocore reads a file differently, [`crate::core::botocore_compat`] says so.

use std::fmt;

/// One `[header]` and the properties under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSection {
    /// The text between the brackets, trimmed, comments removed.
    pub header: String,
    /// 1-based line of the header.
    pub line: usize,
    pub properties: Vec<RawProperty>,
}

/// One `key = value`, with continuation lines folded in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawProperty {
    /// Lower-cased key as written (not yet validated).
    pub key: String,
    /// The value; continuation lines are joined with `\n`. A property whose value was empty on its own
    /// line and continued by indented `k = v` lines holds `"\nk = v…"` (a sub-property block).
    pub value: String,
    /// 1-based line of the key.
    pub line: usize,
}

impl RawProperty {
    /// The `k = v` pairs of a sub-property block (`s3 =` followed by indented lines), if this is one.
    pub fn sub_properties(&self) -> Option<Vec<(String, String)>> {
        sub_properties(&self.value)
    }
}

/// Parses a sub-property block value (`"\nk = v\nk2 = v2"`) into pairs; `None` when the value is not
/// such a block.
pub fn sub_properties(value: &str) -> Option<Vec<(String, String)>> {
    let rest = value.strip_prefix('\n')?;
    Some(
        rest.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect(),
    )
}

/// A line that breaks the grammar. The message is the cross-SDK one; [`fmt::Display`] adds the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for SyntaxError {}

/// What a parse produced besides the sections: things that are legal here but worth a warning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawFile {
    pub sections: Vec<RawSection>,
    /// The text began with a UTF-8 byte-order mark, which was skipped (botocore and the Rust SDK fail
    /// on it).
    pub had_bom: bool,
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn is_comment(line: &str) -> bool {
    line.starts_with('#') || line.starts_with(';')
}

fn starts_with_whitespace(line: &str) -> bool {
    line.starts_with([' ', '\t'])
}

/// Cuts a trailing comment. In a header a `#` or `;` starts a comment anywhere; in a property value
/// only when whitespace precedes it (so `value#x` keeps its `#`).
fn strip_comment(line: &str, needs_whitespace: bool) -> &str {
    let mut prev_ws = false;
    for (i, ch) in line.char_indices() {
        if (ch == '#' || ch == ';') && (!needs_whitespace || prev_ws) {
            return &line[..i];
        }
        prev_ws = ch.is_whitespace();
    }
    line
}

/// Parses a whole file's text.
pub fn parse(text: &str) -> Result<RawFile, SyntaxError> {
    let (text, had_bom) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    let mut file = RawFile {
        sections: Vec::new(),
        had_bom,
    };
    // Whether the last property line may be continued (reset by every header).
    let mut in_property = false;
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if is_blank(line) || is_comment(line) {
            continue;
        }
        let err = |message: &str| SyntaxError {
            line: line_no,
            message: message.to_string(),
        };
        if line.starts_with('[') {
            let header = strip_comment(line, false).trim_end();
            let inner = header
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .ok_or_else(|| err("Profile definition must end with ']'"))?;
            file.sections.push(RawSection {
                header: inner.trim().to_string(),
                line: line_no,
                properties: Vec::new(),
            });
            in_property = false;
        } else if starts_with_whitespace(line) {
            let section = file
                .sections
                .last_mut()
                .ok_or_else(|| err("Expected a profile definition, found continuation"))?;
            let property = match (in_property, section.properties.last_mut()) {
                (true, Some(p)) => p,
                _ => return Err(err("Expected a property definition, found continuation")),
            };
            let continued = line.trim();
            if property.value.is_empty() || property.value.starts_with('\n') {
                // A sub-property block: every line must be `name = value`.
                let (name, _) = continued
                    .split_once('=')
                    .ok_or_else(|| err("Expected an '=' sign defining a sub-property"))?;
                if name.trim().is_empty() {
                    return Err(err("Sub-property did not have a name"));
                }
            }
            property.value.push('\n');
            property.value.push_str(continued);
        } else {
            let section = file
                .sections
                .last_mut()
                .ok_or_else(|| err("Expected a profile definition, found property"))?;
            let content = strip_comment(line, true);
            let (key, value) = content
                .split_once('=')
                .ok_or_else(|| err("Expected an '=' sign defining a property"))?;
            let key = key.trim();
            if key.is_empty() {
                return Err(err("Property did not have a name"));
            }
            section.properties.push(RawProperty {
                key: key.to_ascii_lowercase(),
                value: value.trim().to_string(),
                line: line_no,
            });
            in_property = true;
        }
    }
    Ok(file)
}

/// Profile, section and property names may use ASCII letters, digits and `_ - / . % @ : +`.
pub fn is_valid_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_need_whitespace_only_in_values() {
        let f = parse("[profile a]#c\nk = v#x ; y\n").unwrap();
        assert_eq!(f.sections[0].header, "profile a");
        assert_eq!(f.sections[0].properties[0].value, "v#x");
    }

    #[test]
    fn sub_properties_are_parsed() {
        let f = parse("[services s]\nsts =\n  endpoint_url = http://x\n").unwrap();
        let p = &f.sections[0].properties[0];
        assert_eq!(
            p.sub_properties().unwrap(),
            vec![("endpoint_url".to_string(), "http://x".to_string())]
        );
    }

    #[test]
    fn bom_is_skipped_and_reported() {
        let f = parse("\u{feff}[default]\nregion = x\n").unwrap();
        assert!(f.had_bom);
        assert_eq!(f.sections[0].header, "default");
    }

    #[test]
    fn errors_carry_the_line() {
        let e = parse("[default]\nregion = x\nbad line\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().contains("line 3"));
    }
}
