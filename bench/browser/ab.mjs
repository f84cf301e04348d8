#!/usr/bin/env node
// Two builds of the engine, timed in turn under Node (V8, as in Chromium),
// for a change too small for the browser's noise: each run a fresh worker
// thread, the runs of A and B interleaved, medians printed.
//
//   node bench/browser/ab.mjs DIR_A DIR_B [--runs 7] [--csv PATH]
//
// DIR_A, DIR_B: wasm-bindgen --target web builds (a copy of web/pkg before
// and after a change). Each run reads the CSV as the page's worker does
// (8 MB windows into an ExplorerBuilder that lets them go, rows read back
// from web/filebytes.js's HeldFile), then views({}, 10) and cost by user;
// the answers of A and B must be equal. Default CSV: bench/data/consolidated_1m.csv
// (made by node bench/browser/run.mjs).

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const dirs = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
if (dirs.length !== 2) {
  console.error('usage: node bench/browser/ab.mjs DIR_A DIR_B [--runs 7] [--csv PATH]');
  process.exit(2);
}
const RUNS = Number(arg('--runs', 7));
const csv = readFileSync(resolve(arg('--csv', join(ROOT, 'bench', 'data', 'consolidated_1m.csv'))));
const heldFile = join(ROOT, 'web', 'filebytes.js');

const RUN = `
  const { workerData: { dir, csv, heldFile }, parentPort } = require('node:worker_threads');
  const fs = require('node:fs');
  Promise.all([import(dir + '/tally_wasm.js'), import(heldFile)]).then(([engine, { HeldFile }]) => {
    engine.initSync({ module: fs.readFileSync(dir + '/tally_wasm_bg.wasm') });
    const bytes = new Uint8Array(csv.buffer, csv.byteOffset, csv.byteLength);
    let t = performance.now();
    const held = new HeldFile();
    held.push(bytes);
    const builder = new engine.ExplorerBuilder(bytes.byteLength, held);
    for (let at = 0; at < bytes.byteLength; at += 8 << 20) builder.push(bytes.subarray(at, at + (8 << 20)));
    const explorer = builder.finish();
    const load = performance.now() - t;
    t = performance.now();
    const views = explorer.views('{}', 10);
    const viewsMs = performance.now() - t;
    t = performance.now();
    const users = explorer.breakdown('{}', 'user', 20, '');
    const usersMs = performance.now() - t;
    parentPort.postMessage({ load, views: viewsMs, users: usersMs, answer: views + users });
  });`;

function once(dir) {
  return new Promise((done, fail) => {
    const worker = new Worker(RUN, { eval: true, workerData: { dir: resolve(dir), csv, heldFile } });
    worker.once('message', (m) => {
      worker.terminate();
      done(m);
    });
    worker.once('error', fail);
  });
}

const results = dirs.map(() => []);
for (let r = 0; r < RUNS; r++) {
  for (const [k, dir] of dirs.entries()) results[k].push(await once(dir));
}
if (results[0][0].answer !== results[1][0].answer) {
  console.error('A and B answer differently');
  process.exit(1);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const [k, dir] of dirs.entries()) {
  const rs = results[k];
  const row = ['load', 'views', 'users'].map((f) => `${f} ${median(rs.map((r) => r[f])).toFixed(0)} ms`).join(', ');
  console.log(`${'AB'[k]} ${dir}: ${row} (loads: ${rs.map((r) => r.load.toFixed(0)).join(' ')})`);
}
