// The handshake messages without sockets: what a server accepts and refuses.
import { describe, expect, it } from 'vitest';
import { nodeBackend } from '@vcr/crypto-node';
import { bytesToHex, createMemorySigner, type Signer, signingBytes } from '@vcr/proofs';
import { testSeed, testSigner } from '@vcr/proofs/testing';
import { challengeMessage, checkChallenge, checkHello, checkWelcome, handshakeSigningMessage, type HandshakeContext, newNonce, peerEnvelopeDomain, signHello, signWelcome } from './handshake';

const signers: Record<string, Signer> = { r1: createMemorySigner(testSeed('transport-r1')), r2: createMemorySigner(testSeed('transport-r2')) };

function ctx(selfId: string, opts: { chainId?: string; epoch?: bigint; signer?: Signer } = {}): HandshakeContext {
  return {
    selfId,
    domain: peerEnvelopeDomain(opts.chainId ?? 'vcr-test', opts.epoch ?? 0n),
    signer: opts.signer ?? (signers[selfId] as Signer),
    backend: nodeBackend,
    peerKey: (id) => (id === selfId ? undefined : signers[id]?.publicKey),
  };
}

describe('peer handshake messages', () => {
  const serverNonce = newNonce();
  const clientNonce = newNonce();

  it('a hello signed by the membership key, for this server and nonce, is accepted; its welcome verifies', () => {
    const hello = signHello(ctx('r2'), 'r1', serverNonce, clientNonce);
    const verdict = checkHello(ctx('r1'), serverNonce, JSON.stringify(hello));
    expect(verdict).toEqual({ ok: true, message: hello });
    const welcome = signWelcome(ctx('r1'), 'r2', serverNonce, clientNonce);
    expect(checkWelcome(ctx('r2'), 'r1', { serverNonce, clientNonce }, JSON.stringify(welcome)).ok).toBe(true);
  });

  it('nonces are 32 bytes of lowercase hex', () => {
    expect(newNonce()).toMatch(/^[0-9a-f]{64}$/);
    const hello = signHello(ctx('r2'), 'r1', serverNonce, clientNonce);
    expect(checkHello(ctx('r1'), serverNonce, JSON.stringify({ ...hello, clientNonce: clientNonce.toUpperCase() }))).toEqual({ ok: false, reason: 'malformed' });
    expect(checkHello(ctx('r1'), serverNonce, JSON.stringify({ ...hello, clientNonce: clientNonce.slice(2) }))).toEqual({ ok: false, reason: 'malformed' });
  });

  it.each([
    ['another key for the claimed id', () => signHello(ctx('r2', { signer: createMemorySigner(testSeed('mallory')) }), 'r1', serverNonce, clientNonce), 'bad-signature'],
    ['another chain', () => signHello(ctx('r2', { chainId: 'other-chain' }), 'r1', serverNonce, clientNonce), 'bad-signature'],
    ['another epoch', () => signHello(ctx('r2', { epoch: 1n }), 'r1', serverNonce, clientNonce), 'bad-signature'],
    ['another server nonce', () => signHello(ctx('r2'), 'r1', newNonce(), clientNonce), 'wrong-nonce'],
    ['another recipient', () => signHello(ctx('r2'), 'r3', serverNonce, clientNonce), 'wrong-recipient'],
    ['a claimed id outside the membership', () => ({ ...signHello(ctx('r2'), 'r1', serverNonce, clientNonce), from: 'r9' }), 'unknown-peer'],
    ['the server itself as sender', () => ({ ...signHello(ctx('r2'), 'r1', serverNonce, clientNonce), from: 'r1' }), 'unknown-peer'],
    ['an extra key', () => ({ ...signHello(ctx('r2'), 'r1', serverNonce, clientNonce), extra: 1 }), 'malformed'],
  ])('a hello with %s is refused', (_name, make, reason) => {
    expect(checkHello(ctx('r1'), serverNonce, JSON.stringify(make()))).toEqual({ ok: false, reason });
  });

  it('a welcome is not a hello: the step is signed', () => {
    const welcome = signWelcome(ctx('r2'), 'r1', serverNonce, clientNonce);
    const forged = { type: 'hello', from: 'r2', to: 'r1', serverNonce, clientNonce, signature: welcome.signature };
    expect(checkHello(ctx('r1'), serverNonce, JSON.stringify(forged))).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses oversized and non-JSON handshake text before parsing', () => {
    expect(checkHello(ctx('r1'), serverNonce, 'x'.repeat(2_000))).toEqual({ ok: false, reason: 'too-large' });
    expect(checkHello(ctx('r1'), serverNonce, '{')).toEqual({ ok: false, reason: 'not-json' });
  });

  it('the dialer refuses a challenge from another server and a welcome for another client nonce', () => {
    expect(checkChallenge('r1', JSON.stringify({ type: 'challenge', server: 'r3', nonce: serverNonce }))).toEqual({ ok: false, reason: 'wrong-server' });
    const welcome = signWelcome(ctx('r1'), 'r2', serverNonce, newNonce());
    expect(checkWelcome(ctx('r2'), 'r1', { serverNonce, clientNonce }, JSON.stringify(welcome))).toEqual({ ok: false, reason: 'wrong-nonce' });
    const replayed = signWelcome(ctx('r1'), 'r2', newNonce(), clientNonce);
    expect(checkWelcome(ctx('r2'), 'r1', { serverNonce, clientNonce }, JSON.stringify(replayed))).toEqual({ ok: false, reason: 'bad-signature' });
  });
});

describe('the worked example of docs/peer-transport.md', () => {
  const docSigners: Record<string, Signer> = { r1: testSigner('replica-r1'), r2: testSigner('replica-r2') };
  const docCtx = (selfId: string): HandshakeContext => ({
    selfId,
    domain: peerEnvelopeDomain('vcr-test', 0n),
    signer: docSigners[selfId] as Signer,
    backend: nodeBackend,
    peerKey: (id) => (id === selfId ? undefined : docSigners[id]?.publicKey),
  });
  const serverNonce = '5e'.repeat(32);
  const clientNonce = 'c1'.repeat(32);

  it('produces exactly the documented keys, bytes and messages', () => {
    expect(bytesToHex(docSigners.r1?.publicKey ?? new Uint8Array())).toBe('4b91bae20b5ba36b4d03707f13650e22ebadd17231162da87a4f17e127c2a277');
    expect(bytesToHex(docSigners.r2?.publicKey ?? new Uint8Array())).toBe('4df5fb9c7fd99adbe163d175e7328b5696cad031f6dab1129b3077d0fb398f54');
    expect(JSON.stringify(challengeMessage('r1', serverNonce))).toBe(`{"type":"challenge","server":"r1","nonce":"${serverNonce}"}`);
    expect(bytesToHex(signingBytes(peerEnvelopeDomain('vcr-test', 0n), handshakeSigningMessage('hello', { from: 'r2', to: 'r1' }, { serverNonce, clientNonce })))).toBe(
      '147663722f76312f706565722d656e76656c6f7065087663722d746573740000000000000000' +
        'a562746f6272316466726f6d627232647374657065' +
        '68656c6c6f6b636c69656e744e6f6e63655820' +
        clientNonce +
        '6b7365727665724e6f6e636558205e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e',
    );
    const hello = signHello(docCtx('r2'), 'r1', serverNonce, clientNonce);
    expect(hello.signature).toBe('84ab345d2366a865b38fbb653164444658443f916dd134fc336441563f55b1c0ae434d22ac3bab3b0ae1a25e01f93db59f2497045b920d1d041bdf10a146c207');
    expect(checkHello(docCtx('r1'), serverNonce, JSON.stringify(hello)).ok).toBe(true);
    const welcome = signWelcome(docCtx('r1'), 'r2', serverNonce, clientNonce);
    expect(JSON.stringify(welcome)).toBe(
      `{"type":"welcome","from":"r1","to":"r2","clientNonce":"${clientNonce}","signature":"346807f500fdf696c74434abf103feca00de62847532bfd18e3157cbc19f035adc11fda573ee8dbbce18c32304f93543b206fb4d8f55d64ad3efd2db877b6d0f"}`,
    );
    expect(checkWelcome(docCtx('r2'), 'r1', { serverNonce, clientNonce }, JSON.stringify(welcome)).ok).toBe(true);
  });
});
