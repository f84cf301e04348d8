// Where the engine reads a file's rows back from: it reads each chunk once
// and lets it go, and reads the rows it shows (its most expensive
// conversations, an export) back from here by their offsets. Writing the
// whole file into the engine's memory would cost about 1 ms a MB (memory
// written the first time) and hold the file in the tab.
//
// A chosen file is read back from the file itself (ChosenFile: the tab
// holds none of it); a downloaded one is kept as the chunks it arrived in
// (HeldFile). Both answer read(offset, length) with a Uint8Array.

/**
 * A file chosen on this machine, read back a slice at a time (the worker
 * may read synchronously). If the file can no longer be read (changed or
 * removed on disk), `failed` says so and the read answers no bytes: the
 * engine's call fails, and the worker reports this message instead.
 */
export class ChosenFile {
  #file;
  failed = null;

  constructor(file) {
    this.#file = file;
  }

  read(offset, length) {
    try {
      return new Uint8Array(new FileReaderSync().readAsArrayBuffer(this.#file.slice(offset, offset + length)));
    } catch (e) {
      const gone = e instanceof DOMException && (e.name === 'NotReadableError' || e.name === 'NotFoundError');
      this.failed = gone
        ? `${this.#file.name} can no longer be read: it changed on disk (or was removed) after it was opened. Open it again.`
        : `${this.#file.name} could not be read back: ${e instanceof Error ? e.message : e}`;
      return new Uint8Array(0);
    }
  }
}

/** A file as the chunks it arrived in, kept. */
export class HeldFile {
  failed = null;

  /** The chunks, and where each starts in the file. */
  #chunks = [];
  #starts = [];
  #size = 0;

  /** The file's next bytes. */
  push(chunk) {
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#starts.push(this.#size);
    this.#size += chunk.byteLength;
  }

  /**
   * The `length` bytes from `offset` (fewer at the end of the file): a view
   * of one chunk when they are in one, else a copy.
   */
  read(offset, length) {
    const end = Math.min(this.#size, offset + length);
    if (!(offset >= 0 && offset < end)) return new Uint8Array(0);
    // The last chunk starting at or before `offset`.
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    const first = this.#chunks[lo];
    const from = offset - this.#starts[lo];
    if (from + (end - offset) <= first.byteLength) return first.subarray(from, from + (end - offset));
    const out = new Uint8Array(end - offset);
    let at = 0;
    for (let k = lo; at < out.length; k++) {
      const chunk = this.#chunks[k];
      const part = chunk.subarray(k === lo ? from : 0, Math.min(chunk.byteLength, (k === lo ? from : 0) + out.length - at));
      out.set(part, at);
      at += part.byteLength;
    }
    return out;
  }
}
