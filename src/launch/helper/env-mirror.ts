/**
 * Keeps a helper's environment equal to the host's. Agents inherit the
 * launching process's environment (their own env laid over it), and a host may set
 * or delete variables after its helper started; a direct launch would see
 * the change, so a helper launch must too.
 *
 * Reading process.env is slow (every key goes through libc's environ, about
 * 0.1 ms for 40 variables), so it is compared once per event-loop turn, not
 * once per launch. Launches always run after the code that queued them
 * (spawnBatch defers them), so a change made before spawnBatch reaches its
 * agents in both launchers; only a change made between two launches of the
 * same turn could be missed until the next turn.
 */
export class EnvMirror {
  // The environment the helper holds, as last sent (or given at its start); #size is its key count.
  #sent: Record<string, string>;
  #size: number;
  // True from a comparison until the end of the event-loop turn it was made in.
  #checked = false;

  constructor() {
    this.#sent = snapshot();
    this.#size = Object.keys(this.#sent).length;
  }

  /** The environment the helper holds now. */
  get sent(): Record<string, string> {
    return this.#sent;
  }

  /** The whole new environment if process.env changed since the last comparison, else undefined. */
  update(): Record<string, string> | undefined {
    if (this.#checked) return undefined;
    this.#checked = true;
    setImmediate(() => (this.#checked = false)).unref();
    if (this.#same()) return undefined;
    this.#sent = snapshot();
    this.#size = Object.keys(this.#sent).length;
    return this.#sent;
  }

  #same(): boolean {
    let count = 0;
    for (const key in process.env) {
      if (this.#sent[key] !== process.env[key]) return false;
      count++;
    }
    return count === this.#size;
  }
}

function snapshot(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  return env;
}
