// The bytes of a file as the chunks it arrived in, held by the engine's
// worker: the engine reads each chunk once and lets it go, and reads rows
// back from here when it shows them (its most expensive conversations, an
// export). Writing the file into the engine's memory as well would hold it
// twice, and memory written the first time costs about 1 ms a MB.

export class HeldFile {
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

  /** Bytes held. */
  get size() {
    return this.#size;
  }

  /** The chunks, in order. */
  get chunks() {
    return this.#chunks;
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
