// A Byzantine replica process for the fault suite:
//   node --import tsx test/faults/byzantine-replica.ts --config <file> --strategy <name> --seed <n>
// It is the real replica process (replica-process.ts: same store, keystore,
// HTTP and peer links) with one of the simulator's strategies
// (packages/consensus/test/sim/adversary.ts) rewriting what it sends. The
// strategy signs its extra messages with the raw key handle, past the
// double-sign guard an honest replica has: that is what a replica whose
// operator turned against the others can do. It cannot sign for others, and
// its links authenticate it, so impersonation arrives as its own messages.

import type { PeerMessage } from '@vcr/consensus';
import { nodeBackend } from '@vcr/crypto-node';
import { runOrExit } from '../../apps/replica/src/replica-process';
import { applyStrategy, STRATEGIES, type StrategyName } from '../../packages/consensus/test/sim/adversary';
import { Rng } from '../../packages/consensus/test/sim/rng';
import { ignoresForwardedRequests, PROCESS_ONLY_STRATEGIES, type ProcessStrategyName } from './process-strategies';

const SEEN_MAX = 64;

function argOf(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const strategy = argOf('--strategy') as ProcessStrategyName | undefined;
const seed = Number(argOf('--seed') ?? '1');
const known: readonly string[] = [...STRATEGIES, ...PROCESS_ONLY_STRATEGIES];
if (strategy === undefined || !known.includes(strategy) || !Number.isSafeInteger(seed)) {
  console.error(`usage: byzantine-replica.ts --config <file> --strategy <${known.join('|')}> --seed <n>`);
  process.exit(2);
}

runOrExit(process.argv, ({ replicaId, membership, key }) => {
  const seen: PeerMessage[] = [];
  const ctx = {
    self: replicaId,
    peers: membership.replicas.map((r) => r.id).filter((id) => id !== replicaId),
    signer: key,
    signing: { backend: nodeBackend, chainId: membership.chainId },
    rng: new Rng(seed),
    seen,
  };
  console.log(JSON.stringify({ replica: replicaId, event: 'byzantine', strategy, seed }));
  return {
    faultInjection: {
      // Process-only strategies send honestly; the simulator's rewrite what is sent.
      outbound: (message, targets) => ((PROCESS_ONLY_STRATEGIES as readonly string[]).includes(strategy) ? targets.map((to) => ({ to, message })) : applyStrategy(strategy as StrategyName, ctx, message, targets)),
      ignoreForwardedRequests: ignoresForwardedRequests(strategy),
      inbound: (message) => {
        seen.push(message);
        if (seen.length > SEEN_MAX) seen.shift();
      },
    },
  };
});
