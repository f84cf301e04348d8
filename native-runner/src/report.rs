//! What a job prints: one JSON object (`--json`) or a short summary, with
//! every text that comes from the data made safe for a terminal (a cell
//! holding escape codes or line breaks cannot fake a line of the report).

use std::fmt::Write as _;

use tally_core::detail::DetailStats;
use tally_core::stats::Stats;

use crate::jobs::{Output, Refused};
use crate::users::UsersOutput;

/// `text` with control characters (C0, DEL, C1) and the bidirectional
/// overrides written as `\u{..}`, so it shows as one inert line.
pub fn clean(text: &str) -> String {
    let unsafe_char = |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(unsafe_char) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// The date range a run used: `from 2025-12-01 to 2026-12-02`, or `from
/// 2025-12-01 no end date`.
pub fn dates(s: &Stats) -> String {
    if s.end.is_empty() {
        format!("from {} no end date", s.start)
    } else {
        format!("from {} to {}", s.start, s.end)
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn summary(s: &Stats, headline: &str, extra: Option<&serde_json::Value>) -> (String, Vec<String>) {
    let mut out = String::new();
    let by_source: Vec<String> =
        s.records_by_source.iter().map(|(k, v)| format!("{} {}", clean(k), thousands(*v))).collect();
    let _ = write!(out, "{headline}");
    if !by_source.is_empty() {
        let _ = write!(out, " ({})", by_source.join(", "));
    }
    out.push('\n');
    let _ = writeln!(out, "  dates: {} (UTC, estimator {})", dates(s), s.estimator);
    let _ = writeln!(
        out,
        "  tokens: {} input, {} output; cost: {} USD (input {} + output {} at {}/{} per 1K)",
        thousands(s.total_input_tokens),
        thousands(s.total_output_tokens),
        s.total_cost,
        s.total_input_cost,
        s.total_output_cost,
        s.input_per_1k,
        s.output_per_1k
    );
    let _ = writeln!(
        out,
        "  items: {} read, {} priced, {} outside the dates, {} skipped, {} invalid dates, {} unreadable maps, {} errors",
        thousands(s.scanned),
        thousands(s.processed),
        thousands(s.filtered),
        thousands(s.skipped),
        thousands(s.invalid_dates),
        thousands(s.unreadable_maps),
        thousands(s.errors)
    );
    if s.repeated_keys > 0 {
        let _ =
            writeln!(out, "  repeated keys: {} rows repeat a (pk, sk) of the same input", thousands(s.repeated_keys));
    }
    if let (Some(h), Some(d)) = (s.historical_rows, s.duplicates_dropped) {
        let bad = s.historical_unreadable_rows.as_ref().map_or(0, Vec::len);
        let _ = writeln!(
            out,
            "  history: {} rows ({} unreadable), {} duplicates dropped (prefer {})",
            thousands(h),
            thousands(bad as u64),
            thousands(d),
            s.prefer.as_deref().unwrap_or("")
        );
    }
    if let Some(extra) = extra {
        let _ = writeln!(out, "  athena: {}", clean(&extra.to_string()));
    }
    let mut problems: Vec<String> = s
        .dump_errors
        .iter()
        .chain(&s.error_items)
        .take(10)
        .map(|p| format!("  problem: {}: {}", clean(&p.at), clean(&p.error)))
        .collect();
    let listed = (s.dump_errors.len() + s.error_items.len()) as u64 + s.error_items_truncated + s.dump_errors_truncated;
    if listed > problems.len() as u64 {
        problems.push(format!(
            "  ... and {} more problems (--json lists the first 1,000 of each kind)",
            thousands(listed - problems.len() as u64)
        ));
    }
    if let Some(rows) = &s.historical_unreadable_rows {
        problems.extend(rows.iter().take(10).map(|b| format!("  unreadable history: {}", clean(&b.to_string()))));
    }
    (out, problems)
}

/// Prints the result: one JSON object, or a short summary (problems on
/// standard error). With the CSV on standard output, all of it goes to
/// standard error.
pub fn report(output: &Output, json: bool, extra: Option<serde_json::Value>, to_stderr: bool) {
    let print = |text: &str| if to_stderr { eprint!("{text}") } else { print!("{text}") };
    if json {
        let mut value = serde_json::json!({ "output": output.location, "stats": output.stats });
        if let Some(extra) = extra {
            value["athena"] = extra;
        }
        if let Some(p) = &output.partitions {
            value["partitions"] = serde_json::json!(p);
        }
        value["spilled_rows"] = serde_json::json!(output.spilled);
        match &output.detail {
            Some(Ok((location, stats))) => value["detail"] = serde_json::json!({ "output": location, "stats": stats }),
            Some(Err(e)) => value["detail"] = serde_json::json!({ "error": e }),
            None => {}
        }
        print(&format!("{}\n", serde_json::to_string_pretty(&value).unwrap_or_default()));
        return;
    }
    let rows = output.stats.total_records;
    let headline =
        format!("wrote {} {} to {}", thousands(rows), if rows == 1 { "row" } else { "rows" }, clean(&output.location));
    let (mut text, problems) = summary(&output.stats, &headline, extra.as_ref());
    if output.spilled > 0 {
        let _ = writeln!(text, "  memory: {} rows sorted on disk (beyond --memory)", thousands(output.spilled));
    }
    if let Some(p) = &output.partitions {
        let shown = |v: &[String]| {
            let mut s = v.iter().take(5).map(|x| clean(x)).collect::<Vec<_>>().join(", ");
            if v.len() > 5 {
                s.push_str(&format!(", ... ({} in all)", thousands(v.len() as u64)));
            }
            s
        };
        let _ = writeln!(
            text,
            "  partitions: {}; {} written{}{}",
            thousands(p.partitions),
            thousands(p.written.len() as u64),
            if p.written.is_empty() { String::new() } else { format!(" ({})", shown(&p.written)) },
            if p.deleted.is_empty() { String::new() } else { format!("; deleted {}", shown(&p.deleted)) }
        );
    }
    match &output.detail {
        Some(Ok((location, d))) => text.push_str(&detail_summary(location, d)),
        Some(Err(e)) => text.push_str(&format!("  detail: not written: {}\n", clean(e))),
        None => {}
    }
    print(&text);
    for p in problems {
        eprintln!("{p}");
    }
}

/// Prints a users run: one JSON object (`output`, `users`, `stats`), or
/// a short summary.
pub fn report_users(done: &UsersOutput, json: bool, to_stderr: bool) {
    let print = |text: &str| if to_stderr { eprint!("{text}") } else { print!("{text}") };
    if json {
        let value = serde_json::json!({
            "output": done.location, "users": done.users, "stats": done.stats, "spilled_rows": done.spilled
        });
        print(&format!("{}\n", serde_json::to_string_pretty(&value).unwrap_or_default()));
        return;
    }
    let u = &done.users;
    let headline = format!(
        "wrote {} {} to {}",
        thousands(u.users),
        if u.users == 1 { "user" } else { "users" },
        clean(&done.location)
    );
    let (mut text, problems) = summary(&done.stats, &headline, None);
    let _ = writeln!(
        text,
        "  users: {} conversations, {} questions, {} likes, {} dislikes; tokens by {}{}",
        thousands(u.conversations),
        thousands(u.questions),
        thousands(u.likes),
        thousands(u.dislikes),
        clean(&u.tokens),
        if u.named > 0 { format!("; {} named by the user pool", thousands(u.named)) } else { String::new() }
    );
    print(&text);
    for p in problems {
        eprintln!("{p}");
    }
}

/// The detail output's lines: where, the totals against the recorded
/// price, and the models the book did not know.
fn detail_summary(location: &str, d: &DetailStats) -> String {
    let mut out = format!(
        "  detail: {} conversations to {}; recorded {} USD, billed {} USD ({} %), {} calls priced by {}\n",
        thousands(d.conversations),
        clean(location),
        d.recorded_total,
        d.billed_total,
        if d.total_error_pct.is_empty() { "no recorded price" } else { &d.total_error_pct },
        thousands(d.calls),
        clean(&d.price_book)
    );
    if !d.unknown_models.is_empty() {
        let names: Vec<String> =
            d.unknown_models.iter().map(|(m, n)| format!("{} ({} calls)", clean(m), thousands(*n))).collect();
        let _ = writeln!(out, "  unknown models, priced at the fallback: {}", names.join(", "));
    }
    out
}

/// A run refused for what it read: the statistics are still reported
/// (`"output": null` and `"refused"` in `--json`), then the error.
pub fn refusal<T>(result: anyhow::Result<T>, json: bool) -> anyhow::Result<T> {
    if let Err(e) = &result {
        if let Some(r) = e.downcast_ref::<Refused>() {
            if json {
                let value = serde_json::json!({ "output": null, "refused": r.refusal.to_string(), "stats": r.stats });
                println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
            } else {
                let (text, problems) = summary(&r.stats, "published nothing", None);
                eprint!("{text}");
                for p in problems {
                    eprintln!("{p}");
                }
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_write_to_the_terminal() {
        assert_eq!(clean("pk-1"), "pk-1");
        assert_eq!(clean("a\u{1b}[2Kb\nrun succeeded"), "a\\u{1b}[2Kb\\u{a}run succeeded");
        assert_eq!(clean("\u{202e}txt"), "\\u{202e}txt");
        assert_eq!(clean("ñandú 😀"), "ñandú 😀");
    }

    #[test]
    fn numbers_have_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(9_292_613), "9,292,613");
    }
}
