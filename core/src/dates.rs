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
/// The first millisecond the Lambdas can date: 0001-01-02 00:00:00.000
/// (Python's `fromtimestamp` probes one day back).
const MIN_COMPAT_MS: i128 = (MIN_SECS as i128 + 86_400) * 1000;
/// The last millisecond of year 9999.
const MAX_MS: i128 = MAX_SECS as i128 * 1000 + 999;

/// How an estimator reads `CreateTime` (spec section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateReading {
    /// v1, v2: the Lambdas' `if create_time: int(create_time)`.
    PythonInt,
    /// `full`: an N, or an S holding a decimal number, truncated toward zero.
    Decimal,
}

/// The last millisecond of the end day that a date range keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndBound {
    /// `23:59:59.000`: the archival Lambda (v1) compares with a whole second.
    WholeSecond,
    /// `23:59:59.999`: v2 and `full`.
    LastMillisecond,
}

/// What an item's `CreateTime` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateTime {
    /// No date (missing, `NULL`, zero, ...): empty `create_date`, never filtered out.
    NoDate,
    /// Not a date the rules can read (or out of range): empty `create_date`,
    /// never filtered out, counted.
    Invalid,
    /// Epoch milliseconds, truncated toward zero.
    Millis(i64),
}

impl CreateTime {
    /// Reads the attribute as the estimator's rules say.
    pub fn read(attr: Option<&Attr>, reading: DateReading) -> CreateTime {
        match reading {
            DateReading::PythonInt => Self::python_int(attr),
            DateReading::Decimal => Self::decimal(attr),
        }
    }

    /// `if create_time: int(create_time)` on the value boto3 gives, then
    /// `datetime.fromtimestamp`'s range.
    fn python_int(attr: Option<&Attr>) -> CreateTime {
        let ms = match attr {
            None | Some(Attr::Null | Attr::Bool(false)) => return CreateTime::NoDate,
            Some(Attr::Bool(true)) => 1,
            Some(Attr::S(t)) if t.is_empty() => return CreateTime::NoDate,
            Some(Attr::S(t)) => match numtext::python_int(t) {
                Some(ms) => ms,
                None => return CreateTime::Invalid,
            },
            Some(Attr::N(t)) => match numtext::parse(t) {
                Some(num) if num.is_zero() => return CreateTime::NoDate,
                Some(num) => match num.trunc_i128() {
                    Some(ms) => ms,
                    None => return CreateTime::Invalid,
                },
                None => return CreateTime::Invalid,
            },
            Some(Attr::L(v)) if v.is_empty() => return CreateTime::NoDate,
            Some(Attr::M(v)) if v.is_empty() => return CreateTime::NoDate,
            Some(Attr::SS(v) | Attr::NS(v) | Attr::BS(v)) if v.is_empty() => return CreateTime::NoDate,
            Some(Attr::L(_) | Attr::M(_) | Attr::SS(_) | Attr::NS(_) | Attr::BS(_) | Attr::B(_)) => {
                return CreateTime::Invalid
            }
        };
        Self::in_range(ms, MIN_COMPAT_MS)
    }

    /// `full`: a decimal number (N, or S holding one), truncated; zero is no date.
    fn decimal(attr: Option<&Attr>) -> CreateTime {
        let text = match attr {
            None | Some(Attr::Null) => return CreateTime::NoDate,
            Some(Attr::N(t) | Attr::S(t)) => t,
            Some(_) => return CreateTime::Invalid,
        };
        match numtext::parse(text) {
            None => CreateTime::Invalid,
            Some(num) if num.is_zero() => CreateTime::NoDate,
            Some(num) => num.trunc_i128().map_or(CreateTime::Invalid, |ms| Self::in_range(ms, MIN_SECS as i128 * 1000)),
        }
    }

    fn in_range(ms: i128, min: i128) -> CreateTime {
        if (min..=MAX_MS).contains(&ms) {
            CreateTime::Millis(ms as i64)
        } else {
            CreateTime::Invalid
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
    /// Whether a timestamp (ms) falls inside: `start 00:00:00.000 <= ts <=`
    /// the end day's bound (`23:59:59.000` or `23:59:59.999`).
    pub fn contains_ms(&self, ms: i64, bound: EndBound) -> bool {
        if ms < self.start.0 * 86_400_000 {
            return false;
        }
        let last = match bound {
            EndBound::WholeSecond => 86_399_000,
            EndBound::LastMillisecond => 86_399_999,
        };
        match self.end {
            Some(end) => ms <= end.0 * 86_400_000 + last,
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
        Day::parse_bytes(text.as_bytes())
    }

    /// [`Day::parse`] of bytes.
    pub fn parse_bytes(b: &[u8]) -> Option<Day> {
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
    parse_datetime_bytes(text.as_bytes())
}

/// [`parse_datetime`] of bytes.
pub fn parse_datetime_bytes(b: &[u8]) -> Option<i64> {
    if b.len() != 19 || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let day = Day::parse_bytes(&b[..10])?;
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

    fn compat(attr: Attr) -> CreateTime {
        CreateTime::read(Some(&attr), DateReading::PythonInt)
    }

    fn ct(n: &str) -> CreateTime {
        CreateTime::read(Some(&Attr::N(n.into())), DateReading::Decimal)
    }

    #[test]
    fn full_reads_a_decimal_number() {
        assert_eq!(ct("1764590400000"), CreateTime::Millis(1_764_590_400_000));
        assert_eq!(ct("1764590400999.9"), CreateTime::Millis(1_764_590_400_999));
        assert_eq!(ct("0"), CreateTime::NoDate);
        assert_eq!(ct("0.000"), CreateTime::NoDate);
        assert_eq!(ct("0.4"), CreateTime::Millis(0));
        assert_eq!(ct("1.7645904e12"), CreateTime::Millis(1_764_590_400_000));
        assert_eq!(ct("abc"), CreateTime::Invalid);
        assert_eq!(ct(" 1"), CreateTime::Invalid);
        assert_eq!(ct("1e300"), CreateTime::Invalid);
        assert_eq!(ct("-1500"), CreateTime::Millis(-1500));
        assert_eq!(ct("-62135596800000"), CreateTime::Millis(-62_135_596_800_000));
        let full = |a: Option<&Attr>| CreateTime::read(a, DateReading::Decimal);
        assert_eq!(full(None), CreateTime::NoDate);
        assert_eq!(full(Some(&Attr::Null)), CreateTime::NoDate);
        assert_eq!(full(Some(&Attr::Bool(true))), CreateTime::Invalid);
        assert_eq!(full(Some(&Attr::S(String::new()))), CreateTime::Invalid);
        assert_eq!(full(Some(&Attr::S("1772403923450.25".into()))), CreateTime::Millis(1_772_403_923_450));
    }

    #[test]
    fn compat_reads_as_python_int() {
        let s = |t: &str| compat(Attr::S(t.into()));
        assert_eq!(s("1772403923450.25"), CreateTime::Invalid);
        assert_eq!(s(" 1764590400000"), CreateTime::Millis(1_764_590_400_000));
        assert_eq!(s("1_764_590_400_000"), CreateTime::Millis(1_764_590_400_000));
        assert_eq!(s("0"), CreateTime::Millis(0));
        assert_eq!(s(""), CreateTime::NoDate);
        assert_eq!(compat(Attr::N("0.5".into())), CreateTime::Millis(0));
        assert_eq!(compat(Attr::N("-0.0".into())), CreateTime::NoDate);
        assert_eq!(compat(Attr::N("1E+25".into())), CreateTime::Invalid);
        assert_eq!(compat(Attr::Bool(true)), CreateTime::Millis(1));
        assert_eq!(compat(Attr::Bool(false)), CreateTime::NoDate);
        assert_eq!(compat(Attr::L(vec![])), CreateTime::NoDate);
        assert_eq!(compat(Attr::L(vec![Attr::N("1".into())])), CreateTime::Invalid);
        assert_eq!(compat(Attr::M(vec![])), CreateTime::NoDate);
        assert_eq!(compat(Attr::M(vec![("a".into(), Attr::N("1".into()))])), CreateTime::Invalid);
        for set in [Attr::SS, Attr::NS, Attr::BS] {
            assert_eq!(compat(set(vec![])), CreateTime::NoDate);
            assert_eq!(compat(set(vec!["1".into()])), CreateTime::Invalid);
        }
        assert_eq!(compat(Attr::B(String::new())), CreateTime::Invalid);
        // 0001-01-01 cannot be dated by the Lambdas; 0001-01-02 can.
        assert_eq!(compat(Attr::N("-62135596800000".into())), CreateTime::Invalid);
        assert_eq!(compat(Attr::N("-62135510400000".into())), CreateTime::Millis(-62_135_510_400_000));
        assert_eq!(compat(Attr::N("253402300799999".into())), CreateTime::Millis(253_402_300_799_999));
        assert_eq!(compat(Attr::N("253402300800000".into())), CreateTime::Invalid);
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
        for bad in [
            "2025-02-29 00:00:00",
            "03/12/2025 10:00",
            "2025-12-01T12:00:00",
            "2025-12-01 24:00:00",
            "2025-12-01 12-00:00",
            "2025-12-01 12:00-00",
            "2025-12-01 12:60:00",
            "2025-12-01 12:00:60",
            "2025-12-01 12:00:00 ",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn civil_days_round_trip_over_every_day_of_years_1_to_9999() {
        // Anchors computed with Python's datetime (proleptic Gregorian), in
        // every century shape: leap centuries, non-leap ones, before 1970.
        let anchors = [
            ((1, 1, 1), -719_162),
            ((1600, 2, 29), -135_081),
            ((1899, 12, 31), -25_568),
            ((1900, 3, 1), -25_508),
            ((1969, 12, 31), -1),
            ((1970, 1, 1), 0),
            ((2000, 2, 29), 11_016),
            ((2100, 3, 1), 47_541),
            ((2400, 2, 29), 157_113),
            ((9999, 12, 31), 2_932_896),
        ];
        for ((y, m, d), days) in anchors {
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
            assert_eq!(civil_from_days(days), (y, m, d), "{days}");
        }
        let mut expected = (1, 1, 1);
        for z in -719_162..=2_932_896 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!((y, m, d), expected, "day {z}");
            assert_eq!(days_from_civil(y, m, d), z);
            expected = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
        assert!(is_leap(2000) && is_leap(2024) && !is_leap(1900) && !is_leap(2023) && is_leap(1600) && !is_leap(2100));
        let lengths: Vec<i64> = (1..=12).map(|m| days_in_month(2023, m)).collect();
        assert_eq!(lengths, [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]);
    }

    #[test]
    fn days_are_read_strictly() {
        assert_eq!(Day::parse("2024-02-29").map(|d| d.to_string()).as_deref(), Some("2024-02-29"));
        assert_eq!(Day::parse("1970-01-02"), Some(Day(1)));
        for bad in [
            "2024x01-01",
            "2024-01x01",
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-01-00",
            "2024-01-32",
            "0000-01-01",
            "2024/01/01",
            "2024-01-1",
            "2024-01-011",
            "20240101xx",
            "2024-1a-01",
            "2024-01-3x",
            "x024-01-01",
        ] {
            assert_eq!(Day::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn range_is_inclusive_by_day() {
        let r = DateRange { start: Day::parse("2024-01-01").expect("day"), end: Day::parse("2025-12-31") };
        let start = 1_704_067_200_000;
        for bound in [EndBound::WholeSecond, EndBound::LastMillisecond] {
            assert!(r.contains_ms(start, bound));
            assert!(!r.contains_ms(start - 1, bound));
        }
        let next = 1_767_225_600_000;
        assert!(r.contains_ms(next - 1, EndBound::LastMillisecond));
        assert!(!r.contains_ms(next, EndBound::LastMillisecond));
        assert!(r.contains_ms(next - 1000, EndBound::WholeSecond));
        assert!(!r.contains_ms(next - 999, EndBound::WholeSecond));
        let open = DateRange { start: r.start, end: None };
        assert!(open.contains_ms(i64::MAX, EndBound::WholeSecond));
    }
}
