// Where the trusted state is persisted between runs: a small async interface
// (browser: IndexedDB or localStorage behind it; Node: ./node's file storage)
// and an in-memory implementation.

export interface TrustStorage {
  /** The text saved last, or undefined when nothing was saved yet. */
  load(): Promise<string | undefined>;
  /** Replaces the saved text; resolves once it is durable. */
  save(text: string): Promise<void>;
}

export class MemoryStorage implements TrustStorage {
  private text: string | undefined;
  saves = 0;

  constructor(initial?: string) {
    this.text = initial;
  }

  async load(): Promise<string | undefined> {
    return this.text;
  }

  async save(text: string): Promise<void> {
    this.text = text;
    this.saves++;
  }
}
