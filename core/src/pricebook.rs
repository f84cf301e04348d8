//! The price book: bedrock-chat's model names to per-1K prices, each with
//! the days it is valid, so that a model call is priced at the price of its
//! day. A model the book does not know is priced at the fallback and
//! counted, never at $0 silently.
//!
//! Two shapes are read: Tally's own (`{"models": {"claude-v3.5-sonnet":
//! [{"input": "0.003", "output": "0.015", "valid_until": "2025-12-01"},
//! ...]}}`), and bedrock-chat's own table
//! (`../shared/pricing/bedrock_chat_models.json`:
//! `bedrock_chat_prices_per_1k` by region, `default` for the others), so
//! that an estimate held against its `TotalPrice` differs only by tokens.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::catalog::Catalog;
use crate::dates::Day;
use crate::pricing::{parse_price, PriceError, Prices};

/// One price of a model, from one day (inclusive) until another (exclusive,
/// as the catalog's `valid_until`: "the price holds only before that day").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    /// Input and output per 1K tokens.
    pub prices: Prices,
    /// The first day it applies (none: always before).
    pub valid_from: Option<Day>,
    /// The first day it no longer applies (none: still).
    pub valid_until: Option<Day>,
}

impl Price {
    fn covers(&self, day: Option<Day>) -> bool {
        let Some(day) = day else { return self.valid_until.is_none() };
        self.valid_from.is_none_or(|f| f <= day) && self.valid_until.is_none_or(|u| day < u)
    }
}

/// A book that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    /// Not JSON of either shape.
    #[error("not a price book: {0}")]
    Shape(String),
    /// bedrock-chat's table has neither the region nor `default`.
    #[error("bedrock-chat's price table has no region {0:?} and no \"default\"")]
    NoRegion(String),
    /// A price that is not a decimal.
    #[error("model {model:?}: {error}")]
    Price {
        /// The model.
        model: String,
        /// What was wrong.
        error: PriceError,
    },
    /// A day that is not `YYYY-MM-DD`.
    #[error("model {model:?}: not a YYYY-MM-DD day: {day:?}")]
    Day {
        /// The model.
        model: String,
        /// The text.
        day: String,
    },
}

/// Where a call's price came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priced {
    /// The book's price for the model on that day.
    Known(Prices),
    /// The model (or that day of it) is not in the book: the fallback.
    Fallback(Prices),
}

impl Priced {
    /// The prices used, whichever their origin.
    pub fn prices(&self) -> Prices {
        match *self {
            Priced::Known(p) | Priced::Fallback(p) => p,
        }
    }
}

/// Model names to their prices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceBook {
    /// What the book is (`bedrock-chat us-east-1`, a file name).
    pub name: String,
    models: BTreeMap<String, Vec<Price>>,
    /// The price of a model the book does not know.
    pub fallback: Prices,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BookEntry {
    input: String,
    output: String,
    #[serde(default)]
    valid_from: Option<String>,
    #[serde(default)]
    valid_until: Option<String>,
    #[serde(default)]
    cache_read_input: Option<String>,
    #[serde(default)]
    cache_write_input: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

impl PriceBook {
    /// A book of one price per model, valid always.
    pub fn flat(name: &str, models: impl IntoIterator<Item = (String, Prices)>, fallback: Prices) -> PriceBook {
        let models = models
            .into_iter()
            .map(|(m, prices)| (m, vec![Price { prices, valid_from: None, valid_until: None }]))
            .collect();
        PriceBook { name: name.into(), models, fallback }
    }

    /// Reads a book of any of the three shapes: a catalog (`web/prices.json`,
    /// whose `models` is a list; `regional` applies its regional
    /// multipliers), Tally's book, or bedrock-chat's table (`region`).
    pub fn read(
        text: &str,
        name: &str,
        region: &str,
        regional: bool,
        fallback: Prices,
    ) -> Result<PriceBook, BookError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| BookError::Shape(e.to_string()))?;
        if value.get("models").is_some_and(serde_json::Value::is_array) {
            let catalog = crate::catalog::parse_catalog(text).map_err(|e| BookError::Shape(e.to_string()))?;
            let mut book = PriceBook::from_catalog(&catalog, regional, fallback)?;
            book.name = format!("{name}{}", if regional { " (regional profiles)" } else { "" });
            return Ok(book);
        }
        PriceBook::from_json(text, name, region, fallback)
    }

    /// Reads either shape; `region` picks a region of bedrock-chat's table.
    pub fn from_json(text: &str, name: &str, region: &str, fallback: Prices) -> Result<PriceBook, BookError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| BookError::Shape(e.to_string()))?;
        let (entries, name) = if let Some(table) = value.get("bedrock_chat_prices_per_1k") {
            let regional = table.get(region).or_else(|| table.get("default"));
            let regional = regional.ok_or_else(|| BookError::NoRegion(region.into()))?;
            let entries: BTreeMap<String, BookEntry> =
                serde_json::from_value(regional.clone()).map_err(|e| BookError::Shape(e.to_string()))?;
            (entries.into_iter().map(|(m, e)| (m, vec![e])).collect::<BTreeMap<_, _>>(), format!("{name} {region}"))
        } else if let Some(models) = value.get("models") {
            let entries: BTreeMap<String, Vec<BookEntry>> =
                serde_json::from_value(models.clone()).map_err(|e| BookError::Shape(e.to_string()))?;
            (entries, name.to_string())
        } else {
            return Err(BookError::Shape("neither \"models\" nor \"bedrock_chat_prices_per_1k\"".into()));
        };
        let mut models = BTreeMap::new();
        for (model, list) in entries {
            let mut prices = Vec::new();
            for e in list {
                let price = |t: &str| parse_price(t).map_err(|error| BookError::Price { model: model.clone(), error });
                let day = |t: &Option<String>| {
                    t.as_deref()
                        .map(|d| Day::parse(d).ok_or_else(|| BookError::Day { model: model.clone(), day: d.into() }))
                        .transpose()
                };
                prices.push(Price {
                    prices: Prices { input_per_1k: price(&e.input)?, output_per_1k: price(&e.output)? },
                    valid_from: day(&e.valid_from)?,
                    valid_until: day(&e.valid_until)?,
                });
                let _ = (&e.cache_read_input, &e.cache_write_input, &e.source);
            }
            models.insert(model, prices);
        }
        Ok(PriceBook { name, models, fallback })
    }

    /// The book of a catalog (`web/prices.json`): each model that names its
    /// `bedrock_chat` model, at its catalog prices and days; with `regional`,
    /// times its `regional_multiplier` (Claude 4.5 and later cost 1.1x
    /// through a regional inference profile).
    pub fn from_catalog(catalog: &Catalog, regional: bool, fallback: Prices) -> Result<PriceBook, BookError> {
        let mut models: BTreeMap<String, Vec<Price>> = BTreeMap::new();
        for m in &catalog.models {
            let Some(name) = m.about_text("bedrock_chat") else { continue };
            let day = |key: &str| {
                m.about_text(key)
                    .map(|d| Day::parse(d).ok_or_else(|| BookError::Day { model: m.id.clone(), day: d.into() }))
                    .transpose()
            };
            let mut prices = m.prices;
            if regional {
                if let Some(factor) = m.about_text("regional_multiplier") {
                    let factor =
                        parse_price(factor).map_err(|error| BookError::Price { model: m.id.clone(), error })?;
                    prices = prices.scaled(factor).ok_or_else(|| BookError::Shape(format!("{}: too large", m.id)))?;
                }
            }
            models.entry(name.to_string()).or_default().push(Price {
                prices,
                valid_from: day("valid_from")?,
                valid_until: day("valid_until")?,
            });
        }
        let name = if regional { "catalog (regional profiles)" } else { "catalog" };
        Ok(PriceBook { name: name.into(), models, fallback })
    }

    /// The price of `model` on `day`.
    pub fn price(&self, model: &str, day: Option<Day>) -> Priced {
        let found = self.models.get(model).and_then(|list| list.iter().find(|p| p.covers(day)));
        match found {
            Some(p) => Priced::Known(p.prices),
            None => Priced::Fallback(self.fallback),
        }
    }

    /// The models it knows.
    pub fn models(&self) -> impl Iterator<Item = &str> {
        self.models.keys().map(String::as_str)
    }
}

/// `tokens × per_1k / 1000`, exact (no rounding: a conversation's calls are
/// summed first, and the sum rounded once).
pub fn exact_cost(tokens: u64, per_1k: Decimal) -> Option<Decimal> {
    Decimal::from(tokens).checked_mul(per_1k)?.checked_div(Decimal::ONE_THOUSAND)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        parse_price(s).expect("price")
    }

    #[test]
    fn a_call_is_priced_at_the_price_of_its_day_and_an_unknown_model_at_the_fallback() {
        let book = r#"{"models": {"claude-v3.5-sonnet": [
            {"input": "0.003", "output": "0.015", "valid_until": "2025-12-01"},
            {"input": "0.006", "output": "0.03", "valid_from": "2025-12-01", "source": "AWS"}]}}"#;
        let fallback = Prices { input_per_1k: d("0.1"), output_per_1k: d("0.2") };
        let book = PriceBook::from_json(book, "book.json", "us-east-1", fallback).expect("book");
        let day = |s| Day::parse(s);
        let p = |model, s| book.price(model, day(s));
        assert_eq!(p("claude-v3.5-sonnet", "2025-11-30"), Priced::Known(Prices::default()));
        let doubled = Prices { input_per_1k: d("0.006"), output_per_1k: d("0.03") };
        assert_eq!(p("claude-v3.5-sonnet", "2025-12-01"), Priced::Known(doubled));
        assert_eq!(book.price("claude-v3.5-sonnet", None), Priced::Known(doubled));
        assert_eq!(p("nova-premier", "2025-12-01"), Priced::Fallback(fallback));
        assert!(PriceBook::from_json(r#"{"models": {"m": [{"input": "x", "output": "1"}]}}"#, "b", "", fallback)
            .is_err_and(|e| e.to_string().contains("model \"m\"")));
    }

    #[test]
    fn bedrock_chats_table_by_region() {
        let table = r#"{"about": "", "model_ids": {}, "bedrock_chat_prices_per_1k": {
            "us-east-1": {"claude-v3.5-haiku": {"input": "0.001", "output": "0.005", "cache_read_input": "0.00008"}},
            "default": {"claude-v3.5-haiku": {"input": "0.002", "output": "0.01"}}}}"#;
        let fallback = Prices::default();
        let east = PriceBook::from_json(table, "bedrock-chat", "us-east-1", fallback).expect("east");
        assert_eq!(east.name, "bedrock-chat us-east-1");
        assert_eq!(east.price("claude-v3.5-haiku", None).prices().output_per_1k, d("0.005"));
        let other = PriceBook::from_json(table, "bedrock-chat", "eu-west-3", fallback).expect("default");
        assert_eq!(other.price("claude-v3.5-haiku", None).prices().output_per_1k, d("0.01"));
        assert_eq!(exact_cost(1234, d("0.003")), Some(d("0.003702")));
    }

    #[test]
    fn the_catalog_is_a_book_by_bedrock_chat_name_with_days_and_regional_prices() {
        let catalog = crate::catalog::parse_catalog(include_str!("../../web/prices.json")).expect("catalog");
        let book = PriceBook::from_catalog(&catalog, false, Prices::default()).expect("book");
        let day = |s| Day::parse(s);
        // Claude 3.5 Sonnet doubles on 2025-12-01 (extended access).
        let before = book.price("claude-v3.5-sonnet", day("2025-11-30")).prices();
        let after = book.price("claude-v3.5-sonnet", day("2025-12-01")).prices();
        assert_eq!((before.input_per_1k, after.input_per_1k), (d("0.003"), d("0.006")));
        assert_eq!(
            book.price("claude-v4.5-haiku", day("2026-01-01")),
            Priced::Known(Prices { input_per_1k: d("0.001"), output_per_1k: d("0.005") })
        );
        let regional = PriceBook::from_catalog(&catalog, true, Prices::default()).expect("book");
        assert_eq!(regional.price("claude-v4.5-haiku", day("2026-01-01")).prices().input_per_1k, d("0.0011"));
        assert_eq!(regional.price("claude-v3.7-sonnet", day("2026-01-01")).prices().input_per_1k, d("0.003"));
        assert!(matches!(book.price("deepseek-r1", day("2026-01-01")), Priced::Fallback(_)));
    }
}
