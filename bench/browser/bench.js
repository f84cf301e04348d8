// The explorer's workload on a CSV already in memory, timed in the page with
// performance.now(). Two ways in:
//   worker: the page's own path (web/explorer.js → web/worker.js), the bytes
//           transferred to the module worker, every answer a postMessage away;
//   direct: the wasm Explorer called on this page's thread (the engine alone).
// window.runBench({ mode, csv, whatifRuns }) resolves to { t: {...ms}, check }.
// ?pkg=URL/ loads another build of the engine for the direct mode (run.mjs --pkg).

import { ExplorerClient } from '/web/explorer.js';

const PKG = new URLSearchParams(location.search).get('pkg') ?? '/web/pkg/';
const { default: init, Explorer, version } = await import(`${PKG}tally_wasm.js`);

const ALL = JSON.stringify({});
const TOP_N = 10;
const SEED = { input_per_1k: '0.003', output_per_1k: '0.015', batch: false };
// Recomputes alternate between prices, as a user moving between models would.
const SCENARIOS = [
  { input_per_1k: '0.0008', output_per_1k: '0.004', batch: false },
  { input_per_1k: '0.00025', output_per_1k: '0.00125', batch: false },
  { input_per_1k: '0.015', output_per_1k: '0.075', batch: true },
];

const log = (line) => (document.getElementById('log').textContent += `\n${line}`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function fetchBuffer(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

async function runDirect(buffer, whatifRuns) {
  const t = {};
  let s = performance.now();
  await init();
  t.init = performance.now() - s;

  const start = performance.now();
  const explorer = new Explorer(new Uint8Array(buffer));
  t.a_explorer = performance.now() - start;
  s = performance.now();
  const info = JSON.parse(explorer.info());
  const views = JSON.parse(explorer.views(ALL, TOP_N));
  t.b_views = performance.now() - s;
  s = performance.now();
  const whatif = JSON.parse(explorer.whatif(ALL, JSON.stringify(SEED)));
  t.c_whatif = performance.now() - s;
  s = performance.now();
  const users = JSON.parse(explorer.breakdown(ALL, 'user', 20, ''));
  let detail = null;
  if (info.detail) {
    const [bots, models] = ['bot', 'model'].map((by) => JSON.parse(explorer.breakdown(ALL, by, 20, '')));
    const accuracy = JSON.parse(explorer.accuracy(ALL, 10));
    detail = { users, bots, models, accuracy };
  }
  t.d_costs = performance.now() - s;
  t.all_views = performance.now() - start;

  const times = [];
  const costs = SCENARIOS.map(() => []);
  for (let i = 0; i < whatifRuns; i++) {
    const sc = JSON.stringify(SCENARIOS[i % SCENARIOS.length]);
    s = performance.now();
    const result = JSON.parse(explorer.whatif(ALL, sc));
    times.push(performance.now() - s);
    costs[i % SCENARIOS.length].push(result.whatif_cost);
  }
  t.whatif_recompute = median(times);
  t.whatif_recompute_max = Math.max(...times);
  explorer.free();
  return { t, info, views, whatif, costs, detail, users };
}

async function runWorker(buffer, whatifRuns) {
  const t = {};
  const client = new ExplorerClient(new URL('/web/worker.js', location.href));
  let s = performance.now();
  await client.version();
  t.init = performance.now() - s;

  const start = performance.now();
  const opened = await client.open({ buffer });
  t.a_explorer = performance.now() - start;
  t.a_parse_in_worker = opened.parse_ms;
  s = performance.now();
  const views = await client.views({}, TOP_N);
  t.b_views = performance.now() - s;
  s = performance.now();
  const whatif = await client.whatif({}, SEED);
  t.c_whatif = performance.now() - s;
  // Cost by user (every file: the page shows it), and a detail CSV's own views:
  // by bot and model, recorded against estimated.
  s = performance.now();
  const users = await client.breakdown({}, 'user', 20);
  let detail = null;
  if (opened.info.detail) {
    const [bots, models, accuracy] = await Promise.all([
      client.breakdown({}, 'bot', 20),
      client.breakdown({}, 'model', 20),
      client.accuracy({}, 10),
    ]);
    detail = { users, bots, models, accuracy };
  }
  t.d_costs = performance.now() - s;
  t.all_views = performance.now() - start;

  const times = [];
  const costs = SCENARIOS.map(() => []);
  for (let i = 0; i < whatifRuns; i++) {
    s = performance.now();
    const result = await client.whatif({}, SCENARIOS[i % SCENARIOS.length]);
    times.push(performance.now() - s);
    costs[i % SCENARIOS.length].push(result.whatif_cost);
  }
  t.whatif_recompute = median(times);
  t.whatif_recompute_max = Math.max(...times);
  client.terminate();
  return { t, info: opened.info, views, whatif, costs, detail, users };
}

window.runBench = async ({ mode = 'worker', csv, whatifRuns = 15 }) => {
  let s = performance.now();
  const buffer = await fetchBuffer(csv);
  const fetchMs = performance.now() - s;
  if (mode === 'worker' && PKG !== '/web/pkg/') throw new Error('the worker mode runs web/pkg; use --modes direct with --pkg');
  const run = mode === 'direct' ? runDirect : runWorker;
  const { t, info, views, whatif, costs, detail, users } = await run(buffer, whatifRuns);
  t.fetch_csv = fetchMs;
  log(`${mode}: ${Object.entries(t).map(([k, v]) => `${k}=${v.toFixed(1)}`).join(' ')}`);
  return {
    mode,
    t,
    version: mode === 'direct' ? version() : undefined,
    check: {
      rows: info.rows,
      unreadable: info.unreadable.length,
      headline: views.headline,
      by_source: Object.fromEntries(views.by_source.map((b) => [b.source, b.records])),
      days: views.daily.length,
      top1_sk: views.top[0]?.sk,
      whatif_seed: whatif.whatif_cost,
      whatif_actual: whatif.actual_cost,
      users_total: users.total_cost,
      users_groups: users.groups.length,
      detail: detail && {
        recorded_total: detail.accuracy.recorded_total,
        billed_total: detail.accuracy.billed_total,
        by_total: [detail.users, detail.bots, detail.models].map((b) => b.total_cost),
        groups: [detail.users, detail.bots, detail.models].map((b) => b.groups.length),
      },
      // Every timed recompute's answer, by scenario (run.mjs checks them).
      whatif_timed: costs,
    },
    scenarios: SCENARIOS,
  };
};

window.benchReady = true;
log('ready');
