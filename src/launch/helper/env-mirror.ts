/**
 * Keeps a helper's environment equal to the host's. Agents inherit the
 * launching process's environment (execa's extendEnv), and a host may set
 * or delete variables after its helper started; a direct launch would see
 * the change, so a helper launch must too.
 */
export class EnvMirror {
  // The environment the helper holds, as last sent (or given at its start); #size is its key count.
  #sent: Record<string, string>;
  #size: number;

  constructor() {
    this.#sent = snapshot();
    this.#size = Object.keys(this.#sent).length;
  }

  /** The environment the helper holds now. */
  get sent(): Record<string, string> {
    return this.#sent;
  }

  /** The whole new environment if process.env changed since the last call, else undefined. */
  update(): Record<string, string> | undefined {
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
