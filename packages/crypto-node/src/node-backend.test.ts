import { readFileSync } from 'node:fs';
import { createPublicKey, verify as opensslVerify } from 'node:crypto';
import * as ed from '@noble/ed25519';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bytesToHex,
  checkEd25519,
  concatBytes,
  createMemorySigner,
  type CryptoBackend,
  type Ed25519Rejection,
  hexToBytes,
  nobleBackend,
  SMALL_ORDER_ENCODINGS,
  utf8,
} from '@vcr/proofs';
import { createNodeSigner, nodeBackend, nodePublicKeyCacheSize, publicKeyCacheEntriesMax } from './node-backend';

interface Ed25519Vector {
  name: string;
  publicKey: string;
  message: string;
  signature: string;
  expect: 'accept' | Ed25519Rejection;
  source: string;
}

const vectors = JSON.parse(readFileSync(new URL('../../../docs/vectors/ed25519.json', import.meta.url), 'utf8')) as Ed25519Vector[];
const backends: readonly CryptoBackend[] = [nobleBackend, nodeBackend];

function vector(name: string): Ed25519Vector {
  const found = vectors.find((v) => v.name === name);
  if (found === undefined) throw new Error(`vector ${name} missing from docs/vectors/ed25519.json`);
  return found;
}

function verdict(backend: CryptoBackend, signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): 'accept' | Ed25519Rejection {
  return checkEd25519(backend, signature, message, publicKey) ?? 'accept';
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
  return out;
}

/** What the libraries say on their own, without the project's rule in front. */
function nobleStrictAccepts(v: Ed25519Vector): boolean {
  return ed.verify(hexToBytes(v.signature), hexToBytes(v.message), hexToBytes(v.publicKey), { zip215: false });
}

function opensslAccepts(v: Ed25519Vector): boolean {
  const key = createPublicKey({ key: Buffer.from(`302a300506032b6570032100${v.publicKey}`, 'hex'), format: 'der', type: 'spki' });
  return opensslVerify(null, hexToBytes(v.message), key, hexToBytes(v.signature));
}

describe('sha256', () => {
  const known: [string, string][] = [
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ];

  for (const backend of backends) {
    it(`${backend.name} matches the FIPS 180-2 vectors`, () => {
      for (const [text, hash] of known) expect(bytesToHex(backend.sha256(utf8(text)))).toBe(hash);
    });

    it(`${backend.name} hashes the concatenation of its parts, and no parts as the empty string`, () => {
      expect(bytesToHex(backend.sha256())).toBe(known[0]?.[1]);
      expect(bytesToHex(backend.sha256(utf8('a'), utf8(''), utf8('bc')))).toBe(known[1]?.[1]);
    });
  }

  it('both backends give the same digest for any split of any input', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }), (parts) => {
        const node = nodeBackend.sha256(...parts);
        expect(node).toEqual(nobleBackend.sha256(...parts));
        expect(node).toEqual(nobleBackend.sha256(concatBytes(...parts)));
        expect(node.constructor).toBe(Uint8Array);
      }),
      { numRuns: 300 },
    );
  });

  it('a digest owns its memory: later calls, which reuse the backend\'s scratch space, leave it unchanged', () => {
    const first = nodeBackend.sha256(utf8('a'), utf8('bc'));
    const copy = first.slice();
    nodeBackend.sha256(new Uint8Array(500).fill(7), new Uint8Array(500).fill(9));
    nodeBackend.sha256(new Uint8Array(800), new Uint8Array(800));
    expect(first).toEqual(copy);
    expect(bytesToHex(first)).toBe(known[1]?.[1]);
  });
});

describe('docs/vectors/ed25519.json under the project rule', () => {
  it('holds the RFC 8032 vectors and every rejection reason', () => {
    expect(vectors.filter((v) => v.source.startsWith('RFC 8032')).length).toBeGreaterThanOrEqual(3);
    const reasons = new Set(vectors.map((v) => v.expect));
    for (const reason of [
      'accept',
      'bad-signature-length',
      'bad-public-key-length',
      'non-canonical-s',
      'non-canonical-public-key',
      'non-canonical-r',
      'small-order-public-key',
      'equation-failed',
    ]) {
      expect(reasons.has(reason as Ed25519Vector['expect'])).toBe(true);
    }
  });

  for (const v of vectors) {
    it(`${v.name}: both backends say ${v.expect}`, () => {
      const signature = hexToBytes(v.signature);
      const message = hexToBytes(v.message);
      const publicKey = hexToBytes(v.publicKey);
      for (const backend of backends) expect([backend.name, verdict(backend, signature, message, publicKey)]).toEqual([backend.name, v.expect]);
    });
  }
});

describe('why the rule exists: the libraries alone disagree', () => {
  // noble's verify is cofactored in both modes ([8]R + [8][k]A = [8][S]B);
  // OpenSSL is cofactorless and compares encodings. A torsion component in A
  // or R separates them, so replicas on different libraries would split.
  for (const name of ['mixed-order-public-key-cofactored-only', 'r-with-torsion-cofactored-only']) {
    it(`${name}: noble strict accepts, OpenSSL rejects, the rule rejects with both backends`, () => {
      const v = vector(name);
      expect(nobleStrictAccepts(v)).toBe(true);
      expect(opensslAccepts(v)).toBe(false);
      expect(v.expect).toBe('equation-failed');
    });
  }

  // The other direction: OpenSSL reduces y mod p, ignores a sign bit on x = 0
  // and does not refuse small-order keys, so it accepts signatures forged
  // without any secret key; noble's strict branch refuses them.
  const forgeries = vectors.filter((v) => v.name.startsWith('small-order-public-key-') || v.name.startsWith('non-canonical-public-key-identity'));
  it('OpenSSL alone accepts keyless forgeries under small-order and non-canonical keys; noble strict and the rule refuse them', () => {
    expect(forgeries.length).toBe(10);
    for (const v of forgeries) {
      expect([v.name, opensslAccepts(v), nobleStrictAccepts(v)]).toEqual([v.name, true, false]);
      expect(v.expect === 'small-order-public-key' || v.expect === 'non-canonical-public-key').toBe(true);
    }
  });

  it('a mixed-order key is not itself refused: with k a multiple of 8 everyone accepts', () => {
    const v = vector('mixed-order-public-key-k-multiple-of-8');
    expect(nobleStrictAccepts(v)).toBe(true);
    expect(opensslAccepts(v)).toBe(true);
    expect(v.expect).toBe('accept');
  });
});

describe('signers', () => {
  it('createNodeSigner reproduces RFC 8032 TEST 1 from its secret key', () => {
    const v = vector('rfc8032-test-1');
    const signer = createNodeSigner(hexToBytes('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));
    expect(bytesToHex(signer.publicKey)).toBe(v.publicKey);
    expect(bytesToHex(signer.sign(hexToBytes(v.message)))).toBe(v.signature);
  });

  it('createNodeSigner refuses a seed that is not 32 bytes', () => {
    expect(() => createNodeSigner(new Uint8Array(31))).toThrow(TypeError);
    expect(() => createNodeSigner(new Uint8Array(33))).toThrow(TypeError);
  });

  it('node and memory signers give byte-identical keys and signatures, and both verify under both backends', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 512 }), (seed, message) => {
        const nodeSigner = createNodeSigner(seed);
        const memorySigner = createMemorySigner(seed);
        expect(nodeSigner.publicKey).toEqual(memorySigner.publicKey);
        const signature = nodeSigner.sign(message);
        expect(signature).toEqual(memorySigner.sign(message));
        expect(signature.constructor).toBe(Uint8Array);
        for (const backend of backends) expect(verdict(backend, signature, message, nodeSigner.publicKey)).toBe('accept');
      }),
      { numRuns: 40 },
    );
  });
});

describe('any single-bit change breaks verification', () => {
  const seed = nodeBackend.sha256(utf8('node-backend.test bit flips'));
  const signer = createNodeSigner(seed);

  it('flipping one bit of the signature, the message or the public key is rejected, identically by both backends', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.constantFrom('signature', 'message', 'publicKey'),
        fc.nat(),
        (message, target, bitSeed) => {
          let signature: Uint8Array = signer.sign(message);
          let publicKey: Uint8Array = signer.publicKey;
          let signed: Uint8Array = message;
          if (target === 'signature') signature = flipBit(signature, bitSeed % 512);
          else if (target === 'publicKey') publicKey = flipBit(publicKey, bitSeed % 256);
          else signed = flipBit(message, bitSeed % (message.length * 8));
          const noble = verdict(nobleBackend, signature, signed, publicKey);
          const node = verdict(nodeBackend, signature, signed, publicKey);
          expect(noble).not.toBe('accept');
          expect(node).toBe(noble);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('every one of the 512 signature bits, exhaustively', () => {
    const message = utf8('every bit');
    const signature = signer.sign(message);
    for (let bit = 0; bit < 512; bit++) {
      const flipped = flipBit(signature, bit);
      const noble = verdict(nobleBackend, flipped, message, signer.publicKey);
      expect([bit, noble]).not.toEqual([bit, 'accept']);
      expect([bit, verdict(nodeBackend, flipped, message, signer.publicKey)]).toEqual([bit, noble]);
    }
  });
});

describe('nodeBackend public key cache', () => {
  it('stays bounded under a flood of distinct keys and keeps answering correctly', () => {
    const message = utf8('cache');
    for (let i = 0; i < publicKeyCacheEntriesMax + 50; i++) {
      const signer = createMemorySigner(nodeBackend.sha256(utf8(`cache key ${i}`)));
      expect(checkEd25519(nodeBackend, signer.sign(message), message, signer.publicKey)).toBeUndefined();
    }
    expect(nodePublicKeyCacheSize()).toBe(publicKeyCacheEntriesMax);
    // A key evicted long ago is rebuilt and still verifies.
    const first = createMemorySigner(nodeBackend.sha256(utf8('cache key 0')));
    expect(checkEd25519(nodeBackend, first.sign(message), message, first.publicKey)).toBeUndefined();
  });
});

describe('SMALL_ORDER_ENCODINGS', () => {
  it('lists 8 distinct points, each of small order according to noble', () => {
    expect(SMALL_ORDER_ENCODINGS.size).toBe(8);
    const points = [...SMALL_ORDER_ENCODINGS].map((hex) => ed.Point.fromBytes(hexToBytes(hex), false));
    for (const point of points) expect(point.isSmallOrder()).toBe(true);
    for (let i = 0; i < points.length; i++) {
      for (let j = i + 1; j < points.length; j++) expect(points[i]?.equals(points[j] as ed.Point)).toBe(false);
    }
    // Canonical: each encoding is what noble writes for its point.
    for (const [i, hex] of [...SMALL_ORDER_ENCODINGS].entries()) expect(points[i]?.toHex()).toBe(hex);
  });

  it('is the torsion subgroup the vector generator derived independently', () => {
    const fromVectors = new Set(vectors.filter((v) => v.expect === 'small-order-public-key' && v.name.startsWith('small-order-public-key-')).map((v) => v.publicKey));
    expect(fromVectors).toEqual(new Set(SMALL_ORDER_ENCODINGS));
  });
});
