// A detail CSV (tally --detail) in the explorer: cost by user, bot and model,
// and the recorded price against the billed estimate, checked against
// figures computed here from the CSV's rows (BigInt micro-dollars, never
// floats), under each filter; the search box, the sorting, a seed CSV (no
// bot, model or accuracy sections), hostile bot ids and model names, and the
// layout from a phone to a wide screen.
//
// The detail CSV is written by the real binary (target/debug/tally, built by
// the test command's cargo stage) from bedrock-chat's own table.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openWatched, DETAIL_HEADER as HEADER, FIXTURES, csvLine, csvRows, fixed2, grouped, kpis, micros, microsText, openFile, pageWidth, screenshot, screenshotOf, shownMoney, useBrowser, waitIdle, writeDetailCsv } from './helpers.mjs';

const SEED = join(FIXTURES, 'expected_consolidated.csv');
/** What the page shows: the 20 most expensive groups, the 10 conversations that differ most. */
const TOP_GROUPS = 20;
const TOP_DIFFERENT = 10;

const suite = useBrowser('detail');
let made = null;

/** Writes the detail CSV once (into the suite's folder): resolves to { path, rows }. */
function detail() {
  made ??= (async () => {
    const path = await writeDetailCsv(suite.dir);
    return { path, rows: csvRows(await readFile(path, 'utf8')) };
  })();
  return made;
}

// ---- the figures, computed here from the rows ------------------------------

/**
 * Whether a row passes a filter { from, to, user, bot, model } (each
 * optional; days inclusive, of create_date: an undated row is outside any range).
 */
const passes = (filter) => (r) => {
  const day = r.create_date.slice(0, 10);
  if ((filter.from || filter.to) && !day) return false;
  if (filter.from && day < filter.from) return false;
  if (filter.to && day > filter.to) return false;
  return (filter.user ?? r.pk) === r.pk && (filter.bot ?? r.bot_id) === r.bot_id && (filter.model ?? r.model) === r.model;
};

const COLUMN = { user: 'pk', bot: 'bot_id', model: 'model' };

/**
 * Cost by user, bot or model of the rows a filter passes, as the page must
 * show it: the groups whose key contains `search` (any case), the most
 * expensive first, equal costs in the order their keys first appear in the
 * file, at most TOP_GROUPS. A detail CSV is priced by billed_price (its
 * billed tokens), a seed CSV by total_price.
 */
function breakdownOf(rows, by, filter = {}, search = '') {
  const billed = 'billed_price' in rows[0];
  const firstSeen = new Map();
  for (const r of rows) if (!firstSeen.has(r[COLUMN[by]])) firstSeen.set(r[COLUMN[by]], firstSeen.size);
  const groups = new Map();
  let total = 0n;
  for (const r of rows.filter(passes(filter))) {
    const key = r[COLUMN[by]];
    const g = groups.get(key) ?? { key, conversations: 0, input: 0n, output: 0n, cost: 0n, seed: 0n, recorded: 0n };
    const cost = micros(billed ? r.billed_price : r.total_price);
    g.conversations += 1;
    g.input += BigInt(billed ? r.billed_input_token : r.input_token);
    g.output += BigInt(billed ? r.billed_output_token : r.output_token);
    g.cost += cost;
    g.seed += micros(r.total_price);
    if (billed && r.recorded_price !== '') g.recorded += micros(r.recorded_price);
    groups.set(key, g);
    total += cost;
  }
  const matched = [...groups.values()].filter((g) => g.key.toLowerCase().includes(search.toLowerCase()));
  matched.sort((a, b) => (b.cost > a.cost) - (b.cost < a.cost) || firstSeen.get(a.key) - firstSeen.get(b.key));
  const shown = matched.slice(0, TOP_GROUPS).map((g) => ({
    key: g.key,
    conversations: String(g.conversations),
    input_tokens: String(g.input),
    output_tokens: String(g.output),
    cost: microsText(g.cost),
    share_pct: total === 0n ? '' : fixed2(g.cost * 100n, total),
    ...(billed ? { recorded: microsText(g.recorded), seed_cost: microsText(g.seed) } : {}),
  }));
  return { groups: shown, totalGroups: String(groups.size), matchedGroups: String(matched.length), totalCost: microsText(total) };
}

/** The bin (0 to 20) of a conversation's error billed / recorded − 1: [−100 + 10k, −90 + 10k) %, the last from +100 %. */
function binOf(billed, recorded) {
  const tenths = (billed - recorded) * 10n;
  let k = tenths / recorded; // toward zero: one lower for a negative remainder
  if (tenths < 0n && k * recorded !== tenths) k -= 1n;
  return Math.min(20, Math.max(0, Number(k) + 10));
}

/** Recorded vs estimated of the rows a filter passes, as the page must show it. */
function accuracyOf(rows, filter = {}) {
  let recorded = 0n;
  let billed = 0n;
  let seed = 0n;
  let without = 0;
  const bins = Array(21).fill(0);
  const differences = [];
  rows.forEach((r, line) => {
    if (!passes(filter)(r)) return;
    if (r.recorded_price === '') {
      without += 1;
      return;
    }
    const [rec, bil] = [micros(r.recorded_price), micros(r.billed_price)];
    recorded += rec;
    billed += bil;
    seed += micros(r.total_price);
    if (rec > 0n) bins[binOf(bil, rec)] += 1;
    differences.push({ line, size: bil > rec ? bil - rec : rec - bil, row: { pk: r.pk, sk: r.sk, recorded: microsText(rec), billed: microsText(bil), difference: microsText(bil - rec) } });
  });
  differences.sort((a, b) => (b.size > a.size) - (b.size < a.size) || a.line - b.line);
  return {
    kpis: {
      recorded_total: microsText(recorded),
      billed_total: microsText(billed),
      billed_difference: microsText(billed - recorded),
      billed_difference_pct: recorded === 0n ? '' : fixed2((billed - recorded) * 100n, recorded),
      seed_total: microsText(seed),
    },
    conversations: String(differences.length),
    withoutRecorded: String(without),
    histogram: bins.map((n, k) => ({ from: String(-100 + 10 * k), to: k < 20 ? String(-90 + 10 * k) : '', conversations: String(n) })),
    mostDifferent: differences.slice(0, TOP_DIFFERENT).map((d) => d.row),
  };
}

// ---- what the page shows ---------------------------------------------------

/** A table's rows: each cell's data-value by its data-col. */
function shownRows(page, testid) {
  return page.$$eval(`[data-testid="${testid}"]`, (trs) =>
    trs.map((tr) => Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.col, td.dataset.value]))),
  );
}

/** What a breakdown's section shows: its rows, and the counts and total of its note. */
async function shownBreakdown(page, by) {
  const note = await page.locator(`[data-testid="${by}-note"]`).evaluate((n) => ({ ...n.dataset }));
  return { groups: await shownRows(page, `${by}-row`), totalGroups: note.totalGroups, matchedGroups: note.matchedGroups, totalCost: note.totalCost };
}

/** What the recorded-vs-estimated section shows. */
async function shownAccuracy(page) {
  const all = await kpis(page);
  const note = await page.locator('[data-testid="accuracy-note"]').evaluate((n) => ({ ...n.dataset }));
  const histogram = await page.$$eval('[data-testid="histogram-row"]', (trs) =>
    trs.map((tr) => ({ from: tr.dataset.from, to: tr.dataset.to, conversations: tr.querySelector('[data-col="conversations"]').dataset.value })),
  );
  return {
    kpis: Object.fromEntries(['recorded_total', 'billed_total', 'billed_difference', 'billed_difference_pct', 'seed_total'].map((k) => [k, all[k]])),
    conversations: note.conversations,
    withoutRecorded: note.withoutRecorded,
    histogram,
    mostDifferent: await shownRows(page, 'different-row'),
  };
}

/** Every money cell and tile of the new sections: its exact value, what it reads and its title. */
function shownMoneyCells(page) {
  return page.$$eval(
    ['user', 'bot', 'model'].flatMap((by) => ['cost', 'recorded', 'seed_cost'].map((col) => `[data-testid="${by}-row"] [data-col="${col}"]`))
      .concat(['recorded', 'billed', 'difference'].map((col) => `[data-testid="different-row"] [data-col="${col}"]`))
      .concat(['recorded_total', 'billed_total', 'billed_difference', 'seed_total'].map((k) => `[data-kpi="${k}"]`))
      .join(', '),
    (nodes) =>
      nodes.map((n) => ({
        value: n.dataset.value,
        signed: n.dataset.col === 'difference' || n.dataset.kpi === 'billed_difference',
        text: (n.querySelector('.kpi-value') ?? n).textContent,
        title: n.querySelector('[title]')?.title,
      })),
  );
}

/** Every figure of the new sections and the headline's conversations, against the rows' under `filter`. */
async function assertFigures(page, rows, filter, label) {
  for (const by of ['user', 'bot', 'model']) assert.deepEqual(await shownBreakdown(page, by), breakdownOf(rows, by, filter), `${label}: by ${by}`);
  assert.deepEqual(await shownAccuracy(page), accuracyOf(rows, filter), `${label}: recorded vs estimated`);
  // The views that were there before follow the same filter.
  assert.equal((await kpis(page)).records, String(rows.filter(passes(filter)).length), `${label}: headline`);
}

const userBox = (page) => page.locator('[data-testid="filter-user"]');

/** Types a user into the filter (the box takes it on Enter). */
async function filterUser(page, pk) {
  await userBox(page).fill(pk);
  await userBox(page).press('Enter');
  await waitIdle(page);
}

async function choose(page, key, value) {
  await page.locator(`[data-testid="filter-${key}"]`).selectOption(value === null ? { index: 0 } : { value });
  await waitIdle(page);
}

async function openDetail(page) {
  await page.goto(suite.browser.base);
  await openFile(page, (await detail()).path);
}

// ---- the tests ---------------------------------------------------------------

test('a detail CSV: cost by user, bot and model, and recorded vs estimated, match the rows', async () => {
  const { rows } = await detail();
  const page = await suite.browser.newPage();
  await openDetail(page);
  await assertFigures(page, rows, {}, 'no filter');
  for (const by of ['user', 'bot', 'model']) {
    assert.equal(await page.locator(`[data-testid="cost-by-${by}"]`).getAttribute('data-money'), 'billed');
    assert.equal(await page.locator(`[data-testid="cost-by-${by}"]`).isVisible(), true);
  }
  // The fixture has more users and bots than a table shows, and conversations without a bot.
  const users = breakdownOf(rows, 'user');
  assert.ok(Number(users.totalGroups) > TOP_GROUPS && users.groups.length === TOP_GROUPS, users.totalGroups);
  assert.ok(breakdownOf(rows, 'bot').groups.some((g) => g.key === ''));
  assert.equal(await page.locator('[data-testid="bot-row"] [data-col="key"]').first().textContent(), '(no bot)');
  // The histogram counts every conversation recorded above $0, in some bin on each side of 0.
  const { histogram, conversations } = accuracyOf(rows);
  const counted = histogram.map((b) => Number(b.conversations));
  assert.equal(counted.reduce((a, b) => a + b, 0), Number(conversations));
  assert.ok(counted.slice(0, 10).some(Boolean) && counted.slice(10).some(Boolean), counted.join(' '));
  assert.deepEqual(page.events.errors, []);
});

test('money reads at 2 decimals (3 significant digits below a cent), exact in title and data-value, with thousands separators', async () => {
  const page = await suite.browser.newPage();
  await openDetail(page);
  const cells = await shownMoneyCells(page);
  assert.ok(cells.length > 100, String(cells.length));
  for (const { value, signed, text, title } of cells) {
    assert.match(value, /^-?\d+\.\d{6}$/);
    assert.equal(text, shownMoney(value, { signed }), value);
    assert.equal(title, shownMoney(value, { signed, exact: true }), value);
  }
  // Both precisions occur: at least a cent, and below one.
  assert.ok(cells.some((c) => /\.\d\d$/.test(c.text)) && cells.some((c) => /\.\d{3,}$/.test(c.text)));
  assert.deepEqual(page.events.errors, []);
});

test('money where the fixture has no example: thousands, halves to even, up to a cent, below a cent, nothing', async () => {
  // One bot per amount (its billed price), and what each must read, written out by hand.
  const amounts = {
    thousands: ['1234567.505000', '$1,234,567.50'],
    half: ['12.345000', '$12.34'],
    'to-a-cent': ['0.009996', '$0.01'],
    'below-a-cent': ['0.004000', '$0.00400'],
    'a-micro': ['0.000001', '$0.000001'],
    nothing: ['0.000000', '$0.00'],
  };
  const lines = Object.entries(amounts).map(([bot, [price]], i) =>
    [`2026-01-0${i + 1} 10:00:00`, '10', '10', '0.000030', '0.000150', '0.000180', `u${i}`, `u${i}#CONV#${i}`, 'new_table', bot, 'm', 'm', '1', '', price, '100', '10', price].join(','),
  );
  const file = join(suite.dir, 'amounts_detail.csv');
  await writeFile(file, [HEADER, ...lines].join('\n') + '\n');
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, file);
  const shown = await page.$$eval('[data-testid="bot-row"]', (trs) =>
    trs.map((tr) => [tr.querySelector('[data-col="key"]').textContent, tr.querySelector('[data-col="cost"]').textContent, tr.querySelector('[data-col="cost"] [title]').title]),
  );
  const expected = Object.entries(amounts).map(([bot, [price, text]]) => [bot, text, `$${grouped(price.split('.')[0])}.${price.split('.')[1]}`]);
  const byBot = (list) => [...list].sort(([a], [b]) => (a < b ? -1 : 1));
  assert.deepEqual(byBot(shown), byBot(expected));
  // The test's own rule agrees with the hand-written figures.
  for (const [price, text] of Object.values(amounts)) assert.equal(shownMoney(price), text);
  assert.deepEqual(page.events.errors, []);
});

test('filters: a user, a bot, no bot, a model and a date range narrow every view, and live in the URL', async () => {
  const { rows } = await detail();
  const page = await suite.browser.newPage();
  await openDetail(page);
  // Values from the data that keep some rows and drop others.
  const user = breakdownOf(rows, 'user').groups[1].key;
  const bot = breakdownOf(rows, 'bot').groups.find((g) => g.key !== '').key;
  const model = breakdownOf(rows, 'model').groups[2].key;
  const days = rows.map((r) => r.create_date.slice(0, 10)).filter(Boolean).sort();
  const [from, to] = [days[Math.floor(days.length / 4)], days[Math.floor((3 * days.length) / 4)]];
  const steps = [
    ['a user', { user }, () => filterUser(page, user)],
    ['a bot', { bot }, async () => (await filterUser(page, ''), choose(page, 'bot', bot))],
    ['no bot', { bot: '' }, () => choose(page, 'bot', '')],
    ['a model, no bot', { bot: '', model }, () => choose(page, 'model', model)],
    [
      'a date range, a model, no bot',
      { bot: '', model, from, to },
      async () => {
        await page.locator('[data-testid="filter-from"]').fill(from);
        await page.locator('[data-testid="filter-to"]').fill(to);
        await waitIdle(page);
      },
    ],
  ];
  for (const [label, filter, apply] of steps) {
    await apply();
    const kept = rows.filter(passes(filter)).length;
    assert.ok(kept > 0 && kept < rows.length, `${label}: ${kept} rows`);
    await assertFigures(page, rows, filter, label);
  }
  await screenshot(page, 'detail-filtered');

  // The filter is in the URL: a fresh page with it shows the same figures once the file is open.
  const shared = page.url();
  assert.match(shared, /[#&]bot=(&|$)/);
  assert.match(shared, new RegExp(`[#&]model=${encodeURIComponent(model)}(&|$)`));
  const fresh = await suite.browser.newPage();
  await fresh.goto(shared);
  await openFile(fresh, (await detail()).path);
  assert.equal(await fresh.locator('[data-testid="filter-model"]').inputValue(), model);
  assert.equal(await fresh.locator('[data-testid="filter-bot"] option:checked').textContent(), '(no bot)');
  await assertFigures(fresh, rows, { bot: '', model, from, to }, 'restored from the URL');
  await fresh.locator('[data-testid="filter-reset"]').click();
  await waitIdle(fresh);
  await assertFigures(fresh, rows, {}, 'reset');
  assert.doesNotMatch(fresh.url(), /[#&](user|bot|model)=/);

  // A user in the URL too; a key clicked in a table filters the page to it.
  await fresh.locator('[data-testid="bot-row"] [data-testid="pick"]').nth(1).click();
  await waitIdle(fresh);
  const picked = breakdownOf(rows, 'bot').groups[1].key;
  assert.equal(await fresh.locator('[data-testid="filter-bot"]').inputValue(), picked);
  await assertFigures(fresh, rows, { bot: picked }, 'a bot picked in its table');
  await filterUser(fresh, user);
  assert.match(fresh.url(), new RegExp(`[#&]user=${encodeURIComponent(user)}(&|$)`));
  assert.deepEqual([...page.events.errors, ...fresh.events.errors], []);
});

test('the user search box: part of a pk, any case; nothing found', async () => {
  const { rows } = await detail();
  const page = await suite.browser.newPage();
  await openDetail(page);
  const search = page.locator('[data-testid="user-search"]');
  // Part of one user's pk, in capitals: the engine's search ignores case.
  const part = breakdownOf(rows, 'user').groups[4].key.slice(2, 8).toUpperCase();
  await search.fill(part);
  await waitIdle(page);
  const found = breakdownOf(rows, 'user', {}, part);
  assert.ok(Number(found.matchedGroups) >= 1 && Number(found.matchedGroups) < Number(found.totalGroups), found.matchedGroups);
  assert.deepEqual(await shownBreakdown(page, 'user'), found);
  assert.match(await page.locator('[data-testid="user-note"]').textContent(), /match “/);
  // The other sections do not search.
  assert.deepEqual(await shownBreakdown(page, 'bot'), breakdownOf(rows, 'bot'));

  await search.fill('no-such-user-zzz');
  await waitIdle(page);
  assert.equal(await page.locator('[data-testid="user-row"]').count(), 0);
  assert.equal(await page.locator('[data-testid="user-note"]').getAttribute('data-matched-groups'), '0');
  await search.fill('');
  await waitIdle(page);
  assert.deepEqual(await shownBreakdown(page, 'user'), breakdownOf(rows, 'user'));
  assert.deepEqual(page.events.errors, []);
});

test('sorting: a heading sorts the rows shown, again the other way; equal values keep the cost order', async () => {
  const { rows } = await detail();
  const page = await suite.browser.newPage();
  await openDetail(page);
  const top = breakdownOf(rows, 'user').groups;
  const byNumber = (key, sign) => [...top].sort((a, b) => sign * Number(BigInt(a[key]) - BigInt(b[key])));
  const byMoney = (key, sign) => [...top].sort((a, b) => sign * Number(micros(a[key]) - micros(b[key])));
  const sortBy = (key) => page.locator(`[data-testid="cost-by-user"] [data-testid="sort-${key}"]`);
  const ariaSort = (key) => sortBy(key).evaluate((b) => b.closest('th').getAttribute('aria-sort'));
  assert.equal(await ariaSort('cost'), 'descending');
  const cases = [
    ['conversations', byNumber('conversations', -1), 'descending'],
    ['conversations', byNumber('conversations', 1), 'ascending'],
    ['recorded', byMoney('recorded', -1), 'descending'],
    ['key', [...top].sort((a, b) => (a.key < b.key ? -1 : 1)), 'ascending'],
    // Back to the engine's order: the most expensive first, equal costs as it ranked them.
    ['cost', top, 'descending'],
  ];
  // The orders asked for are not the cost order (else the checks would prove nothing).
  for (const [key, expected] of cases.slice(0, 4)) assert.notDeepEqual(expected.map((g) => g.key), top.map((g) => g.key), key);
  for (const [key, expected, direction] of cases) {
    await sortBy(key).click();
    assert.deepEqual(await shownRows(page, 'user-row'), expected, `by ${key} ${direction}`);
    assert.equal(await ariaSort(key), direction);
  }
  // A new query keeps the table's sort.
  await sortBy('conversations').click();
  await page.locator('[data-testid="filter-from"]').fill(rows.map((r) => r.create_date.slice(0, 10)).sort()[10]);
  await waitIdle(page);
  const shown = (await shownRows(page, 'user-row')).map((g) => Number(g.conversations));
  assert.deepEqual(shown, [...shown].sort((a, b) => b - a));
  await screenshotOf(page.locator('[data-testid="cost-by-user"]'), 'detail-cost-by-user-sorted');
  assert.deepEqual(page.events.errors, []);
});

test('a seed CSV shows cost by user as estimated, and no bot, model or accuracy sections', async () => {
  const rows = csvRows(await readFile(SEED, 'utf8'));
  const page = await suite.browser.newPage();
  // After a detail CSV, so that what it showed has to go.
  await openDetail(page);
  assert.ok((await page.locator('[data-testid="bot-row"]').count()) > 0);
  await openFile(page, SEED);
  const user = page.locator('[data-testid="cost-by-user"]');
  assert.equal(await user.isVisible(), true);
  assert.equal(await user.getAttribute('data-money'), 'estimated');
  assert.match(await page.locator('[data-testid="user-note"]').textContent(), /Lambdas' rules/);
  assert.deepEqual(await shownBreakdown(page, 'user'), breakdownOf(rows, 'user'));
  for (const id of ['cost-by-bot', 'cost-by-model', 'accuracy', 'filter-bot-box', 'filter-model-box']) {
    assert.equal(await page.locator(`[data-testid="${id}"]`).isHidden(), true, id);
  }
  for (const id of ['bot-row', 'model-row', 'histogram-row', 'different-row']) assert.equal(await page.locator(`[data-testid="${id}"]`).count(), 0, id);
  const tiles = Object.keys(await kpis(page));
  assert.deepEqual(tiles.filter((k) => /recorded|billed|seed/.test(k)), []);
  // The user filter works for every CSV.
  const pk = breakdownOf(rows, 'user').groups[0].key;
  await filterUser(page, pk);
  assert.equal((await kpis(page)).records, String(rows.filter((r) => r.pk === pk).length));
  assert.deepEqual(await shownBreakdown(page, 'user'), breakdownOf(rows, 'user', { user: pk }));
  assert.deepEqual(page.events.errors, []);
});

// ---- hostile keys --------------------------------------------------------------

const IMG = `<img src=x onerror="window.__pwned='img'">`;
const SVG = `"><svg onload="window.__pwned='svg'">`;
const FORMULA = `=cmd|' /C calc'!A0`;
const RTL = '\u202Egnp.exe\u202C-bot';
const LONG = `bot-${'x'.repeat(5000)}`;
const SCRIPT = `<script>window.__pwned='model'</script>`;
const QUOTES = `" onmouseover="window.__pwned='quote'`;
const HYPERLINK = '=HYPERLINK("http://example.invalid/x","click me")';


/** Hostile bot ids, model names, pks and sks; a row without a recorded price and one recorded at $0. */
function hostileDetailCsv() {
  const rows = [
    ['2026-01-05 10:00:00', '90', '90', '0.000270', '0.001350', '0.001620', IMG, `${IMG}#CONV#1`, 'new_table', IMG, SCRIPT, SCRIPT, '2', '', '0.050000', '9000', '900', '0.040500'],
    ['2026-01-05 11:00:00', '80', '80', '0.000240', '0.001200', '0.001440', FORMULA, `${FORMULA}#CONV#2`, 'new_table', FORMULA, QUOTES, QUOTES, '1', '', '0.030000', '8000', '800', '0.036000'],
    ['2026-01-06 12:00:00', '70', '70', '0.000210', '0.001050', '0.001260', RTL, `${RTL}#CONV#3`, 'new_table', RTL, HYPERLINK, HYPERLINK, '1', '', '', '7000', '700', '0.031500'],
    ['2026-01-06 13:00:00', '60', '60', '0.000180', '0.000900', '0.001080', LONG, `${LONG}#CONV#4`, 'new_table', LONG, SCRIPT, SCRIPT, '3', '', '0.000000', '6000', '600', '0.027000'],
    ['2026-01-07 14:00:00', '50', '50', '0.000150', '0.000750', '0.000900', SVG, `${SVG}#CONV#5`, 'new_table', SVG, QUOTES, QUOTES, '1', '', '0.010000', '5000', '500', '0.022500'],
    ['2026-01-07 15:00:00', '40', '40', '0.000120', '0.000600', '0.000720', 'plain', 'plain#CONV#6', 'new_table', '', 'claude-v3.5-haiku', 'claude-v3.5-haiku', '1', '', '0.001000', '400', '40', '0.000480'],
  ];
  return [HEADER, ...rows.map(csvLine)].join('\n') + '\n';
}

test('hostile bot ids, model names and keys are shown as text, nothing runs, and long ones are cut short', async () => {
  const text = hostileDetailCsv();
  const file = join(suite.dir, 'hostile_detail.csv');
  await writeFile(file, text);
  const rows = csvRows(text);
  const page = await openWatched(suite.browser, file, { width: 390, height: 844 });
  // Give any injected handler (an image error, an svg load) time to fire.
  await page.waitForTimeout(500);
  await screenshot(page, 'detail-hostile');

  assert.deepEqual(page.events.dialogs, []);
  assert.equal(await page.evaluate(() => window.__pwned), 'untouched');
  assert.equal(await page.locator('main img, main svg, main script, main iframe').count(), 0);
  // Every key as text, whole in the text and the title; the figures as computed here.
  for (const by of ['user', 'bot', 'model']) {
    const expected = breakdownOf(rows, by);
    assert.deepEqual(await shownBreakdown(page, by), expected, by);
    const keys = await page.$$eval(`[data-testid="${by}-row"] [data-col="key"]`, (tds) => tds.map((td) => ({ text: td.textContent, title: td.querySelector('[title]')?.title ?? '' })));
    assert.deepEqual(keys, expected.groups.map((g) => ({ text: g.key || { user: '(no pk)', bot: '(no bot)', model: '(no model)' }[by], title: g.key })));
  }
  assert.deepEqual(await shownAccuracy(page), accuracyOf(rows));
  assert.equal(accuracyOf(rows).withoutRecorded, '1');
  const bots = await page.$$eval('[data-testid="filter-bot"] option', (options) => options.slice(1).map((o) => o.value));
  assert.deepEqual(bots.sort(), rows.map((r) => r.bot_id).sort());

  // The very long id stays within the page, and the right-to-left override within its cell.
  assert.ok(LONG.length > 5000);
  const long = page.locator('[data-testid="bot-row"] [data-col="key"] .key-text').filter({ hasText: 'bot-xxx' });
  assert.ok((await long.evaluate((n) => n.getBoundingClientRect().width)) < 390);
  const width = await pageWidth(page);
  assert.ok(width.scrollWidth <= width.innerWidth, JSON.stringify(width));
  const rtl = page.locator('[data-testid="bot-row"] [data-col="key"] .key-text').filter({ hasText: 'gnp.exe' });
  assert.equal(await rtl.evaluate((n) => getComputedStyle(n).unicodeBidi), 'isolate');

  // Filtering on a hostile bot works and still runs nothing.
  await choose(page, 'bot', IMG);
  assert.deepEqual(await shownBreakdown(page, 'model'), breakdownOf(rows, 'model', { bot: IMG }));
  assert.match(page.url(), /[#&]bot=/);
  assert.equal(await page.evaluate(() => window.__pwned), 'untouched');
  assert.deepEqual(page.events.dialogs, []);
  assert.deepEqual(page.events.errors, []);
});

// ---- layout --------------------------------------------------------------------

for (const [width, height] of [
  [1440, 900],
  [390, 844],
]) {
  test(`at ${width}×${height} the page does not scroll sideways; a screenshot of each section`, async () => {
    const page = await suite.browser.newPage();
    await page.setViewportSize({ width, height });
    await openDetail(page);
    const shown = await pageWidth(page);
    assert.equal(shown.innerWidth, width);
    assert.ok(shown.scrollWidth <= shown.innerWidth, JSON.stringify(shown));
    for (const id of ['cost-by-user', 'cost-by-bot', 'cost-by-model', 'accuracy']) {
      const section = page.locator(`[data-testid="${id}"]`);
      assert.equal(await section.isVisible(), true, id);
      // No section is wider than the window.
      assert.ok((await section.evaluate((n) => n.getBoundingClientRect().right)) <= width, id);
      await screenshotOf(section, `detail-${id}-${width}`);
    }
    // A key never wraps: each row of the conversations that differ most (pk and sk) is one line high.
    const heights = await page.$$eval('[data-testid="different-row"]', (trs) => trs.map((tr) => tr.getBoundingClientRect().height));
    assert.ok(heights.length > 0 && Math.max(...heights) < 60, heights.join(' '));
    await screenshot(page, `detail-${width}`);
    assert.deepEqual(page.events.errors, []);
  });
}
