//! The `MessageMap` attribute: parsed with the Lambdas' fallbacks, or
//! converted from a typed `M` map, into a [`Doc`].

use crate::item::Attr;
use crate::numtext;
use crate::pyjson::{Builder, Doc, Kind, MAX_DEPTH};

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
    /// Text that no fallback could parse, or a typed map nested too deep.
    Unreadable,
    /// Parsed to a falsy value other than `{}`: `null`, `false`, a zero,
    /// `""`, `[]` (typed: BOOL false, N zero, L empty).
    Falsy,
    /// Parsed, but not an object and truthy (a non-empty list or string, a
    /// nonzero number, `NaN`, `true`; typed: a B, even empty).
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
            MapStatus::Falsy => "falsy",
            MapStatus::NotObject => "not_object",
        }
    }

    /// The zero case (spec section 3): no tokens, and the row keeps the
    /// item's own `TotalPrice`. Every estimator.
    pub fn is_void(self) -> bool {
        matches!(
            self,
            MapStatus::Missing
                | MapStatus::EmptyString
                | MapStatus::EmptyObject
                | MapStatus::Unreadable
                | MapStatus::Falsy
        )
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
            // boto3's `Binary` is truthy even when empty.
            Some(Attr::B(_)) => Self::void(MapStatus::NotObject),
            Some(other) => {
                let mut b = Builder::new();
                if !build(&mut b, other, 0) {
                    return Self::void(MapStatus::Unreadable);
                }
                Self::classify(b.finish())
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
        let root = doc.root();
        let status = match root.kind() {
            Kind::Dict(0) => MapStatus::EmptyObject,
            Kind::Dict(_) => MapStatus::Ok,
            _ if !root.truthy() => MapStatus::Falsy,
            _ => MapStatus::NotObject,
        };
        MessageMap { status, doc: Some(doc) }
    }
}

/// Appends a typed value as the JSON value boto3 would give: an integral N
/// becomes an int, any other N a float. False when an N is not a number or
/// M and L values nest more than [`MAX_DEPTH`] levels.
fn build(b: &mut Builder, attr: &Attr, depth: usize) -> bool {
    if matches!(attr, Attr::M(_) | Attr::L(_) | Attr::SS(_) | Attr::NS(_) | Attr::BS(_)) && depth >= MAX_DEPTH {
        return false;
    }
    match attr {
        Attr::S(s) | Attr::B(s) => b.str(s),
        Attr::N(n) => {
            let Some(num) = numtext::parse(n) else {
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
                if !build(b, v, depth + 1) {
                    return false;
                }
            }
            b.end();
        }
        Attr::L(items) => {
            b.begin_list();
            for v in items {
                if !build(b, v, depth + 1) {
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
                if !build(b, &Attr::N(n.clone()), depth + 1) {
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
        assert_eq!(MessageMap::from_text("NaN").status, MapStatus::NotObject);
        for falsy in ["null", "false", "0", "-0.0", "0e5", "1e-400", "\"\"", "[]", " [ ] "] {
            assert_eq!(MessageMap::from_text(falsy).status, MapStatus::Falsy, "{falsy}");
        }
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
        assert_eq!(MessageMap::from_attr(Some(&Attr::L(vec![]))).status, MapStatus::Falsy);
        assert_eq!(MessageMap::from_attr(Some(&Attr::Bool(false))).status, MapStatus::Falsy);
        assert_eq!(MessageMap::from_attr(Some(&Attr::N("0.0".into()))).status, MapStatus::Falsy);
        assert_eq!(MessageMap::from_attr(Some(&Attr::Bool(true))).status, MapStatus::NotObject);
        assert_eq!(MessageMap::from_attr(Some(&Attr::B(String::new()))).status, MapStatus::NotObject);
        assert_eq!(MessageMap::from_attr(Some(&Attr::Null)).status, MapStatus::Missing);
        assert_eq!(MessageMap::from_attr(None).status, MapStatus::Missing);
    }

    #[test]
    fn typed_nesting_is_bounded_like_text() {
        fn nested(levels: usize) -> Attr {
            let mut v = Attr::M(vec![]);
            for _ in 1..levels {
                v = Attr::M(vec![("x".into(), v)]);
            }
            v
        }
        assert_eq!(MessageMap::from_attr(Some(&nested(1000))).status, MapStatus::Ok);
        assert_eq!(MessageMap::from_attr(Some(&nested(1001))).status, MapStatus::Unreadable);
    }
}
