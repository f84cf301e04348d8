// Opens each CSV in the shapes the Python Lambdas wrote and checks rows,
// dropped placeholders, unreadable lines, the total cost and the table of the
// most expensive conversations against its .expected.json.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, kpis, micros, microsText, openFile, readJson, screenshot, startBrowser } from './helpers.mjs';

const DIR = join(FIXTURES, 'python_written');
const CASES = readdirSync(DIR)
  .filter((f) => f.endsWith('.csv'))
  .map((f) => f.slice(0, -'.csv'.length))
  .sort();

let browser;
before(async () => {
  browser = await startBrowser();
});
after(async () => {
  await browser?.close();
});

test('the python_written fixtures are there', () => {
  assert.ok(CASES.length >= 3, `found ${CASES.join(', ')} in ${DIR}`);
});

for (const name of CASES) {
  test(`python_written/${name}.csv: rows, placeholders, unreadable lines, total cost and top 10`, async () => {
    const expected = await readJson(join(DIR, `${name}.expected.json`));
    const page = await browser.newPage();
    await page.goto(browser.base);
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

    // Every expected row (≤ 5) is in the top 10: total price descending, ties by pk then sk.
    const byCost = [...expected.rows].sort((a, b) => {
      const d = micros(b.total_price) - micros(a.total_price);
      if (d !== 0n) return d > 0n ? 1 : -1;
      return a.pk < b.pk ? -1 : a.pk > b.pk ? 1 : a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0;
    });
    assert.ok(byCost.length <= 10);
    const top = await page.$$eval('[data-testid="top10"] [data-testid="top-row"]', (rows) =>
      rows.map((r) => {
        const cell = (col) => r.querySelector(`[data-col="${col}"]`);
        return { pk: cell('pk').textContent, sk: cell('sk').textContent, date: cell('create_date').dataset.value, total_price: cell('total_price').dataset.value };
      }),
    );
    assert.deepEqual(
      top,
      byCost.map((r) => ({ pk: r.pk, sk: r.sk, date: r.create_date, total_price: microsText(micros(r.total_price)) })),
    );

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
