#!/usr/bin/env node
// Benchmarks the explorer on a 1M-row CSV in headless Chromium.
//
//   node bench/browser/run.mjs [--runs 3] [--modes worker,direct] [--csv PATH] [--whatif-runs 15]
//   node bench/browser/run.mjs --detail      (a 1M-row detail CSV: its views by user, bot, model and accuracy too)
//                              [--pkg DIR]   (another wasm-bindgen --target web build, direct mode only)
//
// Makes bench/data/consolidated_1m.csv with ../shared/bench-anchors/make_big_csv.py
// when it is missing, serves the repository root on 127.0.0.1 (port 0), runs
// bench.html in a fresh Chromium per run, and prints the medians beside the
// targets; the full results go to bench/out/browser.json. Needs what the
// browser tests need: npm --prefix web ci, scripts/build-wasm.sh, chromium.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const ANCHORS = resolve(process.env.TALLY_BENCH_ANCHORS ?? join(ROOT, '..', 'shared', 'bench-anchors'));
const { startServer } = await import(join(ROOT, 'web', 'tools', 'serve.mjs'));
// The tests' independent re-pricing (BigInt), to check the timed what-ifs.
const { decimal, divHalfEven, micros, microsText } = await import(join(ROOT, 'tests', 'browser', 'helpers.mjs'));
const { chromium } = createRequire(join(ROOT, 'web', 'package.json'))('playwright-core');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const RUNS = Number(arg('--runs', 3));
const MODES = arg('--modes', 'worker,direct').split(',');
const WHATIF_RUNS = Number(arg('--whatif-runs', 15));
const DETAIL = process.argv.includes('--detail');
const CSV = resolve(arg('--csv', join(ROOT, 'bench', 'data', DETAIL ? 'detail_1m.csv' : 'consolidated_1m.csv')));
const PKG = arg('--pkg') ? resolve(arg('--pkg')) : null;
const OUT = join(ROOT, 'bench', 'out', `browser${PKG ? '-pkg' : ''}${DETAIL ? '-detail' : ''}.json`);
const WASM = join(PKG ?? join(ROOT, 'web', 'pkg'), 'tally_wasm_bg.wasm');

const TARGETS = { all_views: 800, whatif_recompute: 20, wasm_gzip_kb: 250 };
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

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function ensureData() {
  if (existsSync(CSV)) return;
  if (!CSV.startsWith(join(ROOT, 'bench', 'data'))) throw new Error(`${CSV} does not exist`);
  if (DETAIL) {
    console.error(`making ${relative(ROOT, CSV)} with core/benches/detail.rs --write (bedrock-chat's detail rows repeated)`);
    const made = spawnSync('cargo', ['bench', '--locked', '-q', '-p', 'tally-core', '--bench', 'detail', '--', '--write', CSV], { stdio: 'inherit', cwd: ROOT });
    if (made.status !== 0) throw new Error('the detail generator failed');
    return;
  }
  console.error(`making ${relative(ROOT, CSV)} with ${join(ANCHORS, 'make_big_csv.py')} (about 15 s)`);
  const made = spawnSync('python3', [join(ANCHORS, 'make_big_csv.py'), '--out', CSV], { stdio: 'inherit' });
  if (made.status !== 0) throw new Error('make_big_csv.py failed');
}

async function runOnce(base, csvUrl, mode, pkgUrl) {
  const profile = await mkdtemp(join(tmpdir(), 'tally-bench-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}bench/browser/bench.html${pkgUrl ? `?pkg=${encodeURIComponent(pkgUrl)}` : ''}`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
    const result = await page.evaluate((opts) => window.runBench(opts), { mode, csv: csvUrl, whatifRuns: WHATIF_RUNS });
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    return { ...result, browser: context.browser()?.version() };
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

/** A detail CSV (core/benches/detail.rs --write): its totals are the fixture's times the repeats. */
function checkDetail(result, stats) {
  const c = result.check;
  const problems = [];
  if (c.rows !== stats.rows) problems.push(`rows ${c.rows} != ${stats.rows}`);
  if (String(c.headline.total_cost) !== stats.total_cost) problems.push(`total_cost ${c.headline.total_cost} != ${stats.total_cost}`);
  if (!c.detail) return [...problems, 'the detail views did not run (no detail columns seen)'];
  if (c.detail.recorded_total !== stats.recorded_total) problems.push(`recorded ${c.detail.recorded_total} != ${stats.recorded_total}`);
  if (c.detail.billed_total !== stats.billed_total) problems.push(`billed ${c.detail.billed_total} != ${stats.billed_total}`);
  c.detail.by_total.forEach((t, i) => t !== stats.billed_total && problems.push(`breakdown ${i}: ${t} != ${stats.billed_total}`));
  if (c.detail.groups.some((n) => n === 0)) problems.push(`empty breakdown ${JSON.stringify(c.detail.groups)}`);
  // The what-if holds the billed tokens against the billed price; each timed answer is the same every time.
  if (c.whatif_actual !== stats.billed_total) problems.push(`what-if actual ${c.whatif_actual} != ${stats.billed_total}`);
  c.whatif_timed.forEach((got, i) => new Set(got).size !== 1 && problems.push(`what-if ${i} varies: ${[...new Set(got)]}`));
  return problems;
}

/**
 * The page itself, end to end, in a fresh browser: from navigation (`?csv=`)
 * or from choosing the file (the picker) to every view shown (body
 * data-state "ready", nothing pending), its row count checked.
 */
async function runEndToEnd(base, csvUrl, how, rows) {
  const profile = await mkdtemp(join(tmpdir(), 'tally-bench-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1440, height: 900 },
  });
  const ready = (want) => {
    const b = document.body.dataset;
    return b.state === 'ready' && b.pending === '0' && document.querySelector('[data-kpi="records"]')?.dataset.value === want;
  };
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    let ms;
    if (how === 'url') {
      await page.goto(`${base}web/index.html?csv=${encodeURIComponent(csvUrl)}`);
      await page.waitForFunction(ready, String(rows), { timeout: 120_000, polling: 5 });
      ms = await page.evaluate(() => performance.now()); // since the navigation started
    } else {
      await page.goto(`${base}web/index.html`);
      await page.waitForFunction(() => document.body.dataset.pending === '0');
      const input = page.locator('[data-testid="file-input"]');
      const started = await page.evaluate(() => performance.now());
      await input.setInputFiles(CSV);
      await page.waitForFunction(ready, String(rows), { timeout: 120_000, polling: 5 });
      ms = (await page.evaluate(() => performance.now())) - started;
    }
    return ms;
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

function check(result, stats) {
  if (stats.recorded_total !== undefined) return checkDetail(result, stats);
  const c = result.check;
  const problems = [];
  const want = {
    rows: stats.rows,
    input_tokens: String(stats.total_input_tokens),
    output_tokens: String(stats.total_output_tokens),
    total_cost: stats.total_cost,
  };
  if (c.rows !== want.rows) problems.push(`rows ${c.rows} != ${want.rows}`);
  for (const k of ['input_tokens', 'output_tokens', 'total_cost']) {
    if (String(c.headline[k]) !== want[k]) problems.push(`${k} ${c.headline[k]} != ${want[k]}`);
  }
  if (JSON.stringify(c.by_source) !== JSON.stringify(Object.fromEntries(Object.entries(stats.records_by_source).sort()))) {
    const sorted = Object.fromEntries(Object.entries(c.by_source).sort());
    if (JSON.stringify(sorted) !== JSON.stringify(Object.fromEntries(Object.entries(stats.records_by_source).sort()))) problems.push(`by_source ${JSON.stringify(c.by_source)}`);
  }
  if (c.whatif_seed !== stats.total_cost) problems.push(`what-if at the seed prices ${c.whatif_seed} != ${stats.total_cost}`);
  if (c.users_total !== stats.total_cost || c.users_groups !== 20) problems.push(`cost by user ${c.users_total} (${c.users_groups} groups) != ${stats.total_cost}`);
  // Every timed what-if, against an independent BigInt re-pricing of the file.
  result.scenarios.forEach((sc, i) => {
    const want = expectedWhatif(sc);
    const got = c.whatif_timed[i];
    if (!got.length || got.some((cost) => cost !== want)) problems.push(`what-if ${JSON.stringify(sc)}: ${[...new Set(got)].join(', ')} != ${want}`);
  });
  return problems;
}

let columns = null;
/** The bench file's (input, output, recorded micros) columns, read once (its cells hold no quotes or commas). */
async function csvColumns() {
  if (columns) return columns;
  const text = await readFile(CSV, 'utf8');
  const lines = text.split('\n');
  const header = lines[0].replace(/^\uFEFF/, '').split(',');
  const [ci, co, ct] = ['input_token', 'output_token', 'total_price'].map((k) => header.indexOf(k));
  columns = [];
  for (let k = 1; k < lines.length; k++) {
    if (!lines[k]) continue;
    const cells = lines[k].split(',');
    if (cells.length !== header.length) throw new Error(`line ${k + 1}: ${cells.length} cells (a quoted cell? the check assumes none)`);
    columns.push([BigInt(cells[ci]), BigInt(cells[co]), micros(cells[ct])]);
  }
  return columns;
}

const expected = new Map();
/** The what-if total at a scenario's prices (batch: times the engine's 0.5), row by row as the engine does. */
function expectedWhatif(sc) {
  const key = JSON.stringify(sc);
  if (expected.has(key)) return expected.get(key);
  const price = (text) => {
    const p = decimal(text);
    return sc.batch ? { num: p.num * 5n, den: p.den * 10n } : p;
  };
  const [pin, pout] = [price(sc.input_per_1k), price(sc.output_per_1k)];
  const cost = (tokens, p) => divHalfEven(tokens * p.num * 1_000_000n, 1000n * p.den);
  let total = 0n;
  for (const [input, output, recorded] of columns) {
    total += input === 0n && output === 0n && recorded !== 0n ? recorded : cost(input, pin) + cost(output, pout);
  }
  const text = microsText(total);
  expected.set(key, text);
  return text;
}

ensureData();
// No figures to check against, no benchmark: a fast wrong answer is not a result.
if (!existsSync(`${CSV}.stats.json`)) {
  throw new Error(`${CSV}.stats.json is missing: the run could not be checked (make_big_csv.py writes it beside the CSV)`);
}
const stats = JSON.parse(await readFile(`${CSV}.stats.json`, 'utf8'));
if (stats.recorded_total === undefined) await csvColumns();
const wasm = await readFile(WASM);
const wasmGzip = gzipSync(wasm, { level: 9 }).length;
const server = await startServer({ root: ROOT, port: 0 });
const pkgServer = PKG ? await startServer({ root: PKG, port: 0, cors: true }) : null;
const csvUrl = `/${relative(ROOT, CSV).split('\\').join('/')}`;
if (csvUrl.startsWith('/..')) throw new Error(`--csv must be inside the repository (${ROOT}) to be served`);

const results = [];
const endToEnd = {};
try {
  for (const mode of MODES) {
    for (let run = 1; run <= RUNS; run++) {
      const r = await runOnce(server.url, csvUrl, mode, pkgServer?.url);
      const problems = check(r, stats);
      if (problems.length) throw new Error(`${mode} run ${run}: wrong figures: ${problems.join('; ')}`);
      console.error(`${mode} run ${run}: ${Object.entries(r.t).map(([k, v]) => `${k}=${v.toFixed(1)}`).join(' ')}`);
      results.push({ ...r, run });
    }
  }
  // The page itself, end to end (the worker path is the page's).
  if (MODES.includes('worker') && !PKG) {
    for (const how of ['url', 'picker']) {
      const times = [];
      for (let run = 1; run <= RUNS; run++) times.push(await runEndToEnd(server.url, csvUrl, how, stats.rows));
      endToEnd[how] = +median(times).toFixed(1);
      console.error(`end to end (${how}): ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
    }
  }
} finally {
  await server.close();
  await pkgServer?.close();
}

const summary = {};
for (const mode of MODES) {
  const rs = results.filter((r) => r.mode === mode);
  summary[mode] = Object.fromEntries(Object.keys(rs[0].t).map((k) => [k, +median(rs.map((r) => r.t[k])).toFixed(1)]));
}
const doc = {
  csv: relative(ROOT, CSV),
  csv_bytes: stats?.bytes,
  rows: results[0]?.check.rows,
  browser: results[0]?.browser,
  runs: RUNS,
  whatif_runs: WHATIF_RUNS,
  wasm_bytes: wasm.length,
  wasm_gzip_bytes: wasmGzip,
  targets_ms: TARGETS,
  summary,
  end_to_end_ms: endToEnd,
  results,
};
await mkdir(join(ROOT, 'bench', 'out'), { recursive: true });
await writeFile(OUT, JSON.stringify(doc, null, 1));

const verdict = (value, target) => (value <= target ? 'ok' : 'OVER');
const rowsOut = [
  ['Explorer construction (parse)', 'a_explorer', null],
  ['views() incl. top 10 (+ info)', 'b_views', null],
  ['whatif()', 'c_whatif', null],
  ['cost by user (+ by bot, by model, recorded vs estimated: detail CSV)', 'd_costs', null],
  ['all views from bytes in memory', 'all_views', TARGETS.all_views],
  ['one what-if recompute (median)', 'whatif_recompute', TARGETS.whatif_recompute],
  ['one what-if recompute (max)', 'whatif_recompute_max', null],
  ['engine start (wasm init)', 'init', null],
  ['fetch of the CSV (not counted)', 'fetch_csv', null],
];
const lines = [];
if (PKG) lines.push(`engine: ${PKG}`);
lines.push(`Tally explorer, ${doc.rows?.toLocaleString('en-US')} rows (${doc.csv}), ${doc.browser ?? 'chromium'}, median of ${RUNS} runs (fresh browser each), ms`);
lines.push('');
lines.push(`| ms | ${MODES.join(' | ')} | target |`);
lines.push(`|---|${MODES.map(() => '---:').join('|')}|---|`);
for (const [label, key, target] of rowsOut) {
  const cells = MODES.map((m) => {
    const v = summary[m][key];
    return v === undefined ? '–' : target ? `${v} (${verdict(v, target)})` : String(v);
  });
  lines.push(`| ${label} | ${cells.join(' | ')} | ${target ? `≤ ${target}` : ''} |`);
}
for (const [how, label] of [['url', 'the page, end to end: ?csv= navigation to every view shown'], ['picker', 'the page, end to end: file chosen to every view shown']]) {
  if (endToEnd[how] !== undefined) lines.push(`| ${label} | ${[String(endToEnd[how]), ...MODES.slice(1).map(() => '')].join(' | ')} | |`);
}
const gzKb = wasmGzip / 1024;
const wasmCell = `${gzKb.toFixed(1)} KiB (${wasmGzip.toLocaleString('en-US')} B; raw ${wasm.length.toLocaleString('en-US')} B) (${verdict(gzKb, TARGETS.wasm_gzip_kb)})`;
lines.push(`| wasm size, gzip -9 | ${[wasmCell, ...MODES.slice(1).map(() => '')].join(' | ')} | < ${TARGETS.wasm_gzip_kb} KB |`);
lines.push('');
lines.push('Every run checked: rows, tokens, costs by source against the generator\'s stats, every timed what-if against an independent BigInt re-pricing.');
lines.push('worker = the page\'s path (bytes transferred to web/worker.js, answers by postMessage); direct = the engine on the page thread.');
lines.push(`Full results: ${relative(ROOT, OUT)}`);
lines.push('');
const worker = summary.worker ?? summary[MODES[0]];
const fig = DETAIL ? 'browser_detail' : 'browser';
lines.push(`figure: ${fig}.all_views_ms=${worker.all_views}`, `figure: ${fig}.whatif_ms=${worker.whatif_recompute}`);
for (const [how, ms] of Object.entries(endToEnd)) lines.push(`figure: ${fig}.open_${how}_ms=${ms}`);
lines.push(`figure: ${fig}.rows=${doc.rows}`, `figure: ${fig}.mb=${(stats.bytes / 1e6).toFixed(0)}`, `figure: wasm_gzip_kib=${gzKb.toFixed(0)}`);
console.log(lines.join('\n'));
