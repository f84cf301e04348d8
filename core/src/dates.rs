//! Dates: `CreateTime` to `create_date`, the job's date filter, and the
//! `YYYY-MM-DD HH:MM:SS` text of the CSV.
//!
//! All in UTC, with proleptic Gregorian arithmetic on days since 1970-01-01;
//! no clock is read.

use crate::item::Attr;
use crate::numtext;

/// Seconds of 0001-01-01 00:00:00 and 9999-12-31 23:59:59.
const MIN_SECS: i64 = -62_135_596_800;
const MAX_SECS: i64 = 253_402_300_799;

/// What an item's `CreateTime` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateTime {
    /// Missing or `NULL`: empty date, not filtered.
    Missing,
    /// The value 0: empty date, not filtered.
    Zero,
    /// Not a number (or outside years 1..9999): empty date, not filtered, counted.
    Invalid,
    /// Epoch milliseconds, truncated toward zero.
    Millis(i64),
}

impl CreateTime {
    /// Reads the attribute (N, or S holding a number).
    pub fn from_attr(attr: Option<&Attr>) -> CreateTime {
        let text = match attr {
            None | Some(Attr::Null) => return CreateTime::Missing,
            Some(Attr::N(t) | Attr::S(t)) => t,
            Some(_) => return CreateTime::Invalid,
        };
        let Some(num) = numtext::parse(text, false) else {
            return CreateTime::Invalid;
        };
        if num.is_zero() {
            return CreateTime::Zero;
        }
        match num.trunc_i128() {
            Some(ms) if (MIN_SECS as i128 * 1000..(MAX_SECS as i128 + 1) * 1000).contains(&ms) => {
                CreateTime::Millis(ms as i64)
            }
            _ => CreateTime::Invalid,
        }
    }

    /// The `create_date` seconds, if there is one.
    pub fn seconds(self) -> Option<i64> {
        match self {
            CreateTime::Millis(ms) => Some(ms.div_euclid(1000)),
            _ => None,
        }
    }
}

/// An inclusive range of UTC days; no end means no upper bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    /// First day, as days since 1970-01-01.
    pub start: Day,
    /// Last day (inclusive), if any.
    pub end: Option<Day>,
}

impl DateRange {
    /// Whether a timestamp (ms) falls inside: `start 00:00:00.000 <= ts <= end 23:59:59.999`.
    pub fn contains_ms(&self, ms: i64) -> bool {
        let lo = self.start.0 * 86_400_000;
        if ms < lo {
            return false;
        }
        match self.end {
            Some(end) => ms <= end.0 * 86_400_000 + 86_399_999,
            None => true,
        }
    }
}

/// A UTC calendar day, as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i64);

impl Day {
    /// Reads `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Day> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let y = digits(&b[0..4])?;
        let m = digits(&b[5..7])?;
        let d = digits(&b[8..10])?;
        if y == 0 || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        Some(Day(days_from_civil(y, m, d)))
    }

    /// The (year, month, day).
    pub fn ymd(self) -> (i64, i64, i64) {
        civil_from_days(self.0)
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as i64;
    }
    Some(v)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

/// Writes `YYYY-MM-DD HH:MM:SS` for epoch seconds into `out`.
pub fn write_datetime(secs: i64, out: &mut String) {
    let day = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(day);
    let parts = [(y, 4), (m, 2), (d, 2), (sod / 3600, 2), (sod / 60 % 60, 2), (sod % 60, 2)];
    for (k, (v, width)) in parts.into_iter().enumerate() {
        if k > 0 {
            out.push(match k {
                1 | 2 => '-',
                3 => ' ',
                _ => ':',
            });
        }
        let mut buf = [b'0'; 4];
        let mut v = v;
        for slot in buf[..width].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out.push_str(std::str::from_utf8(&buf[..width]).unwrap_or("0"));
    }
}

/// `YYYY-MM-DD HH:MM:SS` for epoch seconds.
pub fn format_datetime(secs: i64) -> String {
    let mut s = String::with_capacity(19);
    write_datetime(secs, &mut s);
    s
}

/// Reads `YYYY-MM-DD HH:MM:SS` (years 1..9999) into epoch seconds.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 19 || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let day = Day::parse(&text[..10])?;
    let h = digits(&b[11..13])?;
    let mi = digits(&b[14..16])?;
    let s = digits(&b[17..19])?;
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some(day.0 * 86_400 + h * 3600 + mi * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(n: &str) -> CreateTime {
        CreateTime::from_attr(Some(&Attr::N(n.into())))
    }

    #[test]
    fn create_time_forms() {
        assert_eq!(ct("1764590400000"), CreateTime::Millis(1_764_590_400_000));
        assert_eq!(ct("1764590400999.9"), CreateTime::Millis(1_764_590_400_999));
        assert_eq!(ct("0"), CreateTime::Zero);
        assert_eq!(ct("0.000"), CreateTime::Zero);
        assert_eq!(ct("0.4"), CreateTime::Millis(0));
        assert_eq!(ct("1.7645904e12"), CreateTime::Millis(1_764_590_400_000));
        assert_eq!(ct("abc"), CreateTime::Invalid);
        assert_eq!(ct(" 1"), CreateTime::Invalid);
        assert_eq!(ct("1e300"), CreateTime::Invalid);
        assert_eq!(ct("-1500"), CreateTime::Millis(-1500));
        assert_eq!(CreateTime::from_attr(None), CreateTime::Missing);
        assert_eq!(CreateTime::from_attr(Some(&Attr::Null)), CreateTime::Missing);
        assert_eq!(CreateTime::from_attr(Some(&Attr::Bool(true))), CreateTime::Invalid);
        assert_eq!(CreateTime::from_attr(Some(&Attr::S("1764590400000".into()))), ct("1764590400000"));
    }

    #[test]
    fn formats_and_parses() {
        assert_eq!(format_datetime(1_764_590_400), "2025-12-01 12:00:00");
        assert_eq!(format_datetime(-2), "1969-12-31 23:59:58");
        assert_eq!(format_datetime(MIN_SECS), "0001-01-01 00:00:00");
        assert_eq!(format_datetime(MAX_SECS), "9999-12-31 23:59:59");
        assert_eq!(ct("-1500").seconds(), Some(-2));
        for s in ["2025-12-01 12:00:00", "2024-02-29 23:59:59", "0001-01-01 00:00:00"] {
            assert_eq!(parse_datetime(s).map(format_datetime).as_deref(), Some(s));
        }
        for bad in ["2025-02-29 00:00:00", "03/12/2025 10:00", "2025-12-01T12:00:00", "2025-12-01 24:00:00"] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn range_is_inclusive_by_day() {
        let r = DateRange { start: Day::parse("2024-01-01").expect("day"), end: Day::parse("2025-12-31") };
        let start = 1_704_067_200_000;
        assert!(r.contains_ms(start));
        assert!(!r.contains_ms(start - 1));
        let next = 1_767_225_600_000;
        assert!(r.contains_ms(next - 1));
        assert!(!r.contains_ms(next));
        let open = DateRange { start: r.start, end: None };
        assert!(open.contains_ms(i64::MAX));
    }
}
