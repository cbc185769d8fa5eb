/**
 * Values in the order they complete, for one consumer: like tokio's
 * `JoinSet::join_next`. The producer pushes `expected` values; iteration ends
 * after the last one.
 */
export class CompletionQueue<T> {
  readonly #expected: number;
  // Values pushed but not yet taken, and the consumer waiting for the next one (at most one).
  readonly #ready: T[] = [];
  #waiter: ((value: IteratorResult<T>) => void) | undefined;
  #pushed = 0;
  #taken = 0;
  #iterating = false;

  constructor(expected: number) {
    this.#expected = expected;
  }

  push(value: T): void {
    if (this.#pushed >= this.#expected) throw new Error('CompletionQueue: more values than expected');
    this.#pushed++;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      this.#taken++;
      waiter({ value, done: false });
    } else {
      this.#ready.push(value);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterating) throw new TypeError('A batch can be iterated only once; keep the outcomes you need');
    this.#iterating = true;
    return { next: () => this.#next() };
  }

  #next(): Promise<IteratorResult<T>> {
    if (this.#taken >= this.#expected) return Promise.resolve({ value: undefined, done: true });
    if (this.#ready.length > 0) {
      this.#taken++;
      return Promise.resolve({ value: this.#ready.shift()!, done: false });
    }
    return new Promise((resolve) => (this.#waiter = resolve));
  }
}
