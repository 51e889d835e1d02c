// The console's configuration, read on the server at request time: the pinned
// genesis file (VCR_CONSOLE_GENESIS_FILE) and the replica URLs to inspect
// (VCR_CONSOLE_REPLICAS, comma-separated; default: the genesis addresses).
// The browser parses and checks the genesis itself.

import { readFileSync } from 'node:fs';

export const dynamic = 'force-dynamic';

export function GET(): Response {
  const file = process.env.VCR_CONSOLE_GENESIS_FILE;
  let genesis: string | undefined;
  if (file) {
    try {
      genesis = readFileSync(file, 'utf8');
    } catch (error) {
      return Response.json({ error: `cannot read VCR_CONSOLE_GENESIS_FILE: ${error instanceof Error ? error.message : String(error)}` }, { status: 500 });
    }
  }
  const replicaUrls = (process.env.VCR_CONSOLE_REPLICAS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return Response.json({ genesis, replicaUrls });
}
