/**
 * The harness's outcomes as an async iterable, in the order they are pushed.
 * One iterator; what it has not read yet is kept until it does.
 */
export class OutcomeQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #head = 0;
  #waiting: ((r: IteratorResult<T>) => void) | undefined;
  #ended = false;
  #iterated = false;

  push(item: T): void {
    if (this.#waiting) {
      const resolve = this.#waiting;
      this.#waiting = undefined;
      resolve({ value: item, done: false });
    } else this.#items.push(item);
  }

  /** No more items: the iterator ends once it has read what is queued. */
  end(): void {
    this.#ended = true;
    if (this.#waiting) {
      const resolve = this.#waiting;
      this.#waiting = undefined;
      resolve({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterated) throw new TypeError('A harness can be iterated once');
    this.#iterated = true;
    return {
      next: () => {
        if (this.#head < this.#items.length) {
          const value = this.#items[this.#head]!;
          this.#items[this.#head++] = undefined as T; // let it go
          if (this.#head === this.#items.length) {
            this.#items = [];
            this.#head = 0;
          }
          return Promise.resolve({ value, done: false });
        }
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.#waiting = resolve));
      },
    };
  }
}
