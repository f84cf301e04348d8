// The price catalog (web/prices.json) is data: a broken one must not stop a
// CSV from opening, and entries that cannot be used are listed, not dropped
// silently. The rules are the core's (the page asks the engine, as the
// command line does), so the reasons shown are the core's words.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FIXTURES, WEB, cheapestModel, kpis, openFile, readJson, screenshot, useBrowser, waitIdle, whatifTotal } from './helpers.mjs';

const CONSOLIDATED = join(FIXTURES, 'expected_consolidated.csv');
const TOTAL = '[data-kpi="whatif_total_cost"]';

const suite = useBrowser('catalog');

/** A page whose web/prices.json is `body` (text) instead of the real one. */
async function pageWithCatalog(body, status = 200) {
  const page = await suite.browser.newPage();
  await page.route('**/prices.json', (route) => route.fulfill({ status, contentType: 'application/json', body }));
  return page;
}

const value = (locator) => locator.evaluate((n) => n.dataset.value);

for (const [what, body, status, message] of [
  ['not JSON', '{ "models": [ { "id": ', 200, /the price catalog is not valid JSON/],
  ['missing (HTTP 404)', 'not found', 404, /HTTP 404/],
  ['without a models list', JSON.stringify({ as_of: '2026-09' }), 200, /the price catalog has no "models" list/],
  ['without usable models', JSON.stringify({ models: [{ id: 'x', input_per_1k: 'cheap', output_per_1k: '1' }] }), 200, /lists no usable model \(x: input_per_1k "cheap" is not a plain decimal string\)/],
]) {
  test(`a catalog ${what}: the CSV still opens, the error shows in the what-if section, custom prices work`, async () => {
    const csv = await readFile(CONSOLIDATED, 'utf8');
    const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
    const page = await pageWithCatalog(body, status);
    await page.goto(suite.browser.base);
    await openFile(page, CONSOLIDATED);

    const values = await kpis(page);
    assert.equal(values.total_cost, stats.total_cost);
    assert.equal(values.records, String(stats.total_records));
    // Not the page's banner: the what-if section says it.
    assert.equal(await page.locator('[data-testid="error"]').isHidden(), true);
    const error = page.locator('.whatif [data-testid="catalog-error"]');
    assert.equal(await error.isVisible(), true);
    assert.match(await error.textContent(), message);

    const card = page.locator('[data-testid="scenario"]').first();
    assert.deepEqual(await card.locator('[data-testid="model"] option').evaluateAll((o) => o.map((x) => x.value)), ['custom']);
    // No prices yet: the card asks for them and shows no total.
    assert.match(await card.locator('[data-testid="scenario-error"]').textContent(), /Enter the input and output prices/);
    assert.equal(await value(page.locator(TOTAL)), '');
    await card.locator('[data-testid="price-input"]').fill('0.0008');
    await card.locator('[data-testid="price-output"]').fill('0.004');
    await waitIdle(page);
    assert.equal(await value(page.locator(TOTAL)), whatifTotal(csv, '0.0008', '0.004'));
    if (what === 'not JSON') await screenshot(page, 'catalog-broken');
    assert.deepEqual(page.events.errors, []);
  });
}

test('catalog entries that cannot be used are listed (as text) with the core\'s reasons, the others offered', async () => {
  const catalog = await readJson(join(WEB, 'prices.json'));
  const good = catalog.models.slice(0, 2);
  // Usable by the same rules: no name (its id is shown), prices with spaces around or a bare point.
  const plain = { id: 'example.no-name', input_per_1k: ' .5 ', output_per_1k: '3.' };
  const offered = [...good, plain];
  const bad = [
    [{ id: 'anthropic.bad-price', name: 'Bad price', input_per_1k: '0,003', output_per_1k: '0.015' }, 'input_per_1k "0,003" is not a plain decimal string'],
    [{ name: 'No id', input_per_1k: '0.001', output_per_1k: '0.002' }, 'no "id"'],
    [{ id: '<img src=x onerror=alert(1)>', input_per_1k: 0.001, output_per_1k: '0.002' }, 'input_per_1k 0.001 is not a plain decimal string'],
    [{ ...good[0] }, 'the same id as an earlier entry'],
    [{ id: 'example.exponent', input_per_1k: '3e-3', output_per_1k: '0.015' }, 'input_per_1k "3e-3" is not a plain decimal string'],
    [{ id: 'example.negative', input_per_1k: '0.003', output_per_1k: '-0.015' }, 'output_per_1k "-0.015" is not a plain decimal string'],
    [{ id: 'example.no-output', input_per_1k: '0.003' }, 'output_per_1k missing is not a plain decimal string'],
    [{ id: 'custom', input_per_1k: '0.003', output_per_1k: '0.015' }, '"custom" is reserved'],
    ['a string', 'not an object'],
  ];
  const models = [...offered, ...bad.map(([m]) => m)];
  // An entry without an id is named by its place in the list (1-based).
  const entry = (m) => (typeof m?.id === 'string' && m.id ? m.id : `entry ${models.indexOf(m) + 1}`);
  const page = await pageWithCatalog(JSON.stringify({ ...catalog, models }));
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);

  const card = page.locator('[data-testid="scenario"]').first();
  const options = await card.locator('[data-testid="model"] option').evaluateAll((o) => o.map((x) => [x.value, x.textContent]));
  assert.deepEqual(
    options.map(([id]) => id),
    [...offered.map((m) => m.id), 'custom'],
  );
  assert.equal(options[offered.length - 1][1], 'example.no-name — .5 / 3.');
  assert.equal(await page.locator('[data-testid="catalog-error"]').isHidden(), true);
  assert.equal(await page.locator('[data-testid="catalog-problems"]').isVisible(), true);
  const listed = await page.locator('[data-testid="catalog-dropped"] li').allTextContents();
  assert.deepEqual(
    listed,
    bad.map(([m, reason]) => `${entry(m)}: ${reason}`),
  );
  assert.equal(await page.locator('main img').count(), 0);
  assert.match(await page.locator('[data-testid="catalog-note"]').textContent(), new RegExp(`, ${offered.length} models,`));

  // The model with prices written loosely re-prices at them, trimmed.
  const csv = await readFile(CONSOLIDATED, 'utf8');
  await card.locator('[data-testid="model"]').selectOption(plain.id);
  await waitIdle(page);
  assert.deepEqual([await card.locator('[data-testid="price-input"]').inputValue(), await card.locator('[data-testid="price-output"]').inputValue()], ['.5', '3.']);
  assert.equal(await value(page.locator(TOTAL)), whatifTotal(csv, '0.5', '3'));
  assert.deepEqual(page.events.dialogs, []);
  assert.deepEqual(page.events.errors, []);
});

test('a typed price is checked by the same rule as the catalog\'s: no exponent, no sign', async () => {
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
  const card = page.locator('[data-testid="scenario"]').first();
  const input = card.locator('[data-testid="price-input"]');
  const before = await value(page.locator(TOTAL));
  for (const typed of ['3e-3', '-0.003', '+0.003', '0.003.1', '0x10', '.', '1'.repeat(25)]) {
    await input.fill(typed);
    await waitIdle(page);
    assert.equal(await input.getAttribute('aria-invalid'), 'true', typed);
    assert.equal(await value(page.locator(TOTAL)), '', typed);
  }
  // Spaces around are not part of the price; a bare point on either side is a decimal.
  for (const [typed, price] of [[' 0.003 ', '0.003'], ['.003', '.003'], ['3.', '3.']]) {
    await input.fill(typed);
    await waitIdle(page);
    assert.equal(await input.getAttribute('aria-invalid'), 'false', typed);
    assert.notEqual(await value(page.locator(TOTAL)), '', typed);
    assert.match(page.url(), new RegExp(`s=custom~${price.replace(/[.]/g, '\\.')}~`), typed);
  }
  // The default's own input price again: its total again.
  await input.fill(cheapestModel(await readJson(join(WEB, 'prices.json'))).input_per_1k);
  await waitIdle(page);
  assert.equal(await value(page.locator(TOTAL)), before);
  assert.deepEqual(page.events.errors, []);
});

test('a batch multiplier that is not a decimal is reported and the engine default used', async () => {
  const catalog = await readJson(join(WEB, 'prices.json'));
  const page = await pageWithCatalog(JSON.stringify({ ...catalog, batch_multiplier: 'half' }));
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
  assert.match(await page.locator('[data-testid="catalog-problems"]').textContent(), /batch_multiplier "half" is not a plain decimal string; using 0\.5/);
  assert.match(await page.locator('[data-testid="scenario"] label.check').first().textContent(), /× 0\.5\b/);
});

test('the seed\'s price is shown as the list price before 2025-12-01, and each model shows its caveats', async () => {
  const catalog = await readJson(join(WEB, 'prices.json'));
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
  const card = page.locator('[data-testid="scenario"]').first();
  // The catalog's default is the seed's own price; the first scenario is not it (the cheapest model), so pick it.
  const seed = catalog.models.find((m) => m.default);
  assert.deepEqual([seed.input_per_1k, seed.output_per_1k], ['0.003', '0.015']);
  assert.notEqual(await card.locator('[data-testid="model"]').inputValue(), seed.id);
  await card.locator('[data-testid="model"]').selectOption(seed.id);
  assert.match(await card.locator('[data-testid="model"] option:checked').textContent(), /list price before 2025-12-01/);
  assert.match(await card.locator('[data-testid="price-source"]').textContent(), /; list price before 2025-12-01 \(price table of .+\)\.$/);
  const note = card.locator('[data-testid="price-note"]');
  assert.equal(await note.isVisible(), true);
  assert.match(await note.textContent(), /from 2025-12-01 extended access is priced \$0\.006 \/ \$0\.03 per 1K/);

  const sonnet45 = catalog.models.find((m) => m.name === 'Claude Sonnet 4.5');
  await card.locator('[data-testid="model"]').selectOption(sonnet45.id);
  assert.match(await card.locator('[data-testid="price-source"]').textContent(), /; as of /);
  assert.match(await note.textContent(), /above 200K input tokens are billed \$0\.006 \/ \$0\.0225 per 1K/);
  assert.match(await note.textContent(), /Regional inference profiles cost ×1\.1/);
  await card.locator('[data-testid="model"]').selectOption('custom');
  assert.equal(await note.isHidden(), true);
  await waitIdle(page);
});

const PRICING = join(dirname(FIXTURES), 'pricing', 'bedrock_prices.json');

test('web/prices.json carries the price table\'s caveats', { skip: !existsSync(PRICING) && `no ${PRICING}` }, async () => {
  const table = await readJson(PRICING);
  const catalog = await readJson(join(WEB, 'prices.json'));
  for (const m of catalog.models) {
    const source = table.find((t) => t.id === m.id.replace(/#extended-access$/, ''));
    assert.ok(source, m.id);
    if (source.above_200k) assert.match(m.note ?? '', new RegExp(`above 200K .*\\$${source.above_200k.input_per_1k} `), m.id);
    if (source.regional_multiplier) assert.match(m.note ?? '', new RegExp(`×${source.regional_multiplier} `), m.id);
    if (source.note) assert.ok((m.note ?? '').includes(source.note), m.id);
    if (source.extended_access) assert.ok(m.valid_until || m.valid_from, m.id);
  }
});

test('the first scenario is the model cheapest for the file opened, until a card is touched', async () => {
  // "cheap-in" costs less for a file of mostly input, "cheap-out" for mostly output;
  // "worse" is dearer than both on both prices, "old" no longer listed.
  const catalog = {
    models: [
      { id: 'old', name: 'Old', input_per_1k: '0', output_per_1k: '0', valid_until: '2025-01-01' },
      { id: 'worse', name: 'Worse', input_per_1k: '0.2', output_per_1k: '0.2' },
      { id: 'cheap-in', name: 'Cheap input', input_per_1k: '0.0001', output_per_1k: '0.05' },
      { id: 'cheap-out', name: 'Cheap output', input_per_1k: '0.05', output_per_1k: '0.0001' },
    ],
  };
  const header = 'create_date,input_token,output_token,precio_token_input,precio_token_output,total_price,pk,sk,source\n';
  const rows = (input, output) => Array.from({ length: 30 }, (_, k) => `2026-01-0${1 + (k % 9)} 10:00:00,${input + k},${output + k},0,0,0.000001,u${k % 4},u${k % 4}#CONV#${k},new_table\n`).join('');
  const files = { 'mostly-output.csv': header + rows(10, 5000), 'mostly-input.csv': header + rows(5000, 10) };
  for (const [name, text] of Object.entries(files)) await writeFile(join(suite.dir, name), text);
  const page = await pageWithCatalog(JSON.stringify(catalog));
  await page.goto(suite.browser.base);
  await waitIdle(page);
  const card = page.locator('[data-testid="scenario"]').first();
  const model = () => card.locator('[data-testid="model"]').inputValue();
  // Before any file: by list price, and the two tie (0.0501): the catalog's order.
  assert.equal(await model(), 'cheap-in');

  await openFile(page, join(suite.dir, 'mostly-output.csv'));
  assert.equal(await model(), 'cheap-out');
  assert.equal(await value(page.locator(TOTAL)), whatifTotal(files['mostly-output.csv'], '0.05', '0.0001'));
  // The page's own choice is not written in the URL: a reload chooses again.
  assert.doesNotMatch(decodeURIComponent(new URL(page.url()).hash), /s=/);
  // Each file chooses again while the page's choice stands.
  await openFile(page, join(suite.dir, 'mostly-input.csv'));
  assert.equal(await model(), 'cheap-in');
  assert.equal(await value(page.locator(TOTAL)), whatifTotal(files['mostly-input.csv'], '0.0001', '0.05'));
  // After a reload, the page still chooses for the next file.
  await page.reload();
  await openFile(page, join(suite.dir, 'mostly-output.csv'));
  assert.equal(await model(), 'cheap-out');
  // A model the user picked stays, whatever the next file (and is in the URL).
  await card.locator('[data-testid="model"]').selectOption('worse');
  await waitIdle(page);
  assert.match(decodeURIComponent(new URL(page.url()).hash), /s=worse~/);
  await openFile(page, join(suite.dir, 'mostly-output.csv'));
  assert.equal(await model(), 'worse');
  assert.equal(await value(page.locator(TOTAL)), whatifTotal(files['mostly-output.csv'], '0.2', '0.2'));
  assert.deepEqual(page.events.errors, []);
  // Today's catalog leaves one candidate (it is the cheapest on both prices): no file needs pricing to choose.
  const { firstCandidates } = await import(join(WEB, 'scenario.js'));
  assert.deepEqual(firstCandidates(await readJson(join(WEB, 'prices.json'))).map((m) => m.id), [cheapestModel(await readJson(join(WEB, 'prices.json'))).id]);
});
