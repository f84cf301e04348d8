//! A fast reader for DynamoDB's typed JSON (`{"PK": {"S": "..."}, ...}`).
//!
//! Dumps are mostly one long escaped string per item (the `MessageMap`), so
//! the hot loop is string unescaping; this reader does that in one pass over
//! bytes and builds the same [`Item`] as the serde path. Anything it does
//! not take at face value (a malformed line, a lone surrogate escape) returns
//! `None`, and the caller asks serde for the precise error message.

use crate::item::{Attr, Item};

use crate::pyjson::skip_plain;

struct Reader<'a> {
    s: &'a [u8],
    i: usize,
    /// Reused for unescaping; each string is then copied out at its size.
    buf: Vec<u8>,
}

impl Reader<'_> {
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

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    /// Peeks the next non-blank byte.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn string(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let s = self.s;
        let start = self.i;
        let mut i = start;
        i = skip_plain(s, i);
        if s.get(i) == Some(&b'"') {
            self.i = i + 1;
            return std::str::from_utf8(&s[start..i]).ok().map(String::from);
        }
        let mut out = std::mem::take(&mut self.buf);
        out.clear();
        out.extend_from_slice(&s[start..i]);
        loop {
            let run = skip_plain(s, i);
            push_run(&mut out, &s[i..run]);
            i = run;
            let b = *s.get(i)?;
            match b {
                b'"' => break,
                b'\\' => {
                    let e = *s.get(i + 1)?;
                    i += 2;
                    // The escapes of JSON text inside JSON: one predictable branch.
                    if matches!(e, b'"' | b'\\' | b'/') {
                        out.push(e);
                        continue;
                    }
                    let c = match e {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let mut cp = hex4(s, i)?;
                            i += 4;
                            if (0xd800..0xdc00).contains(&cp) {
                                // Only a proper pair is a character; serde rejects the rest.
                                if s.get(i) != Some(&b'\\') || s.get(i + 1) != Some(&b'u') {
                                    return None;
                                }
                                let low = hex4(s, i + 2)?;
                                if !(0xdc00..0xe000).contains(&low) {
                                    return None;
                                }
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                                i += 6;
                            } else if (0xdc00..0xe000).contains(&cp) {
                                return None;
                            }
                            let ch = char::from_u32(cp)?;
                            let mut utf8 = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
                            continue;
                        }
                        _ => return None,
                    };
                    out.push(c);
                }
                _ => {
                    self.buf = out;
                    return None;
                }
            }
        }
        self.i = i + 1;
        let text = std::str::from_utf8(&out).ok().map(String::from);
        self.buf = out;
        text
    }

    fn strings(&mut self) -> Option<Vec<String>> {
        self.eat(b'[')?;
        let mut out = Vec::new();
        if self.peek()? == b']' {
            self.i += 1;
            return Some(out);
        }
        loop {
            out.push(self.string()?);
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.ws();
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// Skips any JSON value, checking its syntax loosely (serde has the last word).
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        if depth > 128 {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => {
                self.i += 1;
                if self.peek()? == b'}' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.string()?;
                    self.eat(b':')?;
                    self.skip_value(depth + 1)?;
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                if self.peek()? == b']' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                while matches!(self.s.get(self.i), Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
                    self.i += 1;
                }
                std::str::from_utf8(&self.s[start..self.i]).ok()?.parse::<f64>().ok().map(drop)
            }
            _ => None,
        }
    }

    fn attr(&mut self, depth: usize) -> Option<Attr> {
        if depth > 100 {
            return None;
        }
        self.eat(b'{')?;
        let tag = self.string()?;
        self.eat(b':')?;
        let attr = match tag.as_str() {
            "S" => Attr::S(self.string()?),
            "N" => Attr::N(self.string()?),
            "B" => Attr::B(self.string()?),
            "BOOL" => match self.peek()? {
                b't' => self.literal(b"true").map(|_| Attr::Bool(true))?,
                _ => self.literal(b"false").map(|_| Attr::Bool(false))?,
            },
            "NULL" => {
                self.skip_value(depth)?;
                Attr::Null
            }
            "M" => Attr::M(self.attr_map(depth + 1)?),
            "L" => {
                self.eat(b'[')?;
                let mut items = Vec::new();
                if self.peek()? == b']' {
                    self.i += 1;
                } else {
                    loop {
                        items.push(self.attr(depth + 1)?);
                        match self.peek()? {
                            b',' => self.i += 1,
                            b']' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                Attr::L(items)
            }
            "SS" => Attr::SS(self.strings()?),
            "NS" => Attr::NS(self.strings()?),
            "BS" => Attr::BS(self.strings()?),
            _ => return None,
        };
        self.eat(b'}')?;
        Some(attr)
    }

    fn attr_map(&mut self, depth: usize) -> Option<Vec<(String, Attr)>> {
        self.eat(b'{')?;
        let mut out = Vec::with_capacity(12);
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(out);
        }
        loop {
            let name = self.string()?;
            self.eat(b':')?;
            out.push((name, self.attr(depth)?));
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    fn end(&mut self) -> Option<()> {
        self.ws();
        (self.i == self.s.len()).then_some(())
    }
}

/// Appends a run of plain bytes; short runs byte by byte (a call to memcpy
/// costs more than the copy).
#[inline]
pub(crate) fn push_run(out: &mut Vec<u8>, run: &[u8]) {
    if run.len() <= 16 {
        for &b in run {
            out.push(b);
        }
    } else {
        out.extend_from_slice(run);
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

/// Reads an export line `{"Item": {...}}`; `None` when it is not one.
pub(crate) fn export_line(line: &[u8]) -> Option<Item> {
    let mut r = Reader { s: line, i: 0, buf: Vec::new() };
    r.eat(b'{')?;
    let mut item = None;
    if r.peek()? != b'}' {
        loop {
            let key = r.string()?;
            r.eat(b':')?;
            if key == "Item" {
                item = Some(Item { attrs: r.attr_map(0)? });
            } else {
                r.skip_value(0)?;
            }
            match r.peek()? {
                b',' => r.i += 1,
                b'}' => break,
                _ => return None,
            }
        }
    }
    r.i += 1;
    r.end()?;
    item
}

/// Reads an item's attribute map `{"PK": {"S": ...}, ...}`.
pub(crate) fn item(json: &[u8]) -> Option<Item> {
    let mut r = Reader { s: json, i: 0, buf: Vec::new() };
    let attrs = r.attr_map(0)?;
    r.end()?;
    Some(Item { attrs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_serde_on_every_fixture_style_line() {
        let lines: [&[u8]; 5] = [
            br#"{"Item":{"PK":{"S":"a\u00e9\ud83d\ude00\"x\\"},"N":{"N":"1.5"},"M":{"M":{"k":{"L":[{"NULL":true},{"BOOL":false},{"SS":["a","b"]}]}}},"B":{"B":"AAE="}}}"#,
            br#" { "Other": [1, {"x": null}], "Item" : { "PK" : { "S" : "p" } } } "#,
            br#"{"Item":{}}"#,
            br#"{"Item":{"MessageMap":{"S":"{\"a\": {\"role\": \"user\", \"content\": \"hola\\n\"}}"}}}"#,
            br#"{"Item":{"NS":{"NS":["1","2.5"]},"BS":{"BS":[]}}}"#,
        ];
        for line in lines {
            let fast = export_line(line).expect("fast path");
            let slow = crate::item::item_from_export_line_serde(line).expect("serde");
            assert_eq!(fast, slow, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn leaves_the_doubtful_to_serde() {
        for line in [
            &br#"{"Item":{"PK":{"S":"\ud83d"}}}"#[..],
            br#"{"Item":{"PK":{"S":"x"}}"#,
            br#"{"Item":{"PK":{"X":"x"}}}"#,
            br#"{"Item":{"PK":{"S":"x","N":"1"}}}"#,
            br#"{"Item":{"PK":{"S":"a	b"}}}"#,
            br#"{"Item":{"PK":{"S":"x"}}} trailing"#,
            br#"{"NoItem":{}}"#,
        ] {
            assert!(export_line(line).is_none(), "{}", String::from_utf8_lossy(line));
        }
    }
}
