// Opens each CSV in the shapes the Python Lambdas wrote and checks rows,
// dropped placeholders and unreadable lines against its .expected.json.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, kpis, openFile, readJson, screenshot, startBrowser } from './helpers.mjs';

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
  test(`python_written/${name}.csv: rows, placeholders and unreadable lines`, async () => {
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
