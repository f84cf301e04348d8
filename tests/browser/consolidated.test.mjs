// Opens the consolidated fixture through the file input and checks the
// headline figures and the by-source table against its statistics and
// against figures computed here from the CSV itself.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES, csvRows, kpis, micros, microsText, openFile, parseCsv, readJson, screenshot, useBrowser, waitIdle } from './helpers.mjs';

const CONSOLIDATED = join(FIXTURES, 'expected_consolidated.csv');
const DAMAGED = join(FIXTURES, 'python_written', 'damaged_rows');
const TOP_N = 10;

/** Whether a row's create_date falls on a day from `from` to `to` (inclusive; an undated row never does). */
const within = (from, to) => (r) => r.create_date !== '' && r.create_date.slice(0, 10) >= from && r.create_date.slice(0, 10) <= to;

/**
 * The headline figures of the rows that pass `keep`, computed here from the
 * CSV: records, tokens and cost (exact micro-dollars), as the tiles' data-value.
 */
function headlineOf(rows, keep) {
  const kept = rows.filter(keep);
  const sum = (key) => kept.reduce((n, r) => n + BigInt(r[key]), 0n);
  return {
    records: String(kept.length),
    input_tokens: String(sum('input_token')),
    output_tokens: String(sum('output_token')),
    total_cost: microsText(kept.reduce((n, r) => n + micros(r.total_price), 0n)),
  };
}

/** The tiles of headlineOf's keys, as the page shows them. */
async function shownHeadline(page) {
  const { records, input_tokens, output_tokens, total_cost } = await kpis(page);
  return { records, input_tokens, output_tokens, total_cost };
}

const suite = useBrowser();

test('consolidated fixture: headline figures and by-source table match its stats', async () => {
  const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
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
  const [header, ...rows] = parseCsv((await readFile(CONSOLIDATED, 'utf8')).replace(/^\uFEFF/, '')).filter((r) => r.length > 1);
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

  // Every view is there: the most expensive rows (their costs, from the CSV), a daily chart, hours.
  const dearest = csvRows(await readFile(CONSOLIDATED, 'utf8'))
    .map((r) => micros(r.total_price))
    .sort((a, b) => (b > a) - (b < a))
    .slice(0, TOP_N)
    .map(microsText);
  assert.equal(dearest.length, Math.min(TOP_N, stats.total_records));
  assert.deepEqual(await page.$$eval('[data-testid="top-row"] [data-col="total_price"]', (c) => c.map((x) => x.dataset.value)), dearest);
  assert.ok((await page.locator('[data-testid="hour-row"]').count()) > 0);
  assert.equal(await page.locator('[data-testid="unreadable-box"]').isHidden(), true);
  assert.deepEqual(page.events.errors, []);
});

test('filters: a source and a date range narrow every view', async () => {
  const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  const rows = csvRows(await readFile(CONSOLIDATED, 'utf8'));
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);

  await page.locator('[data-testid="filter-source"][value="new_table"]').uncheck();
  await waitIdle(page);
  const oldTable = (r) => r.source === 'old_table';
  assert.equal(String(stats.records_by_source.old_table), headlineOf(rows, oldTable).records);
  assert.deepEqual(await shownHeadline(page), headlineOf(rows, oldTable));
  assert.deepEqual(await page.$$eval('[data-testid="source-row"] [data-col="source"]', (c) => c.map((x) => x.textContent)), ['old_table']);
  const sources = await page.$$eval('[data-testid="top-row"] [data-col="source"]', (c) => c.map((x) => x.textContent));
  assert.ok(sources.length > 0 && sources.every((s) => s === 'old_table'));

  // Days are inclusive UTC days of create_date; a row without a date is outside any range.
  await page.locator('[data-testid="filter-from"]').fill('2025-12-01');
  await page.locator('[data-testid="filter-to"]').fill('2025-12-31');
  await waitIdle(page);
  const december = (r) => oldTable(r) && within('2025-12-01', '2025-12-31')(r);
  const expected = headlineOf(rows, december);
  // The range keeps some rows of the source and drops others, so it is a real test of the bounds.
  assert.ok(Number(expected.records) > 0 && Number(expected.records) < stats.records_by_source.old_table, JSON.stringify(expected));
  assert.deepEqual(await shownHeadline(page), expected);
  const topDays = await page.$$eval('[data-testid="top-row"] [data-col="create_date"]', (c) => c.map((x) => x.dataset.value.slice(0, 10)));
  assert.equal(topDays.length, Math.min(TOP_N, Number(expected.records)));
  assert.ok(topDays.every((d) => d >= '2025-12-01' && d <= '2025-12-31'), topDays.join(' '));
  assert.equal(await page.locator('[data-testid="scenario"] [data-kpi="whatif_total_cost"]').count(), 1);
  await screenshot(page, 'consolidated-filtered');

  await page.locator('[data-testid="filter-reset"]').click();
  await waitIdle(page);
  assert.equal((await kpis(page)).records, String(stats.total_records));
});

test('days: "from" after "to" is flagged; a new file clears days outside its own', async () => {
  const rows = csvRows(await readFile(CONSOLIDATED, 'utf8'));
  const damaged = (await readJson(`${DAMAGED}.expected.json`)).rows;
  const damagedDays = damaged.map((r) => r.create_date.slice(0, 10)).sort();
  const [firstDay, lastDay] = [damagedDays[0], damagedDays.at(-1)];
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
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
  const november = headlineOf(rows, within('2026-11-10', '2026-11-20'));
  assert.ok(Number(november.records) > 0);
  assert.deepEqual(await shownHeadline(page), november);

  // The next file's days are all before those bounds: both fall outside and are cleared.
  assert.ok(lastDay < '2026-11-10', lastDay);
  await openFile(page, `${DAMAGED}.csv`);
  assert.equal(await from.inputValue(), '');
  assert.equal(await to.inputValue(), '');
  assert.equal((await kpis(page)).records, String(damaged.length));
  const note = page.locator('[data-testid="filter-note"]');
  assert.equal(await note.isVisible(), true);
  assert.ok((await note.textContent()).includes(`From 2026-11-10, To 2026-11-20) was outside this file's days, ${firstDay} to ${lastDay}`), await note.textContent());
  assert.doesNotMatch(page.url(), /[#&](from|to)=/);
  assert.equal(await error.isHidden(), true);

  // Days inside the next file's span are kept.
  await from.fill(firstDay);
  await waitIdle(page);
  assert.equal(await note.isHidden(), true);
  await openFile(page, CONSOLIDATED);
  assert.equal(await from.inputValue(), firstDay);
  assert.equal(await note.isHidden(), true);
  assert.deepEqual(page.events.errors, []);
});
