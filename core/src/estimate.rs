//! The token estimators: `v1` (the archival Lambda), `v2` (the daily
//! Lambda) and `full` (ours). See `ACCOUNTING.md` sections 4 to 7.

use crate::dates::{DateReading, EndBound};
use crate::messagemap::{MapStatus, MessageMap};
use crate::pyjson::{Kind, Value};
use crate::pyrepr::{chars, json_len, str_len};

/// Which estimator to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Estimator {
    /// The archival Lambda's rules (legacy table).
    V1,
    /// The daily Lambda's rules (current table).
    V2,
    /// v2 plus tool rounds, reasoning and tool-result text; no floor.
    Full,
}

impl Estimator {
    /// `v1`, `v2` or `full`.
    pub fn as_str(self) -> &'static str {
        match self {
            Estimator::V1 => "v1",
            Estimator::V2 => "v2",
            Estimator::Full => "full",
        }
    }

    /// Whether this estimator reproduces a Lambda (spec section 13).
    pub fn is_compat(self) -> bool {
        self != Estimator::Full
    }

    /// How it reads `CreateTime` (spec section 2).
    pub fn date_reading(self) -> DateReading {
        if self.is_compat() {
            DateReading::PythonInt
        } else {
            DateReading::Decimal
        }
    }

    /// The last millisecond of the end day it keeps (spec section 2).
    pub fn end_bound(self) -> EndBound {
        if self == Estimator::V1 {
            EndBound::WholeSecond
        } else {
            EndBound::LastMillisecond
        }
    }

    /// Whether a host must give it an end date when the user gives none:
    /// the daily Lambda (v2) always ends today (spec section 2). The core
    /// has no clock, so the host passes today's UTC date.
    pub fn ends_today_by_default(self) -> bool {
        self == Estimator::V2
    }

    /// The roles whose text is input (spec section 4); output roles are
    /// `assistant` and `bot` for every estimator.
    fn input_roles(self) -> &'static [&'static str] {
        match self {
            Estimator::V2 => &["user", "system", "instruction"],
            Estimator::V1 | Estimator::Full => &["user", "system", "instruction", "used_chunks"],
        }
    }
}

impl std::str::FromStr for Estimator {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "v1" => Ok(Estimator::V1),
            "v2" => Ok(Estimator::V2),
            "full" => Ok(Estimator::Full),
            other => Err(format!("unknown estimator {other:?} (expected v1, v2 or full)")),
        }
    }
}

impl std::fmt::Display for Estimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Input and output tokens of a conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    /// Tokens of the input roles.
    pub input: u64,
    /// Tokens of the output roles.
    pub output: u64,
}

/// An estimate, with the media items `full` passed over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Estimate {
    /// The token pair.
    pub tokens: Tokens,
    /// Image and attachment items seen (`full` only).
    pub media_items: u64,
}

/// `tokens(text)` for a text of `n` code points.
#[inline]
pub fn tokens_for_chars(n: usize) -> u64 {
    if n == 0 {
        0
    } else {
        (n / 4).max(1) as u64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Input,
    Output,
    Neither,
}

struct Counter {
    estimator: Estimator,
    full: bool,
    tokens: Tokens,
    media: u64,
    /// A compat estimator met a `role` that is not a string: the Lambdas'
    /// `.lower()` raised and their `except` gave the whole map (1, 1).
    role_not_string: bool,
}

impl Counter {
    fn new(estimator: Estimator) -> Counter {
        Counter {
            estimator,
            full: estimator == Estimator::Full,
            tokens: Tokens::default(),
            media: 0,
            role_not_string: false,
        }
    }

    /// The side of a role (lower-cased as Python's `str.lower`); a missing
    /// role is the empty role. A role that is not a string counts nothing
    /// and, in v1 and v2, makes the whole map (1, 1).
    fn side(&mut self, role: Option<Value<'_>>) -> Side {
        let Some(role) = role else {
            return Side::Neither;
        };
        let Some(bytes) = role.as_str() else {
            self.role_not_string |= self.estimator.is_compat();
            return Side::Neither;
        };
        let matches = |name: &&str| -> bool {
            if bytes.is_ascii() {
                bytes.eq_ignore_ascii_case(name.as_bytes())
            } else {
                // Full Unicode lower-casing, as Python's str.lower() (K -> k).
                std::str::from_utf8(bytes).is_ok_and(|s| s.to_lowercase() == *name)
            }
        };
        if self.estimator.input_roles().iter().any(matches) {
            Side::Input
        } else if ["assistant", "bot"].iter().any(matches) {
            Side::Output
        } else {
            Side::Neither
        }
    }

    fn add(&mut self, side: Side, n: u64) {
        match side {
            Side::Input => self.tokens.input += n,
            Side::Output => self.tokens.output += n,
            Side::Neither => {}
        }
    }

    fn text(&mut self, side: Side, s: &[u8]) {
        self.add(side, tokens_for_chars(chars(s)));
    }

    /// `used_chunks`: a non-empty list whose object elements with a truthy
    /// `content` add `tokens(str(content))` to input.
    fn used_chunks(&mut self, chunks: Option<Value<'_>>) {
        let Some(chunks) = chunks else {
            return;
        };
        for chunk in chunks.items() {
            if let Some(content) = chunk.get("content") {
                if content.truthy() {
                    self.add(Side::Input, tokens_for_chars(str_len(content)));
                }
            }
        }
    }

    /// v2's `content(c, role)`.
    fn content(&mut self, c: Value<'_>, side: Side) {
        match c.kind() {
            Kind::List(_) => {
                for e in c.items() {
                    if e.is_dict() {
                        self.item(e, side);
                    }
                }
            }
            Kind::Dict(_) => self.item(c, side),
            Kind::Str(s) => self.text(side, s),
            _ => {}
        }
    }

    /// v2's `item(e, role)`, with `full`'s additions.
    fn item(&mut self, e: Value<'_>, side: Side) {
        let [content_type, body, role, content, text] = e.get_many(["content_type", "body", "role", "content", "text"]);
        let content_type = match content_type {
            None => Some(&b"text"[..]),
            Some(t) => t.as_str(),
        };
        match content_type {
            Some(b"text") => {
                if let Some(body) = body.and_then(|b| b.as_str()) {
                    self.text(side, body);
                }
            }
            Some(b"toolUse") => {
                if let Some(input) = body.and_then(|b| b.get("input")) {
                    if input.truthy() {
                        self.add(Side::Output, tokens_for_chars(json_len(input)));
                    }
                }
            }
            Some(b"toolResult") => {
                let results = body.and_then(|b| b.get("content"));
                if let Some(results) = results.filter(|r| matches!(r.kind(), Kind::List(_))) {
                    for r in results.items().filter(|r| r.is_dict()) {
                        self.tool_result(r);
                    }
                }
            }
            Some(b"reasoning") if self.full => {
                if let Some(text) = text.and_then(|t| t.as_str()) {
                    self.text(Side::Output, text);
                }
            }
            Some(b"image" | b"attachment") if self.full => self.media += 1,
            _ => {}
        }
        if let (Some(role), Some(content)) = (role, content) {
            let side = self.side(Some(role));
            self.content(content, side);
        }
    }

    fn tool_result(&mut self, r: Value<'_>) {
        if let Some(json) = r.get("json") {
            match json.get("content").filter(|_| json.is_dict()) {
                Some(content) if content.truthy() => self.add(Side::Input, tokens_for_chars(str_len(content))),
                Some(_) => {}
                None if self.full => self.add(Side::Input, tokens_for_chars(json_len(json))),
                None => {}
            }
        }
        if self.full {
            if let Some(text) = r.get("text").and_then(|t| t.as_str()) {
                self.text(Side::Input, text);
            }
        }
    }

    /// One message node (v2 / full); `full` also walks its `thinking_log`.
    fn node(&mut self, node: Value<'_>) {
        let [role, content, chunks, log] = node.get_many(["role", "content", "used_chunks", "thinking_log"]);
        let side = self.side(role);
        if let Some(content) = content {
            self.content(content, side);
        }
        self.used_chunks(chunks);
        if self.full {
            if let Some(log) = log {
                match log.kind() {
                    Kind::List(_) => {
                        for message in log.items().filter(|m| m.is_dict()) {
                            self.node(message);
                        }
                    }
                    Kind::Str(s) => self.text(Side::Output, s),
                    _ => {}
                }
            }
        }
    }

    /// One node under v1's rules.
    fn node_v1(&mut self, node: Value<'_>) {
        let [role, content, chunks] = node.get_many(["role", "content", "used_chunks"]);
        let side = self.side(role);
        self.used_chunks(chunks);
        match content.map(|c| (c, c.kind())) {
            Some((_, Kind::Str(s))) => self.text(side, s),
            Some((list, Kind::List(_))) => {
                for e in list.items() {
                    if let Some(body) = e.get("body").and_then(|b| b.as_str()) {
                        self.text(side, body);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Estimates the tokens of a message map (spec sections 3 to 7).
pub fn estimate(map: &MessageMap<'_>, estimator: Estimator) -> Estimate {
    const FLOOR: Tokens = Tokens { input: 1, output: 1 };
    let floor = |e: Estimate| {
        if estimator.is_compat() && e.tokens == Tokens::default() {
            Estimate { tokens: FLOOR, ..e }
        } else {
            e
        }
    };
    match (map.status, &map.doc) {
        (MapStatus::Ok, Some(doc)) => {
            let mut counter = Counter::new(estimator);
            for (_, node) in doc.root().entries() {
                if !node.is_dict() {
                    continue;
                }
                match estimator {
                    Estimator::V1 => counter.node_v1(node),
                    Estimator::V2 | Estimator::Full => counter.node(node),
                }
                if counter.role_not_string {
                    return Estimate { tokens: FLOOR, media_items: 0 };
                }
            }
            floor(Estimate { tokens: counter.tokens, media_items: counter.media })
        }
        (MapStatus::NotObject, _) => floor(Estimate::default()),
        _ => Estimate::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(json: &str, e: Estimator) -> (u64, u64) {
        let t = estimate(&MessageMap::from_text(json), e).tokens;
        (t.input, t.output)
    }

    #[test]
    fn tokens_per_text() {
        assert_eq!(tokens_for_chars(0), 0);
        assert_eq!(tokens_for_chars(3), 1);
        assert_eq!(tokens_for_chars(9), 2);
    }

    #[test]
    fn roles_and_floor() {
        let map =
            r#"{"a": {"role": "USER", "content": "12345678"}, "b": {"role": "Bot", "content": [{"body": "1234"}]}}"#;
        assert_eq!(run(map, Estimator::V1), (2, 1));
        assert_eq!(run(r#"{"a": {"role": "tool", "content": "12345678"}}"#, Estimator::V1), (1, 1));
        assert_eq!(run(r#"{"a": {"role": "tool", "content": "12345678"}}"#, Estimator::Full), (0, 0));
        assert_eq!(run(r#"{"a": {"role": "\u212aey"}}"#, Estimator::V2), (1, 1));
    }

    #[test]
    fn a_role_that_is_not_a_string_floors_the_whole_compat_map() {
        let map = r#"{"a": {"role": "user", "content": "12345678"}, "b": {"role": null, "content": "1234"}}"#;
        assert_eq!(run(map, Estimator::V1), (1, 1));
        assert_eq!(run(map, Estimator::V2), (1, 1));
        assert_eq!(run(map, Estimator::Full), (2, 0));
        let nested = r#"{"a": {"role": "user", "content": [{"body": "12345678"}, {"role": 7, "content": "x"}]}}"#;
        assert_eq!(run(nested, Estimator::V1), (2, 0));
        assert_eq!(run(nested, Estimator::V2), (1, 1));
        // A nested message needs both keys: a lone non-string role is never read.
        let lone = r#"{"a": {"role": "user", "content": [{"body": "12345678", "role": 7}]}}"#;
        assert_eq!(run(lone, Estimator::V2), (2, 0));
    }

    #[test]
    fn used_chunks_is_an_input_role_except_in_v2() {
        let map = r#"{"a": {"role": "used_chunks", "content": "12345678"}, "b": {"role": "bot", "content": "1234"}}"#;
        assert_eq!(run(map, Estimator::V1), (2, 1));
        assert_eq!(run(map, Estimator::V2), (0, 1));
        assert_eq!(run(map, Estimator::Full), (2, 1));
    }

    #[test]
    fn nested_messages_take_their_own_role() {
        let map = r#"{"a": {"role": "user", "content": [{"content_type": "x", "role": "assistant", "content": "12345678"}]}}"#;
        assert_eq!(run(map, Estimator::V2), (0, 2));
    }
}
