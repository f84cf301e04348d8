//! The `MessageMap` attribute: parsed with the Lambdas' fallbacks, or
//! converted from a typed `M` map, into a [`Doc`].

use crate::item::Attr;
use crate::numtext;
use crate::pyjson::{Builder, Doc, Kind};

/// What became of an item's message map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapStatus {
    /// A non-empty object.
    Ok,
    /// Absent or `NULL`.
    Missing,
    /// An empty string.
    EmptyString,
    /// An empty object.
    EmptyObject,
    /// Text that no fallback could parse.
    Unreadable,
    /// Parsed, but not an object (a list, a string, a number, `null`).
    NotObject,
}

impl MapStatus {
    /// The name the fixtures use (`ok`, `missing`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            MapStatus::Ok => "ok",
            MapStatus::Missing => "missing",
            MapStatus::EmptyString => "empty_string",
            MapStatus::EmptyObject => "empty_object",
            MapStatus::Unreadable => "unreadable",
            MapStatus::NotObject => "not_object",
        }
    }

    /// Whether the map yields no tokens and the row keeps the item's own `TotalPrice`.
    pub fn is_void(self) -> bool {
        matches!(self, MapStatus::Missing | MapStatus::EmptyString | MapStatus::EmptyObject | MapStatus::Unreadable)
    }
}

/// A message map, read.
#[derive(Debug)]
pub struct MessageMap<'a> {
    /// What it was.
    pub status: MapStatus,
    /// The parsed document, for `Ok` and `NotObject`.
    pub doc: Option<Doc<'a>>,
}

impl<'a> MessageMap<'a> {
    /// Reads the attribute as the Lambdas did.
    pub fn from_attr(attr: Option<&'a Attr>) -> MessageMap<'a> {
        match attr {
            None | Some(Attr::Null) => Self::void(MapStatus::Missing),
            Some(Attr::S(text)) => Self::from_text(text),
            Some(Attr::M(entries)) => {
                let mut b = Builder::new();
                b.begin_dict();
                for (k, v) in entries {
                    b.key(k);
                    if !build(&mut b, v) {
                        return Self::void(MapStatus::Unreadable);
                    }
                }
                b.end();
                Self::classify(b.finish())
            }
            Some(other) => {
                let mut b = Builder::new();
                if !build(&mut b, other) {
                    return Self::void(MapStatus::Unreadable);
                }
                MessageMap { status: MapStatus::NotObject, doc: Some(b.finish()) }
            }
        }
    }

    /// Parses JSON text: as is; then without `\n` and `\r`; then with
    /// `ody": ",` repaired to `ody": "",` in the original text.
    pub fn from_text(text: &'a str) -> MessageMap<'a> {
        if text.is_empty() {
            return Self::void(MapStatus::EmptyString);
        }
        if let Ok(doc) = Doc::parse(text) {
            return Self::classify(doc);
        }
        if text.contains(['\n', '\r']) {
            let stripped: String = text.chars().filter(|c| *c != '\n' && *c != '\r').collect();
            if let Ok(doc) = Doc::parse_owned(stripped) {
                return Self::classify(doc);
            }
        }
        const BROKEN: &str = "ody\": \",";
        if text.contains(BROKEN) {
            if let Ok(doc) = Doc::parse_owned(text.replace(BROKEN, "ody\": \"\",")) {
                return Self::classify(doc);
            }
        }
        Self::void(MapStatus::Unreadable)
    }

    fn void(status: MapStatus) -> Self {
        MessageMap { status, doc: None }
    }

    fn classify(doc: Doc<'a>) -> Self {
        let status = match doc.root().kind() {
            Kind::Dict(0) => MapStatus::EmptyObject,
            Kind::Dict(_) => MapStatus::Ok,
            _ => MapStatus::NotObject,
        };
        MessageMap { status, doc: Some(doc) }
    }
}

/// Appends a typed value as the JSON value boto3 would give: an integral N
/// becomes an int, any other N a float. False when an N is not a number.
fn build(b: &mut Builder, attr: &Attr) -> bool {
    match attr {
        Attr::S(s) | Attr::B(s) => b.str(s),
        Attr::N(n) => {
            let Some(num) = numtext::parse(n, false) else {
                return false;
            };
            match num.is_integral().then(|| num.integer_text(4300)).flatten() {
                Some(text) => b.int_text(&text),
                None => b.float(n.parse::<f64>().unwrap_or(f64::NAN)),
            }
        }
        Attr::Bool(v) => b.bool(*v),
        Attr::Null => b.null(),
        Attr::M(entries) => {
            b.begin_dict();
            for (k, v) in entries {
                b.key(k);
                if !build(b, v) {
                    return false;
                }
            }
            b.end();
        }
        Attr::L(items) => {
            b.begin_list();
            for v in items {
                if !build(b, v) {
                    return false;
                }
            }
            b.end();
        }
        Attr::SS(items) | Attr::BS(items) => {
            b.begin_list();
            for s in items {
                b.str(s);
            }
            b.end();
        }
        Attr::NS(items) => {
            b.begin_list();
            for n in items {
                if !build(b, &Attr::N(n.clone())) {
                    return false;
                }
            }
            b.end();
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallbacks_in_order() {
        assert_eq!(MessageMap::from_text("{\"a\": {}}").status, MapStatus::Ok);
        assert_eq!(MessageMap::from_text("{\"a\":\n {\"b\": \"x\ny\"}}").status, MapStatus::Ok);
        assert_eq!(MessageMap::from_text("{\"a\": {\"body\": \", \"x\": 1}}").status, MapStatus::Ok);
        assert_eq!(MessageMap::from_text("{'a': 1}").status, MapStatus::Unreadable);
        assert_eq!(MessageMap::from_text("").status, MapStatus::EmptyString);
        assert_eq!(MessageMap::from_text("{}").status, MapStatus::EmptyObject);
        assert_eq!(MessageMap::from_text("[1]").status, MapStatus::NotObject);
        assert_eq!(MessageMap::from_text("null").status, MapStatus::NotObject);
    }

    #[test]
    fn typed_maps() {
        let m = Attr::M(vec![("n".into(), Attr::M(vec![("x".into(), Attr::N("1e2".into()))]))]);
        let map = MessageMap::from_attr(Some(&m));
        assert_eq!(map.status, MapStatus::Ok);
        let doc = map.doc.expect("doc");
        let x = doc.root().get("n").and_then(|n| n.get("x")).map(|v| v.kind());
        assert_eq!(x, Some(Kind::Int(100)));
        assert_eq!(MessageMap::from_attr(Some(&Attr::M(vec![]))).status, MapStatus::EmptyObject);
        assert_eq!(MessageMap::from_attr(Some(&Attr::L(vec![]))).status, MapStatus::NotObject);
        assert_eq!(MessageMap::from_attr(Some(&Attr::Null)).status, MapStatus::Missing);
        assert_eq!(MessageMap::from_attr(None).status, MapStatus::Missing);
    }
}
