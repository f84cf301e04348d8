// Ways in and ways it can go wrong: drag and drop, a file without a needed
// column (an error, not a dead page), and a large file that loads in the
// worker with a progress indicator while the page keeps responding.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, kpis, openFile, readJson, screenshot, startBrowser, waitReady } from './helpers.mjs';

let browser;
let dir;
before(async () => {
  browser = await startBrowser();
  dir = await mkdtemp(join(tmpdir(), 'tally-loading-'));
});
after(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a CSV dropped on the page opens', async () => {
  const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  const text = await readFile(join(FIXTURES, 'expected_consolidated.csv'), 'utf8');
  const page = await browser.newPage();
  await page.goto(browser.base);
  await page.evaluate(
    ({ name, text }) => {
      const data = new DataTransfer();
      data.items.add(new File([text], name, { type: 'text/csv' }));
      const fire = (type) => document.body.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
      fire('dragover');
      fire('drop');
    },
    { name: 'dropped.csv', text },
  );
  await waitReady(page);
  assert.equal((await kpis(page)).total_cost, stats.total_cost);
  assert.match(await page.locator('[data-testid="file-summary"]').textContent(), /^dropped\.csv /);
});

test('a file chosen before the price catalog arrived is still opened', async () => {
  const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  const page = await browser.newPage();
  // Hold prices.json back, so the file is chosen while the page is still starting.
  let release;
  const held = new Promise((resolve) => (release = resolve));
  await page.route('**/prices.json', async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(browser.base);
  await page.locator('[data-testid="file-input"]').setInputFiles(join(FIXTURES, 'expected_consolidated.csv'));
  await page.waitForTimeout(300);
  release();
  await waitReady(page);
  assert.equal((await kpis(page)).total_cost, stats.total_cost);
  assert.equal(await page.locator('[data-kpi="whatif_total_cost"]').evaluate((n) => n.dataset.value), stats.total_cost);
});

test('a file without a needed column shows the error, and the page still works', async () => {
  const bad = join(dir, 'no_source.csv');
  await writeFile(bad, 'create_date,input_token,output_token,total_price,pk,sk\n2025-12-01 10:00:00,1,1,0.000018,a,a#CONV#1\n');
  const page = await browser.newPage();
  await page.goto(browser.base);
  await page.locator('[data-testid="file-input"]').setInputFiles(bad);
  await page.waitForFunction(() => document.body.dataset.state === 'error');
  const message = await page.locator('[data-testid="error"]').textContent();
  assert.match(message, /^Could not open no_source\.csv: .+/);
  assert.match(message, /source|column/i);
  await screenshot(page, 'loading-error');

  await openFile(page, join(FIXTURES, 'expected_consolidated.csv'));
  assert.equal(await page.locator('[data-testid="error"]').isHidden(), true);
  assert.deepEqual(page.events.errors, []);
});

test('?csv= naming a missing file shows the error', async () => {
  const page = await browser.newPage();
  await page.goto(`${browser.base}?csv=no-such-file.csv`);
  await page.waitForFunction(() => document.body.dataset.state === 'error');
  assert.match(await page.locator('[data-testid="error"]').textContent(), /no-such-file\.csv.*HTTP 404/);
});

test('a second file opened while the first loads wins', async () => {
  const page = await browser.newPage();
  await page.goto(browser.base);
  const input = page.locator('[data-testid="file-input"]');
  await input.setInputFiles(join(FIXTURES, 'expected_consolidated.csv'));
  await input.setInputFiles(join(FIXTURES, 'python_written', 'damaged_rows.csv'));
  await waitReady(page);
  assert.equal((await kpis(page)).records, '2');
  assert.match(await page.locator('[data-testid="file-summary"]').textContent(), /^damaged_rows\.csv /);
  assert.equal(await page.locator('[data-testid="error"]').isHidden(), true);
});

test('a large file loads off the main thread, with progress', async () => {
  // ~60 MB: the consolidated fixture's rows, repeated.
  const text = await readFile(join(FIXTURES, 'expected_consolidated.csv'), 'utf8');
  const [header, ...rows] = text.trimEnd().split('\n');
  const body = rows.join('\n') + '\n';
  const copies = 300;
  const big = join(dir, 'big.csv');
  await writeFile(big, header + '\n' + body.repeat(copies));

  const page = await browser.newPage();
  await page.goto(browser.base);
  await page.evaluate(() => {
    // Main-thread watchdog: the longest gap between timer ticks while the
    // worker reads and parses, the longest overall, and whether the progress
    // indicator was seen.
    const label = document.querySelector('[data-testid="progress-label"]');
    const loading = document.querySelector('[data-testid="loading"]');
    const w = (window.__watch = { whileParsing: 0, overall: 0, sawProgress: false, last: performance.now(), stage: '' });
    w.timer = setInterval(() => {
      const now = performance.now();
      const gap = now - w.last;
      w.overall = Math.max(w.overall, gap);
      if (/^(Reading|Parsing)/.test(w.stage)) w.whileParsing = Math.max(w.whileParsing, gap);
      w.last = now;
      w.stage = loading.hidden ? '' : label.textContent;
      if (!loading.hidden) w.sawProgress = true;
    }, 10);
  });
  await openFile(page, big);
  const watch = await page.evaluate(() => {
    clearInterval(window.__watch.timer);
    return window.__watch;
  });
  const parseMs = Number(await page.locator('[data-testid="file-summary"]').getAttribute('data-parse-ms'));
  assert.equal((await kpis(page)).records, String(rows.length * copies));
  assert.ok(watch.sawProgress, 'the progress indicator was shown');
  const report = `parse ${parseMs} ms in the worker; longest main-thread stall while reading/parsing ${watch.whileParsing.toFixed(0)} ms, overall ${watch.overall.toFixed(0)} ms`;
  console.log(`# large file: ${rows.length * copies} rows; ${report}`);
  // The page kept ticking while the worker parsed (a parse on the main thread
  // would stall it for the whole parse); drawing the charts afterwards is
  // split into tasks of a chart each.
  assert.ok(watch.whileParsing < Math.max(200, parseMs / 2), report);
  assert.ok(watch.overall < 1500, report);
  await screenshot(page, 'loading-large');
});
