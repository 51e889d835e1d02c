// Deterministic test fixtures shared by every package's tests: keys derived
// from names, memberships, signed headers. Never used outside tests.

import { nobleBackend, createMemorySigner } from '../noble-backend';
import { type Signer } from '../crypto-backend';
import { utf8 } from '../bytes';
import { type CertificateSignature, type Certificate } from '../certificate';
import { signInDomain } from '../domain';
import { type EpochLink, epochAcceptMessage } from '../epoch-chain';
import { type BlockHeader, commitVoteMessage, GENESIS_PREV_HASH, headerHash } from '../header';
import { type Membership, membershipHash } from '../membership';
import { maxFaultTolerance } from '../quorum';

export function testSeed(name: string): Uint8Array {
  return nobleBackend.sha256(utf8(`vcr-test-key/${name}`));
}

export function testSigner(name: string): Signer {
  return createMemorySigner(testSeed(name));
}

export interface TestCluster {
  membership: Membership;
  signers: Map<string, Signer>;
}

/** A membership of `n` replicas r1..rn (one organization each) at `epoch`; key names can be varied with `keyPrefix`. */
export function testCluster(opts: { n?: number; epoch?: bigint; chainId?: string; keyPrefix?: string; f?: number } = {}): TestCluster {
  const n = opts.n ?? 4;
  const epoch = opts.epoch ?? 0n;
  const keyPrefix = opts.keyPrefix ?? 'replica';
  const signers = new Map<string, Signer>();
  const replicas = [];
  for (let i = 1; i <= n; i++) {
    const id = `r${i}`;
    const signer = testSigner(`${keyPrefix}-${id}`);
    signers.set(id, signer);
    replicas.push({ id, organization: `org${i}`, publicKey: signer.publicKey, address: `http://127.0.0.1:${7000 + i}` });
  }
  const admins = [1, 2, 3].map((i) => ({ organization: `org${i}`, publicKey: testSigner(`admin-org${i}`).publicKey }));
  return {
    membership: {
      chainId: opts.chainId ?? 'vcr-test',
      epoch,
      f: opts.f ?? maxFaultTolerance(n),
      replicas,
      governance: { threshold: 2, admins },
    },
    signers,
  };
}

export function testHeader(overrides: Partial<BlockHeader> = {}): BlockHeader {
  const h = (label: string) => nobleBackend.sha256(utf8(label));
  return {
    chainId: 'vcr-test',
    epoch: 0n,
    view: 0n,
    height: 1n,
    prevHash: GENESIS_PREV_HASH,
    batchHash: h('batch'),
    stateRoot: h('state'),
    logRoot: h('log'),
    logSize: 1n,
    timestampMs: 1_700_000_000_000n,
    nextMembershipHash: null,
    ...overrides,
  };
}

export function signCommit(signer: Signer, header: BlockHeader, commitView = header.view): Uint8Array {
  return signInDomain(
    signer,
    { kind: 'commit', chainId: header.chainId, epoch: header.epoch },
    commitVoteMessage(headerHash(nobleBackend, header), header.height, commitView),
  );
}

/** A certificate signed by the given replica ids of `cluster` (default: all). */
export function testCertificate(cluster: TestCluster, header: BlockHeader, ids?: string[], commitView = header.view): Certificate {
  const signatures: CertificateSignature[] = (ids ?? [...cluster.signers.keys()]).map((replicaId) => {
    const signer = cluster.signers.get(replicaId);
    if (!signer) throw new Error(`no signer ${replicaId}`);
    return { replicaId, signature: signCommit(signer, header, commitView) };
  });
  return { header, commitView, signatures };
}

/** A valid epoch link from `from` to `to` (the last header of `from`'s epoch commits to `to`). */
export function testEpochLink(from: TestCluster, to: TestCluster, height = 10n): EpochLink {
  const nextHash = membershipHash(nobleBackend, to.membership);
  const lastHeader = testHeader({ chainId: from.membership.chainId, epoch: from.membership.epoch, height, nextMembershipHash: nextHash });
  const oldSignatures = testCertificate(from, lastHeader).signatures;
  const message = epochAcceptMessage(headerHash(nobleBackend, lastHeader), nextHash);
  const newSignatures = [...to.signers.entries()].map(([replicaId, signer]) => ({
    replicaId,
    signature: signInDomain(signer, { kind: 'epoch-accept', chainId: to.membership.chainId, epoch: to.membership.epoch }, message),
  }));
  return { lastHeader, oldCommitView: lastHeader.view, oldSignatures, nextMembership: to.membership, newSignatures };
}
