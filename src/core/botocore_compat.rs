//! Where botocore (the config reader of the AWS CLI v1 and boto3) reads a config file differently
//! from the cross-SDK rules awsenv follows, so that `awsenv doctor` can say "the AWS CLI will read
//! this file differently" and how to write the line so both agree.
//!
//! botocore reads the file with Python's `configparser.RawConfigParser` (`=` and `:` delimiters,
//! strict duplicate checks, indented comments, no inline comments, blank lines kept inside continued
//! values) and then `build_profile_map` (`shlex.split` of the header, last section wins instead of
//! merging). This module models both steps closely enough to predict botocore's result
//! ([`botocore_json`], which the differential test holds against the real botocore), reads the same
//! text with the cross-SDK rules ([`ProfileSet::parse`]) and explains every difference between the
//! two results by the line that causes it ([`divergences`]).
//!
//! A construct that *could* make the two differ but does not change the result (an inline comment in
//! a profile that a later section replaces anyway, `[default]` before `[profile default]`) is not
//! reported; neither is anything in a file that both refuse.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::Path;

use serde_json::{Map, Value as Json};

use super::config::{FileKind, ProfileSet, SourceFile};
use super::profile_file::{self, is_valid_identifier, SyntaxError};

/// Why the AWS CLI reads a line differently from the other SDKs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DivergenceKind {
    /// `region = us-east-1 # prod`: the CLI keeps ` # prod` in the value, other SDKs drop it.
    InlineComment,
    /// `region: us-east-1`: the CLI accepts `:` as the delimiter, other SDKs reject the line.
    ColonDelimiter,
    /// `a:b = c`: the CLI splits at the first `:` (key `a`), other SDKs at the `=` (key `a:b`).
    ColonInKey,
    /// The same `[header]` twice in one file: the CLI refuses the file, other SDKs merge.
    DuplicateSection,
    /// The same key twice in one section: the CLI refuses the file, other SDKs keep the last.
    DuplicateKey,
    /// `[default]` after `[profile default]`: the CLI uses the last of the two, other SDKs use
    /// `[profile default]` only.
    DefaultAndProfileDefault,
    /// One profile (or sso-session, services section) under two different headers, such as
    /// `[profile dev]` and `[profile  dev]`: the CLI keeps only the last section, other SDKs merge.
    SectionReplaced,
    /// Whitespace just inside the brackets (`[ profile dev]`, `[default ]`): the CLI does not trim it
    /// and ignores the section, other SDKs trim it.
    HeaderWhitespace,
    /// Quotes or a backslash in a header (`[profile "dev"]`): the CLI removes them as a shell would,
    /// other SDKs reject the name.
    QuotedHeader,
    /// `[profiles dev]`, `[sso-sessions x]`: the CLI only checks how the header starts, other SDKs
    /// want the exact keyword.
    LooseHeaderKeyword,
    /// A section name the cross-SDK rules reject (`[profile foo!bar]`, non-ASCII): the CLI reads it.
    InvalidSectionName,
    /// Text after `]` that is not a comment (`[profile dev] prod`): the CLI ignores it, other SDKs
    /// reject the line.
    HeaderTrailingText,
    /// `#` or `;` inside the brackets (`[profile a#b]`): other SDKs cut the header there and reject
    /// it, the CLI keeps the character in the name.
    CommentInHeader,
    /// `[]`: the CLI refuses the file, other SDKs ignore the empty section.
    EmptyHeader,
    /// An indented `#` or `;` line: the CLI skips it as a comment, other SDKs read it as a
    /// continuation (part of a value, or an error).
    IndentedComment,
    /// An indented header or key where no value is being continued: the CLI reads it as a header or
    /// key, other SDKs as a continuation line and reject the file.
    IndentedLine,
    /// A blank line inside a continued value: the CLI keeps it as an empty line, other SDKs drop it.
    BlankLineInValue,
    /// A key the cross-SDK rules ignore (a space, non-ASCII, `[`…): the CLI keeps it.
    InvalidPropertyName,
    /// Upper-case letters in a sub-property name (`s3 =` / `  Addressing_Style = path`): the CLI
    /// keeps them, awsenv lower-cases the name.
    SubPropertyCase,
    /// `  = value` in a sub-property block: the CLI accepts an empty name, other SDKs reject the file.
    SubPropertyWithoutName,
    /// Keys in a `[DEFAULT]` section: the CLI copies them into every section, other SDKs ignore it.
    DefaultSection,
    /// A UTF-8 byte-order mark: the CLI refuses the file, awsenv skips the mark.
    Bom,
    /// Whitespace other than spaces and tabs where it matters (a no-break space as indentation, a
    /// lone carriage return, a form feed): Python and the other SDKs split or trim differently.
    UnusualWhitespace,
    /// The two read the section differently and none of the causes above explains it.
    ReadDifferently,
}

impl DivergenceKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [DivergenceKind] = &[
        DivergenceKind::InlineComment,
        DivergenceKind::ColonDelimiter,
        DivergenceKind::ColonInKey,
        DivergenceKind::DuplicateSection,
        DivergenceKind::DuplicateKey,
        DivergenceKind::DefaultAndProfileDefault,
        DivergenceKind::SectionReplaced,
        DivergenceKind::HeaderWhitespace,
        DivergenceKind::QuotedHeader,
        DivergenceKind::LooseHeaderKeyword,
        DivergenceKind::InvalidSectionName,
        DivergenceKind::HeaderTrailingText,
        DivergenceKind::CommentInHeader,
        DivergenceKind::EmptyHeader,
        DivergenceKind::IndentedComment,
        DivergenceKind::IndentedLine,
        DivergenceKind::BlankLineInValue,
        DivergenceKind::InvalidPropertyName,
        DivergenceKind::SubPropertyCase,
        DivergenceKind::SubPropertyWithoutName,
        DivergenceKind::DefaultSection,
        DivergenceKind::Bom,
        DivergenceKind::UnusualWhitespace,
        DivergenceKind::ReadDifferently,
    ];

    /// A stable snake_case name, for JSON output and test tables.
    pub fn as_str(self) -> &'static str {
        match self {
            DivergenceKind::InlineComment => "inline_comment",
            DivergenceKind::ColonDelimiter => "colon_delimiter",
            DivergenceKind::ColonInKey => "colon_in_key",
            DivergenceKind::DuplicateSection => "duplicate_section",
            DivergenceKind::DuplicateKey => "duplicate_key",
            DivergenceKind::DefaultAndProfileDefault => "default_and_profile_default",
            DivergenceKind::SectionReplaced => "section_replaced",
            DivergenceKind::HeaderWhitespace => "header_whitespace",
            DivergenceKind::QuotedHeader => "quoted_header",
            DivergenceKind::LooseHeaderKeyword => "loose_header_keyword",
            DivergenceKind::InvalidSectionName => "invalid_section_name",
            DivergenceKind::HeaderTrailingText => "header_trailing_text",
            DivergenceKind::CommentInHeader => "comment_in_header",
            DivergenceKind::EmptyHeader => "empty_header",
            DivergenceKind::IndentedComment => "indented_comment",
            DivergenceKind::IndentedLine => "indented_line",
            DivergenceKind::BlankLineInValue => "blank_line_in_value",
            DivergenceKind::InvalidPropertyName => "invalid_property_name",
            DivergenceKind::SubPropertyCase => "sub_property_case",
            DivergenceKind::SubPropertyWithoutName => "sub_property_without_name",
            DivergenceKind::DefaultSection => "default_section",
            DivergenceKind::Bom => "bom",
            DivergenceKind::UnusualWhitespace => "unusual_whitespace",
            DivergenceKind::ReadDifferently => "read_differently",
        }
    }
}

impl fmt::Display for DivergenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One place where the AWS CLI will read the config file differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// 1-based line in the file.
    pub line: usize,
    pub kind: DivergenceKind,
    /// `line N: …` — what differs and how to write the line so both agree.
    pub message: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Every place where botocore's reading of this config-file text (its profiles, sso-sessions and
/// services sections, or its refusal) will differ from the cross-SDK reading, sorted by line.
/// Empty when the two agree, including when both refuse the file.
pub fn divergences(text: &str) -> Vec<Divergence> {
    let boto = emulate(text);
    let mut out = match ours_view(text) {
        // awsenv itself refuses the file: only the line that makes it refuse matters here, and only
        // if botocore accepts the file.
        Err(error) if boto.errors.is_empty() => vec![explain_our_error(text, &error)],
        Err(_) => Vec::new(),
        Ok((ours, scan)) => {
            let mut out: Vec<Divergence> = boto
                .errors
                .iter()
                .map(|e| Divergence {
                    line: e.line,
                    kind: e.kind,
                    message: e.message.clone(),
                })
                .collect();
            let notes = Notes::collect(text, &boto, &scan);
            out.extend(attribute(&ours, &boto.view, &notes, &boto, &scan));
            out
        }
    };
    out.sort_by_key(|d| (d.line, d.kind));
    out.dedup_by(|a, b| a.line == b.line && a.kind == b.kind);
    out
}

/// What botocore makes of this config-file text, as modelled here: `{"profiles", "sso_sessions",
/// "services"}` with sub-sections as nested objects, or the reason botocore refuses the file.
pub fn botocore_json(text: &str) -> Result<Json, String> {
    let em = emulate(text);
    match em.errors.first() {
        Some(e) => Err(format!("{} at line {}", e.exception, e.line)),
        None => Ok(view_json(&em.view)),
    }
}

// ---------------------------------------------------------------------------------------------
// The shape both readings are compared in.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Table {
    Profiles,
    SsoSessions,
    Services,
}

impl Table {
    fn json_key(self) -> &'static str {
        match self {
            Table::Profiles => "profiles",
            Table::SsoSessions => "sso_sessions",
            Table::Services => "services",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Table::Profiles => "profile",
            Table::SsoSessions => "sso-session",
            Table::Services => "services section",
        }
    }
}

/// A profile, sso-session or services section by name.
type Target = (Table, String);

fn describe(target: &Option<Target>) -> String {
    match target {
        Some((table, name)) => format!("{} `{name}`", table.noun()),
        None => "nothing (the section is ignored)".to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Val {
    Text(String),
    Nested(BTreeMap<String, String>),
}

impl Val {
    fn to_json(&self) -> Json {
        match self {
            Val::Text(s) => Json::String(s.clone()),
            Val::Nested(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                    .collect(),
            ),
        }
    }
}

/// A property as one reader saw it, with the lines it came from.
#[derive(Debug, Clone)]
struct Prop {
    val: Val,
    key_line: usize,
    /// The header line of the section the key was written in.
    header_line: usize,
    /// The key line and every line continuing it.
    lines: Vec<usize>,
}

/// A section after one reader merged or replaced: the headers it took and the properties.
#[derive(Debug, Clone, Default)]
struct Entry {
    headers: Vec<usize>,
    props: BTreeMap<String, Prop>,
}

type View = BTreeMap<Target, Entry>;

fn same_entry(a: Option<&Entry>, b: Option<&Entry>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.props.len() == b.props.len()
                && a.props
                    .iter()
                    .all(|(k, p)| b.props.get(k).is_some_and(|q| q.val == p.val))
        }
        _ => false,
    }
}

fn view_json(view: &View) -> Json {
    let mut out = Map::new();
    for table in [Table::Profiles, Table::SsoSessions, Table::Services] {
        let sections = view
            .iter()
            .filter(|((t, _), _)| *t == table)
            .map(|((_, name), entry)| {
                let props = entry
                    .props
                    .iter()
                    .map(|(k, p)| (k.clone(), p.val.to_json()))
                    .collect();
                (name.clone(), Json::Object(props))
            })
            .collect();
        out.insert(table.json_key().to_string(), Json::Object(sections));
    }
    Json::Object(out)
}

// ---------------------------------------------------------------------------------------------
// Python's notion of whitespace and lines.

/// `str.isspace()`: Unicode White_Space plus the four information separators U+001C–U+001F.
fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}

fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(py_isspace)
}

/// The characters `str.splitlines()` breaks at besides `\n` and `\r`.
const PY_LINE_BREAKS: &[char] = &[
    '\n', '\r', '\u{b}', '\u{c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}', '\u{2029}',
];

/// The lines Python's text mode yields (`\n`, `\r\n` and a lone `\r` end a line), each with the
/// 1-based number of the `\n`-separated line it is part of (which is how awsenv numbers lines) and
/// that whole line.
fn botocore_lines(text: &str) -> Vec<(usize, &str, &str)> {
    let mut out = Vec::new();
    for (idx, segment) in text.split('\n').enumerate() {
        let segment = segment.strip_suffix('\r').unwrap_or(segment);
        for part in segment.split('\r') {
            out.push((idx + 1, part, segment));
        }
    }
    out
}

/// The text of a line as awsenv numbers them (BOM skipped, `\r\n` or `\n` endings).
fn line_text(text: &str, line: usize) -> &str {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let raw = text.split('\n').nth(line.wrapping_sub(1)).unwrap_or("");
    raw.strip_suffix('\r').unwrap_or(raw)
}

/// The line as it can be quoted in a message: trailing whitespace cut, tabs and unusual characters
/// escaped, at most 60 characters.
fn snippet(line: &str) -> String {
    let line = line.trim_end_matches([' ', '\t']);
    let mut out = String::new();
    for (i, c) in line.chars().enumerate() {
        if i == 60 {
            out.push('…');
            break;
        }
        match c {
            '\t' => out.push_str("\\t"),
            c if c == ' ' || !(py_isspace(c) || c.is_control() || c == '\u{feff}') => out.push(c),
            c => out.push_str(&c.escape_unicode().to_string()),
        }
    }
    out
}

/// The first character on the line that Python and the other SDKs treat differently as
/// whitespace or as a line break, if any: unusual whitespace at the start (indentation), a lone
/// carriage return or another `splitlines()` break anywhere, or an information separator.
fn unusual_whitespace(line: &str) -> Option<char> {
    if let Some(first) = line.chars().next() {
        if py_isspace(first) && first != ' ' && first != '\t' {
            return Some(first);
        }
    }
    line.chars()
        .find(|c| PY_LINE_BREAKS.contains(c) || ('\u{1c}'..='\u{1f}').contains(c))
}

fn char_name(c: char) -> String {
    let name = match c {
        '\r' => "a carriage return",
        '\u{a0}' => "a no-break space",
        '\u{b}' => "a vertical tab",
        '\u{c}' => "a form feed",
        '\u{85}' => "a next-line character",
        '\u{2028}' => "a line separator",
        '\u{2029}' => "a paragraph separator",
        '\u{3000}' => "an ideographic space",
        _ => "a whitespace character",
    };
    format!("{name} ({})", c.escape_unicode())
}

// ---------------------------------------------------------------------------------------------
// `shlex.split` and the header rules of `build_profile_map`.

/// `shlex.split(s)` (POSIX mode, no comments): the words, or `None` where Python raises
/// `ValueError` (an unclosed quote, a trailing backslash).
fn shlex_split(s: &str) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Space,
        Word,
        Quote(char),
        Escape,
    }
    const WHITESPACE: [char; 4] = [' ', '\t', '\r', '\n'];
    let mut chars = s.chars();
    let mut words = Vec::new();
    loop {
        let mut token = String::new();
        let mut quoted = false;
        let mut state = State::Space;
        let mut escaped_from = State::Word;
        let mut at_end = false;
        loop {
            let next = chars.next();
            match state {
                State::Space | State::Word => match next {
                    None => {
                        at_end = true;
                        break;
                    }
                    Some(c) if WHITESPACE.contains(&c) => {
                        state = State::Space;
                        if !token.is_empty() || quoted {
                            break;
                        }
                    }
                    Some('\\') => {
                        escaped_from = State::Word;
                        state = State::Escape;
                    }
                    Some(q @ ('"' | '\'')) => state = State::Quote(q),
                    Some(c) => {
                        token.push(c);
                        state = State::Word;
                    }
                },
                State::Quote(q) => {
                    quoted = true;
                    match next {
                        None => return None,
                        Some(c) if c == q => state = State::Word,
                        Some('\\') if q == '"' => {
                            escaped_from = state;
                            state = State::Escape;
                        }
                        Some(c) => token.push(c),
                    }
                }
                State::Escape => {
                    let c = next?;
                    // Inside double quotes only the quote and the backslash can be escaped.
                    if let State::Quote(q) = escaped_from {
                        if c != '\\' && c != q {
                            token.push('\\');
                        }
                    }
                    token.push(c);
                    state = escaped_from;
                }
            }
        }
        if !token.is_empty() || quoted {
            words.push(token);
        }
        if at_end {
            return Some(words);
        }
    }
}

/// What `build_profile_map` files a raw section header under.
fn boto_target(header: &str) -> Option<Target> {
    let table = if header.starts_with("profile") {
        Table::Profiles
    } else if header.starts_with("sso-session") {
        Table::SsoSessions
    } else if header.starts_with("services") {
        Table::Services
    } else if header == "default" {
        return Some((Table::Profiles, "default".to_string()));
    } else {
        return None;
    };
    let mut words = shlex_split(header)?;
    (words.len() == 2).then(|| (table, words.swap_remove(1)))
}

/// What the cross-SDK rules file a (trimmed, comment-free) config-file header under; a plain
/// `[default]` counts as the default profile even where `[profile default]` hides it.
fn ours_target(header: &str) -> Option<Target> {
    if header == "default" {
        return Some((Table::Profiles, "default".to_string()));
    }
    for (keyword, table) in [
        ("profile", Table::Profiles),
        ("sso-session", Table::SsoSessions),
        ("services", Table::Services),
    ] {
        if let Some(rest) = header.strip_prefix(keyword) {
            if rest.starts_with([' ', '\t']) {
                let name = rest.trim();
                return is_valid_identifier(name).then(|| (table, name.to_string()));
            }
        }
    }
    None
}

/// `RawConfigParser.SECTCRE` (`\[(?P<header>.+)\]`) matched at the start of a stripped line: the
/// text between the `[` and the last `]`.
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}

/// `RawConfigParser.OPTCRE` on a stripped line: the name (before the first `=` or `:`), the
/// delimiter and the raw value.
fn option_line(value: &str) -> Option<(&str, char, &str)> {
    let at = value.find(['=', ':'])?;
    let delimiter = value[at..].chars().next()?;
    Some((py_rstrip(&value[..at]), delimiter, &value[at + 1..]))
}

/// `botocore.configloader._parse_nested`: `Err` holds the line without `=`.
fn parse_nested(value: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for line in value.split(PY_LINE_BREAKS) {
        let line = py_strip(line);
        if line.is_empty() {
            continue;
        }
        let (key, val) = line.split_once('=').ok_or_else(|| line.to_string())?;
        out.insert(py_strip(key).to_string(), py_strip(val).to_string());
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The botocore reading.

/// A reason botocore refuses the file.
#[derive(Debug, Clone)]
struct BotoError {
    line: usize,
    kind: DivergenceKind,
    /// The Python exception botocore raises (inside its `ConfigParseError`).
    exception: &'static str,
    /// For the user.
    message: String,
}

#[derive(Debug, Clone)]
struct BOption {
    name: String,
    parts: Vec<String>,
    key_line: usize,
    header_line: usize,
    lines: Vec<usize>,
    /// Blank lines after the value so far: part of it only if a continuation follows.
    pending_blanks: Vec<usize>,
}

#[derive(Debug, Clone, Default)]
struct BSection {
    header: String,
    header_lines: Vec<usize>,
    options: Vec<BOption>,
}

/// Something botocore saw on a line that may explain a difference.
#[derive(Debug, Clone)]
struct Observation {
    line: usize,
    kind: DivergenceKind,
    message: String,
}

#[derive(Debug, Default)]
struct Emulation {
    sections: Vec<BSection>,
    defaults: BSection,
    scratch: BSection,
    /// Every reason to refuse the file; botocore stops at the first, the model reads on (merging
    /// duplicates, skipping bad lines) so that the other differences can be reported too.
    errors: Vec<BotoError>,
    observations: Vec<Observation>,
    /// The raw header text of every line botocore read as a header.
    headers: BTreeMap<usize, String>,
    /// The header line botocore files each key line under.
    key_headers: HashMap<usize, usize>,
    /// Indented lines botocore read as headers, which the other SDKs read as continuations: why.
    indented_headers: BTreeMap<usize, (DivergenceKind, usize, String)>,
    /// Header lines of `[DEFAULT]` sections.
    default_headers: BTreeSet<usize>,
    view: View,
    /// For each target, the sections (indexes into `sections`) filed under it, in file order; the
    /// last one is what botocore keeps.
    groups: BTreeMap<Target, Vec<usize>>,
}

#[derive(Clone, Copy, PartialEq)]
enum Cursor {
    Section(usize),
    Defaults,
    /// Where the model files the lines under `[]` (botocore fails there; the other SDKs ignore
    /// the section).
    Scratch,
}

impl Emulation {
    fn section_mut(&mut self, cursor: Cursor) -> &mut BSection {
        match cursor {
            Cursor::Section(i) => &mut self.sections[i],
            Cursor::Defaults => &mut self.defaults,
            Cursor::Scratch => &mut self.scratch,
        }
    }

    fn observe(&mut self, line: usize, kind: DivergenceKind, message: String) {
        self.observations.push(Observation {
            line,
            kind,
            message,
        });
    }

    fn refuse(
        &mut self,
        line: usize,
        kind: DivergenceKind,
        exception: &'static str,
        message: String,
    ) {
        self.errors.push(BotoError {
            line,
            kind,
            exception,
            message,
        });
    }
}

/// The message for a line botocore cannot read, which the other SDKs accept.
fn unreadable_message(kind: DivergenceKind, line: usize, raw: &str) -> String {
    let s = snippet(raw);
    match unusual_whitespace(raw) {
        Some(_) if kind == DivergenceKind::UnusualWhitespace => {
            unusual_whitespace_message(line, raw)
        }
        _ => format!(
            "line {line}: `{s}` — the AWS CLI cannot read this line, other SDKs accept the file; rewrite it as `key = value`"
        ),
    }
}

/// Why botocore stopped continuing the value above at an indented line (so that it reads the line as
/// a key or header, or fails on it), where the other SDKs continue it.
#[derive(Debug, Clone, Copy)]
enum IndentCause {
    /// The key above was `:…` (an empty name for botocore), which cannot be continued.
    EmptyName(usize),
    /// The key above was indented with unusual whitespace, which Python counts as indentation.
    OddIndent(usize, char),
    /// Nothing above is continued: a line right after a header.
    None,
}

/// Reads the text the way `build_profile_map(raw_config_parse(path))` does.
fn emulate(text: &str) -> Emulation {
    use DivergenceKind as K;
    let mut em = Emulation::default();
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => {
            em.refuse(
                1,
                K::Bom,
                "MissingSectionHeaderError",
                "line 1: the file starts with a UTF-8 byte-order mark — the AWS CLI refuses the file, awsenv skips the mark; save the file as UTF-8 without BOM".to_string(),
            );
            rest
        }
        None => text,
    };
    let mut cursor: Option<Cursor> = None;
    let mut header_line = 0;
    let mut section_name = String::new();
    // The option being read (Python's `optname`, when it is not empty).
    let mut option: Option<usize> = None;
    let mut indent_level = 0;
    let mut seen_options: HashSet<(String, String)> = HashSet::new();
    let mut missing_header_reported = false;
    // Why an indented line would not continue the value above (see `IndentCause`).
    let mut indent_cause = IndentCause::None;

    for (line_no, raw, full) in botocore_lines(text) {
        let stripped = py_strip(raw);
        let comment = stripped.starts_with(['#', ';']);
        if comment || stripped.is_empty() {
            if comment && raw.starts_with(py_isspace) {
                em.observe(
                    line_no,
                    K::IndentedComment,
                    format!(
                        "line {line_no}: `{}` — the AWS CLI skips an indented comment, other SDKs read it as part of the value above; start the comment at the beginning of the line",
                        snippet(raw)
                    ),
                );
            }
            if let (false, Some(c), Some(i)) = (comment, cursor, option) {
                em.section_mut(c).options[i].pending_blanks.push(line_no);
            }
            continue;
        }
        let indent = raw.chars().take_while(|c| py_isspace(*c)).count();
        if let (Some(c), Some(i)) = (cursor, option) {
            if indent > indent_level {
                let mut blanks = Vec::new();
                {
                    let opt = &mut em.section_mut(c).options[i];
                    for blank in std::mem::take(&mut opt.pending_blanks) {
                        opt.parts.push(String::new());
                        opt.lines.push(blank);
                        blanks.push((blank, opt.name.clone(), opt.key_line));
                    }
                    opt.parts.push(stripped.to_string());
                    opt.lines.push(line_no);
                }
                for (blank, name, key_line) in blanks {
                    em.observe(
                        blank,
                        K::BlankLineInValue,
                        format!(
                            "line {blank}: a blank line inside the value of `{name}` (line {key_line}) — the AWS CLI keeps it as an empty line of the value, other SDKs drop it; remove the blank line"
                        ),
                    );
                }
                continue;
            }
            // Blank lines before a new key or header end the value; botocore strips them.
            em.section_mut(c).options[i].pending_blanks.clear();
        }
        indent_level = indent;
        // The other SDKs would continue the value above with this line; botocore does not.
        let indented = raw.starts_with([' ', '\t']);
        let s = snippet(full);
        if let Some(header) = section_header(stripped) {
            em.headers.insert(line_no, header.to_string());
            if indented {
                let (kind, line, message) =
                    indent_explanation(indent_cause, line_no, &s, "a header");
                em.indented_headers.insert(line_no, (kind, line, message));
            }
            if let Some(i) = em.sections.iter().position(|sec| sec.header == header) {
                let first = em.sections[i].header_lines[0];
                em.refuse(
                    line_no,
                    K::DuplicateSection,
                    "DuplicateSectionError",
                    format!(
                        "line {line_no}: `{s}` repeats the section of line {first} — the AWS CLI refuses a file with a repeated section, other SDKs merge the two; move these settings into the first one"
                    ),
                );
                em.sections[i].header_lines.push(line_no);
                cursor = Some(Cursor::Section(i));
            } else if header == "DEFAULT" {
                em.defaults.header_lines.push(line_no);
                em.default_headers.insert(line_no);
                cursor = Some(Cursor::Defaults);
            } else {
                em.sections.push(BSection {
                    header: header.to_string(),
                    header_lines: vec![line_no],
                    options: Vec::new(),
                });
                cursor = Some(Cursor::Section(em.sections.len() - 1));
            }
            header_line = line_no;
            section_name = header.to_string();
            option = None;
            indent_cause = IndentCause::None;
            continue;
        }
        let parsed = option_line(stripped);
        if cursor.is_none() || parsed.is_none() {
            let exception = if cursor.is_none() {
                "MissingSectionHeaderError"
            } else {
                "ParsingError"
            };
            if stripped.starts_with("[]") {
                em.refuse(
                    line_no,
                    K::EmptyHeader,
                    exception,
                    format!("line {line_no}: `{s}` — the AWS CLI refuses a file with an empty section header, other SDKs ignore the section; remove the line"),
                );
                // Read on as the other SDKs do: an ignored section.
                cursor = Some(Cursor::Scratch);
                header_line = line_no;
                option = None;
                indent_cause = IndentCause::None;
            } else if cursor.is_none() {
                // Python stops at the first such line; the lines up to the next header are moot.
                if !missing_header_reported {
                    missing_header_reported = true;
                    let kind = if unusual_whitespace(full).is_some() {
                        K::UnusualWhitespace
                    } else {
                        K::ReadDifferently
                    };
                    em.refuse(
                        line_no,
                        kind,
                        exception,
                        unreadable_message(kind, line_no, full),
                    );
                }
            } else if indented {
                let (kind, line, message) =
                    indent_explanation(indent_cause, line_no, &s, "a line of its own");
                em.refuse(line, kind, exception, message);
            } else {
                let kind = if unusual_whitespace(full).is_some() {
                    K::UnusualWhitespace
                } else {
                    K::ReadDifferently
                };
                em.refuse(
                    line_no,
                    kind,
                    exception,
                    unreadable_message(kind, line_no, full),
                );
            }
            // Python keeps the option being read, so deeper lines still continue it.
            continue;
        }
        let (Some(c), Some((name, delimiter, value))) = (cursor, parsed) else {
            continue;
        };
        let name = name.to_lowercase();
        if indented {
            let (kind, line, message) = indent_explanation(indent_cause, line_no, &s, "a new key");
            em.observe(line, kind, message);
        }
        if name.is_empty() {
            let (kind, line, message) = if indented {
                indent_explanation(indent_cause, line_no, &s, "a key without a name")
            } else if delimiter == ':' {
                (K::ColonInKey, line_no, format!("line {line_no}: `{s}` — the AWS CLI splits at the first `:`, finds no key and refuses the file; other SDKs split at the `=`; do not start a key with `:`"))
            } else {
                (
                    K::ReadDifferently,
                    line_no,
                    unreadable_message(K::ReadDifferently, line_no, full),
                )
            };
            em.refuse(line, kind, "ParsingError", message.clone());
            em.observe(line, kind, message);
            indent_cause = IndentCause::EmptyName(line_no);
        } else {
            indent_cause = match raw.chars().next() {
                Some(first) if first != ' ' && first != '\t' && py_isspace(first) => {
                    IndentCause::OddIndent(line_no, first)
                }
                _ => IndentCause::None,
            };
        }
        if !seen_options.insert((section_name.clone(), name.clone())) {
            em.refuse(
                line_no,
                K::DuplicateKey,
                "DuplicateOptionError",
                format!(
                    "line {line_no}: `{s}` sets `{name}` again in [{section_name}] — the AWS CLI refuses a file with a repeated key, other SDKs keep the last value; keep only one of them"
                ),
            );
        }
        if delimiter == ':' && !name.is_empty() {
            if value.contains('=') {
                // `key: value-with-=` was meant as a `:` delimiter; `a:b = c` as a key with `:`.
                let spaced = value.starts_with([' ', '\t']);
                let value = py_strip(value);
                let fix = if is_valid_identifier(&name) && spaced {
                    format!("write `{name} = {value}`")
                } else {
                    "do not use `:` in key names".to_string()
                };
                em.observe(
                    line_no,
                    K::ColonInKey,
                    format!(
                        "line {line_no}: `{s}` — the AWS CLI splits at the first `:` (key `{name}`, value `{value}`), other SDKs at the `=`; {fix}"
                    ),
                );
            } else {
                em.observe(
                    line_no,
                    K::ColonDelimiter,
                    format!(
                        "line {line_no}: `{s}` — the AWS CLI accepts `:` between key and value, other SDKs reject the line; write `{name} = {}`",
                        py_strip(value)
                    ),
                );
            }
        } else if !name.is_empty() && !is_valid_identifier(&name) {
            em.observe(
                line_no,
                K::InvalidPropertyName,
                format!(
                    "line {line_no}: `{s}` — the AWS CLI keeps the key `{name}`, other SDKs ignore it (key names may only use letters, digits and _ - / . % @ : +); rename or remove it"
                ),
            );
        }
        em.key_headers.insert(line_no, header_line);
        let new = BOption {
            name: name.clone(),
            parts: vec![py_strip(value).to_string()],
            key_line: line_no,
            header_line,
            lines: vec![line_no],
            pending_blanks: Vec::new(),
        };
        let section = em.section_mut(c);
        let index = match section.options.iter().position(|o| o.name == name) {
            Some(i) => {
                section.options[i] = new;
                i
            }
            None => {
                section.options.push(new);
                section.options.len() - 1
            }
        };
        option = (!name.is_empty()).then_some(index);
    }
    finish(&mut em, text);
    // A lone carriage return splits the line for Python: whatever went wrong on it starts there.
    for (line, kind, message) in em
        .errors
        .iter_mut()
        .map(|e| (e.line, &mut e.kind, &mut e.message))
        .chain(
            em.observations
                .iter_mut()
                .map(|o| (o.line, &mut o.kind, &mut o.message)),
        )
    {
        let full = line_text(text, line);
        if full.contains('\r') && *kind != K::Bom {
            *kind = K::UnusualWhitespace;
            *message = lone_cr_message(line, full);
        }
    }
    em.errors.sort_by_key(|e| e.line);
    em
}

/// What Python does with the unusual whitespace on this line, and what to write instead.
fn unusual_whitespace_message(line: usize, raw: &str) -> String {
    let s = snippet(raw);
    match unusual_whitespace(raw) {
        Some('\r') => lone_cr_message(line, raw),
        Some(c) if raw.starts_with(c) => format!(
            "line {line}: `{s}` starts with {} — the AWS CLI counts it as indentation (so the line continues the value above it), other SDKs do not; start the line with a plain character",
            char_name(c)
        ),
        Some(c) if PY_LINE_BREAKS.contains(&c) => format!(
            "line {line}: `{s}` holds {} — Python breaks a sub-section line there, other SDKs do not; remove it",
            char_name(c)
        ),
        Some(c) => format!(
            "line {line}: `{s}` holds {} — Python trims it as whitespace, other SDKs keep it; remove it",
            char_name(c)
        ),
        None => format!("line {line}: `{s}` — Python reads the whitespace on this line differently; use plain spaces"),
    }
}

fn lone_cr_message(line: usize, full: &str) -> String {
    format!(
        "line {line}: `{}` holds a carriage return (\\u{{d}}) that is not part of a line ending — the AWS CLI breaks the line there, other SDKs keep it in the line; remove it",
        snippet(full)
    )
}

/// The kind, line and message for an indented line that botocore does not read as a continuation
/// (`what` it reads instead), where the other SDKs would.
fn indent_explanation(
    cause: IndentCause,
    line: usize,
    snippet: &str,
    what: &str,
) -> (DivergenceKind, usize, String) {
    match cause {
        IndentCause::EmptyName(key_line) => (
            DivergenceKind::ColonInKey,
            key_line,
            format!("line {key_line}: the key starts with `:`, so the AWS CLI finds no key name there and reads line {line} (`{snippet}`) as {what} instead of a continuation; other SDKs read the key `:…` and continue it; do not start a key with `:`"),
        ),
        IndentCause::OddIndent(key_line, c) => (
            DivergenceKind::UnusualWhitespace,
            key_line,
            format!("line {key_line}: the line starts with {} — the AWS CLI counts it as indentation and reads line {line} (`{snippet}`) as {what}, other SDKs read it as a continuation; indent with plain spaces, or not at all", char_name(c)),
        ),
        IndentCause::None => (
            DivergenceKind::IndentedLine,
            line,
            format!("line {line}: `{snippet}` — the AWS CLI reads this indented line as {what}, other SDKs read it as a continuation line; remove the indentation"),
        ),
    }
}

/// `raw_config_parse`'s value handling (joined lines, `[DEFAULT]` inheritance, nested sections) and
/// `build_profile_map`.
fn finish(em: &mut Emulation, text: &str) {
    let mut nested_errors: BTreeSet<usize> = BTreeSet::new();
    let mut upper_case_noted: BTreeSet<usize> = BTreeSet::new();
    let mut errors = Vec::new();
    let mut observations = Vec::new();
    for (index, section) in em.sections.iter().enumerate() {
        let inherited = em
            .defaults
            .options
            .iter()
            .filter(|d| !section.options.iter().any(|o| o.name == d.name));
        let mut props = BTreeMap::new();
        // An empty name is botocore's parsing error; read on as if it were fixed.
        for o in section
            .options
            .iter()
            .chain(inherited)
            .filter(|o| !o.name.is_empty())
        {
            let value = py_rstrip(&o.parts.join("\n")).to_string();
            let val = if value.starts_with('\n') {
                let nested = match parse_nested(&value) {
                    Ok(map) => map,
                    Err(bad) => {
                        if nested_errors.insert(o.key_line) {
                            let odd = o
                                .lines
                                .iter()
                                .find_map(|&l| unusual_whitespace(line_text(text, l)).map(|_| l));
                            errors.push(match odd {
                                Some(line) => BotoError {
                                    line,
                                    kind: DivergenceKind::UnusualWhitespace,
                                    exception: "ValueError",
                                    message: unusual_whitespace_message(
                                        line,
                                        line_text(text, line),
                                    ),
                                },
                                None => BotoError {
                                    line: o.key_line,
                                    kind: DivergenceKind::ReadDifferently,
                                    exception: "ValueError",
                                    message: format!(
                                        "line {}: the AWS CLI cannot read `{bad}` in the sub-section `{}` and refuses the file, other SDKs accept it; write each sub-property as `name = value`",
                                        o.key_line, o.name
                                    ),
                                },
                            });
                        }
                        // Read on without the line, as if the user had fixed it.
                        let kept: Vec<&str> = value
                            .split(PY_LINE_BREAKS)
                            .filter(|l| l.contains('='))
                            .collect();
                        parse_nested(&format!("\n{}", kept.join("\n"))).unwrap_or_default()
                    }
                };
                let upper: Vec<&String> = nested
                    .keys()
                    .filter(|k| k.chars().any(|c| c.is_ascii_uppercase()))
                    .collect();
                if !upper.is_empty() && upper_case_noted.insert(o.key_line) {
                    let names = upper
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let (noun, them) = if upper.len() == 1 {
                        ("sub-property", "its")
                    } else {
                        ("sub-properties", "their")
                    };
                    observations.push(Observation {
                        line: o.key_line,
                        kind: DivergenceKind::SubPropertyCase,
                        message: format!(
                            "line {}: the {noun} {names} of `{}` — the AWS CLI keeps {them} upper-case letters, awsenv lower-cases them; write {} in lower case",
                            o.key_line,
                            o.name,
                            if upper.len() == 1 { "it" } else { "them" }
                        ),
                    });
                }
                Val::Nested(nested)
            } else {
                Val::Text(value)
            };
            props.insert(
                o.name.clone(),
                Prop {
                    val,
                    key_line: o.key_line,
                    header_line: o.header_line,
                    lines: o.lines.clone(),
                },
            );
        }
        if let Some(target) = boto_target(&section.header) {
            em.groups.entry(target.clone()).or_default().push(index);
            em.view.insert(
                target,
                Entry {
                    headers: section.header_lines.clone(),
                    props,
                },
            );
        }
    }
    em.errors.extend(errors);
    em.observations.extend(observations);
}

// ---------------------------------------------------------------------------------------------
// The cross-SDK reading.

/// How the cross-SDK grammar divides the lines (the mirror of [`profile_file::parse`] for a file it
/// accepts): headers, and for each key line its section and continuation lines.
#[derive(Debug, Default)]
struct OursScan {
    /// The header text (trimmed, comment removed) by line.
    headers: BTreeMap<usize, String>,
    /// By key line: the header line of its section and the key and continuation lines.
    props: HashMap<usize, (usize, Vec<usize>)>,
    /// Key lines whose value lost a comment: the comment that was cut.
    inline_comments: BTreeMap<usize, String>,
}

/// The cross-SDK comment rule: in a value `#` and `;` start a comment only after whitespace.
fn comment_start(line: &str, needs_whitespace: bool) -> Option<usize> {
    let mut prev_ws = false;
    for (i, c) in line.char_indices() {
        if (c == '#' || c == ';') && (!needs_whitespace || prev_ws) {
            return Some(i);
        }
        prev_ws = c.is_whitespace();
    }
    None
}

fn ours_scan(text: &str) -> OursScan {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut scan = OursScan::default();
    let mut header_line = 0;
    let mut property: Option<usize> = None;
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if line.starts_with('[') {
            let cut = comment_start(line, false).map_or(line, |i| &line[..i]);
            let inner = cut.trim_end();
            let inner = inner.strip_prefix('[').unwrap_or(inner);
            let inner = inner.strip_suffix(']').unwrap_or(inner);
            scan.headers.insert(line_no, inner.trim().to_string());
            header_line = line_no;
            property = None;
        } else if line.starts_with([' ', '\t']) {
            if let Some(key_line) = property {
                if let Some((_, lines)) = scan.props.get_mut(&key_line) {
                    lines.push(line_no);
                }
            }
        } else {
            scan.props.insert(line_no, (header_line, vec![line_no]));
            if let Some(i) = comment_start(line, true) {
                scan.inline_comments
                    .insert(line_no, line[i..].trim_end().to_string());
            }
            property = Some(line_no);
        }
    }
    scan
}

fn ours_val(value: &str) -> Val {
    match profile_file::sub_properties(value) {
        Some(pairs) => Val::Nested(pairs.into_iter().collect()),
        None => Val::Text(value.to_string()),
    }
}

/// The cross-SDK reading of a config-file text, or its syntax error.
fn ours_view(text: &str) -> Result<(View, OursScan), SyntaxError> {
    let set = ProfileSet::parse(
        Some(SourceFile {
            kind: FileKind::Config,
            path: Path::new("config"),
            text,
        }),
        None,
    )
    .map_err(|e| e.error)?;
    let scan = ours_scan(text);
    let mut view = View::new();
    for (table, sections) in [
        (Table::Profiles, &set.profiles),
        (Table::SsoSessions, &set.sso_sessions),
        (Table::Services, &set.services),
    ] {
        for (name, section) in sections {
            let props = section
                .properties
                .iter()
                .map(|(key, v)| {
                    let key_line = v.origin.line;
                    let (header_line, lines) = scan
                        .props
                        .get(&key_line)
                        .cloned()
                        .unwrap_or((0, vec![key_line]));
                    let prop = Prop {
                        val: ours_val(&v.value),
                        key_line,
                        header_line,
                        lines,
                    };
                    (key.clone(), prop)
                })
                .collect();
            let headers = section.defined_at.iter().map(|o| o.line).collect();
            view.insert((table, name.clone()), Entry { headers, props });
        }
    }
    Ok((view, scan))
}

/// Why botocore accepts the line the cross-SDK grammar stopped at.
fn explain_our_error(text: &str, error: &SyntaxError) -> Divergence {
    use DivergenceKind as K;
    let line = error.line;
    let raw = line_text(text, line);
    let s = snippet(raw);
    let trimmed = py_strip(raw);
    let is_comment = trimmed.starts_with(['#', ';']);
    let msg = error.message.as_str();
    // The line to report: the error line, unless the cause sits on the key line above.
    let mut at = line;
    let (kind, message) = if unusual_whitespace(raw).is_some() {
        (K::UnusualWhitespace, unusual_whitespace_message(line, raw))
    } else if msg.starts_with("Sub-property did not have a name") {
        (
            K::SubPropertyWithoutName,
            format!("line {line}: `{s}` — the AWS CLI accepts a sub-property without a name, other SDKs reject the file; give it a name or remove the line"),
        )
    } else if (msg.contains("found continuation") || msg.contains("sub-property")) && is_comment {
        (
            K::IndentedComment,
            format!("line {line}: `{s}` — the AWS CLI skips an indented comment, other SDKs read it as a continuation line and reject the file; start the comment at the beginning of the line"),
        )
    } else if msg.contains("found continuation") {
        (
            K::IndentedLine,
            format!("line {line}: `{s}` — the AWS CLI reads an indented line here as a new key or header, other SDKs as a continuation line and reject the file; remove the indentation"),
        )
    } else if msg.contains("sub-property") {
        // The value above was empty for the other SDKs (so the indented lines are sub-properties)
        // but not for botocore.
        let key = key_line_above(text, line);
        let key_text = key.map_or("", |k| line_text(text, k));
        let colon_first = key_text
            .find([':', '='])
            .is_some_and(|i| key_text[i..].starts_with(':'));
        match key {
            Some(k) if colon_first => {
                at = k;
                (
                    K::ColonInKey,
                    format!(
                        "line {k}: `{}` — the AWS CLI splits at the first `:`, so the value is not empty and line {line} continues it as text; other SDKs split at the `=`, find an empty value and reject line {line} as a sub-property; do not use `:` in key names",
                        snippet(key_text)
                    ),
                )
            }
            Some(k) if unusual_whitespace(key_text).is_some() => {
                at = k;
                (K::UnusualWhitespace, unusual_whitespace_message(k, key_text))
            }
            Some(k) if comment_start(key_text, true).is_some() => {
                at = k;
                (
                    K::InlineComment,
                    format!(
                        "line {k}: `{}` — other SDKs drop the comment, find an empty value and read the indented lines below as sub-properties (rejecting line {line}), the AWS CLI keeps the comment in the value; put the comment on its own line",
                        snippet(key_text)
                    ),
                )
            }
            _ => (
                K::ReadDifferently,
                format!("line {line}: `{s}` — other SDKs reject this line ({msg}), the AWS CLI accepts the file; write each sub-property as `name = value`"),
            ),
        }
    } else if msg.contains("defining a property") && raw.contains('=') {
        (
            K::InlineComment,
            format!("line {line}: `{s}` — other SDKs read everything from the ` #` or ` ;` on as a comment and find no `=`, the AWS CLI keeps it in the key; remove the comment character"),
        )
    } else if msg.contains("defining a property") && raw.contains(':') {
        let (name, value) = raw.split_once(':').unwrap_or((raw, ""));
        (
            K::ColonDelimiter,
            format!(
                "line {line}: `{s}` — the AWS CLI accepts `:` between key and value, other SDKs reject the line; write `{} = {}`",
                name.trim(),
                value.trim()
            ),
        )
    } else if msg.contains("must end with ']'") {
        let cut = comment_start(trimmed, false);
        match (section_header(trimmed), cut) {
            (Some(header), Some(cut)) if cut < header.len() + 1 => (
                K::CommentInHeader,
                format!(
                    "line {line}: `{s}` — other SDKs read `{}` as a comment and reject the header, the AWS CLI reads {}; remove `#` and `;` from the header",
                    &trimmed[cut..],
                    describe(&boto_target(header))
                ),
            ),
            (Some(header), _) => (
                K::HeaderTrailingText,
                format!(
                    "line {line}: `{s}` — the AWS CLI ignores the text after `]` and reads {}, other SDKs reject the line; remove the text or start it with `#`",
                    describe(&boto_target(header))
                ),
            ),
            (None, _) if option_line(trimmed).is_some() => (
                K::InvalidPropertyName,
                format!("line {line}: `{s}` — the AWS CLI reads a key starting with `[`, other SDKs an unfinished header and reject the file; remove the `[`"),
            ),
            (None, _) => (
                K::ReadDifferently,
                format!("line {line}: `{s}` — other SDKs reject this line ({msg}), the AWS CLI accepts the file; close the header with `]`"),
            ),
        }
    } else {
        (
            K::ReadDifferently,
            format!("line {line}: `{s}` — other SDKs reject this line ({msg}), the AWS CLI accepts the file; rewrite it as a header or `key = value`"),
        )
    };
    Divergence {
        line: at,
        kind,
        message,
    }
}

/// The nearest line above `line` that starts a property (not blank, comment, header or indented).
fn key_line_above(text: &str, line: usize) -> Option<usize> {
    (1..line).rev().find(|&l| {
        let t = line_text(text, l);
        !(t.trim().is_empty() || t.starts_with(['#', ';', '[', ' ', '\t']))
    })
}

// ---------------------------------------------------------------------------------------------
// Explaining the differences.

/// A possible explanation, reported at `line` if it turns out to matter.
#[derive(Debug, Clone)]
struct Note {
    line: usize,
    kind: DivergenceKind,
    message: String,
}

/// What may explain a difference, by the line it concerns.
#[derive(Debug, Default)]
struct Notes {
    /// Header lines the two file under different targets, or that one of them merges and the other
    /// drops (`[default]` / `[profile default]`, a section replaced).
    headers: BTreeMap<usize, Vec<Note>>,
    /// Lines inside properties: inline comments, blank or comment lines in values, keys split at `:`.
    lines: BTreeMap<usize, Vec<Note>>,
    /// Keys set in `[DEFAULT]`, by key line.
    defaults: BTreeMap<usize, String>,
}

impl Notes {
    fn add(
        map: &mut BTreeMap<usize, Vec<Note>>,
        line: usize,
        kind: DivergenceKind,
        message: String,
    ) {
        Notes::add_at(map, line, line, kind, message);
    }

    /// A note looked up by the line `at` and reported at `line`.
    fn add_at(
        map: &mut BTreeMap<usize, Vec<Note>>,
        at: usize,
        line: usize,
        kind: DivergenceKind,
        message: String,
    ) {
        map.entry(at).or_default().push(Note {
            line,
            kind,
            message,
        });
    }

    fn collect(text: &str, em: &Emulation, scan: &OursScan) -> Notes {
        use DivergenceKind as K;
        let mut notes = Notes::default();
        for o in &em.observations {
            Notes::add(&mut notes.lines, o.line, o.kind, o.message.clone());
        }
        for (&line, comment) in &scan.inline_comments {
            let raw = line_text(text, line);
            let key = raw.split('=').next().unwrap_or("").trim();
            Notes::add(
                &mut notes.lines,
                line,
                K::InlineComment,
                format!(
                    "line {line}: `{}` — the AWS CLI keeps `{}` as part of the value of `{key}`, other SDKs drop it; put the comment on its own line",
                    snippet(raw),
                    snippet(comment)
                ),
            );
        }
        let line_count = text.split('\n').count();
        for line in 1..=line_count {
            let raw = line_text(text, line);
            if unusual_whitespace(raw).is_some() {
                Notes::add(
                    &mut notes.lines,
                    line,
                    K::UnusualWhitespace,
                    unusual_whitespace_message(line, raw),
                );
            }
        }
        for o in &em.defaults.options {
            notes.defaults.insert(
                o.key_line,
                format!(
                    "line {}: `{}` sits in [DEFAULT] — the AWS CLI copies it into every profile, sso-session and services section that does not set `{}`, other SDKs ignore [DEFAULT]; move it into the sections that need it",
                    o.key_line,
                    snippet(line_text(text, o.key_line)),
                    o.name
                ),
            );
        }

        // Headers only the other SDKs see.
        for &line in scan.headers.keys() {
            if em.headers.contains_key(&line) {
                continue;
            }
            let raw = line_text(text, line);
            let s = snippet(raw);
            let (kind, message) = if raw.starts_with("[]") {
                (K::EmptyHeader, format!("line {line}: `{s}` — the AWS CLI refuses a file with an empty section header, other SDKs ignore the section; remove the line"))
            } else if unusual_whitespace(raw).is_some() {
                (K::UnusualWhitespace, unusual_whitespace_message(line, raw))
            } else {
                (K::ReadDifferently, format!("line {line}: `{s}` — other SDKs read a header here, the AWS CLI does not; write it as `[profile NAME]`"))
            };
            Notes::add(&mut notes.headers, line, kind, message);
        }
        // Indented headers: continuation lines for the other SDKs.
        for (&line, (kind, at, message)) in &em.indented_headers {
            if !scan.headers.contains_key(&line) {
                Notes::add_at(&mut notes.headers, line, *at, *kind, message.clone());
            }
        }
        // Headers filed differently.
        for (&line, boto_header) in &em.headers {
            let Some(our_header) = scan.headers.get(&line) else {
                continue;
            };
            let boto = boto_target(boto_header);
            let ours = ours_target(our_header);
            if boto == ours {
                continue;
            }
            let s = snippet(line_text(text, line));
            let (b, o) = (describe(&boto), describe(&ours));
            let first_word = boto_header
                .split([' ', '\t', '\r', '\n'])
                .next()
                .unwrap_or("");
            let (kind, message) = if boto_header != py_strip(boto_header)
                && boto_target(py_strip(boto_header)) == ours
            {
                (K::HeaderWhitespace, format!("line {line}: `{s}` — the AWS CLI does not trim the whitespace inside the brackets and reads {b}, other SDKs read {o}; remove the whitespace after `[` and before `]`"))
            } else if boto_header.contains(['"', '\'', '\\']) {
                (K::QuotedHeader, format!("line {line}: `{s}` — the AWS CLI removes quotes and backslashes as a shell would and reads {b}, other SDKs read {o}; write the name without quotes or backslashes"))
            } else if boto.is_some()
                && boto_header != "default"
                && !["profile", "sso-session", "services"].contains(&first_word)
            {
                (K::LooseHeaderKeyword, format!("line {line}: `{s}` — the AWS CLI only checks how the header starts and reads {b}, other SDKs read {o}; write `[profile NAME]`, `[sso-session NAME]` or `[services NAME]`"))
            } else if matches!(&boto, Some((_, name)) if !is_valid_identifier(name))
                && ours.is_none()
            {
                (K::InvalidSectionName, format!("line {line}: `{s}` — the AWS CLI reads {b}, other SDKs ignore the section (names may only use letters, digits and _ - / . % @ : +); rename it"))
            } else {
                (K::ReadDifferently, format!("line {line}: `{s}` — the AWS CLI reads {b}, other SDKs read {o}; write the header as `[profile NAME]`"))
            };
            Notes::add(&mut notes.headers, line, kind, message);
        }

        // `[profile default]` hides `[default]` for the other SDKs; botocore keeps the last one.
        let ours_has_prefixed_default = scan.headers.values().any(|h| {
            h != "default" && ours_target(h) == Some((Table::Profiles, "default".to_string()))
        });
        for (target, indexes) in &em.groups {
            let chosen = &em.sections[*indexes.last().unwrap_or(&0)];
            let plain_default_chosen = chosen.header == "default" && ours_has_prefixed_default;
            if plain_default_chosen {
                for &line in &chosen.header_lines {
                    Notes::add(
                        &mut notes.headers,
                        line,
                        K::DefaultAndProfileDefault,
                        format!("line {line}: `[default]` comes after `[profile default]` — the AWS CLI uses only the last of the two, other SDKs use [profile default] and ignore [default]; keep only [profile default] (or only [default])"),
                    );
                }
                continue;
            }
            let ours_of = |s: &BSection| {
                scan.headers
                    .get(&s.header_lines[0])
                    .and_then(|h| ours_target(h))
            };
            if ours_of(chosen).as_ref() != Some(target) {
                continue;
            }
            for &i in &indexes[..indexes.len() - 1] {
                let earlier = &em.sections[i];
                if ours_of(earlier).as_ref() != Some(target) {
                    continue;
                }
                for &line in &earlier.header_lines {
                    Notes::add(
                        &mut notes.headers,
                        line,
                        K::SectionReplaced,
                        format!(
                            "line {line}: `{}` and `{}` (line {}) both define {} — the AWS CLI keeps only the last section, other SDKs merge them; put all its settings under one header",
                            snippet(line_text(text, line)),
                            snippet(line_text(text, chosen.header_lines[0])),
                            chosen.header_lines[0],
                            describe(&Some(target.clone()))
                        ),
                    );
                }
            }
        }
        notes
    }
}

/// Explains every section the two readings differ on by the notes on its lines.
fn attribute(
    ours: &View,
    boto: &View,
    notes: &Notes,
    em: &Emulation,
    scan: &OursScan,
) -> Vec<Divergence> {
    let default_headers = &em.default_headers;
    use DivergenceKind as K;
    let mut out = Vec::new();
    let targets: BTreeSet<&Target> = ours.keys().chain(boto.keys()).collect();
    for target in targets {
        let (oe, be) = (ours.get(target), boto.get(target));
        if same_entry(oe, be) {
            continue;
        }
        let mut found: Vec<Note> = Vec::new();
        let empty = Entry::default();
        let (o, b) = (oe.unwrap_or(&empty), be.unwrap_or(&empty));
        let differing: Vec<&String> = o
            .props
            .keys()
            .chain(b.props.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|k| match (o.props.get(*k), b.props.get(*k)) {
                (Some(p), Some(q)) => p.val != q.val,
                _ => true,
            })
            .collect();

        // Sections one reader takes and the other does not: botocore takes a section wholesale, so
        // each of its sections matters; a section the other SDKs merge in matters if it supplies a
        // differing key.
        let header_notes = |line: usize| notes.headers.get(&line).into_iter().flatten();
        for &h in b.headers.iter().filter(|h| !o.headers.contains(h)) {
            found.extend(header_notes(h).cloned());
        }
        for &h in o.headers.iter().filter(|h| !b.headers.contains(h)) {
            let contributes = be.is_none()
                || differing
                    .iter()
                    .any(|k| o.props.get(*k).is_some_and(|p| p.header_line == h));
            if contributes {
                found.extend(header_notes(h).cloned());
            }
        }

        // Properties of sections both readers take.
        if oe.is_some() && be.is_some() {
            for key in &differing {
                let (op, bp) = (o.props.get(*key), b.props.get(*key));
                if let Some(bp) = bp {
                    if default_headers.contains(&bp.header_line) {
                        if let Some(message) = notes.defaults.get(&bp.key_line) {
                            found.push(Note {
                                line: bp.key_line,
                                kind: K::DefaultSection,
                                message: message.clone(),
                            });
                        }
                    }
                }
                // A key line the two file under different headers: a header one of them missed.
                for p in [op, bp].into_iter().flatten() {
                    let ours_header = scan.props.get(&p.key_line).map(|(h, _)| *h);
                    let boto_header = em.key_headers.get(&p.key_line).copied();
                    if ours_header != boto_header {
                        for h in [ours_header, boto_header].into_iter().flatten() {
                            found.extend(header_notes(h).cloned());
                        }
                    }
                }
                // Both took the key from the same line, so the difference is in how that line
                // and its continuations are read.
                let same_line = matches!((op, bp), (Some(p), Some(q)) if p.key_line == q.key_line);
                let shared_key_line = |line: usize| {
                    [op, bp].into_iter().flatten().any(|p| {
                        p.key_line == line
                            && o.headers.contains(&p.header_line)
                            && b.headers.contains(&p.header_line)
                    })
                };
                let lines: BTreeSet<usize> = [op, bp]
                    .into_iter()
                    .flatten()
                    .flat_map(|p| p.lines.iter().copied())
                    .collect();
                for &line in &lines {
                    for note in notes.lines.get(&line).into_iter().flatten() {
                        let relevant = match note.kind {
                            K::InlineComment | K::IndentedComment | K::SubPropertyCase => same_line,
                            // Only a blank line the other SDKs skip inside the same text value
                            // (a sub-section drops blank lines anyway).
                            K::BlankLineInValue => {
                                same_line
                                    && matches!(bp, Some(q) if matches!(q.val, Val::Text(_)))
                                    && op.is_some_and(|p| {
                                        p.lines.iter().any(|&l| l < line)
                                            && p.lines.iter().any(|&l| l > line)
                                    })
                            }
                            K::ColonInKey | K::InvalidPropertyName => shared_key_line(line),
                            K::UnusualWhitespace | K::IndentedLine => true,
                            _ => false,
                        };
                        if relevant {
                            found.push(note.clone());
                        }
                    }
                }
            }
        }

        if found.is_empty() {
            let line = o
                .headers
                .iter()
                .chain(&b.headers)
                .copied()
                .min()
                .unwrap_or(1);
            let summary = match differing.first() {
                Some(key) => {
                    let show = |p: Option<&Prop>| {
                        p.map_or("nothing".to_string(), |p| p.val.to_json().to_string())
                    };
                    format!(
                        "`{key}` is {} for the AWS CLI and {} for other SDKs",
                        show(b.props.get(*key)),
                        show(o.props.get(*key))
                    )
                }
                None => "only one of them has it".to_string(),
            };
            found.push(Note {
                line,
                kind: K::ReadDifferently,
                message: format!(
                    "line {line}: the AWS CLI and other SDKs read {} differently ({summary}); rewrite the section in plain `key = value` lines",
                    describe(&Some(target.clone()))
                ),
            });
        }
        out.extend(found.into_iter().map(|n| Divergence {
            line: n.line,
            kind: n.kind,
            message: n.message,
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use DivergenceKind as K;

    fn kinds(text: &str) -> BTreeSet<K> {
        divergences(text).into_iter().map(|d| d.kind).collect()
    }

    fn set(list: &[K]) -> BTreeSet<K> {
        list.iter().copied().collect()
    }

    #[test]
    fn names_are_unique_snake_case() {
        let names: HashSet<&str> = K::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), K::ALL.len());
        assert!(names
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    }

    #[test]
    fn agreement_gives_nothing() {
        for text in [
            "",
            "[default]\nregion = us-east-1\n",
            "[profile dev]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n",
            "[default]\nregion = a\n[profile default]\nregion = b\n",
            "[profile a]\nregion = x#not-a-comment\n# comment\n[profile b] # comment\n",
            "[profile a]\ns3 =\n  max_concurrent_requests = 10\n\n  addressing_style = path\n",
            "[profile a]\nregion = x\n[profile  a]\nregion = y\n",
            "[profile \"a\"]\nregion = x\n[profile a]\nregion = y\n",
            // Both refuse: `key value` has no delimiter for either.
            "[profile a]\nkey value\n",
        ] {
            assert_eq!(divergences(text), vec![], "{text:?}");
        }
    }

    #[test]
    fn each_kind_is_found_on_its_line() {
        let cases: &[(&str, &[K], usize)] = &[
            (
                "[profile a]\nregion = us-east-1 # prod\n",
                &[K::InlineComment],
                2,
            ),
            ("[profile a]\nregion: us-east-1\n", &[K::ColonDelimiter], 2),
            ("[profile a]\nx:y = 1\n", &[K::ColonInKey], 2),
            ("[profile a]\n[profile a]\n", &[K::DuplicateSection], 2),
            ("[profile a]\nk = 1\nK = 2\n", &[K::DuplicateKey], 3),
            (
                "[profile default]\nk = 1\n[default]\nk = 2\n",
                &[K::DefaultAndProfileDefault],
                3,
            ),
            (
                "[profile  a]\nk = 1\n[profile a]\nj = 2\n",
                &[K::SectionReplaced],
                1,
            ),
            ("[  profile a ]\nk = 1\n", &[K::HeaderWhitespace], 1),
            ("[profile \"a b\"]\n", &[K::QuotedHeader], 1),
            ("[profiles a]\n", &[K::LooseHeaderKeyword], 1),
            ("[profile foo!bar]\n", &[K::InvalidSectionName], 1),
            ("[profile a] prod\nk = v\n", &[K::HeaderTrailingText], 1),
            ("[profile a#b]\nk = v\n", &[K::CommentInHeader], 1),
            ("[profile a]\n[]\n", &[K::EmptyHeader], 2),
            ("[profile a]\nk = v\n  # note\n", &[K::IndentedComment], 3),
            ("[profile a]\n  k = v\n", &[K::IndentedLine], 2),
            ("[profile a]\nk = v\n\n  more\n", &[K::BlankLineInValue], 3),
            ("[profile a]\nmy key = v\n", &[K::InvalidPropertyName], 2),
            (
                "[profile a]\ns3 =\n  Addressing_Style = path\n",
                &[K::SubPropertyCase],
                2,
            ),
            (
                "[profile a]\ns3 =\n  = path\n",
                &[K::SubPropertyWithoutName],
                3,
            ),
            (
                "[DEFAULT]\nregion = x\n[profile a]\n",
                &[K::DefaultSection],
                2,
            ),
            ("\u{feff}[profile a]\n", &[K::Bom], 1),
            (
                "[profile a]\nk = v\n\u{a0}more\n",
                &[K::UnusualWhitespace],
                3,
            ),
            ("[profile a]\nk = v\rj = w\n", &[K::UnusualWhitespace], 2),
        ];
        for (text, want, line) in cases {
            let got = divergences(text);
            let got_kinds: BTreeSet<K> = got.iter().map(|d| d.kind).collect();
            assert_eq!(got_kinds, set(want), "{text:?}: {got:#?}");
            assert_eq!(got[0].line, *line, "{text:?}: {got:#?}");
            assert!(
                got[0].message.starts_with(&format!("line {line}: ")),
                "{}",
                got[0].message
            );
        }
    }

    #[test]
    fn replaced_or_hidden_sections_hide_their_lines() {
        // The inline comment is in a section botocore drops and awsenv overrides: no difference.
        let text = "[profile  a]\nregion = x # c\n[profile a]\nregion = y\n";
        assert_eq!(kinds(text), set(&[]));
        // `[default]` first: both end up with [profile default].
        assert_eq!(
            kinds("[default]\nk = 1\n[profile default]\nj = 2\n"),
            set(&[])
        );
        // A blank line inside a sub-section changes nothing.
        assert_eq!(kinds("[profile a]\ns3 =\n\n  x = 1\n"), set(&[]));
    }

    #[test]
    fn a_blank_line_counts_only_inside_a_text_value_both_continue() {
        // The no-break space is the cause; the blank line before it is not.
        let text = "[profile a]\nsts =\n  endpoint_url = http://x\n\n\u{a0}note = 1\n";
        assert_eq!(kinds(text), set(&[K::UnusualWhitespace]));
        let text = "[profile a]\nregion = x\n\n\u{a0}note = 1\n";
        assert_eq!(kinds(text), set(&[K::UnusualWhitespace]));
        let text = "[profile a]\nnote = x # c\n\n  more\n";
        assert_eq!(kinds(text), set(&[K::InlineComment, K::BlankLineInValue]));
    }

    #[test]
    fn causes_found_by_fuzzing() {
        let cases: &[(&str, &[K])] = &[
            // `[]` refuses the file; the keys under it stay out of profile a for the model too.
            ("[profile a]\nk = 1\n[]\nj = 2 # c\n", &[K::EmptyHeader]),
            // A lone carriage return in a key line or a header.
            ("[profile a]\nregion\r= x\n", &[K::UnusualWhitespace]),
            (
                "[profile a]\nk = 1\n[profile\rb]\nj = 2\n",
                &[K::UnusualWhitespace],
            ),
            // `a:b =` is an empty value (a sub-section) only for the other SDKs.
            (
                "[profile a]\nendpoint:url =\n  http://x\n",
                &[K::ColonInKey],
            ),
            // An empty key for botocore cannot be continued.
            ("[profile a]\n:x = 1\n  more = 2\n", &[K::ColonInKey]),
            // A key indented with a no-break space is not continued by a plain indented line.
            (
                "[profile a]\n\u{a0}s3 =\n [profile b]\n",
                &[K::UnusualWhitespace],
            ),
            // A comment inside a sub-section.
            (
                "[profile a]\ns3 =\n  # note\n  x = 1\n",
                &[K::IndentedComment],
            ),
        ];
        for (text, want) in cases {
            let got = divergences(text);
            let got_kinds: BTreeSet<K> = got.iter().map(|d| d.kind).collect();
            assert_eq!(got_kinds, set(want), "{text:?}: {got:#?}");
        }
    }

    #[test]
    fn refusals_and_differences_are_reported_together() {
        let text = "[profile a]\nregion = x # c\n[profile a]\noutput = json\n";
        assert_eq!(kinds(text), set(&[K::DuplicateSection, K::InlineComment]));
    }

    #[test]
    fn example_message_names_the_line_and_the_fix() {
        let d = &divergences("[default]\n\n\nregion = us-east-1 # prod\n")[0];
        assert_eq!(
            d.message,
            "line 4: `region = us-east-1 # prod` — the AWS CLI keeps `# prod` as part of the value of `region`, other SDKs drop it; put the comment on its own line"
        );
    }

    #[test]
    fn shlex_matches_python() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            ("profile foo", Some(&["profile", "foo"])),
            ("profile \"a b\"", Some(&["profile", "a b"])),
            ("profile ''", Some(&["profile", ""])),
            ("profile a\\ b", Some(&["profile", "a b"])),
            ("profile \"a\\\"b\\x\"", Some(&["profile", "a\"b\\x"])),
            ("profile 'a\\b'", Some(&["profile", "a\\b"])),
            ("profile a\"b c\"d", Some(&["profile", "ab cd"])),
            ("profile \"open", None),
            ("profile a\\", None),
            ("  profile \t x  ", Some(&["profile", "x"])),
            ("", Some(&[])),
        ];
        for (input, want) in cases {
            let want = want.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(shlex_split(input), want, "{input:?}");
        }
    }

    #[test]
    fn emulation_reads_like_configparser() {
        let text = "[DEFAULT]\nout = 1\n[profile a]\nk = v # kept\n\n  cont\nS3 =\n  X = 1\n  # skipped\n[profile \"b c\"]\n[foo]\nz = 1\n";
        let json = botocore_json(text).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "profiles": {
                    "a": {"k": "v # kept\n\ncont", "s3": {"X": "1"}, "out": "1"},
                    "b c": {"out": "1"}
                },
                "sso_sessions": {},
                "services": {}
            })
        );
        assert!(botocore_json("[a]\n[a]\n").is_err());
        assert!(botocore_json("[a]\nk = 1\nk: 2\n").is_err());
        assert!(botocore_json("[]\n").is_err());
        assert!(botocore_json("[a]\ns3 =\n  bad\n").is_err());
    }
}
