/**
 * Agent names never enter the ring: records carry a small id from this
 * table, which lives on the main thread of one spawner.
 */
export class NameTable {
  // Invariant: #ids.get(#names[i]) === i.
  readonly #ids = new Map<string, number>();
  readonly #names: string[] = [];

  idOf(name: string): number {
    let id = this.#ids.get(name);
    if (id === undefined) {
      id = this.#names.length;
      this.#names.push(name);
      this.#ids.set(name, id);
    }
    return id;
  }

  nameOf(id: number): string | undefined {
    return this.#names[id];
  }
}
