// A map of serialized answers (or parts of them) whose bytes stay under a
// bound: past it, the oldest entries are dropped first (insertion order, not
// use order, so a hit costs one Map lookup). Keys count toward the bound too.

export class ByteBoundedMap<V> {
  private readonly entries = new Map<string, V>();
  private bytes = 0;

  constructor(
    readonly bytesMax: number,
    private readonly bytesOf: (value: V) => number,
  ) {
    if (!Number.isSafeInteger(bytesMax) || bytesMax < 0) throw new RangeError('ByteBoundedMap bytesMax must be a non-negative integer');
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  /** Keeps the value unless it alone is over the bound; then drops the oldest until the bytes fit. */
  set(key: string, value: V): void {
    const cost = this.bytesOf(value) + key.length;
    if (cost > this.bytesMax) return;
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.bytes -= this.bytesOf(old) + key.length;
    }
    this.entries.set(key, value);
    this.bytes += cost;
    for (const [oldest, dropped] of this.entries) {
      if (this.bytes <= this.bytesMax) break;
      this.entries.delete(oldest);
      this.bytes -= this.bytesOf(dropped) + oldest.length;
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
