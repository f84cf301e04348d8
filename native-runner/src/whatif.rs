//! `tally whatif`: the explorer's re-pricing on the command line. A CSV of
//! the consolidated schema (local or S3) under one or more scenarios, side by
//! side with what it cost, from the same core engine and the same price
//! catalog (`web/prices.json`, built in) as the browser.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use rust_decimal::Decimal;
use serde::Serialize;
use tally_core::breakdown::GroupWhatIf;
use tally_core::catalog::{parse_catalog, Catalog, Model};
use tally_core::pricing::{parse_price, Prices};
use tally_core::whatif::{Filter, Scenario, Table, Views, WhatIf};

use crate::aws::{AwsOptions, Clients};
use crate::cli::WhatIfArgs;
use crate::location::{read_optional, Place};
use tally_core::item::DEFAULT_MAX_RECORD;

/// The price catalog, built in (the explorer's too).
pub const CATALOG: &str = include_str!("../../web/prices.json");

/// One scenario of the comparison.
#[derive(Debug, Serialize)]
struct Named {
    name: String,
    model: Option<String>,
    input_per_1k: String,
    output_per_1k: String,
    batch: Option<String>,
    /// The models priced otherwise (`--map`): model, and the prices.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    map: Vec<(String, String)>,
    #[serde(flatten)]
    result: WhatIf,
    /// The scenario by user, bot or model (`--by`).
    #[serde(skip_serializing_if = "Option::is_none")]
    by: Option<Vec<GroupWhatIf>>,
}

/// The catalog, read and checked by the core's rules (the page's too);
/// entries left out and other problems are said on standard error.
fn load_catalog(path: Option<&PathBuf>) -> Result<Catalog> {
    let text = match path {
        Some(p) => String::from_utf8(
            read_optional(p, DEFAULT_MAX_RECORD)?
                .with_context(|| format!("price catalog {} does not exist", p.display()))?,
        )
        .with_context(|| format!("price catalog {} is not UTF-8", p.display()))?,
        None => CATALOG.to_string(),
    };
    let shown = path.map_or_else(|| "the built-in catalog".to_string(), |p| p.display().to_string());
    let catalog = parse_catalog(&text).with_context(|| format!("cannot use {shown}"))?;
    for d in &catalog.dropped {
        eprintln!("warning: {shown}: {} left out: {}", crate::report::clean(&d.entry), crate::report::clean(&d.reason));
    }
    for w in &catalog.warnings {
        eprintln!("warning: {shown}: {}", crate::report::clean(w));
    }
    Ok(catalog)
}

/// `--map MODEL=TARGET`: the model and the prices TARGET names (a catalog
/// model, or IN/OUT per 1K).
fn mapping(catalog: &Catalog, text: &str) -> Result<(String, Prices)> {
    let (model, target) = text
        .split_once('=')
        .with_context(|| format!("--map {text:?}: give MODEL=TARGET (a catalog model or IN/OUT)"))?;
    let prices = match target.parse::<Prices>() {
        Ok(p) => p,
        Err(_) => find(catalog, target).with_context(|| format!("--map {text:?}"))?.prices,
    };
    Ok((model.trim().to_string(), prices))
}

/// The model `wanted` names: its exact id, else the one whose name or id contains it.
fn find<'c>(catalog: &'c Catalog, wanted: &str) -> Result<&'c Model> {
    if let Some(m) = catalog.models.iter().find(|m| m.id == wanted) {
        return Ok(m);
    }
    let w = wanted.to_lowercase();
    let hits: Vec<&Model> = catalog
        .models
        .iter()
        .filter(|m| m.name.to_lowercase().contains(&w) || m.id.to_lowercase().contains(&w))
        .collect();
    match hits[..] {
        [one] => Ok(one),
        [] => bail!("no model matches {wanted:?} (tally whatif --list-models shows them)"),
        _ => bail!(
            "{wanted:?} matches {} models: {}",
            hits.len(),
            hits.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join("; ")
        ),
    }
}

/// A CSV (a path or `s3://B/K`) read into the explorer's table; its first
/// unreadable lines are said on standard error.
pub async fn load_table(csv: &str, endpoint_url: Option<String>) -> Result<(Place, Table)> {
    let place = Place::parse(csv);
    let bytes = read_csv(&place, endpoint_url).await?;
    let table = Table::from_csv(bytes).with_context(|| format!("cannot read {place}"))?;
    let unreadable = table.unreadable();
    for bad in unreadable.iter().take(10) {
        eprintln!("  unreadable: line {}: {}", bad.line, crate::report::clean(&bad.error));
    }
    if unreadable.len() > 10 {
        eprintln!("  ... and {} more unreadable lines", unreadable.len() - 10);
    }
    Ok((place, table))
}

/// A whole CSV, local or on S3.
async fn read_csv(place: &Place, endpoint_url: Option<String>) -> Result<Vec<u8>> {
    match place {
        Place::Local(p) => {
            read_optional(p, DEFAULT_MAX_RECORD)?.with_context(|| format!("{} does not exist", p.display()))
        }
        Place::S3(url) => {
            let clients = Clients::load(&AwsOptions { endpoint_url, max_attempts: 8 }).await;
            crate::s3::get_optional(&clients.s3, url, DEFAULT_MAX_RECORD)
                .await?
                .with_context(|| format!("{url} does not exist"))
        }
        Place::Stdout => bail!("-: standard output cannot be read"),
    }
}

/// Runs `tally whatif`.
pub async fn run(args: WhatIfArgs) -> Result<()> {
    let catalog = load_catalog(args.catalog.as_ref())?;
    if args.list_models {
        let mut out = String::new();
        let _ = writeln!(out, "{:<58} {:>10} {:>10}  id; source, date", "model (USD per 1K tokens)", "input", "output");
        for m in &catalog.models {
            let _ = writeln!(
                out,
                "{:<58} {:>10} {:>10}  {}; {}, {}",
                m.name,
                m.input_per_1k,
                m.output_per_1k,
                m.id,
                m.about_text("source").unwrap_or("-"),
                m.about_text("date").unwrap_or("-")
            );
        }
        return emit(&out);
    }
    let batch = args.batch.then_some(catalog.batch);
    let per_model = args.maps.iter().map(|m| mapping(&catalog, m)).collect::<Result<Vec<_>>>()?;
    let mut scenarios: Vec<(String, Option<String>, Prices)> = Vec::new();
    for wanted in &args.models {
        let m = find(&catalog, wanted)?;
        scenarios.push((m.name.clone(), Some(m.id.clone()), m.prices));
    }
    for p in &args.prices {
        scenarios.push((format!("custom {}/{}", p.input_per_1k, p.output_per_1k), None, *p));
    }
    if scenarios.is_empty() && per_model.is_empty() {
        for m in &catalog.models {
            scenarios.push((m.name.clone(), Some(m.id.clone()), m.prices));
        }
    }

    let (place, table) = load_table(args.csv.as_deref().unwrap_or_default(), args.endpoint_url.clone()).await?;
    let filter = Filter {
        from: args.from,
        to: args.to,
        sources: (!args.sources.is_empty()).then(|| args.sources.clone()),
        ..Filter::default()
    };
    let views = table.views(&filter, args.top).with_context(|| format!("cannot read {place} back"))?;
    if !per_model.is_empty() && !table.has_detail() {
        bail!("--map needs a detail CSV (its model column): write one with --detail");
    }
    let mut runs: Vec<(String, Option<String>, Scenario)> = scenarios
        .into_iter()
        .map(|(name, model, prices)| (name, model, Scenario { prices, batch, ..Scenario::default() }))
        .collect();
    if !per_model.is_empty() {
        let name =
            per_model.iter().map(|(m, p)| format!("{m} at {}/{}", p.input_per_1k, p.output_per_1k)).collect::<Vec<_>>();
        let scenario = Scenario { batch, per_model: per_model.clone(), keep_unmapped: true, ..Scenario::default() };
        runs.push((format!("mapped: {}", name.join(", ")), None, scenario));
    }
    let mut results = Vec::new();
    for (name, model, scenario) in runs {
        let result = table.whatif(&filter, &scenario).with_context(|| format!("scenario {name}"))?;
        let by = match args.by {
            Some(by) => {
                Some(table.whatif_by(&filter, &scenario, by, args.top).with_context(|| format!("scenario {name}"))?)
            }
            None => None,
        };
        let mapped = !scenario.per_model.is_empty();
        results.push(Named {
            name,
            model,
            input_per_1k: if mapped { String::new() } else { scenario.prices.input_per_1k.normalize().to_string() },
            output_per_1k: if mapped { String::new() } else { scenario.prices.output_per_1k.normalize().to_string() },
            batch: batch.map(|b| b.normalize().to_string()),
            map: scenario
                .per_model
                .iter()
                .map(|(m, p)| (m.clone(), format!("{}/{}", p.input_per_1k.normalize(), p.output_per_1k.normalize())))
                .collect(),
            result,
            by,
        });
    }
    if args.models.is_empty() && args.prices.is_empty() && per_model.is_empty() {
        // Every model: cheapest first.
        results.sort_by_key(|n| parse_price(&n.result.whatif_cost).unwrap_or(Decimal::MAX));
    }

    let unreadable = table.unreadable();
    if args.json {
        let value = serde_json::json!({
            "file": place.to_string(),
            "rows": table.len(),
            "placeholder_rows": table.placeholder_rows(),
            "unreadable": unreadable,
            "catalog_as_of": catalog.about.get("as_of"),
            "views": views,
            "scenarios": results,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    // Names, keys and sources come from the files: no control character of theirs reaches the terminal.
    let text: String = tables(&place, &table, &views, &results, unreadable.len())
        .lines()
        .map(|l| crate::report::clean(l) + "\n")
        .collect();
    emit(&text)
}

/// Writes the report to standard output; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("cannot write to standard output"),
        _ => Ok(()),
    }
}

fn tables(place: &Place, table: &Table, views: &Views, results: &[Named], unreadable: usize) -> String {
    let mut out = String::new();
    let h = &views.headline;
    let _ = writeln!(
            out,
        "{place}: {} conversations and {} other items ({} rows read, {} unreadable lines); {} input + {} output tokens; \
         cost {} USD (average {} per conversation, other items left out)",
        h.conversations,
        h.other_items,
        table.len(),
        unreadable,
        h.input_tokens,
        h.output_tokens,
        h.total_cost,
        h.avg_cost_per_conversation
    );
    for s in &views.by_source {
        let _ = writeln!(
            out,
            "  {:<12} {:>8} rows {:>14} USD  {} .. {}",
            s.source, s.records, s.total_cost, s.earliest, s.latest
        );
    }
    let _ = writeln!(out);
    let window = results
        .first()
        .filter(|r| r.result.window_days > 0)
        .map(|r| format!("{} to {}", r.result.window_start, r.result.window_end));
    let _ = writeln!(
        out,
        "{:<58} {:>16} {:>16} {:>9} {:>16}",
        "scenario (prices per 1K tokens)", "total USD", "difference", "%", "per 30 days"
    );
    if let Some(first) = results.first() {
        let _ = writeln!(
            out,
            "{:<58} {:>16} {:>16} {:>9} {:>16}",
            "actual (recorded)", first.result.actual_cost, "", "", first.result.monthly_actual
        );
    }
    for r in results {
        let batch = r.batch.as_deref().map(|b| format!(", batch x{b}")).unwrap_or_default();
        let label = if r.map.is_empty() {
            format!("{} ({}/{}{batch})", r.name, r.input_per_1k, r.output_per_1k)
        } else {
            format!("{}{batch}", r.name)
        };
        let pct = if r.result.difference_pct.is_empty() { "-".to_string() } else { r.result.difference_pct.clone() };
        let _ = writeln!(
            out,
            "{:<58} {:>16} {:>16} {:>9} {:>16}",
            label, r.result.whatif_cost, r.result.difference, pct, r.result.monthly_projection
        );
    }
    if let Some(w) = window {
        let _ = writeln!(out, "(per 30 days: at the rate of {w})");
    }
    if let Some(first) = results.first() {
        let _ = writeln!(
            out,
            "(actual: {})",
            if first.result.basis == "billed" {
                "the billed estimate of a detail CSV, whose billed tokens are re-priced"
            } else {
                "the Lambdas' estimate"
            }
        );
    }
    for r in results.iter().filter(|r| r.by.is_some()) {
        let _ = writeln!(out, "\n{}:", r.name);
        for g in r.by.iter().flatten() {
            let key = if g.key.is_empty() { "(none)" } else { &g.key };
            let _ = writeln!(
                out,
                "  {key:<48} {:>8} rows {:>14} USD -> {:>14} USD ({})",
                g.conversations, g.actual, g.whatif, g.difference
            );
        }
    }
    if !views.top.is_empty() {
        let _ = writeln!(out, "\nThe {} most expensive conversations:", views.top.len());
        for t in &views.top {
            let _ = writeln!(
                out,
                "  {:>12} USD  {:>9} in {:>9} out  {:<19}  {}  {}  ({})",
                t.total_price, t.input_token, t.output_token, t.create_date, t.pk, t.sk, t.source
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalog_reads_and_models_are_found() {
        let c = load_catalog(None).expect("catalog");
        assert!(c.models.len() >= 10);
        assert!(c.dropped.is_empty());
        assert!(find(&c, "3 Haiku").is_ok());
        assert!(find(&c, "claude").is_err(), "ambiguous");
        assert!(find(&c, "no such model").is_err());
        let first = &c.models[0];
        assert_eq!(find(&c, &first.id).expect("by id").id, first.id);
    }
}
