//! JSON exactly as Python's `json.loads` reads it, in a flat tape.
//!
//! The accounting rules count characters of texts that the Python Lambdas
//! produced from parsed JSON, so the parser must accept what `json.loads`
//! accepts and nothing else: `NaN`, `Infinity` and `-Infinity` are numbers,
//! a lone surrogate escape (`\ud83d`) is one character, duplicate keys keep
//! the last value at the first key's position, raw control characters inside
//! strings are errors (Python's `strict=True`), integers are exact whatever
//! their size (up to Python's 4,300-digit limit).
//!
//! Strings are kept as WTF-8: UTF-8 that may also hold a lone surrogate as
//! its 3-byte form, so that a code point is still one non-continuation byte.
//! The document is a tape of [`Node`]s in pre-order: a container knows where
//! its subtree ends, so walking it allocates nothing.

use std::borrow::Cow;
use std::collections::HashMap;

/// The deepest nesting that parses (spec section 3): arrays and objects
/// enclosing one another, `{}` being one level. One more is an error, like
/// Python's `RecursionError` (which the Lambdas hit a little earlier and
/// drop the item for; section 13).
pub const MAX_DEPTH: usize = 1000;

/// Python 3.11 refuses to convert integers longer than this many digits.
const MAX_INT_DIGITS: usize = 4300;

/// Why a text is not JSON, with the byte offset where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {at}")]
pub struct JsonError {
    /// What was wrong.
    pub what: &'static str,
    /// Byte offset into the text.
    pub at: usize,
}

/// Where a string's bytes are: in the parsed text, or in the document's own
/// buffer (escaped or built strings).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    start: u32,
    len: u32,
    owned: bool,
}

/// One value of the tape.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer beyond i64, as its canonical decimal text.
    BigInt(Span),
    Float(f64),
    Str(Span),
    /// `end` is one past the last node of the subtree; `len` counts elements.
    List {
        end: u32,
        len: u32,
    },
    /// `len` counts live entries (duplicates folded).
    Dict {
        end: u32,
        len: u32,
    },
    /// A dict entry's key, followed by its own value subtree. `value` is the
    /// node to use for this key (the last duplicate's value), or `DEAD` for
    /// an earlier duplicate that the first occurrence stands for.
    Key {
        key: Span,
        value: u32,
    },
}

const DEAD: u32 = u32::MAX;

/// Bytes that end a run of plain string content: `"`, `\\` and controls.
const fn special_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
}

static SPECIAL: [bool; 256] = special_table();

/// The index of the first `"`, `\\` or control byte at or after `i`
/// (`s.len()` if none), eight bytes at a time.
#[inline]
pub(crate) fn skip_plain(s: &[u8], mut i: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while i + 8 <= s.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&s[i..i + 8]);
        let w = u64::from_le_bytes(word);
        let quote = w ^ (LO * b'"' as u64);
        let backslash = w ^ (LO * b'\\' as u64);
        // Each term flags its lowest matching byte exactly (borrows only
        // spill upwards), so the lowest flag overall is the first match.
        let hits = ((quote.wrapping_sub(LO) & !quote)
            | (backslash.wrapping_sub(LO) & !backslash)
            | (w.wrapping_sub(LO * 0x20) & !w))
            & HI;
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < s.len() && !SPECIAL[s[i] as usize] {
        i += 1;
    }
    i
}

/// A parsed (or built) JSON document; it always has a root node.
#[derive(Debug, Clone)]
pub struct Doc<'a> {
    text: Cow<'a, [u8]>,
    owned: Vec<u8>,
    nodes: Vec<Node>,
}

impl<'a> Doc<'a> {
    /// Parses `text` as `json.loads(text)` would.
    pub fn parse(text: &'a str) -> Result<Doc<'a>, JsonError> {
        Self::parse_cow(Cow::Borrowed(text.as_bytes()))
    }

    /// Parses an owned text (used by the message map's repaired retries).
    pub fn parse_owned(text: String) -> Result<Doc<'static>, JsonError> {
        Doc::parse_cow(Cow::Owned(text.into_bytes()))
    }

    fn parse_cow(text: Cow<'a, [u8]>) -> Result<Doc<'a>, JsonError> {
        if text.len() >= u32::MAX as usize {
            return Err(JsonError { what: "text too large", at: 0 });
        }
        let mut doc = Doc { text, owned: Vec::new(), nodes: Vec::new() };
        let mut nodes = Vec::with_capacity(doc.text.len() / 12 + 4);
        // Unescaped strings are never longer than their text: one allocation.
        let mut owned = Vec::with_capacity(doc.text.len());
        let mut parser = Parser { s: &doc.text, i: 0, nodes: &mut nodes, owned: &mut owned };
        if parser.s.starts_with("\u{feff}".as_bytes()) {
            return Err(JsonError { what: "unexpected UTF-8 BOM", at: 0 });
        }
        parser.ws();
        parser.value(0)?;
        parser.ws();
        if parser.i != parser.s.len() {
            return Err(JsonError { what: "extra data", at: parser.i });
        }
        doc.nodes = nodes;
        doc.owned = owned;
        Ok(doc)
    }

    /// The top-level value.
    pub fn root(&self) -> Value<'_> {
        Value { doc: self, idx: 0 }
    }

    fn bytes(&self, span: Span) -> &[u8] {
        let (start, end) = (span.start as usize, (span.start + span.len) as usize);
        if span.owned {
            &self.owned[start..end]
        } else {
            &self.text[start..end]
        }
    }

    fn end_of(&self, idx: u32) -> u32 {
        match self.nodes[idx as usize] {
            Node::List { end, .. } | Node::Dict { end, .. } => end,
            _ => idx + 1,
        }
    }
}

/// Builds a document value by value, in pre-order (for DynamoDB `M` maps).
#[derive(Debug, Default)]
pub struct Builder {
    owned: Vec<u8>,
    nodes: Vec<Node>,
    open: Vec<(u32, u32)>,
}

impl Builder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, node: Node) {
        if let Some((_, count)) = self.open.last_mut() {
            *count += 1;
        }
        self.nodes.push(node);
    }

    fn span(&mut self, bytes: &[u8]) -> Span {
        let start = self.owned.len() as u32;
        self.owned.extend_from_slice(bytes);
        Span { start, len: bytes.len() as u32, owned: true }
    }

    /// Appends `null`.
    pub fn null(&mut self) {
        self.push(Node::Null);
    }

    /// Appends a boolean.
    pub fn bool(&mut self, b: bool) {
        self.push(Node::Bool(b));
    }

    /// Appends a float.
    pub fn float(&mut self, f: f64) {
        self.push(Node::Float(f));
    }

    /// Appends an integer given as canonical decimal text (`-12`, `0`).
    pub fn int_text(&mut self, text: &str) {
        match text.parse::<i64>() {
            Ok(i) => self.push(Node::Int(i)),
            Err(_) => {
                let span = self.span(text.as_bytes());
                self.push(Node::BigInt(span));
            }
        }
    }

    /// Appends a string.
    pub fn str(&mut self, s: &str) {
        let span = self.span(s.as_bytes());
        self.push(Node::Str(span));
    }

    /// Starts a list; close it with [`Builder::end`].
    pub fn begin_list(&mut self) {
        self.push(Node::List { end: 0, len: 0 });
        self.open.push((self.nodes.len() as u32 - 1, 0));
    }

    /// Starts a dict; add entries with [`Builder::key`] then a value.
    pub fn begin_dict(&mut self) {
        self.push(Node::Dict { end: 0, len: 0 });
        self.open.push((self.nodes.len() as u32 - 1, 0));
    }

    /// Appends a dict key (the next value appended is its value).
    pub fn key(&mut self, k: &str) {
        let key = self.span(k.as_bytes());
        let value = self.nodes.len() as u32 + 1;
        // A key does not count as an element: only its value does.
        self.nodes.push(Node::Key { key, value });
    }

    /// Closes the innermost open list or dict.
    pub fn end(&mut self) {
        let Some((idx, count)) = self.open.pop() else {
            return;
        };
        let end = self.nodes.len() as u32;
        match &mut self.nodes[idx as usize] {
            Node::List { end: e, len } => {
                *e = end;
                *len = count;
            }
            Node::Dict { end: e, len } => {
                *e = end;
                *len = count;
            }
            _ => {}
        }
        if matches!(self.nodes[idx as usize], Node::Dict { .. }) {
            fold_duplicates(&mut self.nodes, &self.owned, &[], idx);
        }
    }

    /// The finished document (unclosed containers are closed).
    pub fn finish(mut self) -> Doc<'static> {
        while !self.open.is_empty() {
            self.end();
        }
        if self.nodes.is_empty() {
            self.nodes.push(Node::Null);
        }
        Doc { text: Cow::Borrowed(&[]), owned: self.owned, nodes: self.nodes }
    }
}

struct Parser<'s, 'n> {
    s: &'s [u8],
    i: usize,
    nodes: &'n mut Vec<Node>,
    owned: &'n mut Vec<u8>,
}

impl Parser<'_, '_> {
    fn err<T>(&self, what: &'static str) -> Result<T, JsonError> {
        Err(JsonError { what, at: self.i })
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.s.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, word: &[u8]) -> bool {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), JsonError> {
        let Some(&c) = self.s.get(self.i) else {
            return self.err("expecting value");
        };
        match c {
            b'"' => {
                let span = self.string()?;
                self.nodes.push(Node::Str(span));
            }
            b'{' => self.dict(depth + 1)?,
            b'[' => self.list(depth + 1)?,
            b'n' if self.eat(b"null") => self.nodes.push(Node::Null),
            b't' if self.eat(b"true") => self.nodes.push(Node::Bool(true)),
            b'f' if self.eat(b"false") => self.nodes.push(Node::Bool(false)),
            b'N' if self.eat(b"NaN") => self.nodes.push(Node::Float(f64::NAN)),
            b'I' if self.eat(b"Infinity") => self.nodes.push(Node::Float(f64::INFINITY)),
            b'-' if self.s[self.i..].starts_with(b"-Infinity") => {
                self.i += 9;
                self.nodes.push(Node::Float(f64::NEG_INFINITY));
            }
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return self.err("expecting value"),
        }
        Ok(())
    }

    fn number(&mut self) -> Result<(), JsonError> {
        let s = self.s;
        let start = self.i;
        let mut i = start;
        if s[i] == b'-' {
            i += 1;
        }
        match s.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while matches!(s.get(i), Some(b'0'..=b'9')) {
                    i += 1;
                }
            }
            _ => return self.err("expecting value"),
        }
        let mut is_float = false;
        if s.get(i) == Some(&b'.') && matches!(s.get(i + 1), Some(b'0'..=b'9')) {
            is_float = true;
            i += 2;
            while matches!(s.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        if matches!(s.get(i), Some(b'e' | b'E')) {
            let mut j = i + 1;
            if matches!(s.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            if matches!(s.get(j), Some(b'0'..=b'9')) {
                while matches!(s.get(j), Some(b'0'..=b'9')) {
                    j += 1;
                }
                is_float = true;
                i = j;
            }
        }
        self.i = i;
        // The matched bytes are ASCII digits and signs.
        let text = std::str::from_utf8(&s[start..i]).unwrap_or("0");
        if is_float {
            let f = text.parse::<f64>().unwrap_or(f64::NAN);
            self.nodes.push(Node::Float(f));
        } else if let Ok(n) = text.parse::<i64>() {
            self.nodes.push(Node::Int(n));
        } else {
            let digits = text.trim_start_matches('-').len();
            if digits > MAX_INT_DIGITS {
                self.i = start;
                return self.err("integer too long for Python");
            }
            let span = Span { start: start as u32, len: (i - start) as u32, owned: false };
            self.nodes.push(Node::BigInt(span));
        }
        Ok(())
    }

    /// Reads a string starting at its opening quote.
    fn string(&mut self) -> Result<Span, JsonError> {
        let s = self.s;
        self.i += 1;
        let start = self.i;
        let mut i = start;
        // Fast path: no escapes.
        i = skip_plain(s, i);
        match s.get(i) {
            Some(b'"') => {
                self.i = i + 1;
                return Ok(Span { start: start as u32, len: (i - start) as u32, owned: false });
            }
            Some(b'\\') => {}
            Some(_) => {
                self.i = i;
                return self.err("invalid control character");
            }
            None => {
                self.i = i;
                return self.err("unterminated string");
            }
        }
        // Slow path: unescape into the owned buffer.
        let out_start = self.owned.len();
        self.owned.extend_from_slice(&s[start..i]);
        loop {
            let Some(&c) = s.get(i) else {
                self.i = i;
                return self.err("unterminated string");
            };
            match c {
                b'"' => {
                    self.i = i + 1;
                    let len = self.owned.len() - out_start;
                    return Ok(Span { start: out_start as u32, len: len as u32, owned: true });
                }
                b'\\' => {
                    let Some(&e) = s.get(i + 1) else {
                        self.i = i;
                        return self.err("unterminated string");
                    };
                    i += 2;
                    let byte = match e {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let Some(mut cp) = hex4(s, i) else {
                                self.i = i - 1;
                                return self.err("invalid \\uXXXX escape");
                            };
                            i += 4;
                            if (0xd800..0xdc00).contains(&cp) && s.get(i) == Some(&b'\\') && s.get(i + 1) == Some(&b'u')
                            {
                                let Some(low) = hex4(s, i + 2) else {
                                    self.i = i + 1;
                                    return self.err("invalid \\uXXXX escape");
                                };
                                if (0xdc00..0xe000).contains(&low) {
                                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                                    i += 6;
                                }
                            }
                            push_wtf8(self.owned, cp);
                            continue;
                        }
                        _ => {
                            self.i = i - 2;
                            return self.err("invalid escape");
                        }
                    };
                    self.owned.push(byte);
                }
                c if c < 0x20 => {
                    self.i = i;
                    return self.err("invalid control character");
                }
                _ => {
                    // Copy the run up to the next quote, backslash or control.
                    let run_start = i;
                    i = skip_plain(s, i);
                    crate::dynjson::push_run(self.owned, &s[run_start..i]);
                }
            }
        }
    }

    fn list(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return self.err("too deeply nested");
        }
        let idx = self.nodes.len();
        self.nodes.push(Node::List { end: 0, len: 0 });
        self.i += 1;
        self.ws();
        let mut len = 0u32;
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
        } else {
            loop {
                self.value(depth)?;
                len += 1;
                if self.closes(b']')? {
                    break;
                }
            }
        }
        self.nodes[idx] = Node::List { end: self.nodes.len() as u32, len };
        Ok(())
    }

    /// After a list element or a dict value: true at the container's end,
    /// false after a comma (and the blanks after it).
    #[inline]
    fn closes(&mut self, close: u8) -> Result<bool, JsonError> {
        self.ws();
        match self.s.get(self.i) {
            Some(&c) if c == close => {
                self.i += 1;
                Ok(true)
            }
            Some(b',') => {
                self.i += 1;
                self.ws();
                Ok(false)
            }
            _ => self.err("expecting ',' delimiter"),
        }
    }

    fn dict(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return self.err("too deeply nested");
        }
        let idx = self.nodes.len();
        self.nodes.push(Node::Dict { end: 0, len: 0 });
        self.i += 1;
        self.ws();
        let mut len = 0u32;
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
        } else {
            loop {
                if self.s.get(self.i) != Some(&b'"') {
                    return self.err("expecting property name enclosed in double quotes");
                }
                let key = self.string()?;
                self.ws();
                if self.s.get(self.i) != Some(&b':') {
                    return self.err("expecting ':' delimiter");
                }
                self.i += 1;
                self.ws();
                let value = self.nodes.len() as u32 + 1;
                self.nodes.push(Node::Key { key, value });
                self.value(depth)?;
                len += 1;
                if self.closes(b'}')? {
                    break;
                }
            }
        }
        self.nodes[idx] = Node::Dict { end: self.nodes.len() as u32, len };
        if len > 1 {
            fold_duplicates(self.nodes, self.owned, self.s, idx as u32);
        }
        Ok(())
    }
}

fn hex4(s: &[u8], i: usize) -> Option<u32> {
    let digits = s.get(i..i + 4)?;
    let mut v = 0u32;
    for &d in digits {
        v = v * 16 + (d as char).to_digit(16)?;
    }
    Some(v)
}

/// Appends a code point as WTF-8 (surrogates get their 3-byte form).
fn push_wtf8(out: &mut Vec<u8>, cp: u32) {
    match cp {
        0..=0x7f => out.push(cp as u8),
        0x80..=0x7ff => out.extend_from_slice(&[0xc0 | (cp >> 6) as u8, 0x80 | (cp & 0x3f) as u8]),
        0x800..=0xffff => {
            out.extend_from_slice(&[0xe0 | (cp >> 12) as u8, 0x80 | ((cp >> 6) & 0x3f) as u8, 0x80 | (cp & 0x3f) as u8])
        }
        _ => out.extend_from_slice(&[
            0xf0 | (cp >> 18) as u8,
            0x80 | ((cp >> 12) & 0x3f) as u8,
            0x80 | ((cp >> 6) & 0x3f) as u8,
            0x80 | (cp & 0x3f) as u8,
        ]),
    }
}

/// Python's dict keeps the first key's position and the last key's value.
/// Marks earlier duplicates dead and points the first at the last value.
fn fold_duplicates(nodes: &mut [Node], owned: &[u8], text: &[u8], dict: u32) {
    let Node::Dict { end, len } = nodes[dict as usize] else {
        return;
    };
    let key_bytes = |span: Span| -> &[u8] {
        let (a, b) = (span.start as usize, (span.start + span.len) as usize);
        if span.owned {
            &owned[a..b]
        } else {
            &text[a..b]
        }
    };
    let end_of = |nodes: &[Node], idx: u32| match nodes[idx as usize] {
        Node::List { end, .. } | Node::Dict { end, .. } => end,
        _ => idx + 1,
    };
    if len <= 16 {
        // The common case, without allocating: are there duplicates at all?
        let mut keys = [Span { start: 0, len: 0, owned: false }; 16];
        let mut n = 0;
        let mut k = dict + 1;
        while k < end && n < 16 {
            if let Node::Key { key, .. } = nodes[k as usize] {
                keys[n] = key;
                n += 1;
            }
            k = end_of(nodes, k + 1);
        }
        let any =
            (1..n).any(|a| (0..a).any(|b| keys[a].len == keys[b].len && key_bytes(keys[a]) == key_bytes(keys[b])));
        if !any {
            return;
        }
    }
    let mut entries: Vec<(u32, Span)> = Vec::with_capacity(len as usize);
    let mut k = dict + 1;
    while k < end {
        if let Node::Key { key, .. } = nodes[k as usize] {
            entries.push((k, key));
        }
        k = end_of(nodes, k + 1);
    }
    let mut live = entries.len() as u32;
    let mut first_of: HashMap<&[u8], u32> = HashMap::new();
    let small = entries.len() <= 16;
    for (pos, &(k, span)) in entries.iter().enumerate() {
        let bytes = key_bytes(span);
        let first = if small {
            entries[..pos].iter().find(|(_, s)| key_bytes(*s) == bytes).map(|(k, _)| *k)
        } else {
            first_of.get(bytes).copied()
        };
        match first {
            Some(first) if first != k => {
                // This later duplicate's value replaces the first's; it dies.
                if let Node::Key { value, .. } = &mut nodes[first as usize] {
                    *value = k + 1;
                }
                if let Node::Key { value, .. } = &mut nodes[k as usize] {
                    *value = DEAD;
                }
                live -= 1;
            }
            _ => {
                if !small {
                    first_of.insert(bytes, k);
                }
            }
        }
    }
    if let Node::Dict { len, .. } = &mut nodes[dict as usize] {
        *len = live;
    }
}

/// A value inside a [`Doc`].
#[derive(Debug, Clone, Copy)]
pub struct Value<'d> {
    doc: &'d Doc<'d>,
    idx: u32,
}

/// What kind of value, with its scalar payload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind<'d> {
    /// `null` / `None`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits in i64.
    Int(i64),
    /// A larger integer, as canonical decimal text.
    BigInt(&'d str),
    /// A float (including NaN and the infinities).
    Float(f64),
    /// A string, as WTF-8 bytes.
    Str(&'d [u8]),
    /// A list with this many elements.
    List(u32),
    /// A dict with this many (distinct) keys.
    Dict(u32),
}

impl<'d> Value<'d> {
    fn node(&self) -> Node {
        self.doc.nodes[self.idx as usize]
    }

    /// The kind of this value.
    pub fn kind(&self) -> Kind<'d> {
        let doc = self.doc;
        match self.node() {
            Node::Null => Kind::Null,
            Node::Bool(b) => Kind::Bool(b),
            Node::Int(i) => Kind::Int(i),
            Node::BigInt(span) => Kind::BigInt(std::str::from_utf8(doc.bytes(span)).unwrap_or("0")),
            Node::Float(f) => Kind::Float(f),
            Node::Str(span) => Kind::Str(doc.bytes(span)),
            Node::List { len, .. } => Kind::List(len),
            Node::Dict { len, .. } => Kind::Dict(len),
            Node::Key { .. } => Kind::Null,
        }
    }

    /// Whether this is a dict.
    pub fn is_dict(&self) -> bool {
        matches!(self.node(), Node::Dict { .. })
    }

    /// The string's bytes (WTF-8), if this is a string.
    pub fn as_str(&self) -> Option<&'d [u8]> {
        match self.node() {
            Node::Str(span) => Some(self.doc.bytes(span)),
            _ => None,
        }
    }

    /// Python truthiness.
    pub fn truthy(&self) -> bool {
        match self.kind() {
            Kind::Null => false,
            Kind::Bool(b) => b,
            Kind::Int(i) => i != 0,
            Kind::BigInt(_) => true,
            Kind::Float(f) => f != 0.0,
            Kind::Str(s) => !s.is_empty(),
            Kind::List(n) | Kind::Dict(n) => n != 0,
        }
    }

    /// A dict's value for `key`.
    pub fn get(&self, key: &str) -> Option<Value<'d>> {
        self.entries().find(|(k, _)| *k == key.as_bytes()).map(|(_, v)| v)
    }

    /// A dict's values for several keys, in one pass over its entries.
    pub fn get_many<const N: usize>(&self, keys: [&str; N]) -> [Option<Value<'d>>; N] {
        let mut out = [None; N];
        for (k, v) in self.entries() {
            for (slot, want) in out.iter_mut().zip(keys) {
                if k == want.as_bytes() {
                    *slot = Some(v);
                }
            }
        }
        out
    }

    /// Whether a dict has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// A dict's entries in order (empty for anything else).
    pub fn entries(&self) -> Entries<'d> {
        match self.node() {
            Node::Dict { end, .. } => Entries { doc: self.doc, next: self.idx + 1, end },
            _ => Entries { doc: self.doc, next: 0, end: 0 },
        }
    }

    /// A list's elements in order (empty for anything else).
    pub fn items(&self) -> Items<'d> {
        match self.node() {
            Node::List { end, .. } => Items { doc: self.doc, next: self.idx + 1, end },
            _ => Items { doc: self.doc, next: 0, end: 0 },
        }
    }
}

/// The entries of a dict: (key bytes, value).
#[derive(Debug)]
pub struct Entries<'d> {
    doc: &'d Doc<'d>,
    next: u32,
    end: u32,
}

impl<'d> Iterator for Entries<'d> {
    type Item = (&'d [u8], Value<'d>);

    fn next(&mut self) -> Option<Self::Item> {
        while self.next < self.end {
            let k = self.next;
            self.next = self.doc.end_of(k + 1);
            if let Node::Key { key, value } = self.doc.nodes[k as usize] {
                if value != DEAD {
                    return Some((self.doc.bytes(key), Value { doc: self.doc, idx: value }));
                }
            }
        }
        None
    }
}

/// The elements of a list.
#[derive(Debug)]
pub struct Items<'d> {
    doc: &'d Doc<'d>,
    next: u32,
    end: u32,
}

impl<'d> Iterator for Items<'d> {
    type Item = Value<'d>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next < self.end {
            let idx = self.next;
            self.next = self.doc.end_of(idx);
            Some(Value { doc: self.doc, idx })
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Doc<'_> {
        Doc::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    #[test]
    fn accepts_what_python_accepts() {
        for text in [
            "{}",
            " [1, 2.5, -0.0, 1E2, 1e400, NaN, Infinity, -Infinity] ",
            r#"{"a": "\ud83d", "b": "\ud83d\ude00", "c": "\/\b\f"}"#,
            "123456789012345678901234567890",
            "null",
            "\"x\"",
        ] {
            ok(text);
        }
    }

    #[test]
    fn rejects_what_python_rejects() {
        for text in [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            "\"tab\there\"",
            "\"nl\nhere\"",
            "{'a': 1}",
            "\u{feff}{}",
            "[1] x",
            "\"\\x\"",
            "\"\\u12\"",
            "nan",
            "- 1",
        ] {
            assert!(Doc::parse(text).is_err(), "{text:?} should not parse");
        }
    }

    #[test]
    fn duplicate_keys_keep_first_position_and_last_value() {
        let doc = ok(r#"{"a": 1, "b": 2, "a": 3}"#);
        let entries: Vec<_> = doc.root().entries().map(|(k, v)| (k.to_vec(), v.kind())).collect();
        assert_eq!(entries, vec![(b"a".to_vec(), Kind::Int(3)), (b"b".to_vec(), Kind::Int(2))]);
        assert_eq!(doc.root().kind(), Kind::Dict(2));
    }

    #[test]
    fn duplicate_keys_in_a_large_dict() {
        let mut text = String::from("{");
        for i in 0..40 {
            text.push_str(&format!("\"k{i}\": {i}, "));
        }
        text.push_str("\"k3\": [1, 2], \"k39\": {\"x\": 1}}");
        let doc = ok(&text);
        assert_eq!(doc.root().kind(), Kind::Dict(40));
        assert_eq!(doc.root().get("k3").map(|v| v.kind()), Some(Kind::List(2)));
        assert_eq!(doc.root().entries().nth(3).map(|(k, _)| k), Some(&b"k3"[..]));
        assert_eq!(doc.root().entries().last().map(|(_, v)| v.kind()), Some(Kind::Dict(1)));
    }

    #[test]
    fn lone_surrogate_is_three_bytes_of_wtf8() {
        let doc = ok(r#""a\ud83db""#);
        assert_eq!(doc.root().as_str(), Some(&[b'a', 0xed, 0xa0, 0xbd, b'b'][..]));
        let doc = ok(r#""\ud83d\ude00""#);
        assert_eq!(doc.root().as_str(), Some("😀".as_bytes()));
    }

    #[test]
    fn skip_plain_finds_the_first_special_byte() {
        for text in ["", "abc", "abcdefgh\"", "abcdefghij\\x", "0123456789abcdef\u{1}", "é€😀abcdefghijk\"", "\"x"]
        {
            let b = text.as_bytes();
            for start in 0..=b.len() {
                let want = (start..b.len()).find(|&i| SPECIAL[b[i] as usize]).unwrap_or(b.len());
                assert_eq!(skip_plain(b, start), want, "{text:?} from {start}");
            }
        }
    }

    #[test]
    fn numbers() {
        let doc = ok("[1E2, -0, 12345678901234567890, 1e400, -0.0]");
        let kinds: Vec<_> = doc.root().items().map(|v| v.kind()).collect();
        assert_eq!(kinds[0], Kind::Float(100.0));
        assert_eq!(kinds[1], Kind::Int(0));
        assert_eq!(kinds[2], Kind::BigInt("12345678901234567890"));
        assert_eq!(kinds[3], Kind::Float(f64::INFINITY));
        assert!(matches!(kinds[4], Kind::Float(f) if f == 0.0 && f.is_sign_negative()));
    }

    #[test]
    fn integers_beyond_python_digit_limit_fail() {
        let long = "9".repeat(4301);
        assert!(Doc::parse(&long).is_err());
        assert!(Doc::parse(&long[..4300]).is_ok());
    }

    #[test]
    fn nesting_is_bounded_at_1000_levels() {
        let nest = |n: usize| "[".repeat(n) + &"]".repeat(n);
        assert!(Doc::parse(&nest(1000)).is_ok());
        assert!(Doc::parse(&nest(1001)).is_err());
        let objects = |n: usize| "{\"a\": ".repeat(n - 1) + "{}" + &"}".repeat(n - 1);
        assert!(Doc::parse(&objects(1000)).is_ok());
        assert!(Doc::parse(&objects(1001)).is_err());
        assert!(Doc::parse(&("[".repeat(999) + "{\"k\": 1}" + &"]".repeat(999))).is_ok());
        assert!(Doc::parse(&("[".repeat(1000) + "{\"k\": 1}" + &"]".repeat(1000))).is_err());
    }

    #[test]
    fn builder_makes_the_same_shape() {
        let mut b = Builder::new();
        b.begin_dict();
        b.key("a");
        b.begin_list();
        b.int_text("1");
        b.int_text("123456789012345678901234567890");
        b.end();
        b.key("a");
        b.str("x");
        b.end();
        let doc = b.finish();
        assert_eq!(doc.root().kind(), Kind::Dict(1));
        assert_eq!(doc.root().get("a").and_then(|v| v.as_str()), Some(&b"x"[..]));
    }
}
