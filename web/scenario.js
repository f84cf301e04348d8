// What-if scenarios and the page's shareable state.
//
// A scenario is { model, input_per_1k, output_per_1k, batch }: model is a
// catalog id (web/prices.json) or "custom"; prices are decimal strings, sent
// to the engine as they are. What counts as a price, and which catalog
// entries can be used, is the engine's to say (the core's rules, asked
// through the worker): this module has no rules of its own. The scenarios and the filter live in the URL's
// hash, so a copied URL reopens the same view:
//
//   #s=<model>~<input>~<output>~<0|1>&s=...&from=YYYY-MM-DD&to=YYYY-MM-DD&src=<source>&src=...
//    &user=<pk>&bot=<bot id>&model=<model>
//
// (user, bot and model: one each at most, the last one wins; `bot=` with
// nothing after it is the conversations without a bot, `model=` those
// without a model.)
//
// (`?csv=URL` in the query string names a CSV to open; the hash never touches it.)

export const CUSTOM = 'custom';
const MAX_SCENARIOS = 6;

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

/** The default scenario: the catalog's default (or first) model; empty custom prices without a catalog. */
export function defaultScenario(catalog) {
  const m = catalog.models.find((x) => x.default) ?? catalog.models[0];
  return m ? fromModel(m, false) : { model: CUSTOM, input_per_1k: '', output_per_1k: '', batch: false };
}

/** The scenario for a catalog model. */
export function fromModel(model, batch) {
  return { model: model.id, input_per_1k: model.input_per_1k, output_per_1k: model.output_per_1k, batch: !!batch };
}

/**
 * Resolves a scenario against the catalog: a catalog id whose prices differ
 * from the catalog's (edited since the URL was shared) becomes "custom" with
 * the URL's prices, so the figures stay those that were shared.
 */
export function normalize(catalog, s) {
  const m = findModel(catalog, s.model);
  const same = m && m.input_per_1k === s.input_per_1k && m.output_per_1k === s.output_per_1k;
  return { ...s, model: same ? s.model : CUSTOM };
}

/**
 * What the engine takes: { input_per_1k, output_per_1k, batch, batch_multiplier };
 * the multiplier is the checked catalog's, the same one the card's label shows.
 */
export function engineScenario(s, catalog) {
  return {
    input_per_1k: s.input_per_1k.trim(),
    output_per_1k: s.output_per_1k.trim(),
    batch: !!s.batch,
    batch_multiplier: catalog.batch_multiplier,
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

/**
 * Reads { scenarios, filter } from a URL hash (scenarios may be empty). A
 * scenario is kept only when both its prices are plain decimals: the engine
 * says which (`checkPrices(texts)` resolves to a boolean per text), since a
 * hand-edited link may hold anything.
 */
export async function readState(hash, catalog, checkPrices) {
  const candidates = [];
  const filter = emptyFilter();
  for (const part of hash.replace(/^#/, '').split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const raw = eq < 0 ? '' : part.slice(eq + 1);
    if (key === 's') {
      const pieces = raw.split('~').map(decodeSafe);
      const [model, input, output, batch] = pieces;
      if (pieces.length === 4 && model !== null && input !== null && output !== null) {
        candidates.push({ model, input_per_1k: input, output_per_1k: output, batch: batch === '1' });
      }
    } else if (key === 'from' || key === 'to') {
      const day = decodeSafe(raw);
      if (day !== null && /^\d{4}-\d{2}-\d{2}$/.test(day)) filter[key] = day;
    } else if (key === 'src') {
      const name = decodeSafe(raw);
      if (name !== null) (filter.sources ??= []).push(name);
    } else if (key === 'nosrc') {
      filter.sources = [];
    } else if (KEYS.includes(key)) {
      const name = decodeSafe(raw);
      // An empty bot or model is "none"; an empty user is no filter (the box is empty).
      if (name !== null) filter[key] = key === 'user' && name === '' ? null : name;
    }
  }
  const plain = await checkPrices(candidates.flatMap((s) => [s.input_per_1k, s.output_per_1k]));
  const scenarios = candidates
    .filter((_, i) => plain[2 * i] && plain[2 * i + 1])
    .slice(0, MAX_SCENARIOS)
    .map((s) => normalize(catalog, s));
  return { scenarios, filter };
}

/** The hash for { scenarios, filter } (without the leading '#'). */
export function writeState({ scenarios, filter }) {
  const parts = scenarios.map(
    (s) => `s=${[s.model, s.input_per_1k.trim(), s.output_per_1k.trim(), s.batch ? '1' : '0'].map(enc).join('~')}`,
  );
  if (filter.from) parts.push(`from=${enc(filter.from)}`);
  if (filter.to) parts.push(`to=${enc(filter.to)}`);
  if (filter.sources) {
    if (filter.sources.length === 0) parts.push('nosrc=1');
    for (const name of filter.sources) parts.push(`src=${enc(name)}`);
  }
  for (const key of KEYS) if (filter[key] !== null) parts.push(`${key}=${enc(filter[key])}`);
  return parts.join('&');
}

export { MAX_SCENARIOS };
