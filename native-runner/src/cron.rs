//! EventBridge schedule expressions, in UTC: `cron(Minutes Hours
//! Day-of-month Month Day-of-week Year)` with `*`, `?`, lists, ranges,
//! steps, month and day names, `L`, `W` and `#`, and `rate(N unit)`.

use tally_core::dates::{civil_from_days, days_from_civil};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// `cron(...)`.
    Cron(Box<Cron>),
    /// `rate(N minutes|hours|days)`: every N, counted from the start.
    Rate(i64),
}

/// The fields of a cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    dom: DayOfMonth,
    months: Vec<bool>,
    dow: DayOfWeek,
    years: Vec<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DayOfMonth {
    Any,
    Days(Vec<bool>),
    Last,
    NearestWeekday(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DayOfWeek {
    Any,
    /// Days 1..=7, Sunday = 1.
    Days(Vec<bool>),
    /// The last such weekday of the month.
    Last(u32),
    /// The nth such weekday of the month.
    Nth(u32, u32),
}

const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn number(text: &str, names: &[&str], base: u32) -> Result<u32, String> {
    if let Some(k) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(k as u32 + base);
    }
    text.parse().map_err(|_| format!("not a number: {text:?}"))
}

/// A field of plain values: `*`, `a`, `a-b`, `a/n`, `a-b/n`, `*/n`, lists.
fn field(text: &str, lo: u32, hi: u32, names: &[&str], base: u32) -> Result<Vec<bool>, String> {
    let mut set = vec![false; hi as usize + 1];
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| format!("bad step in {part:?}"))?),
            None => (part, 1),
        };
        if step == 0 {
            return Err(format!("zero step in {part:?}"));
        }
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (number(a, names, base)?, number(b, names, base)?)
        } else {
            let a = number(range, names, base)?;
            (a, if part.contains('/') { hi } else { a })
        };
        if a < lo || b > hi || a > b {
            return Err(format!("{part:?} is outside {lo}-{hi}"));
        }
        for v in (a..=b).step_by(step as usize) {
            set[v as usize] = true;
        }
    }
    Ok(set)
}

/// `v` when it is in `lo..=hi`; an error naming the field otherwise (a
/// value that can never match would silently end the schedule).
fn within(v: u32, lo: u32, hi: u32, field: &str) -> Result<u32, String> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{field:?}: {v} is outside {lo}-{hi}"))
    }
}

impl Schedule {
    /// Parses `cron(...)` or `rate(...)`.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let text = text.trim();
        if let Some(inner) = text.strip_prefix("rate(").and_then(|t| t.strip_suffix(')')) {
            let (n, unit) = inner.trim().split_once(' ').ok_or("rate needs a value and a unit")?;
            let n: i64 = n.parse().map_err(|_| format!("bad rate value {n:?}"))?;
            let minutes = match unit.trim() {
                "minute" | "minutes" => n,
                "hour" | "hours" => n * 60,
                "day" | "days" => n * 1440,
                other => return Err(format!("bad rate unit {other:?}")),
            };
            if minutes <= 0 {
                return Err("rate must be positive".into());
            }
            return Ok(Schedule::Rate(minutes));
        }
        let inner = text
            .strip_prefix("cron(")
            .and_then(|t| t.strip_suffix(')'))
            .ok_or_else(|| format!("not a schedule expression: {text:?} (expected cron(...) or rate(...))"))?;
        let f: Vec<&str> = inner.split_whitespace().collect();
        let [min, hour, dom, month, dow, year] = f[..] else {
            return Err(format!(
                "cron needs 6 fields (minutes hours day-of-month month day-of-week year), got {}",
                f.len()
            ));
        };
        let dom = match dom {
            "?" => DayOfMonth::Any,
            "L" => DayOfMonth::Last,
            d if d.ends_with('W') => DayOfMonth::NearestWeekday(within(number(&d[..d.len() - 1], &[], 0)?, 1, 31, d)?),
            d => DayOfMonth::Days(field(d, 1, 31, &[], 0)?),
        };
        let dow = match dow {
            "?" => DayOfWeek::Any,
            d if d.contains('#') => {
                let (day, nth) = d.split_once('#').unwrap_or((d, "1"));
                DayOfWeek::Nth(within(number(day, &DAYS, 1)?, 1, 7, d)?, within(number(nth, &[], 0)?, 1, 5, d)?)
            }
            d if d.len() > 1 && d.ends_with('L') => {
                DayOfWeek::Last(within(number(&d[..d.len() - 1], &DAYS, 1)?, 1, 7, d)?)
            }
            "L" => DayOfWeek::Last(7),
            d => DayOfWeek::Days(field(d, 1, 7, &DAYS, 1)?),
        };
        if (dom == DayOfMonth::Any) == (dow == DayOfWeek::Any) {
            return Err("exactly one of day-of-month and day-of-week must be '?'".into());
        }
        let cron = Cron {
            minutes: field(min, 0, 59, &[], 0)?,
            hours: field(hour, 0, 23, &[], 0)?,
            dom,
            months: field(month, 1, 12, &MONTHS, 1)?,
            dow,
            years: field(year, 1970, 2199, &[], 0)?,
        };
        // Fields can be valid one by one and impossible together (30 February).
        if cron.next_after(-60).is_none() {
            return Err("it never matches a real date (such as 30 February)".into());
        }
        Ok(Schedule::Cron(Box::new(cron)))
    }

    /// The first run strictly after `after` (epoch seconds, UTC), as epoch
    /// seconds; `start` anchors a rate. `None` when there is none before 2200.
    pub fn next_after(&self, after: i64, start: i64) -> Option<i64> {
        match self {
            Schedule::Rate(minutes) => {
                let period = minutes * 60;
                let k = (after - start).div_euclid(period) + 1;
                Some(start + k * period)
            }
            Schedule::Cron(c) => c.next_after(after),
        }
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    let next = if m == 12 { days_from_civil(y + 1, 1, 1) } else { days_from_civil(y, m + 1, 1) };
    next - days_from_civil(y, m, 1)
}

/// Day of week, Sunday = 1.
fn weekday(day: i64) -> u32 {
    // 1970-01-01 was a Thursday (5).
    ((day + 4).rem_euclid(7) + 1) as u32
}

impl Cron {
    fn day_matches(&self, day: i64) -> bool {
        let (y, m, d) = civil_from_days(day);
        if !(1970..=2199).contains(&y) || !self.years[y as usize] || !self.months[m as usize] {
            return false;
        }
        let last = days_in_month(y, m);
        let dom_ok = match &self.dom {
            DayOfMonth::Any => true,
            DayOfMonth::Days(set) => set[d as usize],
            DayOfMonth::Last => d == last,
            DayOfMonth::NearestWeekday(n) => {
                let target = (*n as i64).min(last);
                let t = day - d + target;
                let nearest = match weekday(t) {
                    7 if target == 1 => t + 2,
                    7 => t - 1,
                    1 if target == last => t - 2,
                    1 => t + 1,
                    _ => t,
                };
                nearest == day
            }
        };
        let wd = weekday(day);
        let dow_ok = match &self.dow {
            DayOfWeek::Any => true,
            DayOfWeek::Days(set) => set[wd as usize],
            DayOfWeek::Last(w) => wd == *w && d + 7 > last,
            DayOfWeek::Nth(w, n) => wd == *w && (d - 1) / 7 + 1 == *n as i64,
        };
        dom_ok && dow_ok
    }

    fn next_after(&self, after: i64) -> Option<i64> {
        let t = after.div_euclid(60) * 60 + 60;
        let mut day = t.div_euclid(86_400);
        let mut minute_of_day = t.rem_euclid(86_400) / 60;
        let last_day = days_from_civil(2200, 1, 1);
        while day < last_day {
            if self.day_matches(day) {
                for m in minute_of_day..1440 {
                    if self.hours[(m / 60) as usize] && self.minutes[(m % 60) as usize] {
                        return Some(day * 86_400 + m * 60);
                    }
                }
            }
            day += 1;
            minute_of_day = 0;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_core::dates::{format_datetime, parse_datetime};

    fn next(expr: &str, after: &str) -> String {
        let s = Schedule::parse(expr).expect("parses");
        format_datetime(s.next_after(parse_datetime(after).expect("date"), 0).expect("a next run"))
    }

    #[test]
    fn the_seed_schedule_runs_daily_at_0430_utc() {
        assert_eq!(next("cron(30 4 * * ? *)", "2026-11-22 04:29:59"), "2026-11-22 04:30:00");
        assert_eq!(next("cron(30 4 * * ? *)", "2026-11-22 04:30:00"), "2026-11-23 04:30:00");
        assert_eq!(next("cron(30 4 * * ? *)", "2026-12-31 23:00:00"), "2027-01-01 04:30:00");
    }

    #[test]
    fn aws_cron_features() {
        // Weekdays at 08:15 (MON-FRI = 2-6).
        assert_eq!(next("cron(15 8 ? * MON-FRI *)", "2026-11-21 09:00:00"), "2026-11-23 08:15:00");
        // Every 10 minutes.
        assert_eq!(next("cron(0/10 * * * ? *)", "2026-11-22 10:01:00"), "2026-11-22 10:10:00");
        // Last day of the month, last Friday, second Tuesday.
        assert_eq!(next("cron(0 0 L * ? *)", "2026-02-01 00:00:00"), "2026-02-28 00:00:00");
        assert_eq!(next("cron(0 12 ? * 6L *)", "2026-11-01 00:00:00"), "2026-11-27 12:00:00");
        assert_eq!(next("cron(0 12 ? * 3#2 *)", "2026-11-01 00:00:00"), "2026-11-10 12:00:00");
        // Nearest weekday to the 1st of August 2026 (a Saturday) is Monday the 3rd.
        assert_eq!(next("cron(0 9 1W * ? *)", "2026-07-31 00:00:00"), "2026-08-03 09:00:00");
        // Only in 2027, in JAN.
        assert_eq!(next("cron(0 0 1 JAN ? 2027)", "2026-11-22 00:00:00"), "2027-01-01 00:00:00");
        assert_eq!(Schedule::parse("rate(5 minutes)").expect("rate").next_after(301, 0), Some(600));
    }

    #[test]
    fn refuses_bad_expressions() {
        for bad in [
            "30 4 * * ? *",
            "cron(30 4 * * *)",
            "cron(30 4 * * * *)",
            "cron(30 4 ? * ? *)",
            "cron(61 4 * * ? *)",
            "rate(0 days)",
            "cron(0/0 * * * ? *)",
            // Values that parse but could never match would end the schedule silently.
            "cron(0 0 ? * 9#1 *)",
            "cron(0 0 ? * 2#6 *)",
            "cron(0 0 ? * 2#0 *)",
            "cron(0 0 0W * ? *)",
            "cron(0 0 32W * ? *)",
            "cron(0 0 ? * 8L *)",
            // Fields valid one by one, impossible together.
            "cron(0 0 30 2 ? *)",
            "cron(0 0 31 4,6,9,11 ? *)",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Schedule::parse("cron(0 0 1 1 ? 2000)").expect("parses").next_after(1_800_000_000, 0), None);
    }
}
