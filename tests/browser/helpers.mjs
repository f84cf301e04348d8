// Shared setup for the browser tests: paths, the static server, headless
// Chromium through playwright-core (from web/node_modules), screenshots, a
// detail CSV written by the real binary, how the page reads money, and an
// independent re-implementation of the what-if pricing in BigInt.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before } from 'node:test';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const WEB = join(ROOT, 'web');
export const FIXTURES = resolve(process.env.TALLY_FIXTURES ?? join(ROOT, '..', 'shared', 'fixtures'));
export const ARTIFACTS = join(ROOT, 'tests', 'artifacts');

const require = createRequire(join(WEB, 'package.json'));

/** The real binary (built by the test command's cargo stage), and what it reads to write a detail CSV. */
const TALLY = join(ROOT, 'target', 'debug', 'tally');
const BEDROCK_CHAT = join(FIXTURES, 'bedrock_chat');
const PRICE_BOOK = join(FIXTURES, '..', 'pricing', 'bedrock_chat_models.json');

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Fails early, with the command to run, when a build step was skipped. */
function checkPrerequisites() {
  const missing = [
    [join(WEB, 'node_modules', 'playwright-core'), 'npm --prefix web ci'],
    [join(WEB, 'vendor', 'chart.umd.min.js'), 'node web/tools/vendor.mjs'],
    [join(WEB, 'pkg', 'tally_wasm_bg.wasm'), 'scripts/build-wasm.sh'],
  ].filter(([path]) => !existsSync(path));
  if (missing.length) {
    throw new Error(`browser tests need: ${missing.map(([p, cmd]) => `${p} (run \`${cmd}\`)`).join(', ')}`);
  }
}

/**
 * Starts the static server and a fresh headless Chromium.
 * Resolves to { base, context, newPage(), close() }; newPage() records dialogs
 * and page errors on page.events.
 */
export async function startBrowser() {
  checkPrerequisites();
  const { startServer } = await import(join(WEB, 'tools', 'serve.mjs'));
  const { chromium } = require('playwright-core');
  const server = await startServer({ root: WEB, port: 0 });
  const profile = await mkdtemp(join(tmpdir(), 'tally-chromium-'));
  let context;
  try {
    // A fresh profile per run (playwright passes it as --user-data-dir).
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1360, height: 900 },
      acceptDownloads: true,
    });
  } catch (e) {
    await server.close();
    await rm(profile, { recursive: true, force: true });
    throw e;
  }
  return {
    base: server.url,
    context,
    async newPage() {
      const page = await context.newPage();
      page.events = { dialogs: [], errors: [], console: [] };
      page.on('dialog', (d) => {
        page.events.dialogs.push(d.message());
        d.dismiss().catch(() => {});
      });
      page.on('pageerror', (e) => page.events.errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && page.events.console.push(m.text()));
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      await server.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Waits until the page has opened a file and shows the current state. */
/**
 * One browser for a test file, started before its tests and closed after
 * them, and with `scratch` a temporary folder removed with it:
 * `const suite = useBrowser('loading');` then `suite.browser`, `suite.dir`.
 */
export function useBrowser(scratch) {
  const suite = { browser: undefined, dir: undefined };
  before(async () => {
    suite.browser = await startBrowser();
    if (scratch) suite.dir = await mkdtemp(join(tmpdir(), `tally-${scratch}-`));
  });
  after(async () => {
    await suite.browser?.close();
    if (suite.dir) await rm(suite.dir, { recursive: true, force: true });
  });
  return suite;
}

export async function waitReady(page, timeout = 30_000) {
  await page.waitForFunction(
    () => {
      const b = document.body.dataset;
      return (b.state === 'ready' || b.state === 'error') && b.pending === '0';
    },
    null,
    { timeout },
  );
  const state = await page.evaluate(() => document.body.dataset.state);
  if (state !== 'ready') {
    const error = await page.locator('[data-testid="error"]').textContent();
    throw new Error(`page did not load the file: ${error}`);
  }
}

/** Waits until no query is scheduled or running. */
export async function waitIdle(page, timeout = 30_000) {
  await page.waitForFunction(() => document.body.dataset.pending === '0', null, { timeout });
}

/** Opens a local file through the page's file input and waits for the views. */
/**
 * A page watched for injected code (window.__pwned stays 'untouched' unless
 * something in the file ran), optionally at a viewport, with `path` opened.
 */
export async function openWatched(browser, path, viewport) {
  const page = await browser.newPage();
  await page.addInitScript(() => {
    window.__pwned = 'untouched';
  });
  if (viewport) await page.setViewportSize(viewport);
  await page.goto(browser.base);
  await openFile(page, path);
  return page;
}

export async function openFile(page, path) {
  await page.locator('[data-testid="file-input"]').setInputFiles(path);
  await waitReady(page);
}

/** Saves a full-page screenshot to tests/artifacts/NAME.png. */
export async function screenshot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Saves a screenshot of one part of the page (a locator) to tests/artifacts/NAME.png. */
export async function screenshotOf(locator, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  await locator.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/** The page's width against the window's: { scrollWidth, innerWidth } (no horizontal scroll: scrollWidth <= innerWidth). */
export function pageWidth(page) {
  return page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
}

/** data-value of each [data-kpi] tile. */
export function kpis(page) {
  return page.evaluate(() => Object.fromEntries([...document.querySelectorAll('[data-kpi]')].map((n) => [n.dataset.kpi, n.dataset.value])));
}

export async function readJson(path) {
  return JSON.parse(await readFile(path, 'utf8'));
}

// ---- detail CSVs ----------------------------------------------------------

/** A detail CSV's header (tally --detail), for the files tests write by hand. */
export const DETAIL_HEADER =
  'create_date,input_token,output_token,precio_token_input,precio_token_output,total_price,pk,sk,source,bot_id,model,models,turns,last_date,recorded_price,billed_input_token,billed_output_token,billed_price';

/** One CSV line of cells, quoted where needed (RFC 4180). */
export function csvLine(cells) {
  return cells.map((cell) => (/[",\n\r]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell)).join(',');
}

/**
 * Writes dir/detail.csv with the real binary: `tally consolidate --detail`
 * over bedrock-chat's own table (with its large messages, priced by its own
 * price book). Resolves to its path.
 */
export async function writeDetailCsv(dir) {
  if (!existsSync(TALLY)) throw new Error(`${TALLY} is missing: build it with \`cargo build -p tally\` (the test command does)`);
  const path = join(dir, 'detail.csv');
  execFileSync(TALLY, [
    'consolidate',
    '--dump', join(BEDROCK_CHAT, 'conversation_table.jsonl'),
    '--historical', join(dir, 'absent.csv'),
    '--allow-missing-historical',
    '--start', '2025-12-01',
    '--end', '2026-12-01',
    '--out', join(dir, 'consolidated.csv'),
    '--detail', path,
    '--large-message-bucket', join(BEDROCK_CHAT, 'large_messages'),
    '--price-book', PRICE_BOOK,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return path;
}

// ---- how the page reads money ----------------------------------------------

/** 1234567 → "1,234,567". */
export const grouped = (digits) => digits.replace(/\B(?=(\d{3})+$)/g, ',');

/**
 * An amount as the page must show it, from its micro-dollars: 2 decimals, or
 * 3 significant digits below a cent (at most the 6 the value has), half to
 * even; `exact`: all 6 decimals. "−$0.85", "+$0.12" (signed), "$0.00356".
 */
export function shownMoney(text, { signed = false, exact = false } = {}) {
  const m = micros(text);
  const a = m < 0n ? -m : m;
  let places = 2;
  if (exact) places = 6;
  else if (a > 0n && a < 10_000n) {
    places = Math.min(6, 9 - String(a).length);
    // Rounded up to a whole cent, it reads as one.
    if (divHalfEven(a, 10n ** BigInt(6 - places)) * 10n ** BigInt(6 - places) >= 10_000n) places = 2;
  }
  const q = divHalfEven(a, 10n ** BigInt(6 - places));
  const digits = String(q).padStart(places + 1, '0');
  const number = `${grouped(digits.slice(0, -places))}.${digits.slice(-places)}`;
  const sign = q === 0n ? '' : m < 0n ? '−' : signed ? '+' : '';
  return `${sign}$${number}`;
}

// ---- an independent what-if, in BigInt micro-dollars ----------------------

/** Splits CSV text into records of fields (RFC 4180 quotes; CRLF or LF). */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** A CSV's rows as objects keyed by its header (a BOM dropped, blank lines skipped). */
export function csvRows(text) {
  const [header, ...rows] = parseCsv(text.replace(/^\uFEFF/, '')).filter((r) => !(r.length === 1 && r[0] === ''));
  return rows.map((r) => Object.fromEntries(header.map((name, i) => [name, r[i]])));
}

/** "0.0008" → { num: 8n, den: 10000n }. */
export function decimal(text) {
  const [int, frac = ''] = text.split('.');
  return { num: BigInt(int + frac), den: 10n ** BigInt(frac.length) };
}

/** num / den rounded half to even (num, den ≥ 0). */
export function divHalfEven(num, den) {
  const q = num / den;
  const r2 = 2n * (num % den);
  if (r2 > den || (r2 === den && q % 2n === 1n)) return q + 1n;
  return q;
}

/** num / den (den > 0) with 2 decimals, half to even, as the engine writes averages and percentages: "-12.35", "0.00" (a percentage: fixed2(d * 100n, of)). */
export function fixed2(num, den) {
  const a = divHalfEven((num < 0n ? -num : num) * 100n, den);
  const hundredths = num < 0n ? -a : a;
  const sign = hundredths < 0n ? '-' : '';
  const abs = hundredths < 0n ? -hundredths : hundredths;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}

/** a × b of two decimal strings, exactly (a batch price): ("0.0008", "0.5") → "0.00040". */
export function times(a, b) {
  const [x, y] = [decimal(a), decimal(b)];
  const scale = String(x.den).length - 1 + String(y.den).length - 1;
  const digits = String(x.num * y.num).padStart(scale + 1, '0');
  return scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
}

/** round6(tokens * price / 1000) in millionths of a dollar. */
export function round6Micros(tokens, price) {
  const p = decimal(price);
  return divHalfEven(BigInt(tokens) * p.num * 1_000_000n, 1000n * p.den);
}

/** "0.013080" → 13080n; "-0.5" → -500000n. */
export function micros(text) {
  if (text.startsWith('-')) return -micros(text.slice(1));
  const [int, frac = ''] = text.split('.');
  return BigInt(int) * 1_000_000n + BigInt((frac + '000000').slice(0, 6));
}

/** 13080n → "0.013080". */
export function microsText(m) {
  const sign = m < 0n ? '-' : '';
  const a = m < 0n ? -m : m;
  return `${sign}${a / 1_000_000n}.${String(a % 1_000_000n).padStart(6, '0')}`;
}

/** The what-if total of a Tally CSV's rows at per-1K prices, as a 6-decimal string. */
export function whatifTotal(csvText, inputPer1k, outputPer1k) {
  const [header, ...rows] = parseCsv(csvText.replace(/^\uFEFF/, ''));
  const col = Object.fromEntries(header.map((name, i) => [name, i]));
  let total = 0n;
  for (const r of rows) {
    if (r.length === 1 && r[0] === '') continue;
    const input = BigInt(r[col.input_token]);
    const output = BigInt(r[col.output_token]);
    if (input === 0n && output === 0n && micros(r[col.total_price]) !== 0n) total += micros(r[col.total_price]);
    else total += round6Micros(input, inputPer1k) + round6Micros(output, outputPer1k);
  }
  return microsText(total);
}

/**
 * The monthly projection at a scenario's prices, independently: the what-if
 * cost of the days from max(last day − 29, first day) to the last day with a
 * date, times 30 / those days, half to even. Returns { days, start, end, value }.
 */
export function monthlyProjection(csvText, inputPer1k, outputPer1k) {
  const [header, ...rows] = parseCsv(csvText.replace(/^\uFEFF/, ''));
  const col = Object.fromEntries(header.map((name, i) => [name, i]));
  const byDay = new Map();
  for (const r of rows) {
    if (r.length === 1 && r[0] === '') continue;
    const day = r[col.create_date].slice(0, 10);
    if (!/^\d{4}-\d\d-\d\d$/.test(day)) continue;
    const input = BigInt(r[col.input_token]);
    const output = BigInt(r[col.output_token]);
    const cost =
      input === 0n && output === 0n && micros(r[col.total_price]) !== 0n
        ? micros(r[col.total_price])
        : round6Micros(input, inputPer1k) + round6Micros(output, outputPer1k);
    byDay.set(day, (byDay.get(day) ?? 0n) + cost);
  }
  const days = [...byDay.keys()].sort();
  const ms = (d) => Date.parse(`${d}T00:00:00Z`);
  const last = days.at(-1);
  const start = new Date(Math.max(ms(last) - 29 * 86_400_000, ms(days[0]))).toISOString().slice(0, 10);
  let sum = 0n;
  for (const [day, cost] of byDay) if (day >= start && day <= last) sum += cost;
  const n = BigInt((ms(last) - ms(start)) / 86_400_000 + 1);
  return { days: Number(n), start, end: last, value: microsText(divHalfEven(sum * 30n, n)) };
}

/**
 * The first scenario of a page with none, as the page must choose it: the
 * catalog's cheapest model (the lowest input + output price per 1K, compared
 * exactly; of the models without a `valid_until` when there are any; the
 * first of equals), never the seed's own price.
 */
export function cheapestModel(catalog) {
  const exact = (t) => {
    const d = decimal(String(t).trim().replace(/^\./, '0.').replace(/\.$/, ''));
    return (d.num * 10n ** 30n) / d.den;
  };
  const listed = catalog.models.filter((m) => !m.valid_until);
  const sum = (m) => exact(m.input_per_1k) + exact(m.output_per_1k);
  return (listed.length ? listed : catalog.models).reduce((best, m) => (sum(m) < sum(best) ? m : best));
}

/** A `?csv=` URL of another origin asks first: opens it, as the user would. */
export async function confirmOtherOrigin(page) {
  await page.locator('[data-testid="csv-confirm-open"]').click();
}

/** A CSV server on 127.0.0.1 (another origin than the page's): handler(req, res). Resolves to { url, close() }. */
export function csvServer(handler) {
  const server = createServer(handler);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/`,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      }),
    );
  });
}
