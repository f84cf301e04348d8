// The static server's defences (web/tools/serve.mjs), over HTTP and on its
// path mapping; no browser. Each test is named after what a security review
// found it doing.
//
// The path mapping is also fuzzed: TALLY_FUZZ_CASES (default 500) random and
// hostile URL paths; TALLY_FUZZ_SEED replays a run (the seed is in every
// failure message).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdir, mkdtemp, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { WEB } from './helpers.mjs';

const { startServer, fileFor, resolveFile } = await import(join(WEB, 'tools', 'serve.mjs'));

const SECRET = 'secret,outside,the,root\n';

/** GET (or `method`) `path` with a given Host header; resolves to { status, headers, body }. */
function get(port, path, { host = `127.0.0.1:${port}`, method = 'GET' } = {}) {
  return new Promise((resolve, reject) => {
    const headers = host === null ? {} : { Host: host };
    const req = request({ host: '127.0.0.1', port, path, method, headers, setHost: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A web root beside a directory it must not reach:
 *   base/root/   index.html, a.csv, sub/b.csv, sub/index.html, odd names,
 *                link-in → a.csv, link-out → ../outside/secret.csv,
 *                dir-out → ../outside, abs-out → /etc, loop → loop
 *   base/outside/secret.csv
 *   base/root-link → root (the root itself behind a symlink)
 */
async function makeTree() {
  const base = await mkdtemp(join(tmpdir(), 'tally-serve-'));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  await mkdir(join(root, 'sub'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(outside, 'secret.csv'), SECRET);
  await writeFile(join(root, 'index.html'), '<!doctype html><title>root</title>');
  await writeFile(join(root, 'a.csv'), 'a\n');
  await writeFile(join(root, 'sub', 'b.csv'), 'b\n');
  await writeFile(join(root, 'sub', 'index.html'), 'sub index');
  for (const name of ['é ü.csv', '100%.csv', 'back\\slash.csv', 'hash#q?.csv']) await writeFile(join(root, name), `${name}\n`);
  await symlink('a.csv', join(root, 'link-in'));
  await symlink(join('..', 'outside', 'secret.csv'), join(root, 'link-out'));
  await symlink(join('..', 'outside'), join(root, 'dir-out'));
  await symlink('/etc', join(root, 'abs-out'));
  await symlink('loop', join(root, 'loop'));
  await symlink('root', join(base, 'root-link'));
  return { base, root, outside };
}

/** Every regular file under `dir`, as real paths (symlinks not followed). */
async function realFiles(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await realFiles(path)));
    else if (entry.isFile()) out.push(await realpath(path));
  }
  return out;
}

let tree;
let server;
before(async () => {
  tree = await makeTree();
  // Served through the symlink: the real root is what files are checked against.
  server = await startServer({ root: join(tree.base, 'root-link'), port: 0 });
});
after(async () => {
  await server?.close();
  if (tree) await rm(tree.base, { recursive: true, force: true });
});

test('it answered any Host header (DNS rebinding): names other than 127.0.0.1, localhost and [::1] get 421', async () => {
  const { port } = server;
  for (const host of [`127.0.0.1:${port}`, '127.0.0.1', `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`]) {
    const r = await get(port, '/a.csv', { host });
    assert.equal(r.status, 200, host);
    assert.equal(r.body, 'a\n', host);
  }
  for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `localhost.evil.example`, 'localhost:80@evil.example', '127.0.0.2', '0.0.0.0', '[::2]', '', null]) {
    const r = await get(port, '/a.csv', { host });
    assert.notEqual(r.status, 200, `Host: ${host}`);
    assert.doesNotMatch(r.body, /^a$/m, `Host: ${host}`);
    if (host !== null) assert.equal(r.status, 421, `Host: ${host}`);
  }
});

test('any site could frame the page: every answer says X-Frame-Options DENY and frame-ancestors none', async () => {
  const { port } = server;
  const web = await startServer({ root: WEB, port: 0 });
  try {
    const answers = [
      await get(web.port, '/'),
      await get(web.port, '/index.html'),
      await get(web.port, '/worker.js'),
      await get(web.port, '/prices.json'),
      await get(web.port, '/no-such-file'),
      await get(port, '/link-out'), // 403
      await get(port, '/a.csv', { method: 'POST' }), // 405
      await get(port, '/a.csv', { host: 'evil.example' }), // 421
    ];
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 200, 200, 404, 403, 405, 421],
    );
    for (const r of answers) {
      assert.equal(r.headers['x-frame-options'], 'DENY', JSON.stringify(r.headers));
      assert.match(r.headers['content-security-policy'] ?? '', /(^|;\s*)frame-ancestors 'none'(;|$)/, JSON.stringify(r.headers));
    }
  } finally {
    await web.close();
  }
});

test('it served symlinks that leave the web root: their real path outside the real root is 403', async () => {
  const { port } = server;
  for (const path of ['/link-out', '/dir-out/secret.csv', '/abs-out/passwd', '/abs-out/hostname', '/dir-out/']) {
    const r = await get(port, path);
    assert.equal(r.status, 403, path);
    assert.notEqual(r.body, SECRET, path);
  }
  assert.equal((await get(port, '/loop')).status, 404); // a symlink loop is no file
  // Symlinks that stay inside, and the root itself behind one, still work.
  assert.equal((await get(port, '/link-in')).body, 'a\n');
  assert.equal((await get(port, '/sub/')).body, 'sub index');
  assert.equal((await get(port, `/${encodeURIComponent('é ü.csv')}`)).body, 'é ü.csv\n');
});

test('a linked path opens only what the caller named (the benchmark\'s folder of symlinks): the rest stays 403', async () => {
  // The same tree, with `outside/` named as linked: its file is served through the
  // symlinks into it; /etc, which was not named, is still refused.
  const linked = await startServer({ root: join(tree.base, 'root-link'), port: 0, linked: [tree.outside] });
  try {
    assert.equal((await get(linked.port, '/link-out')).body, SECRET);
    assert.equal((await get(linked.port, '/dir-out/secret.csv')).body, SECRET);
    for (const path of ['/abs-out/passwd', '/abs-out/hostname']) assert.equal((await get(linked.port, path)).status, 403, path);
  } finally {
    await linked.close();
  }
  // A linked path that does not exist is refused when the server starts.
  await assert.rejects(startServer({ root: join(tree.base, 'root-link'), port: 0, linked: [join(tree.base, 'nowhere')] }));
});

// ---- the path mapping, fuzzed -------------------------------------------

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pieces of hostile paths: traversal in every spelling, separators, NUL, bad escapes, unicode, the tree's names. */
function hostileTokens(tree) {
  return [
    '..', '.', '...', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '%252e%252e', '%c0%ae%c0%ae', '%e0%80%ae', '%u002e%u002e', '‥', '．．',
    '/', '//', '%2f', '%2F', '%252f', '\\', '%5c', '%5C', '..\\', '..%5c', '%ef%bc%8f', '／', '%c0%af',
    '\0', '%00', '%', '%z', '%zz', '%e0%a4%a', '%ed%a0%80', '\ud800', '\u202e', 'é', '%C3%A9', ' ', '%20', '?', '#', '~', ':',
    'sub', 'a.csv', 'b.csv', 'index.html', 'link-in', 'link-out', 'dir-out', 'abs-out', 'loop', 'outside', 'secret.csv', 'etc', 'passwd',
    'root', 'root-link', 'é ü.csv', '100%.csv', 'back\\slash.csv', 'C:', 'file:', 'x'.repeat(300),
    tree.outside, join(tree.outside, 'secret.csv'), tree.root, '/etc/passwd',
  ];
}

/** A random URL path of 1 to 12 hostile tokens, sometimes overlong. */
function hostilePath(random, tokens) {
  const pick = () => tokens[Math.floor(random() * tokens.length)];
  const parts = Array.from({ length: 1 + Math.floor(random() * 12) }, pick);
  const joiner = random() < 0.7 ? '/' : pick();
  let path = (random() < 0.9 ? '/' : '') + parts.join(joiner);
  if (random() < 0.05) path = path.repeat(1 + Math.floor(5000 / path.length));
  return path;
}

/** `path` with a random choice of its characters percent-encoded (some hex in lower case). */
function randomlyEncoded(random, path) {
  let out = '';
  for (const ch of path) {
    if (random() < 0.4) {
      const hex = [...new TextEncoder().encode(ch)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
      out += random() < 0.5 ? hex.toUpperCase() : hex;
    } else out += encodeURI(ch).replace(/[?#]/g, encodeURIComponent);
  }
  return out;
}

/** A path the HTTP client will send as it is: every byte outside printable ASCII encoded. */
function sendable(path) {
  return [...new TextEncoder().encode(path)].map((b) => (b > 0x20 && b < 0x7f && b !== 0x23 ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`)).join('');
}

test('the path mapping never leaves the root, for random and hostile URL paths (TALLY_FUZZ_CASES)', async () => {
  const cases = Number(process.env.TALLY_FUZZ_CASES ?? 500);
  const seed = Number(process.env.TALLY_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
  const random = prng(seed);
  const realRoot = await realpath(tree.root);
  const allowed = new Set(await realFiles(realRoot));
  const tokens = hostileTokens(tree);
  const where = (path) => `seed ${seed} (TALLY_FUZZ_SEED=${seed} replays it), path ${JSON.stringify(path)}`;
  let served = 0;
  for (let i = 0; i < cases; i++) {
    const path = hostilePath(random, tokens);
    // Lexically: null, or a name under the root.
    const name = fileFor(realRoot, path);
    if (name !== null) assert.ok(name === realRoot || name.startsWith(realRoot + sep), where(path));
    // On the file system: a refusal, or one of the root's own files.
    const found = await resolveFile(realRoot, path);
    if (found.file) {
      served += 1;
      assert.ok(allowed.has(found.file), `${where(path)} → ${found.file}`);
    } else assert.ok([403, 404].includes(found.status), where(path));
    // Over HTTP (a tenth of the cases): never the file outside.
    if (i % 10 === 0) {
      const r = await get(server.port, sendable(path));
      assert.notEqual(r.body, SECRET, where(path));
      if (r.status !== 200) assert.ok([400, 403, 404, 431].includes(r.status), `${where(path)}: HTTP ${r.status}`);
    }
  }
  // And the mapping is not simply refusing: every real file, spelled in random encodings, is found.
  const files = [...allowed];
  for (let i = 0; i < Math.max(50, cases / 5); i++) {
    const file = files[Math.floor(random() * files.length)];
    const path = randomlyEncoded(random, `/${relative(realRoot, file).split(sep).join('/')}`);
    const found = await resolveFile(realRoot, path);
    assert.equal(found.file, file, where(path));
  }
  console.log(`# path mapping: ${cases} hostile paths (seed ${seed}), ${served} mapped to files inside the root`);
});
