//! The config-file corpus (`tests/data/config-corpus/*.ini`) read by botocore, the reader of the AWS
//! CLI v1 and boto3, and by awsenv's cross-SDK parser. The two must agree except on the files listed
//! in `EXPECTED`, and `botocore_compat::divergences` must predict exactly that: nothing for a file
//! they agree on, the listed kinds for a file they don't.
//!
//! botocore runs once for the whole corpus (`tests/peers/botocore_config.py` in the test venv).
//! Set `AWSENV_EXTRA_CONFIG_CORPUS` to a folder of `.ini` files to hold any other files (generated
//! ones, say) to the same rules, without a table: the model must match botocore and
//! `divergences()` must be empty exactly when the two agree.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use awsenv::core::botocore_compat::{botocore_json, divergences, DivergenceKind as K};
use awsenv::core::config::{FileKind, ProfileSet, SourceFile};
use awsenv::core::profile_file::sub_properties;
use serde_json::{json, Value};

/// The files botocore and awsenv read differently, the kinds `divergences()` must report for each,
/// and why the two differ.
const EXPECTED: &[(&str, &[K], &str)] = &[
    (
        "30-inline-comment-hash.ini",
        &[K::InlineComment],
        "botocore keeps `# prod` in the region value; the cross-SDK rules cut a comment after whitespace",
    ),
    (
        "31-inline-comment-semicolon.ini",
        &[K::InlineComment],
        "the same with `;`, after a space and after a tab",
    ),
    (
        "32-colon-delimiter.ini",
        &[K::ColonDelimiter],
        "botocore accepts `key: value`; the cross-SDK rules want `=` and reject the file",
    ),
    (
        "33-colon-in-key.ini",
        &[K::ColonInKey],
        "botocore splits at the first `:` (keys `endpoint_url` and `x`), the cross-SDK rules at the `=` (an invalid key, ignored, and `x:y`)",
    ),
    (
        "34-duplicate-section.ini",
        &[K::DuplicateSection],
        "botocore refuses a repeated [profile dev]; the cross-SDK rules merge the two",
    ),
    (
        "35-duplicate-key.ini",
        &[K::DuplicateKey],
        "botocore refuses a repeated key; the cross-SDK rules keep the last value",
    ),
    (
        "36-duplicate-key-case.ini",
        &[K::DuplicateKey],
        "`Region` and `region` are the same key for both, so botocore refuses the file",
    ),
    (
        "37-default-after-profile-default.ini",
        &[K::DefaultAndProfileDefault],
        "botocore takes the last of [profile default] and [default]; the cross-SDK rules always [profile default]",
    ),
    (
        "38-profile-replaced.ini",
        &[K::SectionReplaced],
        "`[profile  dev]` and `[profile dev]` are two sections for botocore, and the last replaces the first; the cross-SDK rules merge them",
    ),
    (
        "39-header-whitespace.ini",
        &[K::HeaderWhitespace],
        "botocore does not trim `[   profile foo    ]`, so the header does not start with `profile` and is ignored",
    ),
    (
        "40-default-whitespace.ini",
        &[K::HeaderWhitespace],
        "`[ default ]` is not `default` for botocore",
    ),
    (
        "41-quoted-profile.ini",
        &[K::QuotedHeader],
        "botocore shlex-splits the header and reads profiles `my team` and `solo`; quotes are not allowed in cross-SDK names",
    ),
    (
        "42-invalid-profile-names.ini",
        &[K::InvalidSectionName],
        "botocore reads `foo!bar` and `café`; the cross-SDK rules ignore both names",
    ),
    (
        "43-loose-keyword.ini",
        &[K::LooseHeaderKeyword],
        "botocore only checks that the header starts with `profile` / `sso-session`",
    ),
    (
        "44-header-trailing-text.ini",
        &[K::HeaderTrailingText],
        "botocore ignores text after `]`; the cross-SDK rules reject the header",
    ),
    (
        "45-comment-in-header.ini",
        &[K::CommentInHeader],
        "the cross-SDK rules cut the header at `#` and find no `]`; botocore reads three words and ignores the section",
    ),
    (
        "46-indented-comment-in-value.ini",
        &[K::IndentedComment],
        "botocore skips the indented comment; the cross-SDK rules make it a line of the value",
    ),
    (
        "47-indented-comment-after-header.ini",
        &[K::IndentedComment],
        "botocore skips the indented comment; the cross-SDK rules see a continuation without a property and reject the file",
    ),
    (
        "48-blank-line-in-value.ini",
        &[K::BlankLineInValue],
        "botocore keeps the blank line inside the continued value",
    ),
    (
        "49-indented-keys.ini",
        &[K::IndentedLine],
        "botocore reads indented keys after a header; the cross-SDK rules see continuation lines and reject the file",
    ),
    (
        "50-empty-header.ini",
        &[K::EmptyHeader],
        "`[]` does not match botocore's header pattern and is a parsing error; the cross-SDK rules ignore the empty section",
    ),
    (
        "51-invalid-property-name.ini",
        &[K::InvalidPropertyName],
        "botocore keeps the key `role arn`; the cross-SDK rules ignore keys with spaces",
    ),
    (
        "52-sub-property-case.ini",
        &[K::SubPropertyCase],
        "botocore keeps `Addressing_Style`; awsenv lower-cases sub-property names",
    ),
    (
        "53-sub-property-without-name.ini",
        &[K::SubPropertyWithoutName],
        "botocore accepts a sub-property named ``; the cross-SDK rules reject it",
    ),
    (
        "54-default-section.ini",
        &[K::DefaultSection],
        "configparser copies [DEFAULT] keys into every section; the cross-SDK rules ignore [DEFAULT]",
    ),
    (
        "55-bom.ini",
        &[K::Bom],
        "botocore sees the BOM before `[` and finds no section header; awsenv skips the mark",
    ),
    (
        "56-nbsp-indent.ini",
        &[K::UnusualWhitespace],
        "Python counts the no-break space as indentation (a continuation); the cross-SDK rules read a new key",
    ),
    (
        "57-lone-carriage-return.ini",
        &[K::UnusualWhitespace],
        "Python's text mode ends a line at a lone `\\r`; the cross-SDK rules keep it inside the value",
    ),
    (
        "58-sso-session-quoted.ini",
        &[K::QuotedHeader],
        "botocore reads sso-session `corp sso`; the cross-SDK rules ignore the quoted name",
    ),
    (
        "59-services-comment-before-block.ini",
        &[K::InlineComment],
        "the cross-SDK rules drop the comment, so `sts` is an empty value with a sub-property block; botocore keeps `# local stack` and reads plain text",
    ),
    (
        "60-duplicate-and-inline-comment.ini",
        &[K::DuplicateSection, K::InlineComment],
        "botocore refuses the repeated section, and once merged the inline comment would still differ",
    ),
    (
        "61-empty-quoted-name.ini",
        &[K::QuotedHeader],
        "`[profile \"\"]` is profile `` for botocore",
    ),
    (
        "62-colon-first-key.ini",
        &[K::ColonInKey],
        "botocore splits `:weird = 1` at the `:` and finds an empty key (a parsing error); the cross-SDK rules read the key `:weird`",
    ),
    (
        "63-indented-header.ini",
        &[K::IndentedLine],
        "botocore reads the indented `[profile b]` as a header; the cross-SDK rules see a continuation without a property",
    ),
    (
        "64-realistic-with-inline-comments.ini",
        &[K::InlineComment],
        "a realistic file whose two inline comments end up in botocore's values",
    ),
    (
        "65-duplicate-services-section.ini",
        &[K::DuplicateSection],
        "a repeated [services a] is refused by botocore like any repeated section",
    ),
    (
        "66-indented-comment-in-subsection.ini",
        &[K::IndentedComment],
        "botocore skips the indented comment inside `s3 =`; the cross-SDK rules read it as a sub-property without `=` and reject the file",
    ),
    (
        "67-colon-key-before-block.ini",
        &[K::ColonInKey],
        "botocore reads key `endpoint` with value `url =` continued as text; the cross-SDK rules read `endpoint:url` with an empty value, so the indented line must be a sub-property and is rejected",
    ),
];

struct CorpusFile {
    name: String,
    path: PathBuf,
    text: String,
}

fn load_dir(dir: &Path) -> Vec<CorpusFile> {
    let mut files: Vec<CorpusFile> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "ini"))
        .map(|path| CorpusFile {
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            text: std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())),
            path,
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}

/// botocore's reading of every file, from one Python process.
fn botocore_read(files: &[CorpusFile]) -> Option<Vec<Value>> {
    let python = common::venv_python()?;
    let script = common::repo_root().join("tests/peers/botocore_config.py");
    let paths: Vec<String> = files
        .iter()
        .map(|f| f.path.to_string_lossy().into_owned())
        .collect();
    let mut child = Command::new(python)
        .arg(&script)
        // The file encoding must not depend on the machine's locale.
        .env("PYTHONUTF8", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&paths).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        return common::missing(
            &format!("botocore in the test venv ({})", stderr.trim()),
            "run ./tests/run, which installs it",
        );
    }
    assert!(
        out.status.success(),
        "{} failed:\n{stderr}",
        script.display()
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), files.len());
    Some(results)
}

/// The corpus and botocore's reading of it, shared by the tests of this file.
fn corpus() -> Option<&'static (Vec<CorpusFile>, Vec<Value>)> {
    static CORPUS: OnceLock<Option<(Vec<CorpusFile>, Vec<Value>)>> = OnceLock::new();
    CORPUS
        .get_or_init(|| {
            let files = load_dir(&common::repo_root().join("tests/data/config-corpus"));
            let botocore = botocore_read(&files)?;
            Some((files, botocore))
        })
        .as_ref()
}

/// awsenv's reading of a config file in botocore's shape (sub-property blocks as objects), or
/// `{"error": …}`.
fn ours(text: &str) -> Value {
    let parsed = ProfileSet::parse(
        Some(SourceFile {
            kind: FileKind::Config,
            path: Path::new("config"),
            text,
        }),
        None,
    );
    let set = match parsed {
        Ok(set) => set,
        Err(e) => return json!({ "error": e.to_string() }),
    };
    let mut out = set.to_json();
    for table in ["profiles", "sso_sessions", "services"] {
        for section in out[table].as_object_mut().unwrap().values_mut() {
            for value in section.as_object_mut().unwrap().values_mut() {
                if let Some(pairs) = value.as_str().and_then(sub_properties) {
                    let mut nested = serde_json::Map::new();
                    for (k, v) in pairs {
                        nested.insert(k, Value::String(v));
                    }
                    *value = Value::Object(nested);
                }
            }
        }
    }
    out
}

/// The part of a reading both sides have: the three tables, or the fact of an error.
fn comparable(reading: &Value) -> Value {
    if reading.get("error").is_some() {
        return json!("error");
    }
    json!({
        "profiles": reading["profiles"],
        "sso_sessions": reading["sso_sessions"],
        "services": reading["services"],
    })
}

fn short(reading: &Value) -> String {
    let s = reading.to_string();
    if s.chars().count() > 400 {
        format!("{}…", s.chars().take(400).collect::<String>())
    } else {
        s
    }
}

fn kind_list(kinds: &BTreeSet<K>) -> String {
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    format!("[{}]", names.join(", "))
}

#[test]
fn corpus_agrees_with_botocore_except_where_expected() {
    let Some((files, botocore)) = corpus() else {
        return;
    };
    let mut problems = Vec::new();
    assert!(
        files.len() >= 40,
        "the corpus should hold at least 40 files, found {}",
        files.len()
    );
    let names: BTreeSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let mut listed = BTreeSet::new();
    for (name, kinds, reason) in EXPECTED {
        if !names.contains(name) {
            problems.push(format!("EXPECTED lists {name}, which is not in the corpus"));
        }
        if !listed.insert(*name) {
            problems.push(format!("EXPECTED lists {name} twice"));
        }
        if kinds.is_empty() || reason.trim().is_empty() {
            problems.push(format!("EXPECTED entry {name} needs kinds and a reason"));
        }
    }

    // Every kind but the fallback has a corpus file that shows it.
    let shown: BTreeSet<K> = EXPECTED
        .iter()
        .flat_map(|(_, k, _)| k.iter().copied())
        .collect();
    for kind in K::ALL {
        if *kind != K::ReadDifferently && !shown.contains(kind) {
            problems.push(format!("no corpus file in EXPECTED shows {kind}"));
        }
    }

    let (mut agree, mut diverge) = (0, 0);
    for (file, theirs) in files.iter().zip(botocore) {
        let ours = ours(&file.text);
        let same = comparable(&ours) == comparable(theirs);
        if same {
            agree += 1;
        } else {
            diverge += 1;
        }
        let found = divergences(&file.text);
        let found_kinds: BTreeSet<K> = found.iter().map(|d| d.kind).collect();
        let details = || {
            let lines: Vec<String> = found.iter().map(|d| format!("    {}", d.message)).collect();
            format!(
                "  botocore: {}\n  awsenv:   {}\n  divergences():\n{}",
                short(theirs),
                short(&ours),
                lines.join("\n")
            )
        };
        match EXPECTED.iter().find(|(name, ..)| *name == file.name) {
            None => {
                if !same {
                    problems.push(format!(
                        "{}: botocore and awsenv differ, but the file is not in EXPECTED\n{}",
                        file.name,
                        details()
                    ));
                } else if !found_kinds.is_empty() {
                    problems.push(format!(
                        "{}: the two agree, yet divergences() reports {}\n{}",
                        file.name,
                        kind_list(&found_kinds),
                        details()
                    ));
                }
            }
            Some((_, kinds, _)) => {
                let want: BTreeSet<K> = kinds.iter().copied().collect();
                if same {
                    problems.push(format!(
                        "{}: listed in EXPECTED, but botocore and awsenv read it the same\n{}",
                        file.name,
                        details()
                    ));
                }
                if found_kinds != want {
                    problems.push(format!(
                        "{}: divergences() reports {}, EXPECTED lists {}\n{}",
                        file.name,
                        kind_list(&found_kinds),
                        kind_list(&want),
                        details()
                    ));
                }
            }
        }
    }
    println!(
        "config corpus: {} files, {agree} agree, {diverge} diverge",
        files.len()
    );
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The model of botocore inside `botocore_compat` is what makes `divergences()` right: it must
/// read every corpus file as botocore does.
fn model_problems(files: &[CorpusFile], botocore: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    for (file, theirs) in files.iter().zip(botocore) {
        let model = match botocore_json(&file.text) {
            Ok(reading) => reading,
            Err(e) => json!({ "error": e }),
        };
        if comparable(&model) != comparable(theirs) {
            problems.push(format!(
                "{}: the model of botocore reads {}\n  botocore reads {}",
                file.name,
                short(&model),
                short(theirs)
            ));
        }
    }
    problems
}

#[test]
fn the_botocore_model_matches_botocore() {
    let Some((files, botocore)) = corpus() else {
        return;
    };
    let problems = model_problems(files, botocore);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn extra_corpus_from_the_environment() {
    let Some(dir) = std::env::var_os("AWSENV_EXTRA_CONFIG_CORPUS") else {
        return;
    };
    let files = load_dir(Path::new(&dir));
    let Some(botocore) = botocore_read(&files) else {
        return;
    };
    let mut problems = model_problems(&files, &botocore);
    let mut agree = 0;
    let mut seen: std::collections::BTreeMap<K, usize> = Default::default();
    for (file, theirs) in files.iter().zip(&botocore) {
        let ours = ours(&file.text);
        let same = comparable(&ours) == comparable(theirs);
        let found = divergences(&file.text);
        agree += usize::from(same);
        for kind in found.iter().map(|d| d.kind).collect::<BTreeSet<_>>() {
            *seen.entry(kind).or_default() += 1;
        }
        if same != found.is_empty() {
            let lines: Vec<String> = found.iter().map(|d| format!("    {d}")).collect();
            problems.push(format!(
                "{}: the two {}, divergences() reports {} item(s)\n  botocore: {}\n  awsenv:   {}\n{}",
                file.name,
                if same { "agree" } else { "differ" },
                found.len(),
                short(theirs),
                short(&ours),
                lines.join("\n")
            ));
        }
    }
    let kinds: Vec<String> = seen.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!(
        "extra config corpus: {} files, {agree} agree, {} diverge; files per kind: {}",
        files.len(),
        files.len() - agree,
        kinds.join(", ")
    );
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
