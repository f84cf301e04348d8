// The module worker that owns the engine: loads the wasm, reads the CSV's
// bytes (from a File, a URL or an ArrayBuffer, reporting progress), keeps the
// Explorer and answers the page's queries, so the page never runs them itself.
// It also checks the price catalog and typed prices by the core's rules, so
// the page has no rules of its own about them.
//
// Protocol (see explorer.js): the page posts { id, op, args }; the worker
// answers { id, ok: true, result } or { id, ok: false, error }, and sends
// { id, progress: { stage, loaded, total } } while a file loads. A newer
// `open` stops the one still reading (it answers "superseded by a newer file").

import init, { Explorer, catalog, default_batch_multiplier, is_plain_price, version } from './pkg/tally_wasm.js';
import { bytes as showBytes } from './format.js';

const ready = init();
ready.catch(() => {}); // reported to the page by the first operation that needs it
let explorer = null;
let latestOpen = 0;
/** Stops the load still reading, when a newer one starts. */
let stopReading = null;

const SUPERSEDED = 'superseded by a newer file';

/**
 * The largest CSV the page opens, in bytes. The engine is 32-bit WebAssembly:
 * 4 GiB of memory in all, holding a copy of the file's bytes plus about 45
 * bytes of columns per row (and their growth while reading). Measured in
 * Chromium: 1.5 GB of 93-byte rows and 1.9 GB of 169-byte rows (Tally's are
 * 150 to 200) load; 2.2 GB runs out of memory. Larger files: `tally whatif`.
 */
const MAX_LOAD_BYTES = 1_500_000_000;

/** What to do instead, said with every "too large". */
const LARGER_FILES = `the explorer holds at most ${showBytes(MAX_LOAD_BYTES)} (tally whatif, on the command line, re-prices files of any size)`;

/** The error for a file whose size, known before reading, is over the limit. */
function tooLarge(size) {
  return new Error(`the file is ${showBytes(size)}, too large for the browser: ${LARGER_FILES}`);
}

/**
 * Reads a stream to one Uint8Array, reporting bytes read against `total`
 * (0: unknown). With `size`, the exact byte count when it is known, the bytes
 * go straight into one buffer of that size; otherwise (or when the stream
 * turns out longer) the chunks are kept and joined at the end. A stream
 * longer than MAX_LOAD_BYTES is cancelled (it may never end: the tab would
 * buffer it until it died), and so is one whose `signal` is aborted.
 */
async function readStream(stream, { total = 0, size = 0, signal }, report) {
  if (size > MAX_LOAD_BYTES) {
    await stream.cancel().catch(() => {});
    throw tooLarge(size);
  }
  const reader = stream.getReader();
  // A cancelled reader ends its pending read as if the stream were done: checked after the loop.
  signal?.addEventListener('abort', () => reader.cancel().catch(() => {}), { once: true });
  let buffer = null;
  if (size > 0) {
    try {
      buffer = new Uint8Array(size);
    } catch {
      buffer = null; // too large to reserve up front: read in chunks
    }
  }
  let chunks = buffer ? null : [];
  let loaded = 0;
  let lastReport = -Infinity; // the first chunk is always reported
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.byteLength > MAX_LOAD_BYTES) {
      await reader.cancel().catch(() => {});
      throw new Error(`stopped after reading ${showBytes(loaded)}: the file is too large for the browser: ${LARGER_FILES}`);
    }
    if (buffer && loaded + value.byteLength > buffer.byteLength) {
      // Longer than announced: keep what was read as the first chunk and go on in chunks.
      chunks = [buffer.subarray(0, loaded)];
      buffer = null;
    }
    if (buffer) buffer.set(value, loaded);
    else chunks.push(value);
    loaded += value.byteLength;
    const now = performance.now();
    if (now - lastReport > 50) {
      lastReport = now;
      report({ stage: 'reading', loaded, total });
    }
  }
  signal?.throwIfAborted();
  report({ stage: 'reading', loaded, total });
  if (buffer) return loaded === buffer.byteLength ? buffer : buffer.subarray(0, loaded);
  return join(chunks, loaded);
}

/** The chunks as one Uint8Array of `length` bytes. */
function join(chunks, length) {
  if (chunks.length === 1 && chunks[0].byteLength === length) return chunks[0];
  const bytes = new Uint8Array(length);
  let at = 0;
  for (let i = 0; i < chunks.length; i++) {
    bytes.set(chunks[i], at);
    at += chunks[i].byteLength;
    chunks[i] = null; // copied: the collector may take it back before the rest is joined
  }
  return bytes;
}

/**
 * Fetches a URL's bytes. A redirect to another origin is refused: the page
 * asked (or the user agreed) to read this origin, not whichever one it sends
 * us to.
 */
async function fetchBytes(url, signal, report) {
  let response;
  try {
    response = await fetch(url, { signal });
  } catch (e) {
    if (signal.aborted) throw e;
    // fetch() says only "Failed to fetch" for these, on purpose.
    throw new Error(`could not fetch ${url}: ${e.message}: no answer, a server that does not let this page read it (CORS), or an address this page may not read`);
  }
  const origin = new URL(url).origin;
  if (response.url && new URL(response.url).origin !== origin) {
    await response.body?.cancel().catch(() => {});
    throw new Error(`${url} redirected to another site (${new URL(response.url).origin}); open that address instead if you trust it`);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    throw new Error(`could not fetch ${url}: HTTP ${response.status}`);
  }
  // Content-Length counts the bytes sent: the file's size only when they are not
  // compressed (it still serves as the progress's total; the page caps the fraction).
  const total = Number(response.headers.get('Content-Length')) || 0;
  const encoding = (response.headers.get('Content-Encoding') ?? 'identity').trim().toLowerCase();
  const size = encoding === 'identity' ? total : 0;
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  return readStream(response.body, { total, size, signal }, report);
}

/** A CSV the engine could not hold says so (the engine itself only says "unreachable"). */
function newExplorer(bytes) {
  try {
    return new Explorer(bytes);
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) throw new Error(`the engine ran out of memory reading ${showBytes(bytes.byteLength)}: the file is too large for the browser: ${LARGER_FILES}; reload the page before opening another file`);
    throw e;
  }
}

const ops = {
  async open({ file, url, buffer }, report) {
    // Files are read asynchronously: when a newer open starts meanwhile, it
    // wins, and this one stops reading (a slow download is not finished for nothing).
    const mine = ++latestOpen;
    stopReading?.();
    const reading = new AbortController();
    stopReading = () => reading.abort(new Error(SUPERSEDED));
    let bytes;
    try {
      await ready;
      if (file) bytes = await readStream(file.stream(), { total: file.size, size: file.size, signal: reading.signal }, report);
      else if (url) bytes = await fetchBytes(url, reading.signal, report);
      else bytes = new Uint8Array(buffer);
    } catch (e) {
      throw reading.signal.aborted ? new Error(SUPERSEDED) : e;
    }
    if (mine !== latestOpen) throw new Error(SUPERSEDED);
    stopReading = null;
    report({ stage: 'parsing', loaded: bytes.byteLength, total: bytes.byteLength });
    const started = performance.now();
    const next = newExplorer(bytes);
    explorer?.free();
    explorer = next;
    return { info: explorer.info(), bytes: bytes.byteLength, parse_ms: performance.now() - started };
  },
  views({ filter, topN }) {
    return loaded().views(JSON.stringify(filter), topN);
  },
  breakdown({ filter, by, top, search }) {
    return loaded().breakdown(JSON.stringify(filter), by, top, search);
  },
  accuracy({ filter, top }) {
    return loaded().accuracy(JSON.stringify(filter), top);
  },
  whatif({ filter, scenario }) {
    return loaded().whatif(JSON.stringify(filter), JSON.stringify(scenario));
  },
  whatifCsv({ filter, scenario }) {
    return loaded().whatif_csv(JSON.stringify(filter), JSON.stringify(scenario));
  },
  async version() {
    await ready;
    return version();
  },
  // The catalog and typed prices, by the core's rules (the command line's too).
  async catalog({ text }) {
    await ready;
    return catalog(String(text));
  },
  async plainPrices({ texts }) {
    await ready;
    return texts.map((text) => typeof text === 'string' && is_plain_price(text));
  },
  async defaultBatchMultiplier() {
    await ready;
    return default_batch_multiplier();
  },
};

function loaded() {
  if (!explorer) throw new Error('no CSV is open');
  return explorer;
}

self.onmessage = async ({ data: { id, op, args } }) => {
  const report = (progress) => self.postMessage({ id, progress });
  try {
    if (!Object.hasOwn(ops, op)) throw new Error(`unknown operation: ${op}`);
    const result = await ops[op](args ?? {}, report);
    const transfer = result instanceof Uint8Array ? [result.buffer] : [];
    self.postMessage({ id, ok: true, result }, transfer);
  } catch (e) {
    self.postMessage({ id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
};
