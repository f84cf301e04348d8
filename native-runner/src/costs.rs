//! `tally report`: who and what costs money in a CSV, from the explorer's
//! engine (`core/src/breakdown.rs`): the most expensive users (every CSV),
//! bots and models (a detail CSV), and the recorded price against the
//! billed estimate.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use tally_core::breakdown::{Accuracy, Breakdown, By};
use tally_core::whatif::Filter;

use crate::cli::ReportArgs;
use crate::report::{clean, thousands};
use crate::whatif::load_table;

/// Runs `tally report`.
pub async fn run(args: ReportArgs) -> Result<()> {
    let (place, table) = load_table(&args.csv, args.endpoint_url.clone()).await?;
    let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    let filter = Filter {
        from: args.from,
        to: args.to,
        users: list(&args.users),
        bots: list(&args.bots),
        models: list(&args.models),
        ..Filter::default()
    };
    let mut groups = Vec::new();
    for by in &args.by {
        groups.push(table.breakdown(&filter, *by, args.top, &args.search).with_context(|| format!("--by {by:?}"))?);
    }
    let accuracy = table.has_detail().then(|| table.accuracy(&filter, args.top)).transpose()?;
    if args.json {
        let value = serde_json::json!({
            "csv": place.to_string(),
            "rows": table.len(),
            "unreadable": table.unreadable(),
            "breakdowns": groups,
            "accuracy": accuracy,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let mut out = String::new();
    for b in &groups {
        text_breakdown(&mut out, b);
    }
    if let Some(a) = &accuracy {
        text_accuracy(&mut out, a);
    }
    print!("{out}");
    Ok(())
}

fn text_breakdown(out: &mut String, b: &Breakdown) {
    let what = match b.by {
        By::User => "user",
        By::Bot => "bot",
        By::Model => "model",
    };
    let money = if b.money == "billed" { "billed USD" } else { "USD (Lambdas' rules)" };
    let _ = writeln!(
        out,
        "by {what}: {} of {} groups, total {} {money}",
        b.groups.len(),
        thousands(b.matched_groups),
        b.total_cost
    );
    let _ = writeln!(out, "  {:<48} {:>13} {:>14} {:>8} {:>14}", what, "conversations", "cost", "share %", "recorded");
    for g in &b.groups {
        let key = if g.key.is_empty() { "(none)".to_string() } else { clean(&g.key) };
        let _ = writeln!(
            out,
            "  {:<48} {:>13} {:>14} {:>8} {:>14}",
            key,
            thousands(g.conversations),
            g.cost,
            g.share_pct,
            if g.recorded.is_empty() { "-" } else { &g.recorded }
        );
    }
    out.push('\n');
}

fn text_accuracy(out: &mut String, a: &Accuracy) {
    let _ = writeln!(
        out,
        "recorded against billed: {} conversations with a recorded price ({} without)",
        thousands(a.conversations),
        thousands(a.without_recorded)
    );
    let pct = if a.difference_pct.is_empty() { "-".to_string() } else { format!("{} %", a.difference_pct) };
    let _ = writeln!(
        out,
        "  recorded {} USD, billed {} USD: {} USD ({pct}); the Lambdas' rules: {} USD",
        a.recorded_total, a.billed_total, a.difference, a.seed_total
    );
    let bins: Vec<String> = a
        .histogram
        .iter()
        .filter(|b| b.conversations > 0)
        .map(|b| match b.to_pct {
            Some(to) => format!("[{}, {}) %: {}", b.from_pct, to, b.conversations),
            None => format!(">= {} %: {}", b.from_pct, b.conversations),
        })
        .collect();
    let _ = writeln!(out, "  error per conversation: {}", bins.join("; "));
    for d in &a.most_different {
        let _ = writeln!(
            out,
            "  differs most: {} recorded {} billed {} ({})",
            clean(&d.sk),
            d.recorded,
            d.billed,
            d.difference
        );
    }
}
