// Serialized answers kept under a byte bound, for one state at a time. A read
// answer is a function of the certified block and the committed state it was
// made from, so it is valid exactly as long as both are the latest: the cache
// is keyed by those two objects (by identity, as the node hands them out) and
// empties itself when either changes. Within one state, entries are dropped
// oldest first once the bytes pass the bound (insertion order, not use
// order: a hit then costs one Map lookup, and one state lives only until the
// next block).

export interface CachedAnswer {
  /** The UTF-8 body, sent as is. */
  body: Buffer;
  /** Its ETag, made once with the body (express's weak form, answer-etag.ts). */
  etag: string;
}

export class AnswerCache {
  private readonly answers = new Map<string, CachedAnswer>();
  private bytes = 0;
  private block: object | undefined;
  private state: object | undefined;

  constructor(readonly bytesMax: number) {
    if (!Number.isSafeInteger(bytesMax) || bytesMax < 0) throw new RangeError('AnswerCache bytesMax must be a non-negative integer');
  }

  /** Bytes of the bodies held now. */
  get size(): { entries: number; bytes: number } {
    return { entries: this.answers.size, bytes: this.bytes };
  }

  /** The answer made under exactly this block and state, if kept. */
  get(block: object, state: object, key: string): CachedAnswer | undefined {
    if (block !== this.block || state !== this.state) return undefined;
    return this.answers.get(key);
  }

  /** Keeps an answer made under this block and state; a new block or state first drops every answer of the old one. */
  set(block: object, state: object, key: string, answer: CachedAnswer): void {
    if (block !== this.block || state !== this.state) {
      this.answers.clear();
      this.bytes = 0;
      this.block = block;
      this.state = state;
    }
    const cost = answer.body.length + key.length;
    if (cost > this.bytesMax) return;
    const old = this.answers.get(key);
    if (old !== undefined) {
      this.answers.delete(key);
      this.bytes -= old.body.length + key.length;
    }
    this.answers.set(key, answer);
    this.bytes += cost;
    for (const [oldest, dropped] of this.answers) {
      if (this.bytes <= this.bytesMax) break;
      this.answers.delete(oldest);
      this.bytes -= dropped.body.length + oldest.length;
    }
  }
}
