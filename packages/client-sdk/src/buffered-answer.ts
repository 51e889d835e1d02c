// An HTTP answer whose body is already in memory: what nodeFetch gives (it
// reads the body on the socket anyway) and what an in-memory transport gives.
// It has the parts of a WHATWG Response that the SDK and its tools read
// (FetchAnswer in http.ts), and the SDK reads its bytes without a stream.
// Building a real Response for each answer (its Headers, its body stream)
// cost more than the SDK's whole verification of a read on the bench machine.

import type { FetchAnswer } from './http';

const decoder = new TextDecoder();

export class BufferedAnswer implements FetchAnswer {
  readonly type = 'basic' as const;
  private readonly lowerCaseHeaders: Map<string, string>;

  /** `headers`: names in any case; a list is joined with ", " as Headers.get does. */
  constructor(
    readonly status: number,
    readonly bodyBytes: Uint8Array,
    headers: Iterable<readonly [string, string | readonly string[] | undefined]> = [],
  ) {
    if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError(`status ${status} is outside 200..599`);
    this.lowerCaseHeaders = new Map();
    for (const [name, value] of headers) {
      if (value === undefined) continue;
      this.lowerCaseHeaders.set(name.toLowerCase(), typeof value === 'string' ? value : value.join(', '));
    }
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  readonly headers = {
    get: (name: string): string | null => this.lowerCaseHeaders.get(name.toLowerCase()) ?? null,
  };

  /** A stream over the bytes, made only when asked for (tools that read answers as streams). */
  get body(): ReadableStream<Uint8Array> {
    const bytes = this.bodyBytes;
    return new ReadableStream<Uint8Array>({
      start(controller) {
        if (bytes.length > 0) controller.enqueue(new Uint8Array(bytes));
        controller.close();
      },
    });
  }

  /** A copy in an ArrayBuffer of its own (the bytes may be a view into a larger shared pool, whose slice() would not copy). */
  async arrayBuffer(): Promise<ArrayBuffer> {
    return new Uint8Array(this.bodyBytes).buffer;
  }

  async text(): Promise<string> {
    return decoder.decode(this.bodyBytes);
  }

  async json(): Promise<unknown> {
    return JSON.parse(decoder.decode(this.bodyBytes));
  }
}
