//! `tally users` end to end: over the fixtures' dumps (held against the
//! spec's expected rows and the feedback the dump holds), and against the
//! emulator: the table scanned, the large messages read from their bucket,
//! the names and emails from a Cognito user pool, the report written to S3.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::process::Output;

use rust_decimal::Decimal;
use support::moto::{aws_env, Aws, Moto};
use support::*;
use tally_core::csv::Records;
use tally_core::users::USERS_HEADER;

/// The cells of each record of a CSV, the header first.
fn records(csv: &[u8]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut records = Records::new(csv);
    while let Some((_, _, fields)) = records.next_record() {
        out.push((0..fields.len()).map(|k| String::from_utf8(fields.get(k).to_vec()).unwrap()).collect());
    }
    out
}

/// The report's rows by user id, each as (column → cell).
fn users(csv: &[u8]) -> BTreeMap<String, BTreeMap<&'static str, String>> {
    let records = records(csv);
    assert_eq!(records[0], USERS_HEADER, "the seed's twelve columns, in its order");
    records[1..]
        .iter()
        .map(|r| {
            assert_eq!(r.len(), 12, "{r:?}");
            (r[0].clone(), USERS_HEADER.iter().copied().zip(r.iter().cloned()).collect())
        })
        .collect()
}

fn count(haystack: &[u8], needle: &str) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle.as_bytes()).count()
}

#[test]
fn users_of_a_bedrock_chat_table_add_up_to_its_rows_and_its_feedback() {
    let dir = fixture("bedrock_chat");
    let dump = dir.join("conversation_table.jsonl");
    let scratch = Scratch::new("users-bedrock-chat");
    let out = scratch.path("users.csv");
    let report = tally_ok(&[
        "users",
        "--dump",
        dump.to_str().unwrap(),
        "--large-message-bucket",
        dir.join("large_messages").to_str().unwrap(),
        "--start",
        "2025-12-01",
        "--end",
        "2026-12-01",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let csv = read(&out);
    let users = users(&csv);
    // Each user's conversations, tokens and cost are the spec's rows of their #CONV# items.
    let expected = records(&read(&dir.join("expected_v2.csv")));
    let mut want: BTreeMap<String, (u64, u64, Decimal)> = BTreeMap::new();
    for row in &expected[1..] {
        if row[7].contains("#CONV#") {
            let e = want.entry(row[6].clone()).or_default();
            e.0 += 1;
            e.1 += row[1].parse::<u64>().unwrap() + row[2].parse::<u64>().unwrap();
            e.2 += row[5].parse::<Decimal>().unwrap();
        }
    }
    let got: BTreeMap<String, (u64, u64, Decimal)> = users
        .iter()
        .map(|(id, u)| {
            let n = u["numero_conversaciones"].parse().unwrap();
            (id.clone(), (n, u["tokens_total"].parse().unwrap(), u["costo_estimado_usd"].parse().unwrap()))
        })
        .collect();
    assert_eq!(got, want);
    // Every like and dislike the table holds (none is only in the bucket's copies).
    let raw = read(&dump);
    let sum = |col: &str| users.values().map(|u| u[col].parse::<usize>().unwrap()).sum::<usize>();
    assert_eq!(sum("feedback_likes"), count(&raw, r#"thumbs_up\": true"#));
    assert_eq!(sum("feedback_dislikes"), count(&raw, r#"thumbs_up\": false"#));
    for u in users.values() {
        let (likes, dislikes) = (u["feedback_likes"].as_str(), u["feedback_dislikes"].as_str());
        let rating = u["feedback_ultima_respuesta"].as_str();
        match (likes != "0", dislikes != "0") {
            (false, false) => assert_eq!(rating, ""),
            (true, false) => assert_eq!(rating, "like"),
            (false, true) => assert_eq!(rating, "dislike"),
            (true, true) => assert!(["like", "dislike", "mixed"].contains(&rating), "{rating}"),
        }
        let questions: Vec<String> = serde_json::from_str(&u["lista_preguntas"]).unwrap();
        assert!(u["fecha_primera_conversacion"] <= u["fecha_ultima_conversacion"]);
        assert!(questions.iter().all(|q| !q.is_empty()));
    }
    let questions: usize =
        users.values().map(|u| serde_json::from_str::<Vec<String>>(&u["lista_preguntas"]).unwrap().len()).sum();
    assert_eq!(report["users"]["questions"], questions);
    assert_eq!(report["users"]["users"], users.len());
    assert_eq!(report["users"]["conversations"], 120);
    // The large messages' questions are read from the bucket: without it there are fewer.
    let without = scratch.path("without.csv");
    tally_ok(&["users", "--dump", dump.to_str().unwrap(), "--out", without.to_str().unwrap(), "--end", "2026-12-01"]);
    let fewer: usize = self::users(&read(&without))
        .values()
        .map(|u| serde_json::from_str::<Vec<String>>(&u["lista_preguntas"]).unwrap().len())
        .sum();
    assert!(fewer < questions, "{fewer} questions without the bucket, {questions} with it");
    // cl100k counts differently from chars/4, and prices what it counts.
    let cl100k = scratch.path("cl100k.csv");
    tally_ok(&["users", "--dump", dump.to_str().unwrap(), "--out", cl100k.to_str().unwrap(), "--tokenizer", "cl100k"]);
    let counted = self::users(&read(&cl100k));
    assert_eq!(counted.len(), users.len());
    assert!(counted.iter().all(|(id, u)| u["tokens_total"] != users[id]["tokens_total"] || u["tokens_total"] == "0"));
}

#[test]
fn the_users_report_refuses_what_would_lose_data() {
    let scratch = Scratch::new("users-refusals");
    let dump = fixture("new_table.jsonl");
    let out = scratch.path("users.csv");
    // The output cannot be the input, and --detail is not this job's.
    let o = tally(&["users", "--dump", dump.to_str().unwrap(), "--out", dump.to_str().unwrap()]);
    assert!(!o.status.success());
    let o = tally(&["users", "--dump", dump.to_str().unwrap(), "--out", out.to_str().unwrap(), "--detail", "d.csv"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no detail rows"));
    // An empty input publishes nothing.
    let empty = scratch.path("empty.jsonl");
    std::fs::write(&empty, b"").unwrap();
    let o = tally(&["users", "--dump", empty.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(!o.status.success() && !out.exists(), "{}", String::from_utf8_lossy(&o.stderr));
    // Bad lines are counted and named; the rest is written.
    let mut text = read(&dump);
    text.extend_from_slice(b"{\"Item\": not json}\n");
    let bad = scratch.path("bad.jsonl");
    std::fs::write(&bad, &text).unwrap();
    let o = tally(&["users", "--dump", bad.to_str().unwrap(), "--out", out.to_str().unwrap(), "--end", "2026-12-01"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 601"), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!users(&read(&out)).is_empty());
}

fn tally_aws(moto: &Moto, args: &[&str]) -> Output {
    let mut cmd = tally_command();
    cmd.args(args);
    for (k, v) in aws_env(&moto.url()) {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn users_from_the_table_are_named_by_the_user_pool_and_written_to_s3() {
    let moto = Moto::start();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let aws = rt.block_on(Aws::new(&moto.url()));
    let (table, large, bucket) = ("users-table", "users-large", "users-reports");
    let dir = fixture("bedrock_chat");
    let dump = read(&dir.join("conversation_table.jsonl"));
    let first_pks: Vec<String> = records(&read(&dir.join("expected_v2.csv")))[1..]
        .iter()
        .map(|r| r[6].clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .take(2)
        .collect();
    let pool = rt.block_on(async {
        let pool = aws.create_user_pool("bedrock-chat-users").await;
        // More users than a ListUsers page holds (60).
        for k in 0..63 {
            let email = format!("user{k}@example.com");
            aws.create_user(&pool, &format!("user-{k}"), &[("email", &email), ("name", &format!("User {k}"))]).await;
        }
        pool
    });
    // bedrock-chat keys conversations by the Cognito `sub`: the table's users get the pool's subs.
    let sub_a = rt.block_on(aws.create_user(&pool, "ana", &[("email", "ana@example.com"), ("name", "Ana Pérez")]));
    let sub_b = rt.block_on(aws.create_user(
        &pool,
        "bo",
        &[("email", "=cmd|' /C calc'!A0"), ("given_name", "Bo"), ("family_name", "\"Quoted\", Jr.")],
    ));
    let text = String::from_utf8(dump).unwrap().replace(&first_pks[0], &sub_a).replace(&first_pks[1], &sub_b);
    rt.block_on(async {
        aws.create_table(table).await;
        aws.create_bucket(large).await;
        aws.create_bucket(bucket).await;
        aws.load_table(table, text.as_bytes()).await;
        for (key, bytes) in files_under(&dir.join("large_messages")) {
            let key = key.replace(&first_pks[0], &sub_a).replace(&first_pks[1], &sub_b);
            aws.put(large, &key, bytes).await;
        }
    });
    let o = tally_aws(
        &moto,
        &[
            "users",
            "--table",
            table,
            "--large-message-bucket",
            large,
            "--user-pool-id",
            &pool,
            "--out",
            &format!("s3://{bucket}/reports/etl-process1/users.csv"),
            "--end",
            "2026-12-01",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["users"]["named"], 2, "{report}");
    let csv = rt.block_on(aws.get(bucket, "reports/etl-process1/users.csv"));
    let users = users(&csv);
    assert_eq!((users[&sub_a]["nombre"].as_str(), users[&sub_a]["email"].as_str()), ("Ana Pérez", "ana@example.com"));
    assert_eq!(
        (users[&sub_b]["nombre"].as_str(), users[&sub_b]["email"].as_str()),
        ("Bo \"Quoted\", Jr.", "=cmd|' /C calc'!A0")
    );
    assert!(users.iter().filter(|(id, _)| **id != sub_a && **id != sub_b).all(|(_, u)| u["nombre"].is_empty()));
    // The same report as from the dump and a local copy of the bucket, but for the names.
    let scratch = Scratch::new("users-table");
    std::fs::write(scratch.path("dump.jsonl"), &text).unwrap();
    let folder = scratch.path("large");
    for (key, bytes) in files_under(&dir.join("large_messages")) {
        let key = key.replace(&first_pks[0], &sub_a).replace(&first_pks[1], &sub_b);
        let path = folder.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let local = scratch.path("users.csv");
    tally_ok(&[
        "users",
        "--dump",
        scratch.path("dump.jsonl").to_str().unwrap(),
        "--large-message-bucket",
        folder.to_str().unwrap(),
        "--out",
        local.to_str().unwrap(),
        "--end",
        "2026-12-01",
    ]);
    let mut unnamed = users.clone();
    for u in unnamed.values_mut() {
        u.insert("nombre", String::new());
        u.insert("email", String::new());
    }
    assert_eq!(self::users(&read(&local)), unnamed);
    // A pool that does not exist fails before the scan, and nothing is written.
    let o = tally_aws(
        &moto,
        &["users", "--table", table, "--user-pool-id", "us-east-1_nothere", "--out", &format!("s3://{bucket}/x.csv")],
    );
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("user pool"));
    assert!(rt.block_on(aws.get_optional(bucket, "x.csv")).is_none());
}
