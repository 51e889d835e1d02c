// `npx tsx ops/membership.ts <command>`: the operator's side of a membership
// change (docs/registry.md section 7, docs/runbook.md section 3). A change is
// proposed in the current epoch, approved offline by `threshold` governance
// organizations (signatures of kind "membership-approval"), and submitted as
// one signed request; `list` walks the epoch chain from the pinned genesis.
//   keygen  --config <replica config.json> --label <label>
//   propose --replica <url> [--add id,organization,publicKeyHex,address]... [--remove id]...
//           [--rotate id,publicKeyHex]... [--set-address id,address]... [--set-f N] --out change.json
//   approve change.json --organization <org> (--admin-key-dir <dir> --label <label> | --local-cluster <dataDir>)
//           --chain <chainId> [--out approval.json] [--yes]
//   submit  change.json approval.json... --replica <url>... --genesis <genesis.json>
//   list    --replica <url> --genesis <genesis.json>
// Every file and every answer is untrusted input: parsed with zod and the
// registry's own strict op validation, verified before it is believed.
// Exit codes: 0 done (or VERIFIED), 1 refused or not verified, 2 usage.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import {
  assertNever,
  bytesToHex,
  type EpochLink,
  equalBytes,
  headerHash,
  isWellFormedText,
  type Membership,
  membershipHash,
  membershipQuorum,
  parseEpochLinkJson,
  publicKey32,
  signature64,
  u63String,
  verifyEpochChain,
} from '@vcr/proofs';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { batchHash, parseCommittedBlockJson } from '@vcr/consensus';
import {
  decodeOp,
  type MembershipAction,
  type MembershipApproval,
  type MembershipChange,
  membershipChangeLimits,
  type MembershipOp,
  nextMembershipFor,
  opToCanonical,
  signMembershipApproval,
  validateOp,
} from '@vcr/registry';
import { readCapped, RegistryClient, RegistryError } from '@vcr/client-sdk';
import { loadConfig } from '../apps/replica/src/config';
import { loadGenesis } from '../apps/replica/src/genesis';
import { EncryptedFileKeyStore, type KeyHandle, KeyStoreError, passphraseFromEnvironment, Pkcs11KeyStore, pkcs11PinFromEnvironment } from '../apps/replica/src/keystore';
import { openOrgAdminKey } from './local-cluster';

/** Every bound on what this tool reads. */
export const membershipCliLimits = {
  /** A change or approval file; a real one is a few kilobytes. */
  fileBytesMax: 1024 * 1024,
  /** One HTTP answer (a page of 64 links, or one block of at most 1 MiB of payloads in hex). */
  responseBytesMax: 16 * 1024 * 1024,
  requestTimeoutMs: 15_000,
  /** Links per GET /v1/epochs page (the replica's maximum) and in one listing (verifyEpochChain's bound). */
  linksPerPage: 64,
  linksMax: 1024,
  /** Hex characters of a key shown in listings (approvals show whole keys). */
  keyPrefixChars: 16,
} as const;

/** An operational failure: `usage` exits 2, the others 1. */
export class MembershipCliError extends Error {
  override name = 'MembershipCliError';
  constructor(
    readonly code: 'usage' | 'input' | 'network' | 'keystore',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// ---- the change and approval files ----

const text = (bytesMax: number) => z.string().min(1).max(bytesMax).refine(isWellFormedText, 'well-formed text');
const replicaIdJson = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a replica id: [A-Za-z0-9][A-Za-z0-9._-]{0,63}');
const organizationJson = text(membershipChangeLimits.organizationBytesMax);
const addressJson = z.string().max(membershipChangeLimits.addressBytesMax).refine(isWellFormedText, 'well-formed text');

const actionJson = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('add-replica'), replica: z.strictObject({ id: replicaIdJson, organization: organizationJson, publicKey: publicKey32, address: addressJson }) }),
  z.strictObject({ action: z.literal('remove-replica'), id: replicaIdJson }),
  z.strictObject({ action: z.literal('rotate-key'), id: replicaIdJson, publicKey: publicKey32 }),
  z.strictObject({ action: z.literal('set-address'), id: replicaIdJson, address: addressJson }),
  z.strictObject({ action: z.literal('set-f'), f: z.number().int().min(0).max(membershipChangeLimits.fMax) }),
  z.strictObject({
    action: z.literal('set-governance'),
    governance: z.strictObject({
      threshold: z.number().int().min(1).max(membershipChangeLimits.adminsMax),
      admins: z.array(z.strictObject({ organization: organizationJson, publicKey: publicKey32 })).min(1).max(membershipChangeLimits.adminsMax),
    }),
  }),
]);

/**
 * The change file: the op's `change` in JSON (docs/registry.md section 7), bytes as lowercase hex,
 * the epoch as a decimal string. It is exactly what each approval signs, with the chain id.
 */
export const membershipChangeFileSchema = z.strictObject({
  epoch: u63String,
  actions: z.array(actionJson).min(1).max(membershipChangeLimits.actionsMax),
});

/** An approval file: one governance organization's signature over a change. */
export const membershipApprovalFileSchema = z.strictObject({ organization: organizationJson, signature: signature64 });

export function membershipChangeToJson(change: MembershipChange) {
  return {
    epoch: change.epoch.toString(),
    actions: change.actions.map((a) => {
      switch (a.action) {
        case 'add-replica':
          return { action: a.action, replica: { ...a.replica, publicKey: bytesToHex(a.replica.publicKey) } };
        case 'remove-replica':
          return { action: a.action, id: a.id };
        case 'rotate-key':
          return { action: a.action, id: a.id, publicKey: bytesToHex(a.publicKey) };
        case 'set-address':
          return { action: a.action, id: a.id, address: a.address };
        case 'set-f':
          return { action: a.action, f: a.f };
        case 'set-governance':
          return { action: a.action, governance: { threshold: a.governance.threshold, admins: a.governance.admins.map((g) => ({ organization: g.organization, publicKey: bytesToHex(g.publicKey) })) } };
        default:
          return assertNever(a, 'membership action');
      }
    }),
  };
}

/** The op, checked by the registry's own strict validation (what a replica would answer `malformed-op` to is refused here). */
function membershipOp(change: MembershipChange, approvals: MembershipApproval[]): MembershipOp {
  const op: MembershipOp = { op: 'membership', change, approvals };
  const check = validateOp(opToCanonical(op));
  if (!check.ok) throw new MembershipCliError('input', `the membership op would be refused as malformed: ${check.reason}`);
  return op;
}

function readUntrustedJson(file: string, what: string): unknown {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (cause) {
    throw new MembershipCliError('input', `cannot read ${what} ${file}: ${messageOf(cause)}`, { cause });
  }
  if (size > membershipCliLimits.fileBytesMax) throw new MembershipCliError('input', `${what} ${file} is ${size} bytes, more than ${membershipCliLimits.fileBytesMax}`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new MembershipCliError('input', `${what} ${file} is not JSON: ${messageOf(cause)}`, { cause });
  }
}

function parseFile<T>(schema: z.ZodType<T>, file: string, what: string): T {
  const parsed = schema.safeParse(readUntrustedJson(file, what));
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '$'}: ${i.message}`);
  throw new MembershipCliError('input', `${what} ${file} is malformed: ${issues.join('; ')}`);
}

export function loadChangeFile(file: string): MembershipChange {
  const change: MembershipChange = parseFile(membershipChangeFileSchema, file, 'change file');
  membershipOp(change, []);
  return change;
}

function writeNewFile(file: string, json: unknown): void {
  try {
    // 'wx': an approved change or an approval is never overwritten by accident.
    writeFileSync(file, JSON.stringify(json, null, 2) + '\n', { flag: 'wx' });
  } catch (cause) {
    const exists = (cause as { code?: string }).code === 'EEXIST';
    throw new MembershipCliError('input', exists ? `${file} exists: remove it or choose another --out` : `cannot write ${file}: ${messageOf(cause)}`, { cause });
  }
}

// ---- human terms ----

const keyText = (key: Uint8Array, full: boolean) => (full ? bytesToHex(key) : `${bytesToHex(key).slice(0, membershipCliLimits.keyPrefixChars)}...`);

export function describeAction(a: MembershipAction, fullKeys: boolean): string {
  switch (a.action) {
    case 'add-replica':
      return `add replica ${a.replica.id}: organization ${a.replica.organization}, key ${keyText(a.replica.publicKey, fullKeys)}, address ${a.replica.address || '(none)'}`;
    case 'remove-replica':
      return `remove replica ${a.id}`;
    case 'rotate-key':
      return `rotate the key of ${a.id} to ${keyText(a.publicKey, fullKeys)}`;
    case 'set-address':
      return `move ${a.id} to address ${a.address || '(none)'}`;
    case 'set-f':
      return `set f to ${a.f}`;
    case 'set-governance':
      return `replace the governance: ${a.governance.threshold} of ${a.governance.admins.map((g) => `${g.organization} (key ${keyText(g.publicKey, fullKeys)})`).join(', ')}`;
    default:
      return assertNever(a, 'membership action');
  }
}

function describeMembership(m: Membership): string[] {
  return [
    ...m.replicas.map((r) => `    ${r.id}  ${r.organization}  key ${keyText(r.publicKey, false)}  ${r.address}`),
    `    governance: ${m.governance.threshold} of ${[...new Set(m.governance.admins.map((a) => a.organization))].join(', ')}`,
  ];
}

const sizeText = (m: Membership) => `${m.replicas.length} replicas, f = ${m.f}, quorum ${membershipQuorum(m)}`;

// ---- HTTP ----

async function getJson(url: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(membershipCliLimits.requestTimeoutMs) });
  } catch (cause) {
    throw new MembershipCliError('network', `GET ${url}: ${messageOf(cause)}`, { cause });
  }
  const body = await readBounded(res, url);
  if (!res.ok) throw new MembershipCliError('network', `GET ${url}: HTTP ${res.status} ${body.slice(0, 200)}`);
  try {
    return JSON.parse(body);
  } catch (cause) {
    throw new MembershipCliError('network', `GET ${url}: the answer is not JSON`, { cause });
  }
}

/** The body as text, refusing (before reading it all) an answer larger than responseBytesMax. */
async function readBounded(res: Response, url: string): Promise<string> {
  const bytes = await readCapped(res, membershipCliLimits.responseBytesMax);
  if (bytes === undefined) throw new MembershipCliError('network', `GET ${url}: the answer is larger than ${membershipCliLimits.responseBytesMax} bytes`);
  return new TextDecoder().decode(bytes);
}

const epochsPageSchema = z.strictObject({ current: u63String, links: z.array(z.unknown()).max(membershipCliLimits.linksPerPage) });

async function getEpochsPage(replica: string, after: bigint, limit: number = membershipCliLimits.linksPerPage): Promise<{ current: bigint; links: unknown[] }> {
  const url = `${replica}/v1/epochs?after=${after}&limit=${limit}`;
  const parsed = epochsPageSchema.safeParse(await getJson(url));
  if (!parsed.success) throw new MembershipCliError('network', `GET ${url}: not an epochs page (${parsed.error.issues[0]?.message ?? 'malformed'})`);
  return parsed.data;
}

// ---- list: the epoch chain, verified ----

export type EpochListingVerdict = { ok: true; epoch: bigint } | { ok: false; where: string; rule: string; detail?: string };

/**
 * Prints every epoch from the genesis membership on, each one only after its
 * link verified (verifyEpochChain from the membership before it: the old
 * quorum's certificate of the last block and the new quorum's acceptance)
 * and after the approvals were found in that block: the first membership op
 * of its certified batch whose approvals pass `nextMembershipFor` against the
 * old membership and whose result is the link's next membership.
 */
export async function listEpochs(replicaUrl: string, genesis: Membership, print: (line: string) => void): Promise<EpochListingVerdict> {
  const replica = replicaUrl.replace(/\/+$/, '');
  print(`epoch ${genesis.epoch} (genesis, pinned): ${sizeText(genesis)}`);
  for (const line of describeMembership(genesis)) print(line);
  let trusted = genesis;
  let current = 0n;
  for (let walked = 0; ; ) {
    const page = await getEpochsPage(replica, trusted.epoch);
    current = page.current;
    if (page.links.length === 0) break;
    for (const untrustedLink of page.links) {
      const where = `link ${walked} (epoch ${trusted.epoch} -> ${trusted.epoch + 1n})`;
      if (++walked > membershipCliLimits.linksMax) return { ok: false, where, rule: 'too-many-links' };
      const parsed = parseEpochLinkJson(untrustedLink);
      if (!parsed.ok) return { ok: false, where, rule: 'malformed', detail: parsed.issues.join('; ') };
      const link = parsed.value;
      const verdict = verifyEpochChain(nodeBackend, trusted, [link]);
      if (!verdict.ok) return { ok: false, where, rule: verdict.reason, ...(verdict.detail === undefined ? {} : { detail: verdict.detail }) };
      const found = await approvedChangeOf(replica, trusted, link);
      if (!found.ok) return { ok: false, where: `${where}, block ${link.lastHeader.height}`, rule: found.rule, ...(found.detail === undefined ? {} : { detail: found.detail }) };
      printEpoch(print, trusted, link, found.op, found.clientId);
      trusted = link.nextMembership;
    }
  }
  if (current > trusted.epoch) {
    return { ok: false, where: `epoch ${trusted.epoch + 1n}`, rule: 'link-missing', detail: `${replica} says its current epoch is ${current} but serves links only up to epoch ${trusted.epoch} (the new quorum's acceptance may still be pending: try again)` };
  }
  return { ok: true, epoch: trusted.epoch };
}

type FoundChange = { ok: true; op: MembershipOp; clientId: string } | { ok: false; rule: string; detail?: string };

async function approvedChangeOf(replica: string, old: Membership, link: EpochLink): Promise<FoundChange> {
  const height = link.lastHeader.height;
  const parsed = parseCommittedBlockJson(await getJson(`${replica}/v1/blocks/${height}`));
  if (!parsed.ok) return { ok: false, rule: 'malformed-block', detail: parsed.issues.join('; ') };
  const block = parsed.value;
  // The link's header is the certified one; the block served must be that header, with its batch.
  if (!equalBytes(headerHash(nodeBackend, block.header), headerHash(nodeBackend, link.lastHeader))) return { ok: false, rule: 'block-is-not-the-link-header' };
  if (!equalBytes(batchHash(nodeBackend, block.batch), block.header.batchHash)) return { ok: false, rule: 'batch-hash-mismatch' };
  const nextHash = link.lastHeader.nextMembershipHash;
  if (nextHash === null) return { ok: false, rule: 'not-an-epoch-boundary' };
  for (const request of block.batch) {
    const decoded = decodeOp(request.payload);
    if (!decoded.ok || decoded.op.op !== 'membership') continue;
    const next = nextMembershipFor(nodeBackend, old, decoded.op.change, decoded.op.approvals);
    if (next.ok && equalBytes(membershipHash(nodeBackend, next.next), nextHash)) return { ok: true, op: decoded.op, clientId: request.clientId };
  }
  return { ok: false, rule: 'no-approved-change', detail: 'no membership op in the block has approvals that verify and yield the next membership' };
}

function printEpoch(print: (line: string) => void, old: Membership, link: EpochLink, op: MembershipOp, clientId: string): void {
  const next = link.nextMembership;
  const h = link.lastHeader;
  print(`epoch ${next.epoch}  VERIFIED: ${sizeText(next)}`);
  for (const line of describeMembership(next)) print(line);
  print(`  ended epoch ${old.epoch} with block ${h.height} (view ${h.view}): certified by ${link.oldSignatures.map((s) => s.replicaId).join(', ')} (quorum ${membershipQuorum(old)} of epoch ${old.epoch}), commit view ${link.oldCommitView}`);
  print(`  accepted by epoch ${next.epoch}'s members: ${link.newSignatures.map((s) => s.replicaId).join(', ')} (quorum ${membershipQuorum(next)})`);
  for (const a of op.change.actions) print(`  change: ${describeAction(a, false)}`);
  print(`  approved by ${op.approvals.map((a) => a.organization).join(', ')} (threshold ${old.governance.threshold} of epoch ${old.epoch}); submitted by client ${clientId.slice(0, membershipCliLimits.keyPrefixChars)}...`);
}

/** Prints the listing and its verdict; the exit code. Shared by `membership list` and `cli epochs`. */
export async function runEpochListing(replicaUrl: string, genesis: Membership): Promise<number> {
  const verdict = await listEpochs(replicaUrl, genesis, (line) => console.log(line));
  if (!verdict.ok) {
    console.error(`NOT VERIFIED: ${verdict.where}: ${verdict.rule}${verdict.detail === undefined ? '' : ` (${verdict.detail})`}`);
    return 1;
  }
  console.log(`VERIFIED: the epoch chain from the pinned genesis to epoch ${verdict.epoch}, the current epoch ${replicaUrl} reports`);
  return 0;
}

// ---- commands ----

function keygen(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, label: { type: 'string' } } });
  if (values.config === undefined || values.label === undefined) throw new MembershipCliError('usage', 'keygen needs --config and --label');
  const keystore = loadConfig(values.config).keystore;
  let key: KeyHandle;
  switch (keystore.kind) {
    case 'encrypted-file':
      key = new EncryptedFileKeyStore(keystore.dir, passphraseFromEnvironment(process.env)).generate(values.label);
      break;
    case 'pkcs11': {
      const store = new Pkcs11KeyStore({ modulePath: keystore.module, tokenLabel: keystore.tokenLabel, pin: pkcs11PinFromEnvironment(process.env) });
      try {
        key = store.generate(values.label);
      } finally {
        store.close();
      }
      break;
    }
    default:
      return assertNever(keystore, 'keystore kind');
  }
  console.log(`label ${key.label}`);
  console.log(`public key ${bytesToHex(key.publicKey)}`);
  console.log(`(generated in the ${keystore.kind} keystore of ${values.config}; the private key stays there)`);
  return 0;
}

/** `a,b,c`: exactly `count` fields; the last one keeps any further commas (an address may have them). */
function fields(value: string, count: number, flag: string): string[] {
  const parts = value.split(',');
  if (parts.length < count) throw new MembershipCliError('usage', `${flag} ${value}: expected ${count} comma-separated fields`);
  return [...parts.slice(0, count - 1), parts.slice(count - 1).join(',')];
}

function hexKey(value: string, flag: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(value)) throw new MembershipCliError('usage', `${flag}: the public key must be 64 hex characters (32 bytes)`);
  return value.toLowerCase();
}

async function propose(argv: string[]): Promise<number> {
  const options = {
    replica: { type: 'string' },
    add: { type: 'string', multiple: true },
    remove: { type: 'string', multiple: true },
    rotate: { type: 'string', multiple: true },
    'set-address': { type: 'string', multiple: true },
    'set-f': { type: 'string' },
    out: { type: 'string' },
  } as const;
  const { values, tokens } = parseArgs({ args: argv, options, tokens: true });
  if (values.replica === undefined || values.out === undefined) throw new MembershipCliError('usage', 'propose needs --replica and --out');
  // Actions apply in order, so they are taken in the order given on the command line.
  const actions: unknown[] = [];
  for (const t of tokens) {
    if (t.kind !== 'option' || t.value === undefined) continue;
    const v = t.value;
    if (t.name === 'add') {
      const [id, organization, key, address] = fields(v, 4, '--add');
      actions.push({ action: 'add-replica', replica: { id, organization, publicKey: hexKey(key as string, '--add'), address } });
    } else if (t.name === 'remove') actions.push({ action: 'remove-replica', id: v });
    else if (t.name === 'rotate') {
      const [id, key] = fields(v, 2, '--rotate');
      actions.push({ action: 'rotate-key', id, publicKey: hexKey(key as string, '--rotate') });
    } else if (t.name === 'set-address') {
      const [id, address] = fields(v, 2, '--set-address');
      actions.push({ action: 'set-address', id, address });
    } else if (t.name === 'set-f') {
      if (!/^[0-9]{1,2}$/.test(v)) throw new MembershipCliError('usage', '--set-f needs a small integer');
      actions.push({ action: 'set-f', f: Number(v) });
    }
  }
  if (actions.length === 0) throw new MembershipCliError('usage', 'propose needs at least one --add, --remove, --rotate, --set-address or --set-f');
  const { current } = await getEpochsPage(values.replica.replace(/\/+$/, ''), 0n, 1);
  const parsed = membershipChangeFileSchema.safeParse({ epoch: current.toString(), actions });
  if (!parsed.success) throw new MembershipCliError('usage', `the change is malformed: ${parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const change: MembershipChange = parsed.data;
  membershipOp(change, []);
  writeNewFile(values.out, membershipChangeToJson(change));
  console.log(`proposed in epoch ${change.epoch} (the current epoch of ${values.replica}; if the epoch moves on before submission the change is refused as stale-epoch):`);
  for (const [i, a] of change.actions.entries()) console.log(`  ${i + 1}. ${describeAction(a, true)}`);
  console.log(`wrote ${values.out}; each governance admin now runs \`approve\` on it`);
  return 0;
}

function openAdminKey(organization: string, chainId: string, keyDir: string | undefined, label: string | undefined, clusterDir: string | undefined): KeyHandle {
  if ((keyDir === undefined) === (clusterDir === undefined)) throw new MembershipCliError('usage', 'approve needs either --admin-key-dir with --label, or --local-cluster');
  if (keyDir !== undefined) {
    if (label === undefined) throw new MembershipCliError('usage', '--admin-key-dir needs --label');
    return new EncryptedFileKeyStore(keyDir, passphraseFromEnvironment(process.env)).open(label);
  }
  // The local cluster (ops/local-cluster.ts): organization orgN's admin key is in rN's keystore.
  const dataDir = resolve(clusterDir as string);
  const org = /^org([1-9][0-9]{0,1})$/.exec(organization)?.[1];
  if (org === undefined) throw new MembershipCliError('usage', '--local-cluster signs for organizations org1, org2, ...');
  const layout = { dataDir, passphraseFile: join(dataDir, 'dev-passphrase.txt'), genesisFile: join(dataDir, 'genesis.json'), replicas: [] };
  if (!existsSync(layout.passphraseFile) || !existsSync(layout.genesisFile)) throw new MembershipCliError('input', `${dataDir} is not a local cluster data folder`);
  const localChain = loadGenesis(layout.genesisFile).chainId;
  if (localChain !== chainId) throw new MembershipCliError('input', `the local cluster in ${dataDir} is chain ${localChain}, not ${chainId}`);
  return openOrgAdminKey(layout, Number(org));
}

async function approve(argv: string[]): Promise<number> {
  const options = {
    organization: { type: 'string' },
    'admin-key-dir': { type: 'string' },
    label: { type: 'string' },
    'local-cluster': { type: 'string' },
    chain: { type: 'string' },
    out: { type: 'string' },
    yes: { type: 'boolean' },
  } as const;
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
  const [changeFile, ...extra] = positionals;
  if (changeFile === undefined || extra.length > 0 || values.organization === undefined || values.chain === undefined) {
    throw new MembershipCliError('usage', 'approve needs one change file, --organization and --chain');
  }
  if (!organizationJson.safeParse(values.organization).success) throw new MembershipCliError('usage', '--organization: 1 to 256 bytes of text');
  const change = loadChangeFile(changeFile);
  // What is signed, in human terms, before anything is signed; whole keys, to compare with what was handed over.
  const say = (line: string) => (values.out === undefined ? console.error(line) : console.log(line));
  say(`membership change on chain ${values.chain}, proposed in epoch ${change.epoch} (takes effect as epoch ${change.epoch + 1n}):`);
  for (const [i, a] of change.actions.entries()) say(`  ${i + 1}. ${describeAction(a, true)}`);
  const key = openAdminKey(values.organization, values.chain, values['admin-key-dir'], values.label, values['local-cluster']);
  say(`approving as ${values.organization} with admin key ${bytesToHex(key.publicKey)} (label ${key.label})`);
  if (process.stdin.isTTY && values.yes !== true) {
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await prompt.question('sign this approval? [y/N] ');
    prompt.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      console.error('not signed');
      return 1;
    }
  }
  const approval = { organization: values.organization, signature: bytesToHex(signMembershipApproval(key, values.chain, change)) };
  if (values.out === undefined) console.log(JSON.stringify(approval));
  else {
    writeNewFile(values.out, approval);
    say(`wrote ${values.out}`);
  }
  return 0;
}

/** What each refusal of a membership op means (docs/registry.md section 7). */
const refusalHints: Record<string, string> = {
  'stale-epoch': 'the change was proposed for another epoch than the current one: propose again and collect new approvals',
  'bad-approval': 'an organization that is not a governance admin or is named twice, or a signature that does not verify: a change file edited after approval, or an approval made for another chain',
  'approvals-below-threshold': 'fewer approving organizations than the governance threshold',
  'invalid-membership-change': 'an action does not apply to the current membership (unknown or duplicate id, a key already used, too few replicas for f)',
  'epoch-change-pending': 'another membership change ended the epoch in the same block: propose again for the new epoch',
};

async function submit(argv: string[]): Promise<number> {
  const options = { replica: { type: 'string', multiple: true }, genesis: { type: 'string' } } as const;
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
  const [changeFile, ...approvalFiles] = positionals;
  const replicas = (values.replica ?? []).map((u) => u.replace(/\/+$/, ''));
  if (changeFile === undefined || values.genesis === undefined || replicas.length === 0) throw new MembershipCliError('usage', 'submit needs a change file, approval files, --replica and --genesis');
  const change = loadChangeFile(changeFile);
  const approvals: MembershipApproval[] = approvalFiles.map((f) => parseFile(membershipApprovalFileSchema, f, 'approval file'));
  const op = membershipOp(change, approvals);
  // The request's own signer confers nothing (the approvals do): a fresh key each time.
  const client = await RegistryClient.create({ membership: loadGenesis(values.genesis), replicas, signer: createNodeSigner(randomBytes(32)), backend: nodeBackend });
  let receipt;
  try {
    receipt = await client.submit(op);
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error;
    console.error(`NOT SUBMITTED: ${error.code}: ${error.message}`);
    for (const a of error.attempts) console.error(`  ${a.replica}: ${a.code}: ${a.detail}`);
    return 1;
  }
  const where = `committed at height ${receipt.height} in epoch ${receipt.epoch}; receipt verified (certificate + inclusion) from ${receipt.replica}`;
  if (!receipt.result.ok) {
    console.error(`REFUSED by the registry: ${receipt.result.error}${refusalHints[receipt.result.error] ? ` (${refusalHints[receipt.result.error]})` : ''}`);
    console.error(`  the refusal was ${where}`);
    return 1;
  }
  console.log(`ok: the membership change with ${approvals.length} approvals (${approvals.map((a) => a.organization).join(', ')}) ${where}`);
  console.log(`epoch ${change.epoch + 1n} starts after this block; check it with \`list\``);
  return 0;
}

async function list(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { replica: { type: 'string' }, genesis: { type: 'string' } } });
  if (values.replica === undefined || values.genesis === undefined) throw new MembershipCliError('usage', 'list needs --replica and --genesis');
  return runEpochListing(values.replica, loadGenesis(values.genesis));
}

const USAGE = `usage: npx tsx ops/membership.ts <command>
  keygen  --config <replica config.json> --label <label>
  propose --replica <url> [--add id,organization,publicKeyHex,address]... [--remove id]... [--rotate id,publicKeyHex]...
          [--set-address id,address]... [--set-f N] --out change.json
  approve change.json --organization <org> (--admin-key-dir <dir> --label <label> | --local-cluster <dataDir>) --chain <chainId> [--out approval.json] [--yes]
  submit  change.json approval.json... --replica <url>... --genesis <genesis.json>
  list    --replica <url> --genesis <genesis.json>`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'keygen':
        return keygen(rest);
      case 'propose':
        return await propose(rest);
      case 'approve':
        return await approve(rest);
      case 'submit':
        return await submit(rest);
      case 'list':
        return await list(rest);
      default:
        console.error(USAGE);
        return 2;
    }
  } catch (error) {
    // parseArgs refuses unknown or malformed options with a TypeError carrying an ERR_PARSE_ARGS_ code.
    const usage = (error instanceof MembershipCliError && error.code === 'usage') || String((error as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS');
    if (error instanceof KeyStoreError) console.error(`keystore error (${error.code}): ${error.message}`);
    else console.error(`error: ${messageOf(error)}`);
    if (usage) console.error(USAGE);
    return usage ? 2 : 1;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** True when this file is the program (`tsx ops/membership.ts`), false when imported (`ops/cli.ts epochs`). */
function invokedAsScript(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(resolve(process.argv[1])) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedAsScript()) main(process.argv.slice(2)).then((code) => process.exit(code));
