// Regenerates web/prices.json, the what-if price catalog, from the project's
// collected Bedrock price table (../shared/pricing beside the repo, or a path
// given as the first argument). web/prices.json is plain data: edit it by hand
// as prices change; this script is only a convenience for a refresh.
//
//   node web/tools/prices.mjs [path/to/bedrock_prices.json] [AS_OF]

import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('..', import.meta.url));
const pricing = process.argv[2] ?? join(web, '..', '..', 'shared', 'pricing', 'bedrock_prices.json');
const asOf = process.argv[3] ?? '2026-09';
const table = JSON.parse(await readFile(pricing, 'utf8'));
const multipliers = JSON.parse(await readFile(join(dirname(pricing), 'multipliers.json'), 'utf8'));

// Claude 3 Haiku and later, then Amazon Nova; older Claude models are left out.
const firstClaude = table.findIndex((m) => m.id.startsWith('anthropic.claude-3-haiku'));
const chosen = table.filter((m, i) => (m.id.startsWith('anthropic.') && i >= firstClaude) || m.id.startsWith('amazon.nova'));

const entry = (m, extra = {}) => ({
  id: m.id,
  name: m.name.replace(/ \(extra\)$/, ''),
  input_per_1k: m.input_per_1k,
  output_per_1k: m.output_per_1k,
  source: m.source,
  date: asOf,
  ...(m.note ? { note: m.note } : {}),
  ...extra,
});

// The seed's default, Claude 3.5 Sonnet (0.003 / 0.015), comes first: it is the default scenario.
const SEED_DEFAULT = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
chosen.sort((a, b) => (b.id === SEED_DEFAULT) - (a.id === SEED_DEFAULT));
const models = [];
for (const m of chosen) {
  models.push(entry(m, m.id === SEED_DEFAULT ? { name: 'Claude 3.5 Sonnet (seed default)', default: true } : {}));
  if (m.extended_access) {
    models.push(
      entry(m, {
        id: `${m.id}#extended-access`,
        name: `${m.name.replace(/ \(extra\)$/, '')} (extended access)`,
        input_per_1k: m.extended_access.input_per_1k,
        output_per_1k: m.extended_access.output_per_1k,
        note: m.note ?? 'extended-access price',
      }),
    );
  }
}

const catalog = {
  currency: multipliers.currency,
  unit: multipliers.unit,
  batch_multiplier: multipliers.batch_multiplier,
  as_of: asOf,
  about: 'Bedrock on-demand prices per 1,000 tokens, as decimal strings. Edit freely; the first model is the default.',
  models,
};
await writeFile(join(web, 'prices.json'), JSON.stringify(catalog, null, 1) + '\n');
console.log(`prices: ${models.length} models -> web/prices.json`);
