// Opens each CSV in the shapes the Python Lambdas wrote and checks rows,
// dropped placeholders, unreadable lines, the total cost and the table of the
// most expensive conversations against its .expected.json.
//
// The top 10's order (web/README.md): the most expensive first; equal costs
// keep the file's order. The expected order is computed here by that rule
// (a stable sort), and a file whose equal-cost rows are not in pk/sk order
// makes sure no other tie-break passes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES, kpis, micros, microsText, openFile, readJson, screenshot, useBrowser } from './helpers.mjs';

const TOP_N = 10;

/** The top rows by the rule: total price descending, equal prices in the order given (the file's). */
function topByRule(rows) {
  // Array.prototype.sort is stable: rows of equal cost stay in the order they came in.
  return [...rows].sort((a, b) => Number(micros(b.total_price) - micros(a.total_price))).slice(0, TOP_N);
}

/** The top-10 table as shown: pk, sk, date and exact cost of each row. */
function shownTop(page) {
  return page.$$eval('[data-testid="top10"] [data-testid="top-row"]', (rows) =>
    rows.map((r) => {
      const cell = (col) => r.querySelector(`[data-col="${col}"]`);
      return { pk: cell('pk').textContent, sk: cell('sk').textContent, date: cell('create_date').dataset.value, total_price: cell('total_price').dataset.value };
    }),
  );
}

const asShown = (r) => ({ pk: r.pk, sk: r.sk, date: r.create_date, total_price: microsText(micros(r.total_price)) });

const DIR = join(FIXTURES, 'python_written');
const CASES = readdirSync(DIR)
  .filter((f) => f.endsWith('.csv'))
  .map((f) => f.slice(0, -'.csv'.length))
  .sort();

const suite = useBrowser('python-written');

test('the python_written fixtures are there', () => {
  assert.ok(CASES.length >= 3, `found ${CASES.join(', ')} in ${DIR}`);
});

for (const name of CASES) {
  test(`python_written/${name}.csv: rows, placeholders, unreadable lines, total cost and top 10`, async () => {
    const expected = await readJson(join(DIR, `${name}.expected.json`));
    const page = await suite.browser.newPage();
    await page.goto(suite.browser.base);
    await openFile(page, join(DIR, `${name}.csv`));
    await screenshot(page, `python_written-${name}`);

    const summary = await page.locator('[data-testid="file-summary"]').evaluate((n) => ({ ...n.dataset }));
    assert.equal(summary.rows, String(expected.rows.length));
    assert.equal(summary.placeholderRows, String(expected.placeholder_rows_dropped));
    assert.equal(summary.unreadable, String(expected.unreadable_rows.length));

    const values = await kpis(page);
    assert.equal(values.records, String(expected.rows.length));
    const sum = (key) => expected.rows.reduce((n, r) => n + BigInt(r[key]), 0n);
    assert.equal(values.input_tokens, String(sum('input_token')));
    assert.equal(values.output_tokens, String(sum('output_token')));
    // Money in exact micro-dollars: the total is the sum of the rows' total_price.
    const totalCost = expected.rows.reduce((n, r) => n + micros(r.total_price), 0n);
    assert.equal(values.total_cost, microsText(totalCost));

    // The expected rows are in the file's order: the top 10 by the rule.
    assert.deepEqual(await shownTop(page), topByRule(expected.rows).map(asShown));

    const listed = await page.$$eval('[data-testid="unreadable"] li[data-line]', (items) =>
      items.map((li) => ({ line: Number(li.dataset.line), text: li.textContent })),
    );
    assert.deepEqual(
      listed.map((x) => x.line),
      expected.unreadable_rows.map((x) => x.line),
    );
    for (const [i, bad] of expected.unreadable_rows.entries()) {
      assert.equal(listed[i].text, `line ${bad.line}: ${bad.error}`);
    }
    assert.equal(await page.locator('[data-testid="unreadable-box"]').isVisible(), expected.unreadable_rows.length > 0);
    assert.deepEqual(page.events.errors, []);
  });
}

/** A Tally CSV of `rows` ([create_date, input, output, total_price, pk]). */
function tallyCsv(rows) {
  const lines = ['create_date,input_token,output_token,precio_token_input,precio_token_output,total_price,pk,sk,source'];
  for (const [date, input, output, total, pk] of rows) lines.push([date, input, output, '0.000000', '0.000000', total, pk, `${pk}#CONV#1`, 'old_table'].join(','));
  return `${lines.join('\n')}\n`;
}

test('the top 10: equal costs keep the file\'s order, not pk/sk order, at the cut-off too', async () => {
  // Twelve rows: the dearest in the middle, then eleven of one cost whose pks
  // run backwards down the file, so the file's order and pk/sk order differ,
  // and the cut-off at 10 falls among equal costs.
  const equal = Array.from({ length: 11 }, (_, i) => [`2025-12-${String(10 + i).padStart(2, '0')} 10:00:00`, '100', '100', '0.001800', `pk-${String(20 - i).padStart(2, '0')}`]);
  const rows = [...equal.slice(0, 4), ['2025-12-05 09:00:00', '900', '900', '0.016200', 'pk-50'], ...equal.slice(4)];
  const file = join(suite.dir, 'equal_costs.csv');
  await writeFile(file, tallyCsv(rows));
  const fileOrder = rows.map(([create_date, , , total_price, pk]) => ({ create_date, total_price, pk, sk: `${pk}#CONV#1` }));

  const expected = topByRule(fileOrder);
  const byPkSk = [...fileOrder]
    .sort((a, b) => Number(micros(b.total_price) - micros(a.total_price)) || (a.pk < b.pk ? -1 : a.pk > b.pk ? 1 : 0))
    .slice(0, TOP_N);
  // The case tells the two rules apart, in the order and in which rows make the cut.
  assert.notDeepEqual(expected.map((r) => r.pk), byPkSk.map((r) => r.pk));
  assert.notDeepEqual(new Set(expected.map((r) => r.pk)), new Set(byPkSk.map((r) => r.pk)));

  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, file);
  assert.equal((await kpis(page)).records, String(rows.length));
  assert.deepEqual(await shownTop(page), expected.map(asShown));
  assert.deepEqual(page.events.errors, []);
});
