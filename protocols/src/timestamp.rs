//! Strict ISO 8601 timestamps as chat documents write them (`2024-01-01T12:00:00.000Z`), kept verbatim, with their instant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// An ISO 8601 timestamp as the document writes them (§2.2), kept verbatim.
///
/// Accepted: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1–9 digits after
/// `.`, then `Z` or an offset `+HH:MM` / `-HH:MM`, e.g.
/// `2024-01-01T12:00:00.000Z` or `2024-01-01T21:00:00+09:00`. Refused:
/// anything else, among it a missing zone, a lowercase `t` / `z`, a space for
/// `T`, basic-format offsets (`+0900`), leap seconds (`:60`), `24:00` and
/// days the month does not have.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Timestamp(String);

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    millis: u32,
    offset_minutes: i64,
}

fn digits(bytes: &[u8], from: usize, count: usize) -> Option<u32> {
    let slice = bytes.get(from..from + count)?;
    slice.iter().try_fold(0u32, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

fn parse_civil(s: &str) -> Option<Civil> {
    let b = s.as_bytes();
    let year = i64::from(digits(b, 0, 4)?);
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || b.get(10) != Some(&b'T')
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let count = i - start;
        if !(1..=9).contains(&count) {
            return None;
        }
        for k in 0..3 {
            millis *= 10;
            if k < count {
                millis += u32::from(b[start + k] - b'0');
            }
        }
    }
    let offset_minutes = match b.get(i) {
        Some(b'Z') if b.len() == i + 1 => 0,
        Some(sign @ (b'+' | b'-')) if b.len() == i + 6 => {
            let oh = digits(b, i + 1, 2)?;
            let om = digits(b, i + 4, 2)?;
            if b[i + 3] != b':' || oh > 23 || om > 59 {
                return None;
            }
            let total = i64::from(oh * 60 + om);
            if *sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };
    Some(Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        millis,
        offset_minutes,
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl Timestamp {
    /// The earliest instant [`Timestamp::from_unix_millis`] writes: 0000-01-01T00:00:00.000Z.
    pub const MIN_UNIX_MILLIS: i64 = -62_167_219_200_000;
    /// The latest instant [`Timestamp::from_unix_millis`] writes: 9999-12-31T23:59:59.999Z.
    pub const MAX_UNIX_MILLIS: i64 = 253_402_300_799_999;

    /// Reads a timestamp; `None` unless it is in the strict format above.
    pub fn parse(s: &str) -> Option<Timestamp> {
        parse_civil(s).map(|_| Timestamp(s.to_owned()))
    }

    /// Whether `s` is in the strict format above.
    pub fn is_valid(s: &str) -> bool {
        parse_civil(s).is_some()
    }

    /// The UTC timestamp of an instant given in milliseconds since the Unix
    /// epoch, written like the document: `2024-01-01T12:00:00.000Z`. The codec
    /// never reads the clock; callers pass their own `now`. Clamped to years 0–9999.
    pub fn from_unix_millis(millis: i64) -> Timestamp {
        let millis = millis.clamp(Self::MIN_UNIX_MILLIS, Self::MAX_UNIX_MILLIS);
        let days = millis.div_euclid(86_400_000);
        let rest = millis.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        Timestamp(format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            rest / 3_600_000,
            rest / 60_000 % 60,
            rest / 1000 % 60,
            rest % 1000
        ))
    }

    /// The instant in milliseconds since the Unix epoch (offset applied,
    /// fraction truncated to milliseconds).
    pub fn unix_millis(&self) -> i64 {
        let Some(c) = parse_civil(&self.0) else {
            return 0;
        };
        let days = days_from_civil(c.year, c.month, c.day);
        let secs = days * 86_400
            + i64::from(c.hour) * 3600
            + i64::from(c.minute) * 60
            + i64::from(c.second)
            - c.offset_minutes * 60;
        secs * 1000 + i64::from(c.millis)
    }

    /// The timestamp as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Timestamp {
    /// The Unix epoch, `1970-01-01T00:00:00.000Z`.
    fn default() -> Self {
        Timestamp::from_unix_millis(0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Timestamp {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Timestamp::parse(s).ok_or(())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Timestamp::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not an ISO 8601 timestamp: {s:?}")))
    }
}
