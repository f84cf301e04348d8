// What-if scenarios and the page's shareable state.
//
// A scenario is { model, input_per_1k, output_per_1k, batch }: model is a
// catalog id (web/prices.json) or "custom"; prices are decimal strings, sent
// to the engine as they are. The scenarios and the filter live in the URL's
// hash, so a copied URL reopens the same view:
//
//   #s=<model>~<input>~<output>~<0|1>&s=...&from=YYYY-MM-DD&to=YYYY-MM-DD&src=<source>&src=...
//
// (`?csv=URL` in the query string names a CSV to open; the hash never touches it.)

export const CUSTOM = 'custom';
const MAX_SCENARIOS = 6;

/** The engine's own batch multiplier (ScenarioSpec's default), used when the catalog names none. */
export const ENGINE_BATCH_MULTIPLIER = '0.5';

/**
 * Loads the price catalog shipped beside the page. Resolves to the catalog
 * with only its usable models, plus `dropped` ([{ entry, reason }]: the
 * entries left out, to be shown, not silently skipped) and `warnings`
 * (other problems worked around). Throws when there is no usable catalog at
 * all; the error's `dropped` then lists what was there.
 */
export async function loadCatalog(url = new URL('./prices.json', import.meta.url)) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not load the price catalog (${url}): HTTP ${response.status}`);
  let catalog;
  try {
    catalog = JSON.parse(await response.text());
  } catch (e) {
    throw new Error(`the price catalog (${url}) is not valid JSON: ${e.message}`);
  }
  if (!catalog || typeof catalog !== 'object' || !Array.isArray(catalog.models)) {
    throw new Error(`the price catalog (${url}) has no "models" list`);
  }
  const models = [];
  const dropped = [];
  const seen = new Set();
  catalog.models.forEach((m, i) => {
    const entry = typeof m?.id === 'string' && m.id ? m.id : `entry ${i + 1}`;
    const reason = modelProblem(m, seen);
    if (reason) {
      dropped.push({ entry, reason });
      return;
    }
    seen.add(m.id);
    models.push({
      ...m,
      name: typeof m.name === 'string' && m.name ? m.name : m.id,
      input_per_1k: m.input_per_1k.trim(),
      output_per_1k: m.output_per_1k.trim(),
    });
  });
  const warnings = [];
  let batchMultiplier = catalog.batch_multiplier ?? ENGINE_BATCH_MULTIPLIER;
  if (!isPrice(batchMultiplier)) {
    warnings.push(`batch_multiplier ${JSON.stringify(batchMultiplier)} is not a plain decimal string; using ${ENGINE_BATCH_MULTIPLIER}`);
    batchMultiplier = ENGINE_BATCH_MULTIPLIER;
  }
  if (models.length === 0) {
    throw Object.assign(new Error('the price catalog lists no usable model'), { dropped });
  }
  return { ...catalog, models, batch_multiplier: batchMultiplier.trim(), dropped, warnings };
}

/** Why a catalog entry cannot be used, or '' when it can. */
function modelProblem(m, seen) {
  if (!m || typeof m !== 'object') return 'not an object';
  if (typeof m.id !== 'string' || !m.id) return 'no "id"';
  if (m.id === CUSTOM) return `"${CUSTOM}" is reserved`;
  if (seen.has(m.id)) return 'the same id as an earlier entry';
  for (const key of ['input_per_1k', 'output_per_1k']) {
    if (!isPrice(m[key])) return `${key} ${JSON.stringify(m[key]) ?? 'missing'} is not a plain decimal string`;
  }
  return '';
}

/** The catalog used when web/prices.json cannot be: no models, custom prices only. */
export function emptyCatalog() {
  return { models: [], batch_multiplier: ENGINE_BATCH_MULTIPLIER, dropped: [], warnings: [] };
}

/** A price as the engine accepts it from the page: a plain non-negative decimal. */
export function isPrice(text) {
  return typeof text === 'string' && text.length <= 24 && /^(\d+(\.\d*)?|\.\d+)$/.test(text.trim());
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
 * the multiplier is the catalog's, the same one the card's label shows.
 */
export function engineScenario(s, catalog) {
  return {
    input_per_1k: s.input_per_1k.trim(),
    output_per_1k: s.output_per_1k.trim(),
    batch: !!s.batch,
    batch_multiplier: catalog?.batch_multiplier ?? ENGINE_BATCH_MULTIPLIER,
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

/** Reads { scenarios, filter } from a URL hash (scenarios may be empty). */
export function readState(hash, catalog) {
  const scenarios = [];
  const filter = { from: '', to: '', sources: null };
  for (const part of hash.replace(/^#/, '').split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const raw = eq < 0 ? '' : part.slice(eq + 1);
    if (key === 's') {
      const pieces = raw.split('~').map(decodeSafe);
      const [model, input, output, batch] = pieces;
      if (pieces.length === 4 && model !== null && isPrice(input ?? '') && isPrice(output ?? '')) {
        if (scenarios.length < MAX_SCENARIOS) {
          scenarios.push(normalize(catalog, { model, input_per_1k: input, output_per_1k: output, batch: batch === '1' }));
        }
      }
    } else if (key === 'from' || key === 'to') {
      const day = decodeSafe(raw);
      if (day !== null && /^\d{4}-\d{2}-\d{2}$/.test(day)) filter[key] = day;
    } else if (key === 'src') {
      const name = decodeSafe(raw);
      if (name !== null) (filter.sources ??= []).push(name);
    } else if (key === 'nosrc') {
      filter.sources = [];
    }
  }
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
  return parts.join('&');
}

export { MAX_SCENARIOS };
