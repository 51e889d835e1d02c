// The membership change file and approval files (docs/runbook.md section 3):
// their JSON format, parsing (zod, then the registry's own strict op
// validation), writing, and the change in human terms. Files are untrusted:
// bounded in size, validated, refused with a message naming the file.

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import * as z from 'zod';
import { assertNever, bytesToHex, isWellFormedText, publicKey32, signature64, u63String } from '@vcr/proofs';
import { type MembershipAction, type MembershipApproval, type MembershipChange, membershipChangeLimits, type MembershipOp, opToCanonical, validateOp } from '@vcr/registry';
import { keyText, MembershipCliError, membershipCliLimits, messageOf } from './common';

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
export function membershipOp(change: MembershipChange, approvals: MembershipApproval[]): MembershipOp {
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
  throw new MembershipCliError('input', `${what} ${file} is malformed: ${issuesText(parsed.error)}`);
}

/** Parses a change object built from the command line (not a file): a bad one is a usage error. */
export function changeFromActions(epoch: bigint, actions: unknown[]): MembershipChange {
  const parsed = membershipChangeFileSchema.safeParse({ epoch: epoch.toString(), actions });
  if (!parsed.success) throw new MembershipCliError('usage', `the change is malformed: ${issuesText(parsed.error)}`);
  const change: MembershipChange = parsed.data;
  membershipOp(change, []);
  return change;
}

export function loadChangeFile(file: string): MembershipChange {
  const change: MembershipChange = parseFile(membershipChangeFileSchema, file, 'change file');
  membershipOp(change, []);
  return change;
}

export function loadApprovalFile(file: string): MembershipApproval {
  return parseFile(membershipApprovalFileSchema, file, 'approval file');
}

export function isOrganizationName(value: string): boolean {
  return organizationJson.safeParse(value).success;
}

/** Writes a new file; an approved change or an approval is never overwritten by accident. */
export function writeNewFile(file: string, json: unknown): void {
  try {
    writeFileSync(file, JSON.stringify(json, null, 2) + '\n', { flag: 'wx' });
  } catch (cause) {
    const exists = (cause as { code?: string }).code === 'EEXIST';
    throw new MembershipCliError('input', exists ? `${file} exists: remove it or choose another --out` : `cannot write ${file}: ${messageOf(cause)}`, { cause });
  }
}

/** One action in human terms: whole keys where a person compares them before signing, prefixes in listings. */
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

function issuesText(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '$'}: ${i.message}`)
    .join('; ');
}
