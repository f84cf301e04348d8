// Ways in and ways it can go wrong: drag and drop, a file without a needed
// column (an error, not a dead page), and a large file that loads in the
// worker with a progress indicator while the page keeps responding.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cheapestModel, csvServer, FIXTURES, WEB, kpis, whatifTotal, micros, microsText, openFile, readJson, screenshot, useBrowser, waitIdle, waitReady, confirmOtherOrigin } from './helpers.mjs';


/** (An init script) watches the progress bar and its label: window.__progress.seen lists what they showed. */
function watchProgress() {
  const w = (window.__progress = { seen: [] });
  const start = new MutationObserver(() => {
    if (document.querySelector('[data-testid="progress-label"]')) {
      start.disconnect();
      watch();
    }
  });
  start.observe(document, { childList: true, subtree: true });
  function watch() {
    const bar = document.querySelector('[data-testid="progress"]');
    const label = document.querySelector('[data-testid="progress-label"]');
    const note = () => w.seen.push({ value: bar.getAttribute('value'), max: bar.getAttribute('max'), label: label.textContent });
    new MutationObserver(note).observe(bar, { attributes: true, attributeFilter: ['value', 'max'] });
    new MutationObserver(note).observe(label, { childList: true, characterData: true, subtree: true });
  }
}

/** (An init script) records every figure the page showed: window.__shown lists "records=1138", "rows=2", ... */
function watchFigures() {
  const shown = (window.__shown = []);
  new MutationObserver((changes) => {
    for (const { target } of changes) {
      if (target.dataset.kpi) shown.push(`${target.dataset.kpi}=${target.dataset.value}`);
      else if (target.dataset.testid === 'file-summary') shown.push(`rows=${target.dataset.rows}`);
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-value', 'data-rows'] });
}

/** "195.6 kB" → 195600 (approximately: as shown). */
function shownBytes(text) {
  const [, n, unit] = /^([\d.]+) (B|kB|MB|GB)$/.exec(text);
  return Number(n) * { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[unit];
}

const suite = useBrowser('loading');

test('a CSV dropped on the page opens', async () => {
  const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  const text = await readFile(join(FIXTURES, 'expected_consolidated.csv'), 'utf8');
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await page.waitForFunction(() => document.body.dataset.pending === '0');
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'empty');
  assert.equal(await page.locator('.empty-state').isVisible(), true);
  await screenshot(page, 'empty');
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
  assert.equal(await page.locator('.empty-state').isHidden(), true);
  await screenshot(page, 'dropped');
});

test('while a CSV loads, the progress shows how much of it was read', async () => {
  const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  const body = await readFile(join(FIXTURES, 'expected_consolidated.csv'));
  let release;
  const held = new Promise((resolve) => (release = resolve));
  // Sends the first half, then holds the rest back until the screenshot is taken.
  const server = await csvServer(async (req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/csv', 'Content-Length': body.length, 'Access-Control-Allow-Origin': '*' });
    const half = Math.floor(body.length / 2);
    res.write(body.subarray(0, half));
    await held;
    res.end(body.subarray(half));
  });
  try {
    const page = await suite.browser.newPage();
    await page.goto(`${suite.browser.base}?csv=${encodeURIComponent(`${server.url}slow.csv`)}`);
    await confirmOtherOrigin(page);
    await page.waitForFunction(() => {
      const bar = document.querySelector('[data-testid="progress"]');
      return document.body.dataset.state === 'loading' && !document.querySelector('[data-testid="loading"]').hidden && bar.value > 0;
    });
    assert.equal(await page.locator('[data-testid="progress"]').isVisible(), true);
    const [label, bar] = await Promise.all([
      page.locator('[data-testid="progress-label"]').textContent(),
      page.locator('[data-testid="progress"]').evaluate((b) => ({ value: b.value, max: b.max })),
    ]);
    assert.match(label, /^Reading [\d.]+ kB of [\d.]+ kB…$/);
    assert.equal(bar.max, body.length);
    assert.ok(bar.value > 0 && bar.value < body.length, JSON.stringify(bar));
    await screenshot(page, 'loading-progress');
    release();
    await waitReady(page);
    assert.equal(await page.locator('[data-testid="loading"]').isHidden(), true);
    assert.equal((await kpis(page)).total_cost, stats.total_cost);
    assert.deepEqual(page.events.errors, []);
  } finally {
    release();
    await server.close();
  }
});

for (const expose of [false, true]) {
  test(`a gzip-encoded CSV (Content-Length: the compressed size${expose ? ', Content-Encoding visible' : ''}) loads whole; the progress never passes 100 %`, async () => {
    const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
    const body = gzipSync(await readFile(join(FIXTURES, 'expected_consolidated.csv')));
    const server = await csvServer((req, res) => {
      res.writeHead(200, {
        'Content-Type': 'text/csv',
        'Content-Encoding': 'gzip',
        'Content-Length': body.length,
        'Access-Control-Allow-Origin': '*',
        // Without this a cross-origin page cannot see Content-Encoding, and takes the
        // compressed length for the file's: the worker must cope with more bytes.
        ...(expose ? { 'Access-Control-Expose-Headers': 'Content-Encoding' } : {}),
      });
      res.end(body);
    });
    try {
      const page = await suite.browser.newPage();
      await page.addInitScript(`(${watchProgress})()`);
      await page.goto(`${suite.browser.base}?csv=${encodeURIComponent(`${server.url}gzip.csv`)}`);
      await confirmOtherOrigin(page);
      await waitReady(page);
      const values = await kpis(page);
      assert.equal(values.records, String(stats.total_records));
      assert.equal(values.total_cost, stats.total_cost);
      const seen = await page.evaluate(() => window.__progress.seen);
      // The whole file was read, more bytes than Content-Length: a full bar, and no "of" total.
      assert.ok(seen.some((s) => /^Reading [\d.]+ kB…$/.test(s.label) && s.value !== null && s.value === s.max), JSON.stringify(seen));
      for (const s of seen) {
        if (s.value !== null && s.max !== null) assert.ok(Number(s.value) <= Number(s.max), JSON.stringify(s));
        const m = /^Reading (.+) of (.+)…$/.exec(s.label);
        if (m) assert.ok(shownBytes(m[1]) <= shownBytes(m[2]), s.label);
      }
      assert.deepEqual(page.events.errors, []);
    } finally {
      await server.close();
    }
  });
}

test('a file chosen before the price catalog arrived is still opened', async () => {
  const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  const page = await suite.browser.newPage();
  // Hold prices.json back, so the file is chosen while the page is still starting.
  let release;
  const held = new Promise((resolve) => (release = resolve));
  await page.route('**/prices.json', async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(suite.browser.base);
  await page.locator('[data-testid="file-input"]').setInputFiles(join(FIXTURES, 'expected_consolidated.csv'));
  await page.waitForTimeout(300);
  release();
  await waitReady(page);
  assert.equal((await kpis(page)).total_cost, stats.total_cost);
  // The first scenario (the catalog's cheapest model) is priced too.
  const cheapest = cheapestModel(await readJson(join(WEB, 'prices.json')));
  const csv = await readFile(join(FIXTURES, 'expected_consolidated.csv'), 'utf8');
  assert.equal(await page.locator('[data-kpi="whatif_total_cost"]').evaluate((n) => n.dataset.value), whatifTotal(csv, cheapest.input_per_1k, cheapest.output_per_1k));
});

test('a file without a needed column shows the error, and the page still works', async () => {
  const bad = join(suite.dir, 'no_source.csv');
  await writeFile(bad, 'create_date,input_token,output_token,total_price,pk,sk\n2025-12-01 10:00:00,1,1,0.000018,a,a#CONV#1\n');
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
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
  const page = await suite.browser.newPage();
  await page.goto(`${suite.browser.base}?csv=no-such-file.csv`);
  await page.waitForFunction(() => document.body.dataset.state === 'error');
  assert.match(await page.locator('[data-testid="error"]').textContent(), /no-such-file\.csv.*HTTP 404/);
});

test('a second file opened while the first is still loading wins; the first stops, and its figures never appear', async () => {
  const first = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
  const body = await readFile(join(FIXTURES, 'expected_consolidated.csv'));
  const second = await readJson(join(FIXTURES, 'python_written', 'damaged_rows.expected.json'));
  const secondCost = microsText(second.rows.reduce((n, r) => n + micros(r.total_price), 0n));
  let release;
  const held = new Promise((resolve) => (release = resolve));
  let closed = null;
  // Sends the first half of the first file, then holds the rest back until released.
  const server = await csvServer(async (req, res) => {
    closed = new Promise((resolve) => res.on('close', resolve));
    res.writeHead(200, { 'Content-Type': 'text/csv', 'Content-Length': body.length, 'Access-Control-Allow-Origin': '*' });
    res.write(body.subarray(0, Math.floor(body.length / 2)));
    await held;
    if (!res.destroyed) res.end(body.subarray(Math.floor(body.length / 2)));
  });
  try {
    const page = await suite.browser.newPage();
    await page.addInitScript(`(${watchFigures})()`);
    await page.goto(`${suite.browser.base}?csv=${encodeURIComponent(`${server.url}first.csv`)}`);
    await confirmOtherOrigin(page);
    // The first is loading, part of it read and the rest still held by the server.
    await page.waitForFunction(() => document.body.dataset.state === 'loading' && document.querySelector('[data-testid="progress"]').value > 0);
    const bar = await page.locator('[data-testid="progress"]').evaluate((b) => ({ value: b.value, max: b.max }));
    assert.ok(bar.value > 0 && bar.value < body.length, JSON.stringify(bar));
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'loading');

    await page.locator('[data-testid="file-input"]').setInputFiles(join(FIXTURES, 'python_written', 'damaged_rows.csv'));
    await waitReady(page);
    const values = await kpis(page);
    assert.equal(values.records, String(second.rows.length));
    assert.equal(values.total_cost, secondCost);
    assert.match(await page.locator('[data-testid="file-summary"]').textContent(), /^damaged_rows\.csv /);
    assert.equal(await page.locator('[data-testid="error"]').isHidden(), true);
    // The first download was stopped, not left to finish in the background.
    await closed;

    // Released now, the rest of the first file changes nothing.
    release();
    await page.waitForTimeout(300);
    await waitIdle(page);
    assert.deepEqual(await kpis(page), values);
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready');
    const shown = await page.evaluate(() => window.__shown);
    assert.ok(shown.includes(`total_cost=${secondCost}`), shown.join(' '));
    for (const figure of [`records=${first.total_records}`, `total_cost=${first.total_cost}`, `rows=${first.total_records}`]) {
      assert.ok(!shown.includes(figure), `the first file's ${figure} was shown: ${shown.join(' ')}`);
    }
    assert.deepEqual(page.events.errors, []);
  } finally {
    release();
    await server.close();
  }
});

test('a large file loads off the main thread, with progress', async () => {
  // ~60 MB: the consolidated fixture's rows, repeated.
  const text = await readFile(join(FIXTURES, 'expected_consolidated.csv'), 'utf8');
  const [header, ...rows] = text.trimEnd().split('\n');
  const body = rows.join('\n') + '\n';
  const copies = 300;
  const big = join(suite.dir, 'big.csv');
  await writeFile(big, header + '\n' + body.repeat(copies));

  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
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

test('the most expensive conversations of a large file are read back whole where they straddle its chunks', async () => {
  // ~26 MB of cheap rows, with five dear ones (hostile keys: quotes, commas,
  // a line break) placed across the reader's 8 MiB slices and elsewhere:
  // the engine lets each chunk go once read, and reads these rows back from
  // the worker's copy of the file when it shows them.
  const header = 'create_date,input_token,output_token,precio_token_input,precio_token_output,total_price,pk,sk,source\n';
  const cheap = (k) => `2025-12-01 10:00:00,1,1,0.000001,0.000001,0.000002,u${k % 5000},u${k % 5000}#CONV#${k},new_table\n`;
  const dear = [
    { cost: '9.000000', pk: 'a "quoted", user\nacross lines', sk: 'a#CONV#1' },
    { cost: '8.000000', pk: 'b,user', sk: 'b,user#CONV#"2"' },
    { cost: '7.000000', pk: 'c user', sk: 'c user#CONV#3' },
    { cost: '6.000000', pk: '=cmd|x', sk: '=cmd|x#CONV#4' },
    { cost: '5.000000', pk: 'e', sk: 'e#CONV#5' },
  ];
  const quote = (s) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const dearLine = (d) => `2025-12-02 11:00:00,100,200,0.300000,3.000000,${d.cost},${quote(d.pk)},${quote(d.sk)},new_table\n`;
  const MiB = 1 << 20;
  // Where each dear row should start: 30 bytes before the 8 and 16 MiB slices' ends, and three other places.
  const at = [8 * MiB - 30, 16 * MiB - 30, 3 * MiB + 7, 24 * MiB + 1, 11 * MiB];
  const order = at.map((offset, k) => ({ offset, k })).sort((x, y) => x.offset - y.offset);
  const parts = [header];
  let size = header.length;
  let k = 0;
  for (const { offset, k: which } of order) {
    while (size + 200 < offset) {
      const line = cheap(k++);
      parts.push(line);
      size += line.length;
    }
    // One more cheap row, its sk padded so that the dear one starts at `offset` exactly.
    const last = cheap(k++);
    const pad = offset - size - last.length;
    parts.push(last.replace('#CONV#', `#CONV#${'x'.repeat(pad)}`));
    size = offset;
    const line = dearLine(dear[which]);
    parts.push(line);
    size += Buffer.byteLength(line);
  }
  for (let n = 0; n < 20_000; n++) parts.push(cheap(k++));
  const body = Buffer.from(parts.join(''));
  const big = join(suite.dir, 'dear.csv');
  await writeFile(big, body);
  const rows = k + dear.length;

  // Chunked transfer (no Content-Length): the unknown-size path, in uneven writes.
  const server = await csvServer(async (req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/csv', 'Access-Control-Allow-Origin': '*' });
    for (let from = 0; from < body.length; from += 1_000_003) res.write(body.subarray(from, from + 1_000_003));
    res.end();
  });
  try {
    for (const how of ['picker', 'url']) {
      const page = await suite.browser.newPage();
      await page.goto(suite.browser.base + (how === 'url' ? `?csv=${encodeURIComponent(`${server.url}dear.csv`)}` : ''));
      if (how === 'url') {
        await confirmOtherOrigin(page);
        await waitReady(page);
      } else await openFile(page, big);
      assert.equal((await kpis(page)).records, String(rows), how);
      const top = await page.$$eval('[data-testid="top-row"]', (trs) =>
        trs.slice(0, 5).map((tr) => ['total_price', 'pk', 'sk'].map((c) => tr.querySelector(`[data-col="${c}"]`).dataset.value)),
      );
      assert.deepEqual(top, dear.map((d) => [d.cost, d.pk, d.sk]), how);
      assert.deepEqual(page.events.errors, [], how);
      await page.close();
    }
  } finally {
    await server.close();
  }
});

test('a chosen file changed on disk after it was opened says so when its rows are read back', async () => {
  // The engine reads the rows it shows back from the chosen file itself.
  const text = await readFile(join(FIXTURES, 'expected_consolidated.csv'), 'utf8');
  const path = join(suite.dir, 'changing.csv');
  await writeFile(path, text);
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, path);
  assert.ok((await page.locator('[data-testid="top-row"]').count()) > 0);
  assert.equal(await page.locator('[data-testid="error"]').isHidden(), true);
  // Rewritten in place (another export saved over it), a second later.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await writeFile(path, text.replaceAll('new_table', 'NEW_TABLE'));
  await page.locator('[data-testid="preset-all"]').click();
  await page.locator('[data-testid="preset-30d"]').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid="error"]').hidden);
  assert.match(await page.locator('[data-testid="error"]').textContent(), /^changing\.csv can no longer be read: it changed on disk \(or was removed\) after it was opened\. Open it again\.$/);
  await screenshot(page, 'loading-file-changed');
  // Opened again, it reads as it now is.
  await openFile(page, path);
  assert.equal(await page.locator('[data-testid="error"]').isHidden(), true);
  const sources = await page.$$eval('[data-testid="top-row"] [data-col="source"]', (c) => c.map((x) => x.dataset.value));
  assert.ok(sources.length > 0 && sources.every((s) => s !== 'new_table'), sources.join(' '));
  assert.deepEqual(page.events.errors, []);
});
