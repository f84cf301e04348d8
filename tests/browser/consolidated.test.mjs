// Opens the consolidated fixture through the file input and checks the
// headline figures and the by-source table against its statistics.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIXTURES, kpis, openFile, readJson, screenshot, startBrowser, waitIdle } from './helpers.mjs';

let browser;
before(async () => {
  browser = await startBrowser();
});
after(async () => {
  await browser?.close();
});

test('consolidated fixture: headline figures and by-source table match its stats', async () => {
  const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  const page = await browser.newPage();
  await page.goto(browser.base);
  await openFile(page, join(FIXTURES, 'expected_consolidated.csv'));
  await screenshot(page, 'consolidated');

  const values = await kpis(page);
  assert.equal(values.records, String(stats.total_records));
  assert.equal(values.input_tokens, String(stats.total_input_tokens));
  assert.equal(values.output_tokens, String(stats.total_output_tokens));
  assert.equal(values.total_tokens, String(stats.total_tokens));
  assert.equal(values.total_cost, stats.total_cost);
  assert.equal(values.avg_cost, stats.average_cost_per_record);

  const bySource = await page.$$eval('[data-testid="by-source"] [data-testid="source-row"]', (rows) =>
    Object.fromEntries(rows.map((r) => [r.querySelector('[data-col="source"]').textContent, Number(r.querySelector('[data-col="records"]').dataset.value)])),
  );
  assert.deepEqual(bySource, stats.records_by_source);

  // Every view is there: 10 most expensive rows, a daily chart, hours.
  assert.equal(await page.locator('[data-testid="top-row"]').count(), 10);
  assert.ok((await page.locator('[data-testid="hour-row"]').count()) > 0);
  assert.equal(await page.locator('[data-testid="unreadable-box"]').isHidden(), true);
  assert.deepEqual(page.events.errors, []);
});

test('filters: a source and a date range narrow every view', async () => {
  const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  const page = await browser.newPage();
  await page.goto(browser.base);
  await openFile(page, join(FIXTURES, 'expected_consolidated.csv'));

  await page.locator('[data-testid="filter-source"][value="new_table"]').uncheck();
  await waitIdle(page);
  let values = await kpis(page);
  assert.equal(values.records, String(stats.records_by_source.old_table));
  assert.deepEqual(await page.$$eval('[data-testid="source-row"] [data-col="source"]', (c) => c.map((x) => x.textContent)), ['old_table']);
  const sources = await page.$$eval('[data-testid="top-row"] [data-col="source"]', (c) => c.map((x) => x.textContent));
  assert.ok(sources.length > 0 && sources.every((s) => s === 'old_table'));

  await page.locator('[data-testid="filter-from"]').fill('2025-12-01');
  await page.locator('[data-testid="filter-to"]').fill('2025-12-31');
  await waitIdle(page);
  values = await kpis(page);
  const n = Number(values.records);
  assert.ok(n > 0 && n < stats.records_by_source.old_table, `records in December 2025: ${n}`);
  assert.equal(await page.locator('[data-testid="scenario"] [data-kpi="whatif_total_cost"]').count(), 1);
  await screenshot(page, 'consolidated-filtered');

  await page.locator('[data-testid="filter-reset"]').click();
  await waitIdle(page);
  assert.equal((await kpis(page)).records, String(stats.total_records));
});
