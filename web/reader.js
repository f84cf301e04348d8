// The module worker that reads a CSV's bytes for the engine (worker.js
// starts it): reading goes on at full speed on this thread while the
// engine parses what already arrived. A file is read in slices, a few at
// a time (faster than its stream); a URL is fetched and its body streamed.
// Nothing here looks at the bytes.
//
// Protocol: worker.js posts { id, file } or { id, url }, { id, ack } (bytes
// it has taken) and { id, cancel: true }; this answers { id, start: { size,
// total } } (size: the exact byte count, 0 when unknown; total: the progress's),
// then { id, chunk } (an ArrayBuffer, transferred) in order, then
// { id, end: true } or { id, error }. At most AHEAD bytes are sent and not
// yet taken: a slow engine holds this reader back, not the tab's memory up.

import { MAX_LOAD_BYTES, stoppedAt, tooLarge } from './limits.js';

/** A file's slices, and how many are read at once. */
const SLICE = 8 << 20;
const IN_FLIGHT = 3;
/** Bytes sent ahead of what the engine has taken. */
const AHEAD = 64 << 20;

const reads = new Map();

class Read {
  constructor(id) {
    this.id = id;
    this.control = new AbortController();
    this.sent = 0;
    this.taken = 0;
    this.wake = null;
  }

  get signal() {
    return this.control.signal;
  }

  /** Sends a chunk, once the engine is less than AHEAD behind. */
  async send(buffer) {
    while (this.sent - this.taken > AHEAD && !this.signal.aborted) await new Promise((resolve) => (this.wake = resolve));
    this.signal.throwIfAborted();
    this.sent += buffer.byteLength;
    self.postMessage({ id: this.id, chunk: buffer }, [buffer]);
  }

  took(bytes) {
    this.taken = bytes;
    this.wake?.();
    this.wake = null;
  }

  cancel() {
    this.control.abort(new Error('cancelled'));
    this.wake?.();
  }
}

/** A file, SLICE bytes at a time, IN_FLIGHT slices asked for at once, sent in order. */
async function readFile(file, read) {
  if (file.size > MAX_LOAD_BYTES) throw tooLarge(file.size);
  self.postMessage({ id: read.id, start: { size: file.size, total: file.size } });
  const slices = Math.ceil(file.size / SLICE);
  const asked = [];
  let next = 0;
  const ask = () => {
    const at = next++ * SLICE;
    const slice = file.slice(at, Math.min(file.size, at + SLICE)).arrayBuffer();
    slice.catch(() => {}); // a failure is seen when it is awaited, in its turn (or is nobody's, once the reading stopped)
    asked.push(slice);
  };
  while (next < Math.min(IN_FLIGHT, slices)) ask();
  while (asked.length) {
    const buffer = await asked.shift();
    read.signal.throwIfAborted();
    if (next < slices) ask();
    await read.send(buffer);
  }
}

/**
 * A URL's body, chunk by chunk. A redirect to another origin is refused: the
 * page asked (or the user agreed) to read this origin, not whichever one it
 * sends us to. A body longer than MAX_LOAD_BYTES is cancelled (it may never
 * end: the tab would buffer it until it died).
 */
async function readUrl(url, read) {
  let response;
  try {
    response = await fetch(url, { signal: read.signal });
  } catch (e) {
    if (read.signal.aborted) throw e;
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
  if (size > MAX_LOAD_BYTES) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge(size);
  }
  self.postMessage({ id: read.id, start: { size, total } });
  const body = response.body ?? new Blob([await response.arrayBuffer()]).stream();
  const reader = body.getReader();
  // A cancelled reader ends its pending read as if the stream were done: checked after the loop.
  read.signal.addEventListener('abort', () => reader.cancel().catch(() => {}), { once: true });
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (loaded + value.byteLength > MAX_LOAD_BYTES) throw stoppedAt(loaded);
      loaded += value.byteLength;
      // A chunk that is a whole buffer moves; a view of a larger one is copied out.
      const whole = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength;
      await read.send(whole ? value.buffer : value.slice().buffer);
    }
    read.signal.throwIfAborted();
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  }
}

self.onmessage = ({ data: { id, file, url, ack, cancel } }) => {
  if (cancel || ack !== undefined) {
    const read = reads.get(id);
    if (cancel) read?.cancel();
    else read?.took(ack);
    return;
  }
  const read = new Read(id);
  reads.set(id, read);
  (file ? readFile(file, read) : readUrl(url, read))
    .then(
      () => self.postMessage({ id, end: true }),
      (e) => read.signal.aborted || self.postMessage({ id, error: e instanceof Error ? e.message : String(e) }),
    )
    .finally(() => reads.delete(id));
};
