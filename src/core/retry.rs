//! The SDKs' "standard" retry mode as a pure policy: which failures are retried, how many attempts,
//! and how long to wait (exponential backoff with full jitter).

use std::time::Duration;

/// At most this many attempts in all.
pub const MAX_ATTEMPTS: u32 = 3;
/// Backoff base and cap.
pub const BASE_DELAY: Duration = Duration::from_secs(1);
pub const MAX_DELAY: Duration = Duration::from_secs(20);

/// Error codes that mean "slow down" in any AWS service.
pub const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "EC2ThrottledException",
];

/// Error codes that are transient without being throttling.
pub const TRANSIENT_CODES: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
    "IDPCommunicationError",
];

/// HTTP statuses that are retried whatever the body says.
pub const TRANSIENT_STATUSES: &[u16] = &[500, 502, 503, 504];

/// What went wrong with one attempt, as far as the retry decision cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure<'a> {
    /// No response: connection refused or reset, DNS, TLS, or a timeout.
    Transport,
    /// A response with an HTTP status and, when the body could be read, an AWS error code.
    Http { status: u16, code: Option<&'a str> },
}

/// Whether a failure is worth another attempt. Never other 4xx: a wrong key, an expired token or a
/// refused MFA code does not get better by asking again.
pub fn is_retryable(f: Failure<'_>) -> bool {
    match f {
        Failure::Transport => true,
        Failure::Http { status, code } => {
            if let Some(c) = code {
                if THROTTLING_CODES.contains(&c) || TRANSIENT_CODES.contains(&c) {
                    return true;
                }
            }
            TRANSIENT_STATUSES.contains(&status) || (status == 429)
        }
    }
}

/// Whether a failure is throttling (reported differently to the user).
pub fn is_throttling(code: Option<&str>) -> bool {
    code.is_some_and(|c| THROTTLING_CODES.contains(&c))
}

/// The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed:
/// `random × min(base × 2^(attempt−1), cap)` with `random` in `[0, 1)` supplied by the caller.
pub fn backoff(attempt: u32, random: f64) -> Duration {
    let exp = BASE_DELAY
        .saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        )
        .min(MAX_DELAY);
    exp.mul_f64(random.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_only_throttling_and_server_errors() {
        assert!(is_retryable(Failure::Transport));
        for (status, code) in [
            (400, Some("Throttling")),
            (400, Some("RequestLimitExceeded")),
            (503, None),
            (500, Some("InternalFailure")),
            (504, None),
        ] {
            assert!(
                is_retryable(Failure::Http { status, code }),
                "{status} {code:?}"
            );
        }
        for (status, code) in [
            (403, Some("AccessDenied")),
            (403, Some("ExpiredToken")),
            (403, Some("InvalidClientTokenId")),
            (403, Some("SignatureDoesNotMatch")),
            (400, Some("ValidationError")),
            (400, None),
            (404, None),
        ] {
            assert!(
                !is_retryable(Failure::Http { status, code }),
                "{status} {code:?}"
            );
        }
    }

    #[test]
    fn full_jitter_backoff() {
        assert_eq!(backoff(1, 0.0), Duration::ZERO);
        assert_eq!(backoff(1, 0.5), Duration::from_millis(500));
        assert_eq!(backoff(2, 0.5), Duration::from_secs(1));
        assert_eq!(backoff(3, 1.0), Duration::from_secs(4));
        assert_eq!(backoff(10, 1.0), MAX_DELAY);
        assert_eq!(backoff(40, 1.0), MAX_DELAY);
    }
}
