//! The table scan: DynamoDB's parallel scan, one task per segment through
//! the SDK's paginator, each page's items priced as it arrives (so memory
//! grows with the rows, never with the items), the segments' runs merged.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use tally_core::job::{JobSpec, Run};
use tally_core::{Attr, Item};
use tokio::task::JoinSet;

use crate::aws::{describe, Clients};
use crate::large::LargeMessages;
use crate::progress::Progress;

/// Converts an SDK value to the core's.
pub fn attr(v: AttributeValue) -> Attr {
    let blob = |b: aws_smithy_types::Blob| aws_smithy_types::base64::encode(b.as_ref());
    match v {
        AttributeValue::S(s) => Attr::S(s),
        AttributeValue::N(n) => Attr::N(n),
        AttributeValue::B(b) => Attr::B(blob(b)),
        AttributeValue::Bool(b) => Attr::Bool(b),
        AttributeValue::Null(_) => Attr::Null,
        AttributeValue::M(m) => Attr::M(m.into_iter().map(|(k, v)| (k, attr(v))).collect()),
        AttributeValue::L(l) => Attr::L(l.into_iter().map(attr).collect()),
        AttributeValue::Ss(v) => Attr::SS(v),
        AttributeValue::Ns(v) => Attr::NS(v),
        AttributeValue::Bs(v) => Attr::BS(v.into_iter().map(blob).collect()),
        _ => Attr::Null,
    }
}

/// An SDK item as a core item.
pub fn item(map: HashMap<String, AttributeValue>) -> Item {
    Item { attrs: map.into_iter().map(|(k, v)| (k, attr(v))).collect() }
}

/// Pushes one item, with its whole map when it is a large message the run
/// wants whole ([`crate::large`]).
async fn push(run: &mut Run, item: Item, clients: &Clients, large: Option<&LargeMessages>) -> Result<()> {
    let map = crate::large::whole_map(run, &item, Some(clients), large).await?;
    run.push_with_map(&item, map.as_deref());
    Ok(())
}

/// Scans `table` with `segments` parallel segments; the first failure
/// aborts the other segments.
pub async fn scan(
    clients: &Clients,
    table: &str,
    segments: i32,
    spec: &JobSpec,
    large: Option<LargeMessages>,
    gather: crate::jobs::Gather,
    progress: Arc<Progress>,
) -> Result<Run> {
    let segments = segments.max(1);
    let large = large.map(Arc::new);
    let tasks: Vec<_> = (0..segments)
        .map(|segment| {
            let (clients, table, spec, large, progress, gather) =
                (clients.clone(), table.to_string(), spec.clone(), large.clone(), progress.clone(), gather.clone());
            async move {
                let mut run = crate::jobs::new_run(&spec, &gather);
                let mut pages = clients
                    .dynamodb
                    .scan()
                    .table_name(&table)
                    .segment(segment)
                    .total_segments(segments)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page
                        .map_err(|e| anyhow!("{}", describe(&e)))
                        .with_context(|| format!("scan of table {table} failed (segment {segment} of {segments})"))?;
                    let items = page.items.unwrap_or_default();
                    progress.add(items.len() as u64);
                    for map in items {
                        push(&mut run, item(map), &clients, large.as_deref()).await?;
                    }
                    gather.drain(&mut run, false)?;
                }
                gather.drain(&mut run, true)?;
                Ok::<Run, anyhow::Error>(run)
            }
        })
        .collect();
    // The first failing segment stops the others: the run cannot be
    // published anyway, so there is no point scanning the rest of the table.
    let mut tasks: JoinSet<Result<Run>> = tasks.into_iter().collect();
    let mut total: Option<Run> = None;
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(run)) => match &mut total {
                Some(t) => t.merge(run),
                None => total = Some(run),
            },
            Ok(Err(e)) => {
                failure = Some(e);
                break;
            }
            Err(e) => {
                failure = Some(anyhow!("a scan task failed: {e}"));
                break;
            }
        }
    }
    tasks.abort_all();
    progress.finish();
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(total.unwrap_or_else(|| crate::jobs::new_run(spec, &gather)))
}
