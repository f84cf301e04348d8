//! DynamoDB items in typed form, and streaming readers for dump files.
//!
//! Two dump layouts are read, one item at a time so that a dump of any size
//! runs in constant memory:
//!
//! - JSON Lines of `{"Item": {...}}` (DynamoDB's Export to S3, `DYNAMODB_JSON`);
//! - the JSON printed by `aws dynamodb scan` (`{"Items": [...], ...}`).
//!
//! A line or element that is not a readable item is reported with where it
//! was and reading goes on; only a broken container (an unterminated scan
//! document, an I/O error) ends the stream.

use std::fmt;
use std::io::BufRead;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

/// One DynamoDB attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    /// String.
    S(String),
    /// Number, as its decimal text.
    N(String),
    /// Binary, as its base64 text.
    B(String),
    /// Boolean.
    Bool(bool),
    /// Null.
    Null,
    /// Map, in the order given.
    M(Vec<(String, Attr)>),
    /// List.
    L(Vec<Attr>),
    /// String set.
    SS(Vec<String>),
    /// Number set.
    NS(Vec<String>),
    /// Binary set (base64 texts).
    BS(Vec<String>),
}

impl Attr {
    /// The string of an `S` value.
    pub fn as_s(&self) -> Option<&str> {
        match self {
            Attr::S(s) => Some(s),
            _ => None,
        }
    }

    /// DynamoDB's name for the type (`S`, `N`, `M`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Attr::S(_) => "S",
            Attr::N(_) => "N",
            Attr::B(_) => "B",
            Attr::Bool(_) => "BOOL",
            Attr::Null => "NULL",
            Attr::M(_) => "M",
            Attr::L(_) => "L",
            Attr::SS(_) => "SS",
            Attr::NS(_) => "NS",
            Attr::BS(_) => "BS",
        }
    }
}

/// One item: its attributes by name, in the order given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Item {
    /// The attributes.
    pub attrs: Vec<(String, Attr)>,
}

impl Item {
    /// The attribute called `name` (the last one, should a dump repeat it).
    pub fn get(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The `S` value of attribute `name`.
    pub fn get_s(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Attr::as_s)
    }

    /// `PK` and `SK` for messages: each string (its first 120 bytes), a
    /// number as `N:7`, `?` when absent, or the type it has.
    pub fn key_for_messages(&self) -> String {
        let part = |name: &str| match self.get(name) {
            None => "?".to_string(),
            Some(Attr::S(s)) => {
                let mut end = s.len().min(120);
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                if end < s.len() {
                    format!("{}…", &s[..end])
                } else {
                    s.clone()
                }
            }
            Some(Attr::N(n)) if n.len() <= 40 => format!("N:{n}"),
            Some(other) => format!("({})", other.type_name()),
        };
        format!("{}/{}", part("PK"), part("SK"))
    }
}

// --- serde: DynamoDB JSON -------------------------------------------------

enum Tag {
    S,
    N,
    B,
    Bool,
    Null,
    M,
    L,
    SS,
    NS,
    BS,
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TagVisitor;
        impl Visitor<'_> for TagVisitor {
            type Value = Tag;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a DynamoDB type (S, N, B, BOOL, NULL, M, L, SS, NS, BS)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Tag, E> {
                Ok(match v {
                    "S" => Tag::S,
                    "N" => Tag::N,
                    "B" => Tag::B,
                    "BOOL" => Tag::Bool,
                    "NULL" => Tag::Null,
                    "M" => Tag::M,
                    "L" => Tag::L,
                    "SS" => Tag::SS,
                    "NS" => Tag::NS,
                    "BS" => Tag::BS,
                    other => return Err(E::custom(format!("unknown DynamoDB type {other:?}"))),
                })
            }
        }
        d.deserialize_str(TagVisitor)
    }
}

impl<'de> Deserialize<'de> for Attr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct AttrVisitor;
        impl<'de> Visitor<'de> for AttrVisitor {
            type Value = Attr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a typed attribute value such as {\"S\": \"...\"}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attr, A::Error> {
                let Some(tag) = map.next_key::<Tag>()? else {
                    return Err(de::Error::custom("empty attribute value {}"));
                };
                let attr = match tag {
                    Tag::S => Attr::S(map.next_value()?),
                    Tag::N => Attr::N(map.next_value()?),
                    Tag::B => Attr::B(map.next_value()?),
                    Tag::Bool => Attr::Bool(map.next_value()?),
                    Tag::Null => {
                        map.next_value::<IgnoredAny>()?;
                        Attr::Null
                    }
                    Tag::M => Attr::M(map.next_value::<AttrMap>()?.0),
                    Tag::L => Attr::L(map.next_value()?),
                    Tag::SS => Attr::SS(map.next_value()?),
                    Tag::NS => Attr::NS(map.next_value()?),
                    Tag::BS => Attr::BS(map.next_value()?),
                };
                if map.next_key::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("attribute value with more than one type"));
                }
                Ok(attr)
            }
        }
        d.deserialize_map(AttrVisitor)
    }
}

struct AttrMap(Vec<(String, Attr)>);

impl<'de> Deserialize<'de> for AttrMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = AttrMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of attribute names to typed values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AttrMap, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(12));
                while let Some((k, v)) = map.next_entry::<String, Attr>()? {
                    out.push((k, v));
                }
                Ok(AttrMap(out))
            }
        }
        d.deserialize_map(MapVisitor)
    }
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Item { attrs: AttrMap::deserialize(d)?.0 })
    }
}

/// An export line: `{"Item": {...}}`.
struct ExportLine(Item);

impl<'de> Deserialize<'de> for ExportLine {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LineVisitor;
        impl<'de> Visitor<'de> for LineVisitor {
            type Value = ExportLine;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object {\"Item\": {...}}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExportLine, A::Error> {
                let mut item = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "Item" {
                        item = Some(map.next_value::<Item>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                item.map(ExportLine).ok_or_else(|| de::Error::custom("no \"Item\" key"))
            }
        }
        d.deserialize_map(LineVisitor)
    }
}

/// Parses one export line (`{"Item": {...}}`).
pub fn item_from_export_line(line: &[u8]) -> Result<Item, String> {
    match crate::dynjson::export_line(line) {
        Some(item) => Ok(item),
        None => item_from_export_line_serde(line),
    }
}

/// The same through serde, which also explains what is wrong (the
/// reference the fast path is tested against).
#[doc(hidden)]
pub fn item_from_export_line_serde(line: &[u8]) -> Result<Item, String> {
    serde_json::from_slice::<ExportLine>(line).map(|l| l.0).map_err(|e| e.to_string())
}

/// Parses one item from the typed JSON of its attributes (`{"PK": {"S": ..}, ..}`).
pub fn item_from_json(json: &[u8]) -> Result<Item, String> {
    match crate::dynjson::item(json) {
        Some(item) => Ok(item),
        None => serde_json::from_slice(json).map_err(|e| e.to_string()),
    }
}

// --- dump readers ----------------------------------------------------------

/// Where in a dump something was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpPlace {
    /// A JSON Lines line (1-based).
    Line(u64),
    /// A line (1-based) of one file of a dump of several.
    FileLine(String, u64),
    /// An element of a scan document's `Items` (0-based).
    Element(u64),
    /// The document as a whole.
    Document,
}

impl fmt::Display for DumpPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DumpPlace::Line(n) => write!(f, "line {n}"),
            DumpPlace::FileLine(file, n) => write!(f, "{file}: line {n}"),
            DumpPlace::Element(n) => write!(f, "Items[{n}]"),
            DumpPlace::Document => f.write_str("document"),
        }
    }
}

/// A dump entry that could not be read as an item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {problem}")]
pub struct DumpError {
    /// Where it was.
    pub place: DumpPlace,
    /// What was wrong.
    pub problem: DumpProblem,
    /// True when the stream cannot go on (I/O error, broken document).
    pub fatal: bool,
}

/// What was wrong with a dump entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DumpProblem {
    /// The entry is JSON, but not an item (the parser's explanation).
    #[error("{0}")]
    NotAnItem(String),
    /// The input could not be read (the I/O error's text).
    #[error("read error: {0}")]
    Read(String),
    /// A JSON Lines line above the record limit.
    #[error("the line is longer than the limit of {}", limit_text(*.0))]
    LineTooLong(usize),
    /// A scan document's element above the record limit.
    #[error("an element is longer than the limit of {}", limit_text(*.0))]
    ElementTooLong(usize),
    /// The scan document ends inside a value.
    #[error("unexpected end of document")]
    EndInsideValue,
    /// The scan document ends inside `Items`.
    #[error("unexpected end of document inside \"Items\"")]
    EndInsideItems,
    /// The scan document has no `Items` array.
    #[error("no \"Items\" array in the scan document")]
    NoItems,
    /// The scan document is not shaped as `aws dynamodb scan` writes it.
    #[error("{0}")]
    NotAScanDocument(&'static str),
}

impl DumpProblem {
    fn read(e: &std::io::Error) -> Self {
        DumpProblem::Read(e.to_string())
    }
}

/// The layout of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpFormat {
    /// One `{"Item": {...}}` per line.
    JsonLines,
    /// `aws dynamodb scan` output: `{"Items": [...]}`.
    ScanJson,
}

/// Tells the layout from the first bytes of a dump.
pub fn detect_format(prefix: &[u8]) -> DumpFormat {
    let text = prefix.strip_prefix("\u{feff}".as_bytes()).unwrap_or(prefix);
    let mut rest = text.iter().skip_while(|b| b.is_ascii_whitespace());
    if rest.next() != Some(&b'{') {
        return DumpFormat::JsonLines;
    }
    let after: Vec<u8> = rest.skip_while(|b| b.is_ascii_whitespace()).take(8).copied().collect();
    if after.starts_with(b"\"Item\"") {
        DumpFormat::JsonLines
    } else {
        DumpFormat::ScanJson
    }
}

/// Streams the items of a dump, auto-detecting its layout; no line or
/// element may be longer than `max` bytes.
pub fn read_dump<R: BufRead + 'static>(mut reader: R, max: usize) -> Box<dyn Iterator<Item = Result<Item, DumpError>>> {
    let format = match reader.fill_buf() {
        Ok(buf) => detect_format(buf),
        Err(_) => DumpFormat::JsonLines,
    };
    match format {
        DumpFormat::JsonLines => Box::new(JsonLines::with_limit(reader, max)),
        DumpFormat::ScanJson => Box::new(ScanJson::with_limit(reader, max)),
    }
}

/// The longest line, scan-document element or CSV line a reader takes by
/// default (64 MiB): far above any real item (DynamoDB's limit is 400 KB),
/// low enough that `/dev/zero` or a gzip bomb cannot exhaust memory.
pub const DEFAULT_MAX_RECORD: usize = 64 << 20;

/// `n` bytes as the limit is written in messages (`64 MiB`, `1000 bytes`).
pub fn limit_text(n: usize) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

/// The non-blank lines of a JSON Lines dump, numbered from 1 (a BOM before
/// the first is dropped), each at most `max` bytes: a longer one ends the
/// stream with a fatal error, before it is held whole.
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
    line: u64,
    max: usize,
    done: bool,
}

impl<R: BufRead> Lines<R> {
    /// Reads from `reader`, lines of at most `max` bytes.
    pub fn new(reader: R, max: usize) -> Self {
        Self { reader, line: 0, max, done: false }
    }

    /// Appends the next line (without its `\n`) to `buf`; false at the end.
    fn read_line(&mut self, buf: &mut Vec<u8>) -> Result<bool, DumpError> {
        let fatal = |line: u64, problem| DumpError { place: DumpPlace::Line(line), problem, fatal: true };
        let mut any = false;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(fatal(self.line + 1, DumpProblem::read(&e))),
            };
            if chunk.is_empty() {
                return Ok(any);
            }
            any = true;
            let (take, end) = match chunk.iter().position(|&b| b == b'\n') {
                Some(k) => (k, true),
                None => (chunk.len(), false),
            };
            if buf.len() + take > self.max {
                return Err(fatal(self.line + 1, DumpProblem::LineTooLong(self.max)));
            }
            buf.extend_from_slice(&chunk[..take]);
            self.reader.consume(take + usize::from(end));
            if end {
                return Ok(true);
            }
        }
    }
}

impl<R: BufRead> Lines<R> {
    /// The next non-blank line into `buf` (cleared first, so one buffer
    /// serves every line), with its number.
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> Option<Result<u64, DumpError>> {
        while !self.done {
            buf.clear();
            match self.read_line(buf) {
                Ok(false) => self.done = true,
                Ok(true) => {
                    self.line += 1;
                    if self.line == 1 && buf.starts_with("\u{feff}".as_bytes()) {
                        buf.drain(..3);
                    }
                    if !buf.iter().all(u8::is_ascii_whitespace) {
                        return Some(Ok(self.line));
                    }
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    /// The line number and the line.
    type Item = Result<(u64, Vec<u8>), DumpError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = Vec::new();
        Some(self.next_into(&mut buf)?.map(|line| (line, buf)))
    }
}

/// Items of a JSON Lines dump.
#[derive(Debug)]
pub struct JsonLines<R> {
    lines: Lines<R>,
    buf: Vec<u8>,
}

impl<R: BufRead> JsonLines<R> {
    /// Reads from `reader`, lines of at most [`DEFAULT_MAX_RECORD`] bytes.
    pub fn new(reader: R) -> Self {
        Self::with_limit(reader, DEFAULT_MAX_RECORD)
    }

    /// Reads from `reader`, lines of at most `max` bytes.
    pub fn with_limit(reader: R, max: usize) -> Self {
        Self { lines: Lines::new(reader, max), buf: Vec::with_capacity(16 * 1024) }
    }
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = Result<Item, DumpError>;

    fn next(&mut self) -> Option<Self::Item> {
        let line = match self.lines.next_into(&mut self.buf)? {
            Ok(l) => l,
            Err(e) => return Some(Err(e)),
        };
        Some(item_from_export_line(&self.buf).map_err(|message| DumpError {
            place: DumpPlace::Line(line),
            problem: DumpProblem::NotAnItem(message),
            fatal: false,
        }))
    }
}

/// Items of an `aws dynamodb scan` document, split out of the `Items` array
/// one element at a time (the document is never held whole).
#[derive(Debug)]
pub struct ScanJson<R> {
    reader: R,
    state: ScanState,
    index: u64,
    buf: Vec<u8>,
    max: usize,
}

#[derive(Debug, PartialEq, Eq)]
enum ScanState {
    Start,
    Items,
    Done,
}

impl<R: BufRead> ScanJson<R> {
    /// Reads from `reader`, elements of at most [`DEFAULT_MAX_RECORD`] bytes.
    pub fn new(reader: R) -> Self {
        Self::with_limit(reader, DEFAULT_MAX_RECORD)
    }

    /// Reads from `reader`; an element (or other top-level value) longer
    /// than `max` bytes ends the stream with a fatal error.
    pub fn with_limit(reader: R, max: usize) -> Self {
        Self { reader, state: ScanState::Start, index: 0, buf: Vec::new(), max }
    }

    fn peek(&mut self) -> std::io::Result<Option<u8>> {
        Ok(self.reader.fill_buf()?.first().copied())
    }

    fn bump(&mut self) {
        self.reader.consume(1);
    }

    fn skip_ws(&mut self) -> std::io::Result<Option<u8>> {
        loop {
            match self.peek()? {
                Some(c) if c.is_ascii_whitespace() => self.bump(),
                other => return Ok(other),
            }
        }
    }

    /// Copies one complete JSON value into `buf`, tracking strings and depth.
    fn take_value(&mut self) -> Result<(), DumpProblem> {
        self.buf.clear();
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let chunk = self.reader.fill_buf().map_err(|e| DumpProblem::read(&e))?;
            if chunk.is_empty() {
                return Err(DumpProblem::EndInsideValue);
            }
            let mut used = 0;
            let mut finished = false;
            for &c in chunk {
                used += 1;
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if c == b'\\' {
                        escaped = true;
                    } else if c == b'"' {
                        in_string = false;
                        if depth == 0 {
                            finished = true;
                            break;
                        }
                    }
                    continue;
                }
                match c {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        if depth == 0 {
                            // Not ours: the container's end.
                            used -= 1;
                            finished = true;
                            break;
                        }
                        depth -= 1;
                        if depth == 0 {
                            finished = true;
                            break;
                        }
                    }
                    b',' if depth == 0 => {
                        used -= 1;
                        finished = true;
                        break;
                    }
                    _ => {}
                }
            }
            if self.buf.len() + used > self.max {
                return Err(DumpProblem::ElementTooLong(self.max));
            }
            self.buf.extend_from_slice(&chunk[..used]);
            self.reader.consume(used);
            if finished {
                if self.buf.iter().all(u8::is_ascii_whitespace) {
                    return Err(DumpProblem::NotAScanDocument("expected a value"));
                }
                return Ok(());
            }
        }
    }

    fn fatal(&mut self, problem: DumpProblem) -> Option<Result<Item, DumpError>> {
        self.state = ScanState::Done;
        Some(Err(DumpError { place: DumpPlace::Document, problem, fatal: true }))
    }

    /// Advances to the first element of `Items`; false when there is none.
    fn find_items(&mut self) -> Result<bool, DumpProblem> {
        let io = |e: std::io::Error| DumpProblem::read(&e);
        let shape = DumpProblem::NotAScanDocument;
        if let Ok(buf) = self.reader.fill_buf() {
            if buf.starts_with("\u{feff}".as_bytes()) {
                self.reader.consume(3);
            }
        }
        if self.skip_ws().map_err(io)? != Some(b'{') {
            return Err(shape("expected a JSON object with an \"Items\" array"));
        }
        self.bump();
        loop {
            match self.skip_ws().map_err(io)? {
                Some(b'}') => return Ok(false),
                Some(b',') => {
                    self.bump();
                    continue;
                }
                Some(b'"') => {}
                _ => return Err(shape("expected a key in the scan document")),
            }
            self.take_value()?;
            let key: String =
                serde_json::from_slice(&self.buf).map_err(|_| shape("a key of the scan document is not a string"))?;
            if self.skip_ws().map_err(io)? != Some(b':') {
                return Err(shape("expected ':' in the scan document"));
            }
            self.bump();
            if key == "Items" {
                if self.skip_ws().map_err(io)? != Some(b'[') {
                    return Err(shape("\"Items\" is not an array"));
                }
                self.bump();
                return Ok(true);
            }
            self.skip_ws().map_err(io)?;
            self.take_value()?;
        }
    }
}

impl<R: BufRead> Iterator for ScanJson<R> {
    type Item = Result<Item, DumpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.state == ScanState::Start {
            match self.find_items() {
                Ok(true) => self.state = ScanState::Items,
                Ok(false) => {
                    self.state = ScanState::Done;
                    return self.fatal(DumpProblem::NoItems);
                }
                Err(e) => return self.fatal(e),
            }
        }
        if self.state == ScanState::Done {
            return None;
        }
        loop {
            match self.skip_ws() {
                Ok(Some(b']')) => {
                    self.state = ScanState::Done;
                    return None;
                }
                Ok(Some(b',')) => {
                    self.bump();
                    continue;
                }
                Ok(Some(_)) => break,
                Ok(None) => return self.fatal(DumpProblem::EndInsideItems),
                Err(e) => return self.fatal(DumpProblem::read(&e)),
            }
        }
        if let Err(e) = self.take_value() {
            return self.fatal(e);
        }
        let index = self.index;
        self.index += 1;
        Some(item_from_json(&self.buf).map_err(|message| DumpError {
            place: DumpPlace::Element(index),
            problem: DumpProblem::NotAnItem(message),
            fatal: false,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_bounded_and_blank_ones_skipped() {
        let text = "\u{feff}{\"a\": 1}\n\n  \n{\"b\": 2}\r\n{\"c\": 3}";
        let got: Vec<(u64, Vec<u8>)> = Lines::new(text.as_bytes(), 100).map(|l| l.expect("line")).collect();
        let want: Vec<(u64, Vec<u8>)> =
            vec![(1, b"{\"a\": 1}".to_vec()), (4, b"{\"b\": 2}\r".to_vec()), (5, b"{\"c\": 3}".to_vec())];
        assert_eq!(got, want);
        // A line over the limit ends the stream, without being read whole.
        let long = format!("{{}}\n{}\n{{}}\n", "x".repeat(101));
        let mut lines = Lines::new(std::io::BufReader::with_capacity(16, long.as_bytes()), 100);
        assert!(lines.next().expect("first").is_ok());
        let err = lines.next().expect("second").expect_err("too long");
        assert!(err.fatal && err.place == DumpPlace::Line(2), "{err}");
        assert!(err.to_string().contains("longer than the limit of 100 bytes"), "{err}");
        assert!(lines.next().is_none());
        let endless = std::io::Read::take(std::io::repeat(0u8), 1 << 24);
        let err = Lines::new(std::io::BufReader::new(endless), 1 << 20).next().expect("one").expect_err("endless");
        assert!(err.to_string().contains("1 MiB"), "{err}");
    }

    #[test]
    fn scan_elements_are_bounded() {
        let doc = format!("{{\"Items\": [{{\"PK\": {{\"S\": \"{}\"}}}}]}}", "x".repeat(200));
        let mut items = ScanJson::with_limit(doc.as_bytes(), 100);
        let err = items.next().expect("one").expect_err("too long");
        assert!(err.fatal && err.to_string().contains("longer than the limit"), "{err}");
        assert_eq!(ScanJson::with_limit(doc.as_bytes(), 1000).filter(Result::is_ok).count(), 1);
    }

    #[test]
    fn reads_every_type() {
        let json = br#"{"s":{"S":"x"},"n":{"N":"1.5"},"b":{"B":"AAE="},"t":{"BOOL":true},"z":{"NULL":true},
            "m":{"M":{"k":{"L":[{"N":"1"},{"SS":["a"]}]}}},"ns":{"NS":["1","2"]},"bs":{"BS":["AA=="]}}"#;
        let item = item_from_json(json).expect("item");
        assert_eq!(item.get("s"), Some(&Attr::S("x".into())));
        assert_eq!(item.get("z"), Some(&Attr::Null));
        assert_eq!(
            item.get("m"),
            Some(&Attr::M(vec![("k".into(), Attr::L(vec![Attr::N("1".into()), Attr::SS(vec!["a".into()])]))]))
        );
    }

    #[test]
    fn rejects_untyped_values() {
        assert!(item_from_json(br#"{"PK": "x"}"#).is_err());
        assert!(item_from_json(br#"{"PK": {"X": "x"}}"#).is_err());
        assert!(item_from_json(br#"{"PK": {"S": "x", "N": "1"}}"#).is_err());
    }

    #[test]
    fn json_lines_report_bad_lines_and_go_on() {
        let dump = "{\"Item\":{\"PK\":{\"S\":\"a\"}}}\n\nnot json\n{\"Item\":{\"PK\":{\"S\":\"b\"}}}\n";
        let got: Vec<_> = JsonLines::new(dump.as_bytes()).collect();
        assert_eq!(got.len(), 3);
        assert!(got[0].is_ok());
        let err = got[1].as_ref().expect_err("line 3 is bad");
        assert_eq!(err.place, DumpPlace::Line(3));
        assert!(!err.fatal);
        assert_eq!(got[2].as_ref().ok().and_then(|i| i.get_s("PK")), Some("b"));
    }

    #[test]
    fn scan_json_streams_items() {
        let doc = r#"{ "Count": 3, "Items": [ {"PK": {"S": "a]"}}, {"PK": 7},
            {"PK": {"S": "c\"}"}} ], "ScannedCount": 3, "ConsumedCapacity": null }"#;
        assert_eq!(detect_format(doc.as_bytes()), DumpFormat::ScanJson);
        let got: Vec<_> = ScanJson::new(doc.as_bytes()).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].as_ref().ok().and_then(|i| i.get_s("PK")), Some("a]"));
        assert_eq!(got[1].as_ref().err().map(|e| e.place.clone()), Some(DumpPlace::Element(1)));
        assert_eq!(got[2].as_ref().ok().and_then(|i| i.get_s("PK")), Some("c\"}"));
    }

    #[test]
    fn truncated_scan_json_is_fatal() {
        let doc = r#"{"Items": [{"PK": {"S": "a"}}, {"PK": {"S": "#;
        let got: Vec<_> = ScanJson::new(doc.as_bytes()).collect();
        assert!(got[0].is_ok());
        assert!(got[1].as_ref().is_err_and(|e| e.fatal));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn detects_json_lines() {
        assert_eq!(detect_format(b"{\"Item\":{}}\n"), DumpFormat::JsonLines);
        assert_eq!(detect_format(b"{\n  \"Items\": []}"), DumpFormat::ScanJson);
    }
}
