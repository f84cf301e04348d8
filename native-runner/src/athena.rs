//! Athena: the table over the consolidated CSV and the seed's view, and the
//! view refresh after a consolidation (WorkGroup and database only, no
//! ResultConfiguration: a workgroup with managed results refuses one).

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState};

use crate::aws::{describe, Clients};
use crate::output::{Format, Layout, PartitionBy};

/// Names of the Athena objects.
#[derive(Debug, Clone)]
pub struct AthenaNames {
    /// The database (`cat_prod_analytics_db`); the DDL is unqualified without one.
    pub database: Option<String>,
    /// The workgroup (`wg-cat-prod-analytics`).
    pub workgroup: String,
    /// The view (`cat_prod_token_usage_analysis`).
    pub view: String,
    /// The table over the consolidated CSV (`tokens_table_consolidated`).
    pub table: String,
}

fn ident(name: &str) -> Result<&str> {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(name)
    } else {
        bail!("not a valid Athena name: {name:?} (letters, digits, '_' and '-')")
    }
}

/// `CREATE EXTERNAL TABLE` over the folder holding the consolidated CSV.
pub fn table_ddl(names: &AthenaNames, location: &str) -> Result<String> {
    let db = match &names.database {
        Some(db) => format!("`{}`.", ident(db)?),
        None => String::new(),
    };
    Ok(format!(
        "CREATE EXTERNAL TABLE IF NOT EXISTS {db}`{table}` (\n  \
         create_date TIMESTAMP,\n  input_token BIGINT,\n  output_token BIGINT,\n  \
         precio_token_input DECIMAL(10,6),\n  precio_token_output DECIMAL(10,6),\n  total_price DECIMAL(10,6),\n  \
         pk STRING,\n  sk STRING,\n  source STRING\n)\n\
         ROW FORMAT DELIMITED FIELDS TERMINATED BY ','\n\
         LOCATION '{location}'\n\
         TBLPROPERTIES ('skip.header.line.count'='1', 'serialization.null.format'='')",
        table = ident(&names.table)?,
        location = location.replace('\'', "")
    ))
}

/// `CREATE EXTERNAL TABLE` over the Parquet output at `location` (a folder):
/// partitioned by `dt` with partition projection (no crawler, no `MSCK
/// REPAIR`: a new day is queryable as soon as its file is written), or one
/// file.
pub fn parquet_table_ddl(names: &AthenaNames, location: &str, by: PartitionBy) -> Result<String> {
    let db = match &names.database {
        Some(db) => format!("`{}`.", ident(db)?),
        None => String::new(),
    };
    let location = location.replace('\'', "");
    let location = if location.ends_with('/') { location } else { format!("{location}/") };
    let projection = match by {
        PartitionBy::None => String::new(),
        PartitionBy::Day | PartitionBy::Month => {
            // The range is written in the projection's own format.
            let (format, unit, first) = if by == PartitionBy::Day {
                ("yyyy-MM-dd", "DAYS", "1970-01-01")
            } else {
                ("yyyy-MM", "MONTHS", "1970-01")
            };
            format!(
                "PARTITIONED BY (dt STRING)\nSTORED AS PARQUET\nLOCATION '{location}'\nTBLPROPERTIES (\n  \
                 'projection.enabled'='true',\n  'projection.dt.type'='date',\n  'projection.dt.format'='{format}',\n  \
                 'projection.dt.range'='{first},NOW',\n  'projection.dt.interval'='1',\n  \
                 'projection.dt.interval.unit'='{unit}',\n  'storage.location.template'='{location}dt=${{dt}}/'\n)"
            )
        }
    };
    let tail = if projection.is_empty() { format!("STORED AS PARQUET\nLOCATION '{location}'") } else { projection };
    Ok(format!(
        "CREATE EXTERNAL TABLE IF NOT EXISTS {db}`{table}` (\n  \
         create_date TIMESTAMP,\n  input_token BIGINT,\n  output_token BIGINT,\n  \
         precio_token_input DECIMAL(10,6),\n  precio_token_output DECIMAL(10,6),\n  total_price DECIMAL(10,6),\n  \
         pk STRING,\n  sk STRING,\n  source STRING\n)\n{tail}",
        table = ident(&names.table)?,
    ))
}

/// The seed's view: tokens and prices in Spanish column names.
pub fn view_sql(names: &AthenaNames) -> Result<String> {
    Ok(format!(
        "CREATE OR REPLACE VIEW {view} AS\nSELECT\n    create_date,\n    input_token AS \"token pregunta\",\n    \
         output_token AS \"token respuesta\",\n    input_token + output_token AS \"total tokens\",\n    \
         precio_token_input AS \"precio total pregunta\",\n    precio_token_output AS \"precio total respuesta\",\n    \
         total_price AS \"precio total\",\n    source AS \"origen datos\"\nFROM {table}\n\
         WHERE input_token > 0 OR output_token > 0\nORDER BY create_date DESC",
        view = ident(&names.view)?,
        table = ident(&names.table)?
    ))
}

/// What became of the Athena step.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Refresh {
    /// The view's query execution id.
    pub query_execution_id: String,
    /// Its final state.
    pub state: String,
    /// The table's `CREATE EXTERNAL TABLE IF NOT EXISTS` query, when the
    /// output's folder was known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_query_execution_id: Option<String>,
}

/// Creates the table over `location` when it is missing (a first run in a
/// new account), then the view, each waited for; both within `wait`. The
/// table is the CSV's, or the Parquet output's for a Parquet `layout`.
pub async fn refresh(
    clients: &Clients,
    names: &AthenaNames,
    location: Option<&str>,
    layout: Layout,
    wait: Duration,
) -> Result<Refresh> {
    let deadline = tokio::time::Instant::now() + wait;
    let table = match location {
        Some(location) => {
            let ddl = match (layout.format, layout.partition) {
                (Format::Parquet, by) => parquet_table_ddl(names, location, by.unwrap_or(PartitionBy::None))?,
                (Format::Csv, _) => table_ddl(names, location)?,
            };
            Some(run_query(clients, names, ddl, deadline, wait).await.context("cannot create the Athena table")?)
        }
        None => None,
    };
    let id =
        run_query(clients, names, view_sql(names)?, deadline, wait).await.context("cannot refresh the Athena view")?;
    Ok(Refresh { query_execution_id: id, state: "SUCCEEDED".into(), table_query_execution_id: table })
}

/// Starts `sql` (WorkGroup and database only) and waits for it to succeed; its id.
async fn run_query(
    clients: &Clients,
    names: &AthenaNames,
    sql: String,
    deadline: tokio::time::Instant,
    wait: Duration,
) -> Result<String> {
    let database = names.database.as_deref().context(
        "the view refresh needs an Athena database: give --athena-database, ATHENA_DATABASE or athena.database",
    )?;
    let started = clients
        .athena
        .start_query_execution()
        .query_string(sql)
        .query_execution_context(QueryExecutionContext::builder().database(database).build())
        .work_group(&names.workgroup)
        .send()
        .await
        .map_err(|e| anyhow!("{}", describe(&e)))
        .context("cannot start the Athena query")?;
    let id = started.query_execution_id().unwrap_or_default().to_string();
    let mut delay = Duration::from_millis(200);
    loop {
        let got = clients
            .athena
            .get_query_execution()
            .query_execution_id(&id)
            .send()
            .await
            .map_err(|e| anyhow!("{}", describe(&e)))
            .with_context(|| format!("cannot follow Athena query {id}"))?;
        let status = got.query_execution().and_then(|q| q.status());
        let state = status.and_then(|s| s.state()).cloned();
        match state {
            Some(QueryExecutionState::Succeeded) => return Ok(id),
            Some(s @ (QueryExecutionState::Failed | QueryExecutionState::Cancelled)) => {
                let reason = status.and_then(|s| s.state_change_reason()).unwrap_or("no reason given");
                bail!("Athena query {id} {}: {reason}", s.as_str());
            }
            _ if tokio::time::Instant::now() >= deadline => {
                bail!(
                    "Athena query {id} still {} when the refresh's {:?} ran out",
                    state.map_or("unknown".into(), |s| s.as_str().to_string()),
                    wait
                )
            }
            _ => {
                tokio::time::sleep(delay.min(deadline.saturating_duration_since(tokio::time::Instant::now()))).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// The folder of an S3 output, the table's LOCATION (`s3://b/prefix/`).
pub fn folder_of(out: &crate::location::Place) -> Option<String> {
    match out {
        crate::location::Place::S3(url) => {
            let prefix = url.key.rsplit_once('/').map_or("", |(p, _)| p);
            let sep = if prefix.is_empty() { "" } else { "/" };
            Some(format!("s3://{}/{prefix}{sep}", url.bucket))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> AthenaNames {
        AthenaNames {
            database: Some("cat_prod_analytics_db".into()),
            workgroup: "wg-cat-prod-analytics".into(),
            view: "cat_prod_token_usage_analysis".into(),
            table: "tokens_table_consolidated".into(),
        }
    }

    #[test]
    fn ddl_and_view() {
        let ddl = table_ddl(&names(), "s3://b/tokens-analysis/").expect("ddl");
        assert!(
            ddl.starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `cat_prod_analytics_db`.`tokens_table_consolidated`")
        );
        assert!(ddl.contains("'skip.header.line.count'='1'"));
        let unqualified = table_ddl(&AthenaNames { database: None, ..names() }, "s3://b/").expect("ddl");
        assert!(unqualified.starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `tokens_table_consolidated` ("));
        assert_eq!(ddl.matches("DECIMAL(10,6)").count(), 3);
        let view = view_sql(&names()).expect("view");
        assert!(view.starts_with("CREATE OR REPLACE VIEW cat_prod_token_usage_analysis AS"));
        assert!(view.contains("FROM tokens_table_consolidated\nWHERE input_token > 0 OR output_token > 0"));
        let bad = AthenaNames { view: "x; DROP".into(), ..names() };
        assert!(view_sql(&bad).is_err());
        let place = |t: &str| crate::location::Place::parse(t);
        assert_eq!(folder_of(&place("s3://b/tokens-analysis/x.csv")).as_deref(), Some("s3://b/tokens-analysis/"));
        assert_eq!(folder_of(&place("s3://b/x.csv")).as_deref(), Some("s3://b/"));
        assert_eq!(folder_of(&place("x.csv")), None);
    }

    #[test]
    fn the_parquet_table_projects_its_partitions() {
        let ddl = parquet_table_ddl(&names(), "s3://b/tokens-analysis-parquet", PartitionBy::Day).expect("ddl");
        assert!(
            ddl.contains("PARTITIONED BY (dt STRING)\nSTORED AS PARQUET\nLOCATION 's3://b/tokens-analysis-parquet/'")
        );
        assert!(
            ddl.contains("'projection.dt.format'='yyyy-MM-dd'") && ddl.contains("'projection.dt.interval.unit'='DAYS'")
        );
        assert!(ddl.contains("'storage.location.template'='s3://b/tokens-analysis-parquet/dt=${dt}/'"));
        assert_eq!(ddl.matches("DECIMAL(10,6)").count(), 3);
        let month = parquet_table_ddl(&names(), "s3://b/p/", PartitionBy::Month).expect("ddl");
        assert!(month.contains("'projection.dt.format'='yyyy-MM'") && month.contains("'MONTHS'"));
        assert!(month.contains("'projection.dt.range'='1970-01,NOW'"), "{month}");
        assert!(ddl.contains("'projection.dt.range'='1970-01-01,NOW'"));
        let one = parquet_table_ddl(&names(), "s3://b/p/", PartitionBy::None).expect("ddl");
        assert!(one.ends_with(")\nSTORED AS PARQUET\nLOCATION 's3://b/p/'") && !one.contains("projection"), "{one}");
    }
}
