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

const SEEN_MAX = 64;

function argOf(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const strategy = argOf('--strategy') as StrategyName | undefined;
const seed = Number(argOf('--seed') ?? '1');
if (strategy === undefined || !STRATEGIES.includes(strategy) || !Number.isSafeInteger(seed)) {
  console.error(`usage: byzantine-replica.ts --config <file> --strategy <${STRATEGIES.join('|')}> --seed <n>`);
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
      outbound: (message, targets) => applyStrategy(strategy, ctx, message, targets),
      inbound: (message) => {
        seen.push(message);
        if (seen.length > SEEN_MAX) seen.shift();
      },
    },
  };
});
