//! The price catalog (`web/prices.json`): models with per-1K prices, the
//! batch multiplier. Read and checked here, once, by the same rules for the
//! command line and (through wasm) the page: an entry that cannot be used is
//! left out with the reason, never silently, and a catalog with no usable
//! model is an error.

use std::collections::{BTreeMap, HashSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::pricing::Prices;
use crate::whatif::BATCH_MULTIPLIER;

/// The scenario id that means "prices typed by the user": no model may take it.
pub const CUSTOM: &str = "custom";

/// A model of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    /// Its id (a Bedrock model id).
    pub id: String,
    /// What people call it (the id when the catalog gives none).
    pub name: String,
    /// USD per 1,000 input tokens, as written.
    pub input_per_1k: String,
    /// USD per 1,000 output tokens, as written.
    pub output_per_1k: String,
    /// The other fields (`source`, `date`, `note`, `valid_from`,
    /// `valid_until`, `default`, ...), kept as they are for display.
    #[serde(flatten)]
    pub about: BTreeMap<String, serde_json::Value>,
    /// The prices, read.
    #[serde(skip)]
    pub prices: Prices,
}

impl Model {
    /// Whether the catalog marks it as the default scenario.
    pub fn is_default(&self) -> bool {
        self.about.get("default").and_then(serde_json::Value::as_bool).unwrap_or(false)
    }

    /// A text field of `about` (`source`, `date`, ...).
    pub fn about_text(&self, key: &str) -> Option<&str> {
        self.about.get(key).and_then(serde_json::Value::as_str)
    }
}

/// An entry left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dropped {
    /// Its id, or `entry N` (1-based) when it has none.
    pub entry: String,
    /// Why it cannot be used.
    pub reason: String,
}

/// The catalog, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    /// The usable models, in the catalog's order.
    pub models: Vec<Model>,
    /// Both prices are multiplied by this for batch inference.
    pub batch_multiplier: String,
    /// The multiplier, read.
    #[serde(skip)]
    pub batch: Decimal,
    /// The catalog's other top-level fields (`as_of`, `currency`, `about`, ...).
    #[serde(flatten)]
    pub about: BTreeMap<String, serde_json::Value>,
    /// Entries left out.
    pub dropped: Vec<Dropped>,
    /// Other problems worked around.
    pub warnings: Vec<String>,
}

/// Why there is no usable catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// Not JSON.
    #[error("the price catalog is not valid JSON: {0}")]
    NotJson(String),
    /// No `models` list.
    #[error("the price catalog has no \"models\" list")]
    NoModels,
    /// Every entry was left out.
    #[error("the price catalog lists no usable model ({})", describe(.0))]
    NothingUsable(Vec<Dropped>),
}

fn describe(dropped: &[Dropped]) -> String {
    if dropped.is_empty() {
        return "it is empty".into();
    }
    dropped.iter().map(|d| format!("{}: {}", d.entry, d.reason)).collect::<Vec<_>>().join("; ")
}

/// A price as a catalog writes it: a plain non-negative decimal (`0.003`,
/// `.5`, `3.`), at most 24 characters, surrounding spaces ignored. No sign,
/// no exponent: people edit this file, and read the prices as written.
pub fn plain_price(text: &str) -> Option<Decimal> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if t.len() > 24 || (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
        return None;
    }
    crate::pricing::parse_price(t).ok()
}

#[derive(Deserialize)]
struct Raw {
    models: Option<Vec<serde_json::Value>>,
    batch_multiplier: Option<serde_json::Value>,
    #[serde(flatten)]
    about: BTreeMap<String, serde_json::Value>,
}

/// Reads and checks a catalog.
pub fn parse_catalog(json: &str) -> Result<Catalog, CatalogError> {
    let raw: Raw = serde_json::from_str(json).map_err(|e| CatalogError::NotJson(e.to_string()))?;
    let entries = raw.models.ok_or(CatalogError::NoModels)?;
    let (mut models, mut dropped, mut seen) = (Vec::new(), Vec::new(), HashSet::new());
    for (k, entry) in entries.into_iter().enumerate() {
        let name = entry.get("id").and_then(|v| v.as_str()).filter(|s| !s.is_empty()).map(String::from);
        match model(entry, &seen) {
            Ok(m) => {
                seen.insert(m.id.clone());
                models.push(m);
            }
            Err(reason) => dropped.push(Dropped { entry: name.unwrap_or_else(|| format!("entry {}", k + 1)), reason }),
        }
    }
    if models.is_empty() {
        return Err(CatalogError::NothingUsable(dropped));
    }
    let mut warnings = Vec::new();
    let default = BATCH_MULTIPLIER.normalize().to_string();
    let (batch_multiplier, batch) = match raw.batch_multiplier {
        None => (default, BATCH_MULTIPLIER),
        Some(v) => match v.as_str().and_then(|t| plain_price(t).map(|d| (t.trim().to_string(), d))) {
            Some(ok) => ok,
            None => {
                warnings.push(format!("batch_multiplier {v} is not a plain decimal string; using {default}"));
                (default, BATCH_MULTIPLIER)
            }
        },
    };
    Ok(Catalog { models, batch_multiplier, batch, about: raw.about, dropped, warnings })
}

/// One entry, or why it cannot be used.
fn model(entry: serde_json::Value, seen: &HashSet<String>) -> Result<Model, String> {
    let serde_json::Value::Object(mut fields) = entry else {
        return Err("not an object".into());
    };
    let id = match fields.remove("id") {
        Some(serde_json::Value::String(id)) if !id.is_empty() => id,
        _ => return Err("no \"id\"".into()),
    };
    if id == CUSTOM {
        return Err(format!("\"{CUSTOM}\" is reserved"));
    }
    if seen.contains(&id) {
        return Err("the same id as an earlier entry".into());
    }
    let mut price = |key: &str| -> Result<(String, Decimal), String> {
        let value = fields.remove(key);
        let shown = value.as_ref().map_or_else(|| "missing".to_string(), |v| v.to_string());
        match value.as_ref().and_then(|v| v.as_str()).and_then(|t| plain_price(t).map(|d| (t.trim().to_string(), d))) {
            Some(p) => Ok(p),
            None => Err(format!("{key} {shown} is not a plain decimal string")),
        }
    };
    let (input_text, input) = price("input_per_1k")?;
    let (output_text, output) = price("output_per_1k")?;
    let name = match fields.remove("name") {
        Some(serde_json::Value::String(n)) if !n.trim().is_empty() => n,
        _ => id.clone(),
    };
    Ok(Model {
        id,
        name,
        input_per_1k: input_text,
        output_per_1k: output_text,
        about: fields.into_iter().collect(),
        prices: Prices { input_per_1k: input, output_per_1k: output },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalog_is_usable_whole() {
        let c = parse_catalog(include_str!("../../web/prices.json")).expect("catalog");
        assert!(c.models.len() >= 10);
        assert_eq!((c.dropped.len(), c.warnings.len()), (0, 0));
        assert_eq!(c.models.iter().filter(|m| m.is_default()).count(), 1);
        assert!(c.about.contains_key("as_of"));
    }

    #[test]
    fn bad_entries_are_left_out_with_the_reason() {
        let json = r#"{"batch_multiplier": "half", "models": [
            {"id": "a", "name": "A", "input_per_1k": "0.003", "output_per_1k": "0.015", "note": "n"},
            {"id": "b", "input_per_1k": " .5 ", "output_per_1k": "3."},
            {"id": "a", "input_per_1k": "1", "output_per_1k": "1"},
            {"id": "custom", "input_per_1k": "1", "output_per_1k": "1"},
            {"input_per_1k": "1", "output_per_1k": "1"},
            {"id": "e", "input_per_1k": "3e-3", "output_per_1k": "1"},
            {"id": "f", "input_per_1k": "-1", "output_per_1k": "1"},
            {"id": "g", "input_per_1k": 0.003, "output_per_1k": "1"},
            "text"
        ]}"#;
        let c = parse_catalog(json).expect("two usable");
        assert_eq!(
            c.models.iter().map(|m| (m.id.as_str(), m.name.as_str())).collect::<Vec<_>>(),
            [("a", "A"), ("b", "b")]
        );
        assert_eq!(c.models[1].input_per_1k, ".5");
        assert_eq!(c.models[0].about_text("note"), Some("n"));
        let reasons: Vec<(&str, &str)> = c.dropped.iter().map(|d| (d.entry.as_str(), d.reason.as_str())).collect();
        assert_eq!(
            reasons,
            [
                ("a", "the same id as an earlier entry"),
                ("custom", "\"custom\" is reserved"),
                ("entry 5", "no \"id\""),
                ("e", "input_per_1k \"3e-3\" is not a plain decimal string"),
                ("f", "input_per_1k \"-1\" is not a plain decimal string"),
                ("g", "input_per_1k 0.003 is not a plain decimal string"),
                ("entry 9", "not an object"),
            ]
        );
        assert_eq!(c.batch, BATCH_MULTIPLIER);
        assert_eq!(c.warnings, ["batch_multiplier \"half\" is not a plain decimal string; using 0.5"]);
    }

    #[test]
    fn no_usable_catalog_is_an_error() {
        assert!(matches!(parse_catalog("{"), Err(CatalogError::NotJson(_))));
        assert_eq!(parse_catalog("{}"), Err(CatalogError::NoModels));
        let err = parse_catalog(r#"{"models": [{"id": "x"}]}"#).expect_err("nothing usable");
        assert!(err.to_string().contains("x: input_per_1k missing is not a plain decimal string"), "{err}");
    }
}
