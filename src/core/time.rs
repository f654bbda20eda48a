//! UTC timestamps without a date crate: the few formats AWS uses (RFC 3339 / ISO 8601 with `Z`, the
//! SigV4 basic format, HTTP dates) converted to and from seconds since the Unix epoch.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since 1970-01-01T00:00:00Z. Sub-second precision is dropped on purpose: every AWS format we
/// emit has whole seconds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct UtcTime(pub i64);

/// The civil date and time of a [`UtcTime`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

// Howard Hinnant's days_from_civil / civil_from_days.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl UtcTime {
    /// The current time of the system clock.
    pub fn now() -> Self {
        Self::from_system(SystemTime::now())
    }

    pub fn from_system(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => UtcTime(d.as_secs() as i64),
            Err(e) => UtcTime(-(e.duration().as_secs() as i64)),
        }
    }

    pub fn to_system(self) -> SystemTime {
        if self.0 >= 0 {
            UNIX_EPOCH + Duration::from_secs(self.0 as u64)
        } else {
            UNIX_EPOCH - Duration::from_secs(self.0.unsigned_abs())
        }
    }

    pub fn from_civil(c: Civil) -> Option<Self> {
        if !(1..=12).contains(&c.month)
            || c.day == 0
            || c.day > days_in_month(c.year, c.month)
            || c.hour > 23
            || c.minute > 59
            || c.second > 60
        {
            return None;
        }
        let days = days_from_civil(c.year, c.month, c.day);
        Some(UtcTime(
            days * 86400 + c.hour as i64 * 3600 + c.minute as i64 * 60 + c.second as i64,
        ))
    }

    pub fn civil(self) -> Civil {
        let days = self.0.div_euclid(86400);
        let secs = self.0.rem_euclid(86400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (secs / 3600) as u32,
            minute: (secs % 3600 / 60) as u32,
            second: (secs % 60) as u32,
        }
    }

    /// `2026-01-02T03:04:05Z`: the form `credential_process`, IMDS and the container endpoint expect.
    pub fn rfc3339(self) -> String {
        let c = self.civil();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }

    /// `20260102T030405Z`: SigV4's `X-Amz-Date`.
    pub fn amz_date(self) -> String {
        let c = self.civil();
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }

    /// `20260102`: the date part of a SigV4 credential scope.
    pub fn amz_day(self) -> String {
        let c = self.civil();
        format!("{:04}{:02}{:02}", c.year, c.month, c.day)
    }

    /// Parses RFC 3339 / ISO 8601 as AWS writes it: `2026-01-02T03:04:05Z`, with optional fractional
    /// seconds (moto sends microseconds) and a `Z` or `±HH:MM` offset. Fractions are truncated.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let b = s.trim().as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = b.get(r)?;
            if !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(part).ok()?.parse().ok()
        };
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let civil = Civil {
            year: num(0..4)? as i64,
            month: num(5..7)?,
            day: num(8..10)?,
            hour: num(11..13)?,
            minute: num(14..16)?,
            second: num(17..19)?,
        };
        let mut i = 19;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return None;
            }
        }
        let offset = match b.get(i)? {
            b'Z' | b'z' if i + 1 == b.len() => 0,
            sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
                let h = num(i + 1..i + 3)? as i64;
                let m = num(i + 4..i + 6)? as i64;
                let o = h * 3600 + m * 60;
                if *sign == b'+' {
                    o
                } else {
                    -o
                }
            }
            _ => return None,
        };
        Some(UtcTime(Self::from_civil(civil)?.0 - offset))
    }

    /// `Mon, 02 Jan 2026 03:04:05 GMT`: the HTTP `Date` header.
    pub fn http_date(self) -> String {
        let c = self.civil();
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
            [self.0.div_euclid(86400).rem_euclid(7) as usize];
        format!(
            "{weekday}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
            c.day,
            MONTHS[(c.month - 1) as usize],
            c.year,
            c.hour,
            c.minute,
            c.second
        )
    }

    /// Parses an HTTP `Date` header in its preferred form (`Mon, 02 Jan 2026 03:04:05 GMT`).
    pub fn parse_http_date(s: &str) -> Option<Self> {
        let rest = s.trim().split_once(", ")?.1;
        let mut parts = rest.split(' ');
        let day: u32 = parts.next()?.parse().ok()?;
        let month_name = parts.next()?;
        let month = MONTHS.iter().position(|m| *m == month_name)? as u32 + 1;
        let year: i64 = parts.next()?.parse().ok()?;
        let mut hms = parts.next()?.split(':');
        let hour: u32 = hms.next()?.parse().ok()?;
        let minute: u32 = hms.next()?.parse().ok()?;
        let second: u32 = hms.next()?.parse().ok()?;
        if parts.next()? != "GMT" {
            return None;
        }
        Self::from_civil(Civil {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    /// Seconds from `self` until `later` (negative when `later` is earlier).
    pub fn seconds_until(self, later: UtcTime) -> i64 {
        later.0 - self.0
    }

    pub fn plus_seconds(self, secs: i64) -> UtcTime {
        UtcTime(self.0 + secs)
    }
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

/// Formats a number of seconds as a short human duration: `45s`, `12m`, `3h05m`, `2d4h`.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86400, s % 86400 / 3600),
    }
}

/// Parses a duration written by a person: `900`, `900s`, `15m`, `12h`, `1h30m`, `2d`. Plain numbers
/// are seconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<i64>() {
        return (n >= 0).then_some(n);
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let unit = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return None,
        };
        let n: i64 = digits.parse().ok()?;
        digits.clear();
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    digits.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc3339() {
        let t = UtcTime::parse_rfc3339("2015-08-30T12:36:00Z").unwrap();
        assert_eq!(t.0, 1440938160);
        assert_eq!(t.rfc3339(), "2015-08-30T12:36:00Z");
        assert_eq!(t.amz_date(), "20150830T123600Z");
        assert_eq!(t.amz_day(), "20150830");
    }

    #[test]
    fn parses_fractions_and_offsets() {
        let a = UtcTime::parse_rfc3339("2026-11-22T10:00:00.123456Z").unwrap();
        let b = UtcTime::parse_rfc3339("2026-11-22T11:30:00+01:30").unwrap();
        assert_eq!(a, b);
        assert!(UtcTime::parse_rfc3339("2026-02-30T00:00:00Z").is_none());
        assert!(UtcTime::parse_rfc3339("2026-11-22T10:00:00").is_none());
        assert!(UtcTime::parse_rfc3339("2026-11-22T10:00:00.Z").is_none());
    }

    #[test]
    fn http_dates() {
        let t = UtcTime::parse_rfc3339("1994-11-06T08:49:37Z").unwrap();
        assert_eq!(t.http_date(), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(UtcTime::parse_http_date(&t.http_date()), Some(t));
    }

    #[test]
    fn leap_years_and_negative_times() {
        for s in [
            "2000-02-29T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2100-03-01T00:00:00Z",
        ] {
            assert_eq!(UtcTime::parse_rfc3339(s).unwrap().rfc3339(), s);
        }
        assert!(UtcTime::parse_rfc3339("2100-02-29T00:00:00Z").is_none());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("900"), Some(900));
        assert_eq!(parse_duration("15m"), Some(900));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("12h"), Some(43200));
        assert_eq!(parse_duration("2x"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(human_duration(3900), "1h05m");
    }
}
