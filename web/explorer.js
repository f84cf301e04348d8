// The page's handle on the engine in worker.js: each method posts one request
// and resolves with the worker's answer, JSON parsed (money stays in exact
// decimal strings: the page never does arithmetic on it). Given a Busy
// (busy.js), every request counts as work in flight until it is answered.

export class ExplorerClient {
  #worker;
  #next = 1;
  #pending = new Map();
  #busy;

  constructor(workerUrl = new URL('./worker.js', import.meta.url), { busy = null } = {}) {
    this.#busy = busy;
    this.#worker = new Worker(workerUrl, { type: 'module' });
    this.#worker.onmessage = ({ data }) => this.#receive(data);
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#failAll(new Error(`the engine's worker failed to start: ${event.message || 'unknown error'}`));
    };
  }

  #receive({ id, ok, result, error, progress }) {
    const call = this.#pending.get(id);
    if (!call) return;
    if (progress) {
      call.onProgress?.(progress);
      return;
    }
    this.#pending.delete(id);
    if (ok) call.resolve(result);
    else call.reject(new Error(error));
  }

  #failAll(error) {
    for (const call of this.#pending.values()) call.reject(error);
    this.#pending.clear();
  }

  #call(op, args, onProgress, transfer = []) {
    const id = this.#next++;
    const answer = new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onProgress });
      this.#worker.postMessage({ id, op, args }, transfer);
    });
    return this.#busy ? this.#busy.run(() => answer) : answer;
  }

  /**
   * Opens a CSV from { file } (a File), { url } or { buffer } (an ArrayBuffer,
   * transferred). Resolves to { info, bytes, parse_ms }; info is Explorer.info().
   */
  async open(source, onProgress) {
    const transfer = source.buffer ? [source.buffer] : [];
    const answer = await this.#call('open', source, onProgress, transfer);
    return { ...answer, info: JSON.parse(answer.info) };
  }

  /** Explorer.views(filter, topN), parsed. */
  async views(filter, topN) {
    return JSON.parse(await this.#call('views', { filter, topN }));
  }

  /** Explorer.headline(filter), parsed: the headline of views(filter) alone, for less work. */
  async headline(filter) {
    return JSON.parse(await this.#call('headline', { filter }));
  }

  /**
   * Explorer.breakdown(filter, by, top, search), parsed: the `top` most
   * expensive users, bots or models (`by`) whose name contains `search`.
   */
  async breakdown(filter, by, top, search = '') {
    return JSON.parse(await this.#call('breakdown', { filter, by, top, search }));
  }

  /** Explorer.accuracy(filter, top), parsed: the recorded price against the billed estimate (a detail CSV). */
  async accuracy(filter, top) {
    return JSON.parse(await this.#call('accuracy', { filter, top }));
  }

  /** Explorer.whatif(filter, scenario), parsed; scenario = { input_per_1k, output_per_1k, batch, batch_multiplier }. */
  async whatif(filter, scenario) {
    return JSON.parse(await this.#call('whatif', { filter, scenario }));
  }

  /** Explorer.whatif_totals(filter, scenarios), parsed: each scenario's total cost (a decimal string), null for one that cannot be priced. */
  async whatifTotals(filter, scenarios) {
    return JSON.parse(await this.#call('whatifTotals', { filter, scenarios }));
  }

  /** The re-priced rows as CSV bytes (a Uint8Array). */
  whatifCsv(filter, scenario) {
    return this.#call('whatifCsv', { filter, scenario });
  }

  /**
   * The price catalog `text` (web/prices.json's shape) read and checked by
   * the core: { models, batch_multiplier, dropped, warnings, ...its other
   * fields }. Rejects, with the core's message, when no model is usable.
   */
  async catalog(text) {
    return JSON.parse(await this.#call('catalog', { text }));
  }

  /** For each text, whether it is a price the engine takes as typed: a plain non-negative decimal. */
  plainPrices(texts) {
    return this.#call('plainPrices', { texts });
  }

  /** The batch multiplier the engine applies when a catalog names none. */
  defaultBatchMultiplier() {
    return this.#call('defaultBatchMultiplier', {});
  }

  /** The engine's version. */
  version() {
    return this.#call('version', {});
  }

  terminate() {
    this.#worker.terminate();
    this.#failAll(new Error('the engine was stopped'));
  }
}
