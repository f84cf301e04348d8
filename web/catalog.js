// How the price catalog's models read on the page: a model picker's choices,
// where a model's prices come from and when they hold, and the catalog's
// caveats about them. The catalog is hand-edited data: only its strings are
// shown, and as text.

import { el } from './dom.js';
import { CUSTOM } from './scenario.js';

/** A catalog field shown as text: strings only. */
export const catalogText = (value, fallback) => (typeof value === 'string' && value ? value : fallback);

/** When a catalog price holds: "as of 2026-09", or "list price before 2025-12-01 (price table of 2026-09)". */
function priceDate(m) {
  const date = catalogText(m.date, '?');
  if (catalogText(m.valid_until, '')) return `list price before ${m.valid_until} (price table of ${date})`;
  if (catalogText(m.valid_from, '')) return `price from ${m.valid_from} (price table of ${date})`;
  return `as of ${date}`;
}

/**
 * A <select> (with `props`, as dom.js's el takes them) of the catalog's
 * models, each with its prices ("Claude 3 Haiku — 0.00025 / 0.00125"), then
 * custom prices.
 */
export function modelPicker(catalog, props) {
  return el(
    'select',
    props,
    catalog.models.map((m) => el('option', { value: m.id, text: `${m.name} — ${m.input_per_1k} / ${m.output_per_1k}` })),
    el('option', { value: CUSTOM, text: 'Custom prices' }),
  );
}

/** Where a catalog model's prices come from and when they hold; without one (`m` undefined), custom prices. */
export function priceSource(m) {
  return m ? `Source: ${catalogText(m.source, 'not given')}; ${priceDate(m)}.` : 'Custom prices (per 1,000 tokens, USD).';
}

/** The catalog's caveats about a model's prices ('' for none, and for custom prices). */
export function priceNote(m) {
  return m ? catalogText(m.note, '') : '';
}

/** What a price reads as: a catalog model's name, or "custom 0.0008 / 0.004 per 1K". */
function priceName(catalog, { model, input_per_1k: input, output_per_1k: output }) {
  const m = catalog.models.find((x) => x.id === model);
  return m ? catalogText(m.name, m.id) : `custom ${input.trim() || '?'} / ${output.trim() || '?'} per 1K`;
}

/**
 * A scenario in a few words (the ranking's rows, a shared link's summary):
 * "Claude 3 Haiku", "custom 0.0008 / 0.004 per 1K, batch", "claude-v3.5-sonnet
 * → Claude Haiku 4.5 (others as billed)".
 */
export function scenarioLabel(catalog, s) {
  const batch = s.batch ? `, batch (× ${catalog.batch_multiplier})` : '';
  if (!Array.isArray(s.mappings)) return `${priceName(catalog, s)}${batch}`;
  const shown = s.mappings.slice(0, 3).map((m) => `${m.from || '(no model)'} → ${priceName(catalog, m)}`);
  const more = s.mappings.length > 3 ? `, and ${s.mappings.length - 3} more` : '';
  return `${shown.join('; ')}${more} (others as billed)${batch}`;
}
