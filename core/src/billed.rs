//! The `billed` estimator: per model call bedrock-chat made for a
//! conversation, what that call sent and what it produced (README, "The
//! billed estimator", has the rules with a worked case).
//!
//! The path is bedrock-chat's `trace_to_root`: from `LastMessageId` up the
//! `parent` links to the root. Each assistant message on it is one turn:
//! its first call sends the system prompt (the `system` and `instruction`
//! nodes, and a knowledge-base turn's retrieved chunks) and every earlier
//! message of the path; each tool round of its `thinking_log` is one more
//! call that re-sends all of that plus the rounds before it. The output of
//! a call is what it produced: a round's assistant message, then the turn's
//! own content. Text is [`tokens_for_chars`]; an image is width × height /
//! 750 tokens read from its header, scaled as Bedrock scales it; nothing is
//! floored.

use std::collections::HashMap;

use crate::dates::Day;
use crate::estimate::tokens_for_chars;
use crate::pyjson::{Kind, Value};
use crate::pyrepr::{chars, json_len};

/// The most tokens an image costs: Bedrock scales a larger one down to
/// about 1.15 megapixels (1,568 px on the long edge).
pub const IMAGE_TOKEN_CAP: u64 = 1600;
/// Bedrock's longest image edge; a longer one is scaled down to it.
pub const IMAGE_MAX_EDGE: u64 = 1568;

/// One model call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// bedrock-chat's name of the model (`claude-v3.5-sonnet`), as stored.
    pub model: String,
    /// The day of the turn (its `create_time`, UTC), which prices it.
    pub day: Option<Day>,
    /// Tokens sent.
    pub input: u64,
    /// Tokens produced.
    pub output: u64,
}

/// One assistant message and the calls that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// Its node id (a knowledge-base turn's chunks name it).
    pub id: String,
    /// Whether it is on the active path (from `LastMessageId` to the root).
    pub on_path: bool,
    /// Its model.
    pub model: String,
    /// The calls, the tool rounds first, the answer last.
    pub calls: Vec<Call>,
}

/// What a conversation's path was billed for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Billing {
    /// Every assistant message: the active path's, root first, then the
    /// other branches', oldest first.
    pub turns: Vec<Turn>,
    /// Images and documents whose size could not be read (counted at the cap).
    pub unsized_media: u64,
    /// Whether the path was cut short (a missing parent, a cycle).
    pub broken_path: bool,
    /// Whether any turn called a tool (its bot has tools, so every call of
    /// it sent them).
    pub uses_tools: bool,
}

impl Billing {
    /// Tokens sent and produced over every call.
    pub fn totals(&self) -> (u64, u64) {
        self.turns.iter().flat_map(|t| &t.calls).fold((0, 0), |(i, o), c| (i + c.input, o + c.output))
    }

    /// Adds the tool-use system prompt of each call's model to every call:
    /// a bot with tools sends them with each request.
    pub fn add_tool_prompts(&mut self) {
        for call in self.turns.iter_mut().flat_map(|t| &mut t.calls) {
            call.input += tool_system_prompt_tokens(&call.model);
        }
    }

    /// Adds `tokens` of retrieved chunks to the input of every call of turn
    /// `id` (a knowledge-base bot on a model without tool use sends them in
    /// the system prompt); false when the path has no such turn.
    pub fn add_chunks(&mut self, id: &str, tokens: u64) -> bool {
        match self.turns.iter_mut().find(|t| t.id == id) {
            Some(turn) => {
                for call in &mut turn.calls {
                    call.input += tokens;
                }
                true
            }
            None => false,
        }
    }
}

/// Bills every assistant message of a message map (`root`, the parsed
/// map): each was produced by calls that sent its own path from the root,
/// so an edited message's abandoned branch was billed too. `last`
/// (`LastMessageId`) names the active path, whose turns come first and are
/// marked [`Turn::on_path`]; without it no turn is on the path.
pub fn bill(root: Value<'_>, last: Option<&str>) -> Billing {
    let mut billing = Billing::default();
    let nodes: HashMap<&[u8], Value<'_>> = root.entries().filter(|(_, node)| node.is_dict()).collect();
    let mut sizer = Sizer::default();
    // Per node: the tokens of its own content, and of every message before it
    // on its path (the system prompt included). None while being computed.
    let mut content: HashMap<&[u8], u64> = HashMap::with_capacity(nodes.len());
    let mut before: HashMap<&[u8], Option<u64>> = HashMap::with_capacity(nodes.len());
    let active = last.map(|l| active_path(&nodes, l.as_bytes(), &mut billing.broken_path)).unwrap_or_default();
    let mut order: Vec<&[u8]> = active.clone();
    let mut rest: Vec<&[u8]> = nodes.keys().copied().filter(|id| !active.contains(id)).collect();
    rest.sort_by_key(|id| nodes[id].get("create_time").and_then(millis).map(|ms| ms as i64));
    order.extend(rest);
    for id in order {
        let node = nodes[id];
        if node.get("role").and_then(|r| r.as_str()) != Some(b"assistant") {
            continue;
        }
        let Some(history) = prefix(id, &nodes, &mut content, &mut before, &mut sizer) else {
            billing.broken_path = true;
            continue;
        };
        let answer = own(id, &nodes, &mut content, &mut sizer);
        let model = text(node.get("model")).unwrap_or_default();
        let day = node.get("create_time").and_then(millis).map(|ms| Day((ms / 1000.0).div_euclid(86_400.0) as i64));
        let call = |input, output| Call { model: model.clone(), day, input, output };
        let mut calls = Vec::new();
        let mut rounds = 0u64;
        if let Some(log) = node.get("thinking_log").filter(|l| matches!(l.kind(), Kind::List(_))) {
            for message in log.items().filter(|m| m.is_dict()) {
                let size = sizer.content(message.get("content"));
                if message.get("role").and_then(|r| r.as_str()) == Some(b"assistant") {
                    calls.push(call(history + rounds, size));
                    billing.uses_tools = true;
                }
                rounds += size;
            }
        }
        calls.push(call(history + rounds, answer));
        let id = String::from_utf8_lossy(id).into_owned();
        billing.turns.push(Turn { on_path: active.contains(&id.as_bytes()), id, model, calls });
    }
    billing.unsized_media = sizer.unread;
    billing
}

/// The tokens of a node's own content, measured once.
fn own<'d>(
    id: &'d [u8],
    nodes: &HashMap<&'d [u8], Value<'d>>,
    content: &mut HashMap<&'d [u8], u64>,
    sizer: &mut Sizer,
) -> u64 {
    *content.entry(id).or_insert_with(|| sizer.content(nodes[id].get("content")))
}

/// The tokens of every message before `id` on its path from the root (its
/// ancestors' content); `None` when the path is cut (a missing parent, a
/// cycle). Each node's prefix is computed once.
fn prefix<'d>(
    id: &'d [u8],
    nodes: &HashMap<&'d [u8], Value<'d>>,
    content: &mut HashMap<&'d [u8], u64>,
    before: &mut HashMap<&'d [u8], Option<u64>>,
    sizer: &mut Sizer,
) -> Option<u64> {
    // Up from `id` to a node whose prefix is known, or to the root.
    let mut chain: Vec<&[u8]> = Vec::new();
    let mut at = id;
    let mut value = loop {
        if let Some(&state) = before.get(at) {
            let known = state?; // None: a cycle, or a cut found before
            match chain.last() {
                None => return Some(known),
                // `at` is the parent of the chain's top.
                Some(_) => break known + own(at, nodes, content, sizer),
            }
        }
        before.insert(at, None);
        chain.push(at);
        match nodes[at].get("parent").and_then(|p| p.as_str()) {
            None => break 0,
            Some(parent) => at = nodes.get_key_value(parent).map(|(&k, _)| k)?,
        }
    };
    // Back down: each node's prefix is its parent's plus the parent's content.
    for (k, &node) in chain.iter().enumerate().rev() {
        before.insert(node, Some(value));
        if k > 0 {
            value += own(node, nodes, content, sizer);
        }
    }
    before.get(id).copied().flatten()
}

/// The ids from the root to `last`, following `parent`.
fn active_path<'d>(nodes: &HashMap<&'d [u8], Value<'d>>, last: &[u8], broken: &mut bool) -> Vec<&'d [u8]> {
    let mut path = Vec::new();
    let mut at = nodes.get_key_value(last).map(|(&k, _)| k);
    while let Some(id) = at {
        if path.contains(&id) {
            *broken = true;
            break;
        }
        path.push(id);
        at = match nodes[id].get("parent").and_then(|p| p.as_str()) {
            None => None,
            Some(parent) => {
                let next = nodes.get_key_value(parent).map(|(&k, _)| k);
                *broken |= next.is_none();
                next
            }
        };
    }
    if path.is_empty() {
        *broken = true;
    }
    path.reverse();
    path
}

fn text(v: Option<Value<'_>>) -> Option<String> {
    v.and_then(|v| v.as_str()).map(|s| String::from_utf8_lossy(s).into_owned())
}

/// A `create_time` in milliseconds (an int or a float).
pub(crate) fn millis(v: Value<'_>) -> Option<f64> {
    let ms = match v.kind() {
        Kind::Int(i) => i as f64,
        Kind::Float(f) => f,
        _ => return None,
    };
    (ms.is_finite() && ms.abs() < 1e17).then_some(ms)
}

/// Measures content blocks, counting the media whose size it could not read.
#[derive(Debug, Default)]
struct Sizer {
    unread: u64,
}

impl Sizer {
    /// A message's `content`: a list of blocks (or a plain string).
    fn content(&mut self, content: Option<Value<'_>>) -> u64 {
        let Some(content) = content else { return 0 };
        match content.kind() {
            Kind::Str(s) => tokens_for_chars(chars(s)),
            Kind::List(_) => content.items().filter(|b| b.is_dict()).map(|b| self.block(b)).sum(),
            _ => 0,
        }
    }

    fn block(&mut self, b: Value<'_>) -> u64 {
        let [kind, body, reasoning] = b.get_many(["content_type", "body", "text"]);
        match kind.and_then(|k| k.as_str()).unwrap_or(b"text") {
            b"text" => body.and_then(|t| t.as_str()).map_or(0, |t| tokens_for_chars(chars(t))),
            b"reasoning" => reasoning.and_then(|t| t.as_str()).map_or(0, |t| tokens_for_chars(chars(t))),
            b"toolUse" => {
                let name = body.and_then(|b| b.get("name")).and_then(|n| n.as_str()).map_or(0, chars);
                let input = body.and_then(|b| b.get("input")).map_or(0, json_len);
                tokens_for_chars(name + input)
            }
            b"toolResult" => {
                let results = body.and_then(|b| b.get("content")).filter(|r| matches!(r.kind(), Kind::List(_)));
                results.map_or(0, |r| r.items().filter(|r| r.is_dict()).map(|r| self.tool_result(r)).sum())
            }
            b"image" => self.image(body.and_then(|t| t.as_str())),
            b"attachment" => {
                let name = b.get("file_name").and_then(|n| n.as_str()).unwrap_or_default();
                self.document(name, body.and_then(|t| t.as_str()))
            }
            _ => 0,
        }
    }

    fn tool_result(&mut self, r: Value<'_>) -> u64 {
        if let Some(t) = r.get("text").and_then(|t| t.as_str()) {
            return tokens_for_chars(chars(t));
        }
        if let Some(j) = r.get("json") {
            return tokens_for_chars(json_len(j));
        }
        if let Some(image) = r.get("image") {
            return self.image(image.as_str());
        }
        if let Some(doc) = r.get("document") {
            let name = r.get("format").and_then(|f| f.as_str()).unwrap_or_default();
            let ext = [b".".as_slice(), name].concat();
            return self.document(&ext, doc.as_str());
        }
        0
    }

    fn image(&mut self, base64: Option<&[u8]>) -> u64 {
        let head = base64.map(|b| decode_base64(&b[..b.len().min(88 * 1024)])).unwrap_or_default();
        match image_size(&head) {
            Some((w, h)) => image_tokens(w, h),
            None => {
                self.unread += 1;
                IMAGE_TOKEN_CAP
            }
        }
    }

    /// A document: a text file is its text; any other (PDF, Office) counts
    /// as one page image at the cap, since its pages cannot be read here.
    fn document(&mut self, name: &[u8], base64: Option<&[u8]>) -> u64 {
        let lower = name.to_ascii_lowercase();
        let texty = [&b".txt"[..], b".md", b".csv", b".html", b".htm", b".json", b".xml"]
            .iter()
            .any(|ext| lower.ends_with(ext));
        if texty {
            if let Some(text) = base64.map(decode_base64).and_then(|b| String::from_utf8(b).ok()) {
                return tokens_for_chars(text.chars().count());
            }
        }
        self.unread += 1;
        IMAGE_TOKEN_CAP
    }
}

/// The system prompt Anthropic adds to a request that carries tools
/// (Anthropic's tool-use pricing table, `tool_choice` auto: 346 tokens for
/// Claude 3.5 Sonnet v2, 3.7 Sonnet and the 4 family; 294 for Claude 3.5
/// Sonnet; 264 for the Haikus; 530 for Claude 3 Opus). Other providers
/// publish none: 0. The tool definitions themselves are not in the table,
/// so they are not counted.
pub fn tool_system_prompt_tokens(model: &str) -> u64 {
    match model {
        "claude-v3.5-sonnet" => 294,
        "claude-v3-haiku" | "claude-v3.5-haiku" => 264,
        "claude-v3-opus" => 530,
        m if m.starts_with("claude-") => 346,
        _ => 0,
    }
}

/// Bedrock's image tokens: the long edge scaled to at most
/// [`IMAGE_MAX_EDGE`], then width × height / 750 (rounded up), at most
/// [`IMAGE_TOKEN_CAP`].
pub fn image_tokens(width: u64, height: u64) -> u64 {
    let (mut w, mut h) = (width.max(1), height.max(1));
    let long = w.max(h);
    if long > IMAGE_MAX_EDGE {
        w = (w * IMAGE_MAX_EDGE).div_ceil(long);
        h = (h * IMAGE_MAX_EDGE).div_ceil(long);
    }
    (w * h).div_ceil(750).min(IMAGE_TOKEN_CAP)
}

/// Width and height from a PNG, GIF or JPEG header.
pub fn image_size(b: &[u8]) -> Option<(u64, u64)> {
    let be32 = |k: usize| b.get(k..k + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as u64);
    let be16 = |k: usize| b.get(k..k + 2).map(|s| u16::from_be_bytes([s[0], s[1]]) as u64);
    if b.starts_with(b"\x89PNG\r\n\x1a\n") && b.get(12..16) == Some(b"IHDR") {
        return Some((be32(16)?, be32(20)?)).filter(|&(w, h)| w > 0 && h > 0);
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        let le16 = |k: usize| b.get(k..k + 2).map(|s| u16::from_le_bytes([s[0], s[1]]) as u64);
        return Some((le16(6)?, le16(8)?)).filter(|&(w, h)| w > 0 && h > 0);
    }
    if b.starts_with(b"\xff\xd8") {
        let mut k = 2;
        while k + 4 <= b.len() {
            if b[k] != 0xff {
                return None;
            }
            let marker = b[k + 1];
            let len = be16(k + 2)? as usize;
            // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC).
            if (0xc0..=0xcf).contains(&marker) && ![0xc4, 0xc8, 0xcc].contains(&marker) {
                return Some((be16(k + 7)?, be16(k + 5)?)).filter(|&(w, h)| w > 0 && h > 0);
            }
            k += 2 + len;
        }
    }
    None
}

/// Standard base64 (padding and line breaks allowed); stops at the first
/// byte that is not base64.
pub fn decode_base64(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'\n' | b'\r' | b' ' => continue,
            _ => break,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyjson::Doc;

    fn billing(map: &str, last: &str) -> Billing {
        let doc = Doc::parse(map).expect("map");
        bill(doc.root(), Some(last))
    }

    fn pairs(b: &Billing) -> Vec<(String, u64, u64)> {
        b.turns.iter().flat_map(|t| t.calls.iter().map(|c| (c.model.clone(), c.input, c.output))).collect()
    }

    /// Text of `n` characters.
    fn t(n: usize) -> String {
        "x".repeat(n)
    }

    fn node(role: &str, body: &str, parent: Option<&str>, model: &str, extra: &str) -> String {
        let parent = parent.map_or("null".to_string(), |p| format!("\"{p}\""));
        format!(
            r#"{{"role": "{role}", "content": [{{"content_type": "text", "body": "{body}"}}], "model": "{model}", "parent": {parent}, "create_time": 1764547200000.0{extra}}}"#
        )
    }

    #[test]
    fn each_turn_resends_its_own_path_and_an_edited_branch_is_billed_with_its_history() {
        // system (8 chars: 2) -> u1 (40: 10) -> a1 (20: 5) -> u2 (80: 20) -> a2 (12: 3);
        // u2b (400: 100) -> a2b (400: 100): an edited branch off a1, not on the path to a2.
        let map = format!(
            "{{\"system\": {}, \"u1\": {}, \"a1\": {}, \"u2\": {}, \"a2\": {}, \"u2b\": {}, \"a2b\": {}}}",
            node("system", &t(8), None, "m", ""),
            node("user", &t(40), Some("system"), "m", ""),
            node("assistant", &t(20), Some("u1"), "m", ""),
            node("user", &t(80), Some("a1"), "m", ""),
            node("assistant", &t(12), Some("u2"), "m", ""),
            node("user", &t(400), Some("a1"), "m", ""),
            node("assistant", &t(400), Some("u2b"), "m", ""),
        );
        let b = billing(&map, "a2");
        // a1: system 2 + u1 10 = 12 in, 5 out; a2: 2 + 10 + 5 + 20 = 37 in, 3 out;
        // a2b, off the path: 2 + 10 + 5 + 100 = 117 in, 100 out (u2 is not its history).
        assert_eq!(pairs(&b), vec![("m".into(), 12, 5), ("m".into(), 37, 3), ("m".into(), 117, 100)]);
        assert_eq!(b.turns.iter().map(|t| t.on_path).collect::<Vec<_>>(), vec![true, true, false]);
        assert_eq!(b.totals(), (166, 108));
        assert!(!b.broken_path);
        // The other branch active: the same calls, a2b on the path.
        let other = billing(&map, "a2b");
        assert_eq!(other.totals(), (166, 108));
        assert_eq!(other.turns.iter().filter(|t| t.on_path).map(|t| t.id.as_str()).collect::<Vec<_>>(), ["a1", "a2b"]);
    }

    #[test]
    fn two_tool_rounds_are_three_calls_and_a_model_switch_prices_each_turn_by_its_own_model() {
        // The log: assistant toolUse (name 6 + input {"q": "abcd"} 13 = 19 chars: 4),
        // user toolResult text (40: 10), assistant toolUse (4), user toolResult json
        // ({"content": "xxxxxxxx"} = 23 chars: 5).
        let tool_use = r#"{"role": "assistant", "content": [{"content_type": "toolUse", "body": {"tool_use_id": "t1", "name": "search", "input": {"q": "abcd"}}}]}"#;
        let result_text = format!(
            r#"{{"role": "user", "content": [{{"content_type": "toolResult", "body": {{"tool_use_id": "t1", "content": [{{"text": "{}"}}]}}}}]}}"#,
            t(40)
        );
        let result_json = r#"{"role": "user", "content": [{"content_type": "toolResult", "body": {"tool_use_id": "t2", "content": [{"json": {"content": "xxxxxxxx"}}]}}]}"#;
        let log = format!(", \"thinking_log\": [{tool_use}, {result_text}, {tool_use}, {result_json}]");
        let map = format!(
            "{{\"system\": {}, \"u1\": {}, \"a1\": {}, \"u2\": {}, \"a2\": {}}}",
            node("system", "", None, "haiku", ""),
            node("user", &t(40), Some("system"), "haiku", ""),
            node("assistant", &t(20), Some("u1"), "haiku", ""),
            node("user", &t(8), Some("a1"), "sonnet", ""),
            node("assistant", &t(16), Some("u2"), "sonnet", &log),
        );
        let b = billing(&map, "a2");
        // a1 (haiku): 10 in, 5 out. a2 (sonnet): history 10 + 5 + 2 = 17;
        // round 1: 17 in, 4 out; round 2: 17 + 4 + 10 = 31 in, 4 out;
        // the answer: 31 + 4 + 5 = 40 in, 4 out (16 chars).
        assert_eq!(
            pairs(&b),
            vec![("haiku".into(), 10, 5), ("sonnet".into(), 17, 4), ("sonnet".into(), 31, 4), ("sonnet".into(), 40, 4)]
        );
        assert_eq!(b.turns[1].calls.len(), 3);
    }

    #[test]
    fn chunks_join_their_turn_and_media_count_by_their_size() {
        let map = format!(
            "{{\"system\": {}, \"u1\": {}, \"a1\": {}}}",
            node("system", "", None, "m", ""),
            node("user", &t(4), Some("system"), "m", ""),
            node("assistant", &t(4), Some("u1"), "m", ""),
        );
        let mut b = billing(&map, "a1");
        assert!(b.add_chunks("a1", 50));
        assert!(!b.add_chunks("u1", 50));
        assert_eq!(pairs(&b), vec![("m".into(), 51, 1)]);

        assert_eq!(image_tokens(750, 1), 1);
        assert_eq!(image_tokens(200, 200), 54); // 40,000 / 750 = 53.3
        assert_eq!(image_tokens(1000, 1000), 1334);
        assert_eq!(image_tokens(3136, 1568), 1600); // 1568 x 784 = 1639 -> the cap
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&200u32.to_be_bytes());
        png.extend_from_slice(&100u32.to_be_bytes());
        assert_eq!(image_size(&png), Some((200, 100)));
        assert_eq!(image_size(b"GIF89a\x0a\x00\x14\x00"), Some((10, 20)));
        let jpeg = b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08\x00\x30\x00\x40";
        assert_eq!(image_size(jpeg), Some((64, 48)));
        assert_eq!(image_size(b"random bytes"), None);
        assert_eq!(decode_base64(b"aGVsbG8=\n"), b"hello");

        let mut sizer = Sizer::default();
        let png64 = base64(&png);
        assert_eq!(sizer.image(Some(png64.as_bytes())), 27); // 20,000 / 750 = 26.7
        assert_eq!(sizer.image(Some(b"AAAA")), IMAGE_TOKEN_CAP);
        assert_eq!(sizer.document(b"notes.md", Some(base64(t(400).as_bytes()).as_bytes())), 100);
        assert_eq!(sizer.document(b"report.pdf", Some(b"JVBERi0=")), IMAGE_TOKEN_CAP);
        assert_eq!(sizer.unread, 2);
    }

    #[test]
    fn a_missing_parent_or_a_cycle_is_a_broken_path_not_a_hang() {
        let cycle = format!(
            "{{\"a\": {}, \"b\": {}}}",
            node("assistant", "x", Some("b"), "m", ""),
            node("user", "y", Some("a"), "m", "")
        );
        let b = billing(&cycle, "a");
        assert!(b.broken_path && b.turns.is_empty());
        let orphan = format!("{{\"a\": {}}}", node("assistant", "x", Some("gone"), "m", ""));
        let b = billing(&orphan, "a");
        assert!(b.broken_path && b.turns.is_empty());
        let b = billing(&orphan, "nowhere");
        assert!(b.broken_path);
    }

    fn base64(bytes: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
            for k in 0..=chunk.len() {
                s.push(A[(n >> (18 - 6 * k)) as usize & 63] as char);
            }
            s.push_str(&"=".repeat(3 - chunk.len()));
        }
        s
    }
}
