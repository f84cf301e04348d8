//! Progress of a scan: a live line on a terminal, plain log lines otherwise,
//! and one JSON line each in the Lambda (for CloudWatch Logs Insights).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Whether progress goes out as JSON lines (the Lambda), whatever `--json` says.
static JSON_LINES: AtomicBool = AtomicBool::new(false);

/// Makes every progress report a JSON line on standard error.
pub fn json_lines() {
    JSON_LINES.store(true, Ordering::SeqCst);
}

/// One JSON line on standard error (the Lambda's log event).
pub fn log_json(value: &serde_json::Value) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{value}");
    let _ = err.flush();
}
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts items and reports the count and rate now and then.
#[derive(Debug)]
pub struct Progress {
    what: String,
    items: AtomicU64,
    started: Instant,
    last: Mutex<Instant>,
    tty: bool,
    quiet: bool,
}

impl Progress {
    /// A reporter for `what` (`scan of table X`); `quiet` reports nothing.
    pub fn new(what: impl Into<String>, quiet: bool) -> Progress {
        let now = Instant::now();
        Progress {
            what: what.into(),
            items: AtomicU64::new(0),
            started: now,
            last: Mutex::new(now),
            tty: std::io::stderr().is_terminal() && !JSON_LINES.load(Ordering::SeqCst),
            quiet: quiet && !JSON_LINES.load(Ordering::SeqCst),
        }
    }

    /// Adds `n` items.
    pub fn add(&self, n: u64) {
        let total = self.items.fetch_add(n, Ordering::Relaxed) + n;
        if self.quiet {
            return;
        }
        let every = if self.tty { Duration::from_millis(200) } else { Duration::from_secs(10) };
        let Ok(mut last) = self.last.try_lock() else {
            return;
        };
        if last.elapsed() >= every {
            *last = Instant::now();
            self.print(total, false);
        }
    }

    /// Items so far.
    pub fn items(&self) -> u64 {
        self.items.load(Ordering::Relaxed)
    }

    /// Seconds since the start.
    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn print(&self, total: u64, done: bool) {
        let secs = self.elapsed().max(1e-9);
        let rate = total as f64 / secs;
        if JSON_LINES.load(Ordering::SeqCst) {
            let event = if done { "read" } else { "progress" };
            let rate = (rate * 10.0).round() / 10.0;
            log_json(
                &serde_json::json!({ "event": event, "what": self.what, "items": total, "items_per_s": rate, "seconds": (secs * 1000.0).round() / 1000.0 }),
            );
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(
                err,
                "\r{}: {total} items, {rate:.0} items/s, {secs:.1} s{}",
                self.what,
                if done { "\n" } else { "   " }
            );
        } else {
            let _ = writeln!(
                err,
                "[tally] {}: {total} items, {rate:.0} items/s, {secs:.1} s{}",
                self.what,
                if done { " (done)" } else { "" }
            );
        }
        let _ = err.flush();
    }

    /// Prints the final count.
    pub fn finish(&self) {
        if !self.quiet {
            self.print(self.items(), true);
        }
    }
}
