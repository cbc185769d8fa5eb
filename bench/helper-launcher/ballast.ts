/**
 * Grows this process's resident memory with real, touched allocations:
 * Buffers filled with a pattern (so every page is really mapped, not a
 * zero page) and kept referenced until released.
 */
const CHUNK = 64 * 1024 * 1024;

export class Ballast {
  // Kept referenced so the pages stay resident.
  readonly #chunks: Buffer[] = [];

  /** Allocates and touches chunks until the process RSS reaches `bytes` (no-op if it already has). */
  growTo(bytes: number): void {
    let i = this.#chunks.length;
    while (process.memoryUsage.rss() < bytes) {
      const chunk = Buffer.allocUnsafeSlow(Math.min(CHUNK, Math.max(4096, bytes - process.memoryUsage.rss())));
      chunk.fill(i++ & 0xff || 1);
      this.#chunks.push(chunk);
    }
  }

  release(): void {
    this.#chunks.length = 0;
  }
}
