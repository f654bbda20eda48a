//! The cross-SDK conformance data for the shared config files, run case by case:
//! `profile-parser-tests.json` (65 cases) and `file-location-tests.json` (9 cases).

mod common;

use std::path::Path;

use awsenv::core::config::{FileKind, ProfileSet, SourceFile};
use awsenv::core::env::Env;
use awsenv::core::location::{locate, Platform};
use serde_json::Value;

fn load(name: &str) -> Option<Vec<Value>> {
    let dir = common::conformance_dir()?;
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    Some(doc["tests"].as_array().unwrap().clone())
}

#[test]
fn profile_parser_cases() {
    let Some(cases) = load("profile-parser-tests.json") else {
        return;
    };
    assert_eq!(cases.len(), 65, "the suite has 65 cases");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let input = &case["input"];
        let config = input["configFile"].as_str().map(|text| SourceFile {
            kind: FileKind::Config,
            path: Path::new("config"),
            text,
        });
        let credentials = input["credentialsFile"].as_str().map(|text| SourceFile {
            kind: FileKind::Credentials,
            path: Path::new("credentials"),
            text,
        });
        let got = ProfileSet::parse(config, credentials);
        let output = &case["output"];
        match (got, output.get("errorContaining")) {
            (Ok(set), None) => {
                let got = set.to_json();
                let want = &output["config"];
                for key in ["profiles", "sso_sessions", "services"] {
                    if let Some(w) = want.get(key) {
                        if &got[key] != w {
                            failures.push(format!("{name}: {key}: got {} want {w}", got[key]));
                        }
                    }
                }
            }
            (Err(e), Some(want)) => {
                let want = want.as_str().unwrap();
                if !e.to_string().contains(want) {
                    failures.push(format!("{name}: error {e:?} does not contain {want:?}"));
                }
            }
            (Ok(set), Some(want)) => failures.push(format!(
                "{name}: parsed {} but wanted error {want}",
                set.to_json()
            )),
            (Err(e), None) => failures.push(format!("{name}: unexpected error {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn file_location_cases() {
    let Some(cases) = load("file-location-tests.json") else {
        return;
    };
    assert_eq!(cases.len(), 9, "the suite has 9 cases");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let env = Env::from_pairs(
            case["environment"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())),
        );
        let platform = match case["platform"].as_str().unwrap() {
            "windows" => Platform::Windows,
            _ => Platform::Unix,
        };
        let got = locate(&env, platform);
        let want_config = case["configLocation"].as_str().unwrap();
        let want_creds = case["credentialsLocation"].as_str().unwrap();
        if got.config != want_config || got.credentials != want_creds {
            failures.push(format!(
                "{name}: got ({}, {}) want ({want_config}, {want_creds})",
                got.config, got.credentials
            ));
        }
        if let Some(p) = case["profile"].as_str() {
            if got.profile != p {
                failures.push(format!("{name}: profile {} want {p}", got.profile));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
