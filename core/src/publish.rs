//! What a run may publish. A job replaces its previous output, so an input
//! that yields nothing useful (no item, mostly errors, every key twice, a
//! history without rows, far fewer rows than last time) must fail before it
//! overwrites good data. These are the checks, as pure functions of a run's
//! statistics; the host decides where the numbers come from.

use std::str::FromStr;

use crate::stats::Stats;

/// A tolerance: an absolute count, or a share of a total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// At most this many.
    Count(u64),
    /// At most this share, in millionths (`1%` is 10,000).
    PartsPerMillion(u64),
}

impl Budget {
    /// Whether `bad` out of `total` is within the budget.
    pub fn allows(self, bad: u64, total: u64) -> bool {
        match self {
            Budget::Count(n) => bad <= n,
            Budget::PartsPerMillion(ppm) => u128::from(bad) * 1_000_000 <= u128::from(ppm) * u128::from(total),
        }
    }
}

impl FromStr for Budget {
    type Err = String;

    /// `10` (a count) or `2%`, `0.5%` (a share, at most 100 %).
    fn from_str(s: &str) -> Result<Budget, String> {
        let bad = || format!("not a count or a percentage: {s:?} (such as 10 or 2%)");
        match s.strip_suffix('%') {
            Some(p) => {
                let (whole, frac) = p.split_once('.').unwrap_or((p, ""));
                let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
                if !digits(whole) || !(frac.is_empty() || digits(frac)) || frac.len() > 4 {
                    return Err(bad());
                }
                let whole: u64 = whole.parse().map_err(|_| bad())?;
                let frac: u64 = format!("{frac:0<4}").parse().map_err(|_| bad())?;
                let ppm = whole.checked_mul(10_000).and_then(|w| w.checked_add(frac)).ok_or_else(bad)?;
                if ppm > 1_000_000 {
                    return Err(format!("a share above 100%: {s:?}"));
                }
                Ok(Budget::PartsPerMillion(ppm))
            }
            None => s.parse().map(Budget::Count).map_err(|_| bad()),
        }
    }
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Budget::Count(n) => write!(f, "{n}"),
            Budget::PartsPerMillion(ppm) => {
                let frac = format!("{:04}", ppm % 10_000);
                let frac = frac.trim_end_matches('0');
                if frac.is_empty() {
                    write!(f, "{}%", ppm / 10_000)
                } else {
                    write!(f, "{}.{frac}%", ppm / 10_000)
                }
            }
        }
    }
}

/// The checks a run must pass to publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Entries (lines, items, history records) that could not be read.
    pub max_errors: Budget,
    /// Repeated (`pk`, `sk`) among the rows of one input (a table has none:
    /// a repeat means the input was read twice over).
    pub max_repeated_keys: Budget,
    /// Rows the output may lose against the previous output.
    pub max_shrink: Budget,
    /// Publish even when the input holds no item (or the history no row).
    pub allow_empty: bool,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            max_errors: Budget::PartsPerMillion(10_000),
            max_repeated_keys: Budget::Count(0),
            max_shrink: Budget::PartsPerMillion(100_000),
            allow_empty: false,
        }
    }
}

/// Why a run publishes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The input held no item at all.
    #[error("the input holds no item: nothing to publish (--allow-empty to publish an empty output)")]
    NoItems,
    /// Too many entries could not be read.
    #[error(
        "{errors} of {entries} entries of the input could not be read (more than --max-errors {budget}): \
         is it the right input?"
    )]
    TooManyErrors {
        /// Entries in error.
        errors: u64,
        /// Entries read.
        entries: u64,
        /// The budget.
        budget: Budget,
    },
    /// The same (`pk`, `sk`) came more than once.
    #[error(
        "{repeated} rows repeat a (pk, sk) of the same input (more than --max-repeated-keys {budget}): \
         the input was read more than once (a doubled export or dump?)"
    )]
    RepeatedKeys {
        /// Rows whose key was already seen.
        repeated: u64,
        /// The budget.
        budget: Budget,
    },
    /// The history gave no row.
    #[error(
        "the historical file {what}: consolidating would publish a file without history \
         (--allow-missing-historical to consolidate without it)"
    )]
    NoHistory {
        /// What was wrong (`has no rows`, `has only unreadable rows`).
        what: String,
    },
    /// Too many history records could not be read.
    #[error(
        "{errors} of {records} records of the historical file could not be read (more than --max-errors {budget})"
    )]
    HistoryErrors {
        /// Unreadable records.
        errors: u64,
        /// Records read.
        records: u64,
        /// The budget.
        budget: Budget,
    },
    /// The output would have far fewer rows than the previous one.
    #[error(
        "the new output would have {now} rows where the previous one has {previous} \
         (a loss of more than --max-shrink {budget}): nothing was published"
    )]
    Shrink {
        /// Rows of the previous output.
        previous: u64,
        /// Rows of the new one.
        now: u64,
        /// The budget.
        budget: Budget,
    },
}

/// The scan's own checks: items found, errors and repeated keys in budget.
pub fn check_scan(stats: &Stats, rules: &Rules) -> Result<(), Refusal> {
    let entries = stats.scanned.saturating_add(stats.unreadable_entries);
    if entries == 0 && !rules.allow_empty {
        return Err(Refusal::NoItems);
    }
    if !rules.max_errors.allows(stats.errors, entries) {
        return Err(Refusal::TooManyErrors { errors: stats.errors, entries, budget: rules.max_errors });
    }
    if !rules.max_repeated_keys.allows(stats.repeated_keys, stats.processed) {
        return Err(Refusal::RepeatedKeys { repeated: stats.repeated_keys, budget: rules.max_repeated_keys });
    }
    Ok(())
}

/// The history's checks: rows found, unreadable records in budget. `rows`
/// excludes the Lambdas' placeholder rows.
pub fn check_history(rows: u64, unreadable: u64, rules: &Rules) -> Result<(), Refusal> {
    let records = rows + unreadable;
    if !rules.max_errors.allows(unreadable, records) {
        if rows == 0 {
            return Err(Refusal::NoHistory { what: "has only unreadable rows".into() });
        }
        return Err(Refusal::HistoryErrors { errors: unreadable, records, budget: rules.max_errors });
    }
    if rows == 0 && !rules.allow_empty {
        return Err(Refusal::NoHistory { what: "has no rows".into() });
    }
    Ok(())
}

/// The output against the previous one: it may grow, or shrink within budget.
pub fn check_shrink(previous: u64, now: u64, rules: &Rules) -> Result<(), Refusal> {
    let lost = previous.saturating_sub(now);
    if rules.max_shrink.allows(lost, previous) {
        Ok(())
    } else {
        Err(Refusal::Shrink { previous, now, budget: rules.max_shrink })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse_and_print() {
        assert_eq!("10".parse::<Budget>(), Ok(Budget::Count(10)));
        assert_eq!("2%".parse::<Budget>(), Ok(Budget::PartsPerMillion(20_000)));
        assert_eq!("0.5%".parse::<Budget>(), Ok(Budget::PartsPerMillion(5_000)));
        assert_eq!("100%".parse::<Budget>(), Ok(Budget::PartsPerMillion(1_000_000)));
        for bad in ["", "%", "-1", "1.5", "101%", "1e2%", "2 %", "0.00001%"] {
            assert!(bad.parse::<Budget>().is_err(), "{bad}");
        }
        assert_eq!(Budget::PartsPerMillion(5_000).to_string(), "0.5%");
        assert_eq!(Budget::PartsPerMillion(20_000).to_string(), "2%");
    }

    #[test]
    fn budgets_allow_up_to_the_limit() {
        let one = Budget::PartsPerMillion(10_000);
        assert!(one.allows(1, 100) && !one.allows(2, 100) && one.allows(0, 0) && !one.allows(1, 0));
        assert!(Budget::Count(0).allows(0, 5) && !Budget::Count(0).allows(1, 5));
    }

    #[test]
    fn shrinking_is_bounded() {
        let rules = Rules::default();
        assert!(check_shrink(1000, 900, &rules).is_ok());
        let err = check_shrink(1000, 899, &rules).expect_err("shrinks");
        assert!(err.to_string().contains("899 rows where the previous one has 1000"), "{err}");
        assert!(check_shrink(0, 0, &rules).is_ok() && check_shrink(5, 50, &rules).is_ok());
    }

    #[test]
    fn histories_need_rows() {
        let rules = Rules::default();
        assert!(check_history(10, 0, &rules).is_ok());
        assert!(matches!(check_history(0, 0, &rules), Err(Refusal::NoHistory { .. })));
        assert!(matches!(check_history(0, 3, &rules), Err(Refusal::NoHistory { .. })));
        assert!(matches!(check_history(90, 10, &rules), Err(Refusal::HistoryErrors { .. })));
        assert!(check_history(0, 0, &Rules { allow_empty: true, ..rules }).is_ok());
    }
}
