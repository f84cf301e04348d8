//! Rule cases of the users report (`core/src/users.rs`, README "The users
//! report"), each written by hand with the row it must give. Tokens are
//! counted by a tokenizer that counts characters, so every figure can be
//! computed on paper; the estimator's own counts are checked against the
//! run's rows.
#![allow(clippy::disallowed_macros, clippy::disallowed_methods, clippy::unwrap_used)]

use rust_decimal::Decimal;
use serde_json::{json, Value};
use tally_core::csv::Records;
use tally_core::dates::{DateRange, Day};
use tally_core::estimate::Estimator;
use tally_core::item::{item_from_json, Item};
use tally_core::job::{JobSpec, Run};
use tally_core::pricing::Prices;
use tally_core::users::{name_users, questions_json, write_users_csv, Rating, Tokenizer, UserRow, USERS_HEADER};

const CHARS: Tokenizer = Tokenizer { name: "chars", count: |t| t.chars().count() as u64 };

fn spec() -> JobSpec {
    JobSpec {
        estimator: Estimator::V2,
        source: "new_table".into(),
        range: DateRange { start: Day::parse("2025-01-01").unwrap(), end: Day::parse("2026-12-31") },
        prices: Prices::default(),
    }
}

/// `2026-03-DD hh:00:00` UTC in milliseconds.
fn at(day: u32, hour: u32) -> f64 {
    let day = Day::parse(&format!("2026-03-{day:02}")).unwrap().0 as f64;
    (day * 86_400.0 + f64::from(hour) * 3600.0) * 1000.0
}

fn text(body: &str) -> Value {
    json!({"content_type": "text", "body": body})
}

/// A message node.
fn node(role: &str, time: f64, content: Vec<Value>, feedback: Option<bool>) -> Value {
    json!({
        "role": role, "content": content, "model": "claude-v3.5-sonnet", "children": [], "parent": null,
        "create_time": time,
        "feedback": feedback.map(|up| json!({"thumbs_up": up, "category": "", "comment": ""})),
        "used_chunks": null, "thinking_log": null,
    })
}

/// A conversation item of `pk` created at `created` (ms) with `nodes`.
fn conversation(pk: &str, id: &str, created: f64, nodes: &[(&str, Value)]) -> Value {
    let mut map = serde_json::Map::new();
    map.insert("system".into(), node("system", created, vec![text("")], None));
    for (k, v) in nodes {
        map.insert((*k).to_string(), v.clone());
    }
    json!({
        "PK": {"S": pk}, "SK": {"S": format!("{pk}#CONV#{id}")}, "CreateTime": {"N": created.to_string()},
        "MessageMap": {"S": Value::Object(map).to_string()}, "TotalPrice": {"N": "0.5"},
    })
}

fn item(v: &Value) -> Item {
    item_from_json(v.to_string().as_bytes()).unwrap()
}

/// The report of `items` (each with its large map, if any).
fn report(items: &[(Value, Option<Value>)], tokenizer: Option<Tokenizer>) -> Vec<UserRow> {
    let mut run = Run::new(spec()).with_users(tokenizer);
    for (i, large) in items {
        let large = large.as_ref().map(Value::to_string);
        run.push_with_map(&item(i), large.as_deref());
    }
    run.take_users().unwrap().finish().0
}

fn usd(text: &str) -> Decimal {
    text.parse().unwrap()
}

#[test]
fn feedback_counts_likes_and_dislikes_and_classifies_the_latest_rated_conversation() {
    let rows = report(
        &[
            // a: rated conversations on the 1st (likes only) and the 3rd (both): mixed.
            (
                conversation(
                    "a",
                    "1",
                    at(1, 9),
                    &[
                        ("u1", node("user", at(1, 9), vec![text("q1")], None)),
                        ("b1", node("assistant", at(1, 9) + 1.0, vec![text("r1")], Some(true))),
                        ("b2", node("assistant", at(1, 9) + 2.0, vec![text("r2")], Some(true))),
                    ],
                ),
                None,
            ),
            (
                conversation(
                    "a",
                    "3",
                    at(3, 9),
                    &[
                        ("u1", node("user", at(3, 9), vec![text("q3")], None)),
                        ("b1", node("assistant", at(3, 9) + 1.0, vec![text("r")], Some(false))),
                        ("b2", node("assistant", at(3, 9) + 2.0, vec![text("r")], Some(true))),
                    ],
                ),
                None,
            ),
            // a's latest conversation has no feedback: it does not change the classification.
            (conversation("a", "4", at(4, 9), &[("u1", node("user", at(4, 9), vec![text("q4")], None))]), None),
            // b: a like long ago, then a dislike: dislike.
            (
                conversation("b", "1", at(1, 9), &[("b1", node("assistant", at(1, 9), vec![text("r")], Some(true)))]),
                None,
            ),
            (
                conversation("b", "2", at(2, 9), &[("b1", node("assistant", at(2, 9), vec![text("r")], Some(false)))]),
                None,
            ),
            // c: never rated; a feedback without a boolean thumbs_up is no rating.
            (
                {
                    let mut c = conversation("c", "1", at(1, 9), &[("b1", node("assistant", at(1, 9), vec![], None))]);
                    let map = c["MessageMap"]["S"].as_str().unwrap();
                    let unrated = map.replace("\"feedback\":null", "\"feedback\":{\"thumbs_up\":null}");
                    assert_ne!(unrated, map);
                    c["MessageMap"]["S"] = Value::String(unrated);
                    c
                },
                None,
            ),
        ],
        None,
    );
    let summary: Vec<(&str, u64, u64, Option<Rating>)> =
        rows.iter().map(|r| (r.usuario_id.as_str(), r.likes, r.dislikes, r.rating)).collect();
    assert_eq!(summary, [("a", 3, 1, Some(Rating::Mixed)), ("b", 1, 1, Some(Rating::Dislike)), ("c", 0, 0, None)]);
}

#[test]
fn conversations_and_questions_come_in_time_order() {
    let rows = report(
        &[
            // Written in the wrong order on purpose; "b" sorts before "a" by SK but is later.
            (
                conversation(
                    "u",
                    "b",
                    at(5, 10),
                    &[
                        // Nodes out of time order in the map; the edited question's first version counts too.
                        ("n2", node("user", at(5, 12), vec![text("third")], None)),
                        ("n1", node("user", at(5, 11), vec![text("second, first version")], None)),
                        ("n0", node("user", at(5, 11), vec![text("second, edited")], None)),
                    ],
                ),
                None,
            ),
            (conversation("u", "a", at(2, 10), &[("n1", node("user", at(2, 10), vec![text("first")], None))]), None),
        ],
        None,
    );
    assert_eq!(rows.len(), 1);
    let u = &rows[0];
    // Same time: ties by node id (n0 before n1).
    assert_eq!(u.questions, ["first", "second, edited", "second, first version", "third"]);
    assert_eq!(u.conversations, 2);
    assert_eq!(u.first, Some((at(2, 10) / 1000.0) as i64));
    // The latest activity is the latest message, not the latest conversation's creation.
    assert_eq!(u.last, Some((at(5, 12) / 1000.0) as i64));
}

#[test]
fn questions_are_the_text_of_user_messages_only() {
    let image = json!({"content_type": "image", "media_type": "image/png", "body": "iVBORw0KGgo="});
    let attachment = json!({"content_type": "attachment", "file_name": "a.txt", "body": "aGVsbG8="});
    let tool_result = json!({"content_type": "toolResult", "body": {"toolUseId": "t1", "content": [{"text": "42"}]}});
    let tool_use = json!({"content_type": "toolUse", "body": {"toolUseId": "t1", "name": "calc", "input": {}}});
    let rows = report(
        &[(
            conversation(
                "u",
                "1",
                at(1, 9),
                &[
                    // Two text blocks and an image: one question, its texts joined by a newline.
                    (
                        "m1",
                        node("user", at(1, 9), vec![text("look at this"), image.clone(), text("what is it?")], None),
                    ),
                    // An image alone, an attachment alone, an empty text, a tool result: no question.
                    ("m2", node("user", at(1, 10), vec![image], None)),
                    ("m3", node("user", at(1, 11), vec![attachment], None)),
                    ("m4", node("user", at(1, 12), vec![text("")], None)),
                    ("m5", node("user", at(1, 13), vec![tool_result], None)),
                    // The assistant's text and tool use are answers, not questions.
                    ("m6", node("assistant", at(1, 14), vec![tool_use, text("the answer")], None)),
                    ("m7", node("instruction", at(1, 8), vec![text("You are a bot")], None)),
                ],
            ),
            None,
        )],
        None,
    );
    assert_eq!(rows[0].questions, ["look at this\nwhat is it?"]);
}

#[test]
fn a_user_without_questions_still_has_a_row() {
    let mut no_map = conversation("quiet", "1", at(1, 9), &[]);
    no_map.as_object_mut().unwrap().remove("MessageMap");
    let rows = report(&[(no_map, None)], None);
    assert_eq!(rows.len(), 1);
    let u = &rows[0];
    assert_eq!((u.conversations, u.questions.len(), u.likes, u.dislikes, u.rating), (1, 0, 0, 0, None));
    // A conversation without a map costs what it recorded (spec section 3), tokens 0.
    assert_eq!((u.tokens, u.cost), (0, usd("0.500000")));
    let mut csv = Vec::new();
    write_users_csv(&mut csv, &rows).unwrap();
    let line = String::from_utf8(csv).unwrap().lines().nth(1).unwrap().to_string();
    assert_eq!(line, "quiet,,,2026-03-01 09:00:00,2026-03-01 09:00:00,1,[],0,0,,0,0.500000");
}

#[test]
fn items_that_are_not_conversations_and_dates_outside_the_range_are_left_out() {
    let mut bot = conversation("u", "x", at(1, 9), &[("m", node("user", at(1, 9), vec![text("bot?")], None))]);
    bot["SK"] = json!({"S": "u#BOT#x"});
    let mut related = bot.clone();
    related["SK"] = json!({"S": "u#RELATED_DOCUMENT#1#m@0"});
    let mut old = conversation("u", "old", at(1, 9), &[("m", node("user", at(1, 9), vec![text("old")], None))]);
    old["CreateTime"] = json!({"N": "1600000000000"});
    let kept = conversation("u", "1", at(2, 9), &[("m", node("user", at(2, 9), vec![text("kept")], None))]);
    let rows = report(&[(bot, None), (related, None), (old, None), (kept, None)], None);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].conversations, rows[0].questions.clone()), (1, vec!["kept".to_string()]));
}

#[test]
fn a_tokenizer_counts_user_text_as_input_and_assistant_text_as_output() {
    let rows = report(
        &[(
            conversation(
                "u",
                "1",
                at(1, 9),
                &[
                    ("m1", node("user", at(1, 9), vec![text("12345"), text("67890")], None)),
                    ("m2", node("assistant", at(1, 10), vec![text("abcdefghij"), text("klmnopqrst")], None)),
                    ("m3", node("system", at(1, 8), vec![text("not counted")], None)),
                ],
            ),
            None,
        )],
        Some(CHARS),
    );
    // 10 input and 20 output characters: 30 tokens, 10 × 0.003/1000 + 20 × 0.015/1000 = 0.00033.
    assert_eq!((rows[0].tokens, rows[0].cost), (30, usd("0.000330")));
}

#[test]
fn the_estimators_tokens_and_cost_are_the_users_rows() {
    let items = [
        conversation("u", "1", at(1, 9), &[("m1", node("user", at(1, 9), vec![text("hello there")], None))]),
        conversation("u", "2", at(2, 9), &[("m2", node("assistant", at(2, 9), vec![text("a long answer")], None))]),
    ];
    let mut run = Run::new(spec()).with_users(None);
    for i in &items {
        run.push(&item(i));
    }
    let users = run.take_users().unwrap().finish().0;
    let (rows, _) = run.finish().unwrap();
    let tokens: u64 = rows.iter().map(|r| r.input_token + r.output_token).sum();
    let cost: Decimal = rows.iter().map(|r| r.total_price).sum();
    assert!(tokens > 0);
    assert_eq!((users[0].tokens, users[0].cost), (tokens, cost));
}

#[test]
fn a_large_message_is_read_from_the_bucket_with_dynamodbs_later_feedback() {
    let whole = [
        ("u1", node("user", at(1, 9), vec![text("a question too long for the item")], None)),
        ("b1", node("assistant", at(1, 10), vec![text("answer")], None)),
        ("u2", node("user", at(1, 11), vec![text("and another")], None)),
        ("b2", node("assistant", at(1, 12), vec![text("answer")], Some(false))),
    ];
    let bucket_map = {
        let c = conversation("u", "1", at(1, 9), &whole);
        serde_json::from_str::<Value>(c["MessageMap"]["S"].as_str().unwrap()).unwrap()
    };
    // What DynamoDB holds: only the system node when the map went to the bucket...
    let mut stub = conversation("u", "1", at(1, 9), &[]);
    stub["IsLargeMessage"] = json!({"BOOL": true});
    let rows = report(&[(stub.clone(), Some(bucket_map.clone()))], None);
    assert_eq!(rows[0].questions, ["a question too long for the item", "and another"]);
    assert_eq!((rows[0].likes, rows[0].dislikes), (0, 1));
    // ...or, after a feedback update, the whole map again with the newer feedback (b1 liked, b2 now liked).
    let mut updated = whole.clone();
    updated[1].1 = node("assistant", at(1, 10), vec![text("answer")], Some(true));
    updated[3].1 = node("assistant", at(1, 12), vec![text("answer")], Some(true));
    let mut rewritten = conversation("u", "1", at(1, 9), &updated);
    rewritten["IsLargeMessage"] = json!({"BOOL": true});
    let rows = report(&[(rewritten, Some(bucket_map))], None);
    assert_eq!((rows[0].likes, rows[0].dislikes, rows[0].rating), (2, 0, Some(Rating::Like)));
    assert_eq!(rows[0].questions.len(), 2);
    // Without the bucket, only what DynamoDB holds: no questions.
    let rows = report(&[(stub, None)], None);
    assert!(rows[0].questions.is_empty());
}

#[test]
fn a_hostile_question_stays_one_csv_cell_and_one_json_string() {
    let hostile = format!("=cmd|' /C calc'!A0\n\"quoted\", comma\r\n{}\u{0}\u{1b}[2K end", "x".repeat(1 << 20));
    let rows = report(
        &[(conversation("u,\"1\"", "1", at(1, 9), &[("m", node("user", at(1, 9), vec![text(&hostile)], None))]), None)],
        None,
    );
    let mut csv = Vec::new();
    write_users_csv(&mut csv, &rows).unwrap();
    let mut records = Records::new(&csv);
    let (_, _, header) = records.next_record().unwrap();
    assert_eq!(header.len(), USERS_HEADER.len());
    let (_, _, fields) = records.next_record().unwrap();
    assert_eq!(fields.len(), 12, "one record of twelve cells");
    assert_eq!(fields.get(0), b"u,\"1\"");
    let list: Vec<String> = serde_json::from_slice(fields.get(6)).unwrap();
    assert_eq!(list, std::slice::from_ref(&hostile));
    assert_eq!(fields.get(6), questions_json(&[hostile]).as_bytes());
    assert!(records.next_record().is_none(), "nothing after the one row");
}

#[test]
fn the_user_pool_names_the_users_it_knows() {
    let mut rows = report(
        &[(conversation("sub-1", "1", at(1, 9), &[]), None), (conversation("sub-2", "1", at(1, 9), &[]), None)],
        None,
    );
    let directory = [("sub-1".to_string(), ("Ana Pérez".to_string(), "ana@example.com".to_string()))].into();
    assert_eq!(name_users(&mut rows, &directory), 1);
    assert_eq!((rows[0].nombre.as_str(), rows[0].email.as_str()), ("Ana Pérez", "ana@example.com"));
    assert_eq!((rows[1].nombre.as_str(), rows[1].email.as_str()), ("", ""));
}
