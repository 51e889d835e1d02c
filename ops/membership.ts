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
// This file is the command dispatcher; the change-file format is in
// membership/change-file.ts, the verified listing in membership/list.ts.

import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { assertNever, bytesToHex } from '@vcr/proofs';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { type MembershipApproval, signMembershipApproval } from '@vcr/registry';
import { RegistryClient, RegistryError } from '@vcr/client-sdk';
import { loadConfig } from '../apps/replica/src/config';
import { loadGenesis } from '../apps/replica/src/genesis';
import { EncryptedFileKeyStore, type KeyHandle, KeyStoreError, passphraseFromEnvironment, Pkcs11KeyStore, pkcs11PinFromEnvironment } from '../apps/replica/src/keystore';
import { openOrgAdminKey } from './local-cluster';
import { changeFromActions, describeAction, isOrganizationName, loadApprovalFile, loadChangeFile, membershipChangeToJson, membershipOp, writeNewFile } from './membership/change-file';
import { MembershipCliError, messageOf } from './membership/common';
import { getEpochsPage } from './membership/http';
import { runEpochListing } from './membership/list';

export { describeAction, loadChangeFile, membershipApprovalFileSchema, membershipChangeFileSchema, membershipChangeToJson } from './membership/change-file';
export { MembershipCliError, membershipCliLimits } from './membership/common';
export { type EpochListingVerdict, listEpochs, runEpochListing } from './membership/list';

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
  const change = changeFromActions(current, actions);
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
  if (!isOrganizationName(values.organization)) throw new MembershipCliError('usage', '--organization: 1 to 256 bytes of text');
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
  const approvals: MembershipApproval[] = approvalFiles.map(loadApprovalFile);
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

/** True when this file is the program (`tsx ops/membership.ts`), false when imported (`ops/cli.ts epochs`). */
function invokedAsScript(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(resolve(process.argv[1])) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedAsScript()) main(process.argv.slice(2)).then((code) => process.exit(code));
