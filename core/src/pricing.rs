//! Prices: USD per 1,000 tokens as exact decimals, rounded half to even at
//! 6 decimals (`ACCOUNTING.md` section 8). No binary float touches money.

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::estimate::Tokens;

/// Per-1K input and output prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prices {
    /// USD per 1,000 input tokens.
    pub input_per_1k: Decimal,
    /// USD per 1,000 output tokens.
    pub output_per_1k: Decimal,
}

impl Default for Prices {
    /// Claude 3.5 Sonnet on Bedrock, the seed's default: 0.003 / 0.015.
    fn default() -> Self {
        Prices { input_per_1k: Decimal::new(3, 3), output_per_1k: Decimal::new(15, 3) }
    }
}

/// A price that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// Not a decimal number.
    #[error("not a decimal price: {0:?}")]
    NotDecimal(String),
    /// Below zero.
    #[error("negative price: {0}")]
    Negative(String),
    /// A cost beyond what a decimal can hold.
    #[error("cost overflow: {tokens} tokens at {per_1k} per 1K")]
    Overflow {
        /// The token count.
        tokens: u64,
        /// The price.
        per_1k: Decimal,
    },
}

/// Reads a per-1K price (`0.003`, `3e-3`).
pub fn parse_price(text: &str) -> Result<Decimal, PriceError> {
    let d = Decimal::from_str_exact(text.trim())
        .or_else(|_| Decimal::from_scientific(text.trim()))
        .map_err(|_| PriceError::NotDecimal(text.into()))?;
    if d.is_sign_negative() && !d.is_zero() {
        return Err(PriceError::Negative(text.into()));
    }
    Ok(d.normalize())
}

/// Rounds half to even at 6 decimals; `-0` becomes `0`.
pub fn round6(d: Decimal) -> Decimal {
    let r = d.round_dp_with_strategy(6, RoundingStrategy::MidpointNearestEven);
    let mut r = if r.is_zero() { Decimal::ZERO } else { r };
    r.rescale(6);
    r
}

/// `round6(tokens * per_1k / 1000)`.
pub fn cost(tokens: u64, per_1k: Decimal) -> Result<Decimal, PriceError> {
    Decimal::from(tokens)
        .checked_mul(per_1k)
        .and_then(|d| d.checked_div(Decimal::ONE_THOUSAND))
        .map(round6)
        .ok_or(PriceError::Overflow { tokens, per_1k })
}

/// The three price columns of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowPrices {
    /// `precio_token_input`.
    pub input: Decimal,
    /// `precio_token_output`.
    pub output: Decimal,
    /// `total_price`.
    pub total: Decimal,
}

impl Prices {
    /// Prices a token pair.
    pub fn price(&self, tokens: Tokens) -> Result<RowPrices, PriceError> {
        let input = cost(tokens.input, self.input_per_1k)?;
        let output = cost(tokens.output, self.output_per_1k)?;
        Ok(RowPrices { input, output, total: round6(input + output) })
    }

    /// Both prices times `factor` (0.5 for batch inference); `None` when a
    /// product does not fit a decimal.
    pub fn scaled(&self, factor: Decimal) -> Option<Prices> {
        Some(Prices {
            input_per_1k: self.input_per_1k.checked_mul(factor)?,
            output_per_1k: self.output_per_1k.checked_mul(factor)?,
        })
    }
}

impl FromStr for Prices {
    type Err = PriceError;
    /// `INPUT/OUTPUT`, e.g. `0.003/0.015`.
    fn from_str(s: &str) -> Result<Self, PriceError> {
        let (i, o) = s.split_once('/').ok_or_else(|| PriceError::NotDecimal(s.into()))?;
        Ok(Prices { input_per_1k: parse_price(i)?, output_per_1k: parse_price(o)? })
    }
}

/// Writes a money value with exactly 6 decimals, never in exponent form.
pub fn format6(d: Decimal) -> String {
    format!("{:.6}", round6(d))
}

/// Whether an exact quotient `q` with remainder `r` of a division by `d`
/// (all magnitudes) rounds up, half to even: the one rounding rule of every
/// division on the money path.
#[inline]
pub fn rounds_up(q: u128, r: u128, d: u128) -> bool {
    match (2 * r).cmp(&d) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Equal => q % 2 == 1,
        std::cmp::Ordering::Less => false,
    }
}

/// `num / den` rounded half to even, for either sign (0 when `den` is 0).
pub fn div_half_even(num: i128, den: i128) -> i128 {
    if den == 0 {
        return 0;
    }
    let (n, d) = (num.unsigned_abs(), den.unsigned_abs());
    let (q, r) = (n / d, n % d);
    let q = (q + u128::from(rounds_up(q, r, d))) as i128;
    if (num < 0) != (den < 0) {
        -q
    } else {
        q
    }
}

/// Millionths of a dollar as money text: `12.345678`, `-0.000001` (a zero is
/// never `-0.000000`).
pub fn micros_text(m: i128) -> String {
    let sign = if m < 0 { "-" } else { "" };
    let a = m.unsigned_abs();
    format!("{sign}{}.{:06}", a / 1_000_000, a % 1_000_000)
}

/// `num / den` with 2 decimals, half to even (`-0.50`; a small negative that
/// rounds to zero is `0.00`).
pub fn fixed2(num: i128, den: i128) -> String {
    let hundredths = div_half_even(num.saturating_mul(100), den);
    let sign = if hundredths < 0 { "-" } else { "" };
    let a = hundredths.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        parse_price(s).expect("price")
    }

    #[test]
    fn half_even_at_six_decimals() {
        assert_eq!(cost(6, dec("0.00025")).map(format6), Ok("0.000002".into()));
        assert_eq!(cost(2, dec("0.00125")).map(format6), Ok("0.000002".into()));
        assert_eq!(cost(1234, dec("0.003")).map(format6), Ok("0.003702".into()));
        assert_eq!(cost(5678, dec("0.015")).map(format6), Ok("0.085170".into()));
        assert_eq!(format6(dec("0")), "0.000000");
        assert_eq!(format6(Decimal::new(-4, 7)), "0.000000");
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(cost(u64::MAX, dec("1000000000000")).is_err());
    }

    #[test]
    fn rejects_bad_prices() {
        assert!(parse_price("abc").is_err());
        assert!(parse_price("-0.1").is_err());
        assert_eq!(parse_price("3e-3"), Ok(dec("0.003")));
        assert!("0.003/0.015".parse::<Prices>().is_ok_and(|p| p == Prices::default()));
    }

    #[test]
    fn batch_scaling_and_the_flag_form() {
        let p = Prices { input_per_1k: dec("0.003"), output_per_1k: dec("0.015") }.scaled(dec("0.5")).expect("fits");
        assert_eq!((p.input_per_1k, p.output_per_1k), (dec("0.0015"), dec("0.0075")));
        assert_eq!(Prices { input_per_1k: Decimal::MAX, ..Prices::default() }.scaled(dec("2")), None);
        let p: Prices = "0.0008/0.004".parse().expect("prices");
        assert_eq!((p.input_per_1k, p.output_per_1k), (dec("0.0008"), dec("0.004")));
        assert!("0.003".parse::<Prices>().is_err());
        assert!("x/0.004".parse::<Prices>().is_err());
        assert!("0.003/-1".parse::<Prices>().is_err());
    }

    #[test]
    fn one_rounding_rule() {
        assert_eq!(div_half_even(5, 2), 2);
        assert_eq!(div_half_even(7, 2), 4);
        assert_eq!(div_half_even(-5, 2), -2);
        assert_eq!(div_half_even(-7, 2), -4);
        assert_eq!(div_half_even(5, -2), -2);
        assert_eq!(div_half_even(2, 3), 1);
        assert_eq!(div_half_even(1, 3), 0);
        assert_eq!(div_half_even(9, 0), 0);
        assert_eq!(fixed2(56590, 589), "96.08");
        assert_eq!(fixed2(1, 8), "0.12");
        assert_eq!(fixed2(3, 8), "0.38");
        assert_eq!(fixed2(-51, 10_000), "-0.01");
        assert_eq!(fixed2(-1, 200), "0.00");
        assert_eq!(micros_text(-1), "-0.000001");
        assert_eq!(micros_text(0), "0.000000");
        assert_eq!(micros_text(12_345_678), "12.345678");
    }
}
