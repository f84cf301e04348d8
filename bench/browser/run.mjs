#!/usr/bin/env node
// Benchmarks the explorer on a 1M-row CSV in headless Chromium.
//
//   node bench/browser/run.mjs [--runs 3] [--modes worker,direct] [--csv PATH] [--whatif-runs 15]
//   node bench/browser/run.mjs --detail      (a 1M-row detail CSV: its views by user, bot, model and accuracy too)
//                              [--pkg DIR]   (another wasm-bindgen --target web build, direct mode only)
//   --no-anchors                 (skip the anchors: DuckDB-WASM and plain JS on the same file; on by
//                                 default when ../shared/bench-anchors exists, off with --detail)
//   --anchor-configs duckdb:eh:auto,duckdb:eh:typed,js   (the default)
//
// Makes bench/data/consolidated_1m.csv with ../shared/bench-anchors/make_big_csv.py
// when it is missing, serves the repository root on 127.0.0.1 (port 0), runs
// bench.html in a fresh Chromium per run, and prints the medians beside the
// targets; the full results go to bench/out/browser.json. Needs what the
// browser tests need: npm --prefix web ci, scripts/build-wasm.sh, chromium.
//
// Then the anchors (../shared/bench-anchors, read in place): their bench.html
// in the same Chromium with the same flags, on the same CSV, one fresh browser
// per run, their answers checked against the same .stats.json; DuckDB-WASM is
// installed by this script under ~/.cache/tally/anchors (never in the
// repository), and a comparison table closes the output.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
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
// The anchors: on unless --no-anchors, --detail (their workload reads the
// consolidated columns) or no anchors folder; --anchors insists.
const ANCHORS_WANTED = process.argv.includes('--anchors');
const ANCHORS_ON = !process.argv.includes('--no-anchors') && (ANCHORS_WANTED || (!DETAIL && existsSync(join(ANCHORS, 'bench.js'))));
const ANCHOR_CONFIGS = arg('--anchor-configs', 'duckdb:eh:auto,duckdb:eh:typed,js').split(',');
// The anchors' DuckDB-WASM, the version their README names, installed by this script outside the repository.
const DUCKDB_WASM = { name: '@duckdb/duckdb-wasm', version: '1.32.0' };
const ANCHORS_HOME = join(homedir(), '.cache', 'tally', 'anchors');
const NPM_CACHE = join(homedir(), '.cache', 'tally', 'npm');

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

/**
 * A fresh Chromium with its own new profile, launched as every run here is
 * (Tally's and the anchors'); `close()` also removes the profile.
 */
async function freshBrowser(options = {}) {
  const profile = await mkdtemp(join(tmpdir(), 'tally-bench-'));
  const context = await chromium
    .launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
      headless: true,
      ...options,
    })
    .catch(async (e) => {
      await rm(profile, { recursive: true, force: true });
      throw e;
    });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

async function runOnce(base, csvUrl, mode, pkgUrl) {
  const { context, close } = await freshBrowser();
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
    await close();
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
  const { context, close } = await freshBrowser({ viewport: { width: 1440, height: 900 } });
  const ready = (want) => {
    const b = document.body.dataset;
    return b.state === 'ready' && b.pending === '0' && document.querySelector('[data-kpi="records"]')?.dataset.value === want;
  };
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    let ms;
    let started = 0; // the page's time when the file was chosen (url: its navigation, 0)
    if (how === 'url') {
      await page.goto(`${base}web/index.html?csv=${encodeURIComponent(csvUrl)}`);
      await page.waitForFunction(ready, String(rows), { timeout: 120_000, polling: 5 });
      ms = await page.evaluate(() => performance.now()); // since the navigation started
    } else {
      await page.goto(`${base}web/index.html`);
      await page.waitForFunction(() => document.body.dataset.pending === '0');
      const input = page.locator('[data-testid="file-input"]');
      started = await page.evaluate(() => performance.now());
      await input.setInputFiles(CSV);
      await page.waitForFunction(ready, String(rows), { timeout: 120_000, polling: 5 });
      ms = (await page.evaluate(() => performance.now())) - started;
    }
    // The page's own marks (web/app.js): when the open started, the table was built, every view shown.
    const marks = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType('mark').filter((m) => m.name.startsWith('tally:')).map((m) => [m.name.slice(6), m.startTime])));
    return { ms, marks, started };
  } finally {
    await close();
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

// ---- the anchors: DuckDB-WASM and plain JS, on the same file, in the same browser ----

/** @duckdb/duckdb-wasm under ~/.cache/tally/anchors (npm's cache beside it), installed once. */
function ensureDuckdbWasm() {
  const modules = join(ANCHORS_HOME, 'node_modules');
  const installed = () => {
    try {
      const pkg = JSON.parse(readFileSync(join(modules, ...DUCKDB_WASM.name.split('/'), 'package.json'), 'utf8'));
      return pkg.version === DUCKDB_WASM.version;
    } catch {
      return false;
    }
  };
  if (!installed()) {
    console.error(`installing ${DUCKDB_WASM.name}@${DUCKDB_WASM.version} into ${ANCHORS_HOME} (once)`);
    for (const dir of [ANCHORS_HOME, NPM_CACHE]) mkdirSync(dir, { recursive: true });
    // A package.json of its own, so that npm never takes a project above the folder for it.
    const manifest = join(ANCHORS_HOME, 'package.json');
    if (!existsSync(manifest)) writeFileSync(manifest, '{ "name": "tally-bench-anchors", "private": true }\n');
    const npm = spawnSync(
      'npm',
      ['install', '--prefix', ANCHORS_HOME, '--cache', NPM_CACHE, '--no-audit', '--no-fund', '--save-exact', `${DUCKDB_WASM.name}@${DUCKDB_WASM.version}`],
      { stdio: ['ignore', 2, 2] }, // npm's output to stderr: stdout is the table
    );
    if (npm.status !== 0 || !installed()) throw new Error(`npm install ${DUCKDB_WASM.name}@${DUCKDB_WASM.version} into ${ANCHORS_HOME} failed`);
  }
  // What the anchors' page loads (bench.html's import map, bench.js's eh bundle).
  const dist = join(modules, '@duckdb', 'duckdb-wasm', 'dist');
  const needed = [
    join(dist, 'duckdb-browser.mjs'),
    join(dist, 'duckdb-eh.wasm'),
    join(dist, 'duckdb-browser-eh.worker.js'),
    join(modules, 'apache-arrow', 'Arrow.dom.mjs'),
    join(modules, 'flatbuffers', 'mjs', 'flatbuffers.js'),
    join(modules, 'tslib', 'tslib.es6.mjs'),
  ];
  const missing = needed.filter((f) => !existsSync(f));
  if (missing.length) throw new Error(`${ANCHORS_HOME} lacks ${missing.join(', ')} (remove it to reinstall)`);
  return modules;
}

/**
 * A temp folder of symlinks, as the anchors' own runner lays it out (their
 * page, its SQL, node_modules and the CSV as data.csv, all from one origin),
 * served by web/tools/serve.mjs with exactly those targets reachable.
 */
async function serveAnchors(modules) {
  const dir = await mkdtemp(join(tmpdir(), 'tally-anchors-'));
  const targets = {
    'bench.html': join(ANCHORS, 'bench.html'),
    'bench.js': join(ANCHORS, 'bench.js'),
    'queries.json': join(ANCHORS, 'queries.json'),
    node_modules: modules,
    'data.csv': CSV,
  };
  try {
    for (const [name, target] of Object.entries(targets)) await symlink(target, join(dir, name));
    const server = await startServer({ root: dir, port: 0, linked: Object.values(targets) });
    return {
      url: server.url,
      close: async () => {
        await server.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** One anchor config ('duckdb:eh:auto', 'duckdb:eh:typed', 'js') in a fresh browser: the anchors' own result. */
async function runAnchorOnce(base, config) {
  const [mode, bundle, schema] = config.split(':');
  const { context, close } = await freshBrowser();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors = [];
    const consoleErrors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    await page.goto(`${base}bench.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
    const result = await page.evaluate((opts) => window.runBench(opts), { mode, bundle, schema, csv: './data.csv' });
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    return { ...result, config, console_errors: consoleErrors, browser: context.browser()?.version() };
  } finally {
    await close();
  }
}

/**
 * The anchors' check values (bench.js: n, token sums, cost, what-if at
 * 0.0008/0.004 per 1K, NULL dates, first and last date) against the CSV's
 * .stats.json. Float sums (auto-detect's DOUBLE, plain JS) must round to the
 * exact figure; DuckDB's DECIMAL cost (typed) must equal it. `first`: the
 * first anchor run, whose top 10 every other must repeat.
 */
function checkAnchor(result, stats, first) {
  const c = result.check ?? {};
  const problems = [];
  if (stats.bytes !== undefined && result.csv_bytes !== stats.bytes) problems.push(`${result.csv_bytes} bytes fetched != ${stats.bytes}`);
  const typed = result.schema === 'typed';
  if (String(c.n) !== String(stats.rows)) problems.push(`rows ${c.n} != ${stats.rows}`);
  if (String(c.input) !== String(stats.total_input_tokens)) problems.push(`input tokens ${c.input} != ${stats.total_input_tokens}`);
  if (String(c.output) !== String(stats.total_output_tokens)) problems.push(`output tokens ${c.output} != ${stats.total_output_tokens}`);
  const cost = typed ? String(c.cost) : Number(c.cost).toFixed(6);
  if (cost !== stats.total_cost) problems.push(`cost ${c.cost} != ${stats.total_cost}`);
  const whatifKey = 'whatif_total_cost_0.0008_0.004';
  if (stats[whatifKey] === undefined) problems.push(`${whatifKey} is missing from the .stats.json`);
  else if (Number(c.whatif).toFixed(7) !== stats[whatifKey]) problems.push(`what-if ${c.whatif} != ${stats[whatifKey]}`);
  if (stats.null_dates !== undefined && String(c.null_dates) !== String(stats.null_dates)) problems.push(`NULL dates ${c.null_dates} != ${stats.null_dates}`);
  if (stats.date_min !== undefined && c.dmin !== stats.date_min) problems.push(`first date ${c.dmin} != ${stats.date_min}`);
  if (c.dmax !== undefined && stats.date_max !== undefined && c.dmax !== stats.date_max) problems.push(`last date ${c.dmax} != ${stats.date_max}`);
  const sources = Object.keys(stats.records_by_source ?? {}).length;
  if (sources && result.rows?.q1_by_source !== sources) problems.push(`${result.rows?.q1_by_source} rows by source != ${sources}`);
  if (result.rows?.q4_top10 !== 10) problems.push(`top 10 has ${result.rows?.q4_top10} rows`);
  // Every config orders the top 10 alike (total_price desc, pk, sk): the same rows as the first run's.
  if (first && JSON.stringify(result.top10_sk) !== JSON.stringify(first.top10_sk)) problems.push(`top 10 ${result.top10_sk?.[0]}… != ${first.config}'s ${first.top10_sk?.[0]}…`);
  if (typeof result.t?.abc_total !== 'number' || !Number.isFinite(result.t.abc_total)) problems.push('no total time');
  return problems;
}

/** The figure keys of a config: 'duckdb:eh:auto' → 'duckdb_eh_auto'. */
const configKey = (config) => config.replaceAll(':', '_');

if (ANCHORS_ON) {
  if (DETAIL) throw new Error('--anchors runs the anchors\' workload, on the consolidated columns: not with --detail');
  if (!existsSync(join(ANCHORS, 'bench.js'))) throw new Error(`--anchors: no anchors at ${ANCHORS} (TALLY_BENCH_ANCHORS)`);
  const bad = ANCHOR_CONFIGS.filter((c) => c !== 'js' && !/^duckdb:(eh|mvp):(auto|typed)$/.test(c));
  if (bad.length) throw new Error(`--anchor-configs: not a config: ${bad.join(', ')} (js, duckdb:eh|mvp:auto|typed)`);
}
// Installed before anything is timed: a failed install stops the run at once.
const anchorModules = ANCHORS_ON ? ensureDuckdbWasm() : null;
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
const endToEndStages = {};
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
      const runs = [];
      for (let run = 1; run <= RUNS; run++) runs.push(await runEndToEnd(server.url, csvUrl, how, stats.rows));
      const times = runs.map((r) => r.ms);
      endToEnd[how] = +median(times).toFixed(1);
      // Where the time went, median of each stage: to the open's start (url: from the navigation), to the table built, to every view shown.
      const stage = (f) => +median(runs.map(f)).toFixed(1);
      endToEndStages[how] = {
        start: stage((r) => r.marks.open - r.started),
        read_and_parse: stage((r) => r.marks.parsed - r.marks.open),
        views: stage((r) => r.marks.ready - r.marks.parsed),
      };
      console.error(`end to end (${how}): ${times.map((t) => t.toFixed(0)).join(', ')} ms; stages ${JSON.stringify(endToEndStages[how])}`);
    }
  }
} finally {
  await server.close();
  await pkgServer?.close();
}

// The anchors, after Tally's runs (so those are timed as before), each run a fresh browser.
const anchorResults = [];
if (ANCHORS_ON) {
  const anchorServer = await serveAnchors(anchorModules);
  try {
    for (const config of ANCHOR_CONFIGS) {
      for (let run = 1; run <= RUNS; run++) {
        const r = await runAnchorOnce(anchorServer.url, config);
        const problems = checkAnchor(r, stats, anchorResults[0]);
        if (problems.length) throw new Error(`anchor ${config} run ${run}: wrong figures: ${problems.join('; ')}`);
        console.error(`anchor ${config} run ${run}: ${Object.entries(r.t).map(([k, v]) => `${k}=${v.toFixed(1)}`).join(' ')}`);
        anchorResults.push({ ...r, run });
      }
    }
  } finally {
    await anchorServer.close();
  }
}

const summary = {};
for (const mode of MODES) {
  const rs = results.filter((r) => r.mode === mode);
  summary[mode] = Object.fromEntries(Object.keys(rs[0].t).map((k) => [k, +median(rs.map((r) => r.t[k])).toFixed(1)]));
}
// The comparison: Tally's two ways in beside the anchors, four figures each.
const COMPARED = [
  // [key, column, Tally's timing, the anchors' timing]
  ['load_ms', 'load (parse)', 'a_explorer', 'a_load'],
  ['all_views_ms', 'all views', 'all_views', 'abc_total'],
  ['whatif_ms', 'what-if', 'whatif_recompute', 'c_total'],
  ['fetch_ms', 'fetch', 'fetch_csv', 'fetch_csv'],
];
const anchorLabel = (config) => (config === 'js' ? 'plain JS' : `DuckDB-WASM ${config.split(':').slice(1).join(' ')}`);
let anchors;
if (ANCHORS_ON) {
  const anchorSummary = {};
  for (const config of ANCHOR_CONFIGS) {
    const rs = anchorResults.filter((r) => r.config === config);
    anchorSummary[config] = Object.fromEntries(Object.keys(rs[0].t).map((k) => [k, +median(rs.map((r) => r.t[k])).toFixed(1)]));
  }
  const table = {};
  for (const mode of ['worker', 'direct'].filter((m) => summary[m])) {
    table[`tally_${mode}`] = { label: `Tally ${mode}${PKG ? ` (${PKG})` : ''}`, ...Object.fromEntries(COMPARED.map(([key, , t]) => [key, summary[mode][t] ?? null])) };
  }
  for (const config of ANCHOR_CONFIGS) {
    table[configKey(config)] = { label: anchorLabel(config), config, ...Object.fromEntries(COMPARED.map(([key, , , a]) => [key, anchorSummary[config][a] ?? null])) };
  }
  anchors = {
    source: ANCHORS,
    duckdb_wasm: `${DUCKDB_WASM.name}@${DUCKDB_WASM.version}`,
    duckdb_engine: anchorResults.find((r) => r.version)?.version ?? null,
    installed_in: join(ANCHORS_HOME, 'node_modules'),
    configs: ANCHOR_CONFIGS,
    metrics: Object.fromEntries(COMPARED.map(([key, label, t, a]) => [key, `${label}: Tally ${t}, anchors ${a}`])),
    table,
    summary: anchorSummary,
    results: anchorResults,
  };
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
  end_to_end_stages_ms: endToEndStages,
  results,
  ...(anchors ? { anchors } : {}),
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
if (anchors) {
  lines.push(`Beside the anchors (${relative(ROOT, ANCHORS)}: ${anchors.duckdb_wasm}${anchors.duckdb_engine ? ` = DuckDB ${anchors.duckdb_engine}` : ''}, and plain JS), same file, same Chromium and flags, median of ${RUNS} runs (fresh browser each), ms`);
  lines.push('');
  lines.push(`| ms | ${COMPARED.map(([, label]) => label).join(' | ')} |`);
  lines.push(`|---|${COMPARED.map(() => '---:').join('|')}|`);
  for (const row of Object.values(anchors.table)) lines.push(`| ${row.label} | ${COMPARED.map(([key]) => (row[key] === null ? '–' : String(row[key]))).join(' | ')} |`);
  lines.push('');
  lines.push('load: Tally\'s Explorer construction, the anchors\' a_load (DuckDB: registerFileBuffer + CREATE TABLE; JS: decode + split into typed arrays).');
  lines.push('all views: from bytes in memory to every view (Tally: load + views + what-if + cost by user; anchors: a + b (five queries) + c, each result materialised).');
  lines.push('what-if: Tally one recompute under new prices (median of --whatif-runs); anchors c (what-if total + per day at 0.0008/0.004), once per run.');
  lines.push('fetch: the CSV into an ArrayBuffer from the local server (not counted). Each anchor run checked against the same stats: rows, tokens, cost, what-if, NULL and first/last dates.');
  lines.push('');
}
const worker = summary.worker ?? summary[MODES[0]];
const fig = DETAIL ? 'browser_detail' : 'browser';
lines.push(`figure: ${fig}.all_views_ms=${worker.all_views}`, `figure: ${fig}.whatif_ms=${worker.whatif_recompute}`);
for (const [how, ms] of Object.entries(endToEnd)) lines.push(`figure: ${fig}.open_${how}_ms=${ms}`);
for (const [how, stages] of Object.entries(endToEndStages)) for (const [stage, ms] of Object.entries(stages)) lines.push(`figure: ${fig}.open_${how}.${stage}_ms=${ms}`);
lines.push(`figure: ${fig}.rows=${doc.rows}`, `figure: ${fig}.mb=${(stats.bytes / 1e6).toFixed(0)}`, `figure: wasm_gzip_kib=${gzKb.toFixed(0)}`);
if (anchors) {
  for (const [name, row] of Object.entries(anchors.table)) {
    for (const [key] of COMPARED) if (row[key] !== null) lines.push(`figure: anchors.${name}.${key}=${row[key]}`);
  }
}
console.log(lines.join('\n'));
