import {
  batchHash,
  checkViewChange,
  type Checkpoint,
  type ClientRequest,
  type Commit,
  type CommittedBlock,
  consensusLimits,
  type EpochAccept,
  type NewView,
  type PeerMessage,
  type PrePrepare,
  type Prepare,
  primaryOf,
  requestSigningMessage,
  signMessage,
  type ViewChange,
  verifyMessageSignature,
} from '@vcr/consensus';
import { headerHash, limits as proofLimits, nobleBackend, parseClientRequestJson as proofsParseClientRequestJson, type ParseResult, signInDomain, utf8 } from '@vcr/proofs';
import { testCertificate, testCluster, testHeader, testSigner } from '@vcr/proofs/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clientReplyToJson,
  clientRequestToJson,
  committedBlockToJson,
  MAX_CLIENT_BODY_BYTES,
  MAX_PEER_BODY_BYTES,
  parseClientRequestJson,
  parseCommittedBlockJson,
  parsePeerMessageJson,
  peerMessageToJson,
} from '../src/wire';

const backend = nobleBackend;
const ctx = { backend, chainId: 'vcr-test' };
const cluster = testCluster();
const viewChangeCtx = { ...ctx, membership: cluster.membership, epochStart: { seq: 0n, hash: new Uint8Array(32) }, checkpointInterval: 16, watermarkWindow: 64 };
const U63_MAX = (1n << 63n) - 1n;

function signerOf(id: string) {
  const signer = cluster.signers.get(id);
  if (signer === undefined) throw new Error(`no signer ${id}`);
  return signer;
}

/** What a peer does: serialize, send as text, parse back into plain JSON. */
function overTheWire(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

function parsed<T>(result: ParseResult<T>): T {
  if (!result.ok) throw new Error(`expected ok:true, got ${result.issues.join('; ')}`);
  return result.value;
}

function expectMalformed<T>(result: ParseResult<T>): string[] {
  if (result.ok) throw new Error('expected ok:false');
  expect(result.reason).toBe('malformed');
  expect(result.issues.length).toBeGreaterThan(0);
  return result.issues;
}

/** A deep copy of some JSON with `mutate` applied to the copy. */
function edited(json: unknown, mutate: (copy: Record<string, unknown>) => void): unknown {
  const copy = overTheWire(json) as Record<string, unknown>;
  mutate(copy);
  return copy;
}

function objectAt(value: unknown, ...path: (string | number)[]): Record<string, unknown> {
  let at: unknown = value;
  for (const key of path) at = (at as Record<string | number, unknown>)[key];
  if (typeof at !== 'object' || at === null) throw new Error(`no object at ${path.join('.')}`);
  return at as Record<string, unknown>;
}

function clientRequest(i: number, requestId = BigInt(i), payload = utf8(`op-${i}`)): ClientRequest {
  const unsigned = { clientId: `client-${i}`, requestId, payload };
  const signature = signInDomain(testSigner(`client-${i}`), { kind: 'client-request', chainId: ctx.chainId, epoch: 0n }, requestSigningMessage(unsigned));
  return { ...unsigned, signature };
}

// A stable checkpoint at 16 and a block prepared at 17 in view 0, then a view change to view 1.
const batch = [clientRequest(1, U63_MAX), clientRequest(2, 0n, new Uint8Array(0))];
const checkpointHeader = testHeader({ height: 16n, logSize: 16n });
const checkpointHash = headerHash(backend, checkpointHeader);
const header17 = testHeader({ height: 17n, prevHash: checkpointHash, batchHash: batchHash(backend, batch), logSize: 18n, timestampMs: U63_MAX });
const hash17 = headerHash(backend, header17);

const prePrepare = signMessage<PrePrepare>(ctx, signerOf(primaryOf(cluster.membership, 0n)), {
  type: 'pre-prepare',
  epoch: 0n,
  from: primaryOf(cluster.membership, 0n),
  view: 0n,
  seq: 17n,
  header: header17,
  batch,
});
const prepareBy = (id: string) => signMessage<Prepare>(ctx, signerOf(id), { type: 'prepare', epoch: 0n, from: id, view: 0n, seq: 17n, headerHash: hash17 });
const prepares = [prepareBy('r2'), prepareBy('r3')];
const commit = signMessage<Commit>(ctx, signerOf('r4'), { type: 'commit', epoch: 0n, from: 'r4', view: 0n, seq: 17n, headerHash: hash17 });
const checkpointBy = (id: string) => signMessage<Checkpoint>(ctx, signerOf(id), { type: 'checkpoint', epoch: 0n, from: id, seq: 16n, headerHash: checkpointHash });
const checkpointProof = { seq: 16n, headerHash: checkpointHash, proof: ['r1', 'r2', 'r3'].map(checkpointBy) };
const viewChangeBy = (id: string) =>
  signMessage<ViewChange>(ctx, signerOf(id), {
    type: 'view-change',
    epoch: 0n,
    from: id,
    newView: 1n,
    checkpoint: checkpointProof,
    prepared: [{ prePrepare, prepares }],
  });
const viewChanges = ['r2', 'r3', 'r4'].map(viewChangeBy);
const newPrimary = primaryOf(cluster.membership, 1n);
const reProposed = signMessage<PrePrepare>(ctx, signerOf(newPrimary), { ...prePrepare, from: newPrimary, view: 1n });
const newView = signMessage<NewView>(ctx, signerOf(newPrimary), { type: 'new-view', epoch: 0n, from: newPrimary, view: 1n, viewChanges, prePrepares: [reProposed] });

const epochAccept = signMessage<EpochAccept>(ctx, signerOf('r2'), { type: 'epoch-accept', epoch: 0n, from: 'r2', lastHeaderHash: hash17, nextMembershipHash: checkpointHash });

const samples: PeerMessage[] = [prePrepare, prepares[0] as Prepare, commit, checkpointBy('r1'), viewChanges[0] as ViewChange, newView, epochAccept];

function roundTrip(m: PeerMessage): PeerMessage {
  return parsed(parsePeerMessageJson(overTheWire(peerMessageToJson(m))));
}

describe('peer messages round-trip through JSON', () => {
  it.each(samples.map((m) => [m.type, m] as const))('a %s comes back deep-equal, bigints and bytes intact', (_type, m) => {
    const back = roundTrip(m);
    expect(back).toStrictEqual(m);
    expect(back.signature).toBeInstanceOf(Uint8Array);
    expect(typeof back.epoch).toBe('bigint');
  });

  it.each(samples.map((m) => [m.type, m] as const))('a %s signed by a member still verifies after the trip', (_type, m) => {
    expect(verifyMessageSignature(ctx, cluster.membership, roundTrip(m))).toBe(true);
  });

  it('a parsed view change still passes the core check, nested messages included', () => {
    const back = roundTrip(viewChanges[0] as ViewChange);
    if (back.type !== 'view-change') throw new Error('expected a view change');
    expect(checkViewChange(viewChangeCtx, back)).toEqual({ ok: true });
    const nested = back.prepared[0]?.prepares[0];
    if (nested === undefined) throw new Error('expected a nested prepare');
    expect(verifyMessageSignature(ctx, cluster.membership, nested)).toBe(true);
  });

  it('a parsed new view keeps every view change verifiable', () => {
    const back = roundTrip(newView);
    if (back.type !== 'new-view') throw new Error('expected a new view');
    expect(back.viewChanges.map((vc) => checkViewChange(viewChangeCtx, vc).ok)).toEqual([true, true, true]);
    expect(back.prePrepares[0]?.header.timestampMs).toBe(U63_MAX);
  });

  it('the wire checks shape only: a non-member signature parses and fails verification', () => {
    const outsider = signMessage<Prepare>(ctx, testSigner('x'), { type: 'prepare', epoch: 0n, from: 'r2', view: 0n, seq: 17n, headerHash: hash17 });
    const back = roundTrip(outsider);
    expect(back).toStrictEqual(outsider);
    expect(verifyMessageSignature(ctx, cluster.membership, back)).toBe(false);
  });

  it('a batch of 2^63 - 1 and empty payloads keeps its values', () => {
    const back = roundTrip(prePrepare);
    if (back.type !== 'pre-prepare') throw new Error('expected a pre-prepare');
    expect(back.batch.map((r) => r.requestId)).toEqual([U63_MAX, 0n]);
    expect(back.batch[1]?.payload).toStrictEqual(new Uint8Array(0));
  });
});

describe('client requests, replies and committed blocks', () => {
  it('a client request is parsed by the one parser of @vcr/proofs (its zod-free fast path first), not a second copy', () => {
    expect(parseClientRequestJson).toBe(proofsParseClientRequestJson);
  });

  it('a client request round-trips with a decimal request id and hex bytes', () => {
    const request = batch[0] as ClientRequest;
    const json = clientRequestToJson(request);
    expect(json.requestId).toBe(U63_MAX.toString());
    expect(json.signature).toMatch(/^[0-9a-f]{128}$/);
    expect(parsed(parseClientRequestJson(overTheWire(json)))).toStrictEqual(request);
  });

  it('a client reply is decimal and lowercase hex', () => {
    expect(clientReplyToJson({ clientId: 'c', requestId: U63_MAX, result: Uint8Array.of(0xab, 0x01) })).toEqual({ clientId: 'c', requestId: '9223372036854775807', result: 'ab01' });
  });

  it('a committed block round-trips with its certificate and commit view', () => {
    const block: CommittedBlock = { header: header17, batch, certificate: testCertificate(cluster, header17, ['r1', 'r2', 'r3'], 2n) };
    const back = parsed(parseCommittedBlockJson(overTheWire(committedBlockToJson(block))));
    expect(back).toStrictEqual(block);
    expect(back.certificate.commitView).toBe(2n);
  });

  it('a committed block refuses an unknown key in its certificate', () => {
    const json = committedBlockToJson({ header: header17, batch, certificate: testCertificate(cluster, header17) });
    expectMalformed(parseCommittedBlockJson(edited(json, (c) => (objectAt(c, 'certificate').extra = 1))));
  });
});

describe('rejections', () => {
  const prepareJson = peerMessageToJson(prepares[0] as Prepare);
  const requestJson = clientRequestToJson(batch[0] as ClientRequest);

  it('refuses an unknown message type', () => {
    expectMalformed(parsePeerMessageJson(edited(prepareJson, (c) => (c.type = 'reply'))));
    expectMalformed(parsePeerMessageJson(edited(prepareJson, (c) => delete c.type)));
  });

  it('refuses extra keys at the top and deep inside a new view', () => {
    expectMalformed(parsePeerMessageJson(edited(prepareJson, (c) => (c.extra = '1'))));
    const deep = edited(peerMessageToJson(newView), (c) => (objectAt(c, 'viewChanges', 0, 'prepared', 0, 'prepares', 0).extra = true));
    expect(expectMalformed(parsePeerMessageJson(deep)).join()).toContain('viewChanges.0.prepared.0.prepares.0');
    expectMalformed(parseClientRequestJson(edited(requestJson, (c) => (c.extra = 0))));
  });

  it('refuses uppercase hex in hashes, signatures and payloads', () => {
    expectMalformed(parsePeerMessageJson(edited(prepareJson, (c) => (c.headerHash = String(c.headerHash).toUpperCase()))));
    expectMalformed(parsePeerMessageJson(edited(prepareJson, (c) => (c.signature = String(c.signature).toUpperCase()))));
    expectMalformed(parseClientRequestJson({ ...requestJson, payload: 'AB' }));
    expectMalformed(parseClientRequestJson({ ...requestJson, payload: 'abc' }));
  });

  it('refuses JSON numbers for 64-bit fields', () => {
    expectMalformed(parsePeerMessageJson(edited(prepareJson, (c) => (c.view = 0))));
    expectMalformed(parsePeerMessageJson(edited(prepareJson, (c) => (c.epoch = 0))));
    expectMalformed(parseClientRequestJson({ ...requestJson, requestId: 1 }));
  });

  it('accepts 2^63 - 1 and refuses 2^63, negatives and leading zeros', () => {
    expect(parsePeerMessageJson(edited(prepareJson, (c) => (c.seq = U63_MAX.toString()))).ok).toBe(true);
    for (const seq of [(1n << 63n).toString(), '-1', '017', '1e3', ''])
      expectMalformed(parsePeerMessageJson(edited(prepareJson, (c) => (c.seq = seq))));
  });

  it(`refuses a batch of more than ${consensusLimits.batchRequestsMax} requests`, () => {
    const tiny = clientRequestToJson(clientRequest(3, 3n, new Uint8Array(0)));
    const atMax = edited(peerMessageToJson(prePrepare), (c) => (c.batch = Array.from({ length: consensusLimits.batchRequestsMax }, () => tiny)));
    expect(parsePeerMessageJson(atMax).ok).toBe(true);
    const over = edited(peerMessageToJson(prePrepare), (c) => (c.batch = Array.from({ length: consensusLimits.batchRequestsMax + 1 }, () => tiny)));
    expectMalformed(parsePeerMessageJson(over));
  });

  it('refuses a batch whose payloads sum past batchBytesMax', () => {
    const big = { ...requestJson, payload: '00'.repeat(consensusLimits.requestPayloadBytesMax) };
    const count = Math.floor(consensusLimits.batchBytesMax / consensusLimits.requestPayloadBytesMax) + 1;
    expectMalformed(parsePeerMessageJson(edited(peerMessageToJson(prePrepare), (c) => (c.batch = Array.from({ length: count }, () => big)))));
  });

  it(`refuses a payload of more than ${consensusLimits.requestPayloadBytesMax} bytes`, () => {
    const atMax = { ...requestJson, payload: 'ab'.repeat(consensusLimits.requestPayloadBytesMax) };
    expect(parseClientRequestJson(atMax).ok).toBe(true);
    expectMalformed(parseClientRequestJson({ ...requestJson, payload: 'ab'.repeat(consensusLimits.requestPayloadBytesMax + 1) }));
  });

  it('refuses an empty or over-long client id', () => {
    expectMalformed(parseClientRequestJson({ ...requestJson, clientId: '' }));
    expect(parseClientRequestJson({ ...requestJson, clientId: 'c'.repeat(consensusLimits.clientIdBytesMax) }).ok).toBe(true);
    expectMalformed(parseClientRequestJson({ ...requestJson, clientId: 'c'.repeat(consensusLimits.clientIdBytesMax + 1) }));
    expectMalformed(parseClientRequestJson({ ...requestJson, clientId: 'é'.repeat(consensusLimits.clientIdBytesMax / 2 + 1) }));
  });

  it('refuses lone surrogates in strings the core hashes, so hashing never throws', () => {
    const lone = JSON.parse('"r\\ud800"') as string;
    expectMalformed(parseClientRequestJson({ ...requestJson, clientId: lone }));
    const nvJson = peerMessageToJson(newView);
    expectMalformed(parsePeerMessageJson(edited(nvJson, (c) => (objectAt(c, 'viewChanges', 1).from = lone))));
    expectMalformed(parsePeerMessageJson(edited(nvJson, (c) => (objectAt(c, 'prePrepares', 0, 'header').chainId = lone))));
    const blockJson = committedBlockToJson({ header: header17, batch, certificate: testCertificate(cluster, header17) });
    expectMalformed(parseCommittedBlockJson(edited(blockJson, (c) => (objectAt(c, 'certificate', 'header').chainId = lone))));
  });

  it('bounds nested arrays: prepares, checkpoint proofs, prepared certificates, view changes', () => {
    const vcJson = peerMessageToJson(viewChanges[0] as ViewChange);
    const repeat = (item: unknown, n: number) => Array.from({ length: n }, () => item);
    const tooManyPrepares = edited(vcJson, (c) => (objectAt(c, 'prepared', 0).prepares = repeat(prepareJson, proofLimits.membershipSizeMax + 1)));
    const tooManyCheckpoints = edited(vcJson, (c) => (objectAt(c, 'checkpoint').proof = repeat(objectAt(vcJson, 'checkpoint', 'proof', 0), proofLimits.membershipSizeMax + 1)));
    const tooManyPrepared = edited(vcJson, (c) => (c.prepared = repeat(objectAt(vcJson, 'prepared', 0), consensusLimits.watermarkWindowMax + 1)));
    const tooManyViewChanges = edited(peerMessageToJson(newView), (c) => (c.viewChanges = repeat(vcJson, consensusLimits.viewChangesMax + 1)));
    for (const json of [tooManyPrepares, tooManyCheckpoints, tooManyPrepared, tooManyViewChanges]) expectMalformed(parsePeerMessageJson(json));
  });

  it('refuses a commit nested where a prepare belongs', () => {
    const commitJson = peerMessageToJson(commit);
    expectMalformed(parsePeerMessageJson(edited(peerMessageToJson(viewChanges[0] as ViewChange), (c) => (objectAt(c, 'prepared', 0).prepares = [commitJson]))));
  });
});

describe('body limits', () => {
  it('a request with a payload at its limit and a long client id fits the client body limit', () => {
    const request = { ...clientRequest(4), clientId: '\u0001'.repeat(consensusLimits.clientIdBytesMax), payload: new Uint8Array(consensusLimits.requestPayloadBytesMax) };
    expect(utf8(JSON.stringify(clientRequestToJson(request))).length).toBeLessThanOrEqual(MAX_CLIENT_BODY_BYTES);
  });

  it('a pre-prepare with a full batch fits the peer body limit', () => {
    const perRequest = consensusLimits.batchBytesMax / consensusLimits.batchRequestsMax;
    const full = Array.from({ length: consensusLimits.batchRequestsMax }, (_, i) => ({
      ...clientRequest(5, BigInt(i)),
      clientId: 'c'.repeat(consensusLimits.clientIdBytesMax),
      payload: new Uint8Array(perRequest),
    }));
    const json = peerMessageToJson({ ...prePrepare, batch: full });
    expect(parsePeerMessageJson(overTheWire(json)).ok).toBe(true);
    expect(utf8(JSON.stringify(json)).length).toBeLessThanOrEqual(MAX_PEER_BODY_BYTES);
  });
});

describe('parsing never throws', () => {
  const parsers = [parsePeerMessageJson, parseClientRequestJson, parseCommittedBlockJson];

  it('on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        for (const parse of parsers) expect(typeof parse(value).ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });

  /** Every path to a value inside a JSON tree. */
  function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
    if (typeof value !== 'object' || value === null) return [prefix];
    const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
    return [prefix, ...keys.flatMap((k) => pathsOf((value as Record<string | number, unknown>)[k], [...prefix, k]))];
  }

  it('on a new view with any one value replaced by arbitrary JSON', () => {
    const json = overTheWire(peerMessageToJson(newView));
    const paths = pathsOf(json).filter((p) => p.length > 0);
    fc.assert(
      fc.property(fc.nat({ max: paths.length - 1 }), fc.jsonValue({ maxDepth: 3 }), (index, replacement) => {
        const path = paths[index] ?? [];
        const copy = overTheWire(json);
        const last = path[path.length - 1];
        if (last === undefined) return;
        objectAt(copy, ...path.slice(0, -1))[last] = replacement;
        const result = parsePeerMessageJson(copy);
        expect(typeof result.ok).toBe('boolean');
        if (result.ok) expect(verifyMessageSignature(ctx, cluster.membership, result.value)).toBeTypeOf('boolean');
      }),
      { numRuns: 300 },
    );
  });
});
