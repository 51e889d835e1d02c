// The peer handshake's three messages (docs/peer-transport.md section 2):
//   server -> dialer  challenge { server, nonce }
//   dialer -> server  hello     { from, to, serverNonce, clientNonce, signature }
//   server -> dialer  welcome   { from, to, clientNonce, signature }
// Both signatures are in the 'peer-envelope' domain, so chain id and epoch are
// bound without being sent, and each covers both nonces, so a signature made
// for one connection never authenticates another. This module builds and
// checks the messages; it owns no socket. Checks run cheapest first: size,
// then schema, then ids and nonces, and the signature last.

import { randomBytes } from 'node:crypto';
import { bytesToHex, type CryptoBackend, hexToBytes, isWellFormedText, type Signer, signInDomain, type SigningDomain, verifyInDomain } from '@vcr/proofs';
import { z } from 'zod';
import { transportLimits } from './limits';

export const NONCE_BYTES = 32;

/** Exactly 32 bytes as lowercase hex: one spelling per nonce, so comparing strings compares nonces. */
const nonceHex = z.string().regex(/^[0-9a-f]{64}$/);
const signatureHex = z.string().regex(/^[0-9a-f]{128}$/);
/** As replica ids on the peer wire (@vcr/consensus wire.ts). */
const replicaId = z.string().min(1).max(64).refine(isWellFormedText);

export const challengeSchema = z.strictObject({ type: z.literal('challenge'), server: replicaId, nonce: nonceHex });
export const helloSchema = z.strictObject({
  type: z.literal('hello'),
  from: replicaId,
  to: replicaId,
  serverNonce: nonceHex,
  clientNonce: nonceHex,
  signature: signatureHex,
});
export const welcomeSchema = z.strictObject({ type: z.literal('welcome'), from: replicaId, to: replicaId, clientNonce: nonceHex, signature: signatureHex });

export type Challenge = z.infer<typeof challengeSchema>;
export type Hello = z.infer<typeof helloSchema>;
export type Welcome = z.infer<typeof welcomeSchema>;

/** What both sides need to sign and check handshakes. */
export interface HandshakeContext {
  selfId: string;
  /** { kind: 'peer-envelope', chainId, epoch } of the current membership. */
  domain: SigningDomain;
  signer: Signer;
  backend: CryptoBackend;
  /** The membership public key of a replica other than self; undefined for anyone else. */
  peerKey(id: string): Uint8Array | undefined;
}

export function peerEnvelopeDomain(chainId: string, epoch: bigint): SigningDomain {
  return { kind: 'peer-envelope', chainId, epoch };
}

export function newNonce(): string {
  return bytesToHex(randomBytes(NONCE_BYTES));
}

/** The canonical message both handshake signatures are over; `step` keeps a hello from passing as a welcome. */
export function handshakeSigningMessage(step: 'hello' | 'welcome', ids: { from: string; to: string }, nonces: { serverNonce: string; clientNonce: string }) {
  return { step, from: ids.from, to: ids.to, serverNonce: hexToBytes(nonces.serverNonce), clientNonce: hexToBytes(nonces.clientNonce) };
}

export function challengeMessage(serverId: string, nonce: string): Challenge {
  return { type: 'challenge', server: serverId, nonce };
}

/** The dialer's answer to a challenge. Throws what the signer throws (a guard refusal, a journal failure). */
export function signHello(ctx: HandshakeContext, to: string, serverNonce: string, clientNonce: string): Hello {
  const from = ctx.selfId;
  const signature = signInDomain(ctx.signer, ctx.domain, handshakeSigningMessage('hello', { from, to }, { serverNonce, clientNonce }));
  return { type: 'hello', from, to, serverNonce, clientNonce, signature: bytesToHex(signature) };
}

/** The server's answer to a verified hello. Throws what the signer throws. */
export function signWelcome(ctx: HandshakeContext, to: string, serverNonce: string, clientNonce: string): Welcome {
  const from = ctx.selfId;
  const signature = signInDomain(ctx.signer, ctx.domain, handshakeSigningMessage('welcome', { from, to }, { serverNonce, clientNonce }));
  return { type: 'welcome', from, to, clientNonce, signature: bytesToHex(signature) };
}

export type HandshakeRejection =
  /** Longer than handshakeMessageBytesMax, checked before parsing. */
  | 'too-large'
  | 'not-json'
  /** Not exactly the schema of the message expected at this step. */
  | 'malformed'
  /** challenge: not the replica we dialed; welcome: not the replica we sent the hello to. */
  | 'wrong-server'
  /** hello: `from` is self or not in the membership. */
  | 'unknown-peer'
  /** `to` is not self. */
  | 'wrong-recipient'
  /** hello: not this connection's server nonce; welcome: not this connection's client nonce. */
  | 'wrong-nonce'
  | 'bad-signature';

export type HandshakeVerdict<T> = { ok: true; message: T } | { ok: false; reason: HandshakeRejection };

function parseSmall<S extends z.ZodType>(schema: S, untrustedText: string): HandshakeVerdict<z.infer<S>> {
  // One UTF-16 unit is at least one byte, so this bounds the bytes only loosely; it is the cheap check before parsing.
  if (untrustedText.length > transportLimits.handshakeMessageBytesMax) return { ok: false, reason: 'too-large' };
  let untrusted: unknown;
  try {
    untrusted = JSON.parse(untrustedText);
  } catch {
    return { ok: false, reason: 'not-json' };
  }
  const parsed = schema.safeParse(untrusted);
  return parsed.success ? { ok: true, message: parsed.data } : { ok: false, reason: 'malformed' };
}

/** Dialer side: the first message on a socket we dialed to `expectedServer`. */
export function checkChallenge(expectedServer: string, untrustedText: string): HandshakeVerdict<Challenge> {
  const parsed = parseSmall(challengeSchema, untrustedText);
  if (!parsed.ok) return parsed;
  if (parsed.message.server !== expectedServer) return { ok: false, reason: 'wrong-server' };
  return parsed;
}

/** Server side: the first message on an accepted socket, answering our challenge `serverNonce`. */
export function checkHello(ctx: HandshakeContext, serverNonce: string, untrustedText: string): HandshakeVerdict<Hello> {
  const parsed = parseSmall(helloSchema, untrustedText);
  if (!parsed.ok) return parsed;
  const hello = parsed.message;
  const publicKey = hello.from === ctx.selfId ? undefined : ctx.peerKey(hello.from);
  if (publicKey === undefined) return { ok: false, reason: 'unknown-peer' };
  if (hello.to !== ctx.selfId) return { ok: false, reason: 'wrong-recipient' };
  if (hello.serverNonce !== serverNonce) return { ok: false, reason: 'wrong-nonce' };
  const message = handshakeSigningMessage('hello', hello, hello);
  if (!verifyInDomain(ctx.backend, publicKey, ctx.domain, message, hexToBytes(hello.signature))) return { ok: false, reason: 'bad-signature' };
  return parsed;
}

/** Dialer side: the second message on a socket we dialed to `server`, after our hello with these nonces. */
export function checkWelcome(ctx: HandshakeContext, server: string, nonces: { serverNonce: string; clientNonce: string }, untrustedText: string): HandshakeVerdict<Welcome> {
  const parsed = parseSmall(welcomeSchema, untrustedText);
  if (!parsed.ok) return parsed;
  const welcome = parsed.message;
  const publicKey = ctx.peerKey(server);
  if (welcome.from !== server || publicKey === undefined) return { ok: false, reason: 'wrong-server' };
  if (welcome.to !== ctx.selfId) return { ok: false, reason: 'wrong-recipient' };
  if (welcome.clientNonce !== nonces.clientNonce) return { ok: false, reason: 'wrong-nonce' };
  const message = handshakeSigningMessage('welcome', welcome, nonces);
  if (!verifyInDomain(ctx.backend, publicKey, ctx.domain, message, hexToBytes(welcome.signature))) return { ok: false, reason: 'bad-signature' };
  return parsed;
}
