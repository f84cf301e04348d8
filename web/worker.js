// The module worker that owns the engine: loads the wasm, parses the CSV's
// bytes (from a File or a URL, read by reader.js, or an ArrayBuffer),
// reporting progress, keeps the Explorer and answers the page's queries, so
// the page never runs them itself.
// It also checks the price catalog and typed prices by the core's rules, so
// the page has no rules of its own about them.
//
// A file or a URL is parsed while it arrives: reader.js, a worker of this
// worker's, reads it on a thread of its own and sends the chunks here; each
// goes to the engine's ExplorerBuilder, which reads the records it completes
// at once and lets the bytes go. Reading and parsing overlap; the engine
// reads the rows it shows back from the chosen file itself, or from the
// chunks of a download kept here (filebytes.js).
//
// Protocol (see explorer.js): the page posts { id, op, args }; the worker
// answers { id, ok: true, result } or { id, ok: false, error }, and sends
// { id, progress: { stage, loaded, total } } while a file loads. A newer
// `open` stops the one still reading (it answers "superseded by a newer file").

import init, { ExplorerBuilder, catalog, default_batch_multiplier, is_plain_price, version } from './pkg/tally_wasm.js';
import { bytes as showBytes } from './format.js';
import { ChosenFile, HeldFile } from './filebytes.js';
import { LARGER_FILES } from './limits.js';

const ready = init();
ready.catch(() => {}); // reported to the page by the first operation that needs it
let explorer = null;
/** Where the explorer reads its rows back from (filebytes.js). */
let explorerBytes = null;
let latestOpen = 0;
/** Stops the load still reading, when a newer one starts. */
let stopReading = null;

const SUPERSEDED = 'superseded by a newer file';

/** reader.js, started with the first file or URL. */
let reader = null;
let lastRead = 0;
/** The reads in progress, by id: their message handlers, and what to do if the reader fails. */
const reads = new Map();

function startReader() {
  if (reader) return reader;
  reader = new Worker(new URL('./reader.js', import.meta.url), { type: 'module' });
  reader.onmessage = ({ data }) => reads.get(data.id)?.receive(data);
  // A reader that failed (to load, or to pass a message) is dropped: the next file starts another.
  const failed = (what) => {
    for (const read of reads.values()) read.fail(new Error(`the file reader failed: ${what}`));
    reader?.terminate();
    reader = null;
  };
  reader.onerror = (event) => {
    event.preventDefault();
    failed(event.message || 'unknown error');
  };
  reader.onmessageerror = () => failed('a message could not be read');
  return reader;
}

/**
 * Reads { file } or { url } through reader.js into an ExplorerBuilder,
 * reporting the bytes parsed against the reader's `total` (0: unknown).
 * A download's chunks are kept here (the engine reads rows back from them;
 * a chosen file is read back from itself). Each chunk is parsed as it
 * arrives; with the exact size known, the engine's room for the rows is
 * reserved up front (a stream of unknown size, a compressed one, grows it).
 * Resolves to { explorer, bytes } (where its rows are read back from);
 * `signal` stops the reading (and frees what was built).
 */
function readThrough(source, signal, report) {
  const id = ++lastRead;
  // Superseded while the engine was starting: nothing to read.
  if (signal.aborted) return Promise.reject(signal.reason);
  const worker = startReader();
  return new Promise((resolve, reject) => {
    let builder = null;
    const kept = source.file ? null : new HeldFile();
    const bytes = kept ?? new ChosenFile(source.file);
    let loaded = 0;
    let total = 0;
    let lastReport = -Infinity; // the first chunk is always reported
    const stop = () => {
      reads.delete(id);
      try {
        builder?.free(); // after the engine ran out of memory it cannot be freed (nor used again)
      } catch {}
      builder = null;
    };
    const fail = (e) => {
      worker.postMessage({ id, cancel: true });
      stop();
      reject(e);
    };
    const receive = (message) => {
      try {
        if (message.error !== undefined) throw new Error(message.error);
        if (message.start) {
          total = message.start.total;
          const { size } = message.start;
          builder = engine(() => new ExplorerBuilder(size, bytes), size);
        } else if (message.chunk) {
          const value = new Uint8Array(message.chunk);
          loaded += value.byteLength;
          kept?.push(value);
          engine(() => builder.push(value), loaded);
          worker.postMessage({ id, ack: loaded });
          const now = performance.now();
          if (now - lastReport > 50) {
            lastReport = now;
            report({ stage: 'reading', loaded, total });
          }
        } else if (message.end) {
          report({ stage: 'reading', loaded, total });
          report({ stage: 'parsing', loaded, total: loaded });
          const done = builder;
          builder = null; // finish() uses it up, even when it fails
          reads.delete(id);
          resolve({ explorer: engine(() => done.finish(), loaded), bytes });
        }
      } catch (e) {
        fail(e);
      }
    };
    reads.set(id, { receive, fail });
    signal.addEventListener('abort', () => fail(signal.reason), { once: true });
    worker.postMessage({ id, ...source });
  });
}

/** Bytes the engine reads at a time from a file already in memory. */
const WINDOW = 8 << 20;

/** The Explorer of a file already here ({ explorer, bytes }): kept here, read a window at a time. */
function parseHeld(bytes) {
  const held = new HeldFile();
  held.push(bytes);
  const builder = new ExplorerBuilder(bytes.byteLength, held);
  try {
    for (let at = 0; at < bytes.byteLength; at += WINDOW) builder.push(bytes.subarray(at, at + WINDOW));
  } catch (e) {
    try {
      builder.free();
    } catch {}
    throw e;
  }
  return { explorer: builder.finish(), bytes: held };
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
      if (file || url) next = await readThrough(file ? { file } : { url }, reading.signal, report);
      else {
        const bytes = new Uint8Array(buffer);
        report({ stage: 'parsing', loaded: bytes.byteLength, total: bytes.byteLength });
        next = engine(() => parseHeld(bytes), bytes.byteLength);
      }
    } catch (e) {
      throw reading.signal.aborted ? new Error(SUPERSEDED) : e;
    }
    if (mine !== latestOpen) {
      next.explorer.free();
      throw new Error(SUPERSEDED);
    }
    stopReading = null;
    explorer?.free();
    ({ explorer, bytes: explorerBytes } = next);
    // parse_ms: from the first byte asked for to the table built (reading included).
    return { info: explorer.info(), bytes: explorer.bytes(), parse_ms: performance.now() - started };
  },
  views({ filter, topN }) {
    return loaded().views(JSON.stringify(filter), topN);
  },
  headline({ filter }) {
    return loaded().headline(JSON.stringify(filter));
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
  whatifTotals({ filter, scenarios }) {
    return loaded().whatif_totals(JSON.stringify(filter), JSON.stringify(scenarios));
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
  // The file this call may read rows back from: when it could not, its
  // reader's reason (naming the file) is the error, not the engine's.
  const bytes = explorerBytes;
  if (bytes) bytes.failed = null;
  try {
    if (!Object.hasOwn(ops, op)) throw new Error(`unknown operation: ${op}`);
    const result = await ops[op](args ?? {}, report);
    if (bytes?.failed) throw new Error(bytes.failed);
    const transfer = result instanceof Uint8Array ? [result.buffer] : [];
    self.postMessage({ id, ok: true, result }, transfer);
  } catch (e) {
    self.postMessage({ id, ok: false, error: bytes?.failed ?? (e instanceof Error ? e.message : String(e)) });
  }
};
