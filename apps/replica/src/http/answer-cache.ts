// Serialized answers kept under a byte bound, for one state at a time. A read
// answer is a function of the certified block and the committed state it was
// made from, so it is valid exactly as long as both are the latest: the cache
// is keyed by those two objects (by identity, as the node hands them out) and
// empties itself when either changes. Within one state the bytes stay under
// the bound, the oldest answers dropped first (byte-bounded-map.ts; one state
// lives only until the next block).

import { ByteBoundedMap } from './byte-bounded-map';

export interface CachedAnswer {
  /** The UTF-8 body, sent as is. */
  body: Buffer;
  /** Its ETag, made once with the body (express's weak form, answer-etag.ts). */
  etag: string;
}

export class AnswerCache {
  private readonly answers: ByteBoundedMap<CachedAnswer>;
  private block: object | undefined;
  private state: object | undefined;

  constructor(bytesMax: number) {
    this.answers = new ByteBoundedMap(bytesMax, (a) => a.body.length);
  }

  /** Entries and bytes (bodies and keys) held now. */
  get size(): { entries: number; bytes: number } {
    return this.answers.size;
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
      this.block = block;
      this.state = state;
    }
    this.answers.set(key, answer);
  }
}
