//! `#[wasm_bindgen]` over tally-core's explorer engine, and nothing else.
//!
//! The page hands the CSV's bytes to [`Explorer::new`]; every query takes
//! its arguments as a JSON string and answers with a JSON string (parsed by
//! `web/explorer.js`), so money stays in exact decimal strings across the
//! boundary. Errors become `Error`s with the core's message, once, here.

use serde::Deserialize;
use tally_core::breakdown::By;
use tally_core::dates::Day;
use tally_core::filebytes::FileSource;
use tally_core::pricing::{parse_price, Prices};
use tally_core::whatif::{Filter, Scenario, Table, TableBuilder, BATCH_MULTIPLIER};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Which rows a view looks at. Days are "YYYY-MM-DD"; empty or absent means unbounded. */
export interface FilterSpec { from?: string; to?: string; sources?: string[] | null; users?: string[] | null; bots?: string[] | null; models?: string[] | null; }
/** Prices per 1,000 tokens as decimal strings; batch multiplies both by batch_multiplier (default "0.5"); per_model (a detail CSV): the rows of a model at other prices; keep_unmapped: the other models keep their cost. */
export interface ScenarioSpec { input_per_1k: string; output_per_1k: string; batch?: boolean; batch_multiplier?: string; per_model?: { model: string; input_per_1k: string; output_per_1k: string }[]; keep_unmapped?: boolean; }
/** Where the engine reads rows back from (web/filebytes.js): `length` bytes from `offset`, fewer only at the end, none when unreadable. */
export interface ByteSource { read(offset: number, length: number): Uint8Array; }
/** Explorer.info() */
export interface TableInfo { rows: number; placeholder_rows: number; unreadable: { line: number; error: string }[]; sources: string[]; first_day: string; last_day: string; detail: boolean; bots: string[]; models: string[]; }
"#;

#[derive(Deserialize, Default)]
struct FilterSpec {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    sources: Option<Vec<String>>,
    #[serde(default)]
    users: Option<Vec<String>>,
    #[serde(default)]
    bots: Option<Vec<String>>,
    #[serde(default)]
    models: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct ScenarioSpec {
    input_per_1k: String,
    output_per_1k: String,
    #[serde(default)]
    batch: bool,
    #[serde(default)]
    batch_multiplier: Option<String>,
    #[serde(default)]
    per_model: Vec<ModelPrices>,
    #[serde(default)]
    keep_unmapped: bool,
}

#[derive(Deserialize)]
struct ModelPrices {
    model: String,
    input_per_1k: String,
    output_per_1k: String,
}

fn day(text: Option<String>, what: &str) -> Result<Option<Day>, JsError> {
    match text.as_deref() {
        None | Some("") => Ok(None),
        Some(t) => Day::parse(t).map(Some).ok_or_else(|| JsError::new(&format!("{what}: not a YYYY-MM-DD day: {t:?}"))),
    }
}

fn filter(json: &str) -> Result<Filter, JsError> {
    let spec: FilterSpec = if json.trim().is_empty() {
        FilterSpec::default()
    } else {
        serde_json::from_str(json).map_err(|e| JsError::new(&format!("filter: {e}")))?
    };
    Ok(Filter {
        from: day(spec.from, "from")?,
        to: day(spec.to, "to")?,
        sources: spec.sources,
        users: spec.users,
        bots: spec.bots,
        models: spec.models,
    })
}

fn scenario(json: &str) -> Result<Scenario, JsError> {
    let spec: ScenarioSpec = serde_json::from_str(json).map_err(|e| JsError::new(&format!("scenario: {e}")))?;
    scenario_of(spec)
}

fn scenario_of(spec: ScenarioSpec) -> Result<Scenario, JsError> {
    let price = |t: &str, what: &str| parse_price(t).map_err(|e| JsError::new(&format!("{what}: {e}")));
    Ok(Scenario {
        prices: Prices {
            input_per_1k: price(&spec.input_per_1k, "input price")?,
            output_per_1k: price(&spec.output_per_1k, "output price")?,
        },
        batch: match (spec.batch, spec.batch_multiplier.as_deref()) {
            (false, _) => None,
            (true, None | Some("")) => Some(BATCH_MULTIPLIER),
            (true, Some(m)) => Some(price(m, "batch multiplier")?),
        },
        per_model: spec
            .per_model
            .iter()
            .map(|m| {
                let prices = Prices {
                    input_per_1k: price(&m.input_per_1k, "input price")?,
                    output_per_1k: price(&m.output_per_1k, "output price")?,
                };
                Ok((m.model.clone(), prices))
            })
            .collect::<Result<_, JsError>>()?,
        keep_unmapped: spec.keep_unmapped,
    })
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
}

#[wasm_bindgen]
extern "C" {
    /// The page's copy of a file: `read(offset, length)` answers a
    /// `Uint8Array` of its bytes from `offset`, `length` of them (fewer only
    /// at the end of the file, none when they can no longer be read).
    #[derive(Debug)]
    #[wasm_bindgen(typescript_type = "ByteSource")]
    pub type ByteSource;

    #[wasm_bindgen(method, catch)]
    fn read(this: &ByteSource, offset: f64, length: u32) -> Result<js_sys::Uint8Array, JsValue>;
}

/// The page's copy of the file, where a table that let its bytes go reads rows back.
#[derive(Debug)]
struct PageBytes(ByteSource);

impl FileSource for PageBytes {
    fn read_at(&self, offset: usize, out: &mut [u8]) -> Option<usize> {
        let bytes = self.0.read(offset as f64, out.len() as u32).ok()?;
        let n = (bytes.length() as usize).min(out.len());
        bytes.subarray(0, n as u32).copy_to(&mut out[..n]);
        Some(n)
    }
}

/// A CSV read as its bytes arrive: [`ExplorerBuilder::push`] each chunk
/// (its complete records are read at once, while the next bytes are on
/// their way), then [`ExplorerBuilder::finish`]; the same [`Explorer`] as
/// `new Explorer(bytes)` of the whole file.
#[derive(Debug)]
#[wasm_bindgen]
pub struct ExplorerBuilder {
    builder: TableBuilder,
}

#[wasm_bindgen]
impl ExplorerBuilder {
    /// A builder for a file of about `size` bytes (0: unknown). Given the
    /// page's copy of the file (`source`), the engine lets each chunk go once
    /// it is read and reads rows back from the page's copy when it shows
    /// them: the file is not held twice, and the engine's memory is written
    /// once per chunk's room, not once per byte of the file (memory written
    /// the first time costs about 1 ms a MB here). Without, it keeps them.
    #[wasm_bindgen(constructor)]
    pub fn new(size: usize, source: Option<ByteSource>) -> ExplorerBuilder {
        let builder = match source {
            Some(source) => TableBuilder::letting_go(size, Box::new(PageBytes(source))),
            None => TableBuilder::with_capacity(size),
        };
        ExplorerBuilder { builder }
    }

    /// The file's next bytes, copied once: from the page's memory into the builder's.
    pub fn push(&mut self, chunk: &js_sys::Uint8Array) -> Result<(), JsError> {
        let n = chunk.length() as usize;
        self.builder.push_with(n, |room| chunk.copy_to(room)).map_err(|e| JsError::new(&e.to_string()))
    }

    /// The end of the file: the explorer (this builder is used up).
    pub fn finish(self) -> Result<Explorer, JsError> {
        self.builder.finish().map(|table| Explorer { table }).map_err(|e| JsError::new(&e.to_string()))
    }
}

/// A loaded CSV, ready to answer the explorer's queries.
#[derive(Debug)]
#[wasm_bindgen]
pub struct Explorer {
    table: Table,
}

#[wasm_bindgen]
impl Explorer {
    /// Reads a CSV (any shape Tally or the Python Lambdas wrote).
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: Vec<u8>) -> Result<Explorer, JsError> {
        Table::from_csv(bytes).map(|table| Explorer { table }).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Rows read.
    pub fn rows(&self) -> usize {
        self.table.len()
    }

    /// The file's size in bytes.
    pub fn bytes(&self) -> usize {
        self.table.bytes()
    }

    /// JSON `TableInfo`: rows, dropped placeholders, unreadable lines, sources, day span.
    pub fn info(&self) -> String {
        let span = self.table.day_span();
        json(&serde_json::json!({
            "rows": self.table.len(),
            "placeholder_rows": self.table.placeholder_rows(),
            "unreadable": self.table.unreadable(),
            "sources": self.table.sources(),
            "first_day": span.map(|s| s.0.to_string()).unwrap_or_default(),
            "last_day": span.map(|s| s.1.to_string()).unwrap_or_default(),
            "detail": self.table.has_detail(),
            "bots": self.table.names(By::Bot),
            "models": self.table.names(By::Model),
        }))
    }

    /// JSON `Views` for a JSON `FilterSpec`, with the `top_n` most expensive rows.
    pub fn views(&self, filter_json: &str, top_n: usize) -> Result<String, JsError> {
        let views = self.table.views(&filter(filter_json)?, top_n).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(json(&views))
    }

    /// JSON `Headline` for a JSON `FilterSpec`: the views' headline alone.
    pub fn headline(&self, filter_json: &str) -> Result<String, JsError> {
        Ok(json(&self.table.headline(&filter(filter_json)?)))
    }

    /// The total cost under each of a JSON array of `ScenarioSpec`s, in one
    /// pass: a JSON array of decimal strings, `null` for one that cannot be priced.
    pub fn whatif_totals(&self, filter_json: &str, scenarios_json: &str) -> Result<String, JsError> {
        let specs: Vec<ScenarioSpec> =
            serde_json::from_str(scenarios_json).map_err(|e| JsError::new(&format!("scenarios: {e}")))?;
        let scenarios = specs.into_iter().map(scenario_of).collect::<Result<Vec<_>, _>>()?;
        Ok(json(&self.table.whatif_totals(&filter(filter_json)?, &scenarios)))
    }

    /// JSON `WhatIf` for a JSON `FilterSpec` and `ScenarioSpec`.
    pub fn whatif(&self, filter_json: &str, scenario_json: &str) -> Result<String, JsError> {
        let result = self.table.whatif(&filter(filter_json)?, &scenario(scenario_json)?);
        Ok(json(&result.map_err(|e| JsError::new(&e.to_string()))?))
    }

    /// JSON `Breakdown`: the filtered rows by `by` (`user`, `bot`, `model`),
    /// the `top` most expensive groups whose key contains `search`.
    pub fn breakdown(&self, filter_json: &str, by: &str, top: usize, search: &str) -> Result<String, JsError> {
        let by: By = by.parse().map_err(|e: String| JsError::new(&e))?;
        let result = self.table.breakdown(&filter(filter_json)?, by, top, search);
        Ok(json(&result.map_err(|e| JsError::new(&e.to_string()))?))
    }

    /// JSON `Accuracy`: the recorded price against the billed estimate, with
    /// the `top` conversations that differ most (a detail CSV only).
    pub fn accuracy(&self, filter_json: &str, top: usize) -> Result<String, JsError> {
        let result = self.table.accuracy(&filter(filter_json)?, top);
        Ok(json(&result.map_err(|e| JsError::new(&e.to_string()))?))
    }

    /// The filtered rows re-priced under the scenario, as spreadsheet-safe CSV bytes.
    pub fn whatif_csv(&self, filter_json: &str, scenario_json: &str) -> Result<Vec<u8>, JsError> {
        self.table
            .whatif_csv(&filter(filter_json)?, &scenario(scenario_json)?)
            .map_err(|e| JsError::new(&e.to_string()))
    }
}

/// Reads and checks a price catalog (the shape of `web/prices.json`) by the
/// core's rules, the command line's too: `{models, batch_multiplier,
/// dropped: [{entry, reason}], warnings, ...the catalog's other fields}`,
/// each model with `name` filled in and its prices as written. An error when
/// no model is usable.
#[wasm_bindgen]
pub fn catalog(json: &str) -> Result<String, JsError> {
    let checked = tally_core::catalog::parse_catalog(json).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(serde_json::to_string(&checked).unwrap_or_default())
}

/// Whether a price as typed is one the catalog's rules accept: a plain
/// non-negative decimal (`0.003`, `.5`), no sign, no exponent.
#[wasm_bindgen]
pub fn is_plain_price(text: &str) -> bool {
    tally_core::catalog::plain_price(text).is_some()
}

/// The batch multiplier the engine applies when a catalog names none.
#[wasm_bindgen]
pub fn default_batch_multiplier() -> String {
    BATCH_MULTIPLIER.normalize().to_string()
}

/// The version of the engine.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
