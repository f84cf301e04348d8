//! Decimal numbers written as text (`1764590400123.5`, `3e-06`, `1234.0`),
//! read exactly: no binary float ever sees a price or a timestamp.

use rust_decimal::Decimal;

use crate::decimal_table::{DIGIT_ZEROS, SPACES};

/// A decimal number as written: `±digits × 10^exp`, digits without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecText {
    pub(crate) negative: bool,
    /// Significant digits, no leading zeros ("" for zero).
    pub(crate) digits: String,
    /// Power of ten applied to `digits`.
    pub(crate) exp: i64,
}

impl DecText {
    /// Whether the value is zero.
    pub(crate) fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Whether the value is a whole number.
    pub(crate) fn is_integral(&self) -> bool {
        if self.is_zero() || self.exp >= 0 {
            return true;
        }
        let keep = self.digits.len() as i64 + self.exp;
        keep > 0 && self.digits[keep as usize..].bytes().all(|b| b == b'0')
    }

    /// The integer part (truncated toward zero), if it fits in i128.
    pub(crate) fn trunc_i128(&self) -> Option<i128> {
        let int_len = self.digits.len() as i64 + self.exp;
        if int_len <= 0 {
            return Some(0);
        }
        if int_len > 38 {
            return None;
        }
        let mut v: i128 = 0;
        for k in 0..int_len as usize {
            let d = self.digits.as_bytes().get(k).map_or(0, |b| b - b'0');
            v = v * 10 + d as i128;
        }
        Some(if self.negative { -v } else { v })
    }

    /// The value in millionths, rounded half to even, if it fits in i128.
    pub(crate) fn micros_half_even(&self) -> Option<i128> {
        let shifted = DecText { negative: self.negative, digits: self.digits.clone(), exp: self.exp + 6 };
        let whole = shifted.trunc_i128()?;
        // Digits dropped by the truncation decide the rounding.
        let int_len = shifted.digits.len() as i64 + shifted.exp;
        let dropped: &str = if int_len <= 0 {
            &shifted.digits
        } else if (int_len as usize) < shifted.digits.len() {
            &shifted.digits[int_len as usize..]
        } else {
            ""
        };
        let leading_zeros = if int_len < 0 { (-int_len) as usize } else { 0 };
        let cmp_half = if dropped.is_empty() || leading_zeros > 0 {
            std::cmp::Ordering::Less
        } else {
            let first = dropped.as_bytes()[0];
            let rest_nonzero = dropped.bytes().skip(1).any(|b| b != b'0');
            match first.cmp(&b'5') {
                std::cmp::Ordering::Equal if rest_nonzero => std::cmp::Ordering::Greater,
                other => other,
            }
        };
        let magnitude = whole.abs();
        let rounded = match cmp_half {
            std::cmp::Ordering::Greater => magnitude + 1,
            std::cmp::Ordering::Equal if magnitude % 2 == 1 => magnitude + 1,
            _ => magnitude,
        };
        Some(if self.negative { -rounded } else { rounded })
    }

    /// The value rounded half to even at 6 decimals, as a `Decimal`.
    pub(crate) fn round6(&self) -> Option<Decimal> {
        let micros = self.micros_half_even()?;
        decimal_from_micros(micros)
    }

    /// Canonical integer text (for integral values), bounded in length.
    pub(crate) fn integer_text(&self, max_digits: usize) -> Option<String> {
        if self.is_zero() {
            return Some("0".into());
        }
        let int_len = self.digits.len() as i64 + self.exp;
        if int_len <= 0 || int_len as usize > max_digits {
            return None;
        }
        let mut s = String::with_capacity(int_len as usize + 1);
        if self.negative {
            s.push('-');
        }
        for k in 0..int_len as usize {
            s.push(*self.digits.as_bytes().get(k).unwrap_or(&b'0') as char);
        }
        Some(s)
    }
}

/// A `Decimal` with scale 6 from millionths; `-0` becomes `0`.
pub(crate) fn decimal_from_micros(micros: i128) -> Option<Decimal> {
    if micros == 0 {
        return Some(Decimal::new(0, 6));
    }
    Decimal::try_from_i128_with_scale(micros, 6).ok()
}

/// Reads `[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?`, nothing else
/// (spec section 12: no spaces, no `NaN`).
pub(crate) fn parse(text: &str) -> Option<DecText> {
    let b = text.as_bytes();
    let mut i = 0;
    let negative = match b.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_part = &text[int_start..i];
    let mut frac_part = "";
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_part = &text[frac_start..i];
        if frac_part.is_empty() && int_part.is_empty() {
            return None;
        }
    }
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut exp: i64 = 0;
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let exp_negative = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            exp = exp.saturating_mul(10).saturating_add((b[i] - b'0') as i64);
            i += 1;
        }
        if i == exp_start {
            return None;
        }
        // Keep far from overflow in later arithmetic: such values are out of
        // every range we accept anyway.
        exp = exp.min(1 << 40);
        if exp_negative {
            exp = -exp;
        }
    }
    if i != b.len() {
        return None;
    }
    let mut digits = String::with_capacity(int_part.len() + frac_part.len());
    digits.push_str(int_part);
    digits.push_str(frac_part);
    let exp = exp - frac_part.len() as i64;
    let trimmed = digits.trim_start_matches('0');
    let digits = if trimmed.len() == digits.len() { digits } else { trimmed.to_string() };
    Some(DecText { negative, digits, exp })
}

/// The integer Python's `int()` reads in a `str` (spec section 2), or `None`
/// when `int()` raises or the value does not fit in an i128 (every such
/// value is outside the dates we accept anyway).
///
/// `int()` first turns each non-ASCII white-space character into a space and
/// each non-ASCII decimal digit into its ASCII digit, then reads optional
/// ASCII white space, an optional sign, ASCII digits with single `_` between
/// two of them, and optional white space.
pub(crate) fn python_int(text: &str) -> Option<i128> {
    let mut chars = text.chars().map(|c| match c as u32 {
        0..=0x7f => c,
        cp if SPACES.binary_search(&cp).is_ok() => ' ',
        cp => {
            let run = DIGIT_ZEROS.partition_point(|&zero| zero <= cp);
            match run.checked_sub(1).map(|k| cp - DIGIT_ZEROS[k]) {
                Some(d @ 0..=9) => char::from(b'0' + d as u8),
                _ => '\u{fffd}',
            }
        }
    });
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r');
    let mut c = chars.next();
    while c.is_some_and(is_space) {
        c = chars.next();
    }
    let negative = c == Some('-');
    if matches!(c, Some('-' | '+')) {
        c = chars.next();
    }
    let mut value: Option<i128> = Some(0);
    let mut digits = 0usize;
    let mut after_underscore = false;
    while let Some(ch) = c {
        match ch {
            '0'..='9' => {
                let d = i128::from(ch as u8 - b'0');
                value = value.and_then(|v| v.checked_mul(10)).and_then(|v| v.checked_add(d));
                digits += 1;
                after_underscore = false;
            }
            '_' if digits > 0 && !after_underscore => after_underscore = true,
            _ => break,
        }
        c = chars.next();
    }
    if digits == 0 || after_underscore {
        return None;
    }
    while c.is_some_and(is_space) {
        c = chars.next();
    }
    if c.is_some() {
        return None;
    }
    value.map(|v| if negative { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(s: &str) -> Option<i128> {
        parse(s).and_then(|d| d.micros_half_even())
    }

    #[test]
    fn grammar() {
        for ok in ["0", "12", "-1.5", "+.5", "1.", "1.e3", "1e3", "1E-3", "1764590400123.5", "0001"] {
            assert!(parse(ok).is_some(), "{ok}");
        }
        for bad in ["", "-", ".", ".e3", "e3", "1e", "1e+", " 1", "1 ", "NaN", "inf", "0x10", "1_000", "1,5"] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn rounding_half_even() {
        assert_eq!(micros("0.0000015"), Some(2));
        assert_eq!(micros("0.0000025"), Some(2));
        assert_eq!(micros("0.00000250001"), Some(3));
        assert_eq!(micros("0.0130805"), Some(13080));
        assert_eq!(micros("0.08887199999999999"), Some(88872));
        assert_eq!(micros("3e-06"), Some(3));
        assert_eq!(micros("1.8e-05"), Some(18));
        assert_eq!(micros("-0.0000004"), Some(0));
        assert_eq!(micros("1e-30"), Some(0));
        assert_eq!(micros("0.0000005"), Some(0));
        assert_eq!(micros("0.00000050000001"), Some(1));
        assert_eq!(micros("1e40"), None);
    }

    #[test]
    fn integral_and_truncation() {
        let d = parse("1764590400123.9").expect("number");
        assert_eq!(d.trunc_i128(), Some(1764590400123));
        assert!(!d.is_integral());
        assert!(parse("1234.0").expect("number").is_integral());
        assert!(parse("1E2").expect("number").is_integral());
        assert!(parse("0.000").expect("number").is_zero());
        assert_eq!(parse("-1.9").and_then(|d| d.trunc_i128()), Some(-1));
        assert_eq!(parse("1e16").and_then(|d| d.integer_text(40)), Some("10000000000000000".into()));
    }

    #[test]
    fn python_int_reads_what_int_reads() {
        let cases: &[(&str, Option<i128>)] = &[
            ("1764590400000", Some(1_764_590_400_000)),
            (" 1764590400000", Some(1_764_590_400_000)),
            ("\t-12 \n", Some(-12)),
            ("+7", Some(7)),
            ("0", Some(0)),
            ("0007", Some(7)),
            ("1_764_590_400_000", Some(1_764_590_400_000)),
            ("\u{3000}\u{661}\u{662}", Some(12)),
            ("\u{ff11}\u{ff12}", Some(12)),
            ("1\u{85}", Some(1)),
            ("\u{1d7ce}", Some(0)),
            ("1__2", None),
            ("_1", None),
            ("1_", None),
            ("+_1", None),
            ("- 1", None),
            ("\x1c1", None),
            ("1772403923450.25", None),
            ("1.7e12", None),
            ("NaN", None),
            ("1,735", None),
            ("0x10", None),
            ("", None),
            ("  ", None),
            ("\u{ff0b}1", None),
            ("\u{b2}", None),
            ("1\u{0}", None),
            (&"9".repeat(60), None),
        ];
        for (text, want) in cases {
            assert_eq!(python_int(text), *want, "{text:?}");
        }
    }
}
