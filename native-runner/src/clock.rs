//! The wall clock, read in one place: the core has none, so the runner hands
//! it the dates that depend on "now" (v2's end date, the schedule's runs).

use std::time::{SystemTime, UNIX_EPOCH};

use tally_core::dates::Day;

/// Seconds since the epoch, UTC (0 if the clock is before 1970).
pub fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The time since the epoch (zero if the clock is before 1970).
pub fn since_epoch() -> std::time::Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// The UTC day of an epoch-seconds time.
pub fn day_of(secs: i64) -> Day {
    Day(secs.div_euclid(86_400))
}

/// Today, UTC.
pub fn today_utc() -> Day {
    day_of(now_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc() {
        assert_eq!(day_of(1_764_590_399).to_string(), "2025-12-01");
        assert_eq!(day_of(1_764_633_599).to_string(), "2025-12-01");
        assert_eq!(day_of(1_764_633_600).to_string(), "2025-12-02");
        assert_eq!(day_of(-1).to_string(), "1969-12-31");
    }
}
