// A CSV whose text cells are HTML and spreadsheet formulas: the page must
// show them literally (textContent), run nothing, and export them neutralised.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openWatched, screenshot, useBrowser, waitIdle } from './helpers.mjs';

const IMG = '<img src=x onerror=alert(1)>';
const IMG_MARK = `<img src=x onerror="window.__pwned='img'">`;
const SVG = `"><svg onload="window.__pwned='svg'">`;
const FORMULA = '=HYPERLINK("http://example.invalid/x","click me")';
const SOURCE = `<script>window.__pwned='source'</script>`;
const BAD_NUMBER = `<img src=y onerror="window.__pwned='error'">`;

const quote = (cell) => (/[",\n\r]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);
const row = (cells) => cells.map(quote).join(',');

/** Costs decrease down the file, so the hostile rows are the most expensive. */
function hostileCsv() {
  const lines = [row(['create_date', 'input_token', 'output_token', 'precio_token_input', 'precio_token_output', 'total_price', 'pk', 'sk', 'source'])];
  const rows = [
    ['2026-01-05 10:00:00', '9000', '9000', '0.027000', '0.135000', '0.162000', IMG, `${IMG}#CONV#1`, SOURCE],
    ['2026-01-05 11:00:00', '8000', '8000', '0.024000', '0.120000', '0.144000', FORMULA, `${FORMULA}#CONV#2`, 'new_table'],
    ['2026-01-06 12:00:00', '7000', '7000', '0.021000', '0.105000', '0.126000', IMG_MARK, `${SVG}#CONV#3`, SOURCE],
    ['2026-01-06 13:00:00', BAD_NUMBER, '10', '0.000030', '0.000150', '0.000180', 'bad', 'bad#CONV#4', 'new_table'],
  ];
  for (const r of rows) lines.push(row(r));
  for (let i = 0; i < 12; i++) {
    lines.push(row([`2026-01-0${1 + (i % 5)} 0${i % 10}:00:00`, '10', '10', '0.000030', '0.000150', '0.000180', `pk${i}`, `pk${i}#CONV#${i}`, 'new_table']));
  }
  return lines.join('\n') + '\n';
}

const suite = useBrowser('hostile');

test('hostile cells are shown as text and nothing runs', async () => {
  const file = join(suite.dir, 'hostile.csv');
  await writeFile(file, hostileCsv());
  const page = await openWatched(suite.browser, file);
  // Give any injected handler (an image error, an svg load) time to fire.
  await page.waitForTimeout(500);
  await screenshot(page, 'hostile');

  assert.deepEqual(page.events.dialogs, []);
  assert.equal(await page.evaluate(() => window.__pwned), 'untouched');
  assert.equal(await page.locator('main img, main svg, main script, main iframe').count(), 0);

  const top = await page.$$eval('[data-testid="top-row"]', (rows) =>
    rows.map((r) => ({ pk: r.querySelector('[data-col="pk"]').textContent, sk: r.querySelector('[data-col="sk"]').textContent, source: r.querySelector('[data-col="source"]').textContent })),
  );
  assert.deepEqual(top.slice(0, 3), [
    { pk: IMG, sk: `${IMG}#CONV#1`, source: SOURCE },
    { pk: FORMULA, sk: `${FORMULA}#CONV#2`, source: 'new_table' },
    { pk: IMG_MARK, sk: `${SVG}#CONV#3`, source: SOURCE },
  ]);
  const sources = await page.$$eval('[data-testid="source-row"] [data-col="source"]', (c) => c.map((x) => x.textContent));
  assert.deepEqual(sources.sort(), ['new_table', SOURCE].sort());
  const boxes = await page.$$eval('[data-testid="filter-source"]', (b) => b.map((x) => x.value));
  assert.ok(boxes.includes(SOURCE));

  const unreadable = await page.$$eval('[data-testid="unreadable"] li', (items) => items.map((li) => li.textContent));
  assert.equal(unreadable.length, 1);
  assert.ok(unreadable[0].startsWith('line 5: ') && unreadable[0].includes(BAD_NUMBER), unreadable[0]);

  // Filtering on the hostile source name works and still runs nothing.
  await page.locator('[data-testid="filter-source"][value="new_table"]').uncheck();
  await waitIdle(page);
  assert.equal(await page.evaluate(() => window.__pwned), 'untouched');
  assert.match(page.url(), /src=/);

  // The export neutralises the formula for spreadsheets.
  await page.locator('[data-testid="filter-reset"]').click();
  await waitIdle(page);
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="export-csv"]').first().click()]);
  const exported = await readFile(await download.path(), 'utf8');
  assert.ok(exported.includes(`"'=HYPERLINK(""http://example.invalid/x"",""click me"")"`), exported.slice(0, 600));
  assert.deepEqual(page.events.dialogs, []);
  assert.deepEqual(page.events.errors, []);
});
