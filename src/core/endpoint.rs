//! Which URL STS calls go to, and which region signs them, from the environment and the profile, in
//! the SDKs' order: `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, the profile's `services` section, the
//! profile's `endpoint_url`; all of them off with `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` (or the profile's
//! `ignore_configured_endpoint_urls`); otherwise the regional endpoint of the region's partition, or the
//! legacy global endpoint where `sts_regional_endpoints = legacy` asks for it.

use super::config::{ProfileSet, Section};
use super::env::Env;
use super::plan::From;

/// Where STS is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StsEndpoint {
    /// Scheme, host and optional port and path, without a trailing slash.
    pub url: String,
    /// The region in the SigV4 scope.
    pub signing_region: String,
    pub from: From,
}

/// Regions that the legacy global endpoint served (botocore's list).
const LEGACY_GLOBAL_REGIONS: &[&str] = &[
    "ap-northeast-1",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "aws-global",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// The DNS suffix of a region's partition.
pub fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else if region.starts_with("us-isob-") {
        "sc2s.sgov.gov"
    } else if region.starts_with("us-iso-") {
        "c2s.ic.gov"
    } else {
        "amazonaws.com"
    }
}

fn truthy(v: &str) -> bool {
    v.trim().eq_ignore_ascii_case("true")
}

fn trim_url(u: &str) -> String {
    u.trim().trim_end_matches('/').to_string()
}

/// Resolves the STS endpoint for a profile (`None` for no profile section) in `region`.
pub fn resolve(
    env: &Env,
    profiles: &ProfileSet,
    profile: Option<&Section>,
    region: &str,
) -> StsEndpoint {
    let custom = |url: &str, from: From| StsEndpoint {
        url: trim_url(url),
        signing_region: region.to_string(),
        from,
    };
    let ignore = env
        .non_empty("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .map(truthy)
        .or_else(|| {
            profile
                .and_then(|p| p.get("ignore_configured_endpoint_urls"))
                .map(truthy)
        })
        .unwrap_or(false);
    if !ignore {
        for var in ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"] {
            if let Some(u) = env.non_empty(var) {
                return custom(u, From::Env { var: var.into() });
            }
        }
        if let Some(p) = profile {
            if let Some(services) = p.non_empty("services") {
                if let Some(section) = profiles.services.get(&services.value) {
                    if let (Some(pairs), Some(v)) =
                        (section.sub_properties("sts"), section.value("sts"))
                    {
                        if let Some((_, url)) = pairs.iter().find(|(k, _)| k == "endpoint_url") {
                            return custom(
                                url,
                                From::File {
                                    path: v.origin.path.display().to_string(),
                                    line: v.origin.line,
                                },
                            );
                        }
                    }
                }
            }
            if let Some(v) = p.non_empty("endpoint_url") {
                return custom(
                    &v.value,
                    From::File {
                        path: v.origin.path.display().to_string(),
                        line: v.origin.line,
                    },
                );
            }
        }
    }
    let legacy_setting = env
        .non_empty("AWS_STS_REGIONAL_ENDPOINTS")
        .map(|v| {
            (
                v.to_string(),
                From::Env {
                    var: "AWS_STS_REGIONAL_ENDPOINTS".into(),
                },
            )
        })
        .or_else(|| {
            profile
                .and_then(|p| p.non_empty("sts_regional_endpoints"))
                .map(|v| {
                    (
                        v.value.clone(),
                        From::File {
                            path: v.origin.path.display().to_string(),
                            line: v.origin.line,
                        },
                    )
                })
        });
    if let Some((mode, from)) = legacy_setting {
        if mode.trim() == "legacy" && LEGACY_GLOBAL_REGIONS.contains(&region) {
            return StsEndpoint {
                url: "https://sts.amazonaws.com".into(),
                signing_region: "us-east-1".into(),
                from,
            };
        }
    }
    let region = if region == "aws-global" {
        "us-east-1"
    } else {
        region
    };
    StsEndpoint {
        url: format!("https://sts.{region}.{}", dns_suffix(region)),
        signing_region: region.to_string(),
        from: From::Default {
            why: "the regional STS endpoint".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::{FileKind, SourceFile};
    use std::path::Path;

    fn set(text: &str) -> ProfileSet {
        ProfileSet::parse(
            Some(SourceFile {
                kind: FileKind::Config,
                path: Path::new("/c"),
                text,
            }),
            None,
        )
        .unwrap()
    }

    #[test]
    fn regional_and_partitions() {
        let s = set("");
        let e = Env::default();
        assert_eq!(
            resolve(&e, &s, None, "eu-west-1").url,
            "https://sts.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            resolve(&e, &s, None, "cn-north-1").url,
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            resolve(&e, &s, None, "us-gov-west-1").url,
            "https://sts.us-gov-west-1.amazonaws.com"
        );
    }

    #[test]
    fn legacy_global() {
        let s = set("[profile p]\nsts_regional_endpoints = legacy\n");
        let p = s.profile("p");
        let e = resolve(&Env::default(), &s, p, "eu-west-1");
        assert_eq!(e.url, "https://sts.amazonaws.com");
        assert_eq!(e.signing_region, "us-east-1");
        // Regions the global endpoint never served stay regional.
        assert_eq!(
            resolve(&Env::default(), &s, p, "af-south-1").url,
            "https://sts.af-south-1.amazonaws.com"
        );
    }

    #[test]
    fn overrides_in_order() {
        let s = set(
            "[profile p]\nservices = local\nendpoint_url = http://profile:1\n[services local]\nsts =\n  endpoint_url = http://services:2/\n",
        );
        let p = s.profile("p");
        let mut env = Env::default();
        assert_eq!(resolve(&env, &s, p, "us-east-1").url, "http://services:2");
        env.set("AWS_ENDPOINT_URL", "http://global-env:3");
        assert_eq!(resolve(&env, &s, p, "us-east-1").url, "http://global-env:3");
        env.set("AWS_ENDPOINT_URL_STS", "http://sts-env:4");
        let e = resolve(&env, &s, p, "eu-west-1");
        assert_eq!(e.url, "http://sts-env:4");
        assert_eq!(e.signing_region, "eu-west-1");
        env.set("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
        assert_eq!(
            resolve(&env, &s, p, "us-east-1").url,
            "https://sts.us-east-1.amazonaws.com"
        );
        let s2 = set("[profile q]\nendpoint_url = http://profile:1\n");
        assert_eq!(
            resolve(&Env::default(), &s2, s2.profile("q"), "us-east-1").url,
            "http://profile:1"
        );
    }
}
