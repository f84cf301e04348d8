// The price catalog (web/prices.json) is data: a broken one must not stop a
// CSV from opening, and entries that cannot be used are listed, not dropped
// silently.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FIXTURES, WEB, kpis, openFile, readJson, screenshot, startBrowser, waitIdle, whatifTotal } from './helpers.mjs';

const CONSOLIDATED = join(FIXTURES, 'expected_consolidated.csv');
const TOTAL = '[data-kpi="whatif_total_cost"]';

let browser;
before(async () => {
  browser = await startBrowser();
});
after(async () => {
  await browser?.close();
});

/** A page whose web/prices.json is `body` (text) instead of the real one. */
async function pageWithCatalog(body, status = 200) {
  const page = await browser.newPage();
  await page.route('**/prices.json', (route) => route.fulfill({ status, contentType: 'application/json', body }));
  return page;
}

const value = (locator) => locator.evaluate((n) => n.dataset.value);

for (const [what, body, status, message] of [
  ['not JSON', '{ "models": [ { "id": ', 200, /not valid JSON/],
  ['missing (HTTP 404)', 'not found', 404, /HTTP 404/],
  ['without usable models', JSON.stringify({ models: [{ id: 'x', input_per_1k: 'cheap', output_per_1k: '1' }] }), 200, /no usable model/],
]) {
  test(`a catalog ${what}: the CSV still opens, the error shows in the what-if section, custom prices work`, async () => {
    const csv = await readFile(CONSOLIDATED, 'utf8');
    const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
    const page = await pageWithCatalog(body, status);
    await page.goto(browser.base);
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

test('catalog entries that cannot be used are listed (as text), the others offered', async () => {
  const catalog = await readJson(join(WEB, 'prices.json'));
  const good = catalog.models.slice(0, 2);
  const bad = [
    { id: 'anthropic.bad-price', name: 'Bad price', input_per_1k: '0,003', output_per_1k: '0.015' },
    { name: 'No id', input_per_1k: '0.001', output_per_1k: '0.002' },
    { id: '<img src=x onerror=alert(1)>', input_per_1k: 0.001, output_per_1k: '0.002' },
    { ...good[0] },
  ];
  const page = await pageWithCatalog(JSON.stringify({ ...catalog, models: [...good, ...bad] }));
  await page.goto(browser.base);
  await openFile(page, CONSOLIDATED);

  const options = await page.locator('[data-testid="scenario"] [data-testid="model"] option').evaluateAll((o) => o.map((x) => x.value));
  assert.deepEqual(options, [...good.map((m) => m.id), 'custom']);
  assert.equal(await page.locator('[data-testid="catalog-error"]').isHidden(), true);
  assert.equal(await page.locator('[data-testid="catalog-problems"]').isVisible(), true);
  const listed = await page.locator('[data-testid="catalog-dropped"] li').allTextContents();
  assert.equal(listed.length, 4);
  assert.match(listed[0], /^anthropic\.bad-price: input_per_1k "0,003" is not a plain decimal/);
  assert.match(listed[1], /^entry 4: no "id"/);
  assert.match(listed[2], /^<img src=x onerror=alert\(1\)>: input_per_1k 0\.001 is not a plain decimal string/);
  assert.match(listed[3], new RegExp(`^${good[0].id.replace(/[.]/g, '\\.')}: the same id as an earlier entry`));
  assert.equal(await page.locator('main img').count(), 0);
  assert.match(await page.locator('[data-testid="catalog-note"]').textContent(), /, 2 models,/);
  assert.deepEqual(page.events.dialogs, []);
  assert.deepEqual(page.events.errors, []);
});

test('a batch multiplier that is not a decimal is reported and the engine default used', async () => {
  const catalog = await readJson(join(WEB, 'prices.json'));
  const page = await pageWithCatalog(JSON.stringify({ ...catalog, batch_multiplier: 'half' }));
  await page.goto(browser.base);
  await openFile(page, CONSOLIDATED);
  assert.match(await page.locator('[data-testid="catalog-problems"]').textContent(), /batch_multiplier "half" is not a plain decimal string; using 0\.5/);
  assert.match(await page.locator('[data-testid="scenario"] label.check').first().textContent(), /× 0\.5\b/);
});

test('the default is shown as the list price before 2025-12-01, and each model shows its caveats', async () => {
  const catalog = await readJson(join(WEB, 'prices.json'));
  const page = await browser.newPage();
  await page.goto(browser.base);
  await openFile(page, CONSOLIDATED);
  const card = page.locator('[data-testid="scenario"]').first();
  const seed = catalog.models.find((m) => m.default);
  assert.deepEqual([seed.input_per_1k, seed.output_per_1k], ['0.003', '0.015']);
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
