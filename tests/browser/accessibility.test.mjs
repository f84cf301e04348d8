// What a screen reader gets: names for the progress bar and the Remove
// buttons, price boxes described by their error, a polite status when the
// figures are recomputed, and the charts' figures as tables.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES, csvRows, micros, microsText, openFile, parseCsv, readJson, shownMoney, useBrowser, waitIdle } from './helpers.mjs';

const CONSOLIDATED = join(FIXTURES, 'expected_consolidated.csv');

const suite = useBrowser();

/** The recorded cost per day of the consolidated fixture, from the CSV: [[day, "0.123456"]], by day. */
async function costPerDay() {
  const [header, ...rows] = parseCsv(await readFile(CONSOLIDATED, 'utf8')).filter((r) => r.length > 1);
  const col = Object.fromEntries(header.map((name, i) => [name, i]));
  const byDay = new Map();
  for (const r of rows) {
    const day = r[col.create_date].slice(0, 10);
    if (day) byDay.set(day, (byDay.get(day) ?? 0n) + micros(r[col.total_price]));
  }
  return [...byDay].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, m]) => [day, microsText(m)]);
}

const statusText = (page) => page.locator('[data-testid="status"]').textContent();

test('names, descriptions and the status region', async () => {
  const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  const page = await suite.browser.newPage();
  await page.addInitScript(() => {
    // Every aria-busy the results took.
    window.__busy = [];
    new MutationObserver(() => {
      const main = document.querySelector('[data-testid="results"]');
      if (!main || window.__busyWatched) return;
      window.__busyWatched = true;
      new MutationObserver(() => window.__busy.push(main.getAttribute('aria-busy'))).observe(main, { attributes: true, attributeFilter: ['aria-busy'] });
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto(suite.browser.base);
  assert.equal(await page.getByRole('progressbar', { name: 'Loading the CSV', includeHidden: true }).count(), 1);
  await openFile(page, CONSOLIDATED);

  // The status region says the figures changed (politely), and the results are no longer busy.
  assert.equal(await page.getByRole('status').count(), 1);
  assert.equal(await page.locator('[data-testid="status"]').getAttribute('aria-live'), 'polite');
  await page.waitForFunction(() => /Figures updated/.test(document.querySelector('[data-testid="status"]').textContent));
  // Items (every row) and conversations, the money as it reads and whose estimate it is.
  const conversations = csvRows(await readFile(CONSOLIDATED, 'utf8')).filter((r) => r.sk.includes('#CONV#')).length;
  const records = stats.total_records.toLocaleString('en-US');
  const said = `Figures updated: ${records} items (${conversations.toLocaleString('en-US')} conversations), total cost ${shownMoney(stats.total_cost)} (estimated by the Lambdas' rules).`;
  assert.ok((await statusText(page)).includes(said), await statusText(page));
  assert.match(await statusText(page), /Scenario 1 re-priced: \$/);
  assert.equal(await page.locator('[data-testid="results"]').getAttribute('aria-busy'), 'false');
  assert.ok((await page.evaluate(() => window.__busy)).includes('true'));

  // Each card is a named region with a named Remove button.
  await page.locator('[data-testid="add-scenario"]').click();
  await waitIdle(page);
  assert.equal(await page.getByRole('article', { name: 'Scenario 2' }).count(), 1);
  assert.equal(await page.getByRole('button', { name: 'Remove scenario 2' }).count(), 1);
  assert.equal(await page.getByRole('button', { name: 'Remove scenario 1' }).count(), 1);

  // A price box is described by its scenario's error.
  const second = page.locator('[data-testid="scenario"]').nth(1);
  const input = second.locator('[data-testid="price-input"]');
  await input.fill('0.00x');
  const describedBy = await input.getAttribute('aria-describedby');
  assert.ok(describedBy);
  assert.equal(await second.locator('[data-testid="price-output"]').getAttribute('aria-describedby'), describedBy);
  const description = await page.evaluate((id) => document.getElementById(id)?.textContent, describedBy);
  assert.equal(description, await second.locator('[data-testid="scenario-error"]').textContent());
  assert.match(description, /plain decimals/);

  await input.fill('0.00025');
  await waitIdle(page);
  await page.waitForFunction(() => /Scenario 2 re-priced/.test(document.querySelector('[data-testid="status"]').textContent));
  await page.getByRole('button', { name: 'Remove scenario 2' }).click();
  assert.equal(await page.getByRole('article', { name: /^Scenario/ }).count(), 1);
  assert.deepEqual(page.events.errors, []);
});

test('the daily chart and each scenario chart have their figures as a table', async () => {
  const expected = await costPerDay();
  const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);

  // By day (three years would read by month otherwise: trends.test.mjs).
  await page.locator('[data-testid="group-day"]').check();
  await waitIdle(page);
  const box = page.locator('[data-testid="daily-table-box"]');
  assert.equal(await box.locator('table').isVisible(), false);
  await box.locator('summary').click();
  const headers = await box.locator('th').allTextContents();
  // A column per source, in the engine's order (by name).
  assert.deepEqual(headers, ['Day', 'Items', ...Object.keys(stats.records_by_source).sort(), 'Total (USD)']);
  // (Days without data are rows at 0 too: the days with some are the CSV's.)
  const daily = await box.locator('[data-testid="period-row"]').evaluateAll((rows) =>
    rows
      .filter((r) => r.querySelector('[data-col="records"]').dataset.value !== '0')
      .map((r) => [r.querySelector('[data-col="period"]').textContent, r.querySelector('[data-col="total_cost"]').dataset.value]),
  );
  assert.deepEqual(daily, expected);

  const card = page.locator('[data-testid="scenario"]').first();
  await card.locator('details.chart-data summary').click();
  const whatif = await card.locator('[data-testid="whatif-period-row"]').evaluateAll((rows) =>
    rows.map((r) => [r.querySelector('[data-col="period"]').textContent, r.querySelector('[data-col="actual"]').dataset.value]),
  );
  const days = new Map(expected);
  assert.deepEqual(whatif.filter(([day]) => days.has(day)), expected);
  assert.ok(whatif.every(([day, actual]) => days.has(day) || actual === '0.000000'));
  assert.deepEqual(page.events.errors, []);
});
