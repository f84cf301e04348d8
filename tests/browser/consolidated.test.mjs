// Opens the consolidated fixture through the file input and checks the
// headline figures and the by-source table against its statistics and
// against figures computed here from the CSV itself.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES, kpis, micros, microsText, openFile, parseCsv, readJson, screenshot, startBrowser, waitIdle } from './helpers.mjs';

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

  // Per source, from the CSV: the earliest and latest create_date (rows with
  // a date), and the costs, which add up to the headline total.
  const [header, ...rows] = parseCsv((await readFile(join(FIXTURES, 'expected_consolidated.csv'), 'utf8')).replace(/^\uFEFF/, '')).filter((r) => r.length > 1);
  const col = Object.fromEntries(header.map((name, i) => [name, i]));
  const span = {};
  for (const r of rows) {
    const date = r[col.create_date];
    const s = (span[r[col.source]] ??= { earliest: '', latest: '' });
    if (!date) continue;
    if (!s.earliest || date < s.earliest) s.earliest = date;
    if (!s.latest || date > s.latest) s.latest = date;
  }
  const table = await page.$$eval('[data-testid="by-source"] [data-testid="source-row"]', (trs) =>
    trs.map((r) => Object.fromEntries(['source', 'total_cost', 'earliest', 'latest'].map((c) => [c, r.querySelector(`[data-col="${c}"]`).dataset.value]))),
  );
  assert.equal(microsText(table.reduce((n, r) => n + micros(r.total_cost), 0n)), stats.total_cost);
  assert.deepEqual(Object.fromEntries(table.map((r) => [r.source, { earliest: r.earliest, latest: r.latest }])), span);
  for (const r of table) {
    const shown = await page.locator(`[data-testid="source-row"]:has([data-col="source"] code:text-is("${r.source}")) [data-col="earliest"]`).textContent();
    assert.equal(shown, r.earliest);
  }

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

test('days: "from" after "to" is flagged; a new file clears days outside its own', async () => {
  const page = await browser.newPage();
  await page.goto(browser.base);
  await openFile(page, join(FIXTURES, 'expected_consolidated.csv'));
  const from = page.locator('[data-testid="filter-from"]');
  const to = page.locator('[data-testid="filter-to"]');
  const error = page.locator('[data-testid="filter-error"]');

  await from.fill('2026-11-10');
  await to.fill('2026-11-05');
  await waitIdle(page);
  assert.equal(await error.isVisible(), true);
  assert.match(await error.textContent(), /"From" \(2026-11-10\) is after "To" \(2026-11-05\)/);
  assert.equal(await from.getAttribute('aria-invalid'), 'true');
  assert.equal((await kpis(page)).records, '0');
  await to.fill('2026-11-20');
  await waitIdle(page);
  assert.equal(await error.isHidden(), true);
  assert.equal(await from.getAttribute('aria-invalid'), 'false');
  assert.ok(Number((await kpis(page)).records) > 0);

  // The next file's days are all in December 2025: both bounds fall outside and are cleared.
  await openFile(page, join(FIXTURES, 'python_written', 'damaged_rows.csv'));
  assert.equal(await from.inputValue(), '');
  assert.equal(await to.inputValue(), '');
  assert.equal((await kpis(page)).records, '2');
  const note = page.locator('[data-testid="filter-note"]');
  assert.equal(await note.isVisible(), true);
  assert.match(await note.textContent(), /From 2026-11-10, To 2026-11-20\) was outside this file's days, 2025-12-03 to 2025-12-03/);
  assert.doesNotMatch(page.url(), /[#&](from|to)=/);
  assert.equal(await error.isHidden(), true);

  // Days inside the next file's span are kept.
  await from.fill('2025-12-03');
  await waitIdle(page);
  assert.equal(await note.isHidden(), true);
  await openFile(page, join(FIXTURES, 'expected_consolidated.csv'));
  assert.equal(await from.inputValue(), '2025-12-03');
  assert.equal(await note.isHidden(), true);
  assert.deepEqual(page.events.errors, []);
});
