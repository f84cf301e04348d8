//! `tally users`: the per-user report (the seeds' ETL-1) over the current
//! table, a dump or an export: the run gathers each user's conversations
//! (core's `users`), the Cognito pool names them, and the CSV is published
//! all or nothing.

use anyhow::Result;
use std::collections::HashMap;
use std::sync::Arc;
use tally_core::dates::Day;
use tally_core::publish::check_scan;
use tally_core::stats::Stats;

use anyhow::anyhow;
use tally_core::csv::write_lines;
use tally_core::users::{push_user, Conversation, Grouper, UserRow, UsersStats, USERS_HEADER};

use crate::cli::{TokenCount, UsersArgs};
use crate::jobs::{inputs, refuse, scan, Ctx, Items};
use crate::location::Place;
use crate::output::Format;
use crate::settings::{self, keys, Job, Layers};
use crate::spill::{settle, Sorted};
use crate::writer::stream_to;

/// What a users run did.
#[derive(Debug)]
pub struct UsersOutput {
    /// Where the report was written.
    pub location: String,
    /// The run's statistics (the conversation rows behind the report).
    pub stats: Stats,
    /// What the report adds up to.
    pub users: UsersStats,
    /// Rows and conversations sorted on disk, beyond --memory.
    pub spilled: u64,
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

/// Scans, groups by user, names the users from `pool`, and publishes, the
/// conversations sorted in bounded memory and the users written as they
/// are grouped.
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
    let (sinks, _) = crate::jobs::sinks(ctx);
    let run = scan(ctx, items, spec, Some(sinks.clone())).await?;
    let sinks = Arc::try_unwrap(sinks).map_err(|_| anyhow!("internal: a worker still holds the rows"))?;
    let conversations = sinks.users.into_inner().map_err(|_| anyhow!("a worker failed"))?;
    let keyed = sinks.rows.into_inner().map_err(|_| anyhow!("a worker failed"))?;
    let settled = settle(keyed, None, None)?;
    let spilled = settled.spilled + conversations.spilled;
    let stats = run.finish_streamed(&settled.totals, settled.by_source, settled.repeated_keys)?;
    check_scan(&stats, &ctx.rules).map_err(|r| refuse(r, &stats))?;
    let tokens = ctx.users.flatten().map_or_else(|| format!("estimator {}", stats.estimator), |t| t.name.into());
    let users = Users {
        conversations: conversations.into_sorted()?,
        grouper: Some(Grouper::default()),
        directory,
        named: 0,
        stats: None,
    };
    let format = ctx.layout.format;
    let mut users = if ctx.dry_run {
        let mut users = users;
        for u in users.by_ref() {
            u?;
        }
        users
    } else {
        stream_to(ctx, out, move |w| {
            let mut users = users;
            match format {
                Format::Csv => write_lines(w, &USERS_HEADER.join(","), users.by_ref(), push_user)?,
                Format::Parquet => {
                    crate::parquet::users_parquet_to(users.by_ref(), &mut *w)?;
                }
            }
            Ok(users)
        })
        .await?
    };
    let mut totals = users.stats.take().unwrap_or_default();
    totals.tokens = tokens;
    totals.named = users.named;
    Ok(UsersOutput { location: out.to_string(), stats, users: totals, spilled })
}

/// The users, grouped from their sorted conversations and named, one at a time.
struct Users {
    conversations: Sorted<Conversation>,
    grouper: Option<Grouper>,
    directory: Option<HashMap<String, (String, String)>>,
    named: u64,
    /// The totals, once every conversation was read.
    stats: Option<UsersStats>,
}

impl Users {
    fn name(&mut self, mut u: UserRow) -> UserRow {
        if let Some((name, email)) = self.directory.as_ref().and_then(|d| d.get(&u.usuario_id)) {
            u.nombre.clone_from(name);
            u.email.clone_from(email);
            self.named += 1;
        }
        u
    }
}

impl Iterator for Users {
    type Item = Result<UserRow>;

    fn next(&mut self) -> Option<Result<UserRow>> {
        loop {
            let grouper = self.grouper.as_mut()?;
            match self.conversations.next() {
                Some(Err(e)) => return Some(Err(e)),
                Some(Ok(c)) => {
                    if let Some(u) = grouper.push(c) {
                        return Some(Ok(self.name(u)));
                    }
                }
                None => {
                    let (last, stats) = self.grouper.take()?.finish();
                    self.stats = Some(stats);
                    return last.map(|u| Ok(self.name(u)));
                }
            }
        }
    }
}
