//! Splitting a command line the way POSIX `sh` and Python's `shlex.split` do (quotes and backslashes,
//! no expansion), for reading `credential_process` lines, and telling where the two differ: botocore
//! splits a `credential_process` line with `shlex.split` and runs the words without a shell, while the
//! Rust, Go and JS SDKs hand the line to `sh -c` ([`sh_and_shlex_differ`]).

use std::fmt;

/// A command line that cannot be split (an unterminated quote or a trailing backslash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError(pub &'static str);

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for SplitError {}

/// The quoting rules of one splitter: what separates words, what a backslash escapes inside double
/// quotes, whether a backslash-newline vanishes, and the errors (in the splitter's own words).
struct Rules {
    space: fn(char) -> bool,
    double_quote_escapes: &'static [char],
    line_continuation: bool,
    no_closing_single: &'static str,
    no_closing_double: &'static str,
    trailing_backslash: &'static str,
}

/// POSIX `sh`.
const SH: Rules = Rules {
    space: |c| matches!(c, ' ' | '\t' | '\n' | '\r'),
    double_quote_escapes: &['"', '\\', '`', '$'],
    line_continuation: true,
    no_closing_single: "unterminated single quote",
    no_closing_double: "unterminated double quote",
    trailing_backslash: "trailing backslash",
};

/// Python's `shlex.split` (POSIX mode, no comments).
const SHLEX: Rules = Rules {
    space: char::is_whitespace,
    double_quote_escapes: &['"', '\\'],
    line_continuation: false,
    no_closing_single: "No closing quotation",
    no_closing_double: "No closing quotation",
    trailing_backslash: "No escaped character",
};

/// Splits `line` into words: whitespace separates; `'…'` is literal; `"…"` is literal except `\"`,
/// `\\`, `` \` `` and `\$`; an unquoted backslash escapes the next character.
pub fn split(line: &str) -> Result<Vec<String>, SplitError> {
    split_with(line, &SH)
}

/// Splits `line` as Python's `shlex.split(line)` does (POSIX mode, no comments): like [`split`] except
/// that inside double quotes a backslash is kept unless it escapes `"` or `\`, and a backslash before a
/// newline keeps the newline.
pub fn shlex_split(line: &str) -> Result<Vec<String>, SplitError> {
    split_with(line, &SHLEX)
}

fn split_with(line: &str, rules: &Rules) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if (rules.space)(c) => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(SplitError(rules.no_closing_single)),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) if rules.double_quote_escapes.contains(&c) => word.push(c),
                            Some('\n') if rules.line_continuation => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(SplitError(rules.no_closing_double)),
                        },
                        Some(c) => word.push(c),
                        None => return Err(SplitError(rules.no_closing_double)),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') if rules.line_continuation => {}
                    Some(c) => word.push(c),
                    None => return Err(SplitError(rules.trailing_backslash)),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// How a `credential_process` line would run differently under botocore (`shlex.split`, no shell) and
/// under `sh -c` (the Rust, Go and JS SDKs), or `None` when both run the same words. The first reason
/// found is given: something `sh` interprets (a variable, `~`, a glob, a pipe or other operator, a
/// comment), or quotes and backslashes that split differently.
pub fn sh_and_shlex_differ(line: &str) -> Option<String> {
    let mut quote: Option<char> = None;
    let mut word_start = true;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some('\'') => {
                if c == '\'' {
                    quote = None;
                }
                word_start = false;
                continue;
            }
            Some(_) => {
                match c {
                    '"' => quote = None,
                    '\\' => {
                        chars.next();
                    }
                    '$' | '`' => return Some(expansion(c, true)),
                    _ => {}
                }
                word_start = false;
                continue;
            }
            None => {}
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '\\' => {
                chars.next();
            }
            '$' | '`' => return Some(expansion(c, false)),
            '|' | '&' | ';' | '<' | '>' | '(' | ')' => {
                return Some(format!(
                    "`{c}` is a shell operator: `sh -c` (Rust, Go and JS SDKs) acts on it, botocore (AWS CLI, boto3) passes it to the program as an argument"
                ))
            }
            '*' | '?' | '[' => {
                return Some(format!(
                    "`{c}` is a glob: `sh -c` (Rust, Go and JS SDKs) may replace the word with file names, botocore (AWS CLI, boto3) passes it as it is"
                ))
            }
            '~' if word_start => {
                return Some("`~` starts a word: `sh -c` (Rust, Go and JS SDKs) replaces it with your home folder, botocore (AWS CLI, boto3) looks for a file named `~`".into())
            }
            '#' if word_start => {
                return Some("`#` starts a word: `sh -c` (Rust, Go and JS SDKs) ignores the rest of the line as a comment, botocore (AWS CLI, boto3) passes it as arguments".into())
            }
            _ => {}
        }
        word_start = c.is_whitespace();
    }
    match (split(line), shlex_split(line)) {
        (Ok(sh), Ok(py)) if sh == py => None,
        (Ok(sh), Ok(py)) => Some(format!(
            "the quotes split differently: `sh -c` (Rust, Go and JS SDKs) runs {sh:?}, botocore (AWS CLI, boto3) runs {py:?}"
        )),
        (Err(e), _) | (_, Err(e)) => Some(format!("the line cannot be split ({e})")),
    }
}

fn expansion(c: char, in_double_quotes: bool) -> String {
    let what = if c == '$' {
        "`$` expands a variable or command"
    } else {
        "`` ` `` runs a command"
    };
    format!(
        "{what}{}: under `sh -c` (Rust, Go and JS SDKs) it is expanded, botocore (AWS CLI, boto3) passes it literally",
        if in_double_quotes { " even inside double quotes" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::{sh_and_shlex_differ, shlex_split, split};

    #[test]
    fn shlex_keeps_backslashes_in_double_quotes() {
        assert_eq!(
            shlex_split(r#""a\$b" 'c d'"#).unwrap(),
            vec![r"a\$b", "c d"]
        );
        assert_eq!(split(r#""a\$b""#).unwrap(), vec!["a$b"]);
    }

    #[test]
    fn differences_between_sh_and_shlex() {
        for same in [
            "awsenv-credential-process dev",
            "'/opt/my tools/get creds' --profile dev",
            r#""/opt/my tools/get" a\ b"#,
        ] {
            assert_eq!(sh_and_shlex_differ(same), None, "{same}");
        }
        for (line, needle) in [
            ("~/bin/creds dev", "`~`"),
            ("creds $PROFILE", "`$`"),
            ("creds \"$HOME/x\"", "inside double quotes"),
            ("creds | jq .", "`|`"),
            ("creds *.json", "glob"),
            ("creds dev # comment", "`#`"),
            (r#"creds "a\$b""#, "split differently"),
            ("creds 'open", "cannot be split"),
        ] {
            let d = sh_and_shlex_differ(line).unwrap_or_default();
            assert!(d.contains(needle), "{line}: {d}");
        }
    }

    #[test]
    fn splits_like_sh() {
        assert_eq!(
            split(r#"a 'b c' "d \"e\"" f\ g"#).unwrap(),
            vec!["a", "b c", "d \"e\"", "f g"]
        );
        assert_eq!(split("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split("''").unwrap(), vec![""]);
        assert!(split("'open").is_err());
    }
}
