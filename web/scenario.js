// What-if scenarios and the page's shareable state.
//
// A scenario is one of two kinds:
//
// - one price for every conversation: { model, input_per_1k, output_per_1k,
//   batch }; model is a catalog id (web/prices.json) or "custom";
// - a model mapping (a detail CSV): { mappings, batch }, mappings being
//   [{ from, model, input_per_1k, output_per_1k }]: the conversations whose
//   `model` column is `from` at the prices of `model` (a catalog id or
//   "custom"); every other conversation keeps its billed cost.
//
// Prices are decimal strings, sent to the engine as they are. What counts as
// a price, and which catalog entries can be used, is the engine's to say (the
// core's rules, asked through the worker): this module has no rules of its
// own. The scenarios and the filter live in the URL's hash, so a copied URL
// reopens the same view:
//
//   #s=<model>~<input>~<output>~<0|1>&m=<0|1>~<from>~<model>~<input>~<output>[~<from>~<model>~<input>~<output>...]
//    &from=YYYY-MM-DD&to=YYYY-MM-DD&src=<source>&src=...&user=<pk>&bot=<bot id>&model=<model>&group=<day|week|month>
//
// (one `s=` per one-price scenario and one `m=` per model mapping, in the
// cards' order: its batch flag, then four fields per mapped model; user, bot
// and model: one each at most, the last one wins; `bot=` with nothing after
// it is the conversations without a bot, `model=` those without a model;
// group: the trends' grouping when one is chosen, absent for auto.)
//
// (`?csv=URL` in the query string names a CSV to open; the hash never touches it.)

import { sumDecimals } from './decimal.js';
import { compareDecimal } from './format.js';

export const CUSTOM = 'custom';
const MAX_SCENARIOS = 6;
/** Mapped models per scenario, at most (a hand-edited link may hold any number). */
const MAX_MAPPINGS = 50;

/**
 * Loads the price catalog shipped beside the page, and has the engine check
 * it (`check`: ExplorerClient.catalog, the core's rules, the command line's
 * too). Resolves to the checked catalog: its usable models (each with a name
 * and its prices as written), `batch_multiplier` (the catalog's, or the
 * engine's default), `dropped` ([{ entry, reason }]: the entries left out,
 * to be shown, not silently skipped), `warnings` (other problems worked
 * around) and the catalog's other fields. Throws when there is no usable
 * catalog at all.
 */
export async function loadCatalog(check, url = new URL('./prices.json', import.meta.url)) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not load the price catalog (${url}): HTTP ${response.status}`);
  return check(await response.text());
}

/**
 * The catalog used when web/prices.json cannot be: no models, custom prices
 * only, at the engine's batch multiplier.
 */
export function emptyCatalog(batchMultiplier) {
  return { models: [], batch_multiplier: batchMultiplier, dropped: [], warnings: [] };
}

/** The catalog entry with this id, if any. */
export function findModel(catalog, id) {
  return catalog.models.find((m) => m.id === id);
}

/**
 * The first scenario of a page with none: the cheapest catalog model by list
 * price until a file is open (cheapestFor), then the cheapest for the file
 * (the page asks the engine for the candidates' totals). Of the prices still
 * listed, those without a `valid_until`, when there are any. Not the seed's
 * own price (the catalog's `default`), which would compare the file with
 * itself. Without a catalog: empty custom prices, which the card asks for.
 */
export function defaultScenario(catalog) {
  const m = cheapestFor(firstCandidates(catalog));
  return m ? fromModel(m, false) : { model: CUSTOM, input_per_1k: '', output_per_1k: '', batch: false };
}

/** A model's list price: input + output per 1K tokens, exactly. */
const listPrice = (m) => sumDecimals([m.input_per_1k, m.output_per_1k]);

/**
 * The catalog models that can be the cheapest for some file, in the
 * catalog's order: those still listed (without `valid_until`, when there are
 * any), less each one that another prices at or below it on both input and
 * output with a lower list price, or the same list price earlier in the
 * catalog. Such a model never costs less (a row's cost grows with each price),
 * nor wins a tie (cheapestFor's). With today's catalog one model is left,
 * and no file needs pricing to choose.
 */
export function firstCandidates(catalog) {
  const current = catalog.models.filter((x) => !x.valid_until);
  const models = current.length ? current : catalog.models;
  const beats = (a, ia, b, ib) => {
    // Prices as the catalog writes them (" .5 ", "3."): compared as the decimals they are.
    const above = (x, y) => compareDecimal(sumDecimals([x]), sumDecimals([y])) > 0;
    if (above(a.input_per_1k, b.input_per_1k) || above(a.output_per_1k, b.output_per_1k)) return false;
    const list = compareDecimal(listPrice(a), listPrice(b));
    return list < 0 || (list === 0 && ia < ib);
  };
  return models.filter((m, i) => !models.some((other, j) => j !== i && beats(other, j, m, i)));
}

/**
 * Of `models`, the one whose `totals[i]` (a decimal string; null: cannot be
 * priced, never chosen) is the lowest; without totals, by list price. Ties:
 * the lower list price, then the catalog's order. Undefined for none.
 */
export function cheapestFor(models, totals = null) {
  let best;
  let bestKey = null;
  models.forEach((m, i) => {
    if (totals && (totals[i] === null || totals[i] === undefined)) return;
    const key = [totals ? totals[i] : '0', listPrice(m)];
    const better = bestKey === null || compareDecimal(key[0], bestKey[0]) < 0 || (compareDecimal(key[0], bestKey[0]) === 0 && compareDecimal(key[1], bestKey[1]) < 0);
    if (better) [best, bestKey] = [m, key];
  });
  return best;
}

/** The scenario for a catalog model. */
export function fromModel(model, batch) {
  return { model: model.id, input_per_1k: model.input_per_1k, output_per_1k: model.output_per_1k, batch: !!batch };
}

/** Whether a filter keeps every row (emptyFilter's). */
export function isEmptyFilter(f) {
  return !f.from && !f.to && f.sources === null && KEYS.every((key) => f[key] === null);
}

/** Whether a scenario is a model mapping (else it is one price for every conversation). */
export function isMapping(s) {
  return Array.isArray(s.mappings);
}

/**
 * Resolves a price (a scenario's, or a mapped model's) against the catalog: a
 * catalog id whose prices differ from the catalog's (edited since the URL was
 * shared) becomes "custom" with the URL's prices, so the figures stay those
 * that were shared.
 */
export function normalize(catalog, s) {
  const m = findModel(catalog, s.model);
  const same = m && m.input_per_1k === s.input_per_1k && m.output_per_1k === s.output_per_1k;
  return { ...s, model: same ? s.model : CUSTOM };
}

/** A scenario's prices as typed: [input, output] for each price it holds. */
function pricesOf(s) {
  return (isMapping(s) ? s.mappings : [s]).flatMap((p) => [p.input_per_1k, p.output_per_1k]);
}

const trimmed = (p) => ({ input_per_1k: p.input_per_1k.trim(), output_per_1k: p.output_per_1k.trim() });

/**
 * What the engine takes: { input_per_1k, output_per_1k, batch,
 * batch_multiplier }, and for a model mapping per_model with keep_unmapped
 * (its input_per_1k / output_per_1k are then never applied: "0"). The
 * multiplier is the checked catalog's, the same one the card's label shows.
 */
export function engineScenario(s, catalog) {
  const batch = { batch: !!s.batch, batch_multiplier: catalog.batch_multiplier };
  if (!isMapping(s)) return { ...trimmed(s), ...batch };
  return {
    input_per_1k: '0',
    output_per_1k: '0',
    ...batch,
    per_model: s.mappings.map((m) => ({ model: m.from, ...trimmed(m) })),
    keep_unmapped: true,
  };
}

const enc = (text) => encodeURIComponent(text).replace(/~/g, '%7E');

function decodeSafe(text) {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** The filter's keys of one user, bot or model each (null: any). */
const KEYS = ['user', 'bot', 'model'];

/**
 * The filter that keeps every row: { from, to, sources, user, bot, model }
 * (days '' and the rest null: unbounded).
 */
export function emptyFilter() {
  return { from: '', to: '', sources: null, user: null, bot: null, model: null };
}

/** An `s=` part's scenario (one price for every conversation), or null when it cannot be read. */
function onePriceFrom(raw) {
  const pieces = raw.split('~').map(decodeSafe);
  const [model, input, output, batch] = pieces;
  if (pieces.length !== 4 || model === null || input === null || output === null) return null;
  return { model, input_per_1k: input, output_per_1k: output, batch: batch === '1' };
}

/** An `m=` part's model mapping (at most MAX_MAPPINGS models), or null when it cannot be read. */
function mappingFrom(raw) {
  const [batch, ...fields] = raw.split('~').map(decodeSafe);
  if (fields.length === 0 || fields.length % 4 !== 0 || fields.includes(null)) return null;
  const mappings = [];
  for (let i = 0; i < fields.length && mappings.length < MAX_MAPPINGS; i += 4) {
    const [from, model, input, output] = fields.slice(i, i + 4);
    mappings.push({ from, model, input_per_1k: input, output_per_1k: output });
  }
  return { mappings, batch: batch === '1' };
}

/** A scenario resolved against the catalog (each of its prices: `normalize`). */
function resolved(catalog, s) {
  return isMapping(s) ? { ...s, mappings: s.mappings.map((m) => normalize(catalog, m)) } : normalize(catalog, s);
}

/** The trends' groupings a hash can name (auto is the absence of one). */
const GROUPS = ['day', 'week', 'month'];

/**
 * Reads { scenarios, filter, group } from a URL hash (scenarios may be
 * empty; group: 'auto' unless the hash names one), and `shared`: whether the
 * hash held any of them (what a link without its file says it holds). A
 * scenario is kept only when all its prices are plain decimals: the engine
 * says which (`checkPrices(texts)` resolves to a boolean per text), since a
 * hand-edited link may hold anything.
 */
export async function readState(hash, catalog, checkPrices) {
  const candidates = [];
  const filter = emptyFilter();
  let group = 'auto';
  for (const part of hash.replace(/^#/, '').split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const raw = eq < 0 ? '' : part.slice(eq + 1);
    if (key === 's' || key === 'm') {
      const scenario = key === 's' ? onePriceFrom(raw) : mappingFrom(raw);
      if (scenario) candidates.push(scenario);
    } else if (key === 'from' || key === 'to') {
      const day = decodeSafe(raw);
      if (day !== null && /^\d{4}-\d{2}-\d{2}$/.test(day)) filter[key] = day;
    } else if (key === 'src') {
      const name = decodeSafe(raw);
      if (name !== null) (filter.sources ??= []).push(name);
    } else if (key === 'nosrc') {
      filter.sources = [];
    } else if (key === 'group') {
      if (GROUPS.includes(raw)) group = raw;
    } else if (KEYS.includes(key)) {
      const name = decodeSafe(raw);
      // An empty bot or model is "none"; an empty user is no filter (the box is empty).
      if (name !== null) filter[key] = key === 'user' && name === '' ? null : name;
    }
  }
  const plain = await checkPrices(candidates.flatMap(pricesOf));
  const usable = [];
  let at = 0;
  for (const s of candidates) {
    const n = pricesOf(s).length;
    if (plain.slice(at, at + n).every(Boolean)) usable.push(s);
    at += n;
  }
  return { scenarios: usable.slice(0, MAX_SCENARIOS).map((s) => resolved(catalog, s)), filter, group };
}

/** A scenario's part of the hash: `s=...` or `m=...`. */
function scenarioPart(s) {
  const batch = s.batch ? '1' : '0';
  if (!isMapping(s)) return `s=${[s.model, s.input_per_1k.trim(), s.output_per_1k.trim(), batch].map(enc).join('~')}`;
  const fields = s.mappings.flatMap((m) => [m.from, m.model, m.input_per_1k.trim(), m.output_per_1k.trim()]);
  return `m=${[batch, ...fields].map(enc).join('~')}`;
}

/** The hash for { scenarios, filter, group } (without the leading '#'). */
export function writeState({ scenarios, filter, group = 'auto' }) {
  const parts = scenarios.map(scenarioPart);
  if (filter.from) parts.push(`from=${enc(filter.from)}`);
  if (filter.to) parts.push(`to=${enc(filter.to)}`);
  if (filter.sources) {
    if (filter.sources.length === 0) parts.push('nosrc=1');
    for (const name of filter.sources) parts.push(`src=${enc(name)}`);
  }
  for (const key of KEYS) if (filter[key] !== null) parts.push(`${key}=${enc(filter[key])}`);
  if (GROUPS.includes(group)) parts.push(`group=${group}`);
  return parts.join('&');
}

export { MAX_MAPPINGS, MAX_SCENARIOS };
