// The what-if per model, for a detail CSV: a scenario card that prices the
// conversations of some models of the file otherwise (a catalog model or
// custom prices) while every other conversation keeps its billed cost. Its
// total, difference, per-source figures and re-priced count are checked
// against a computation made here from the CSV's rows (BigInt micro-dollars:
// each of a mapped row's billed input and output tokens priced and rounded to
// micro-dollars half to even, round6Micros; an unmapped row at its
// billed_price); batch, the URL (reload, old links, models the file does not
// have), a seed CSV (no mapping offered), hostile model names and a phone's width.
//
// The detail CSV is written by the real binary (helpers.mjs, writeDetailCsv);
// a copy of it with every other row's source renamed gives the per-source
// figures two sources to tell apart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DETAIL_HEADER,
  FIXTURES,
  WEB,
  cheapestModel,
  csvLine,
  csvRows,
  decimal,
  fixed2,
  kpis,
  micros,
  microsText,
  openFile,
  openWatched,
  pageWidth,
  parseCsv,
  readJson,
  round6Micros,
  screenshot,
  screenshotOf,
  shownMoney,
  useBrowser,
  waitIdle,
  whatifTotal,
  writeDetailCsv,
} from './helpers.mjs';

const SEED = join(FIXTURES, 'expected_consolidated.csv');
/** The source given to every other row of the copy. */
const OTHER_SOURCE = 'old_table';

const suite = useBrowser('whatif-models');
let made = null;

/**
 * The binary's detail CSV, with every other row's source renamed to
 * OTHER_SOURCE (written once, into the suite's folder): { path, rows }.
 */
function twoSources() {
  made ??= (async () => {
    const [header, ...lines] = parseCsv(await readFile(await writeDetailCsv(suite.dir), 'utf8')).filter((r) => r.length > 1);
    const source = header.indexOf('source');
    const renamed = lines.map((cells, i) => cells.map((cell, k) => (k === source && i % 2 === 1 ? OTHER_SOURCE : cell)));
    const path = join(suite.dir, 'two_sources_detail.csv');
    const text = [csvLine(header), ...renamed.map(csvLine)].join('\n') + '\n';
    await writeFile(path, text);
    return { path, rows: csvRows(text) };
  })();
  return made;
}

// ---- the figures, computed here from the rows ------------------------------

/** price × factor, exactly, as a decimal string: ("0.005", "0.5") → "0.0025". */
function scaledPrice(price, factor) {
  const p = decimal(price);
  const f = decimal(factor);
  const places = String(p.den * f.den).length - 1;
  const digits = String(p.num * f.num).padStart(places + 1, '0');
  return places ? `${digits.slice(0, -places)}.${digits.slice(-places)}` : digits;
}

/**
 * A model mapping's what-if over a detail CSV's rows, as its card must show
 * it. `prices`: { model: [input, output] } per 1K tokens (each times `batch`,
 * a multiplier, when given). A row of a mapped model costs its billed tokens
 * at those prices (a row without tokens but with a cost keeps it, as every
 * what-if does); any other row keeps its billed_price, which is also what
 * each row is held against.
 */
function mappedWhatif(rows, prices, batch = null) {
  let [actual, whatif, kept] = [0n, 0n, 0];
  const bySource = new Map();
  for (const r of rows) {
    const billed = micros(r.billed_price);
    const [input, output] = [BigInt(r.billed_input_token), BigInt(r.billed_output_token)];
    const mapped = Object.hasOwn(prices, r.model) && !(input === 0n && output === 0n && billed !== 0n);
    const [pin, pout] = mapped ? prices[r.model].map((p) => (batch ? scaledPrice(p, batch) : p)) : [];
    const cost = mapped ? round6Micros(input, pin) + round6Micros(output, pout) : billed;
    kept += mapped ? 0 : 1;
    actual += billed;
    whatif += cost;
    const s = bySource.get(r.source) ?? { source: r.source, records: 0, actual: 0n, whatif: 0n };
    s.records += 1;
    s.actual += billed;
    s.whatif += cost;
    bySource.set(r.source, s);
  }
  const d = whatif - actual;
  return {
    total: microsText(whatif),
    actual: microsText(actual),
    difference: microsText(d),
    pct: fixed2(d * 100n, actual),
    direction: d > 0n ? 'up' : d < 0n ? 'down' : '',
    kept: String(kept),
    basis: 'billed',
    bySource: [...bySource.values()]
      .map((s) => ({ source: s.source, records: String(s.records), actual: microsText(s.actual), whatif: microsText(s.whatif) }))
      .sort((a, b) => (a.source < b.source ? -1 : 1)),
  };
}

/** Every model of the rows at one price: what the one-price card re-prices in a detail CSV. */
function everyModelAt(rows, input, output) {
  return Object.fromEntries(rows.map((r) => [r.model, [input, output]]));
}

/** The two models with the most conversations (each has rows in both sources of the copy). */
function busiestModels(rows) {
  const counts = new Map();
  for (const r of rows) counts.set(r.model, (counts.get(r.model) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([model]) => model).slice(0, 2);
}

// ---- what the page shows -----------------------------------------------------

/** A card's figures: total, actual, difference (value, %, direction), conversations kept, basis, per source (by name). */
function shownCard(card) {
  return card.evaluate((c) => {
    const hook = (id) => c.querySelector(`[data-testid="${id}"]`);
    const difference = hook('whatif-difference');
    return {
      total: hook('whatif-total').dataset.value,
      actual: hook('whatif-actual').dataset.value,
      difference: difference.dataset.value,
      pct: difference.dataset.pct,
      direction: difference.classList.contains('up') ? 'up' : difference.classList.contains('down') ? 'down' : '',
      kept: hook('rows-at-recorded-cost').dataset.value,
      basis: hook('whatif-basis').dataset.basis,
      bySource: [...c.querySelectorAll('[data-testid="whatif-source-row"]')]
        .map((tr) => Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.col, td.dataset.value])))
        .sort((a, b) => (a.source < b.source ? -1 : 1)),
    };
  });
}

/** A card's mapped models as its controls show them: [from, target, input, output]. */
function shownMappings(card) {
  return card.locator('[data-testid="mapping-row"]').evaluateAll((rows) =>
    rows.map((row) => ['map-from', 'map-target', 'map-input', 'map-output'].map((id) => row.querySelector(`[data-testid="${id}"]`).value)),
  );
}

/**
 * Turns a card into a model mapping through its controls: `mappings` is
 * [[from, target (a catalog id or 'custom'), input, output]] (the prices are
 * typed for 'custom' only).
 */
async function mapModels(page, card, mappings) {
  await card.locator('[data-testid="kind-models"]').check();
  await waitIdle(page);
  for (const [i, [from, target, input, output]] of mappings.entries()) {
    if (i > 0) await card.locator('[data-testid="map-add"]').click();
    const row = card.locator('[data-testid="mapping-row"]').nth(i);
    await row.locator('[data-testid="map-from"]').selectOption({ value: from });
    await row.locator('[data-testid="map-target"]').selectOption({ value: target });
    if (target === 'custom') {
      await row.locator('[data-testid="map-input"]').fill(input);
      await row.locator('[data-testid="map-output"]').fill(output);
    }
    await waitIdle(page);
  }
}

async function catalogModel(name) {
  const catalog = await readJson(join(WEB, 'prices.json'));
  return { model: catalog.models.find((m) => m.name === name), batch: catalog.batch_multiplier };
}

// ---- the tests ---------------------------------------------------------------

test('a model mapping re-prices only the mapped models’ billed tokens: total, difference, per source and the count re-priced match the rows', async () => {
  const { path, rows } = await twoSources();
  const { model: opus } = await catalogModel('Claude Opus 4.5');
  const [first, second] = busiestModels(rows);
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, path);
  const card = page.locator('[data-testid="scenario"]').first();
  await mapModels(page, card, [
    [first, opus.id],
    [second, 'custom', '0.00021', '0.00107'],
  ]);
  const prices = { [first]: [opus.input_per_1k, opus.output_per_1k], [second]: ['0.00021', '0.00107'] };
  const expected = mappedWhatif(rows, prices);
  assert.deepEqual(await shownCard(card), expected);
  assert.equal((await kpis(page)).whatif_total_cost, expected.total);
  assert.deepEqual(await shownMappings(card), [
    [first, opus.id, opus.input_per_1k, opus.output_per_1k],
    [second, 'custom', '0.00021', '0.00107'],
  ]);
  // The figures tell the cases apart: other models unchanged (not all at these prices), every source moved.
  assert.notEqual(expected.total, expected.actual);
  assert.notEqual(expected.total, mappedWhatif(rows, everyModelAt(rows, '0.00021', '0.00107')).total);
  assert.notEqual(expected.total, mappedWhatif(rows, { [first]: prices[first] }).total);
  assert.equal(expected.bySource.length, 2);
  for (const s of expected.bySource) assert.notEqual(s.whatif, s.actual, s.source);
  assert.ok(Number(expected.kept) > 0 && Number(expected.kept) < rows.length, expected.kept);

  // What was re-priced, said on the card.
  assert.match(await card.locator('[data-testid="whatif-basis"]').textContent(), /billed tokens of the detail file .*against its billed price/);
  // Per-source money reads as the other new sections: readable, exact in title and data-value.
  const cells = await card.locator('[data-testid="whatif-source-row"] td[data-col="actual"], [data-testid="whatif-source-row"] td[data-col="whatif"]').evaluateAll((tds) =>
    tds.map((td) => ({ value: td.dataset.value, text: td.textContent, title: td.querySelector('[title]').title })),
  );
  assert.equal(cells.length, 4);
  for (const { value, text, title } of cells) {
    assert.equal(text, shownMoney(value), value);
    assert.equal(title, shownMoney(value, { exact: true }), value);
  }

  // The export re-prices the same rows: its total_price column adds up to the card's total.
  const [download] = await Promise.all([page.waitForEvent('download'), card.locator('[data-testid="export-csv"]').click()]);
  assert.match(download.suggestedFilename(), /^tally-whatif-by-model\.csv$/);
  const exported = csvRows(await readFile(await download.path(), 'utf8'));
  assert.equal(exported.length, rows.length);
  assert.equal(microsText(exported.reduce((n, r) => n + micros(r.total_price), 0n)), expected.total);
  await screenshotOf(card, 'whatif-models-card');
  assert.deepEqual(page.events.errors, []);
});

test('batch multiplies the mapped prices; the other models keep their billed cost', async () => {
  const { path, rows } = await twoSources();
  const { model: haiku, batch } = await catalogModel('Claude Haiku 4.5');
  const [first, second] = busiestModels(rows);
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, path);
  const card = page.locator('[data-testid="scenario"]').first();
  await mapModels(page, card, [
    [first, haiku.id],
    [second, 'custom', '0.0031', '0.0157'],
  ]);
  const prices = { [first]: [haiku.input_per_1k, haiku.output_per_1k], [second]: ['0.0031', '0.0157'] };
  const onDemand = mappedWhatif(rows, prices);
  assert.equal((await shownCard(card)).total, onDemand.total);

  await card.locator('[data-testid="batch"]').check();
  await waitIdle(page);
  const batched = mappedWhatif(rows, prices, batch);
  assert.deepEqual(await shownCard(card), batched);
  assert.notEqual(batched.total, onDemand.total);
  assert.match(page.url(), /[#&]m=1~/);

  await card.locator('[data-testid="batch"]').uncheck();
  await waitIdle(page);
  assert.deepEqual(await shownCard(card), onDemand);
  assert.deepEqual(page.events.errors, []);
});

test('a model mapped twice, or a mapped price that is not a plain decimal, is flagged and not priced', async () => {
  const { path, rows } = await twoSources();
  const [first, second] = busiestModels(rows);
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, path);
  const card = page.locator('[data-testid="scenario"]').first();
  await mapModels(page, card, [
    [first, 'custom', '0.0002', '0.0011'],
    [second, 'custom', '0.0004', '0.0022'],
  ]);
  const priced = mappedWhatif(rows, { [first]: ['0.0002', '0.0011'], [second]: ['0.0004', '0.0022'] });
  assert.equal((await shownCard(card)).total, priced.total);
  const shared = page.url();
  const rowsShown = card.locator('[data-testid="mapping-row"]');
  const stale = () => card.evaluate((c) => c.classList.contains('stale'));

  await rowsShown.nth(1).locator('[data-testid="map-from"]').selectOption({ value: first });
  await waitIdle(page);
  assert.match(await card.locator('[data-testid="scenario-error"]').textContent(), new RegExp(`“${first.replace(/\./g, '\\.')}” is mapped twice`));
  assert.equal(await stale(), true);
  assert.equal((await kpis(page)).whatif_total_cost, '');
  assert.equal(page.url(), shared);
  await rowsShown.nth(1).locator('[data-testid="map-from"]').selectOption({ value: second });
  await waitIdle(page);
  assert.equal((await kpis(page)).whatif_total_cost, priced.total);

  const input = rowsShown.nth(1).locator('[data-testid="map-input"]');
  await input.fill('4e-4');
  await waitIdle(page);
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  assert.equal(await rowsShown.nth(0).locator('[data-testid="map-input"]').getAttribute('aria-invalid'), 'false');
  assert.match(await card.locator('[data-testid="scenario-error"]').textContent(), /plain decimals/);
  assert.equal(await stale(), true);
  assert.equal((await kpis(page)).whatif_total_cost, '');
  assert.doesNotMatch(page.url(), /4e-4/);
  await input.fill('0.0004');
  await waitIdle(page);
  assert.equal(await card.locator('[data-testid="scenario-error"]').isHidden(), true);
  assert.deepEqual(await shownCard(card), priced);
  assert.deepEqual(page.events.errors, []);
});

test('the scenarios survive a reload through the URL: a one-price card and a model mapping, in their order', async () => {
  const { path, rows } = await twoSources();
  const [first, second] = busiestModels(rows);
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, path);
  const cards = page.locator('[data-testid="scenario"]');
  await cards.first().locator('[data-testid="price-input"]').fill('0.0008');
  await cards.first().locator('[data-testid="price-output"]').fill('0.004');
  await page.locator('[data-testid="add-scenario"]').click();
  await waitIdle(page);
  await mapModels(page, cards.nth(1), [
    [second, 'custom', '0.0002', '0.0011'],
    [first, 'custom', '0.0123', '0.0456'],
  ]);
  await cards.nth(1).locator('[data-testid="batch"]').check();
  await waitIdle(page);
  const shared = page.url();
  assert.match(shared, /#s=custom~0\.0008~0\.004~0&m=1~/);
  const mappings = [
    [second, 'custom', '0.0002', '0.0011'],
    [first, 'custom', '0.0123', '0.0456'],
  ];
  const onePrice = mappedWhatif(rows, everyModelAt(rows, '0.0008', '0.004'));
  const mapped = mappedWhatif(rows, { [second]: ['0.0002', '0.0011'], [first]: ['0.0123', '0.0456'] }, '0.5');

  for (const reopened of ['reloaded', 'a fresh page']) {
    const shown = reopened === 'reloaded' ? page : await suite.browser.newPage();
    if (reopened === 'reloaded') await page.reload();
    else await shown.goto(shared);
    await openFile(shown, path);
    const restored = shown.locator('[data-testid="scenario"]');
    assert.equal(await restored.count(), 2, reopened);
    assert.equal(await restored.first().locator('[data-testid="kind-all"]').isChecked(), true, reopened);
    assert.deepEqual(await shownCard(restored.first()), onePrice, reopened);
    assert.equal(await restored.nth(1).locator('[data-testid="kind-models"]').isChecked(), true, reopened);
    assert.equal(await restored.nth(1).locator('[data-testid="batch"]').isChecked(), true, reopened);
    assert.deepEqual(await shownMappings(restored.nth(1)), mappings, reopened);
    assert.deepEqual(await shownCard(restored.nth(1)), mapped, reopened);
    assert.equal(shown.url(), shared, reopened);
    assert.deepEqual(shown.events.errors, [], reopened);
  }
});

test('an old link keeps its one-price scenario; a mapped model the file does not have is ignored with a note, not an error', async () => {
  const { path, rows } = await twoSources();
  const [first] = busiestModels(rows);
  const absent = 'claude-v9-imaginary';
  assert.ok(!rows.some((r) => r.model === absent));
  const page = await suite.browser.newPage();
  await page.goto(`${suite.browser.base}#s=custom~0.0008~0.004~0&m=0~${absent}~custom~0.5~0.5~${encodeURIComponent(first)}~custom~0.0002~0.0011`);
  await openFile(page, path);
  const cards = page.locator('[data-testid="scenario"]');
  assert.equal(await cards.count(), 2);
  // The link from before mappings: one price for every conversation, re-pricing the billed tokens.
  assert.deepEqual(await shownCard(cards.first()), mappedWhatif(rows, everyModelAt(rows, '0.0008', '0.004')));
  assert.equal(await cards.first().locator('[data-testid="kind-all"]').isChecked(), true);

  const card = cards.nth(1);
  assert.deepEqual(await shownCard(card), mappedWhatif(rows, { [first]: ['0.0002', '0.0011'] }));
  assert.equal(await card.locator('[data-testid="scenario-error"]').isHidden(), true);
  assert.equal(await card.evaluate((c) => c.classList.contains('stale')), false);
  const note = card.locator('[data-testid="mapping-ignored"]');
  assert.equal(await note.isVisible(), true);
  assert.match(await note.textContent(), new RegExp(`not applied.*${absent.replace(/\./g, '\\.')}`));
  const ignored = card.locator('[data-testid="mapping-row"]').first();
  assert.equal(await ignored.evaluate((r) => r.classList.contains('ignored')), true);
  assert.equal(await ignored.locator('[data-testid="map-from"] option:checked').textContent(), `${absent} (not in this file)`);
  assert.equal(await card.locator('[data-testid="mapping-row"]').nth(1).evaluate((r) => r.classList.contains('ignored')), false);
  // Kept in the link, for a file that has the model.
  assert.match(page.url(), new RegExp(`m=0~${absent}~`));
  await screenshotOf(card, 'whatif-models-ignored');
  assert.deepEqual(page.events.errors, []);
});

test('a seed CSV offers no mapping and re-prices the Lambdas’ estimate; a mapping from a link says it needs a detail CSV', async () => {
  const { path } = await twoSources();
  const seed = await readFile(SEED, 'utf8');
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  // After a detail CSV, so that the option it offered has to go.
  await openFile(page, path);
  const card = page.locator('[data-testid="scenario"]').first();
  assert.equal(await card.locator('[data-testid="scenario-kind"]').isVisible(), true);
  await openFile(page, SEED);
  assert.equal(await card.locator('[data-testid="scenario-kind"]').isHidden(), true);
  assert.equal(await card.locator('[data-testid="kind-models"]').isDisabled(), true);
  assert.equal(await card.locator('[data-testid="mapping"]').isHidden(), true);
  const basis = card.locator('[data-testid="whatif-basis"]');
  assert.equal(await basis.getAttribute('data-basis'), 'estimated');
  assert.match(await basis.textContent(), /the Lambdas' estimate/);
  // The first scenario: the catalog's cheapest model.
  const cheapest = cheapestModel(await readJson(join(WEB, 'prices.json')));
  assert.equal((await shownCard(card)).total, whatifTotal(seed, cheapest.input_per_1k, cheapest.output_per_1k));

  // A model mapping shared from a detail CSV: not priced here, and it says why; the card can turn to one price.
  await page.evaluate(() => {
    location.hash = 'm=0~claude-v3.5-haiku~custom~0.001~0.005';
  });
  await page.waitForTimeout(300);
  await waitIdle(page);
  const shared = page.locator('[data-testid="scenario"]').first();
  assert.match(await shared.locator('[data-testid="scenario-error"]').textContent(), /detail CSV/);
  assert.equal(await shared.evaluate((c) => c.classList.contains('stale')), true);
  assert.equal((await kpis(page)).whatif_total_cost, '');
  assert.equal(await shared.locator('[data-testid="kind-models"]').isDisabled(), true);
  await shared.locator('[data-testid="kind-all"]').check();
  await waitIdle(page);
  assert.equal((await kpis(page)).whatif_total_cost, whatifTotal(seed, cheapest.input_per_1k, cheapest.output_per_1k));
  assert.equal(await shared.locator('[data-testid="scenario-kind"]').isHidden(), true);
  assert.match(page.url(), /#s=/);
  assert.deepEqual(page.events.errors, []);
});

// ---- hostile model names ---------------------------------------------------------

const IMG = `<img src=x onerror="window.__pwned='img'">`;
const SCRIPT = `<script>window.__pwned='model'</script>`;
const QUOTES = `" onmouseover="window.__pwned='quote'`;
/** The hash's own separators, and a percent sign. */
const SEPARATORS = 'a~b&c=d#e%41 f+g';
const RTL = '\u202Egnp.exe\u202C-model';
const LONG = `model-${'x'.repeat(5000)}`;

/** A detail CSV of hostile model names: [model, billed input, billed output, billed price] per row. */
function hostileDetailCsv() {
  const rows = [
    [IMG, '9000', '900', '0.040500'],
    [SCRIPT, '8000', '800', '0.036000'],
    [QUOTES, '7001', '703', '0.031500'],
    [SEPARATORS, '6003', '607', '0.027000'],
    [RTL, '5000', '500', '0.022500'],
    [LONG, '4000', '400', '0.018000'],
    [SCRIPT, '3001', '301', '0.013500'],
  ].map(([model, input, output, billed], i) =>
    csvLine([`2026-01-0${1 + i} 10:00:00`, '10', '10', '0.000030', '0.000150', '0.000180', `u${i}`, `u${i}#CONV#${i}`, 'new_table', `bot${i}`, model, model, '1', '', '', input, output, billed]),
  );
  return [DETAIL_HEADER, ...rows].join('\n') + '\n';
}

test('hostile model names stay text: in the pickers, the note and the URL; nothing runs; no sideways scroll at 390 px', async () => {
  const text = hostileDetailCsv();
  const file = join(suite.dir, 'hostile_models.csv');
  await writeFile(file, text);
  const rows = csvRows(text);
  const page = await openWatched(suite.browser, file, { width: 390, height: 844 });
  const card = page.locator('[data-testid="scenario"]').first();
  await mapModels(page, card, [
    [SCRIPT, 'custom', '0.0007', '0.0033'],
    [SEPARATORS, 'custom', '0.0101', '0.0505'],
    [LONG, 'custom', '0.0002', '0.0001'],
  ]);
  const prices = { [SCRIPT]: ['0.0007', '0.0033'], [SEPARATORS]: ['0.0101', '0.0505'], [LONG]: ['0.0002', '0.0001'] };
  const expected = mappedWhatif(rows, prices);
  assert.deepEqual(await shownCard(card), expected);
  // Each picker lists the file's models as text, by name.
  const names = [...new Set(rows.map((r) => r.model))].sort((a, b) => (a < b ? -1 : 1));
  const options = await card.locator('[data-testid="map-from"]').first().locator('option').evaluateAll((o) => o.map((x) => [x.value, x.textContent]));
  assert.deepEqual(options, names.map((n) => [n, n]));

  // Through the URL and back: every name whole, the hash's separators included.
  await page.reload();
  await openFile(page, file);
  assert.deepEqual((await shownMappings(card)).map(([from]) => from), [SCRIPT, SEPARATORS, LONG]);
  assert.deepEqual(await shownCard(card), expected);

  // A hostile name the file does not have, from a link: in the note, as text.
  const absent = `${IMG}-gone`;
  await page.evaluate((hash) => {
    location.hash = hash;
  }, `m=0~${encodeURIComponent(absent)}~custom~0.5~0.5~${encodeURIComponent(QUOTES)}~custom~0.0002~0.0011`);
  await page.waitForTimeout(500);
  await waitIdle(page);
  const linked = page.locator('[data-testid="scenario"]').first();
  assert.equal(await linked.locator('[data-testid="mapping-ignored"]').isVisible(), true);
  assert.equal(await linked.locator('[data-testid="mapping-ignored"] .key-text').textContent(), absent);
  assert.deepEqual(await shownCard(linked), mappedWhatif(rows, { [QUOTES]: ['0.0002', '0.0011'] }));
  await page.waitForTimeout(300);
  await screenshot(page, 'whatif-models-hostile-390');

  assert.equal(await page.evaluate(() => window.__pwned), 'untouched');
  assert.deepEqual(page.events.dialogs, []);
  assert.equal(await page.locator('main img, main svg, main script, main iframe').count(), 0);
  const width = await pageWidth(page);
  assert.ok(width.scrollWidth <= width.innerWidth, JSON.stringify(width));
  assert.ok((await linked.evaluate((c) => c.getBoundingClientRect().right)) <= 390);
  assert.deepEqual(page.events.errors, []);
});

test('at 390 px a model mapping of the real detail CSV does not scroll sideways', async () => {
  const { path, rows } = await twoSources();
  const { model: opus } = await catalogModel('Claude Opus 4.5');
  const [first, second] = busiestModels(rows);
  const page = await suite.browser.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(suite.browser.base);
  await openFile(page, path);
  const card = page.locator('[data-testid="scenario"]').first();
  await mapModels(page, card, [
    [first, opus.id],
    [second, 'custom', '0.00021', '0.00107'],
  ]);
  const shown = await pageWidth(page);
  assert.equal(shown.innerWidth, 390);
  assert.ok(shown.scrollWidth <= shown.innerWidth, JSON.stringify(shown));
  for (const id of ['mapping', 'whatif-by-source']) {
    assert.ok((await card.locator(`[data-testid="${id}"]`).evaluate((n) => n.getBoundingClientRect().right)) <= 390, id);
  }
  await screenshotOf(card, 'whatif-models-390');
  assert.deepEqual(page.events.errors, []);
});
