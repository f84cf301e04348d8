// web/busy.js, the count behind <body data-pending> that every browser test
// waits on: it must be the work in flight, whatever way that work ends
// (resolved, failed, cancelled, replaced). No browser needed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WEB } from './helpers.mjs';

const { Busy } = await import(pathToFileURL(join(WEB, 'busy.js')).href);

/** A Busy that records every count it reported. */
function recorded() {
  const seen = [];
  const busy = new Busy((n) => seen.push(n));
  return { busy, seen };
}

/** A promise and the functions that settle it. */
function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('run counts its work until it settles, resolved or failed', async () => {
  const { busy, seen } = recorded();
  const a = deferred();
  const b = deferred();
  const ra = busy.run(() => a.promise);
  const rb = busy.run(() => b.promise);
  assert.equal(busy.pending, 2);
  b.reject(new Error('engine said no'));
  await assert.rejects(rb, /engine said no/);
  assert.equal(busy.pending, 1);
  a.resolve('answer');
  assert.equal(await ra, 'answer');
  assert.equal(busy.pending, 0);
  assert.deepEqual(seen, [1, 2, 1, 0]);
});

test('a function that throws at once still leaves', async () => {
  const { busy } = recorded();
  await assert.rejects(
    busy.run(() => {
      throw new Error('sync');
    }),
    /sync/,
  );
  assert.equal(busy.pending, 0);
});

test('task runs in a later task, and counts while it waits', async () => {
  const { busy } = recorded();
  let ran = false;
  const done = busy.task(() => {
    ran = true;
    return 7;
  });
  assert.equal(ran, false);
  assert.equal(busy.pending, 1);
  assert.equal(await done, 7);
  assert.equal(busy.pending, 0);
});

test('later: the wait counts; a run of the same key replaces it; cancel drops it', async () => {
  const { busy } = recorded();
  const runs = [];
  const errors = [];
  busy.later('card-1', async () => runs.push('first'), 20, (e) => errors.push(e));
  busy.later('card-1', async () => runs.push('second'), 20, (e) => errors.push(e));
  busy.later('card-2', async () => runs.push('dropped'), 20, (e) => errors.push(e));
  busy.later('all', async () => {
    throw new Error('views failed');
  }, 0, (e) => errors.push(e.message));
  assert.equal(busy.pending, 3);
  busy.cancel('card-2');
  busy.cancel('card-2'); // twice: counted once
  busy.cancel('no-such-key');
  assert.equal(busy.pending, 2);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(runs, ['second']);
  assert.deepEqual(errors, ['views failed']);
  assert.equal(busy.pending, 0);
});

test('later counts until the run it started has finished', async () => {
  const { busy } = recorded();
  const slow = deferred();
  busy.later('all', () => slow.promise, 0, () => {});
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(busy.pending, 1);
  // Cancelling a run already started changes nothing: it is still in flight.
  busy.cancel('all');
  assert.equal(busy.pending, 1);
  slow.resolve();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(busy.pending, 0);
});
