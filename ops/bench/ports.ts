// Free TCP ports on 127.0.0.1 for the clusters the bench starts. Ports are
// taken below Linux's ephemeral range (32768 and up), where outgoing
// connections would otherwise grab them, and each is checked by binding it.
// Another program may still take one between the check and the start: the
// start then fails with "address already in use", and a rerun picks others.

import { createServer } from 'node:net';

const low = 20_000;
const high = 32_000;

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The first of `count` consecutive free ports, from a random start. */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = low + Math.floor(Math.random() * (high - low - count));
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await isFree(p);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports between ${low} and ${high}`);
}
