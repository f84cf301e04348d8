// Regenerates web/prices.json, the what-if price catalog, from the project's
// collected Bedrock price table (../shared/pricing beside the repo, or a path
// given as the first argument). web/prices.json is plain data: edit it by hand
// as prices change; this script is only a convenience for a refresh.
//
//   node web/tools/prices.mjs [path/to/bedrock_prices.json] [AS_OF]
//
// Each model: id, name, input_per_1k, output_per_1k (decimal strings), source,
// date (of the price table), and where they apply: note (the table's caveats,
// in words: long-context premiums, regional profiles, extended access),
// valid_until / valid_from (a price that holds only before / from a day), and
// default (the seed's own price: not the page's first scenario, which is the
// cheapest model); bedrock_chat (the name bedrock-chat stores
// for the model), cache_write_per_1k / cache_read_per_1k, regional_multiplier.

import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('..', import.meta.url));
const pricing = process.argv[2] ?? join(web, '..', '..', 'shared', 'pricing', 'bedrock_prices.json');
const asOf = process.argv[3] ?? '2026-09';
const table = JSON.parse(await readFile(pricing, 'utf8'));
const multipliers = JSON.parse(await readFile(join(dirname(pricing), 'multipliers.json'), 'utf8'));
// bedrock-chat's model names (what it stores in each message's `model`), by Bedrock model id.
const bedrockChat = JSON.parse(await readFile(join(dirname(pricing), 'bedrock_chat_models.json'), 'utf8'));
const chatName = Object.fromEntries(Object.entries(bedrockChat.model_ids).map(([short, id]) => [id, short]));

// Claude 3 Haiku and later, then Amazon Nova; older Claude models are left out.
const firstClaude = table.findIndex((m) => m.id.startsWith('anthropic.claude-3-haiku'));
const chosen = table.filter((m, i) => (m.id.startsWith('anthropic.') && i >= firstClaude) || m.id.startsWith('amazon.nova'));

/** $ per 1K as written in the notes: "$0.006 / $0.03 per 1K (input / output)". */
const perK = (p) => `$${p.input_per_1k} / $${p.output_per_1k} per 1K (input / output)`;

/** The day an extended-access price starts: its own `from`, else the one the note states. */
const extendedFrom = (m) => m.extended_access?.from ?? /\bfrom (\d{4}-\d{2}-\d{2})\b/.exec(m.note ?? '')?.[1];

/** The caveats of a table entry that hold for each of its prices, as sentences. */
function caveats(m) {
  const out = [];
  if (m.above_200k) {
    out.push(`Long context: requests above 200K input tokens are billed ${perK(m.above_200k)}; the what-if prices every conversation at the base rate.`);
  }
  if (m.regional_multiplier) {
    out.push(`Regional inference profiles cost ×${m.regional_multiplier} this in-region rate (${multipliers.regional_profile_note}).`);
  }
  if (m.note) out.push(`${m.note}.`);
  return out;
}

const name = (m) => m.name.replace(/ \(extra\)$/, '');

/** A catalog model; `first` are sentences put before the entry's caveats. */
const entry = (m, first = [], extra = {}) => {
  const notes = [...first, ...caveats(m)];
  return {
    id: m.id,
    name: name(m),
    input_per_1k: m.input_per_1k,
    output_per_1k: m.output_per_1k,
    source: m.source,
    date: asOf,
    ...(notes.length ? { note: notes.join(' ') } : {}),
    ...extra,
    ...(chatName[m.id] ? { bedrock_chat: chatName[m.id] } : {}),
    ...(m.cache_write_per_1k ? { cache_write_per_1k: m.cache_write_per_1k } : {}),
    ...(m.cache_read_per_1k ? { cache_read_per_1k: m.cache_read_per_1k } : {}),
    ...(m.regional_multiplier ? { regional_multiplier: m.regional_multiplier } : {}),
  };
};

// The seed's default, Claude 3.5 Sonnet (0.003 / 0.015), comes first: the price the seed's CSVs were written at.
const SEED_DEFAULT = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
chosen.sort((a, b) => (b.id === SEED_DEFAULT) - (a.id === SEED_DEFAULT));
const models = [];
for (const m of chosen) {
  const seed = m.id === SEED_DEFAULT;
  const ext = m.extended_access;
  const from = ext ? extendedFrom(m) : undefined;
  // A model moved to extended access: its on-demand price holds before that day.
  const before = !ext
    ? []
    : from
      ? [`The list price before ${from}; from ${from} extended access is priced ${perK(ext)}: the "extended access" entry.`]
      : [`Extended access is priced ${perK(ext)}: the "extended access" entry.`];
  models.push(
    entry(m, before, {
      ...(seed ? { name: `Claude 3.5 Sonnet (seed default${from ? `, list price before ${from}` : ''})` } : {}),
      ...(from ? { valid_until: from } : {}),
      ...(seed ? { default: true } : {}),
    }),
  );
  if (ext) {
    const after = from ? `The extended-access price, from ${from}; before then the list price was ${perK(m)}.` : 'The extended-access price.';
    models.push(
      entry(m, [after], {
        id: `${m.id}#extended-access`,
        name: `${name(m)} (extended access${from ? ` from ${from}` : ''})`,
        input_per_1k: ext.input_per_1k,
        output_per_1k: ext.output_per_1k,
        ...(from ? { valid_from: from } : {}),
      }),
    );
  }
}

const catalog = {
  currency: multipliers.currency,
  unit: multipliers.unit,
  batch_multiplier: multipliers.batch_multiplier,
  as_of: asOf,
  about:
    'Bedrock on-demand prices per 1,000 tokens, as decimal strings. Edit freely; the model with "default": true (else the first) is the seed price (the default of the command line; the page starts with the cheapest model). note: caveats shown with the price; valid_until / valid_from: the price holds only before / from that day. bedrock_chat: the model name bedrock-chat stores in each message (its BASE_MODEL_IDS), so that the runner and the page price each model call by it; cache_*_per_1k: cache write / read prices, where published. regional_multiplier: the price of the model through a regional (us., eu., apac.) inference profile, against the global / bare price given.',
  models,
};
await writeFile(join(web, 'prices.json'), JSON.stringify(catalog, null, 1) + '\n');
console.log(`prices: ${models.length} models -> web/prices.json`);
