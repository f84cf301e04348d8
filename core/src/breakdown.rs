//! Who and what costs money, in the explorer's table: cost by user (`pk`,
//! in every CSV), by bot and by model (the detail columns of
//! [`crate::detail`]), and the recorded price held against the estimate.
//!
//! The money a group is ranked by is the best estimate the file has:
//! `billed_price` in a detail CSV, `total_price` (the Lambdas' rules)
//! otherwise.

use serde::Serialize;

use crate::csv::{parse_money, parse_tokens, text_of, BadRow, Fields, RecordError};
use crate::detail::DETAIL_COLUMNS;
use crate::filebytes::RereadError;
use crate::pricing::{fixed2, micros_text};
use crate::whatif::{Filter, Table};

/// A `recorded_price` that is empty.
pub(crate) const NO_PRICE: i64 = i64::MIN;

/// Strings of one column, each kept once (their bytes in one arena);
/// rows hold their index. Keys are found in an open-addressing table whose
/// slot is one cache line holding the key's hash, length and first
/// [`INLINE`] bytes: a user id (a UUID) is found and compared in one trip to
/// memory, which is what interning a million rows of 200,000 users waits on.
#[derive(Debug, Clone)]
pub(crate) struct Interned {
    /// Each key as its length (4 bytes, little-endian) and its bytes.
    arena: Vec<u8>,
    /// Where each id's key starts in the arena.
    starts: Vec<u32>,
    /// A power of two of slots (or none yet), at most three quarters of them used.
    slots: Vec<Slot>,
    /// The hash function (a test's may collide on purpose).
    hasher: fn(&[u8]) -> u64,
    /// The last key found, and a copy of its bytes (the arena's may be far
    /// away in memory): neighbouring rows often share a bot or a model.
    last: Option<u32>,
    last_key: Vec<u8>,
}

/// Bytes of a key kept in its slot; longer keys compare the rest in the arena.
const INLINE: usize = 48;

/// One slot of [`Interned`]'s table: a cache line.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Slot {
    hash: u64,
    /// The key's id, or [`FREE`].
    id: u32,
    len: u32,
    key: [u8; INLINE],
}

/// The id of a free slot.
const FREE: u32 = u32::MAX;

const FREE_SLOT: Slot = Slot { hash: 0, id: FREE, len: 0, key: [0; INLINE] };

impl Default for Interned {
    fn default() -> Interned {
        Interned::with_hasher(hash)
    }
}

/// A fast 64-bit hash of a short key (multiply-rotate over 8-byte words).
fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h.rotate_left(5) ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    // Mixes the high bits into the low ones the table indexes by (keys often
    // differ only in their last bytes).
    h ^= h >> 32;
    h = h.wrapping_mul(0xd6e8_feb8_6659_fd93);
    h ^ (h >> 32)
}

impl Interned {
    fn with_hasher(hasher: fn(&[u8]) -> u64) -> Interned {
        Interned { arena: Vec::new(), starts: Vec::new(), slots: Vec::new(), hasher, last: None, last_key: Vec::new() }
    }

    /// The key stored at `start` of the arena.
    fn at(&self, start: u32) -> &[u8] {
        let s = start as usize;
        let len = u32::from_le_bytes([self.arena[s], self.arena[s + 1], self.arena[s + 2], self.arena[s + 3]]);
        &self.arena[s + 4..s + 4 + len as usize]
    }

    fn bytes(&self, id: u32) -> &[u8] {
        self.at(self.starts[id as usize])
    }

    /// Whether `slot` holds `bytes` (of hash `h`).
    #[inline]
    fn holds(&self, slot: &Slot, h: u64, bytes: &[u8]) -> bool {
        if slot.hash != h || slot.len as usize != bytes.len() {
            return false;
        }
        let n = bytes.len().min(INLINE);
        slot.key[..n] == bytes[..n] && (bytes.len() <= INLINE || self.bytes(slot.id)[INLINE..] == bytes[INLINE..])
    }

    /// The slot of `bytes`, or the free slot where it would go.
    #[inline]
    fn probe(&self, h: u64, bytes: &[u8]) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let slot = &self.slots[i];
            if slot.id == FREE || self.holds(slot, h, bytes) {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// The id of `bytes`, if seen.
    pub(crate) fn find(&self, bytes: &[u8]) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let slot = &self.slots[self.probe((self.hasher)(bytes), bytes)];
        (slot.id != FREE).then_some(slot.id)
    }

    fn id(&mut self, bytes: &[u8]) -> u32 {
        self.remembered_id(bytes, |_| true).unwrap_or_default()
    }

    /// [`Interned::id`] of a key that must be UTF-8 (checked only when it is new); `None` if it is not.
    fn text_id(&mut self, bytes: &[u8]) -> Option<u32> {
        self.remembered_id(bytes, |b| std::str::from_utf8(b).is_ok())
    }

    /// The id of `bytes` (the last key found first), added if new and `admit` lets it in.
    fn remembered_id(&mut self, bytes: &[u8], admit: impl Fn(&[u8]) -> bool) -> Option<u32> {
        if let Some(k) = self.last.filter(|_| self.last_key == bytes) {
            return Some(k);
        }
        let k = self.lookup_or_add(bytes, admit)?;
        self.last = Some(k);
        self.last_key.clear();
        self.last_key.extend_from_slice(bytes);
        Some(k)
    }

    /// The id of `bytes`, added if new and `admit` lets it in.
    fn lookup_or_add(&mut self, bytes: &[u8], admit: impl Fn(&[u8]) -> bool) -> Option<u32> {
        if self.slots.is_empty() {
            self.slots = vec![FREE_SLOT; 16];
        }
        let h = (self.hasher)(bytes);
        let i = self.probe(h, bytes);
        if self.slots[i].id != FREE {
            return Some(self.slots[i].id);
        }
        if !admit(bytes) {
            return None;
        }
        let k = self.add(i, h, bytes);
        if self.starts.len() * 4 > self.slots.len() * 3 {
            self.grow();
        }
        Some(k)
    }

    /// Adds `bytes` (of hash `h`) in the free slot `i`: its new id.
    fn add(&mut self, i: usize, h: u64, bytes: &[u8]) -> u32 {
        let k = self.starts.len() as u32;
        self.starts.push(self.arena.len() as u32);
        self.arena.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        self.arena.extend_from_slice(bytes);
        let mut slot = Slot { hash: h, id: k, len: bytes.len() as u32, key: [0; INLINE] };
        let n = bytes.len().min(INLINE);
        slot.key[..n].copy_from_slice(&bytes[..n]);
        self.slots[i] = slot;
        k
    }

    /// The ids of `keys` (each a range of `data`) into `out`, added if new:
    /// [`Interned::id`] for a batch. Each key's slot is read once for all
    /// of them before any is probed: a table larger than the caches costs a
    /// trip to memory per key, and these trips then overlap instead of
    /// following one another (WebAssembly has no prefetch instruction).
    fn ids_of(&mut self, data: &[u8], keys: &[std::ops::Range<usize>], out: &mut Vec<u32>) {
        if self.slots.is_empty() {
            self.slots = vec![FREE_SLOT; 16];
        }
        // Room for all of them first, so that no slot moves within the batch.
        while (self.starts.len() + keys.len()) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut hashes = [0u64; BATCH];
        let mut touched = 0u64;
        for (h, key) in hashes.iter_mut().zip(keys) {
            *h = (self.hasher)(&data[key.clone()]);
            touched ^= self.slots[*h as usize & mask].hash;
        }
        std::hint::black_box(touched);
        for (&h, key) in hashes.iter().zip(keys) {
            let bytes = &data[key.clone()];
            let i = self.probe(h, bytes);
            let id = if self.slots[i].id == FREE { self.add(i, h, bytes) } else { self.slots[i].id };
            out.push(id);
        }
    }

    /// Twice the slots, every key moved to its new place.
    fn grow(&mut self) {
        let twice = vec![FREE_SLOT; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, twice);
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|s| s.id != FREE) {
            let mut i = slot.hash as usize & mask;
            while self.slots[i].id != FREE {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }

    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }

    /// The text of `id`.
    pub(crate) fn name(&self, id: u32) -> String {
        text_of(self.bytes(id))
    }

    /// Every text, in first-seen order.
    pub(crate) fn names(&self) -> Vec<String> {
        (0..self.len() as u32).map(|k| self.name(k)).collect()
    }

    /// Which ids a list of names allows (`None`: all).
    pub(crate) fn allowed(&self, keep: &Option<Vec<String>>) -> Option<Vec<bool>> {
        keep.as_ref().map(|keep| {
            let mut allowed = vec![false; self.len()];
            for k in keep.iter().filter_map(|name| self.find(name.as_bytes())) {
                allowed[k as usize] = true;
            }
            allowed
        })
    }
}

/// The columns of a detail CSV, by row.
#[derive(Debug, Clone, Default)]
pub(crate) struct DetailColumns {
    index: [usize; 6],
    pub(crate) bot: Vec<u32>,
    pub(crate) bots: Interned,
    pub(crate) model: Vec<u32>,
    pub(crate) models: Interned,
    pub(crate) recorded: Vec<i64>,
    pub(crate) billed_input: Vec<u64>,
    pub(crate) billed_output: Vec<u64>,
    pub(crate) billed: Vec<i64>,
}

/// Keys interned together by [`Interned::ids_of`].
const BATCH: usize = 32;

/// The users (`pk`) of the rows, interned as the file is read, a batch at a time.
#[derive(Debug, Clone, Default)]
pub(crate) struct Users {
    pub(crate) user: Vec<u32>,
    pub(crate) users: Interned,
    /// Keys of the next rows not interned yet: ranges of the file's bytes.
    pending: Vec<std::ops::Range<usize>>,
}

impl Users {
    pub(crate) fn with_capacity(rows: usize) -> Users {
        Users { user: Vec::with_capacity(rows), users: Interned::default(), pending: Vec::with_capacity(BATCH) }
    }

    /// The next row's user, `pk`, read from `data` (the file's bytes; a
    /// key unquoted into another buffer is interned at once, in its turn).
    #[inline]
    pub(crate) fn push(&mut self, data: &[u8], pk: &[u8]) {
        let start = (pk.as_ptr() as usize).wrapping_sub(data.as_ptr() as usize);
        if start <= data.len() && data.len() - start >= pk.len() {
            self.pending.push(start..start + pk.len());
            if self.pending.len() == BATCH {
                self.flush(data);
            }
        } else {
            self.flush(data);
            let id = self.users.id(pk);
            self.user.push(id);
        }
    }

    /// Interns the keys pending: at the end of the file, or before one out of it.
    pub(crate) fn flush(&mut self, data: &[u8]) {
        if !self.pending.is_empty() {
            self.users.ids_of(data, &self.pending, &mut self.user);
            self.pending.clear();
        }
    }
}

/// The detail columns of a detail CSV and the users, read with the file.
#[derive(Debug, Clone, Default)]
pub(crate) struct Keys {
    pub(crate) users: Users,
    pub(crate) detail: Option<DetailColumns>,
}

/// The detail columns the explorer reads (of [`DETAIL_COLUMNS`]).
const READ: [&str; 6] =
    ["bot_id", "model", "recorded_price", "billed_input_token", "billed_output_token", "billed_price"];

impl Keys {
    /// Finds the detail columns in the header: all of them, or none.
    pub(crate) fn from_header(header: &Fields<'_>) -> Keys {
        let names: Vec<&[u8]> = (0..header.len()).map(|k| header.get(k)).collect();
        let mut index = [0usize; 6];
        let found = READ.iter().zip(index.iter_mut()).all(|(want, slot)| {
            debug_assert!(DETAIL_COLUMNS.contains(want));
            names.iter().position(|n| *n == want.as_bytes()).map(|k| *slot = k).is_some()
        });
        Keys { detail: found.then(|| DetailColumns { index, ..DetailColumns::default() }), ..Keys::default() }
    }

    /// Reads a row's detail cells; an unreadable one makes the row unreadable.
    pub(crate) fn push(&mut self, cells: &Fields<'_>, line: u64) -> Result<(), BadRow> {
        if let Some(d) = &mut self.detail {
            let cell = |k: usize| cells.get(d.index[k]);
            let bad = |e: RecordError| BadRow::new(line, e);
            let recorded = match cell(2) {
                b"" => NO_PRICE,
                text => parse_money(text).map_err(bad)?,
            };
            let (billed_input, billed_output) =
                (parse_tokens(cell(3)).map_err(bad)?, parse_tokens(cell(4)).map_err(bad)?);
            let billed = parse_money(cell(5)).map_err(bad)?;
            // Text is checked once per new bot or model, as it is kept.
            let bot = d.bots.text_id(cell(0)).ok_or_else(|| bad(RecordError::NotUtf8("bot_id")))?;
            let model = d.models.text_id(cell(1)).ok_or_else(|| bad(RecordError::NotUtf8("model")))?;
            d.bot.push(bot);
            d.model.push(model);
            d.recorded.push(recorded);
            d.billed_input.push(billed_input);
            d.billed_output.push(billed_output);
            d.billed.push(billed);
        }
        Ok(())
    }
}

/// What a breakdown groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    /// `pk`: the bedrock-chat user.
    User,
    /// `bot_id` (a detail CSV).
    Bot,
    /// `model` (a detail CSV).
    Model,
}

impl std::str::FromStr for By {
    type Err = String;
    fn from_str(s: &str) -> Result<By, String> {
        match s {
            "user" => Ok(By::User),
            "bot" => Ok(By::Bot),
            "model" => Ok(By::Model),
            other => Err(format!("group by user, bot or model, not {other:?}")),
        }
    }
}

/// One group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The user, bot or model (empty: no bot).
    pub key: String,
    /// Its rows.
    pub conversations: u64,
    /// Tokens of the best estimate (billed, else the Lambdas').
    pub input_tokens: u128,
    /// Likewise.
    pub output_tokens: u128,
    /// The best estimate's money.
    pub cost: String,
    /// The Lambdas' `total_price`.
    pub seed_cost: String,
    /// Sum of `recorded_price` (empty without detail columns).
    pub recorded: String,
    /// `cost` as a share of the filtered total, in % with 2 decimals.
    pub share_pct: String,
}

/// The groups of a breakdown, most expensive first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breakdown {
    /// What it groups by.
    pub by: By,
    /// Which money ranks the groups: `billed` or `estimated` (the Lambdas').
    pub money: &'static str,
    /// The groups matching the search, at most `top`.
    pub groups: Vec<Group>,
    /// Groups with rows under the filter.
    pub total_groups: u64,
    /// Of those, the ones the search matched.
    pub matched_groups: u64,
    /// The filtered total of the ranking money.
    pub total_cost: String,
}

/// One group under a what-if scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupWhatIf {
    /// The user, bot or model.
    pub key: String,
    /// Its rows.
    pub conversations: u64,
    /// What it cost (the what-if's basis: billed, else the Lambdas').
    pub actual: String,
    /// What it would cost.
    pub whatif: String,
    /// `whatif - actual`.
    pub difference: String,
}

/// Why a view cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BreakdownError {
    /// By bot or model, or recorded against estimated, of a seed CSV.
    #[error("this file has no detail columns (bot_id, model, recorded_price, billed_*): write it with --detail")]
    NoDetail,
    /// The scenario cannot price a row.
    #[error(transparent)]
    WhatIf(#[from] crate::whatif::WhatIfError),
    /// A row to show could not be read back from the file.
    #[error(transparent)]
    Reread(#[from] RereadError),
}

/// The recorded price held against the estimate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Accuracy {
    /// Rows with a recorded price.
    pub conversations: u64,
    /// Rows without one (left out of the figures).
    pub without_recorded: u64,
    /// Sum of `recorded_price`.
    pub recorded_total: String,
    /// Sum of `billed_price` over the same rows.
    pub billed_total: String,
    /// Sum of the Lambdas' `total_price` over the same rows.
    pub seed_total: String,
    /// `billed - recorded`.
    pub difference: String,
    /// Its percentage of the recorded total (2 decimals; empty when that is 0).
    pub difference_pct: String,
    /// The per-conversation error `billed / recorded - 1`, in bins of 10 %
    /// from -100 % to +100 % (the last bin takes everything above).
    pub histogram: Vec<Bin>,
    /// The rows whose billed price differs most from the recorded one.
    pub most_different: Vec<Difference>,
}

/// A bin of the error histogram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bin {
    /// Its lower bound, in % (inclusive).
    pub from_pct: i32,
    /// Its upper bound, in % (exclusive; `null`: no bound).
    pub to_pct: Option<i32>,
    /// Conversations in it (with a recorded price above 0).
    pub conversations: u64,
}

/// One conversation of [`Accuracy::most_different`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// `pk`.
    pub pk: String,
    /// `sk`.
    pub sk: String,
    /// `recorded_price`.
    pub recorded: String,
    /// `billed_price`.
    pub billed: String,
    /// `billed - recorded`.
    pub difference: String,
}

impl Table {
    /// Whether the file has the detail columns.
    pub fn has_detail(&self) -> bool {
        self.keys.detail.is_some()
    }

    /// How many users, bots or models the file has.
    pub fn count(&self, by: By) -> usize {
        self.interned(by).map_or(0, Interned::len)
    }

    /// The names of a column: users, bots or models, in first-seen order.
    pub fn names(&self, by: By) -> Vec<String> {
        self.interned(by).map(Interned::names).unwrap_or_default()
    }

    /// The users of the rows, interned on first use.
    pub(crate) fn users(&self) -> &Users {
        &self.keys.users
    }

    fn interned(&self, by: By) -> Option<&Interned> {
        match (by, &self.keys.detail) {
            (By::User, _) => Some(&self.users().users),
            (By::Bot, Some(d)) => Some(&d.bots),
            (By::Model, Some(d)) => Some(&d.models),
            _ => None,
        }
    }

    /// The filtered rows grouped `by`, ranked by cost (ties: the first
    /// seen), keeping those whose key contains `search` (case-insensitive),
    /// at most `top` of them.
    pub fn breakdown(&self, filter: &Filter, by: By, top: usize, search: &str) -> Result<Breakdown, BreakdownError> {
        let detail = self.keys.detail.as_ref();
        let (ids, names): (&[u32], &Interned) = match (by, detail) {
            (By::User, _) => (&self.users().user, &self.users().users),
            (By::Bot, Some(d)) => (&d.bot, &d.bots),
            (By::Model, Some(d)) => (&d.model, &d.models),
            _ => return Err(BreakdownError::NoDetail),
        };
        let count = names.len();
        #[derive(Clone, Copy, Default)]
        struct Acc {
            rows: u64,
            input: u128,
            output: u128,
            cost: i128,
            seed: i128,
            recorded: i128,
        }
        let mut acc = vec![Acc::default(); count];
        let mut total = 0i128;
        let keep = self.selector(filter);
        for i in 0..self.len() {
            if !keep(i) {
                continue;
            }
            let a = &mut acc[ids[i] as usize];
            a.rows += 1;
            a.seed += i128::from(self.total[i]);
            let cost = match detail {
                Some(d) => {
                    a.input += u128::from(d.billed_input[i]);
                    a.output += u128::from(d.billed_output[i]);
                    if d.recorded[i] != NO_PRICE {
                        a.recorded += i128::from(d.recorded[i]);
                    }
                    i128::from(d.billed[i])
                }
                None => {
                    a.input += u128::from(self.input[i]);
                    a.output += u128::from(self.output[i]);
                    i128::from(self.total[i])
                }
            };
            a.cost += cost;
            total += cost;
        }
        let needle = search.to_lowercase();
        let mut groups: Vec<u32> = (0..count as u32).filter(|&k| acc[k as usize].rows > 0).collect();
        let total_groups = groups.len() as u64;
        if !needle.is_empty() {
            groups.retain(|&k| names.name(k).to_lowercase().contains(&needle));
        }
        let matched_groups = groups.len() as u64;
        // Most expensive first; equal costs keep first-seen order (ids are
        // first-seen order). Only the top are sorted: a file of 200,000
        // users ranks 20 of them.
        let rank = |&k: &u32| (std::cmp::Reverse(acc[k as usize].cost), k);
        if groups.len() > top && top > 0 {
            groups.select_nth_unstable_by_key(top - 1, rank);
        }
        groups.truncate(top);
        groups.sort_unstable_by_key(rank);
        let groups = groups
            .into_iter()
            .map(|k| (k, acc[k as usize]))
            .map(|(k, a)| Group {
                key: names.name(k),
                conversations: a.rows,
                input_tokens: a.input,
                output_tokens: a.output,
                cost: micros_text(a.cost),
                seed_cost: micros_text(a.seed),
                recorded: if detail.is_some() { micros_text(a.recorded) } else { String::new() },
                share_pct: if total == 0 { String::new() } else { fixed2(a.cost * 100, total) },
            })
            .collect();
        Ok(Breakdown {
            by,
            money: if detail.is_some() { "billed" } else { "estimated" },
            groups,
            total_groups,
            matched_groups,
            total_cost: micros_text(total),
        })
    }

    /// The filtered rows under `scenario`, grouped `by`: the `top` groups
    /// of the highest actual cost (ties: first seen).
    pub fn whatif_by(
        &self,
        filter: &Filter,
        scenario: &crate::whatif::Scenario,
        by: By,
        top: usize,
    ) -> Result<Vec<GroupWhatIf>, BreakdownError> {
        let (ids, names): (&[u32], &Interned) = match (by, self.keys.detail.as_ref()) {
            (By::User, _) => (&self.users().user, &self.users().users),
            (By::Bot, Some(d)) => (&d.bot, &d.bots),
            (By::Model, Some(d)) => (&d.model, &d.models),
            _ => return Err(BreakdownError::NoDetail),
        };
        let (costs, _) = self.repriced(filter, scenario)?;
        let basis = self.basis();
        let mut acc = vec![(0u64, 0i128, 0i128); names.len()];
        for (i, cost) in costs.iter().enumerate() {
            let Some(cost) = cost else { continue };
            let a = &mut acc[ids[i] as usize];
            a.0 += 1;
            a.1 += i128::from(basis.cost[i]);
            a.2 += i128::from(*cost);
        }
        let mut groups: Vec<(usize, (u64, i128, i128))> =
            acc.into_iter().enumerate().filter(|(_, a)| a.0 > 0).collect();
        groups.sort_by_key(|g| std::cmp::Reverse(g.1 .1));
        groups.truncate(top);
        Ok(groups
            .into_iter()
            .map(|(k, (n, actual, whatif))| GroupWhatIf {
                key: names.name(k as u32),
                conversations: n,
                actual: micros_text(actual),
                whatif: micros_text(whatif),
                difference: micros_text(whatif - actual),
            })
            .collect())
    }

    /// The filtered rows' recorded price against their billed estimate,
    /// with the `top` conversations that differ most (by |difference|;
    /// ties: file order).
    pub fn accuracy(&self, filter: &Filter, top: usize) -> Result<Accuracy, BreakdownError> {
        let d = self.keys.detail.as_ref().ok_or(BreakdownError::NoDetail)?;
        let keep = self.selector(filter);
        let (mut recorded, mut billed, mut seed) = (0i128, 0i128, 0i128);
        let (mut with, mut without) = (0u64, 0u64);
        let mut bins = [0u64; 21];
        let mut worst: Vec<(i128, usize)> = Vec::with_capacity(top + 1);
        for i in 0..self.len() {
            if !keep(i) {
                continue;
            }
            let r = d.recorded[i];
            if r == NO_PRICE {
                without += 1;
                continue;
            }
            with += 1;
            let b = d.billed[i];
            if r > 0 {
                // Bin k holds errors in [-100 + 10k, -90 + 10k) %; bin 20 all
                // from +100 %: floor(10 (b - r) / r), in 64 bits when it fits
                // (wasm32 divides 128-bit numbers in software). It always
                // does (a cell holds at most 10^16 millionths); the 128-bit
                // path keeps the rule exact whatever the cells.
                let floor = match b.checked_sub(r).and_then(|x| x.checked_mul(10)) {
                    Some(x) => i128::from(x.div_euclid(r)),
                    None => ((i128::from(b) - i128::from(r)) * 10).div_euclid(i128::from(r)),
                };
                bins[(floor + 10).clamp(0, 20) as usize] += 1;
            }
            let (r, b) = (i128::from(r), i128::from(b));
            recorded += r;
            billed += b;
            seed += i128::from(self.total[i]);
            if top > 0 {
                let diff = (b - r).abs();
                if worst.len() < top || diff > worst[worst.len() - 1].0 {
                    let at = worst.partition_point(|&(w, wi)| w > diff || w == diff && wi < i);
                    worst.insert(at, (diff, i));
                    worst.truncate(top);
                }
            }
        }
        let histogram = (0..21)
            .map(|k| Bin {
                from_pct: -100 + 10 * k as i32,
                to_pct: (k < 20).then(|| -90 + 10 * k as i32),
                conversations: bins[k],
            })
            .collect();
        let mut file = self.rereader();
        let most_different = worst
            .into_iter()
            .map(|(_, i)| {
                let row = self.top_row(&mut file, i)?;
                let (r, b) = (d.recorded[i], d.billed[i]);
                Ok(Difference {
                    pk: row.pk,
                    sk: row.sk,
                    recorded: micros_text(i128::from(r)),
                    billed: micros_text(i128::from(b)),
                    difference: micros_text(i128::from(b) - i128::from(r)),
                })
            })
            .collect::<Result<_, RereadError>>()?;
        Ok(Accuracy {
            conversations: with,
            without_recorded: without,
            recorded_total: micros_text(recorded),
            billed_total: micros_text(billed),
            seed_total: micros_text(seed),
            difference: micros_text(billed - recorded),
            difference_pct: if recorded == 0 { String::new() } else { fixed2((billed - recorded) * 100, recorded) },
            histogram,
            most_different,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::Day;

    const HEAD: &str = "create_date,input_token,output_token,precio_token_input,precio_token_output,total_price,pk,sk,source,\
                        bot_id,model,models,turns,last_date,recorded_price,billed_input_token,billed_output_token,billed_price\n";

    fn detail() -> Table {
        let rows = [
            "2026-01-01 10:00:00,10,10,0.000030,0.000150,0.000180,ana,ana#CONV#1,new_table,,haiku,haiku,1,,0.010000,1000,100,0.011000",
            "2026-01-02 10:00:00,10,10,0.000030,0.000150,0.000180,ana,ana#CONV#2,new_table,b1,sonnet,sonnet,2,,0.020000,2000,200,0.015000",
            "2026-01-03 10:00:00,10,10,0.000030,0.000150,0.000180,bo,bo#CONV#3,new_table,b1,sonnet,haiku;sonnet,3,,,3000,300,0.030000",
            "2026-01-04 10:00:00,10,10,0.000030,0.000150,0.000180,cy,cy#CONV#4,new_table,b2,haiku,haiku,1,,0.001000,10,10,0.004000",
        ];
        Table::from_csv(format!("{HEAD}{}\n", rows.join("\n")).into_bytes()).expect("table")
    }

    #[test]
    fn groups_add_up_rank_by_billed_and_follow_the_filters() {
        let t = detail();
        assert!(t.has_detail());
        let by_user = t.breakdown(&Filter::default(), By::User, 10, "").expect("users");
        assert_eq!(by_user.money, "billed");
        assert_eq!(by_user.total_cost, "0.060000");
        let keys: Vec<(&str, &str, &str)> =
            by_user.groups.iter().map(|g| (g.key.as_str(), g.cost.as_str(), g.share_pct.as_str())).collect();
        // ana 0.011 + 0.015 = 0.026 (43.33 %), bo 0.030 (50.00 %), cy 0.004 (6.67 %).
        assert_eq!(keys, [("bo", "0.030000", "50.00"), ("ana", "0.026000", "43.33"), ("cy", "0.004000", "6.67")]);
        assert_eq!(by_user.groups[1].recorded, "0.030000");
        assert_eq!(by_user.groups[1].input_tokens, 3000);
        let by_model = t.breakdown(&Filter::default(), By::Model, 10, "").expect("models");
        assert_eq!(
            by_model.groups.iter().map(|g| (g.key.as_str(), g.conversations)).collect::<Vec<_>>(),
            [("sonnet", 2), ("haiku", 2)]
        );
        let by_bot = t.breakdown(&Filter::default(), By::Bot, 1, "").expect("bots");
        assert_eq!((by_bot.groups[0].key.as_str(), by_bot.total_groups), ("b1", 3));
        // Search, case-insensitive; filters by day, user, bot and model.
        let found = t.breakdown(&Filter::default(), By::User, 10, "A").expect("search");
        assert_eq!((found.matched_groups, found.groups[0].key.as_str()), (1, "ana"));
        let day = Filter { from: Day::parse("2026-01-02"), to: Day::parse("2026-01-03"), ..Filter::default() };
        assert_eq!(t.breakdown(&day, By::User, 10, "").expect("days").total_cost, "0.045000");
        let sonnet = Filter { models: Some(vec!["sonnet".into()]), ..Filter::default() };
        assert_eq!(t.breakdown(&sonnet, By::User, 10, "").expect("model").total_cost, "0.045000");
        let no_bot = Filter { bots: Some(vec![String::new()]), users: Some(vec!["ana".into()]), ..Filter::default() };
        assert_eq!(t.breakdown(&no_bot, By::Model, 10, "").expect("bot").total_cost, "0.011000");
    }

    /// An error right on a bin's edge is in the bin it opens (floor, not
    /// toward zero): -10 % in [-10, 0), +10 % in [10, 20), -100 % in the
    /// first, -10.0001 % in [-20, -10), +100 % in the last.
    #[test]
    fn errors_on_a_bins_edge_open_it() {
        let rows: Vec<String> = [
            ("0.100000", "0.090000"),
            ("0.100000", "0.110000"),
            ("0.100000", "0.000000"),
            ("1.000000", "0.899999"),
            ("0.100000", "0.200000"),
        ]
        .iter()
        .enumerate()
        .map(|(k, (r, b))| format!("2026-01-01 10:00:00,1,1,0,0,0,u,u#CONV#{k},new_table,,m,m,1,,{r},1,1,{b}"))
        .collect();
        let t = Table::from_csv(format!("{HEAD}{}\n", rows.join("\n")).into_bytes()).expect("table");
        let a = t.accuracy(&Filter::default(), 0).expect("accuracy");
        let bins: Vec<(i32, u64)> =
            a.histogram.iter().filter(|b| b.conversations > 0).map(|b| (b.from_pct, b.conversations)).collect();
        assert_eq!(bins, [(-100, 1), (-20, 1), (-10, 1), (10, 1), (100, 1)]);
    }

    #[test]
    fn recorded_against_billed() {
        let a = detail().accuracy(&Filter::default(), 2).expect("accuracy");
        // Row 3 has no recorded price: left out.
        assert_eq!((a.conversations, a.without_recorded), (3, 1));
        assert_eq!((a.recorded_total.as_str(), a.billed_total.as_str()), ("0.031000", "0.030000"));
        assert_eq!((a.difference.as_str(), a.difference_pct.as_str()), ("-0.001000", "-3.23"));
        // Errors: +10 % (bin [10, 20)), -25 % (bin [-30, -20)), +300 % (the last bin).
        let bin = |from: i32| a.histogram.iter().find(|b| b.from_pct == from).expect("bin").conversations;
        assert_eq!((bin(10), bin(-30), bin(100)), (1, 1, 1));
        assert_eq!(a.histogram.iter().map(|b| b.conversations).sum::<u64>(), 3);
        assert_eq!(a.histogram.last().expect("last").to_pct, None);
        assert_eq!(a.most_different.iter().map(|d| d.sk.as_str()).collect::<Vec<_>>(), ["ana#CONV#2", "cy#CONV#4"]);
        assert_eq!(a.most_different[0].difference, "-0.005000");
    }

    #[test]
    fn a_detail_csv_reprices_its_billed_tokens_per_model() {
        use crate::pricing::{parse_price, Prices};
        use crate::whatif::Scenario;
        let p = |i: &str, o: &str| Prices {
            input_per_1k: parse_price(i).expect("in"),
            output_per_1k: parse_price(o).expect("out"),
        };
        let scenario = Scenario {
            prices: p("0.001", "0.002"),
            per_model: vec![("sonnet".into(), p("0.003", "0.015")), ("absent".into(), p("9", "9"))],
            ..Scenario::default()
        };
        let w = detail().whatif(&Filter::default(), &scenario).expect("whatif");
        // haiku 1000/100 at 0.001/0.002: 0.0012; sonnet 2000/200 and 3000/300 at
        // 0.003/0.015: 0.009 and 0.0135; haiku 10/10: 0.00003.
        assert_eq!((w.basis, w.actual_cost.as_str(), w.whatif_cost.as_str()), ("billed", "0.060000", "0.023730"));
        let by_model = detail().whatif_by(&Filter::default(), &scenario, By::Model, 10).expect("priced");
        let rows: Vec<(&str, &str, &str)> =
            by_model.iter().map(|g| (g.key.as_str(), g.actual.as_str(), g.whatif.as_str())).collect();
        assert_eq!(rows, [("sonnet", "0.045000", "0.022500"), ("haiku", "0.015000", "0.001230")]);
        // Only the mapped model changes: haiku keeps its billed 0.011 + 0.004.
        let only = Scenario { keep_unmapped: true, ..scenario.clone() };
        let w = detail().whatif(&Filter::default(), &only).expect("whatif");
        assert_eq!((w.whatif_cost.as_str(), w.rows_at_recorded_cost), ("0.037500", 2));
        let csv = String::from_utf8(detail().whatif_csv(&Filter::default(), &scenario).expect("csv")).expect("utf-8");
        let second = csv.lines().nth(2).expect("row 2");
        assert!(second.starts_with("2026-01-02 10:00:00,2000,200,0.006000,0.003000,0.009000,"), "{second}");
        assert!(second.ends_with(",0.015000"), "{second}");
    }

    #[test]
    fn a_seed_csv_groups_by_user_only() {
        let seed =
            "create_date,input_token,output_token,precio_token_input,precio_token_output,total_price,pk,sk,source\n\
                    2026-01-01 10:00:00,10,10,0.000030,0.000150,0.000180,ana,ana#CONV#1,new_table\n\
                    2026-01-01 11:00:00,10,10,0.000030,0.000150,0.000180,ana,ana#CONV#2,new_table\n";
        let t = Table::from_csv(seed.as_bytes().to_vec()).expect("seed");
        assert!(!t.has_detail());
        let users = t.breakdown(&Filter::default(), By::User, 10, "").expect("users");
        assert_eq!(
            (users.money, users.groups[0].cost.as_str(), users.groups[0].recorded.as_str()),
            ("estimated", "0.000360", "")
        );
        assert_eq!(t.breakdown(&Filter::default(), By::Model, 10, ""), Err(BreakdownError::NoDetail));
        assert!(t.accuracy(&Filter::default(), 5).is_err());
        // A filter on a bot finds nothing in a file without bots.
        let bots = Filter { bots: Some(vec!["b1".into()]), ..Filter::default() };
        assert_eq!(t.views(&bots, 1).expect("views").headline.records, 0);
    }

    #[test]
    fn interning_finds_each_key_once_even_when_hashes_collide() {
        let mut i = Interned::default();
        let (a, b) = (i.id(b"ana"), i.id(b"bo"));
        assert_eq!((i.id(b"ana"), i.id(b"bo"), i.len()), (a, b, 2));
        assert_eq!(
            i.allowed(&Some(vec!["bo".into(), "nobody".into()])).expect("some").iter().filter(|x| **x).count(),
            1
        );
        assert_ne!(hash(b"user-1"), hash(b"user-2"));
        assert_ne!(hash(b""), hash(b"\0"));
        // Every key of the same hash, across growths, with keys longer than a
        // slot holds that differ only after it: each kept apart, found again.
        let long = |n: usize| format!("{}{n}", "x".repeat(INLINE)).into_bytes();
        for hasher in [hash as fn(&[u8]) -> u64, |_: &[u8]| 7] {
            let mut i = Interned::with_hasher(hasher);
            let keys: Vec<Vec<u8>> =
                (0..300).map(|n| if n % 3 == 0 { long(n) } else { format!("user-{n}").into_bytes() }).collect();
            let ids: Vec<u32> = keys.iter().map(|k| i.id(k)).collect();
            assert_eq!(ids, (0..300).collect::<Vec<u32>>(), "first seen, first numbered");
            for (k, key) in keys.iter().enumerate().rev() {
                assert_eq!((i.id(key), i.find(key)), (k as u32, Some(k as u32)));
                assert_eq!(i.name(k as u32).as_bytes(), key.as_slice());
            }
            assert_eq!((i.find(b"nobody"), i.find(&long(1)), i.len()), (None, None, 300));
            assert!(i.slots.len() * 3 >= 4 * 300 && i.slots.len().is_power_of_two());
        }
    }

    #[test]
    fn the_top_groups_are_the_most_expensive_and_ties_keep_first_seen_order() {
        // 300 users with pseudo-random costs, many equal: the top N must be
        // what a stable sort of every group gives, for every N.
        let mut csv = String::from(
            "create_date,input_token,output_token,precio_token_input,precio_token_output,total_price,pk,sk,source\n",
        );
        let mut x = 7u64;
        let mut cost = vec![0i64; 300];
        for row in 0..3000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let (user, micros) = ((x >> 33) as usize % 300, (x >> 20) as i64 % 5);
            cost[user] += micros;
            csv.push_str(&format!("2026-01-01 10:00:00,1,1,0,0,0.00000{micros},u{user},u{user}#CONV#{row},n\n"));
        }
        let t = Table::from_csv(csv.into_bytes()).expect("table");
        let first_seen: Vec<String> = t.users().users.names();
        let mut want: Vec<(String, i64)> =
            first_seen.iter().map(|u| (u.clone(), cost[u[1..].parse::<usize>().expect("user")])).collect();
        want.sort_by_key(|(_, c)| std::cmp::Reverse(*c));
        for top in [0, 1, 2, 7, 20, 299, 300, 301] {
            let got = t.breakdown(&Filter::default(), By::User, top, "").expect("users");
            let keys: Vec<&str> = got.groups.iter().map(|g| g.key.as_str()).collect();
            let expected: Vec<&str> = want.iter().take(top).map(|(u, _)| u.as_str()).collect();
            assert_eq!(keys, expected, "top {top}");
        }
    }

    /// Sums past 64 bits (20,000 rows of ten billion dollars and 10^15
    /// tokens each): exact, in 128 bits.
    #[test]
    fn group_sums_too_large_for_64_bits_stay_exact() {
        let mut csv = String::from(
            "create_date,input_token,output_token,precio_token_input,precio_token_output,total_price,pk,sk,source\n",
        );
        for row in 0..21_000 {
            let (user, tokens, price) = if row % 21 == 0 {
                ("small", "1", "0.000001")
            } else {
                ("big", "999999999999999", "9999999999.999999")
            };
            csv.push_str(&format!("2026-01-01 10:00:00,{tokens},1,0,0,{price},{user},{user}#CONV#{row},n\n"));
        }
        let t = Table::from_csv(csv.into_bytes()).expect("table");
        assert_eq!((t.len(), t.unreadable().first()), (21_000, None));
        let got = t.breakdown(&Filter::default(), By::User, 5, "").expect("users");
        let (big, small) = (&got.groups[0], &got.groups[1]);
        assert_eq!((big.key.as_str(), big.conversations, small.conversations), ("big", 20_000, 1000));
        assert_eq!((big.cost.as_str(), big.input_tokens), ("199999999999999.980000", 19_999_999_999_999_980_000));
        assert_eq!((small.cost.as_str(), small.input_tokens), ("0.001000", 1000));
        assert_eq!(got.total_cost, "199999999999999.981000");
    }

    #[test]
    fn a_bad_detail_cell_makes_the_row_unreadable() {
        let t = Table::from_csv(
            format!("{HEAD}2026-01-01 10:00:00,1,1,0,0,0,a,a#CONV#1,n,,m,m,1,,0.1,x,1,0.1\n").into_bytes(),
        )
        .expect("table");
        assert_eq!((t.len(), t.unreadable().len()), (0, 1));
        assert!(t.unreadable()[0].to_string().contains("not a number"), "{}", t.unreadable()[0]);
        // A bot id or model that is not UTF-8, new or after a good one, is never kept.
        let mut csv = HEAD.as_bytes().to_vec();
        for (bot, model) in
            [(&b"b1"[..], &b"m"[..]), (b"\xff", b"m"), (b"b1", b"m\xfe"), (b"b1", b"m"), (b"\xff", b"m")]
        {
            csv.extend_from_slice(b"2026-01-01 10:00:00,1,1,0,0,0,a,a#CONV#1,n,");
            csv.extend_from_slice(bot);
            csv.push(b',');
            csv.extend_from_slice(model);
            csv.extend_from_slice(b",m,1,,0.1,1,1,0.1\n");
        }
        let t = Table::from_csv(csv).expect("table");
        assert_eq!((t.len(), t.unreadable().len()), (2, 3));
        assert_eq!((t.names(By::Bot), t.names(By::Model)), (vec!["b1".to_string()], vec!["m".to_string()]));
        let lines: Vec<String> = t.unreadable().iter().map(ToString::to_string).collect();
        assert!(lines[0].contains("bot_id") && lines[1].contains("model") && lines[2].contains("bot_id"), "{lines:?}");
    }
}
