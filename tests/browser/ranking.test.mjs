// The scenarios ranked above their cards: each row's figures against an
// independent BigInt re-pricing of the fixture's rows, cheapest first; the
// first scenario of a fresh page is the cheapest catalog model (not the
// file's own price, which would compare it with itself); each card's
// headline is its monthly figure; its chart draws the what-if as a dashed
// line over the actual bars.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES, WEB, cheapestModel, divHalfEven, fixed2, micros, microsText, monthlyProjection, openFile, parseCsv, readJson, screenshot, times, useBrowser, waitIdle, whatifTotal } from './helpers.mjs';

const CONSOLIDATED = join(FIXTURES, 'expected_consolidated.csv');

const suite = useBrowser();

/** The recorded cost of the projection's window (its last 30 days of data, or all of it), scaled to 30 days. */
function monthlyActual(csvText, { start, end, days }) {
  const [header, ...rows] = parseCsv(csvText.replace(/^\uFEFF/, ''));
  const col = Object.fromEntries(header.map((name, i) => [name, i]));
  let sum = 0n;
  for (const r of rows) {
    const day = (r[col.create_date] ?? '').slice(0, 10);
    if (day >= start && day <= end && /^\d{4}-\d\d-\d\d$/.test(day)) sum += micros(r[col.total_price]);
  }
  return microsText(divHalfEven(sum * 30n, BigInt(days)));
}

/** What the ranking shows, row by row (in its order). */
function shownRanking(page) {
  return page.locator('[data-testid="ranking-row"]').evaluateAll((rows) =>
    rows.map((tr) => {
      const col = (c, key = 'value') => tr.querySelector(`[data-col="${c}"]`)?.dataset[key] ?? null;
      return {
        scenario: tr.dataset.scenario,
        rank: col('rank'),
        whatif: col('whatif'),
        difference: col('difference'),
        pct: col('difference', 'pct'),
        monthly: col('monthly'),
        saving: col('saving'),
      };
    }),
  );
}

test('the ranking: every scenario\'s total, difference, monthly projection and saving per month, cheapest first, as computed here', async () => {
  const csv = await readFile(CONSOLIDATED, 'utf8');
  const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  const catalog = await readJson(join(WEB, 'prices.json'));
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
  const cards = page.locator('[data-testid="scenario"]');

  // The first scenario: the cheapest model of the catalog (input + output per 1K, of the prices still listed), not the seed's.
  const cheapest = cheapestModel(catalog);
  const first = cards.first();
  assert.equal(await first.locator('[data-testid="model"]').inputValue(), cheapest.id);
  assert.notDeepEqual([cheapest.input_per_1k, cheapest.output_per_1k], [stats.input_per_1k, stats.output_per_1k]);
  assert.notEqual(await first.locator('[data-testid="whatif-difference"]').getAttribute('data-value'), '0.000000');

  // Three more: a catalog model, custom prices at batch, one dearer than the file.
  const haiku = catalog.models.find((m) => m.name === 'Claude 3 Haiku');
  const opus = catalog.models.find((m) => m.name === 'Claude Opus 4.1');
  for (let i = 0; i < 3; i++) await page.locator('[data-testid="add-scenario"]').click();
  await waitIdle(page);
  await cards.nth(1).locator('[data-testid="model"]').selectOption(haiku.id);
  await cards.nth(2).locator('[data-testid="price-input"]').fill('0.0008');
  await cards.nth(2).locator('[data-testid="price-output"]').fill('0.004');
  await cards.nth(2).locator('[data-testid="batch"]').check();
  await cards.nth(3).locator('[data-testid="model"]').selectOption(opus.id);
  await waitIdle(page);

  const half = catalog.batch_multiplier;
  const prices = [
    [cheapest.input_per_1k, cheapest.output_per_1k],
    [haiku.input_per_1k, haiku.output_per_1k],
    [times('0.0008', half), times('0.004', half)],
    [opus.input_per_1k, opus.output_per_1k],
  ];
  const expected = prices.map(([input, output], i) => {
    const whatif = whatifTotal(csv, input, output);
    const d = micros(whatif) - micros(stats.total_cost);
    const projection = monthlyProjection(csv, input, output);
    const actual = monthlyActual(csv, projection);
    return {
      scenario: String(i + 1),
      whatif,
      difference: microsText(d),
      pct: fixed2(d * 100n, micros(stats.total_cost)),
      monthly: projection.value,
      saving: microsText(micros(actual) - micros(projection.value)),
    };
  });
  const ranked = [...expected].sort((a, b) => (micros(a.whatif) < micros(b.whatif) ? -1 : micros(a.whatif) > micros(b.whatif) ? 1 : 0)).map((r, i) => ({ ...r, rank: String(i + 1) }));
  assert.deepEqual(await shownRanking(page), ranked);
  // The dearer scenario saves nothing: a negative saving; the others save.
  assert.ok(micros(ranked.at(-1).saving) < 0n && micros(ranked[0].saving) > 0n, JSON.stringify(ranked));

  // The ranking sits above the cards; each card's headline is its month.
  const [rankingTop, cardsTop] = await Promise.all([page.locator('[data-testid="ranking"]').boundingBox(), page.locator('[data-testid="scenarios"]').boundingBox()]);
  assert.ok(rankingTop.y < cardsTop.y);
  for (let i = 0; i < 4; i++) {
    const tiles = await cards.nth(i).locator('.scenario-figures [data-figure]').evaluateAll((n) => n.map((x) => x.dataset.testid));
    assert.equal(tiles[0], 'monthly-projection');
    assert.equal(await cards.nth(i).locator('[data-testid="monthly-projection"]').getAttribute('data-value'), expected[i].monthly);
    assert.equal(await cards.nth(i).locator('[data-testid="whatif-saving"]').getAttribute('data-value'), expected[i].saving);
  }
  await screenshot(page, 'ranking');

  // A card whose prices cannot be used waits at the bottom, and comes back when they can.
  await cards.nth(0).locator('[data-testid="price-input"]').fill('abc');
  await waitIdle(page);
  const waiting = await shownRanking(page);
  assert.deepEqual(waiting.at(-1), { scenario: '1', rank: '', whatif: '', difference: null, pct: null, monthly: null, saving: null });
  assert.deepEqual(waiting.slice(0, 3).map((r) => r.rank), ['1', '2', '3']);
  await cards.nth(0).locator('[data-testid="price-input"]').fill(cheapest.input_per_1k);
  await waitIdle(page);
  assert.deepEqual(await shownRanking(page), ranked);

  // A click on a scenario's name shows its card.
  const target = ranked.at(-1).scenario;
  await page.locator(`[data-testid="ranking-row"][data-scenario="${target}"] [data-testid="ranking-show"]`).click();
  const box = await cards.nth(Number(target) - 1).boundingBox();
  const height = await page.evaluate(() => innerHeight);
  assert.ok(box.y >= 0 && box.y < height, JSON.stringify(box));
  assert.deepEqual(page.events.errors, []);
});

test('a card\'s chart: the actual as bars, the what-if as a dashed line over them, both readable where they coincide', async () => {
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
  // The seed's own prices: the what-if equals the actual on every day.
  const card = page.locator('[data-testid="scenario"]').first();
  await card.locator('[data-testid="price-input"]').fill('0.003');
  await card.locator('[data-testid="price-output"]').fill('0.015');
  await waitIdle(page);
  const sets = await card.locator('canvas').evaluate((canvas) =>
    globalThis.Chart.getChart(canvas).data.datasets.map((d) => ({ type: d.type, label: d.label, dash: d.borderDash ?? [], exact: d.exact })),
  );
  assert.deepEqual(sets.map((s) => s.type).sort(), ['bar', 'line']);
  const line = sets.find((s) => s.type === 'line');
  const bars = sets.find((s) => s.type === 'bar');
  assert.equal(line.label, 'what-if');
  assert.ok(line.dash.length > 0, 'the what-if line is dashed');
  assert.deepEqual(line.exact, bars.exact);
  await screenshot(page, 'ranking-chart-coinciding');
  assert.deepEqual(page.events.errors, []);
});
