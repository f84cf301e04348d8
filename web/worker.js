// The module worker that owns the engine: loads the wasm, reads the CSV's
// bytes (from a File, a URL or an ArrayBuffer, reporting progress), keeps the
// Explorer and answers the page's queries, so the page never runs them itself.
// It also checks the price catalog and typed prices by the core's rules, so
// the page has no rules of its own about them.
//
// A file or a URL is parsed while it arrives: each chunk goes to the engine's
// ExplorerBuilder, which reads the records it completes at once, so reading
// and parsing overlap and the bytes are held once (in the engine), not twice.
//
// Protocol (see explorer.js): the page posts { id, op, args }; the worker
// answers { id, ok: true, result } or { id, ok: false, error }, and sends
// { id, progress: { stage, loaded, total } } while a file loads. A newer
// `open` stops the one still reading (it answers "superseded by a newer file").

import init, { Explorer, ExplorerBuilder, catalog, default_batch_multiplier, is_plain_price, version } from './pkg/tally_wasm.js';
import { bytes as showBytes } from './format.js';

const ready = init();
ready.catch(() => {}); // reported to the page by the first operation that needs it
let explorer = null;
let latestOpen = 0;
/** When the last open's last byte was read (performance.now()). */
let readAt = 0;
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
 * Reads a stream into an ExplorerBuilder, reporting bytes read against
 * `total` (0: unknown). With `size`, the exact byte count when it is known,
 * the engine's memory is reserved up front and each chunk is parsed as it
 * arrives; a stream of unknown size is held here until it ends, then parsed
 * (growing the engine's memory as it arrives would need twice the file's
 * size at each doubling). A stream longer than MAX_LOAD_BYTES is cancelled
 * (it may never end: the tab would buffer it until it died), and so is one
 * whose `signal` is aborted. Resolves to the Explorer.
 */
async function readStream(stream, { total = 0, size = 0, signal }, report) {
  if (size > MAX_LOAD_BYTES) {
    await stream.cancel().catch(() => {});
    throw tooLarge(size);
  }
  const reader = stream.getReader();
  // A cancelled reader ends its pending read as if the stream were done: checked after the loop.
  signal?.addEventListener('abort', () => reader.cancel().catch(() => {}), { once: true });
  let builder = null;
  try {
    builder = size > 0 ? engine(() => new ExplorerBuilder(size), size) : null;
    const held = [];
    let loaded = 0;
    let lastReport = -Infinity; // the first chunk is always reported
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (loaded + value.byteLength > MAX_LOAD_BYTES) {
        await reader.cancel().catch(() => {});
        throw new Error(`stopped after reading ${showBytes(loaded)}: the file is too large for the browser: ${LARGER_FILES}`);
      }
      loaded += value.byteLength;
      if (builder) engine(() => builder.push(value), loaded);
      else held.push(value);
      const now = performance.now();
      if (now - lastReport > 50) {
        lastReport = now;
        report({ stage: 'reading', loaded, total });
      }
    }
    signal?.throwIfAborted();
    report({ stage: 'reading', loaded, total });
    report({ stage: 'parsing', loaded, total: loaded });
    readAt = performance.now();
    if (!builder) {
      builder = engine(() => new ExplorerBuilder(loaded), loaded);
      for (let i = 0; i < held.length; i++) {
        engine(() => builder.push(held[i]), loaded);
        held[i] = null; // parsed: the collector may take it back
      }
    }
    const done = builder;
    builder = null; // finish() uses it up, even when it fails
    return engine(() => done.finish(), loaded);
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  } finally {
    // After the engine ran out of memory it cannot be freed (nor used again).
    try {
      builder?.free();
    } catch {}
  }
}

/**
 * Runs an engine call on a file of `bytes`; a CSV the engine could not hold
 * says so (the engine itself only says "unreachable").
 */
function engine(call, bytes) {
  try {
    return call();
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) throw new Error(`the engine ran out of memory reading ${showBytes(bytes)}: the file is too large for the browser: ${LARGER_FILES}; reload the page before opening another file`);
    throw e;
  }
}

/**
 * Fetches a URL into an Explorer, parsed as it arrives. A redirect to another origin is refused: the page
 * asked (or the user agreed) to read this origin, not whichever one it sends
 * us to.
 */
async function fetchExplorer(url, signal, report) {
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
  const body = response.body ?? new Blob([await response.arrayBuffer()]).stream();
  return readStream(body, { total, size, signal }, report);
}

const ops = {
  async open({ file, url, buffer }, report) {
    // Files are read asynchronously: when a newer open starts meanwhile, it
    // wins, and this one stops reading (a slow download is not finished for nothing).
    const mine = ++latestOpen;
    stopReading?.();
    const reading = new AbortController();
    stopReading = () => reading.abort(new Error(SUPERSEDED));
    let next;
    const started = performance.now();
    try {
      await ready;
      if (file) next = await readStream(file.stream(), { total: file.size, size: file.size, signal: reading.signal }, report);
      else if (url) next = await fetchExplorer(url, reading.signal, report);
      else {
        const bytes = new Uint8Array(buffer);
        report({ stage: 'parsing', loaded: bytes.byteLength, total: bytes.byteLength });
        next = engine(() => new Explorer(bytes), bytes.byteLength);
      }
    } catch (e) {
      throw reading.signal.aborted ? new Error(SUPERSEDED) : e;
    }
    if (mine !== latestOpen) {
      next.free();
      throw new Error(SUPERSEDED);
    }
    stopReading = null;
    explorer?.free();
    explorer = next;
    // parse_ms: from the first byte asked for to the table built (reading included);
    // read_ms: to the last byte read (the bytes given: 0).
    const read = buffer ? 0 : readAt - started;
    return { info: explorer.info(), bytes: explorer.bytes(), parse_ms: performance.now() - started, read_ms: read };
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
