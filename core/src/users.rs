//! The per-user report (the seeds' ETL-1): one row per user (`PK`) with
//! their conversations, their questions and their feedback, and what their
//! conversations cost.
//!
//! Gathered item by item beside a run's rows ([`crate::job::Run::with_users`]):
//! each conversation (`#CONV#` item) that gives a row in the date range
//! leaves its questions, feedback and tokens here; [`Users::finish`] groups
//! them by user. The rules (README, "The users report"):
//!
//! - a question is the text of a `user` message (its `text` blocks joined by
//!   a newline; a message without text, an image alone, asks nothing); every
//!   user message of the map counts, an edited one's earlier version too, in
//!   time order (`create_time`, ties by node id), conversation by
//!   conversation in time order (`CreateTime`, ties by `SK`);
//! - a like is a node whose `feedback.thumbs_up` is true, a dislike one
//!   whose `thumbs_up` is false (bedrock-chat puts feedback on answers);
//!   `feedback_ultima_respuesta` classifies the user's latest conversation
//!   that has any feedback: `like` if all of its feedback is likes, `dislike`
//!   if all dislikes, `mixed` if both, empty if the user never gave any;
//! - `tokens_total` and `costo_estimado_usd` are the sums of the user's
//!   conversation rows (the run's estimator and prices); with a
//!   [`Tokenizer`] the tokens are counted by it instead, over the text blocks
//!   of every user (input) and assistant (output) message, and priced at the
//!   run's prices;
//! - a large message's map is read from the bucket, but feedback given after
//!   it was stored is only in DynamoDB's copy: a node's feedback is taken
//!   from DynamoDB's map when that map has the node.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};

use rust_decimal::Decimal;

use crate::billed::millis;
use crate::csv::{money6, push_field, write_lines, Row};
use crate::dates::write_datetime;
use crate::estimate::Tokens;
use crate::item::Item;
use crate::messagemap::{MapStatus, MessageMap};
use crate::pricing::Prices;
use crate::pyjson::{Kind, Value};

/// The seed's twelve columns, in its order.
pub const USERS_HEADER: [&str; 12] = [
    "usuario_id",
    "nombre",
    "email",
    "fecha_primera_conversacion",
    "fecha_ultima_conversacion",
    "numero_conversaciones",
    "lista_preguntas",
    "feedback_likes",
    "feedback_dislikes",
    "feedback_ultima_respuesta",
    "tokens_total",
    "costo_estimado_usd",
];

/// A token counter that replaces the estimator's counts (`cl100k_base`).
#[derive(Clone, Copy)]
pub struct Tokenizer {
    /// Its name, for reports.
    pub name: &'static str,
    /// Tokens of a text.
    pub count: fn(&str) -> u64,
}

impl fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokenizer").field("name", &self.name).finish_non_exhaustive()
    }
}

/// How the user's feedback reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating {
    /// Only likes.
    Like,
    /// Only dislikes.
    Dislike,
    /// Both.
    Mixed,
}

impl Rating {
    /// The cell: `like`, `dislike`, `mixed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Like => "like",
            Rating::Dislike => "dislike",
            Rating::Mixed => "mixed",
        }
    }

    fn of(likes: u64, dislikes: u64) -> Option<Rating> {
        match (likes > 0, dislikes > 0) {
            (true, false) => Some(Rating::Like),
            (false, true) => Some(Rating::Dislike),
            (true, true) => Some(Rating::Mixed),
            (false, false) => None,
        }
    }
}

/// One user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// `PK`: bedrock-chat's user id (the Cognito `sub`).
    pub usuario_id: String,
    /// The user's name (from the user pool; empty without one).
    pub nombre: String,
    /// The user's email (from the user pool; empty without one).
    pub email: String,
    /// Their first conversation's `CreateTime` (seconds).
    pub first: Option<i64>,
    /// Their latest activity: the latest message (or conversation) time (seconds).
    pub last: Option<i64>,
    /// Conversations.
    pub conversations: u64,
    /// Their questions, in time order.
    pub questions: Vec<String>,
    /// Answers they liked.
    pub likes: u64,
    /// Answers they disliked.
    pub dislikes: u64,
    /// Their latest rated conversation's feedback.
    pub rating: Option<Rating>,
    /// Tokens of their conversations.
    pub tokens: u64,
    /// What their conversations cost (6 decimals).
    pub cost: Decimal,
}

/// One conversation, waiting for the end of the run (a host may spill
/// them to disk, sorted by [`conversation_order`], and group them back with
/// a [`Grouper`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// The user (`PK`).
    pub pk: String,
    /// `SK`.
    pub sk: String,
    /// `CreateTime` (seconds).
    pub created: Option<i64>,
    /// Its latest message (seconds).
    pub last: Option<i64>,
    /// Its questions, in time order.
    pub questions: Vec<String>,
    /// Likes.
    pub likes: u64,
    /// Dislikes.
    pub dislikes: u64,
    /// Tokens.
    pub tokens: u64,
    /// Cost.
    pub cost: Decimal,
}

/// The report's order: by user, then time (undated last), then `SK`.
pub fn conversation_order(a: &Conversation, b: &Conversation) -> Ordering {
    let time = |c: &Conversation| (c.created.is_none(), c.created);
    a.pk.cmp(&b.pk).then_with(|| time(a).cmp(&time(b))).then_with(|| a.sk.cmp(&b.sk))
}

/// Turns conversations in [`conversation_order`] into users, one at a time.
#[derive(Debug, Default)]
pub struct Grouper {
    current: Option<UserRow>,
    stats: UsersStats,
}

impl Grouper {
    /// Takes the next conversation; the previous user once this one is another's.
    pub fn push(&mut self, c: Conversation) -> Option<UserRow> {
        self.stats.conversations += 1;
        self.stats.questions += c.questions.len() as u64;
        self.stats.likes += c.likes;
        self.stats.dislikes += c.dislikes;
        let done = match &self.current {
            Some(r) if r.usuario_id == c.pk => None,
            _ => self.current.take(),
        };
        let row = self.current.get_or_insert_with(|| UserRow {
            usuario_id: c.pk.clone(),
            nombre: String::new(),
            email: String::new(),
            first: c.created,
            last: None,
            conversations: 0,
            questions: Vec::new(),
            likes: 0,
            dislikes: 0,
            rating: None,
            tokens: 0,
            cost: Decimal::new(0, 6),
        });
        row.first = match (row.first, c.created) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        row.last = row.last.max(c.last.or(c.created));
        row.conversations += 1;
        row.questions.extend(c.questions);
        row.likes += c.likes;
        row.dislikes += c.dislikes;
        // Conversations come in time order: the last rated one wins.
        row.rating = Rating::of(c.likes, c.dislikes).or(row.rating);
        row.tokens = row.tokens.saturating_add(c.tokens);
        row.cost = row.cost.checked_add(c.cost).unwrap_or(Decimal::MAX);
        if done.is_some() {
            self.stats.users += 1;
        }
        done
    }

    /// The last user, and the totals.
    pub fn finish(mut self) -> (Option<UserRow>, UsersStats) {
        let last = self.current.take();
        self.stats.users += u64::from(last.is_some());
        (last, self.stats)
    }
}

/// What the report adds up to.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct UsersStats {
    /// Rows (users).
    pub users: u64,
    /// Conversations over every user.
    pub conversations: u64,
    /// Questions over every user.
    pub questions: u64,
    /// Likes.
    pub likes: u64,
    /// Dislikes.
    pub dislikes: u64,
    /// The token counter: the run's estimator, or the tokenizer's name.
    pub tokens: String,
    /// Users the user pool named (when one was read).
    pub named: u64,
}

/// The report of a run in progress.
#[derive(Debug, Clone, Default)]
pub struct Users {
    conversations: Vec<Conversation>,
    tokenizer: Option<Tokenizer>,
}

impl Users {
    /// A report counting tokens with `tokenizer` (else the run's estimator).
    pub fn new(tokenizer: Option<Tokenizer>) -> Users {
        Users { conversations: Vec::new(), tokenizer }
    }

    /// Takes a conversation that gave `row`, priced with `prices`;
    /// `large_map` is its whole map when it was fetched from the
    /// large-message bucket.
    pub fn push(&mut self, item: &Item, row: &Row, prices: &Prices, large_map: Option<&str>) {
        let stored = MessageMap::from_attr(item.get("MessageMap"));
        let whole = large_map.map(MessageMap::from_text);
        let map = whole.as_ref().unwrap_or(&stored);
        let nodes = nodes(map);
        // Feedback given after the map went to the bucket is in DynamoDB's copy.
        let stored_nodes: HashMap<&[u8], Value<'_>> =
            if whole.is_some() { self::nodes(&stored).into_iter().collect() } else { HashMap::new() };
        let mut questions: Vec<(f64, &[u8], String)> = Vec::new();
        let (mut likes, mut dislikes) = (0, 0);
        let mut latest = row.create_date.map(|s| s as f64 * 1000.0);
        let mut counted = Tokens::default();
        for (id, node) in &nodes {
            let role = node.get("role").and_then(|r| r.as_str()).unwrap_or_default();
            let time = node.get("create_time").and_then(millis);
            if let Some(t) = time.filter(|_| role == b"user" || role == b"assistant") {
                latest = Some(latest.map_or(t, |l| l.max(t)));
            }
            if role == b"user" {
                if let Some(text) = question(*node) {
                    questions.push((time.unwrap_or(f64::INFINITY), id, text));
                }
            }
            if let Some(count) = self.tokenizer.map(|t| t.count) {
                let tokens: u64 = text_blocks(*node).map(|t| count(&t)).sum();
                match role {
                    b"user" => counted.input += tokens,
                    b"assistant" => counted.output += tokens,
                    _ => {}
                }
            }
            match thumbs_up(stored_nodes.get(id).copied().unwrap_or(*node)) {
                Some(true) => likes += 1,
                Some(false) => dislikes += 1,
                None => {}
            }
        }
        questions.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal).then_with(|| a.1.cmp(b.1)));
        let (tokens, cost) = match self.tokenizer {
            // Counts this large are beyond any price: the sum saturates rather than fail the report.
            Some(_) => {
                (counted.input.saturating_add(counted.output), prices.price(counted).map_or(Decimal::MAX, |p| p.total))
            }
            None => (row.input_token.saturating_add(row.output_token), row.total_price),
        };
        self.conversations.push(Conversation {
            pk: row.pk.clone(),
            sk: row.sk.clone(),
            created: row.create_date,
            last: latest.map(|ms| (ms / 1000.0).floor() as i64),
            questions: questions.into_iter().map(|(_, _, q)| q).collect(),
            likes,
            dislikes,
            tokens,
            cost,
        });
    }

    /// Adds another run's (a scan segment's).
    pub fn merge(&mut self, other: Users) {
        self.conversations.extend(other.conversations);
    }

    /// The conversations gathered since the last call, taken out.
    pub fn take_conversations(&mut self) -> Vec<Conversation> {
        std::mem::take(&mut self.conversations)
    }

    /// Conversations gathered and not taken.
    pub fn pending(&self) -> usize {
        self.conversations.len()
    }

    /// The token counter, if not the estimator.
    pub fn tokenizer(&self) -> Option<Tokenizer> {
        self.tokenizer
    }

    /// One row per user, by `usuario_id`, and their totals.
    pub fn finish(mut self) -> (Vec<UserRow>, UsersStats) {
        self.conversations.sort_by(conversation_order);
        let mut grouper = Grouper::default();
        let mut rows: Vec<UserRow> = self.conversations.into_iter().filter_map(|c| grouper.push(c)).collect();
        let (last, stats) = grouper.finish();
        rows.extend(last);
        (rows, stats)
    }
}

/// The map's nodes: (id, node) for each dict entry, in map order.
fn nodes<'d>(map: &'d MessageMap<'_>) -> Vec<(&'d [u8], Value<'d>)> {
    match &map.doc {
        Some(doc) if map.status == MapStatus::Ok => doc.root().entries().filter(|(_, node)| node.is_dict()).collect(),
        _ => Vec::new(),
    }
}

/// The `body` of each `text` block of a node's `content`.
fn text_blocks<'d>(node: Value<'d>) -> impl Iterator<Item = String> + 'd {
    node.get("content").into_iter().flat_map(|c| c.items()).filter_map(|block| {
        let [kind, body] = block.get_many(["content_type", "body"]);
        if kind.and_then(|k| k.as_str()) != Some(b"text") {
            return None;
        }
        body.and_then(|b| b.as_str()).map(|b| String::from_utf8_lossy(b).into_owned())
    })
}

/// A user message's question: its text blocks, joined by newlines; none
/// when it has no text.
fn question(node: Value<'_>) -> Option<String> {
    let texts: Vec<String> = text_blocks(node).filter(|t| !t.is_empty()).collect();
    (!texts.is_empty()).then(|| texts.join("\n"))
}

/// `feedback.thumbs_up` when it is a boolean.
fn thumbs_up(node: Value<'_>) -> Option<bool> {
    match node.get("feedback")?.get("thumbs_up")?.kind() {
        Kind::Bool(b) => Some(b),
        _ => None,
    }
}

/// A user's row as written: the seed's twelve cells.
pub fn push_user(out: &mut String, u: &UserRow) {
    push_field(out, &u.usuario_id);
    out.push(',');
    push_field(out, &u.nombre);
    out.push(',');
    push_field(out, &u.email);
    out.push(',');
    if let Some(secs) = u.first {
        write_datetime(secs, out);
    }
    out.push(',');
    if let Some(secs) = u.last {
        write_datetime(secs, out);
    }
    out.push(',');
    out.push_str(&u.conversations.to_string());
    out.push(',');
    push_field(out, &questions_json(&u.questions));
    out.push_str(&format!(
        ",{},{},{},{},{:.6}\n",
        u.likes,
        u.dislikes,
        u.rating.map_or("", Rating::as_str),
        u.tokens,
        money6(u.cost)
    ));
}

/// `lista_preguntas`: a JSON array of strings (UTF-8, control characters escaped).
pub fn questions_json(questions: &[String]) -> String {
    serde_json::to_string(questions).unwrap_or_else(|_| "[]".into())
}

/// Writes the header and every user.
pub fn write_users_csv<W: Write>(w: W, rows: &[UserRow]) -> io::Result<()> {
    write_lines(w, &USERS_HEADER.join(","), rows.iter().map(Ok), |out, row| push_user(out, row))
}

/// Names and emails by user id, filled into the rows that have one; how
/// many were named.
pub fn name_users(rows: &mut [UserRow], directory: &HashMap<String, (String, String)>) -> u64 {
    let mut named = 0;
    for row in rows {
        if let Some((name, email)) = directory.get(&row.usuario_id) {
            row.nombre.clone_from(name);
            row.email.clone_from(email);
            named += 1;
        }
    }
    named
}
