//! Edits of the shared credentials file that keep everything else as the user wrote it: every other
//! line, comment, blank line and the order. Used by `awsenv add --import --remove-plaintext`.

use super::config::FileKind;
use super::profile_file::is_valid_identifier;

/// The keys that hold secrets in a profile section.
pub const KEY_PROPERTIES: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
];

fn header_profile(line: &str, kind: FileKind) -> Option<String> {
    let t = line.trim();
    let inner = t.strip_prefix('[')?;
    let end = inner.find(']')?;
    let header = inner[..end].trim();
    let name = match kind {
        FileKind::Credentials => header,
        FileKind::Config => {
            if header == "default" {
                header
            } else {
                header.strip_prefix("profile")?.trim_start()
            }
        }
    };
    is_valid_identifier(name).then(|| name.to_string())
}

/// Removes the key properties (and their continuation lines) of every section of `profile` from a
/// file's text. Section headers stay, even when nothing is left under them: the profile must go on
/// existing for awsenv and the SDKs (its keys now live in the keychain). Returns the new text and how
/// many properties were removed.
pub fn remove_keys(text: &str, profile: &str, kind: FileKind) -> (String, usize) {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut keep = vec![true; lines.len()];
    let mut removed = 0;
    let mut i = 0;
    while i < lines.len() {
        if header_profile(lines[i], kind).as_deref() != Some(profile) {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < lines.len() && !lines[j].trim_start().starts_with('[') {
            let line = lines[j];
            let is_property = !line.starts_with([' ', '\t'])
                && !line.trim().is_empty()
                && !line.trim_start().starts_with(['#', ';']);
            if is_property {
                let key = line
                    .split('=')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                if KEY_PROPERTIES.contains(&key.as_str()) {
                    keep[j] = false;
                    removed += 1;
                    // Continuation lines belong to the removed value.
                    let mut k = j + 1;
                    while k < lines.len()
                        && lines[k].starts_with([' ', '\t'])
                        && !lines[k].trim().is_empty()
                    {
                        keep[k] = false;
                        k += 1;
                    }
                    j = k;
                    continue;
                }
            }
            j += 1;
        }
        i = j;
    }
    let out: String = lines
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(l, _)| *l)
        .collect();
    (out, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_only_the_keys_of_that_profile() {
        let text = "# my keys\n[default]\naws_access_key_id = A\naws_secret_access_key = S\nregion = x\n\n[dev]\n; dev keys\naws_access_key_id = B\naws_secret_access_key = T\n\n[other]\naws_access_key_id = C\n";
        let (out, n) = remove_keys(text, "dev", FileKind::Credentials);
        assert_eq!(n, 2);
        assert_eq!(
            out,
            "# my keys\n[default]\naws_access_key_id = A\naws_secret_access_key = S\nregion = x\n\n[dev]\n; dev keys\n\n[other]\naws_access_key_id = C\n"
        );
        let (out, n) = remove_keys(text, "other", FileKind::Credentials);
        assert_eq!(n, 1);
        assert!(
            out.ends_with("aws_secret_access_key = T\n\n[other]\n"),
            "{out:?}"
        );
        let (out, _) = remove_keys(text, "default", FileKind::Credentials);
        assert!(
            out.starts_with("# my keys\n[default]\nregion = x\n"),
            "{out:?}"
        );
    }

    #[test]
    fn headers_stay_and_duplicates_are_all_cleaned() {
        let text = "[a]\naws_access_key_id = A\naws_secret_access_key = S\n\n[b]\nx = 1\n[a]\naws_session_token = T\n  more\n";
        let (out, n) = remove_keys(text, "a", FileKind::Credentials);
        assert_eq!(n, 3);
        assert_eq!(out, "[a]\n\n[b]\nx = 1\n[a]\n");
    }

    #[test]
    fn no_trailing_newline_and_crlf() {
        let (out, _) = remove_keys(
            "[a]\r\nregion = r\r\naws_access_key_id = A",
            "a",
            FileKind::Credentials,
        );
        assert_eq!(out, "[a]\r\nregion = r\r\n");
    }
}
