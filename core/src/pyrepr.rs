//! The lengths, in code points, of Python's renderings of a parsed value.
//!
//! Token counts depend on `len(str(value))` and on
//! `len(json.dumps(value, ensure_ascii=False))`, so these must match CPython
//! 3.11 character for character. Only the lengths are ever needed, so nothing
//! is rendered except a float's digits.

use std::fmt::Write as _;

use crate::printable_table::NON_PRINTABLE;
use crate::pyjson::{Kind, Value};

/// Number of code points in a WTF-8 string (a lone surrogate is one).
#[inline]
pub fn chars(s: &[u8]) -> usize {
    // Every code point has exactly one byte that is not a continuation byte.
    s.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

/// Decodes WTF-8 into code points (lone surrogates included).
pub(crate) fn code_points(s: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let b = *s.get(i)?;
        let (len, init) = match b {
            0x00..=0x7f => (1, b as u32),
            0xc0..=0xdf => (2, (b & 0x1f) as u32),
            0xe0..=0xef => (3, (b & 0x0f) as u32),
            _ => (4, (b & 0x07) as u32),
        };
        let mut cp = init;
        for k in 1..len {
            cp = (cp << 6) | (s.get(i + k).copied().unwrap_or(0x80) & 0x3f) as u32;
        }
        i += len;
        Some(cp)
    })
}

/// Whether Python's `str.isprintable()` holds for this code point.
pub fn is_printable(cp: u32) -> bool {
    if (0x20..0x7f).contains(&cp) {
        return true;
    }
    NON_PRINTABLE
        .binary_search_by(|&(a, b)| {
            if b < cp {
                std::cmp::Ordering::Less
            } else if a > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_err()
}

/// `len(repr(s))` for a Python str.
pub fn str_repr_len(s: &[u8]) -> usize {
    let has_single = s.contains(&b'\'');
    let has_double = s.contains(&b'"');
    let quote = if has_single && !has_double { b'"' } else { b'\'' };
    let mut n = 2;
    if s.is_ascii() {
        for &b in s {
            n += match b {
                b'\\' | b'\t' | b'\n' | b'\r' => 2,
                _ if b == quote => 2,
                0x20..=0x7e => 1,
                _ => 4,
            };
        }
        return n;
    }
    for cp in code_points(s) {
        n += match cp {
            0x5c | 0x09 | 0x0a | 0x0d => 2,
            _ if cp == quote as u32 => 2,
            0x20..=0x7e => 1,
            0..=0x1f | 0x7f => 4,
            _ if is_printable(cp) => 1,
            0x80..=0xff => 4,
            0x100..=0xffff => 6,
            _ => 10,
        };
    }
    n
}

/// `len(json.dumps(s, ensure_ascii=False))` for a Python str.
pub fn str_json_len(s: &[u8]) -> usize {
    let mut n = 2 + chars(s);
    for &b in s {
        n += match b {
            b'"' | b'\\' | 0x08 | 0x0c | b'\n' | b'\r' | b'\t' => 1,
            0..=0x1f => 5,
            _ => 0,
        };
    }
    n
}

/// Python's `repr(float)`: shortest round-trip digits, fixed notation for
/// decimal exponents -4..16, otherwise `1e+16` style.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // Rust's `{:e}` prints the shortest round-trip digits: "1.2345e-5".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::with_capacity(24);
    out.push_str(sign);
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        if point <= 0 {
            out.push_str("0.");
            for _ in 0..-point {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let point = point as usize;
            if digits.len() <= point {
                out.push_str(&digits);
                for _ in digits.len()..point {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.unsigned_abs());
    }
    out
}

fn float_json_len(f: f64) -> usize {
    if f.is_nan() {
        3
    } else if f.is_infinite() {
        if f > 0.0 {
            8
        } else {
            9
        }
    } else {
        float_repr(f).len()
    }
}

fn int_len(i: i64) -> usize {
    let mut n = if i < 0 { 2 } else { 1 };
    let mut v = i.unsigned_abs();
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

/// `len(str(value))`: a string is itself, anything else its `repr`.
pub fn str_len(v: Value<'_>) -> usize {
    match v.kind() {
        Kind::Str(s) => chars(s),
        _ => repr_len(v),
    }
}

/// `len(repr(value))`.
pub fn repr_len(v: Value<'_>) -> usize {
    match v.kind() {
        Kind::Null => 4,
        Kind::Bool(b) => {
            if b {
                4
            } else {
                5
            }
        }
        Kind::Int(i) => int_len(i),
        Kind::BigInt(s) => s.len(),
        Kind::Float(f) => float_repr(f).len(),
        Kind::Str(s) => str_repr_len(s),
        Kind::List(n) => 2 + 2 * (n as usize).saturating_sub(1) + v.items().map(repr_len).sum::<usize>(),
        Kind::Dict(n) => {
            2 + 4 * (n as usize) - 2 * (n as usize).min(1)
                + v.entries().map(|(k, x)| str_repr_len(k) + repr_len(x)).sum::<usize>()
        }
    }
}

/// `len(json.dumps(value, ensure_ascii=False))`.
pub fn json_len(v: Value<'_>) -> usize {
    match v.kind() {
        Kind::Null => 4,
        Kind::Bool(b) => {
            if b {
                4
            } else {
                5
            }
        }
        Kind::Int(i) => int_len(i),
        Kind::BigInt(s) => s.len(),
        Kind::Float(f) => float_json_len(f),
        Kind::Str(s) => str_json_len(s),
        Kind::List(n) => 2 + 2 * (n as usize).saturating_sub(1) + v.items().map(json_len).sum::<usize>(),
        Kind::Dict(n) => {
            2 + 4 * (n as usize) - 2 * (n as usize).min(1)
                + v.entries().map(|(k, x)| str_json_len(k) + json_len(x)).sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyjson::Doc;

    #[test]
    fn float_repr_matches_python() {
        for (f, want) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (-0.0, "-0.0"),
            (100.0, "100.0"),
            (1.5e300, "1.5e+300"),
            (5e-324, "5e-324"),
            (19791.666666666668, "19791.666666666668"),
            (8e15, "8000000000000000.0"),
            (-1e-7, "-1e-07"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (f64::INFINITY, "inf"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(float_repr(f), want, "{f:e}");
        }
    }

    fn repr_of(json: &str) -> usize {
        repr_len(Doc::parse(json).expect("json").root())
    }

    fn json_of(json: &str) -> usize {
        json_len(Doc::parse(json).expect("json").root())
    }

    #[test]
    fn repr_lengths() {
        // {'k': 'v', 'n': [1, 2.5, None]}
        assert_eq!(repr_of(r#"{"k": "v", "n": [1, 2.5, null]}"#), 31);
        assert_eq!(repr_of("{}"), 2);
        assert_eq!(repr_of("[]"), 2);
        // "it's"
        assert_eq!(repr_of(r#""it's""#), 6);
        // 'say "hi" it\'s'
        assert_eq!(repr_of(r#""say \"hi\" it's""#), 16);
        // '\ud83d'
        assert_eq!(repr_of(r#""\ud83d""#), 8);
        // 'a\xa0b' (NBSP is not printable), 'a\u200bb'
        assert_eq!(repr_of(r#""a\u00a0b""#), 8);
        assert_eq!(repr_of(r#""a\u200bb""#), 10);
        assert_eq!(repr_of(r#""é😀""#), 4);
        assert_eq!(repr_of(r#""\u0000\u007f""#), 10);
        assert_eq!(repr_of("[true, false, 12345678901234567890, -3]"), 39);
    }

    #[test]
    fn json_lengths() {
        // {"x": 1e+16, "y": NaN, "z": -Infinity}
        assert_eq!(json_of(r#"{"x": 1e16, "y": NaN, "z": -Infinity}"#), 38);
        // "a\"\n\u0001é"
        assert_eq!(json_of(r#""a\"\n\u0001é""#), 14);
        assert_eq!(json_of(r#""\ud83d""#), 3);
    }

    #[test]
    fn printable_table_spot_checks() {
        assert!(is_printable('a' as u32));
        assert!(is_printable(0xe9));
        assert!(!is_printable(0xa0));
        assert!(!is_printable(0x200b));
        assert!(!is_printable(0xd83d));
        assert!(is_printable(0x1f600));
        assert!(!is_printable(0x10ffff));
    }
}
