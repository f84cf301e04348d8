// The page's work in flight, counted in one place. Every engine request,
// every task deferred to let the browser paint (a chart), and every run
// waiting for a pause (a refresh while prices are typed) registers here when
// it starts and leaves in a `finally`: the count that tests and scripts wait
// on (<body data-pending>) is the size of that set, never a number kept by
// hand, so it cannot drift when a request fails or a card is removed.

export class Busy {
  #work = new Set();
  #timers = new Map();
  #onChange;

  /** onChange(pending) is called each time work starts or ends. */
  constructor(onChange = () => {}) {
    this.#onChange = onChange;
  }

  /** How many pieces of work are in flight. */
  get pending() {
    return this.#work.size;
  }

  /** Runs fn (sync or async) as one piece of work; settles as fn does. */
  async run(fn) {
    const token = this.#enter();
    try {
      return await fn();
    } finally {
      this.#leave(token);
    }
  }

  /** Runs fn in a task of its own, so the browser handles input and paints first. */
  task(fn) {
    return this.run(async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      return fn();
    });
  }

  /**
   * Runs fn after `delay` ms, replacing a run of the same key not yet started.
   * The wait counts as work; fn's failure goes to onError.
   */
  later(key, fn, delay, onError) {
    this.cancel(key);
    const token = this.#enter();
    const timer = setTimeout(async () => {
      this.#timers.delete(key);
      try {
        await fn();
      } catch (e) {
        onError(e);
      } finally {
        this.#leave(token);
      }
    }, delay);
    this.#timers.set(key, { timer, token });
  }

  /** Drops a run of `key` not yet started (it will not run). */
  cancel(key) {
    const waiting = this.#timers.get(key);
    if (!waiting) return;
    clearTimeout(waiting.timer);
    this.#timers.delete(key);
    this.#leave(waiting.token);
  }

  #enter() {
    const token = {};
    this.#work.add(token);
    this.#onChange(this.pending);
    return token;
  }

  #leave(token) {
    if (this.#work.delete(token)) this.#onChange(this.pending);
  }
}
