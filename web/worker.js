// The module worker that owns the engine: loads the wasm, reads the CSV's
// bytes (from a File, a URL or an ArrayBuffer, reporting progress), keeps the
// Explorer and answers the page's queries, so the page never runs them itself.
//
// Protocol (see explorer.js): the page posts { id, op, args }; the worker
// answers { id, ok: true, result } or { id, ok: false, error }, and sends
// { id, progress: { stage, loaded, total } } while a file loads.

import init, { Explorer, version } from './pkg/tally_wasm.js';

const ready = init();
ready.catch(() => {}); // reported to the page by the first operation that needs it
let explorer = null;
let latestOpen = 0;

/**
 * Reads a stream to one Uint8Array, reporting bytes read against `total`
 * (0: unknown). With `size`, the exact byte count when it is known, the bytes
 * go straight into one buffer of that size; otherwise (or when the stream
 * turns out longer) the chunks are kept and joined at the end.
 */
async function readStream(stream, { total = 0, size = 0 }, report) {
  const reader = stream.getReader();
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
  report({ stage: 'reading', loaded, total });
  if (buffer) return loaded === buffer.byteLength ? buffer : buffer.subarray(0, loaded);
  return join(chunks, loaded);
}

/** The chunks as one Uint8Array of `length` bytes. */
function join(chunks, length) {
  if (chunks.length === 1 && chunks[0].byteLength === length) return chunks[0];
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

async function fetchBytes(url, report) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not fetch ${url}: HTTP ${response.status}`);
  // Content-Length counts the bytes sent: the file's size only when they are not
  // compressed (it still serves as the progress's total; the page caps the fraction).
  const total = Number(response.headers.get('Content-Length')) || 0;
  const encoding = (response.headers.get('Content-Encoding') ?? 'identity').trim().toLowerCase();
  const size = encoding === 'identity' ? total : 0;
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  return readStream(response.body, { total, size }, report);
}

const ops = {
  async open({ file, url, buffer }, report) {
    // Files are read asynchronously: when a newer open started meanwhile, it wins.
    const mine = ++latestOpen;
    await ready;
    let bytes;
    if (file) bytes = await readStream(file.stream(), { total: file.size, size: file.size }, report);
    else if (url) bytes = await fetchBytes(url, report);
    else bytes = new Uint8Array(buffer);
    if (mine !== latestOpen) throw new Error('superseded by a newer file');
    report({ stage: 'parsing', loaded: bytes.byteLength, total: bytes.byteLength });
    const started = performance.now();
    const next = new Explorer(bytes);
    explorer?.free();
    explorer = next;
    return { info: explorer.info(), bytes: bytes.byteLength, parse_ms: performance.now() - started };
  },
  views({ filter, topN }) {
    return loaded().views(JSON.stringify(filter), topN);
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
