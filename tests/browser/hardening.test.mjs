// The page against hostile links and files: what ?csv= may load and how it
// says no, the worker's own CSP, the size limit of a load, and explore.sh's
// URL. Each test is named after what a security review found it doing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { csvServer, FIXTURES, ROOT, WEB, kpis, readJson, screenshot, useBrowser, waitReady, confirmOtherOrigin } from './helpers.mjs';

const CONSOLIDATED = join(FIXTURES, 'expected_consolidated.csv');
const OTHER = 'https://other.example:8443';
/** web/limits.js's MAX_LOAD_BYTES, as the page shows it. */
const LIMIT = '1.5 GB';


/** Waits until the page settled on an error, and returns what its error area says. */
async function errorShown(page, timeout = 30_000) {
  await page.waitForFunction(() => document.body.dataset.state === 'error' && document.body.dataset.pending === '0', null, { timeout });
  const box = page.locator('[data-testid="error"]');
  assert.equal(await box.isVisible(), true);
  return box.textContent();
}

/** The directives of a CSP: { 'connect-src': "'self' blob: http: https:", ... }. */
function directives(policy) {
  return Object.fromEntries(
    policy
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const [name, ...values] = d.split(/\s+/);
        return [name, values.join(' ')];
      }),
  );
}

const suite = useBrowser('hardening');

test("worker.js had no CSP: ?csv=data: loaded despite the page's connect-src", async () => {
  const html = await readFile(join(WEB, 'index.html'), 'utf8');
  const pagePolicy = directives(/<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)[1]);
  const response = await fetch(new URL('worker.js', suite.browser.base));
  const workerPolicy = directives(response.headers.get('content-security-policy') ?? '');
  assert.equal(workerPolicy['connect-src'], pagePolicy['connect-src']);
  assert.equal(workerPolicy['script-src'], pagePolicy['script-src']);
  assert.doesNotMatch(workerPolicy['connect-src'], /data:/);

  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await page.waitForFunction(() => document.body.dataset.pending === '0');
  // The worker itself, asked to read a data: URL (as a page that skipped its own check would).
  const answer = await page.evaluate(
    (text) =>
      new Promise((resolve) => {
        const worker = new Worker('worker.js', { type: 'module' });
        worker.onmessage = ({ data }) => data.progress || resolve(data);
        worker.postMessage({ id: 1, op: 'open', args: { url: `data:text/csv,${encodeURIComponent(text)}` } });
      }),
    await readFile(CONSOLIDATED, 'utf8'),
  );
  assert.equal(answer.ok, false, JSON.stringify(answer).slice(0, 300));
  assert.match(answer.error, /could not fetch data:/);

  // And the page refuses such a link up front, saying why.
  const data = await suite.browser.newPage();
  await data.goto(`${suite.browser.base}?csv=${encodeURIComponent('data:text/csv,create_date,input_token\n2026-01-01 00:00:00,1')}`);
  assert.match(await errorShown(data), /\?csv= must be an http: or https: URL; a data: URL is not opened/);
  assert.deepEqual(data.events.errors, []);
});

test('explore.sh used port 8080, copied the CSV into web/data/ and printed an unencoded URL', async () => {
  // A name that an unencoded URL breaks: '#' starts the hash, '%' an escape, '&' another parameter.
  const name = 'costs #1 of 100% & more.csv';
  const file = join(suite.dir, name);
  await copyFile(CONSOLIDATED, file);
  const child = spawn(join(ROOT, 'scripts', 'explore.sh'), [file], { cwd: suite.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`explore.sh printed no URL: ${out}`)), 20_000);
      child.stdout.on('data', (chunk) => {
        out += chunk;
        const m = /^Tally explorer: (\S+)$/m.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(new URL(m[1]));
        }
      });
      child.stderr.on('data', (chunk) => (out += chunk));
      child.on('exit', (code) => reject(new Error(`explore.sh exited (${code}): ${out}`)));
    });
    assert.equal(url.hostname, '127.0.0.1');
    assert.notEqual(url.port, '8080');
    assert.equal(url.hash, '');
    assert.equal(existsSync(join(WEB, 'data', name)), false, 'copied into web/data/');
    const csv = url.searchParams.get('csv');
    assert.match(csv, /^\/f\/[0-9a-f]{32}\/[^/]+$/);
    assert.equal(await (await fetch(new URL(csv, url))).text(), await readFile(CONSOLIDATED, 'utf8'));
    // Only that file: not its neighbours, not without the random part.
    await copyFile(CONSOLIDATED, join(suite.dir, 'neighbour.csv'));
    for (const path of [csv.replace(/[^/]+$/, 'neighbour.csv'), `/f/${encodeURIComponent(name)}`, `/${encodeURIComponent(name)}`]) {
      assert.equal((await fetch(new URL(path, url))).status, 404, path);
    }

    const page = await suite.browser.newPage();
    await page.goto(url.href);
    await waitReady(page);
    const stats = await readJson(join(FIXTURES, 'expected_consolidated.stats.json'));
    assert.equal((await kpis(page)).total_cost, stats.total_cost);
    assert.ok((await page.locator('[data-testid="file-summary"]').textContent()).startsWith(`${name} (`));
    assert.deepEqual(page.events.errors, []);
  } finally {
    child.kill('SIGTERM');
  }
});

test('?csv= from another origin loaded without asking, and did not say where from', async () => {
  const body = await readFile(CONSOLIDATED);
  const fetched = [];
  const serve = (route) => {
    fetched.push(route.request().url());
    return route.fulfill({ status: 200, headers: { 'Content-Type': 'text/csv', 'Access-Control-Allow-Origin': '*' }, body });
  };
  const page = await suite.browser.newPage();
  await page.route(`${OTHER}/**`, serve);
  await page.goto(`${suite.browser.base}?csv=${encodeURIComponent(`${OTHER}/reports/tokens.csv`)}`);
  const ask = page.locator('[data-testid="csv-confirm"]');
  await ask.waitFor();
  assert.equal(await page.locator('[data-testid="csv-confirm-origin"]').textContent(), OTHER);
  await page.waitForTimeout(300);
  assert.deepEqual(fetched, [], 'fetched before the user agreed');
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'empty');
  await screenshot(page, 'csv-confirm');
  // The user agrees through a button of the page (no window.confirm).
  await page.getByRole('button', { name: 'Open from other.example:8443' }).click();
  await waitReady(page);
  assert.deepEqual(fetched, [`${OTHER}/reports/tokens.csv`]);
  const summary = page.locator('[data-testid="file-summary"]');
  assert.ok((await summary.textContent()).startsWith(`tokens.csv — from ${OTHER} (`), await summary.textContent());
  assert.equal(await summary.getAttribute('data-origin'), OTHER);
  assert.equal(await ask.count(), 0);
  assert.deepEqual(page.events.dialogs, []);

  // "Do not open" reads nothing.
  const no = await suite.browser.newPage();
  await no.route(`${OTHER}/**`, serve);
  await no.goto(`${suite.browser.base}?csv=${encodeURIComponent(`${OTHER}/reports/tokens.csv`)}`);
  await no.getByRole('button', { name: 'Do not open' }).click();
  assert.equal(await no.locator('[data-testid="csv-confirm"]').count(), 0);
  await no.waitForTimeout(300);
  assert.equal(fetched.length, 1);
  assert.equal(await no.evaluate(() => document.body.dataset.state), 'empty');

  // Same origin loads at once; a same-origin URL that redirects to another origin is not shown.
  const elsewhere = await csvServer((req, res) => res.writeHead(200, { 'Content-Type': 'text/csv', 'Access-Control-Allow-Origin': '*' }).end(body));
  try {
    const same = await suite.browser.newPage();
    await same.route(`${suite.browser.base}mine.csv`, (route) => route.fulfill({ status: 200, headers: { 'Content-Type': 'text/csv' }, body }));
    await same.route(`${suite.browser.base}away.csv`, (route) => route.fulfill({ status: 302, headers: { Location: `${elsewhere.url}x.csv` } }));
    await same.goto(`${suite.browser.base}?csv=mine.csv`);
    await waitReady(same);
    assert.ok((await same.locator('[data-testid="file-summary"]').textContent()).startsWith('mine.csv ('));
    assert.equal(await same.locator('[data-testid="file-summary"]').getAttribute('data-origin'), '');
    await same.goto(`${suite.browser.base}?csv=away.csv`);
    assert.match(await errorShown(same), new RegExp(`away\\.csv redirected to another site \\(${elsewhere.url.slice(0, -1)}\\)`));
    assert.deepEqual([...page.events.errors, ...no.events.errors, ...same.events.errors], []);
  } finally {
    await elsewhere.close();
  }
});

test('an endless CORS stream was buffered until the tab died, and a 2.2 GB file said "unreachable"', async () => {
  const big = 2_200_000_000;
  const rows = (await readFile(CONSOLIDATED, 'utf8')).split('\n').slice(1).join('\n');
  const chunk = Buffer.from(rows.repeat(Math.ceil((1 << 20) / rows.length)));
  let sent = 0;
  let closed = null;
  // Endless: chunks for as long as the client reads them. Announced: says 2.2 GB, sends little.
  const server = await csvServer((req, res) => {
    const announced = req.url === '/announced.csv';
    res.writeHead(200, { 'Content-Type': 'text/csv', 'Access-Control-Allow-Origin': '*', ...(announced ? { 'Content-Length': big } : {}) });
    closed = new Promise((resolve) => res.on('close', resolve));
    res.write('create_date,input_token,output_token,precio_token_input,precio_token_output,total_price,pk,sk,source\n');
    const more = () => {
      while (!res.destroyed && sent < 4 * big) {
        sent += chunk.length;
        if (!res.write(chunk)) return res.once('drain', more);
        if (announced) return undefined; // one chunk: the page must not wait for the rest
      }
    };
    more();
  });
  try {
    const page = await suite.browser.newPage();
    const started = Date.now();
    await page.goto(`${suite.browser.base}?csv=${encodeURIComponent(`${server.url}endless.csv`)}`);
    await confirmOtherOrigin(page);
    const endless = await errorShown(page, 90_000);
    await closed;
    const seconds = (Date.now() - started) / 1000;
    console.log(`# endless stream: stopped after ${(sent / 1e9).toFixed(2)} GB sent, ${seconds.toFixed(1)} s`);
    assert.match(endless, new RegExp(`^Could not open endless\\.csv — from .*: stopped after reading 1\\.5 GB: the file is too large for the browser: the explorer holds at most ${LIMIT}`));
    assert.ok(sent < 1.6e9, `${sent} bytes sent`);

    sent = 0;
    await page.goto(`${suite.browser.base}?csv=${encodeURIComponent(`${server.url}announced.csv`)}`);
    await confirmOtherOrigin(page);
    assert.match(await errorShown(page), new RegExp(`: the file is 2\\.2 GB, too large for the browser: the explorer holds at most ${LIMIT}`));
    await closed;
    assert.ok(sent < 50e6, `${sent} bytes sent`);

    // A 2.2 GB file (sparse: nothing written to disk) is refused before it is read.
    const file = join(suite.dir, 'huge.csv');
    const handle = await open(file, 'w');
    await handle.truncate(big);
    await handle.close();
    await page.goto(suite.browser.base);
    await page.locator('[data-testid="file-input"]').setInputFiles(file);
    assert.match(await errorShown(page, 10_000), new RegExp(`^Could not open huge\\.csv: the file is 2\\.2 GB, too large for the browser: the explorer holds at most ${LIMIT}`));
    assert.deepEqual(page.events.errors, []);
  } finally {
    await server.close();
  }
});

test('?csv= with a malformed URL or percent-encoding threw an uncaught error and showed nothing', async () => {
  // Each is the raw query string after "?csv=", and what the error area must say.
  const cases = [
    ['data/%25ZZ.csv', /^Could not open %ZZ\.csv: could not fetch .*HTTP 40[034]/],
    ['data/%25E0%25A4%25A.csv', /^Could not open %E0%A4%A\.csv: .*HTTP 40[034]/],
    ['%25', /^Could not open %: .*HTTP 40[034]/],
    ['%ED%A0%80.csv', /HTTP 404/],
    [`${'a'.repeat(10_000)}%25ZZ`, /^Could not open a+%ZZ: .*HTTP 40[034]/],
    ['http://%5B::1', /^\?csv= is not a URL: http:\/\/\[::1$/],
    ['http://%5B1::2::3%5D/x.csv', /^\?csv= is not a URL: http:\/\/\[1::2::3\]\/x\.csv$/],
    ['http://127.0.0.1:99999/x.csv', /^\?csv= is not a URL/],
    ['javascript:alert(1)', /^\?csv= must be an http: or https: URL; a javascript: URL is not opened/],
    ['blob:null/x', /^\?csv= must be an http: or https: URL; a blob: URL is not opened/],
    [encodeURIComponent('http://user:pw@127.0.0.1:1/x.csv'), /^\?csv= must not carry a user name or password/],
  ];
  const page = await suite.browser.newPage();
  for (const [query, expected] of cases) {
    await page.goto(`${suite.browser.base}?csv=${query}`);
    const message = await errorShown(page);
    assert.match(message, expected, `?csv=${query.slice(0, 80)}`);
  }
  assert.deepEqual(page.events.errors, []);
  assert.deepEqual(page.events.dialogs, []);
});
