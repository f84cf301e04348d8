// A tiny static file server for web/: no dependencies, loopback only.
//
//   node web/tools/serve.mjs [--port N] [--file PATH]    (also: serve.mjs PORT)
//
// PORT 0 or absent: any free port; the URL to open is printed. With --file,
// that one file (and nothing else outside web/) is served under a random
// path, /f/<hex>/<name>, and the printed URL opens it in the explorer: the
// file is read where it is, never copied.
//
// Also imported by the browser tests and the benchmark: startServer({ root, port, cors, file, linked }).
//
// What it refuses, and why:
// - a Host other than 127.0.0.1, localhost or [::1] (421): a page on another
//   site whose name was rebound to 127.0.0.1 would otherwise read the files;
// - a path whose real location (symlinks resolved) is outside the real root (403),
//   unless it is one of the `linked` paths the caller named (the benchmark's
//   folder of symlinks; none by default, and never from the command line);
// - being framed (X-Frame-Options and CSP frame-ancestors on every answer).
// Scripts are sent with the page's own CSP (from index.html's <meta>): a
// worker takes its policy from its response, not from the page.

import { createServer } from 'node:http';
import { createReadStream, readFileSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.csv': 'text/csv; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

const WEB_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Host names this server answers to, with an optional port. */
const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/i;

const FRAME_POLICY = "frame-ancestors 'none'";

/**
 * The page's Content-Security-Policy, read from index.html's <meta> so that
 * the worker's policy (sent as a header) can never drift from the page's.
 */
export function pagePolicy(indexHtml = join(WEB_ROOT, 'index.html')) {
  const html = readFileSync(indexHtml, 'utf8');
  const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"/i.exec(html);
  if (!meta) throw new Error(`${indexHtml} has no Content-Security-Policy <meta>`);
  return meta[1];
}

/** The security headers of every answer; scripts also get the page's policy. */
function securityHeaders(file, policy, cors) {
  const scripts = ['.js', '.mjs'].includes(extname(file ?? '').toLowerCase());
  return {
    'Content-Security-Policy': scripts ? `${policy}; ${FRAME_POLICY}` : FRAME_POLICY,
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    // The URL of a served --file holds its secret path: never pass it on.
    'Referrer-Policy': 'no-referrer',
    // Other sites cannot embed these files (<script src>, <img src>) either.
    'Cross-Origin-Resource-Policy': cors ? 'cross-origin' : 'same-origin',
  };
}

/** decodeURIComponent, or null for a malformed percent-encoding. */
function decode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** The path of a request target ("/a/b?x" → "/a/b"), or null unless it is origin-form. */
function targetPath(url) {
  if (typeof url !== 'string' || !url.startsWith('/')) return null;
  return url.split('?')[0].split('#')[0];
}

/**
 * Maps a URL path to a file name under root, lexically (no file system), or
 * null when it would leave root. resolveFile() also follows symlinks.
 */
export function fileFor(root, urlPath) {
  const path = decode(String(urlPath).split('?')[0].split('#')[0]);
  if (path === null || path.includes('\0')) return null;
  const full = normalize(join(root, path));
  return inside(root, full) ? full : null;
}

/** Whether `path` is `root` or inside it (both real paths). */
function inside(root, path) {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * The real file a URL path names under `realRoot` (a directory's index.html),
 * as { file, size }; or { status: 403 } when its real location is outside
 * the root (a symlink out), { status: 404 } when there is no such file.
 * `linked`: further real paths (files or folders) a symlink may lead into.
 */
export async function resolveFile(realRoot, urlPath, linked = []) {
  const name = fileFor(realRoot, urlPath);
  if (name === null) return { status: 403 };
  const allowed = (path) => inside(realRoot, path) || linked.some((p) => inside(p, path));
  let real = await realpath(name).catch(() => null);
  if (real === null) return { status: 404 };
  if (!allowed(real)) return { status: 403 };
  let info = await stat(real).catch(() => null);
  if (info?.isDirectory()) {
    real = await realpath(join(real, 'index.html')).catch(() => null);
    if (real === null) return { status: 404 };
    if (!allowed(real)) return { status: 403 };
    info = await stat(real).catch(() => null);
  }
  if (!info?.isFile()) return { status: 404 };
  return { file: real, size: info.size };
}

/** The one file given with --file: its random URL path, and where it is. */
function sharedFile(path) {
  const name = basename(path);
  const urlPath = `/f/${randomBytes(16).toString('hex')}/${encodeURIComponent(name)}`;
  return { path, urlPath, decodedPath: decode(urlPath) };
}

function refuse(res, status, message, headers) {
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end(message);
}

async function handle(ctx, req, res) {
  const base = securityHeaders(null, ctx.policy, ctx.cors);
  if (!LOOPBACK_HOST.test(req.headers.host ?? '')) {
    refuse(res, 421, 'this server answers only to 127.0.0.1, localhost and [::1]\n', base);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...base, Allow: 'GET, HEAD' }).end();
    return;
  }
  const path = targetPath(req.url);
  if (path === null) {
    refuse(res, 400, 'bad request target\n', base);
    return;
  }
  let found;
  if (ctx.shared && decode(path) === ctx.shared.decodedPath) {
    const info = await stat(ctx.shared.path).catch(() => null);
    found = info?.isFile() ? { file: ctx.shared.path, size: info.size } : { status: 404 };
  } else {
    found = await resolveFile(await ctx.realRoot(), path, ctx.linked);
  }
  if (found.status) {
    refuse(res, found.status, found.status === 403 ? 'forbidden\n' : 'not found\n', base);
    return;
  }
  res.writeHead(200, {
    ...securityHeaders(found.file, ctx.policy, ctx.cors),
    'Content-Type': MIME[extname(found.file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': found.size,
    'Cache-Control': 'no-cache',
    ...(ctx.cors ? { 'Access-Control-Allow-Origin': '*' } : {}),
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // 1 MiB reads: with the default 64 KiB, a 179 MB file reached Chromium about 30 % slower.
  createReadStream(found.file, { highWaterMark: 1 << 20 }).on('error', () => res.destroy()).pipe(res);
}

/**
 * Serves `root` (default: web/) on 127.0.0.1:`port` (0: any free port);
 * `cors: true` lets pages of other origins read the files (a CSV server for
 * `?csv=`); `file` also serves that one file, wherever it is, under a random
 * path; `linked` (real paths, files or folders, outside root) may be reached
 * through symlinks under root, which are otherwise refused (the benchmark
 * serves a temp folder of links this way). Resolves to { url, port,
 * explorerUrl, close() }: explorerUrl opens `file` in the page (the page's
 * URL without one).
 */
export function startServer({ root = WEB_ROOT, port = 0, cors = false, file = null, linked = [] } = {}) {
  const base = resolve(root);
  let real = null;
  const ctx = {
    cors,
    policy: pagePolicy(),
    shared: file ? sharedFile(resolve(file)) : null,
    // The root's real path, found once: web/ itself may sit behind a symlink.
    realRoot: () => (real ??= realpath(base)),
    linked: [],
  };
  const server = createServer((req, res) => {
    handle(ctx, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, securityHeaders(null, ctx.policy, cors));
      res.end();
    });
  });
  // The linked paths' real locations, found before listening (a missing one rejects).
  const linkedReal = Promise.all(linked.map((p) => realpath(resolve(p))));
  return linkedReal.then((paths) => (ctx.linked = paths)).then(() => new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const actual = server.address().port;
      const url = `http://127.0.0.1:${actual}/`;
      resolvePromise({
        url,
        port: actual,
        explorerUrl: ctx.shared ? explorerUrl(url, ctx.shared.urlPath) : url,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  }));
}

/**
 * The page's URL with ?csv= naming `path` (already percent-encoded):
 * encoded once more for the query, so '#', '%', '&' and spaces in the file's
 * name stay part of it ('/' is left readable; it is allowed in a query).
 */
export function explorerUrl(pageUrl, path) {
  return `${pageUrl}?csv=${encodeURIComponent(path).replaceAll('%2F', '/')}`;
}

const USAGE = 'usage: node web/tools/serve.mjs [--port N] [--file PATH]   (or: serve.mjs PORT)';

/** The command line: { port, file }, or exits with the usage. */
function readArgs(argv) {
  const fail = (why) => {
    console.error(`${why}\n${USAGE}`);
    process.exit(2);
  };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { port: { type: 'string' }, file: { type: 'string' } } });
  } catch (e) {
    fail(e.message);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1 || (positionals.length && values.port !== undefined)) fail(`unexpected arguments: ${positionals.join(' ')}`);
  const text = values.port ?? positionals[0] ?? '0';
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port > 65535) fail(`not a port: ${text}`);
  return { port, file: values.file ?? null };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { port, file } = readArgs(process.argv.slice(2));
  if (file !== null && !(await stat(file).catch(() => null))?.isFile()) {
    console.error(`serve.mjs: not a file: ${file}`);
    process.exit(1);
  }
  const { url, explorerUrl: open } = await startServer({ port, file });
  console.log(`Tally explorer: ${open}`);
  console.log(file === null ? `  (serving ${WEB_ROOT}; Ctrl-C to stop)` : `  (serving ${resolve(file)} and ${WEB_ROOT}; or open ${url} and choose any CSV; Ctrl-C to stop)`);
}
