//! The SigV4 scope of an AWS endpoint from its host name, for `awsenv curl` and `awsenv presign`:
//! `sts.eu-west-1.amazonaws.com` signs as service `sts` in `eu-west-1`, `bucket.s3.amazonaws.com` as
//! `s3` in `us-east-1`, `abc.execute-api.cn-north-1.amazonaws.com.cn` as `execute-api` in
//! `cn-north-1`. Global endpoints (`iam.amazonaws.com`) sign in their partition's first region.

/// A signing scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub service: String,
    pub region: String,
}

/// Endpoint host suffixes and the region their global endpoints sign in.
const SUFFIXES: &[(&str, &str)] = &[
    (".amazonaws.com.cn", "cn-north-1"),
    (".amazonaws.com", "us-east-1"),
    (".api.aws", "us-east-1"),
    (".c2s.ic.gov", "us-iso-east-1"),
    (".sc2s.sgov.gov", "us-isob-east-1"),
];

/// Host labels whose signing name differs.
const SIGNING_NAMES: &[(&str, &str)] = &[("email", "ses"), ("api.ecr", "ecr")];

/// `us-east-1`, `us-gov-west-1`, `cn-north-1`, `eu-central-2`…
pub fn is_region(label: &str) -> bool {
    let parts: Vec<&str> = label.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// The scope of `host` (a port is ignored), or `None` when it is not an AWS endpoint name.
pub fn infer(host: &str) -> Option<Scope> {
    let host = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let (rest, default_region) = SUFFIXES
        .iter()
        .find_map(|(suffix, region)| host.strip_suffix(suffix).map(|r| (r, *region)))?;
    let labels: Vec<&str> = rest.split('.').filter(|l| !l.is_empty()).collect();
    let region_at = labels.iter().rposition(|l| is_region(l));
    let (before, region) = match region_at {
        Some(i) => (&labels[..i], labels[i].to_string()),
        None => (&labels[..], default_region.to_string()),
    };
    let meaningful: Vec<&str> = before
        .iter()
        .copied()
        .filter(|l| *l != "dualstack" && *l != "fips")
        .collect();
    let last = *meaningful.last()?;
    // `s3-us-west-2`, `s3-external-1`: the old S3 host style.
    if let Some(r) = last.strip_prefix("s3-") {
        let region = if is_region(r) { r.to_string() } else { region };
        return Some(Scope {
            service: "s3".into(),
            region,
        });
    }
    let label = last.strip_suffix("-fips").unwrap_or(last);
    let two = meaningful
        .len()
        .checked_sub(2)
        .map(|i| format!("{}.{}", meaningful[i], label));
    let service = SIGNING_NAMES
        .iter()
        .find(|(host_label, _)| Some(*host_label) == two.as_deref() || *host_label == label)
        .map(|(_, name)| name.to_string())
        .unwrap_or_else(|| label.to_string());
    Some(Scope { service, region })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        for (host, service, region) in [
            ("sts.eu-west-1.amazonaws.com", "sts", "eu-west-1"),
            ("sts.amazonaws.com", "sts", "us-east-1"),
            ("iam.amazonaws.com", "iam", "us-east-1"),
            ("bucket.s3.amazonaws.com", "s3", "us-east-1"),
            (
                "my.bucket.s3.eu-central-1.amazonaws.com",
                "s3",
                "eu-central-1",
            ),
            ("s3-us-west-2.amazonaws.com", "s3", "us-west-2"),
            ("s3.dualstack.ap-south-1.amazonaws.com", "s3", "ap-south-1"),
            (
                "abc123.execute-api.cn-north-1.amazonaws.com.cn",
                "execute-api",
                "cn-north-1",
            ),
            (
                "sts.us-gov-west-1.amazonaws.com:443",
                "sts",
                "us-gov-west-1",
            ),
            ("sts-fips.us-east-2.amazonaws.com", "sts", "us-east-2"),
            ("email.us-east-1.amazonaws.com", "ses", "us-east-1"),
            ("123.dkr.ecr.eu-west-1.amazonaws.com", "ecr", "eu-west-1"),
            ("api.ecr.eu-west-1.amazonaws.com", "ecr", "eu-west-1"),
            ("iam.cn-north-1.amazonaws.com.cn", "iam", "cn-north-1"),
        ] {
            let s = infer(host).unwrap_or_else(|| panic!("{host}"));
            assert_eq!(
                (s.service.as_str(), s.region.as_str()),
                (service, region),
                "{host}"
            );
        }
        assert_eq!(infer("127.0.0.1:8080"), None);
        assert_eq!(infer("example.com"), None);
    }
}
