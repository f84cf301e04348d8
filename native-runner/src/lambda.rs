//! `tally lambda`: the seeds' Lambdas as one function. The Runtime API
//! loop is the official `lambda_runtime` crate's; each event runs the job
//! `TALLY_JOB` names (`archive`, `consolidate`, or `users`: the seed's ETL-1,
//! with its `DYNAMODB_TABLE_NAME`, `S3_BUCKET_NAME` and `OUTPUT_PREFIX`, and
//! bedrock-chat's `USER_POOL_ID`) through the same code as
//! the command line, configured by the seeds' variables
//! (`DYNAMODB_TABLE_NAME`, `S3_BUCKET_NAME`, ...: `settings.rs`).
//!
//! An event may override `start`, `end` (`YYYY-MM-DD`), `estimator` and
//! `dry_run`, and read a dump or a DynamoDB export (`dump`: `s3://...`, as
//! `--dump`) instead of scanning the table; the seed's manual `{}` and an EventBridge scheduled event run
//! the job as configured. The answer has the seed's shape: `statusCode` and
//! a `body` with `message`, `statistics` (those of `--json`) and `s3_file`.
//! A failed run publishes nothing and answers 500 with the error chain; a
//! failed scheduled run is a function error, so that Lambda's asynchronous
//! retries and the dead-letter queue (`deploy/`) apply. Each step logs one
//! JSON line. The Athena refresh stops waiting in time to answer before the
//! invocation's deadline.
//!
//! `TALLY_ENV` names an environment of the `tally.toml` deployed beside the
//! binary (`TALLY_CONFIG`, else `$LAMBDA_TASK_ROOT/tally.toml`): it supplies
//! what the seeds' variables do not (estimator, prices, detail, sse).

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};

use crate::cli::{Cli, Command};
use crate::progress::{json_lines, log_json};

/// The variables the Runtime API loop needs (Lambda sets them).
const RUNTIME_VARS: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

/// Which job the function runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Archive,
    Consolidate,
    Users,
}

impl Function {
    fn from_env() -> Result<Function> {
        match std::env::var("TALLY_JOB").as_deref() {
            Ok("archive") => Ok(Function::Archive),
            Ok("consolidate") => Ok(Function::Consolidate),
            Ok("users") => Ok(Function::Users),
            Ok(other) => bail!("TALLY_JOB must be archive, consolidate or users, not {other:?}"),
            Err(_) => bail!("TALLY_JOB is not set: archive, consolidate or users"),
        }
    }

    fn command(self) -> &'static str {
        match self {
            Function::Archive => "archive",
            Function::Consolidate => "consolidate",
            Function::Users => "users",
        }
    }
}

/// Runs the function until Lambda stops it.
pub async fn run() -> Result<()> {
    let function = Function::from_env()?;
    let missing: Vec<&str> = RUNTIME_VARS.iter().copied().filter(|v| std::env::var_os(v).is_none()).collect();
    if !missing.is_empty() {
        bail!("tally lambda runs inside AWS Lambda (or a Runtime API emulator): {} not set", missing.join(", "));
    }
    json_lines();
    log_json(&json!({ "event": "init", "job": function.command() }));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| answer(function, event)))
        .await
        .map_err(|e| anyhow!("the Lambda runtime stopped: {e}"))
}

/// Answers one event.
async fn answer(function: Function, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    let request = event.context.request_id.clone();
    let scheduled = event.payload.get("source").and_then(Value::as_str) == Some("aws.events");
    log_json(&json!({ "event": "start", "job": function.command(), "request_id": request, "scheduled": scheduled }));
    // The deadline is milliseconds since the epoch; the wait is measured on the monotonic clock.
    let left = std::time::Duration::from_millis(event.context.deadline).checked_sub(crate::clock::since_epoch());
    let stop_by = left.map(|left| std::time::Instant::now() + left.saturating_sub(ANSWER_MARGIN));
    match invoke(function, &event.payload, stop_by).await {
        Ok(body) => {
            log_json(&json!({ "event": "done", "request_id": request, "s3_file": body["s3_file"] }));
            Ok(json!({ "statusCode": 200, "body": body }))
        }
        Err(e) => {
            let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
            log_json(&json!({ "event": "failed", "request_id": request, "error": format!("{e:#}") }));
            let answer = json!({
                "statusCode": 500,
                "body": { "message": format!("the {} job failed: nothing was published", function.command()), "error": chain },
            });
            if scheduled {
                Err(answer.to_string().into())
            } else {
                Ok(answer)
            }
        }
    }
}

/// The command line an event stands for.
fn argv(function: Function, event: &Value) -> Result<Vec<String>> {
    let mut argv = vec!["tally".to_string(), function.command().to_string(), "--json".to_string()];
    for (key, flag) in [("start", "--start"), ("end", "--end"), ("estimator", "--estimator"), ("dump", "--dump")] {
        match event.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(v)) => argv.extend([flag.to_string(), v.clone()]),
            Some(other) => bail!("event field {key:?} must be a string, not {other}"),
        }
    }
    match event.get("dry_run") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => argv.push("--dry-run".into()),
        Some(other) => bail!("event field \"dry_run\" must be true or false, not {other}"),
    }
    // deploy/ ships tally.toml beside the binary and names the environment:
    // what the seeds' variables do not say (estimator, prices, detail, sse)
    // comes from it, under the variables.
    if let Some(env) = set_var("TALLY_ENV") {
        let config = set_var("TALLY_CONFIG")
            .or_else(|| set_var("LAMBDA_TASK_ROOT").map(|root| format!("{root}/tally.toml")))
            .unwrap_or_else(|| "tally.toml".into());
        argv.extend(["--env".into(), env, "--config".into(), config]);
    }
    // The rows' memory follows the function's: half of it (the rest is the
    // process, the reading and the writing); beyond it they spill to /tmp.
    if let Some(mb) = set_var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").and_then(|m| m.parse::<u64>().ok()) {
        argv.extend(["--memory".into(), format!("{}M", (mb / 2).max(1))]);
    }
    // The daily Lambda refreshed the view whenever it knew its database.
    if function == Function::Consolidate && std::env::var_os("ATHENA_DATABASE").is_some() {
        argv.push("--athena".into());
    }
    Ok(argv)
}

/// A variable that is set and not empty.
fn set_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// What is left of an invocation before Lambda stops it, less time to answer.
const ANSWER_MARGIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs the job of one event; the answer's body. `stop_by` ends the Athena
/// wait in time to answer (Lambda's deadline less [`ANSWER_MARGIN`]).
async fn invoke(function: Function, event: &Value, stop_by: Option<std::time::Instant>) -> Result<Value> {
    let argv = argv(function, event)?;
    let cli = Cli::try_parse_from(&argv).context("the event's options")?;
    let today = crate::clock::today_utc();
    let (output, athena, dry_run) = match cli.command {
        Command::Users(u) => {
            let done = crate::users::run(&u, today).await?;
            if !u.common.dry_run {
                log_json(&json!({ "event": "written", "s3_file": done.location, "users": done.users.users }));
            }
            let message = if u.common.dry_run { "dry run: nothing was written" } else { "users report completed" };
            return Ok(json!({
                "message": message, "statistics": done.stats, "users": done.users, "s3_file": done.location
            }));
        }
        Command::Archive(a) => (crate::archive(&a, today).await?, None, a.common.dry_run),
        Command::Consolidate(c) => {
            let done = crate::consolidate(&c, today, stop_by).await?;
            let athena = done.athena_report();
            if let Some(a) = &athena {
                log_json(&json!({ "event": "athena", "result": a }));
            }
            if let Some(Err(e)) = &done.athena {
                bail!("{} was written, but the Athena view was not refreshed: {e:#}", done.output.location);
            }
            (done.output, athena, c.common.dry_run)
        }
        _ => bail!("internal: the event did not make a job"),
    };
    if !dry_run {
        log_json(&json!({ "event": "written", "s3_file": output.location, "records": output.stats.total_records }));
    }
    let message = match (function, dry_run) {
        (_, true) => "dry run: nothing was written".to_string(),
        (Function::Archive, false) => "archival of the old table completed".to_string(),
        (Function::Consolidate, false) => "daily consolidation completed".to_string(),
        (Function::Users, false) => "users report completed".to_string(),
    };
    let mut body = json!({ "message": message, "statistics": output.stats, "s3_file": output.location });
    if let Some(a) = athena {
        body["athena"] = a;
    }
    match &output.detail {
        Some(Ok((location, stats))) => body["detail"] = json!({ "output": location, "stats": stats }),
        Some(Err(e)) => bail!("{} was written, but the detail output was not: {e}", output.location),
        None => {}
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_becomes_the_jobs_options() {
        let args = argv(Function::Archive, &json!({})).expect("empty");
        assert_eq!(args, ["tally", "archive", "--json"]);
        let scheduled = json!({ "source": "aws.events", "detail-type": "Scheduled Event", "detail": {} });
        assert_eq!(argv(Function::Archive, &scheduled).expect("scheduled").len(), 3);
        let over = json!({ "start": "2025-12-01", "end": "2025-12-31", "estimator": "full", "dry_run": true });
        let args = argv(Function::Archive, &over).expect("overrides");
        assert_eq!(
            args,
            [
                "tally",
                "archive",
                "--json",
                "--start",
                "2025-12-01",
                "--end",
                "2025-12-31",
                "--estimator",
                "full",
                "--dry-run"
            ]
        );
        let export = json!({ "dump": "s3://exports/AWSDynamoDB/01/" });
        assert_eq!(
            argv(Function::Consolidate, &export).expect("dump")[3..5],
            ["--dump", "s3://exports/AWSDynamoDB/01/"]
        );
        assert!(argv(Function::Archive, &json!({ "start": 20251201 })).is_err());
        assert!(argv(Function::Archive, &json!({ "dry_run": "yes" })).is_err());
    }
}
