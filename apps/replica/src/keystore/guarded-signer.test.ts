import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeBackend } from '@vcr/crypto-node';
import { signingPayload } from '@vcr/consensus';
import { type CanonicalValue, concatBytes, encodeCanonical, type SignatureKind, signingBytes, verifyEd25519 } from '@vcr/proofs';
import { ReplicaStore, StorageError } from '../storage/replica-store';
import {
  createGuardedSigner,
  type JournalEntry,
  journalEntryToJson,
  type KeyHandle,
  MemoryKeyStore,
  MemorySignerJournal,
  type SignerJournal,
  SignerRefusal,
  type SignerRefusalCode,
  verifyJournal,
} from './index';

const chainId = 'vcr-test';
const hashA = new Uint8Array(32).fill(0xaa);
const hashB = new Uint8Array(32).fill(0xbb);
const noSignature = new Uint8Array(64);

// Signing bytes exactly as the consensus core builds them (packages/consensus/src/messages.ts).
function prepare(view: bigint, seq: bigint, headerHash: Uint8Array, epoch = 0n): Uint8Array {
  return signingBytes({ kind: 'prepare', chainId, epoch }, signingPayload(nodeBackend, { type: 'prepare', epoch, from: 'r1', view, seq, headerHash, signature: noSignature }));
}
function commit(view: bigint, seq: bigint, headerHash: Uint8Array, epoch = 0n): Uint8Array {
  return signingBytes({ kind: 'commit', chainId, epoch }, signingPayload(nodeBackend, { type: 'commit', epoch, from: 'r1', view, seq, headerHash, signature: noSignature }));
}
function checkpoint(seq: bigint, headerHash: Uint8Array, epoch = 0n): Uint8Array {
  return signingBytes({ kind: 'checkpoint', chainId, epoch }, signingPayload(nodeBackend, { type: 'checkpoint', epoch, from: 'r1', seq, headerHash, signature: noSignature }));
}
/** The pre-prepare payload directly: signingPayload would need a whole header to hash. */
function prePrepare(view: bigint, seq: bigint, headerHash: Uint8Array, epoch = 0n): Uint8Array {
  return signingBytes({ kind: 'pre-prepare', chainId, epoch }, { view, seq, headerHash });
}
function viewChange(newView: bigint, epoch = 0n): Uint8Array {
  return signingBytes(
    { kind: 'view-change', chainId, epoch },
    signingPayload(nodeBackend, { type: 'view-change', epoch, from: 'r1', newView, checkpoint: { seq: 0n, headerHash: hashA, proof: [] }, prepared: [], signature: noSignature }),
  );
}

const dirs: string[] = [];
const stores: ReplicaStore[] = [];
function freshPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vcr-guard-'));
  dirs.push(dir);
  return join(dir, 'replica.sqlite');
}
function openStore(path: string): ReplicaStore {
  const store = new ReplicaStore(path);
  stores.push(store);
  return store;
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** An inner handle that counts its signatures, to show a refusal never reaches the key. */
function countingKey(): { key: KeyHandle; count: () => number } {
  const keys = new MemoryKeyStore();
  const raw = keys.importSeed('r1', new Uint8Array(32).fill(1));
  let n = 0;
  const key: KeyHandle = {
    label: raw.label,
    publicKey: raw.publicKey,
    sign: (bytes) => {
      n++;
      return raw.sign(bytes);
    },
  };
  return { key, count: () => n };
}

function refusalCode(action: () => unknown): SignerRefusalCode | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof SignerRefusal) return error.code;
    throw error;
  }
  return undefined;
}

const journals: { name: string; open: () => SignerJournal }[] = [
  { name: 'MemorySignerJournal', open: () => new MemorySignerJournal() },
  { name: 'ReplicaStore (SQLite file)', open: () => openStore(freshPath()) },
];

describe.each(journals)('double-sign guard over $name', ({ open }) => {
  function setup() {
    const { key, count } = countingKey();
    const journal = open();
    const guard = createGuardedSigner(key, journal, { chainId, backend: nodeBackend });
    return { key, count, journal, guard, all: () => journal.list(0n, 1000) };
  }

  it('keeps the inner handle label and public key, and its signatures verify', () => {
    const { key, guard } = setup();
    expect(guard.label).toBe(key.label);
    expect(guard.publicKey).toEqual(key.publicKey);
    const bytes = prepare(0n, 1n, hashA);
    expect(verifyEd25519(nodeBackend, guard.sign(bytes), bytes, guard.publicKey)).toBe(true);
  });

  it('a re-sign of the same vote returns the identical signature and adds no entry', () => {
    const { guard, count, all } = setup();
    const first = guard.sign(prepare(0n, 1n, hashA));
    const again = guard.sign(prepare(0n, 1n, hashA));
    expect(again).toEqual(first);
    expect(all()).toHaveLength(1);
    expect(count()).toBe(1);
  });

  it('refuses a second digest for a slot it signed, for every vote kind and checkpoints, without asking the key', () => {
    const { guard, count, all } = setup();
    guard.sign(prePrepare(0n, 1n, hashA));
    guard.sign(prepare(0n, 1n, hashA));
    guard.sign(commit(0n, 1n, hashA));
    guard.sign(checkpoint(10n, hashA));
    const before = count();
    expect(refusalCode(() => guard.sign(prePrepare(0n, 1n, hashB)))).toBe('conflicting');
    expect(refusalCode(() => guard.sign(prepare(0n, 1n, hashB)))).toBe('conflicting');
    expect(refusalCode(() => guard.sign(commit(0n, 1n, hashB)))).toBe('conflicting');
    expect(refusalCode(() => guard.sign(checkpoint(10n, hashB)))).toBe('conflicting');
    expect(count()).toBe(before);
    expect(all()).toHaveLength(4);
  });

  it('refuses a vote in a lower view or a lower epoch than one it already voted in', () => {
    const { guard, all } = setup();
    guard.sign(prepare(2n, 5n, hashA));
    expect(refusalCode(() => guard.sign(prepare(1n, 6n, hashA)))).toBe('backwards');
    // The rule is per key, across vote kinds.
    expect(refusalCode(() => guard.sign(commit(1n, 4n, hashA)))).toBe('backwards');
    guard.sign(commit(0n, 1n, hashA, 1n));
    expect(refusalCode(() => guard.sign(prepare(9n, 7n, hashA, 0n)))).toBe('backwards');
    expect(all()).toHaveLength(2);
  });

  it('signs a prepare for an old seq re-proposed in a higher view, and the same view again', () => {
    const { guard, all } = setup();
    guard.sign(prepare(0n, 3n, hashA));
    guard.sign(commit(0n, 3n, hashA));
    expect(() => guard.sign(prepare(1n, 3n, hashB))).not.toThrow();
    expect(() => guard.sign(prePrepare(1n, 4n, hashB))).not.toThrow();
    expect(() => guard.sign(prepare(1n, 5n, hashB))).not.toThrow();
    // A new epoch may start its views again from 0.
    expect(() => guard.sign(prepare(0n, 1n, hashA, 1n))).not.toThrow();
    expect(all().map((e) => [e.kind, e.epoch, e.view, e.seq])).toEqual([
      ['prepare', 0n, 0n, 3n],
      ['commit', 0n, 0n, 3n],
      ['prepare', 0n, 1n, 3n],
      ['pre-prepare', 0n, 1n, 4n],
      ['prepare', 0n, 1n, 5n],
      ['prepare', 1n, 0n, 1n],
    ]);
  });

  it('journals other kinds every time, with view and seq null and the hash of the signed bytes as digest', () => {
    const { guard, all } = setup();
    const bytes = viewChange(3n);
    guard.sign(bytes);
    guard.sign(bytes);
    guard.sign(signingBytes({ kind: 'epoch-accept', chainId, epoch: 4n }, { membershipHash: hashA }));
    const entries = all();
    expect(entries.map((e) => [e.kind, e.epoch, e.view, e.seq])).toEqual([
      ['view-change', 0n, null, null],
      ['view-change', 0n, null, null],
      ['epoch-accept', 4n, null, null],
    ]);
    expect(entries[0]?.digest).toEqual(nodeBackend.sha256(bytes));
    expect(entries[0]?.signedBytesHash).toEqual(nodeBackend.sha256(bytes));
  });

  it('refuses bytes that are not a domain-separated message for its chain, without asking the key', () => {
    const { guard, count, all } = setup();
    const good = prepare(0n, 1n, hashA);
    const tag = new TextEncoder().encode('vcr/v1/prepare');
    const unparseable: Uint8Array[] = [
      new Uint8Array(0),
      new TextEncoder().encode('hello'),
      good.subarray(0, 10),
      good.subarray(0, good.length - 1),
      signingBytes({ kind: 'prepare', chainId: 'another-chain', epoch: 0n }, { view: 0n, seq: 1n, headerHash: hashA }),
      // An unknown tag of the right shape.
      concatBytes(Uint8Array.of(13), new TextEncoder().encode('vcr/v1/weird!'), good.subarray(1 + tag.length)),
      // Non-canonical: a trailing byte after the message.
      concatBytes(good, Uint8Array.of(0)),
      // A prepare with an extra key, a short headerHash, a negative view.
      signingBytes({ kind: 'prepare', chainId, epoch: 0n }, { view: 0n, seq: 1n, headerHash: hashA, extra: 1n }),
      signingBytes({ kind: 'prepare', chainId, epoch: 0n }, { view: 0n, seq: 1n, headerHash: hashA.subarray(0, 31) }),
      signingBytes({ kind: 'prepare', chainId, epoch: 0n }, { view: -1n, seq: 1n, headerHash: hashA }),
      // A commit named with the prepare's fields.
      signingBytes({ kind: 'commit', chainId, epoch: 0n }, { view: 0n, seq: 1n, headerHash: hashA }),
      // Epoch and view past what the journal can store.
      signingBytes({ kind: 'prepare', chainId, epoch: 1n << 63n }, { view: 0n, seq: 1n, headerHash: hashA }),
      signingBytes({ kind: 'prepare', chainId, epoch: 0n }, { view: 1n << 63n, seq: 1n, headerHash: hashA }),
    ];
    for (const bytes of unparseable) expect(refusalCode(() => guard.sign(bytes)), `bytes ${Buffer.from(bytes).toString('hex').slice(0, 80)}`).toBe('unparseable');
    expect(count()).toBe(0);
    expect(all()).toHaveLength(0);
  });

  it('once the journal records a removal, it refuses every kind, in every epoch, even a re-sign of a vote it made, without asking the key', () => {
    const { guard, count, all, journal } = setup();
    const made = guard.sign(prepare(0n, 1n, hashA));
    if (journal instanceof MemorySignerJournal) journal.markRemoved(1n);
    else (journal as ReplicaStore).markRemoved(1n);
    expect(journal.removedAtEpoch()).toBe(1n);
    const asked = [prepare(0n, 1n, hashA), prepare(0n, 2n, hashA), commit(0n, 1n, hashA), checkpoint(8n, hashA), prePrepare(1n, 3n, hashA, 1n), commit(0n, 3n, hashA, 2n), viewChange(1n), viewChange(0n, 1n)];
    for (const bytes of asked) expect(refusalCode(() => guard.sign(bytes))).toBe('removed');
    expect(() => guard.sign(viewChange(2n))).toThrow(/removed from the membership at epoch 1 and signs nothing after it/);
    expect(count()).toBe(1);
    expect(all().map((e) => e.signature)).toEqual([made]);
  });

  it('the refusal message names the slot and both digests', () => {
    const { guard } = setup();
    guard.sign(prepare(4n, 9n, hashA));
    expect(() => guard.sign(prepare(4n, 9n, hashB))).toThrow(/prepare epoch 0 view 4 seq 9 was already signed for a{64}.*now asked for b{64}.*must stop rather than equivocate/);
  });
});

/** A journal with every shape of entry in it. */
function sampleJournal(journal: SignerJournal): JournalEntry[] {
  const { key } = countingKey();
  const guard = createGuardedSigner(key, journal, { chainId, backend: nodeBackend });
  guard.sign(prePrepare(0n, 1n, hashA));
  guard.sign(prepare(0n, 2n, hashA));
  guard.sign(commit(0n, 1n, hashA));
  guard.sign(checkpoint(1n, hashA));
  guard.sign(viewChange(1n));
  guard.sign(prepare(1n, 2n, hashB));
  guard.sign(commit(1n, 2n, hashB));
  return journal.list(0n, 100);
}

/** Copies an entry, so a test can damage it without touching the journal. */
function copyEntry(e: JournalEntry, change: Partial<JournalEntry> = {}): JournalEntry {
  return {
    ...e,
    digest: e.digest.slice(),
    signedBytesHash: e.signedBytesHash.slice(),
    signature: e.signature.slice(),
    prevEntryHash: e.prevEntryHash.slice(),
    entryHash: e.entryHash.slice(),
    ...change,
  };
}

const BYTE_FIELDS = ['digest', 'signedBytesHash', 'signature', 'prevEntryHash', 'entryHash'] as const;

describe('signer journal on a real SQLite file', () => {
  it('survives reopening the store: a new guard over it still refuses a conflicting vote and a backwards one', () => {
    const path = freshPath();
    const { key } = countingKey();
    const before = new ReplicaStore(path);
    const first = createGuardedSigner(key, before, { chainId, backend: nodeBackend });
    const signature = first.sign(prepare(3n, 7n, hashA));
    first.sign(commit(3n, 7n, hashA));
    before.close();

    // "Restart": a new process would open the same file and wrap the same key again.
    const after = openStore(path);
    const second = createGuardedSigner(key, after, { chainId, backend: nodeBackend });
    expect(refusalCode(() => second.sign(prepare(3n, 7n, hashB)))).toBe('conflicting');
    expect(refusalCode(() => second.sign(commit(3n, 7n, hashB)))).toBe('conflicting');
    expect(refusalCode(() => second.sign(prepare(2n, 8n, hashA)))).toBe('backwards');
    expect(second.sign(prepare(3n, 7n, hashA))).toEqual(signature);
    expect(after.list(0n, 10)).toHaveLength(2);
    expect(after.highestVote()).toEqual({ epoch: 0n, view: 3n });
  });

  it('a recorded removal survives reopening the store (the first epoch recorded stays), and a new guard over it refuses', () => {
    const path = freshPath();
    const { key, count } = countingKey();
    const before = new ReplicaStore(path);
    before.beginGroup();
    before.markRemoved(3n);
    before.markRemoved(5n);
    before.commitGroup();
    before.close();
    const after = openStore(path);
    expect(after.removedAtEpoch()).toBe(3n);
    const guard = createGuardedSigner(key, after, { chainId, backend: nodeBackend });
    expect(refusalCode(() => guard.sign(prepare(0n, 1n, hashA, 4n)))).toBe('removed');
    expect(count()).toBe(0);
  });

  it('the store refuses an entry that does not extend the chain', () => {
    const store = openStore(freshPath());
    const [e0, e1] = sampleJournal(new MemorySignerJournal());
    if (e0 === undefined || e1 === undefined) throw new Error('sample journal too short');
    expect(() => store.append(e1)).toThrow(StorageError);
    store.append(e0);
    expect(() => store.append(e0)).toThrow(StorageError);
    expect(() => store.append(copyEntry(e1, { prevEntryHash: new Uint8Array(32) }))).toThrow(StorageError);
    store.append(e1);
    expect(store.list(0n, 10)).toEqual([e0, e1]);
    expect(store.list(1n, 1)).toEqual([e1]);
    expect(store.list(2n, 10)).toEqual([]);
  });

  it('verifyJournal accepts a real journal, also page by page', () => {
    const store = openStore(freshPath());
    const entries = sampleJournal(store);
    expect(entries).toHaveLength(7);
    expect(entries[0]?.prevEntryHash).toEqual(new Uint8Array(32));
    const whole = verifyJournal(entries, nodeBackend);
    expect(whole).toMatchObject({ ok: true, count: 7 });
    const head = whole.ok ? whole.head : undefined;
    expect(head?.index).toBe(6n);
    const page1 = store.list(0n, 3);
    const page2 = store.list(3n, 500);
    const first = verifyJournal(page1, nodeBackend);
    expect(first.ok).toBe(true);
    expect(verifyJournal(page2, nodeBackend, { ...(first.ok && first.head ? { after: first.head } : {}), ...(head ? { head } : {}) })).toMatchObject({ ok: true, count: 4 });
    // A page that does not start at 0 needs the entry before it.
    expect(verifyJournal(page2, nodeBackend)).toMatchObject({ ok: false, reason: 'index-gap' });
  });

  it('verifyJournal fails when any byte of any entry is flipped', () => {
    const entries = sampleJournal(openStore(freshPath()));
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as JournalEntry;
      for (const field of BYTE_FIELDS) {
        for (let b = 0; b < entry[field].length; b++) {
          const damaged = copyEntry(entry);
          const bytes = damaged[field];
          bytes[b] = (bytes[b] as number) ^ 0x01;
          const copy = entries.slice();
          copy[i] = damaged;
          const verdict = verifyJournal(copy, nodeBackend);
          if (verdict.ok) expect.fail(`flipping byte ${b} of ${field} in entry ${i} went unnoticed`);
        }
      }
    }
  });

  it('verifyJournal fails when an integer or the kind of an entry is changed', () => {
    const entries = sampleJournal(openStore(freshPath()));
    const changes: ((e: JournalEntry) => Partial<JournalEntry>)[] = [
      (e) => ({ epoch: e.epoch + 1n }),
      (e) => ({ view: e.view === null ? 0n : e.view + 1n }),
      (e) => ({ seq: e.seq === null ? 0n : e.seq + 1n }),
      (e) => ({ kind: (e.kind === 'prepare' ? 'commit' : 'prepare') as SignatureKind }),
      (e) => ({ index: e.index + 1n }),
    ];
    for (let i = 0; i < entries.length; i++) {
      for (const change of changes) {
        const copy = entries.slice();
        copy[i] = copyEntry(entries[i] as JournalEntry, change(entries[i] as JournalEntry));
        expect(verifyJournal(copy, nodeBackend).ok, `entry ${i}: ${JSON.stringify(journalEntryToJson(copy[i] as JournalEntry))}`).toBe(false);
      }
    }
  });

  it('verifyJournal fails when an entry is removed; the last one only against a known head', () => {
    const entries = sampleJournal(openStore(freshPath()));
    for (let i = 0; i < entries.length - 1; i++) {
      const copy = entries.filter((_, j) => j !== i);
      expect(verifyJournal(copy, nodeBackend), `without entry ${i}`).toMatchObject({ ok: false, reason: 'index-gap' });
    }
    const last = entries[entries.length - 1] as JournalEntry;
    const truncated = entries.slice(0, -1);
    // The chain alone cannot tell a shorter journal from a truncated one: that takes a head seen before.
    expect(verifyJournal(truncated, nodeBackend).ok).toBe(true);
    expect(verifyJournal(truncated, nodeBackend, { head: { index: last.index, entryHash: last.entryHash } })).toMatchObject({ ok: false, reason: 'head-mismatch' });
  });

  it('verifyJournal flags a rehashed journal that equivocates or votes backwards', () => {
    // A forger who recomputes every hash still cannot hide a conflict inside the journal.
    const forge = (bytesList: Uint8Array[]): JournalEntry[] => {
      const { key } = countingKey();
      // One guard per entry, spliced and re-chained with the documented entry hash: each alone is fine.
      const entries = bytesList.map((bytes) => {
        const single = new MemorySignerJournal();
        createGuardedSigner(key, single, { chainId, backend: nodeBackend }).sign(bytes);
        return single.list(0n, 1)[0] as JournalEntry;
      });
      let prev: Uint8Array = new Uint8Array(32);
      return entries.map((e, index) => {
        const unhashed = { ...e, index: BigInt(index), prevEntryHash: prev };
        const entryHash = nodeBackend.sha256(
          encodeCanonical({
            index: unhashed.index,
            kind: unhashed.kind,
            epoch: unhashed.epoch,
            view: unhashed.view,
            seq: unhashed.seq,
            digest: unhashed.digest,
            signedBytesHash: unhashed.signedBytesHash,
            signature: unhashed.signature,
            prevEntryHash: unhashed.prevEntryHash,
          } satisfies CanonicalValue),
        );
        prev = entryHash;
        return { ...unhashed, entryHash };
      });
    };
    expect(verifyJournal(forge([prepare(0n, 1n, hashA), prepare(0n, 1n, hashB)]), nodeBackend)).toMatchObject({ ok: false, reason: 'conflicting-slot', index: 1n });
    expect(verifyJournal(forge([prepare(2n, 1n, hashA), commit(1n, 2n, hashB)]), nodeBackend)).toMatchObject({ ok: false, reason: 'backwards-vote', index: 1n });
    expect(verifyJournal(forge([prepare(0n, 1n, hashA), prepare(1n, 1n, hashB)]), nodeBackend).ok).toBe(true);
  });

  it('the wire form has hex bytes, decimal integers and null view and seq for other kinds', () => {
    const entries = sampleJournal(new MemorySignerJournal());
    const json = entries.map(journalEntryToJson);
    expect(json[0]).toMatchObject({ index: '0', kind: 'pre-prepare', epoch: '0', view: '0', seq: '1', digest: 'aa'.repeat(32), prevEntryHash: '00'.repeat(32) });
    expect(json[3]).toMatchObject({ kind: 'checkpoint', view: null, seq: '1' });
    expect(json[4]).toMatchObject({ kind: 'view-change', view: null, seq: null });
    expect(json[1]?.prevEntryHash).toBe(json[0]?.entryHash);
    expect(json[0]?.signature).toMatch(/^[0-9a-f]{128}$/);
  });
});
