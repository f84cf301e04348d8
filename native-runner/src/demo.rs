//! `tally demo`: the embedded default. Writes a sample legacy table and a
//! sample current table (bedrock-chat layout, some conversations migrated
//! from one to the other), runs the archival and the daily consolidation
//! over them with local files (the daily job also writes its detail rows,
//! priced by the built-in catalog), and says how to open the results.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;
use tally_core::consolidate::Prefer;
use tally_core::dates::{DateRange, Day};
use tally_core::estimate::Estimator;
use tally_core::job::JobSpec;
use tally_core::pricing::Prices;
use tally_core::sample::{sample_lines, SampleTable};

use crate::atomic::write_atomically;
use crate::jobs::{self, Items};
use crate::location::Place;

fn day(s: &str) -> Result<Day> {
    Day::parse(s).with_context(|| format!("bad day {s}"))
}

fn ms(d: Day) -> i64 {
    d.0 * 86_400_000
}

/// Runs the demo in `dir` with `items` conversations per table.
pub async fn run(dir: &Path, items: usize, json: bool) -> Result<()> {
    let (old_start, old_end) = (day("2024-01-01")?, day("2025-12-31")?);
    let (new_start, new_end) = (day("2025-12-01")?, day("2026-11-20")?);
    let old = sample_lines(SampleTable::Legacy, items, ms(old_start), ms(old_end) + 86_399_999, 2024);
    let mut new = sample_lines(SampleTable::Current, items, ms(new_start), ms(new_end) + 86_399_999, 2025);
    // The tables overlap in December 2025: the conversations of that month
    // were migrated to the new table (same PK, SK and CreateTime, new-schema
    // map), and the consolidation keeps their historical rows.
    let migrated = old.iter().filter_map(|o| {
        let ov: Value = serde_json::from_str(o).ok()?;
        let created: i64 = ov["Item"]["CreateTime"]["N"].as_str()?.parse().ok()?;
        (created >= ms(new_start)).then_some(ov)
    });
    for (n, ov) in new.iter_mut().zip(migrated) {
        let mut nv: Value = serde_json::from_str(n)?;
        for key in ["PK", "SK", "CreateTime"] {
            nv["Item"][key] = ov["Item"][key].clone();
        }
        *n = nv.to_string();
    }
    let old_path = dir.join("old_table.jsonl");
    let new_path = dir.join("new_table.jsonl");
    write_atomically(&old_path, (old.join("\n") + "\n").as_bytes())?;
    write_atomically(&new_path, (new.join("\n") + "\n").as_bytes())?;

    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let ctx = jobs::Ctx::new(crate::aws::AwsOptions::default(), workers, 1, true);
    let archive_csv = dir.join("tokens_analysis_old_table.csv");
    let archive_spec = JobSpec {
        estimator: Estimator::V1,
        source: "old_table".into(),
        range: DateRange { start: old_start, end: Some(old_end) },
        prices: Prices::default(),
    };
    let archive_place = Place::Local(archive_csv.clone());
    let archived =
        jobs::archive(&ctx, &Items::Dump(Place::Local(old_path.clone())), &archive_spec, &archive_place).await?;

    let consolidated_csv = dir.join("tokens_analysis_consolidated.csv");
    let daily_spec = JobSpec {
        estimator: Estimator::V2,
        source: "new_table".into(),
        range: DateRange { start: new_start, end: None },
        prices: Prices::default(),
    }
    .ending_today(crate::clock::today_utc());
    let history = jobs::History { place: archive_place, allow_missing: false, prefer: Prefer::Historical };
    let detail_csv = dir.join("tokens_detail.csv");
    let book = crate::settings::price_book("catalog", "us-east-1", Prices::default())?;
    let mut ctx = ctx;
    ctx.detail = Some(jobs::DetailOut { place: Place::Local(detail_csv.clone()), book });
    let consolidated = jobs::consolidate(
        &ctx,
        &Items::Dump(Place::Local(new_path.clone())),
        &daily_spec,
        &history,
        &Place::Local(consolidated_csv.clone()),
    )
    .await?;

    if json {
        let value = serde_json::json!({
            "archive": { "output": archived.location, "stats": archived.stats },
            "consolidated": { "output": consolidated.location, "stats": consolidated.stats },
            "detail": consolidated.detail.as_ref().map(|d| match d {
                Ok((output, stats)) => serde_json::json!({ "output": output, "stats": stats }),
                Err(e) => serde_json::json!({ "error": e }),
            }),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("Sample tables: {} and {}", old_path.display(), new_path.display());
    println!("\n1. Archival job (legacy table, estimator v1, {old_start} to {old_end}):");
    crate::report::report(&archived, false, None, false);
    println!("\n2. Daily consolidation (current table, estimator v2, from {new_start}, history merged):");
    crate::report::report(&consolidated, false, None, false);
    // The binary as it was started (`tally` may not be on PATH), and
    // outputs of your own, away from the demo's.
    let exe = std::env::current_exe().ok().and_then(|p| {
        let cwd = std::env::current_dir().ok()?;
        Some(p.strip_prefix(&cwd).map(|r| format!("./{}", r.display())).unwrap_or_else(|_| p.display().to_string()))
    });
    let exe = exe.unwrap_or_else(|| "tally".into());
    println!("\nThe same jobs on your own data (dumps of your tables, outputs in this folder):");
    println!(
        "  {exe} archive --dump YOUR_LEGACY_TABLE.jsonl.gz --out tokens_analysis_old_table.csv --start {old_start} --end {old_end}"
    );
    println!(
        "  {exe} consolidate --dump YOUR_CURRENT_TABLE.jsonl.gz --historical tokens_analysis_old_table.csv \\\n      --out tokens_analysis_consolidated.csv --start {new_start}"
    );
    println!(
        "\nOpen {} in the explorer: scripts/explore.sh {}",
        consolidated_csv.display(),
        consolidated_csv.display()
    );
    println!(
        "Its conversations by user, bot and model, billed call by call, against the price recorded: scripts/explore.sh {}",
        detail_csv.display()
    );
    Ok(())
}
