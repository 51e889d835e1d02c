import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesToHex, concatBytes, hexToBytes, tryBase64ToBytes, utf8 } from './bytes';
import { type CryptoBackend } from './crypto-backend';
import { limits } from './limits';
import { nobleBackend } from './noble-backend';
import {
  type ConsistencyClaim,
  type InclusionClaim,
  MerkleLog,
  emptyRoot,
  hashChildren,
  hashLeaf,
  verifyConsistency,
  verifyInclusion,
} from './merkle-log';

const backend = nobleBackend;
const sha256 = (...parts: Uint8Array[]): Uint8Array => nobleBackend.sha256(...parts);

// ---------------------------------------------------------------------------
// An independent reference, written straight from RFC 9162 2.1.1 on arrays,
// sharing no code with merkle-log.ts.

function naiveSplit(n: bigint): bigint {
  let k = 1n;
  while (k * 2n < n) k *= 2n;
  return k;
}

function naiveRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return sha256();
  if (leafHashes.length === 1) return leafHashes[0]!;
  const k = Number(naiveSplit(BigInt(leafHashes.length)));
  return sha256(Uint8Array.of(1), naiveRoot(leafHashes.slice(0, k)), naiveRoot(leafHashes.slice(k)));
}

/**
 * A valid inclusion proof for any (index, size), built from the RFC 2.1.3.1
 * recursion with random bytes standing for the sibling subtrees: it needs no
 * leaves, so it reaches sizes far past 2^53.
 */
function syntheticInclusion(index: bigint, size: bigint, leafHash: Uint8Array, seed: number): { proof: Uint8Array[]; root: Uint8Array } {
  if (size === 1n) return { proof: [], root: leafHash };
  const k = naiveSplit(size);
  const sibling = sha256(utf8(`sibling ${seed} ${index} ${size}`));
  if (index < k) {
    const left = syntheticInclusion(index, k, leafHash, seed);
    return { proof: [...left.proof, sibling], root: sha256(Uint8Array.of(1), left.root, sibling) };
  }
  const right = syntheticInclusion(index - k, size - k, leafHash, seed);
  return { proof: [...right.proof, sibling], root: sha256(Uint8Array.of(1), sibling, right.root) };
}

/** Likewise for RFC 2.1.4.1 SUBPROOF(m, D[n], b): returns the proof and both roots. */
function syntheticConsistency(m: bigint, n: bigint, complete: boolean, seed: number): { proof: Uint8Array[]; root1: Uint8Array; root2: Uint8Array } {
  if (m === n) {
    const node = sha256(utf8(`old subtree ${seed} ${m}`));
    return { proof: complete ? [] : [node], root1: node, root2: node };
  }
  const k = naiveSplit(n);
  const node = sha256(utf8(`node ${seed} ${m} ${n}`));
  const H = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256(Uint8Array.of(1), l, r);
  if (m <= k) {
    const left = syntheticConsistency(m, k, complete, seed);
    return { proof: [...left.proof, node], root1: left.root1, root2: H(left.root2, node) };
  }
  const right = syntheticConsistency(m - k, n - k, false, seed);
  return { proof: [...right.proof, node], root1: H(node, right.root1), root2: H(node, right.root2) };
}

// ---------------------------------------------------------------------------
// Shared fixtures.

const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hexToBytes);
// Roots of the first n CT leaves, from certificate-transparency's reference tests.
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

const EXHAUSTIVE_SIZE_MAX = 64;
const bigLeafHashes = Array.from({ length: 300 }, (_, i) => hashLeaf(backend, utf8(`entry ${i}`)));
const bigLog = MerkleLog.fromLeafHashes(backend, bigLeafHashes);

function inclusionClaim(log: MerkleLog, leafHashes: readonly Uint8Array[], index: number, size: number): InclusionClaim {
  const [i, n] = [BigInt(index), BigInt(size)];
  return { leafHash: leafHashes[index]!, index: i, size: n, proof: log.inclusionProof(i, n), root: log.rootAt(n) };
}

function consistencyClaim(log: MerkleLog, size1: number, size2: number): ConsistencyClaim {
  const [m, n] = [BigInt(size1), BigInt(size2)];
  return { size1: m, size2: n, root1: log.rootAt(m), root2: log.rootAt(n), proof: log.consistencyProof(m, n) };
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3] = (out[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return out;
}

function withNode(proof: readonly Uint8Array[], at: number, node: Uint8Array): Uint8Array[] {
  return proof.map((p, i) => (i === at ? node : p));
}

/** A backend that records every hash input, to tell "same computation" from "different computation". */
function tracingBackend(): { backend: CryptoBackend; trace: string[] } {
  const trace: string[] = [];
  const sha = (...parts: readonly Uint8Array[]): Uint8Array => {
    trace.push(parts.map(bytesToHex).join('|'));
    return nobleBackend.sha256(...parts);
  };
  return { backend: { ...nobleBackend, name: 'tracing', sha256: sha }, trace };
}

function traceOf(run: (b: CryptoBackend) => unknown): string {
  const t = tracingBackend();
  run(t.backend);
  return t.trace.join('\n');
}

// ---------------------------------------------------------------------------

describe('RFC 9162 2.1.1 hashing', () => {
  it('the empty tree hashes to SHA-256 of the empty string', () => {
    expect(bytesToHex(emptyRoot(backend))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(bytesToHex(new MerkleLog(backend).root())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('leaves and nodes carry the 0x00 and 0x01 prefixes', () => {
    const [a, b] = [utf8('a'), utf8('b')];
    expect(hashLeaf(backend, a)).toEqual(sha256(concatBytes(Uint8Array.of(0), a)));
    expect(hashChildren(backend, a, b)).toEqual(sha256(concatBytes(Uint8Array.of(1), a, b)));
  });

  it('the first n certificate-transparency test leaves give the published roots', () => {
    const log = new MerkleLog(backend);
    CT_LEAVES.forEach((leaf, i) => {
      expect(log.append(leaf)).toBe(BigInt(i));
      expect(bytesToHex(log.root())).toBe(CT_ROOTS[i]);
    });
    CT_ROOTS.forEach((root, i) => expect(bytesToHex(log.rootAt(BigInt(i + 1)))).toBe(root));
    expect(log.size).toBe(8n);
  });

  it('the published inclusion and consistency proofs are reproduced exactly', () => {
    // certificate-transparency Go testPaths/testProofs (leaf numbers there are 1-based).
    const log = MerkleLog.fromLeafHashes(backend, CT_LEAVES.map((leaf) => hashLeaf(backend, leaf)));
    const hex = (nodes: Uint8Array[]): string[] => nodes.map(bytesToHex);
    expect(hex(log.inclusionProof(0n, 8n))).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(hex(log.inclusionProof(5n, 8n))).toEqual([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    expect(hex(log.inclusionProof(2n, 3n))).toEqual(['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']);
    expect(hex(log.consistencyProof(1n, 8n))).toEqual(hex(log.inclusionProof(0n, 8n)));
    expect(hex(log.consistencyProof(6n, 8n))).toEqual([
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    expect(hex(log.consistencyProof(2n, 5n))).toEqual([
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ]);
  });

  it('generation refuses sizes the log does not have and size1 = 0', () => {
    const log = MerkleLog.fromLeafHashes(backend, bigLeafHashes.slice(0, 5));
    expect(() => log.rootAt(6n)).toThrow(RangeError);
    expect(() => log.inclusionProof(5n, 5n)).toThrow(RangeError);
    expect(() => log.inclusionProof(0n, 0n)).toThrow(RangeError);
    expect(() => log.consistencyProof(0n, 3n)).toThrow(RangeError);
    expect(() => log.consistencyProof(4n, 3n)).toThrow(RangeError);
    expect(() => log.appendLeafHash(new Uint8Array(31))).toThrow(TypeError);
    expect(log.consistencyProof(3n, 3n)).toEqual([]);
  });
});

describe('exhaustive sizes 1..64', () => {
  const leafHashes = bigLeafHashes.slice(0, EXHAUSTIVE_SIZE_MAX);
  const log = MerkleLog.fromLeafHashes(backend, leafHashes);

  it('rootAt of every past size equals the naive recursive root and a freshly built log', () => {
    const grown = new MerkleLog(backend);
    for (let n = 0; n <= EXHAUSTIVE_SIZE_MAX; n++) {
      const naive = naiveRoot(leafHashes.slice(0, n));
      expect(log.rootAt(BigInt(n))).toEqual(naive);
      expect(grown.root()).toEqual(naive);
      if (n < EXHAUSTIVE_SIZE_MAX) grown.appendLeafHash(leafHashes[n]!);
    }
  });

  it('every inclusion proof verifies and has the RFC 2.1.3.1 shape', () => {
    let checked = 0;
    for (let n = 1; n <= EXHAUSTIVE_SIZE_MAX; n++) {
      for (let i = 0; i < n; i++) {
        const claim = inclusionClaim(log, leafHashes, i, n);
        expect(verifyInclusion(backend, claim)).toEqual({ ok: true });
        const synthetic = syntheticInclusion(BigInt(i), BigInt(n), leafHashes[i]!, 0);
        expect(claim.proof.length).toBe(synthetic.proof.length);
        checked++;
      }
    }
    expect(checked).toBe((EXHAUSTIVE_SIZE_MAX * (EXHAUSTIVE_SIZE_MAX + 1)) / 2);
  });

  it('every consistency proof verifies, including size1 = size2', () => {
    for (let n = 1; n <= EXHAUSTIVE_SIZE_MAX; n++) {
      for (let m = 1; m <= n; m++) {
        expect(verifyConsistency(backend, consistencyClaim(log, m, n))).toEqual({ ok: true });
      }
    }
  });
});

describe('tampering', () => {
  const leafHashes = bigLeafHashes.slice(0, 32);
  const log = MerkleLog.fromLeafHashes(backend, leafHashes);

  it('flipping any bit of any proof node, the root or the leaf hash breaks inclusion (sizes 1..8)', () => {
    for (let n = 1; n <= 8; n++) {
      for (let i = 0; i < n; i++) {
        const claim = inclusionClaim(log, leafHashes, i, n);
        for (let bit = 0; bit < 256; bit++) {
          claim.proof.forEach((node, at) => {
            expect(verifyInclusion(backend, { ...claim, proof: withNode(claim.proof, at, flipBit(node, bit)) }).ok).toBe(false);
          });
          expect(verifyInclusion(backend, { ...claim, root: flipBit(claim.root, bit) })).toEqual({ ok: false, reason: 'root-mismatch' });
          expect(verifyInclusion(backend, { ...claim, leafHash: flipBit(claim.leafHash, bit) })).toEqual({ ok: false, reason: 'root-mismatch' });
        }
      }
    }
  });

  it('flipping any bit of any proof node or either root breaks consistency (sizes 1..8)', () => {
    for (let n = 1; n <= 8; n++) {
      for (let m = 1; m <= n; m++) {
        const claim = consistencyClaim(log, m, n);
        for (let bit = 0; bit < 256; bit++) {
          claim.proof.forEach((node, at) => {
            expect(verifyConsistency(backend, { ...claim, proof: withNode(claim.proof, at, flipBit(node, bit)) }).ok).toBe(false);
          });
          expect(verifyConsistency(backend, { ...claim, root1: flipBit(claim.root1, bit) }).ok).toBe(false);
          expect(verifyConsistency(backend, { ...claim, root2: flipBit(claim.root2, bit) }).ok).toBe(false);
        }
      }
    }
  });

  it('adding or removing a node is refused before any hashing', () => {
    for (let n = 1; n <= 32; n++) {
      for (let i = 0; i < n; i++) {
        const claim = inclusionClaim(log, leafHashes, i, n);
        for (const proof of [[...claim.proof, claim.root], [claim.root, ...claim.proof], claim.proof.slice(1), claim.proof.slice(0, -1)]) {
          if (proof.length === claim.proof.length) continue; // slicing an empty proof
          expect(traceOf((b) => expect(verifyInclusion(b, { ...claim, proof })).toEqual({ ok: false, reason: 'wrong-proof-length' }))).toBe('');
        }
      }
      for (let m = 1; m <= n; m++) {
        const claim = consistencyClaim(log, m, n);
        const extra = [...claim.proof, claim.root1];
        expect(verifyConsistency(backend, { ...claim, proof: extra }).ok).toBe(false);
        if (claim.proof.length > 0) expect(verifyConsistency(backend, { ...claim, proof: claim.proof.slice(1) }).ok).toBe(false);
      }
    }
  });

  it('changing the index by one always fails', () => {
    for (let n = 1; n <= 32; n++) {
      for (let i = 0; i < n; i++) {
        const claim = inclusionClaim(log, leafHashes, i, n);
        for (const index of [claim.index - 1n, claim.index + 1n]) {
          expect(verifyInclusion(backend, { ...claim, index }).ok).toBe(false);
        }
      }
    }
  });

  // A proof binds its root, not its size: where the changed size leads the
  // verifier through the very same hash computation (index 0 of sizes 3 and
  // 4, say), the old root is accepted for the new size. That is why a root is
  // only trusted together with the size in its signed tree head.
  it('changing a size by one fails unless the verifier performs the identical hash computation', () => {
    let identical = 0;
    for (let n = 1; n <= 32; n++) {
      for (let i = 0; i < n; i++) {
        const claim = inclusionClaim(log, leafHashes, i, n);
        const original = traceOf((b) => verifyInclusion(b, claim));
        for (const size of [claim.size - 1n, claim.size + 1n]) {
          // An empty trace means no hashing at all (size 1, or refused early): not "the same computation".
          const same = original !== '' && traceOf((b) => verifyInclusion(b, { ...claim, size })) === original;
          expect(verifyInclusion(backend, { ...claim, size }).ok).toBe(same);
          if (same) identical++;
        }
      }
      for (let m = 1; m < n; m++) {
        const claim = consistencyClaim(log, m, n);
        const original = traceOf((b) => verifyConsistency(b, claim));
        for (const changed of [{ size1: claim.size1 - 1n }, { size1: claim.size1 + 1n }, { size2: claim.size2 - 1n }, { size2: claim.size2 + 1n }]) {
          const same = original !== '' && traceOf((b) => verifyConsistency(b, { ...claim, ...changed })) === original;
          expect(verifyConsistency(backend, { ...claim, ...changed }).ok).toBe(same);
        }
      }
    }
    expect(identical).toBeGreaterThan(0);
    const claim = inclusionClaim(log, leafHashes, 0, 3);
    expect(verifyInclusion(backend, { ...claim, size: 4n })).toEqual({ ok: true });
  });

  it('property: one flipped bit anywhere in a claim over a 300-leaf log is rejected', () => {
    const sizes = fc.integer({ min: 1, max: bigLeafHashes.length });
    fc.assert(
      fc.property(sizes, fc.nat(), fc.nat(), fc.nat(255), (n, rawIndex, rawPick, bit) => {
        const claim = inclusionClaim(bigLog, bigLeafHashes, rawIndex % n, n);
        expect(verifyInclusion(backend, claim).ok).toBe(true);
        const pick = rawPick % (claim.proof.length + 2);
        const tampered =
          pick < claim.proof.length
            ? { ...claim, proof: withNode(claim.proof, pick, flipBit(claim.proof[pick]!, bit)) }
            : pick === claim.proof.length
              ? { ...claim, root: flipBit(claim.root, bit) }
              : { ...claim, leafHash: flipBit(claim.leafHash, bit) };
        expect(verifyInclusion(backend, tampered).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(sizes, sizes, fc.nat(), fc.nat(255), (a, b, rawPick, bit) => {
        const claim = consistencyClaim(bigLog, Math.min(a, b), Math.max(a, b));
        expect(verifyConsistency(backend, claim).ok).toBe(true);
        const pick = rawPick % (claim.proof.length + 2);
        const tampered =
          pick < claim.proof.length
            ? { ...claim, proof: withNode(claim.proof, pick, flipBit(claim.proof[pick]!, bit)) }
            : pick === claim.proof.length
              ? { ...claim, root1: flipBit(claim.root1, bit) }
              : { ...claim, root2: flipBit(claim.root2, bit) };
        expect(verifyConsistency(backend, tampered).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

describe('sizes past 2^53', () => {
  const leafHash = hashLeaf(backend, utf8('far away'));

  it('proofs in trees up to limits.logSizeMax verify, and off-by-one indices do not', () => {
    const cases: [bigint, bigint][] = [
      [2n ** 53n + 1n, 2n ** 53n + 3n],
      [2n ** 61n + 12345n, limits.logSizeMax],
      [limits.logSizeMax - 1n, limits.logSizeMax],
      [0n, limits.logSizeMax],
    ];
    for (const [index, size] of cases) {
      const { proof, root } = syntheticInclusion(index, size, leafHash, 1);
      expect(proof.length).toBeLessThanOrEqual(limits.logProofNodesMax);
      expect(verifyInclusion(backend, { leafHash, index, size, proof, root })).toEqual({ ok: true });
      expect(verifyInclusion(backend, { leafHash, index: index ^ 1n, size, proof, root }).ok).toBe(false);
    }
    const { proof, root } = syntheticInclusion(0n, 3n, leafHash, 1);
    expect(verifyInclusion(backend, { leafHash, index: 0n, size: limits.logSizeMax + 1n, proof, root })).toEqual({ ok: false, reason: 'size-out-of-range' });
  });

  it('property: synthetic proofs for random huge sizes verify and break under a bit flip', () => {
    const size = fc.bigInt({ min: 1n, max: limits.logSizeMax });
    fc.assert(
      fc.property(size, size, fc.nat(), fc.nat(255), (a, b, seed, bit) => {
        const [size1, size2] = a <= b ? [a, b] : [b, a];
        const made = syntheticConsistency(size1, size2, true, seed);
        const claim = { size1, size2, ...made };
        expect(verifyConsistency(backend, claim)).toEqual({ ok: true });
        expect(verifyConsistency(backend, { ...claim, root2: flipBit(claim.root2, bit) }).ok).toBe(false);
        const index = size1 - 1n;
        const inclusion = syntheticInclusion(index, size2, leafHash, seed);
        expect(verifyInclusion(backend, { leafHash, index, size: size2, ...inclusion })).toEqual({ ok: true });
      }),
      { numRuns: 300 },
    );
  });
});

describe('untrusted garbage never throws', () => {
  const leafHashes = bigLeafHashes.slice(0, 7);
  const log = MerkleLog.fromLeafHashes(backend, leafHashes);
  const inclusion = inclusionClaim(log, leafHashes, 2, 7);
  const consistency = consistencyClaim(log, 3, 7);
  const detached = new Uint8Array(32);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const throwing = new Proxy(
    {},
    {
      get() {
        throw new Error('boom');
      },
    },
  );
  const garbageValues: unknown[] = [
    undefined, null, 0, 1, -1, 1.5, NaN, Infinity, 'x', '', true, {}, [], [[]], [1, 2], ['00'], Symbol('s'), () => 1,
    -1n, 2n ** 64n, 2n ** 63n, new Uint8Array(31), new Uint8Array(33), new Uint16Array(16), new ArrayBuffer(32),
    detached, revoked.proxy, throwing, new Array(1e6), Object.assign([], { length: 3 }), [new Uint8Array(32), 'x'],
  ];

  const reject = (run: () => { ok: boolean }): void => {
    let verdict: { ok: boolean } | undefined;
    expect(() => {
      verdict = run();
    }).not.toThrow();
    expect(verdict?.ok).toBe(false);
  };

  it('whole claims that are not objects, or that throw when read', () => {
    for (const claim of [...garbageValues, { ...inclusion, proof: throwing }]) {
      reject(() => verifyInclusion(backend, claim as InclusionClaim));
      reject(() => verifyConsistency(backend, claim as ConsistencyClaim));
    }
  });

  it('every field replaced by every garbage value', () => {
    for (const value of garbageValues) {
      for (const field of Object.keys(inclusion)) reject(() => verifyInclusion(backend, { ...inclusion, [field]: value }));
      for (const field of Object.keys(consistency)) reject(() => verifyConsistency(backend, { ...consistency, [field]: value }));
    }
  });

  it('typed reasons name the failed rule', () => {
    const incl = (patch: object): unknown => verifyInclusion(backend, { ...inclusion, ...patch });
    const cons = (patch: object): unknown => verifyConsistency(backend, { ...consistency, ...patch });
    expect(incl({ size: 7 })).toEqual({ ok: false, reason: 'bad-size-type' });
    expect(incl({ index: 2 })).toEqual({ ok: false, reason: 'bad-index-type' });
    expect(incl({ size: 2n ** 64n })).toEqual({ ok: false, reason: 'size-out-of-range' });
    expect(incl({ index: 7n })).toEqual({ ok: false, reason: 'index-out-of-range' });
    expect(incl({ index: -1n })).toEqual({ ok: false, reason: 'index-out-of-range' });
    expect(incl({ proof: 'x' })).toEqual({ ok: false, reason: 'bad-proof-type' });
    expect(incl({ proof: new Array(65).fill(inclusion.root) })).toEqual({ ok: false, reason: 'proof-too-long' });
    expect(incl({ proof: [...inclusion.proof, inclusion.root] })).toEqual({ ok: false, reason: 'wrong-proof-length' });
    expect(incl({ proof: withNode(inclusion.proof, 1, new Uint8Array(33)) })).toEqual({ ok: false, reason: 'bad-node-length' });
    expect(incl({ proof: withNode(inclusion.proof, 0, 'ab' as unknown as Uint8Array) })).toEqual({ ok: false, reason: 'bad-node-type' });
    expect(incl({ leafHash: new Uint8Array(0) })).toEqual({ ok: false, reason: 'bad-leaf-hash-length' });
    expect(incl({ root: 'r' })).toEqual({ ok: false, reason: 'bad-root-type' });
    expect(incl({ root: new Uint8Array(0) })).toEqual({ ok: false, reason: 'bad-root-length' });
    expect(cons({ size1: 0n })).toEqual({ ok: false, reason: 'size1-zero' });
    expect(cons({ size1: 8n })).toEqual({ ok: false, reason: 'size1-greater-than-size2' });
    expect(cons({ size1: 7n, root1: consistency.root2 })).toEqual({ ok: false, reason: 'equal-sizes-need-empty-proof' });
    expect(cons({ size1: 7n, proof: [] })).toEqual({ ok: false, reason: 'root-mismatch' });
    expect(cons({ size1: 7n, proof: [], root1: consistency.root2 })).toEqual({ ok: true });
    expect(cons({ root1: consistency.root2 })).toEqual({ ok: false, reason: 'root1-mismatch' });
    expect(cons({ root2: consistency.root1 })).toEqual({ ok: false, reason: 'root2-mismatch' });
  });

  it('a proof mutated after the call cannot change the verdict (nodes are copied)', () => {
    const proof = inclusion.proof.map((node) => node.slice());
    expect(verifyInclusion(backend, { ...inclusion, proof })).toEqual({ ok: true });
    proof[0]![0] = (proof[0]![0] ?? 0) ^ 1;
    expect(verifyInclusion(backend, { ...inclusion, proof }).ok).toBe(false);
  });

  it('property: arbitrary values in every field never throw', () => {
    const anything = fc.oneof(fc.anything(), fc.bigInt(), fc.uint8Array({ minLength: 31, maxLength: 33 }), fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 70 }));
    fc.assert(
      fc.property(fc.record({ leafHash: anything, index: anything, size: anything, proof: anything, root: anything }), (claim) => {
        expect(verifyInclusion(backend, claim as InclusionClaim).ok).toBe(false);
      }),
    );
    fc.assert(
      fc.property(fc.record({ size1: anything, size2: anything, root1: anything, root2: anything, proof: anything }), (claim) => {
        const verdict = verifyConsistency(backend, claim as ConsistencyClaim);
        // size1 = size2 with an empty proof and equal roots is the only way to succeed by chance.
        if (verdict.ok) expect(claim.size1).toBe(claim.size2);
      }),
    );
  });
});

// ---------------------------------------------------------------------------
// transparency-dev/merkle public vectors, kept in the repository (docs/vectors/rfc6962/README.md).

const vectorsDir = fileURLToPath(new URL('../../../docs/vectors/rfc6962', import.meta.url));
const VECTOR_CASES_MIN = 100;

interface VectorCase {
  name: string;
  kind: 'inclusion' | 'consistency';
  fields: Record<string, unknown>;
  wantErr: boolean;
}

/** The vector files (this folder's README aside). */
function listJson(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listJson(path) : entry.name.endsWith('.json') ? [path] : [];
  });
}

/** Sizes are parsed from the JSON text, not via floats: 2^64 - 1 must stay exact. */
function decodeVector(file: string): Record<string, unknown> {
  const text = readFileSync(file, 'utf8').replace(/"(leafIdx|treeSize|size1|size2)"\s*:\s*(-?\d+)/g, '"$1":"$2"');
  const json = JSON.parse(text) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    if (typeof value === 'string' && /^-?\d+$/.test(value)) out[key] = BigInt(value);
    else if (['root', 'root1', 'root2', 'leafHash'].includes(key) && typeof value === 'string') out[key] = tryBase64ToBytes(value) ?? value;
    // Go writes an empty proof as null; on our wire an empty proof is [].
    else if (key === 'proof') out[key] = value === null ? [] : Array.isArray(value) ? value.map((n) => (typeof n === 'string' ? (tryBase64ToBytes(n) ?? n) : n)) : value;
    else out[key] = value;
  }
  return out;
}

function loadVectors(): VectorCase[] {
  if (!existsSync(vectorsDir)) return [];
  return listJson(vectorsDir).map((file) => {
    const fields = decodeVector(file);
    const name = relative(vectorsDir, file);
    return { name, kind: name.startsWith('inclusion') ? 'inclusion' : 'consistency', fields, wantErr: fields.wantErr === true };
  });
}

const vectorCases = loadVectors();

describe('transparency-dev RFC 6962 vectors', () => {
  it(`the vectors directory exists and holds at least ${VECTOR_CASES_MIN} cases of both kinds and outcomes`, () => {
    expect(existsSync(vectorsDir), `missing ${vectorsDir}`).toBe(true);
    expect(vectorCases.length).toBeGreaterThanOrEqual(VECTOR_CASES_MIN);
    for (const kind of ['inclusion', 'consistency']) {
      expect(vectorCases.some((c) => c.kind === kind && c.wantErr)).toBe(true);
      expect(vectorCases.some((c) => c.kind === kind && !c.wantErr)).toBe(true);
    }
  });

  it.each(vectorCases)('$name', ({ kind, fields, wantErr }) => {
    const f = fields;
    const verdict =
      kind === 'inclusion'
        ? verifyInclusion(backend, { leafHash: f.leafHash, index: f.leafIdx, size: f.treeSize, proof: f.proof, root: f.root } as InclusionClaim)
        : verifyConsistency(backend, { size1: f.size1, size2: f.size2, root1: f.root1, root2: f.root2, proof: f.proof } as ConsistencyClaim);
    expect(verdict.ok).toBe(!wantErr);
  });
});
