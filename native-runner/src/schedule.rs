//! `tally schedule`: the daily consolidation at each time of the
//! environment's cron (UTC), each run logged, a failed run followed by the
//! next one, and a clean stop on SIGTERM or Ctrl-C (a run in progress is
//! finished first, so nothing is left half-published).

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use tally_core::dates::{format_datetime, parse_datetime};

use crate::cleanup::{stop_signal, undo_all};
use crate::cli::{Cli, Command, ScheduleArgs};
use crate::clock::{day_of, now_secs};
use crate::cron::Schedule;

fn log(line: &str) {
    eprintln!("[tally schedule {} UTC] {line}", format_datetime(now_secs()));
}

/// Runs the schedule of `args.env` until stopped.
pub async fn run(args: &ScheduleArgs) -> Result<()> {
    let explicit = args.config.as_os_str() != "tally.toml";
    let config = crate::config::Config::load(&args.config, explicit)?;
    let env = config.env(&args.env)?;
    let expr = env.enabled_schedule(&args.env)?;
    let schedule = Schedule::parse(&expr).map_err(|e| anyhow!("schedule.cron {expr:?}: {e}"))?;
    let offset = match &args.fake_now {
        Some(t) => {
            parse_datetime(t).with_context(|| format!("--fake-now: not a YYYY-MM-DD HH:MM:SS time: {t:?}"))?
                - now_secs()
        }
        None => 0,
    };
    let clock = || now_secs() + offset;
    let started = clock();
    if schedule.next_after(started, started).is_none() {
        bail!("schedule.cron {expr:?} has no run after {} UTC: nothing would ever run", format_datetime(started));
    }
    if let Some(n) = args.dry_run {
        let mut t = started;
        for _ in 0..n {
            let Some(next) = schedule.next_after(t, started) else { break };
            println!("{}", format_datetime(next));
            t = next;
        }
        return Ok(());
    }
    let mut argv = vec!["tally".to_string(), "consolidate".into(), "--env".into(), args.env.clone()];
    argv.extend(["--config".into(), args.config.display().to_string(), "--json".into()]);
    if let Some(url) = &args.endpoint_url {
        argv.extend(["--endpoint-url".into(), url.clone()]);
    }
    argv.extend(args.consolidate_options.iter().cloned());
    let parsed = Cli::try_parse_from(&argv).context("the consolidation options after --")?;
    let Command::Consolidate(job) = parsed.command else {
        return Err(anyhow!("internal: the consolidation arguments did not parse"));
    };
    log(&format!("environment {}: {expr}", args.env));
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        let now = clock();
        let Some(next) = schedule.next_after(now, started) else {
            log("the schedule has no further runs; stopping");
            return Ok(());
        };
        log(&format!("next run at {} UTC", format_datetime(next)));
        // Sleep a minute at a time and read the wall clock again, so a
        // suspended machine or a clock step does not shift the runs.
        loop {
            let left = next - clock();
            if left <= 0 {
                break;
            }
            let nap = Duration::from_secs(left.min(60) as u64);
            tokio::select! {
                _ = tokio::time::sleep(nap) => {}
                _ = &mut stop => {
                    log("stop requested; stopping");
                    return Ok(());
                }
            }
        }
        log("run started");
        // v2 ends on the day of the run (the schedule's clock, so that a
        // rehearsal with --fake-now dates its runs as it says).
        let run = crate::consolidate(&job, day_of(clock()), None);
        tokio::pin!(run);
        let outcome = tokio::select! {
            outcome = &mut run => outcome,
            _ = &mut stop => {
                log("stop requested; finishing the current run first (stop again to abandon it)");
                tokio::select! {
                    outcome = &mut run => report(outcome),
                    _ = stop_signal() => {
                        log("second stop request: the run is abandoned (an unfinished write leaves the previous output)");
                        let _ = undo_all().await;
                        return Err(anyhow!("stopped during a run: the run was abandoned"));
                    }
                }
                log("stopping");
                return Ok(());
            }
        };
        report(outcome);
    }
}

fn report(outcome: Result<crate::Consolidated>) {
    match outcome {
        Ok(done) => {
            let s = &done.output.stats;
            let athena = match &done.athena {
                None => String::new(),
                Some(Ok(r)) => format!(", Athena {}", r["state"].as_str().unwrap_or("?")),
                Some(Err(e)) => format!("; the Athena view was NOT refreshed: {e:#}"),
            };
            log(&format!(
                "run succeeded: {} rows to {} ({} USD, {} errors; dates {}){athena}",
                s.total_records,
                done.output.location,
                s.total_cost,
                s.errors,
                crate::report::dates(s),
            ));
        }
        Err(e) => log(&format!("run failed: {e:#}; the previous output is untouched, waiting for the next run")),
    }
}
