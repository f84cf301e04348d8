//! `tally users`: the per-user report (the seeds' ETL-1) over the current
//! table, a dump or an export: the run gathers each user's conversations
//! (core's `users`), the Cognito pool names them, and the CSV is published
//! all or nothing.

use anyhow::{Context, Result};
use tally_core::dates::Day;
use tally_core::publish::check_scan;
use tally_core::stats::Stats;
use tally_core::users::{name_users, write_users_csv, UsersStats};

use crate::cli::{TokenCount, UsersArgs};
use crate::jobs::{inputs, publish_bytes, refuse, scan, Ctx, Items};
use crate::location::Place;
use crate::output::Format;
use crate::settings::{self, keys, Job, Layers};

/// What a users run did.
#[derive(Debug)]
pub struct UsersOutput {
    /// Where the report was written.
    pub location: String,
    /// The run's statistics (the conversation rows behind the report).
    pub stats: Stats,
    /// What the report adds up to.
    pub users: UsersStats,
}

/// Runs the users report as configured; `today` names the default output
/// (and ends a v2 run without --end).
pub async fn run(u: &UsersArgs, today: Day) -> Result<UsersOutput> {
    let env = u.common.env.environment()?;
    let layers = Layers::new(&settings::process_vars, env.as_ref());
    let job = u.common.resolve(Job::Users, u.estimator, &layers, today)?;
    let pool = layers.text(u.user_pool_id.as_ref(), &keys::USER_POOL_ID);
    let mut ctx = u.common.ctx(&layers)?;
    ctx.layout = job.layout;
    ctx.users = Some(match u.tokenizer {
        TokenCount::Estimator => None,
        TokenCount::Cl100k => Some(crate::tokenizer::CL100K),
    });
    report(&ctx, &job.items, &job.spec, &job.out, pool.as_deref()).await
}

/// Scans, groups by user, names the users from `pool`, and publishes.
async fn report(
    ctx: &Ctx,
    items: &Items,
    spec: &tally_core::JobSpec,
    out: &Place,
    pool: Option<&str>,
) -> Result<UsersOutput> {
    crate::guard::distinct(out, &inputs(items, None))?;
    // The pool first: a scan is long, and its names are part of every row.
    let directory = match pool {
        Some(pool) => Some(crate::cognito::directory(&ctx.clients().await.cognito, pool).await?),
        None => None,
    };
    let mut run = scan(ctx, items, spec).await?;
    let gathered = run.take_users().context("internal: the run did not gather the users")?;
    let (_, stats) = run.finish()?;
    check_scan(&stats, &ctx.rules).map_err(|r| refuse(r, &stats))?;
    let (mut rows, mut users) = gathered.finish();
    users.tokens = ctx.users.flatten().map_or_else(|| format!("estimator {}", stats.estimator), |t| t.name.into());
    if let Some(directory) = &directory {
        users.named = name_users(&mut rows, directory);
    }
    if !ctx.dry_run {
        let bytes = match ctx.layout.format {
            Format::Csv => {
                let mut bytes = Vec::with_capacity(rows.len() * 400 + 200);
                write_users_csv(&mut bytes, &rows)?;
                bytes
            }
            Format::Parquet => crate::parquet::users_parquet(&rows)?,
        };
        publish_bytes(ctx, out, bytes).await?;
    }
    Ok(UsersOutput { location: out.to_string(), stats, users })
}
