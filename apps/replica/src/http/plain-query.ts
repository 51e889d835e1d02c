// The one query string the fast paths (fast-read.ts, fast-write.ts) take
// themselves: none, or exactly `proveFrom=<decimal below 2^63>`. Anything
// else goes to express, whose zod schemas answer it.

const PROVE_FROM = /^proveFrom=(0|[1-9][0-9]{0,18})$/;
const U63 = 1n << 63n;

/** The path and proveFrom of a URL in plain form, or undefined when the query is anything else. */
export function plainUrl(url: string): { path: string; proveFrom: bigint | undefined } | undefined {
  const q = url.indexOf('?');
  if (q < 0) return { path: url, proveFrom: undefined };
  const m = PROVE_FROM.exec(url.slice(q + 1));
  if (m === null) return undefined;
  const proveFrom = BigInt(m[1] as string);
  return proveFrom < U63 ? { path: url.slice(0, q), proveFrom } : undefined;
}
