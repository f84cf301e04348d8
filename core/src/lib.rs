//! Tally's domain: what a bedrock-chat deployment's conversations cost.
//!
//! Data flows one way. DynamoDB items ([`item`], from a scan, a dump or an
//! export) give a date ([`dates`]) and a message map ([`messagemap`], parsed
//! as Python's `json` would by [`pyjson`]); an estimator ([`estimate`])
//! counts its tokens as the original Lambdas did (lengths of Python
//! renderings: [`pyrepr`]); [`pricing`] turns tokens into exact decimal
//! money; a [`job::Run`] gathers rows and counters; [`csv`] writes and reads
//! the rows; [`consolidate`] merges the history in; [`stats`] summarises a
//! run; [`whatif`] re-prices a table of rows under other prices, fast
//! enough for a million rows in a browser. [`billed`] counts what each model
//! call of a conversation sent and produced, [`pricebook`] prices each call
//! by its model and day, and [`detail`] writes one row per conversation with
//! its users, bots, models and recorded price; [`users`] is the per-user
//! report (questions, feedback, tokens and cost per user).
//!
//! No I/O, no clock, no async: hosts hand in bytes or readers and get values
//! back, so the same code runs natively and on `wasm32-unknown-unknown`.

pub mod billed;
pub mod breakdown;
pub mod catalog;
pub mod consolidate;
pub mod csv;
pub mod dates;
mod decimal_table;
pub mod detail;
mod dynjson;
pub mod estimate;
pub mod filebytes;
pub mod item;
pub mod job;
pub mod messagemap;
mod numtext;
pub mod pricebook;
pub mod pricing;
mod printable_table;
pub mod publish;
pub mod pyjson;
pub mod pyrepr;
pub mod sample;
pub mod stats;
pub mod users;
pub mod whatif;

pub use consolidate::{consolidate, consolidate_run, Prefer};
pub use csv::{read_rows, write_csv, Row};
pub use dates::{DateRange, Day};
pub use estimate::{Estimator, Tokens};
pub use item::{read_dump, Attr, DumpError, Item};
pub use job::{JobSpec, Run};
pub use pricing::Prices;
pub use stats::Stats;
