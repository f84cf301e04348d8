// The scenario and the filter live in the URL: reloading it, or opening it
// in a fresh page, shows the same scenario (and, with ?csv=, the same figures).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES, WEB, cheapestModel, csvRows, kpis, openFile, readJson, screenshot, startBrowser, waitIdle, waitReady, whatifTotal, confirmOtherOrigin } from './helpers.mjs';

const TOTAL = '[data-kpi="whatif_total_cost"]';

let browser;
let csvServer;
before(async () => {
  browser = await startBrowser();
  const { startServer } = await import(join(WEB, 'tools', 'serve.mjs'));
  csvServer = await startServer({ root: FIXTURES, port: 0, cors: true });
});
after(async () => {
  await browser?.close();
  await csvServer?.close();
});

/** What a scenario card shows. */
function cardState(card) {
  return card.evaluate((c) => ({
    model: c.querySelector('[data-testid="model"]').value,
    input: c.querySelector('[data-testid="price-input"]').value,
    output: c.querySelector('[data-testid="price-output"]').value,
    batch: c.querySelector('[data-testid="batch"]').checked,
    total: c.querySelector('[data-testid="whatif-total"]').dataset.value,
  }));
}

async function allCards(page) {
  const cards = page.locator('[data-testid="scenario"]');
  const out = [];
  for (let i = 0; i < (await cards.count()); i++) out.push(await cardState(cards.nth(i)));
  return out;
}

test('?csv= opens a CSV by URL; the scenarios and filter survive a reload', async () => {
  const csvUrl = `${csvServer.url}expected_consolidated.csv`;
  const catalog = await readJson(join(WEB, 'prices.json'));
  const opus = catalog.models.find((m) => m.name === 'Claude Opus 4.5');
  const page = await browser.newPage();
  await page.goto(`${browser.base}?csv=${encodeURIComponent(csvUrl)}`);
  await confirmOtherOrigin(page);
  await waitReady(page);
  const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  assert.equal((await kpis(page)).records, String(stats.total_records));

  const first = page.locator('[data-testid="scenario"]').first();
  await first.locator('[data-testid="price-input"]').fill('0.0008');
  await first.locator('[data-testid="price-output"]').fill('0.004');
  await first.locator('[data-testid="batch"]').check();
  await page.locator('[data-testid="add-scenario"]').click();
  await page.locator('[data-testid="scenario"]').nth(1).locator('[data-testid="model"]').selectOption(opus.id);
  await page.locator('[data-testid="filter-from"]').fill('2025-01-01');
  await page.locator('[data-testid="filter-source"][value="old_table"]').uncheck();
  await waitIdle(page);
  const shared = page.url();
  assert.match(shared, /#.*s=/);
  const before = { cards: await allCards(page), kpis: await kpis(page) };
  assert.deepEqual(
    before.cards.map(({ total, ...rest }) => rest),
    [
      { model: 'custom', input: '0.0008', output: '0.004', batch: true },
      // An added card starts as a copy of the last one (batch included).
      { model: opus.id, input: opus.input_per_1k, output: opus.output_per_1k, batch: true },
    ],
  );
  // From 2025-01-01 without old_table, counted here from the CSV (undated rows fall outside any range).
  const rows = csvRows(await readFile(join(FIXTURES, 'expected_consolidated.csv'), 'utf8'));
  const kept = rows.filter((r) => r.source !== 'old_table' && r.create_date !== '' && r.create_date.slice(0, 10) >= '2025-01-01');
  assert.equal(before.kpis.records, String(kept.length));

  await page.reload();
  await confirmOtherOrigin(page);
  await waitReady(page);
  assert.equal(page.url(), shared);
  assert.deepEqual(await allCards(page), before.cards);
  assert.deepEqual(await kpis(page), before.kpis);
  assert.equal(await page.locator('[data-testid="filter-from"]').inputValue(), '2025-01-01');
  assert.equal(await page.locator('[data-testid="filter-source"][value="old_table"]').isChecked(), false);
  await screenshot(page, 'url-state-reloaded');
  assert.deepEqual(page.events.errors, []);
});

test('a shared URL restores the scenario in a fresh page, before and after a file is opened', async () => {
  const csv = await readFile(join(FIXTURES, 'expected_consolidated.csv'), 'utf8');
  const page = await browser.newPage();
  await page.goto(browser.base);
  await openFile(page, join(FIXTURES, 'expected_consolidated.csv'));
  const card = page.locator('[data-testid="scenario"]').first();
  await card.locator('[data-testid="price-input"]').fill('0.00025');
  await card.locator('[data-testid="price-output"]').fill('0.00125');
  await waitIdle(page);
  const shared = page.url();
  await page.close();

  const fresh = await browser.newPage();
  await fresh.goto(shared);
  await waitIdle(fresh);
  assert.equal(await fresh.evaluate(() => document.body.dataset.state), 'empty');
  const restored = await cardState(fresh.locator('[data-testid="scenario"]').first());
  assert.deepEqual({ ...restored, total: undefined }, { model: 'custom', input: '0.00025', output: '0.00125', batch: false, total: undefined });
  await openFile(fresh, join(FIXTURES, 'expected_consolidated.csv'));
  assert.equal(await fresh.locator(TOTAL).evaluate((n) => n.dataset.value), whatifTotal(csv, '0.00025', '0.00125'));
});

test('a hand-edited or broken hash falls back to the default scenario', async () => {
  const page = await browser.newPage();
  await page.goto(`${browser.base}#s=nonsense&from=yesterday&s=x~1e5~<b>~1`);
  await waitIdle(page);
  const cards = await allCards(page);
  assert.equal(cards.length, 1);
  // The default: the catalog's cheapest model.
  const cheapest = cheapestModel(await readJson(join(WEB, 'prices.json')));
  assert.deepEqual({ ...cards[0], total: undefined }, { model: cheapest.id, input: cheapest.input_per_1k, output: cheapest.output_per_1k, batch: false, total: undefined });
  assert.deepEqual(page.events.errors, []);
});
