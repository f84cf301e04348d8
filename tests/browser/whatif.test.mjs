// Re-prices the fixtures under custom and catalog prices and checks the
// page's what-if total against an independent BigInt computation from the
// CSV (round6 per row, half to even; rows with no tokens keep their cost).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES, WEB, cheapestModel, fixed2, times, micros, microsText, monthlyProjection, openFile, parseCsv, readJson, screenshot, useBrowser, waitIdle, whatifTotal } from './helpers.mjs';

const CONSOLIDATED = join(FIXTURES, 'expected_consolidated.csv');
const TOTAL = '[data-kpi="whatif_total_cost"]';

const suite = useBrowser();

async function setPrices(card, input, output) {
  await card.locator('[data-testid="price-input"]').fill(input);
  await card.locator('[data-testid="price-output"]').fill(output);
}

const value = (locator) => locator.evaluate((n) => n.dataset.value);

/**
 * What a card's difference must be for a what-if total against the recorded
 * cost, computed here: the exact difference, its percentage of the recorded
 * cost (2 decimals, half to even) and its direction ('up', 'down' or '' when equal).
 */
function expectedDifference(whatif, actual) {
  const d = micros(whatif) - micros(actual);
  return { value: microsText(d), pct: fixed2(d * 100n, micros(actual)), direction: d > 0n ? 'up' : d < 0n ? 'down' : '' };
}

/** What a card's difference shows: its exact value, percentage, direction class and text. */
function shownDifference(card) {
  return card.locator('[data-testid="whatif-difference"]').evaluate((n) => ({
    value: n.dataset.value,
    pct: n.dataset.pct,
    direction: n.classList.contains('up') ? 'up' : n.classList.contains('down') ? 'down' : '',
    text: n.textContent,
  }));
}

test('custom prices and batch: the what-if total matches an independent computation', async () => {
  const csv = await readFile(CONSOLIDATED, 'utf8');
  const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  const cheapest = cheapestModel(await readJson(join(WEB, 'prices.json')));
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
  const card = page.locator('[data-testid="scenario"]').first();

  // The default scenario is the catalog's cheapest model (not the seed's prices, which would give the recorded cost again).
  assert.equal(await value(page.locator(TOTAL)), whatifTotal(csv, cheapest.input_per_1k, cheapest.output_per_1k));
  assert.notEqual(await value(page.locator(TOTAL)), stats.total_cost);

  await setPrices(card, '0.0008', '0.004');
  await waitIdle(page);
  const expected = whatifTotal(csv, '0.0008', '0.004');
  assert.equal(await value(page.locator(TOTAL)), expected);
  assert.equal(await card.locator('[data-testid="model"]').inputValue(), 'custom');
  const { text, ...difference } = await shownDifference(card);
  assert.deepEqual(difference, expectedDifference(expected, stats.total_cost));
  const projection = monthlyProjection(csv, '0.0008', '0.004');
  const monthly = card.locator('[data-testid="monthly-projection"]');
  assert.equal(await value(monthly), projection.value);
  assert.match(await monthly.textContent(), new RegExp(`${projection.start} to ${projection.end}`));
  await screenshot(page, 'whatif-custom');

  await card.locator('[data-testid="batch"]').check();
  await waitIdle(page);
  assert.equal(await value(page.locator(TOTAL)), whatifTotal(csv, '0.0004', '0.002'));
  assert.deepEqual(page.events.errors, []);
});

test('the difference, its percentage and its sign match an independent computation, cheaper, dearer and equal', async () => {
  const csv = await readFile(CONSOLIDATED, 'utf8');
  const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
  const card = page.locator('[data-testid="scenario"]').first();
  const directions = new Set();
  for (const [input, output] of [['0.0008', '0.004'], ['0.015', '0.075'], [stats.input_per_1k, stats.output_per_1k], ['0.003', '0.0151']]) {
    await setPrices(card, input, output);
    await waitIdle(page);
    const expected = expectedDifference(whatifTotal(csv, input, output), stats.total_cost);
    const { text, ...shown } = await shownDifference(card);
    assert.deepEqual(shown, expected, `${input} / ${output}`);
    // The text says the sign too: "+$…", "−$…", or no sign when equal.
    assert.equal(text[0], { up: '+', down: '−', '': '$' }[expected.direction], text);
    directions.add(expected.direction);
  }
  // The prices above cover every direction, so a sign fixed in the page (or here) would fail.
  assert.deepEqual([...directions].sort(), ['', 'down', 'up']);
  assert.deepEqual(page.events.errors, []);
});

test('a catalog model, several scenarios side by side, and the CSV export', async () => {
  const csv = await readFile(CONSOLIDATED, 'utf8');
  const catalog = await readJson(join(WEB, 'prices.json'));
  const haiku = catalog.models.find((m) => m.name === 'Claude 3 Haiku');
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);

  await page.locator('[data-testid="add-scenario"]').click();
  await waitIdle(page);
  const cards = page.locator('[data-testid="scenario"]');
  assert.equal(await cards.count(), 2);
  const second = cards.nth(1);
  await second.locator('[data-testid="model"]').selectOption(haiku.id);
  await waitIdle(page);
  const expected = whatifTotal(csv, haiku.input_per_1k, haiku.output_per_1k);
  assert.equal(await value(second.locator('[data-testid="whatif-total"]')), expected);
  assert.match(await second.locator('[data-testid="price-source"]').textContent(), /Source: .+; as of /);
  // The first card still shows the default scenario (the cheapest model), and keeps the stable hook.
  const cheapest = cheapestModel(catalog);
  assert.equal(await page.locator(TOTAL).count(), 1);
  assert.equal(await value(cards.nth(0).locator(TOTAL)), whatifTotal(csv, cheapest.input_per_1k, cheapest.output_per_1k));
  await screenshot(page, 'whatif-two-scenarios');

  const [download] = await Promise.all([page.waitForEvent('download'), second.locator('[data-testid="export-csv"]').click()]);
  assert.match(download.suggestedFilename(), /^tally-whatif-.*\.csv$/);
  const exported = parseCsv(await readFile(await download.path(), 'utf8')).filter((r) => r.length > 1);
  const [header, ...rows] = exported;
  assert.deepEqual(header.slice(-2), ['source', 'actual_total_price']);
  const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  assert.equal(rows.length, stats.total_records);
  const totalCol = header.indexOf('total_price');
  assert.equal(microsText(rows.reduce((n, r) => n + micros(r[totalCol]), 0n)), expected);

  await second.locator('[data-testid="remove-scenario"]').click();
  assert.equal(await cards.count(), 1);
  assert.equal(await cards.first().locator('[data-testid="remove-scenario"]').isHidden(), true);
});

test('python_written files: rows without tokens keep their recorded cost', async () => {
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  for (const name of ['lambda_archive_pandas', 'lambda_consolidated_bom_crlf_reordered']) {
    const expected = await readJson(join(FIXTURES, 'python_written', `${name}.expected.json`));
    // The expected rows, written back as a Tally CSV, priced independently.
    const header = Object.keys(expected.rows[0]);
    const text = [header.join(','), ...expected.rows.map((r) => header.map((k) => r[k]).join(','))].join('\n');
    await openFile(page, join(FIXTURES, 'python_written', `${name}.csv`));
    await setPrices(page.locator('[data-testid="scenario"]').first(), '0.00025', '0.00125');
    await waitIdle(page);
    assert.equal(await value(page.locator(TOTAL)), whatifTotal(text, '0.00025', '0.00125'), name);
  }
});

test('an invalid price is flagged, not sent, and the old total is not left on screen', async () => {
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
  const card = page.locator('[data-testid="scenario"]').first();
  const total = page.locator(TOTAL);
  const before = await value(total);
  assert.notEqual(before, '');
  await card.locator('[data-testid="price-input"]').fill('abc');
  await waitIdle(page);
  assert.equal(await card.locator('[data-testid="scenario-error"]').isVisible(), true);
  assert.equal(await card.locator('[data-testid="price-input"]').getAttribute('aria-invalid'), 'true');
  assert.equal(await card.locator('[data-testid="price-output"]').getAttribute('aria-invalid'), 'false');
  // The card is marked stale: no total until the prices are valid again.
  assert.equal(await card.evaluate((c) => c.classList.contains('stale')), true);
  assert.equal(await value(total), '');
  assert.equal(await total.locator('.kpi-value').textContent(), '—');
  assert.equal(await card.locator('[data-testid="export-csv"]').isDisabled(), true);
  assert.doesNotMatch(page.url(), /abc/);

  // The default's own input price again: its total again.
  await card.locator('[data-testid="price-input"]').fill(cheapestModel(await readJson(join(WEB, 'prices.json'))).input_per_1k);
  await waitIdle(page);
  assert.equal(await value(total), before);
  assert.equal(await card.evaluate((c) => c.classList.contains('stale')), false);
  assert.equal(await card.locator('[data-testid="price-input"]').getAttribute('aria-invalid'), 'false');
  assert.equal(await card.locator('[data-testid="scenario-error"]').isHidden(), true);
  assert.deepEqual(page.events.errors, []);
});

test('a price that makes a row cost more than the engine can hold is an error, never a saturated total', async () => {
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
  const card = page.locator('[data-testid="scenario"]').first();
  const before = await value(page.locator(TOTAL));
  await card.locator('[data-testid="price-input"]').fill('100000000000000');
  await waitIdle(page);
  assert.match(await card.locator('[data-testid="scenario-error"]').textContent(), /cannot be represented: check the prices/);
  assert.equal(await card.evaluate((c) => c.classList.contains('stale')), true);
  assert.equal(await value(page.locator(TOTAL)), '');
  await card.locator('[data-testid="price-input"]').fill(cheapestModel(await readJson(join(WEB, 'prices.json'))).input_per_1k);
  await waitIdle(page);
  assert.equal(await value(page.locator(TOTAL)), before);
  assert.equal(await card.locator('[data-testid="scenario-error"]').isHidden(), true);
  assert.deepEqual(page.events.errors, []);
});

test('the batch multiplier comes from the catalog: label and figures together', async () => {
  const csv = await readFile(CONSOLIDATED, 'utf8');
  const catalog = await readJson(join(WEB, 'prices.json'));
  const page = await suite.browser.newPage();
  await page.route('**/prices.json', (route) =>
    route.fulfill({ contentType: 'application/json', body: JSON.stringify({ ...catalog, batch_multiplier: '0.25' }) }),
  );
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
  const card = page.locator('[data-testid="scenario"]').first();
  assert.match(await card.locator('label.check').textContent(), /× 0\.25\b/);
  await card.locator('[data-testid="batch"]').check();
  await waitIdle(page);
  // The default (the cheapest model) at a quarter of its prices, computed here.
  const cheapest = cheapestModel(catalog);
  assert.equal(await value(page.locator(TOTAL)), whatifTotal(csv, times(cheapest.input_per_1k, '0.25'), times(cheapest.output_per_1k, '0.25')));
  assert.deepEqual(page.events.errors, []);
});

test('a card removed while its refresh is pending is not refreshed; the others still are', async () => {
  const csv = await readFile(CONSOLIDATED, 'utf8');
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
  await page.locator('[data-testid="add-scenario"]').click();
  await waitIdle(page);
  const cards = page.locator('[data-testid="scenario"]');
  const second = cards.nth(1);
  // Typing waits for a pause before re-pricing: remove the card inside that pause.
  await second.locator('[data-testid="price-input"]').fill('0.001');
  await second.locator('[data-testid="remove-scenario"]').click();
  assert.equal(await cards.count(), 1);
  await page.waitForTimeout(400);
  await waitIdle(page);
  // Only the page's two charts and the remaining card's are alive (no chart on a detached canvas).
  assert.equal(await page.evaluate(() => Object.keys(globalThis.Chart.instances).length), 3);

  await setPrices(cards.first(), '0.0008', '0.004');
  await waitIdle(page);
  assert.equal(await value(page.locator(TOTAL)), whatifTotal(csv, '0.0008', '0.004'));
  assert.doesNotMatch(page.url(), /0\.001~/);
  assert.deepEqual(page.events.errors, []);
});

test('cards replaced by a new hash are not refreshed after they are gone', async () => {
  const csv = await readFile(CONSOLIDATED, 'utf8');
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
  const card = page.locator('[data-testid="scenario"]').first();
  await card.locator('[data-testid="price-input"]').fill('0.001');
  // Replace every card (as a pasted URL would) before the typed price is sent.
  await page.evaluate(() => {
    location.hash = 's=custom~0.00025~0.00125~0';
  });
  // The hash applied (on a loaded machine this can take a while), then time
  // for the typed price's refresh, were it still to come, and the work done.
  await page.waitForFunction(() => {
    const cards = document.querySelectorAll('[data-testid="scenario"]');
    return cards.length === 1 && cards[0].querySelector('[data-testid="price-input"]').value === '0.00025';
  });
  await page.waitForTimeout(400);
  await waitIdle(page);
  assert.equal(await page.locator('[data-testid="scenario"]').count(), 1);
  assert.equal(await value(page.locator(TOTAL)), whatifTotal(csv, '0.00025', '0.00125'));
  assert.equal(await page.evaluate(() => Object.keys(globalThis.Chart.instances).length), 3);
  assert.deepEqual(page.events.errors, []);
});

test('data-pending follows the work in flight: never below 0, back to 0 after failures, removed cards and replaced hashes', async () => {
  const csv = await readFile(CONSOLIDATED, 'utf8');
  const page = await suite.browser.newPage();
  await page.addInitScript(() => {
    const seen = (window.__pending = []);
    new MutationObserver(() => seen.push(document.body.dataset.pending)).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-pending'] });
  });
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
  const cards = page.locator('[data-testid="scenario"]');
  const first = cards.first();
  // An engine error, an invalid price, a card removed while its refresh waits, a hash that replaces the cards.
  await first.locator('[data-testid="price-input"]').fill('100000000000000');
  await waitIdle(page);
  await first.locator('[data-testid="price-input"]').fill('abc');
  await waitIdle(page);
  await page.locator('[data-testid="add-scenario"]').click();
  await cards.nth(1).locator('[data-testid="price-output"]').fill('0.002');
  await cards.nth(1).locator('[data-testid="remove-scenario"]').click();
  await page.evaluate(() => {
    location.hash = 's=custom~0.0008~0.004~0';
  });
  await page.waitForTimeout(300);
  await waitIdle(page);
  assert.equal(await value(page.locator(TOTAL)), whatifTotal(csv, '0.0008', '0.004'));
  const seen = await page.evaluate(() => window.__pending);
  assert.ok(seen.every((p) => /^\d+$/.test(p)), seen.join(' '));
  assert.ok(seen.some((p) => p !== '0'), seen.join(' '));
  assert.equal(seen.at(-1), '0');
  assert.deepEqual(page.events.errors, []);
});
