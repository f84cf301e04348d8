//! The detail output: one row per conversation, the seed's nine columns
//! and then who and what it cost: `bot_id`, `model`, `models`, `turns`,
//! `last_date`, `recorded_price` (bedrock-chat's `TotalPrice`), and the
//! [`billed`](crate::billed) tokens and price.
//!
//! Retrieved chunks live in other items of the table
//! (`<PK>#RELATED_DOCUMENT#<conversation>#<message>@<n>`), so rows are
//! completed at the end of the run, when every item has been seen.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Write};

use rust_decimal::Decimal;

use crate::billed::{bill, Billing};
use crate::csv::{push_field, push_row, write_lines, Row, HEADER};
use crate::dates::write_datetime;
use crate::estimate::tokens_for_chars;
use crate::item::{Attr, Item};
use crate::messagemap::MessageMap;
use crate::numtext;
use crate::pricebook::{exact_cost, PriceBook, Priced};
use crate::pricing::round6;
use crate::pyrepr::chars;

/// The columns after the seed's nine.
pub const DETAIL_COLUMNS: [&str; 9] = [
    "bot_id",
    "model",
    "models",
    "turns",
    "last_date",
    "recorded_price",
    "billed_input_token",
    "billed_output_token",
    "billed_price",
];

/// One conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailRow {
    /// The seed's row.
    pub row: Row,
    /// `BotId` (empty without a bot).
    pub bot_id: String,
    /// The model of most assistant turns (ties: the first by name).
    pub model: String,
    /// Every model of its turns, by name, `;`-separated.
    pub models: String,
    /// Assistant messages on the active path (the other branches are billed too).
    pub turns: u32,
    /// The last turn's time (seconds).
    pub last_date: Option<i64>,
    /// `TotalPrice`, 6 decimals (none when the item has none).
    pub recorded_price: Option<Decimal>,
    /// Tokens sent over every call.
    pub billed_input_token: u64,
    /// Tokens produced over every call.
    pub billed_output_token: u64,
    /// Every call at the price of its model and day, summed, rounded once.
    pub billed_price: Decimal,
}

/// A conversation waiting for the end of the run (its retrieved chunks may
/// come later in the scan; a host may spill these, sorted by
/// [`pending_order`], and finish them with a [`Finisher`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The seed's row.
    pub row: Row,
    /// `BotId`.
    pub bot_id: String,
    /// `TotalPrice`.
    pub recorded: Option<Decimal>,
    /// Its model calls.
    pub billing: Billing,
    /// The last turn's time (seconds).
    pub last_date: Option<i64>,
}

impl Pending {
    /// (PK, conversation id): what its chunks name.
    pub fn key(&self) -> (&str, &str) {
        (&self.row.pk, conversation_id(&self.row.sk).unwrap_or(""))
    }
}

/// A retrieved chunk (a `#RELATED_DOCUMENT#` item) for a turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The user.
    pub pk: String,
    /// The conversation id.
    pub conversation: String,
    /// The turn (message id) it was retrieved for.
    pub message: String,
    /// Its tokens.
    pub tokens: u64,
}

/// Conversations by (PK, conversation id), then the seed's order.
pub fn pending_order(a: &Pending, b: &Pending) -> std::cmp::Ordering {
    a.key().cmp(&b.key()).then_with(|| Row::output_order(&a.row, &b.row))
}

/// Chunks by (PK, conversation id), then turn and tokens.
pub fn chunk_order(a: &Chunk, b: &Chunk) -> std::cmp::Ordering {
    (&a.pk, &a.conversation, &a.message, a.tokens).cmp(&(&b.pk, &b.conversation, &b.message, b.tokens))
}

/// The detail rows of a run in progress.
#[derive(Debug, Clone, Default)]
pub struct Details {
    conversations: Vec<Pending>,
    chunks: Vec<Chunk>,
    /// Bots seen calling a tool: every call of their conversations sent the tools.
    tool_bots: BTreeSet<String>,
}

/// What the detail rows add up to.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct DetailStats {
    /// The price book used.
    pub price_book: String,
    /// Rows written.
    pub conversations: u64,
    /// Model calls billed.
    pub calls: u64,
    /// Sum of `recorded_price`.
    pub recorded_total: String,
    /// Sum of `billed_price`.
    pub billed_total: String,
    /// `billed_total / recorded_total - 1`, in % with 2 decimals (empty with nothing recorded).
    pub total_error_pct: String,
    /// Median of |billed / recorded - 1| over conversations with a recorded price, in %.
    pub median_abs_error_pct: String,
    /// Its 90th percentile.
    pub p90_abs_error_pct: String,
    /// Models the book does not know, with their calls (priced at the fallback).
    pub unknown_models: BTreeMap<String, u64>,
    /// Images and documents whose size could not be read (counted at the cap).
    pub unsized_media: u64,
    /// Conversations whose path was cut short (a missing parent, a cycle).
    pub broken_paths: u64,
    /// Retrieved chunks that name no turn of their conversation's path.
    pub unmatched_chunks: u64,
}

/// `PK#CONV#ID` → `ID`.
fn conversation_id(sk: &str) -> Option<&str> {
    sk.split_once("#CONV#").map(|(_, id)| id)
}

impl Details {
    /// Takes a conversation that gave `row`; `large_map` is its full map
    /// when it was fetched from the large-message bucket.
    pub fn push(&mut self, item: &Item, row: &Row, large_map: Option<&str>) {
        let map = match large_map {
            Some(text) => MessageMap::from_text(text),
            None => MessageMap::from_attr(item.get("MessageMap")),
        };
        let billing = match &map.doc {
            Some(doc) if map.status == crate::messagemap::MapStatus::Ok => {
                bill(doc.root(), item.get_s("LastMessageId"))
            }
            _ => Billing::default(),
        };
        let recorded = match item.get("TotalPrice") {
            Some(Attr::N(n) | Attr::S(n)) => numtext::parse(n).and_then(|d| d.round6()),
            _ => None,
        };
        let last_date = last_turn_secs(&map, &billing);
        let bot = item.get_s("BotId").unwrap_or_default();
        if billing.uses_tools && !bot.is_empty() && !self.tool_bots.contains(bot) {
            self.tool_bots.insert(bot.to_string());
        }
        self.conversations.push(Pending {
            row: row.clone(),
            bot_id: item.get_s("BotId").unwrap_or_default().to_string(),
            recorded,
            billing,
            last_date,
        });
    }

    /// Takes a `#RELATED_DOCUMENT#` item: its chunk, for the turn it names.
    /// Chunks that a tool returned (`tooluse_...`) are in the turn's
    /// `thinking_log` already and are not counted again.
    pub fn push_related(&mut self, item: &Item) {
        let (Some(pk), Some(sk)) = (item.get_s("PK"), item.get_s("SK")) else { return };
        let Some((_, rest)) = sk.split_once("#RELATED_DOCUMENT#") else { return };
        let Some((conversation, source)) = rest.split_once('#') else { return };
        let message = source.split_once('@').map_or(source, |(m, _)| m);
        if message.starts_with("tooluse_") {
            return;
        }
        let text = match item.get("Content") {
            Some(Attr::M(fields)) => fields.iter().find(|(k, _)| k == "text").and_then(|(_, v)| v.as_s()),
            Some(Attr::S(s)) => Some(s.as_str()),
            _ => None,
        };
        let tokens = tokens_for_chars(text.map_or(0, |t| chars(t.as_bytes())));
        self.chunks.push(Chunk {
            pk: pk.to_string(),
            conversation: conversation.to_string(),
            message: message.to_string(),
            tokens,
        });
    }

    /// Adds another run's (a scan segment's).
    pub fn merge(&mut self, other: Details) {
        self.conversations.extend(other.conversations);
        self.chunks.extend(other.chunks);
        self.tool_bots.extend(other.tool_bots);
    }

    /// What was gathered since the last call, taken out: the conversations,
    /// the chunks and the bots seen calling tools.
    pub fn take(&mut self) -> (Vec<Pending>, Vec<Chunk>, BTreeSet<String>) {
        (std::mem::take(&mut self.conversations), std::mem::take(&mut self.chunks), std::mem::take(&mut self.tool_bots))
    }

    /// Conversations and chunks gathered and not taken.
    pub fn pending(&self) -> usize {
        self.conversations.len() + self.chunks.len()
    }

    /// The rows, in the seed's order, priced with `book`, and their totals.
    pub fn finish(mut self, book: &PriceBook) -> (Vec<DetailRow>, DetailStats) {
        self.conversations.sort_by(pending_order);
        self.chunks.sort_by(chunk_order);
        let mut finisher = Finisher::new(book, std::mem::take(&mut self.tool_bots));
        let mut chunks = self.chunks.into_iter().peekable();
        let mut rows = Vec::with_capacity(self.conversations.len());
        let mut errors = Vec::new();
        for c in self.conversations {
            let mine = chunks_of(&c, &mut chunks);
            let (row, error) = finisher.row(c, mine);
            rows.push(row);
            errors.extend(error);
        }
        rows.sort_by(|a, b| Row::output_order(&a.row, &b.row));
        errors.sort();
        let n = errors.len();
        (rows, finisher.finish(errors.into_iter(), n))
    }
}

/// The chunks of `c` from chunks sorted by [`chunk_order`] (those of
/// conversations before it, which no conversation has, are passed over).
pub fn chunks_of<I: Iterator<Item = Chunk>>(c: &Pending, chunks: &mut std::iter::Peekable<I>) -> Vec<Chunk> {
    let key = c.key();
    let mut mine = Vec::new();
    while let Some(next) = chunks.peek() {
        match (next.pk.as_str(), next.conversation.as_str()).cmp(&key) {
            std::cmp::Ordering::Less => {
                chunks.next();
            }
            std::cmp::Ordering::Equal => mine.extend(chunks.next()),
            std::cmp::Ordering::Greater => break,
        }
    }
    mine
}

/// Prices conversations into detail rows one at a time, adding up their totals.
#[derive(Debug)]
pub struct Finisher<'b> {
    book: &'b PriceBook,
    tool_bots: BTreeSet<String>,
    stats: DetailStats,
    recorded_total: Decimal,
    billed_total: Decimal,
}

impl<'b> Finisher<'b> {
    /// A finisher pricing with `book`; `tool_bots` are the bots seen calling a tool.
    pub fn new(book: &'b PriceBook, tool_bots: BTreeSet<String>) -> Finisher<'b> {
        let stats = DetailStats { price_book: book.name.clone(), ..DetailStats::default() };
        Finisher { book, tool_bots, stats, recorded_total: Decimal::ZERO, billed_total: Decimal::ZERO }
    }

    /// One conversation's row, with its chunks; and |billed / recorded - 1|
    /// when it has a recorded price.
    pub fn row(&mut self, mut c: Pending, chunks: Vec<Chunk>) -> (DetailRow, Option<Decimal>) {
        let (book, stats) = (self.book, &mut self.stats);
        // A bot seen calling a tool has tools: every call of its conversations sent them.
        if c.billing.uses_tools || self.tool_bots.contains(&c.bot_id) {
            c.billing.add_tool_prompts();
        }
        for chunk in chunks {
            if !c.billing.add_chunks(&chunk.message, chunk.tokens) {
                stats.unmatched_chunks += 1;
            }
        }
        let mut price = Decimal::ZERO;
        let mut per_model: BTreeMap<&str, u32> = BTreeMap::new();
        for turn in &c.billing.turns {
            *per_model.entry(turn.model.as_str()).or_default() += 1;
            for call in &turn.calls {
                stats.calls += 1;
                let priced = book.price(&call.model, call.day);
                if let Priced::Fallback(_) = priced {
                    *stats.unknown_models.entry(call.model.clone()).or_default() += 1;
                }
                let p = priced.prices();
                let cost = exact_cost(call.input, p.input_per_1k)
                    .zip(exact_cost(call.output, p.output_per_1k))
                    .and_then(|(i, o)| i.checked_add(o));
                price = cost.and_then(|c| price.checked_add(c)).unwrap_or(Decimal::MAX);
            }
        }
        let model = per_model.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(m, _)| m.to_string());
        let (input, output) = c.billing.totals();
        let billed = round6(price);
        stats.unsized_media += c.billing.unsized_media;
        stats.broken_paths += u64::from(c.billing.broken_path);
        stats.conversations += 1;
        let mut error = None;
        if let Some(recorded) = c.recorded {
            self.recorded_total += recorded;
            if !recorded.is_zero() {
                error = Some(((billed - recorded) / recorded).abs());
            }
        }
        self.billed_total += billed;
        let row = DetailRow {
            models: per_model.keys().copied().collect::<Vec<_>>().join(";"),
            model: model.unwrap_or_default(),
            turns: c.billing.turns.iter().filter(|t| t.on_path).count() as u32,
            last_date: c.last_date,
            recorded_price: c.recorded,
            billed_input_token: input,
            billed_output_token: output,
            billed_price: billed,
            bot_id: std::mem::take(&mut c.bot_id),
            row: c.row,
        };
        (row, error)
    }

    /// The totals; `errors` are the rows' errors sorted, `n` of them (the
    /// median and the 90th percentile are read as they pass).
    pub fn finish(mut self, errors: impl Iterator<Item = Decimal>, n: usize) -> DetailStats {
        let stats = &mut self.stats;
        stats.recorded_total = format!("{:.6}", round6(self.recorded_total));
        stats.billed_total = format!("{:.6}", round6(self.billed_total));
        stats.total_error_pct = if self.recorded_total.is_zero() {
            String::new()
        } else {
            percent((self.billed_total - self.recorded_total) / self.recorded_total)
        };
        let index = |q: usize| (n * q).div_ceil(100).saturating_sub(1);
        let (median, p90) = (index(50), index(90));
        for (k, e) in errors.enumerate().take(p90 + 1) {
            if k == median {
                stats.median_abs_error_pct = percent(e);
            }
            if k == p90 {
                stats.p90_abs_error_pct = percent(e);
            }
        }
        self.stats
    }
}

/// A ratio as a percentage with 2 decimals (`-12.34`).
fn percent(ratio: Decimal) -> String {
    let p =
        (ratio * Decimal::ONE_HUNDRED).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven);
    format!("{p:.2}")
}

/// The newest `create_time` of the turns, in seconds.
fn last_turn_secs(map: &MessageMap<'_>, billing: &Billing) -> Option<i64> {
    let root = map.doc.as_ref()?.root();
    let secs =
        |id: &str| crate::billed::millis(root.get(id)?.get("create_time")?).map(|ms| (ms / 1000.0).floor() as i64);
    billing.turns.iter().filter_map(|t| secs(&t.id)).max()
}

/// Appends one detail line.
pub fn push_detail(out: &mut String, d: &DetailRow) {
    push_row(out, &d.row);
    out.pop(); // the seed row's '\n'
    out.push(',');
    push_field(out, &d.bot_id);
    out.push(',');
    push_field(out, &d.model);
    out.push(',');
    push_field(out, &d.models);
    let _ = write!(out, ",{},", d.turns);
    if let Some(secs) = d.last_date {
        write_datetime(secs, out);
    }
    out.push(',');
    if let Some(r) = d.recorded_price {
        let _ = write!(out, "{r:.6}");
    }
    let _ = writeln!(out, ",{},{},{:.6}", d.billed_input_token, d.billed_output_token, d.billed_price);
}

/// The detail CSV: the seed's header and [`DETAIL_COLUMNS`], then the rows.
pub fn write_detail_csv<W: Write>(w: W, rows: &[DetailRow]) -> io::Result<()> {
    write_lines(w, &detail_header(), rows.iter().map(Ok), |out, row| push_detail(out, row))
}

/// The detail CSV's header line (without its `\n`).
pub fn detail_header() -> String {
    format!("{},{}", HEADER.join(","), DETAIL_COLUMNS.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::{parse_price, Prices};

    fn d(s: &str) -> Decimal {
        parse_price(s).expect("decimal")
    }

    /// A user message of `n` characters and the assistant answer of `m`, on `day`'s noon.
    fn turn(k: u32, parent: &str, n: usize, m: usize, model: &str, ms: u64) -> String {
        format!(
            r#""u{k}": {{"role": "user", "content": [{{"content_type": "text", "body": "{}"}}], "model": "{model}", "parent": "{parent}", "create_time": {ms}}},
               "a{k}": {{"role": "assistant", "content": [{{"content_type": "text", "body": "{}"}}], "model": "{model}", "parent": "u{k}", "create_time": {ms}}}"#,
            "x".repeat(n),
            "y".repeat(m)
        )
    }

    fn item(map: &str, last: &str, total_price: &str) -> Item {
        let attrs = vec![
            ("PK".to_string(), Attr::S("ana".into())),
            ("SK".to_string(), Attr::S("ana#CONV#c1".into())),
            ("MessageMap".to_string(), Attr::S(map.into())),
            ("LastMessageId".to_string(), Attr::S(last.into())),
            ("TotalPrice".to_string(), Attr::N(total_price.into())),
        ];
        Item { attrs }
    }

    fn row() -> Row {
        Row {
            create_date: None,
            input_token: 0,
            output_token: 0,
            precio_token_input: Decimal::ZERO,
            precio_token_output: Decimal::ZERO,
            total_price: Decimal::ZERO,
            pk: "ana".into(),
            sk: "ana#CONV#c1".into(),
            source: "new_table".into(),
        }
    }

    #[test]
    fn each_call_at_the_price_of_its_model_and_day_and_an_unknown_model_at_the_fallback() {
        // 2025-11-30 12:00 and 2025-12-01 12:00 UTC.
        let (nov30, dec1) = (1_764_504_000_000u64, 1_764_590_400_000u64);
        let map = format!(
            "{{\"system\": {{\"role\": \"system\", \"content\": [], \"parent\": null}}, {}, {}, {}}}",
            turn(1, "system", 4000, 400, "claude-v3.5-sonnet", nov30),
            turn(2, "a1", 4000, 400, "claude-v3.5-sonnet", dec1),
            turn(3, "a2", 4000, 400, "mystery-model", dec1),
        );
        let book = r#"{"models": {"claude-v3.5-sonnet": [
            {"input": "0.003", "output": "0.015", "valid_until": "2025-12-01"},
            {"input": "0.006", "output": "0.03", "valid_from": "2025-12-01"}]}}"#;
        let fallback = Prices { input_per_1k: d("0.01"), output_per_1k: d("0.1") };
        let book = PriceBook::from_json(book, "book", "", fallback).expect("book");
        let mut details = Details::default();
        details.push(&item(&map, "a3", "0.1234564"), &row(), None);
        let (rows, stats) = details.finish(&book);
        let r = &rows[0];
        // a1: 1,000 in, 100 out on 2025-11-30: 1000 x 0.003/1K + 100 x 0.015/1K = 0.0045.
        // a2: 1,000 + 100 + 1,000 = 2,100 in, 100 out on 2025-12-01 (doubled):
        //     2100 x 0.006/1K + 100 x 0.03/1K = 0.0156.
        // a3, unknown: 2,100 + 100 + 1,000 = 3,200 in, 100 out at the fallback:
        //     3200 x 0.01/1K + 100 x 0.1/1K = 0.042.
        assert_eq!((r.billed_input_token, r.billed_output_token), (6300, 300));
        assert_eq!(r.billed_price, d("0.062100"));
        assert_eq!(r.recorded_price, Some(d("0.123456")), "TotalPrice at 6 decimals, half to even");
        assert_eq!(
            (r.turns, r.model.as_str(), r.models.as_str()),
            (3, "claude-v3.5-sonnet", "claude-v3.5-sonnet;mystery-model")
        );
        assert_eq!(stats.unknown_models.get("mystery-model"), Some(&1));
        assert_eq!(stats.calls, 3);
        assert_eq!(stats.total_error_pct, "-49.70");
    }

    #[test]
    fn a_bot_that_calls_tools_sends_the_tool_prompt_with_every_call_of_its_conversations() {
        let tool_round = r#", "thinking_log": [
            {"role": "assistant", "content": [{"content_type": "toolUse", "body": {"name": "search", "input": {"q": "abcd"}}}]},
            {"role": "user", "content": [{"content_type": "toolResult", "body": {"content": [{"text": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]}}]}]"#;
        let with_tools = format!(
            "{{\"system\": {{\"role\": \"system\", \"content\": [], \"parent\": null}}, {}}}",
            turn(1, "system", 40, 20, "claude-v3.7-sonnet", 1_764_590_400_000)
        )
        .replace(
            r#""parent": "u1", "create_time": 1764590400000}"#,
            &format!(r#""parent": "u1", "create_time": 1764590400000{tool_round}}}"#),
        );
        let without = format!(
            "{{\"system\": {{\"role\": \"system\", \"content\": [], \"parent\": null}}, {}}}",
            turn(1, "system", 40, 20, "claude-v3.7-sonnet", 1_764_590_400_000)
        );
        let bot = |map: &str, sk: &str, bot: &str| {
            let mut it = item(map, "a1", "0.01");
            it.attrs.push(("BotId".into(), Attr::S(bot.into())));
            let mut r = row();
            r.sk = sk.into();
            it.attrs.retain(|(k, _)| k != "SK");
            it.attrs.push(("SK".into(), Attr::S(sk.into())));
            (it, r)
        };
        let book = PriceBook::flat("flat", [("claude-v3.7-sonnet".to_string(), Prices::default())], Prices::default());
        let mut details = Details::default();
        for (map, sk, id) in
            [(&with_tools, "ana#CONV#1", "b1"), (&without, "ana#CONV#2", "b1"), (&without, "ana#CONV#3", "b2")]
        {
            let (it, r) = bot(map, sk, id);
            details.push(&it, &r, None);
        }
        let (rows, _) = details.finish(&book);
        let tokens: Vec<(u64, u64)> = rows.iter().map(|r| (r.billed_input_token, r.billed_output_token)).collect();
        // Conversation 1 (bot b1 calls a tool): the round (10 in, 4 out: "search" + {"q": "abcd"},
        // 19 characters), then the answer (10 + 4 + 10 = 24 in, 5 out); each call + 346.
        // Conversation 2, same bot, no tool call: 10 + 346 in, 5 out. Conversation 3, another bot: 10 in.
        let mut want = vec![(10 + 346 + 24 + 346, 4 + 5), (10 + 346, 5), (10, 5)];
        want.sort();
        let mut got = tokens.clone();
        got.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn a_large_message_is_billed_from_its_whole_map() {
        let whole = format!(
            "{{\"system\": {{\"role\": \"system\", \"content\": [], \"parent\": null}}, {}}}",
            turn(1, "system", 400, 40, "m", 1_764_590_400_000)
        );
        // DynamoDB holds only the system node; the bucket the whole map.
        let stub = "{\"system\": {\"role\": \"system\", \"content\": [], \"parent\": null}}";
        let book = PriceBook::flat("flat", [("m".to_string(), Prices::default())], Prices::default());
        let mut from_dynamo = Details::default();
        from_dynamo.push(&item(stub, "a1", "0.001"), &row(), None);
        let (rows, stats) = from_dynamo.finish(&book);
        assert_eq!((rows[0].billed_input_token, stats.broken_paths), (0, 1));
        let mut from_bucket = Details::default();
        from_bucket.push(&item(stub, "a1", "0.001"), &row(), Some(&whole));
        let (rows, stats) = from_bucket.finish(&book);
        // 100 in, 10 out at 0.003 / 0.015: 0.0003 + 0.00015.
        assert_eq!((rows[0].billed_input_token, rows[0].billed_output_token, stats.broken_paths), (100, 10, 0));
        assert_eq!(rows[0].billed_price, d("0.000450"));
    }
}
