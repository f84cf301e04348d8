// index.html preloads the page's modules (<link rel="modulepreload">), so
// the browser fetches them all while it reads the page instead of one level
// of imports after another: the list must stay the page's import graph. No
// browser: the imports are read from the sources.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WEB } from './helpers.mjs';

/** The modules `entry` imports, itself included, by their paths relative to web/. */
async function importGraph(entry) {
  const seen = new Set();
  const next = [entry];
  while (next.length) {
    const file = next.shift();
    if (seen.has(file)) continue;
    seen.add(file);
    const source = await readFile(join(WEB, file), 'utf8');
    for (const [, path] of source.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'\.\/([^']+)'/gm)) next.push(path);
    assert.doesNotMatch(source, /\bimport\s*\(/, `${file} imports dynamically: preload what it imports, and update this test`);
  }
  return seen;
}

test('index.html preloads exactly the modules the page imports', async () => {
  const html = await readFile(join(WEB, 'index.html'), 'utf8');
  const entry = /<script type="module" src="([^"]+)"><\/script>/.exec(html)[1];
  const preloaded = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1]);
  assert.equal(new Set(preloaded).size, preloaded.length, 'each once');
  assert.deepEqual(new Set(preloaded), await importGraph(entry));
  // The classic script the page needs (Chart.js) does not hold the page's reading up.
  assert.match(html, /<script defer src="vendor\/chart\.umd\.min\.js"><\/script>/);
});
