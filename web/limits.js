// How large a CSV the explorer opens, and what it says of larger ones: one
// home for the reader (reader.js, which refuses them) and the engine
// (worker.js, which says so when its memory runs out).

import { bytes as showBytes } from './format.js';

/**
 * The largest CSV the page opens, in bytes. The engine is 32-bit WebAssembly
 * (4 GiB of memory, offsets into the file in 32 bits); it keeps about 50
 * bytes of columns per row (90 for a detail CSV) and the users, not the
 * file, which a chosen file leaves on disk and a download keeps in the tab
 * (filebytes.js). Measured in Chromium when the engine still held the file
 * too: 1.5 GB of 93-byte rows and 1.9 GB of 169-byte rows (Tally's are 150
 * to 200) loaded, 2.2 GB ran out of memory; the limit stays there. Larger
 * files: `tally whatif`.
 */
export const MAX_LOAD_BYTES = 1_500_000_000;

/** What to do instead, said with every "too large". */
export const LARGER_FILES = `the explorer holds at most ${showBytes(MAX_LOAD_BYTES)} (tally whatif, on the command line, re-prices files of any size)`;

/** The error for a file whose size, known before reading, is over the limit. */
export function tooLarge(size) {
  return new Error(`the file is ${showBytes(size)}, too large for the browser: ${LARGER_FILES}`);
}

/** The error for a stream found over the limit while it is read. */
export function stoppedAt(loaded) {
  return new Error(`stopped after reading ${showBytes(loaded)}: the file is too large for the browser: ${LARGER_FILES}`);
}
