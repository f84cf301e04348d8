// The trends: days, ISO weeks and calendar months summed exactly (each
// period's figures against the fixture's rows, summed here in BigInt), the
// grouping chosen by the range's length or by hand (and kept in the link),
// the date presets (relative to the file's last day with data), ISO date
// boxes, the headline's change against the previous period of equal length,
// and the charts' colours (Okabe–Ito) and hourly axis.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES, csvRows, divHalfEven, kpis, micros, microsText, openFile, screenshot, useBrowser, waitIdle } from './helpers.mjs';

const CONSOLIDATED = join(FIXTURES, 'expected_consolidated.csv');
/** The fixture's first and last day with data (its rows say so; checked below). */
const FIRST = '2024-01-01';
const LAST = '2026-11-20';
/** Okabe and Ito's eight colours. */
const OKABE_ITO = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];

const suite = useBrowser();

/** The fixture's rows with a day: { day, source, micros }. */
async function datedRows() {
  const rows = csvRows(await readFile(CONSOLIDATED, 'utf8'));
  return rows.filter((r) => r.create_date).map((r) => ({ day: r.create_date.slice(0, 10), source: r.source, micros: micros(r.total_price) }));
}

// Days, weeks and months, computed here with Date (the page has its own).
const ms = (day) => Date.parse(`${day}T00:00:00Z`);
const iso = (t) => new Date(t).toISOString().slice(0, 10);
const plusDays = (day, n) => iso(ms(day) + n * 86_400_000);
const monday = (day) => plusDays(day, -((new Date(ms(day)).getUTCDay() + 6) % 7));

/** What the page's period table shows: [{ start, end, key, records, total, bySource: { source: value } }]. */
function shownPeriods(page) {
  return page.evaluate(() => {
    const box = document.querySelector('[data-testid="daily-table"]');
    const heads = [...box.querySelectorAll('th')].map((th) => th.textContent);
    return [...box.querySelectorAll('[data-testid="period-row"]')].map((tr) => {
      const cells = [...tr.querySelectorAll('td')];
      const bySource = {};
      cells.forEach((td, i) => {
        if (/^source\d+$/.test(td.dataset.col)) bySource[heads[i]] = td.dataset.value;
      });
      const col = (c) => tr.querySelector(`[data-col="${c}"]`).dataset.value;
      return { start: tr.dataset.start, end: tr.dataset.end, key: tr.dataset.key, records: col('records'), total: col('total_cost'), bySource };
    });
  });
}

/** The sums of the rows whose day is within start..end: { records, total, bySource }. */
function sumsOf(rows, start, end, sources) {
  const inside = rows.filter((r) => r.day >= start && r.day <= end);
  const bySource = Object.fromEntries(sources.map((s) => [s, microsText(inside.filter((r) => r.source === s).reduce((n, r) => n + r.micros, 0n))]));
  return { records: String(inside.length), total: microsText(inside.reduce((n, r) => n + r.micros, 0n)), bySource };
}

async function group(page, unit) {
  await page.locator(`[data-testid="group-${unit}"]`).check();
  await waitIdle(page);
}

/** The daily chart's labels and datasets ({ label, exact }). */
function dailyChart(page) {
  return page.evaluate(() => {
    const chart = globalThis.Chart.getChart(document.querySelector('[data-testid="daily-chart"]'));
    return { labels: chart.data.labels, datasets: chart.data.datasets.map((d) => ({ label: d.label, exact: d.exact })) };
  });
}

test('days, weeks and months: each period sums exactly its days, the grouping follows the range and is kept in the link', async () => {
  const rows = await datedRows();
  const days = [...new Set(rows.map((r) => r.day))].sort();
  assert.deepEqual([days[0], days.at(-1)], [FIRST, LAST]);
  const sources = [...new Set(rows.map((r) => r.source))].sort();
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
  const trends = page.locator('[data-testid="trends"]');

  // Three years of data: months by default (not a thousand hairline bars).
  assert.equal(await trends.getAttribute('data-grouping'), 'auto');
  assert.equal(await trends.getAttribute('data-unit'), 'month');
  assert.equal(await page.locator('[data-testid="group-auto"]').isChecked(), true);

  // Days: one row per day, those without data too (at 0: a trend has no gaps), its sums those of the fixture's rows.
  await group(page, 'day');
  const byDay = await shownPeriods(page);
  const every = [];
  for (let d = FIRST; d <= LAST; d = plusDays(d, 1)) every.push(d);
  assert.deepEqual(byDay.map((p) => p.start), every);
  assert.deepEqual(byDay.filter((p) => p.records !== '0').map((p) => p.start), days);
  for (const p of byDay) assert.deepEqual({ records: p.records, total: p.total, bySource: p.bySource }, sumsOf(rows, p.start, p.end, sources), p.start);
  const dayTotal = (start, end) => microsText(byDay.filter((p) => p.start >= start && p.start <= end).reduce((n, p) => n + micros(p.total), 0n));

  for (const unit of ['week', 'month']) {
    await group(page, unit);
    assert.equal(await trends.getAttribute('data-unit'), unit);
    assert.match(page.url(), new RegExp(`[#&]group=${unit}(&|$)`));
    const periods = await shownPeriods(page);
    for (const p of periods) {
      // The period: an ISO week from its Monday (UTC), or a calendar month; the range cuts only the first and last.
      const first = unit === 'week' ? monday(p.start) : `${p.start.slice(0, 7)}-01`;
      const lastOfPeriod = unit === 'week' ? plusDays(first, 6) : plusDays(iso(Date.UTC(Number(p.start.slice(0, 4)), Number(p.start.slice(5, 7)), 1)), -1);
      assert.equal(p.key, first, `${unit} ${p.start}`);
      assert.equal(p.start, first < FIRST ? FIRST : first, `${unit} ${p.start}`);
      assert.equal(p.end, lastOfPeriod > LAST ? LAST : lastOfPeriod, `${unit} ${p.start}`);
      // Its sums: those of its days (the table's, and the fixture's rows').
      assert.equal(p.total, dayTotal(p.start, p.end), `${unit} ${p.start}`);
      assert.deepEqual({ records: p.records, total: p.total, bySource: p.bySource }, sumsOf(rows, p.start, p.end, sources), `${unit} ${p.start}`);
    }
    // Every day is in exactly one period.
    assert.equal(microsText(periods.reduce((n, p) => n + micros(p.total), 0n)), microsText(rows.reduce((n, r) => n + r.micros, 0n)));
    assert.ok(periods.every((p, i) => i === 0 || p.start === plusDays(periods[i - 1].end, 1)), 'the periods follow each other, none missing');
    // The chart draws the same periods, the same exact amounts.
    const chart = await dailyChart(page);
    assert.equal(chart.labels.length, periods.length);
    for (const set of chart.datasets) assert.deepEqual(set.exact, periods.map((p) => p.bySource[set.label]), set.label);
    if (unit === 'month') assert.ok(periods.length < 40, `${periods.length} months`);
    await screenshot(page, `trends-${unit}`);
  }

  // The grouping chosen is in the link: a reload keeps it.
  await page.reload();
  await openFile(page, CONSOLIDATED);
  assert.equal(await trends.getAttribute('data-unit'), 'month');
  assert.equal(await page.locator('[data-testid="group-month"]').isChecked(), true);
  await group(page, 'auto');
  assert.doesNotMatch(page.url(), /group=/);
  assert.deepEqual(page.events.errors, []);
});

/** (a − b) / b in percent with 1 decimal, half to even: "12.3", "-4.0". */
function change(a, b) {
  const d = a - b;
  const q = divHalfEven((d < 0n ? -d : d) * 1000n, b);
  const tenths = d < 0n ? -q : q;
  const abs = tenths < 0n ? -tenths : tenths;
  return `${tenths < 0n ? '-' : ''}${abs / 10n}.${abs % 10n}`;
}

test('presets count back from the file\'s last day; the days read YYYY-MM-DD; the headline says its change against the previous period', async () => {
  const rows = await datedRows();
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
  const from = page.locator('[data-testid="filter-from"]');
  const to = page.locator('[data-testid="filter-to"]');
  // Text boxes in ISO, whatever the browser's locale (not its date widget), with the file's days as hints.
  assert.deepEqual(await from.evaluate((n) => [n.type, n.placeholder]), ['text', FIRST]);
  assert.deepEqual(await to.evaluate((n) => [n.type, n.placeholder]), ['text', LAST]);

  const expected = {
    '7d': ['2026-11-14', LAST],
    '30d': ['2026-10-22', LAST],
    '90d': ['2026-08-23', LAST],
    'this-month': ['2026-11-01', LAST],
    'last-month': ['2026-10-01', '2026-10-31'],
    all: ['', ''],
  };
  for (const [preset, [start, end]] of Object.entries(expected)) {
    await page.locator(`[data-testid="preset-${preset}"]`).click();
    await waitIdle(page);
    assert.deepEqual([await from.inputValue(), await to.inputValue()], [start, end], preset);
    const pressed = await page.locator('[data-testid="presets"] button[aria-pressed="true"]').evaluateAll((b) => b.map((x) => x.dataset.preset));
    assert.deepEqual(pressed, [preset]);
    const shown = await kpis(page);
    const inside = rows.filter((r) => !start || (r.day >= start && r.day <= end));
    if (start) {
      assert.equal(shown.records, String(inside.length), preset);
      assert.equal(shown.total_cost, microsText(inside.reduce((n, r) => n + r.micros, 0n)), preset);
      assert.match(page.url(), new RegExp(`from=${start}&to=${end}`));
    }
  }
  // "All" has no earlier period: no change is said.
  assert.equal(await page.locator('[data-testid="kpi-change"]:visible').count(), 0);

  // 30 days against the 30 before them, computed here.
  await page.locator('[data-testid="preset-30d"]').click();
  await waitIdle(page);
  assert.equal(await page.locator('[data-testid="trends"]').getAttribute('data-unit'), 'day');
  const sum = (a, b) => rows.filter((r) => r.day >= a && r.day <= b).reduce((n, r) => n + r.micros, 0n);
  const count = (a, b) => BigInt(rows.filter((r) => r.day >= a && r.day <= b).length);
  const [now, before] = [sum('2026-10-22', LAST), sum('2026-09-22', '2026-10-21')];
  const cost = page.locator('[data-kpi="total_cost"] [data-testid="kpi-change"]');
  assert.equal(await cost.getAttribute('data-value'), change(now, before));
  assert.equal(await cost.getAttribute('data-previous'), microsText(before));
  assert.deepEqual([await cost.getAttribute('data-from'), await cost.getAttribute('data-to')], ['2026-09-22', '2026-10-21']);
  const sign = now >= before ? '\\+' : '−';
  assert.match(await cost.textContent(), new RegExp(`^${sign}${change(now, before).replace('-', '')} % vs the previous 30 days$`));
  const items = page.locator('[data-kpi="records"] [data-testid="kpi-change"]');
  assert.equal(await items.getAttribute('data-value'), change(count('2026-10-22', LAST), count('2026-09-22', '2026-10-21')));
  await screenshot(page, 'trends-30-days');

  // A day typed another way is said, not applied.
  const before30 = await kpis(page);
  await from.fill('10/22/2026');
  await from.press('Enter');
  await from.blur();
  await waitIdle(page);
  assert.equal(await from.getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('[data-testid="filter-error"]').textContent(), /YYYY-MM-DD/);
  assert.deepEqual(await kpis(page), before30);
  await from.fill('2026-10-22');
  await from.blur();
  await waitIdle(page);
  assert.equal(await page.locator('[data-testid="filter-error"]').isHidden(), true);
  assert.deepEqual(await kpis(page), before30);
  assert.deepEqual(page.events.errors, []);
});

test('every chart draws in the Okabe–Ito palette; the hourly chart: one axis of bars, every hour, in UTC', async () => {
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, CONSOLIDATED);
  const charts = await page.evaluate(() =>
    Object.values(globalThis.Chart.instances).map((c) => ({
      id: c.canvas.dataset.testid ?? 'scenario',
      colours: c.data.datasets.flatMap((d) => [d.backgroundColor, d.borderColor]).filter((x) => typeof x === 'string'),
    })),
  );
  assert.ok(charts.length >= 3);
  for (const c of charts) for (const colour of c.colours) assert.ok(OKABE_ITO.includes(colour.toUpperCase()), `${c.id}: ${colour}`);

  const hourly = await page.evaluate(() => {
    const c = globalThis.Chart.getChart(document.querySelector('[data-testid="hourly-chart"]'));
    return {
      labels: c.data.labels,
      types: c.data.datasets.map((d) => d.type ?? c.config.type),
      axes: Object.keys(c.options.scales).sort(),
      xTitle: c.options.scales.x.title.text,
      autoSkip: c.options.scales.x.ticks.autoSkip,
    };
  });
  assert.deepEqual(hourly.labels, Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0')));
  assert.deepEqual([...new Set(hourly.types)], ['bar']);
  assert.deepEqual(hourly.axes, ['x', 'y']);
  assert.equal(hourly.xTitle, 'hour (UTC)');
  assert.equal(hourly.autoSkip, false);
  // Its table: all 24 hours, in no scroll box of its own.
  assert.equal(await page.locator('[data-testid="hour-row"]').count(), 24);
  const box = await page.locator('[data-testid="hourly-table"]').evaluate((n) => ({ scroll: n.scrollHeight, client: n.clientHeight, overflow: getComputedStyle(n).overflowY }));
  assert.ok(box.scroll <= box.client + 1, JSON.stringify(box));
  assert.deepEqual(page.events.errors, []);
});
