// Signed notes and cosignature/v1, against vectors published by others
// (Go's sumdb/note, transparency-dev/formats, c2sp.org/tlog-cosignature),
// kept in docs/vectors/tlog-witness.json, and against hostile input.
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes, utf8 } from './bytes';
import { createMemorySigner, nobleBackend } from './noble-backend';
import {
  cosignatureMessage,
  encodeVkey,
  formatNote,
  formatSignatureLine,
  isValidKeyName,
  keyIdHex,
  NOTE_SIGNATURE_TYPE,
  noteVerifierKey,
  parseNote,
  parseVkey,
  signCosignature,
  signNoteEd25519,
  verifyNoteSignatures,
} from './signed-note';

const vector = JSON.parse(readFileSync(new URL('../../../docs/vectors/tlog-witness.json', import.meta.url), 'utf8'));
const b = nobleBackend;

describe('external vectors', () => {
  const go = vector.external.sumdbNote;

  it("reproduces Go sumdb/note's example: vkey, key id and the exact signature line", () => {
    const signer = createMemorySigner(hexToBytes(go.seedHex));
    const key = noteVerifierKey(b, go.keyName, NOTE_SIGNATURE_TYPE.ed25519, signer.publicKey);
    expect(encodeVkey(key)).toBe(go.vkey);
    expect(keyIdHex(key.keyId)).toBe('c74f20a3');
    expect(signNoteEd25519(b, signer, go.keyName, go.text)).toBe(go.signatureLine);
  });

  it("verifies Go's example note with the parsed vkey", () => {
    const key = parseVkey(b, go.vkey);
    expect(key.ok).toBe(true);
    const note = parseNote(`${go.text}\n${go.signatureLine}\n`);
    if (!key.ok || !note.ok) throw new Error('vector does not parse');
    const verdict = verifyNoteSignatures(b, note.value, [key.value]);
    expect(verdict.ok && verdict.verified.length).toBe(1);
  });

  it('computes the key ids of transparency-dev/formats test vkeys (types 0x04 and 0x01)', () => {
    for (const { vkey, type } of vector.external.cosignatureVkeys.vkeys) {
      const parsed = parseVkey(b, vkey);
      expect(parsed.ok && parsed.value.type).toBe(type);
      expect(parsed.ok && encodeVkey(parsed.value)).toBe(vkey);
    }
  });

  it("reads the key id and timestamp of the c2sp.org/tlog-cosignature example's witness line", () => {
    const ex = vector.external.cosignatureExample;
    const note = parseNote(ex.note);
    if (!note.ok) throw new Error('example does not parse');
    const w = note.value.signatures[1];
    expect(w && keyIdHex(w.keyId)).toBe(ex.witnessKeyIdHex);
    expect(w && new DataView(w.signature.buffer, w.signature.byteOffset, 8).getBigUint64(0).toString()).toBe(ex.witnessTimestamp);
    expect(new TextDecoder().decode(cosignatureMessage(BigInt(ex.witnessTimestamp), note.value.text))).toBe(ex.signedMessage);
  });
});

describe('cosignature/v1', () => {
  const reg = vector.registry;
  const signers = Object.fromEntries(Object.entries(reg.seeds as Record<string, string>).map(([id, seed]) => [id, createMemorySigner(hexToBytes(seed))]));

  it('re-signing the registry vector reproduces every cosignature line and the signed message', () => {
    expect(bytesToHex(cosignatureMessage(BigInt(reg.timestamp), reg.checkpointBody))).toBe(reg.cosignedMessageHex);
    for (const [id, signer] of Object.entries(signers)) expect(signCosignature(b, signer, reg.origin, reg.checkpointBody, BigInt(reg.timestamp))).toBe(reg.cosignatureLines[id]);
  });

  it('node:crypto verifies the cosignature bytes independently of this package', () => {
    const note = parseNote(reg.note);
    if (!note.ok) throw new Error('vector does not parse');
    for (const [i, sig] of note.value.signatures.entries()) {
      const pub = signers[`r${i + 1}`]?.publicKey as Uint8Array;
      const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]);
      const ok = nodeVerify(null, hexToBytes(reg.cosignedMessageHex), createPublicKey({ key: spki, format: 'der', type: 'spki' }), sig.signature.subarray(8));
      expect(ok).toBe(true);
    }
  });

  it('a cosignature is not an Ed25519 note signature of the same key (distinct key ids and messages)', () => {
    const s = signers.r1 as ReturnType<typeof createMemorySigner>;
    const co = noteVerifierKey(b, 'k', NOTE_SIGNATURE_TYPE.cosignatureV1, s.publicKey);
    const ed = noteVerifierKey(b, 'k', NOTE_SIGNATURE_TYPE.ed25519, s.publicKey);
    expect(co.keyId).not.toBe(ed.keyId);
    const note = parseNote(formatNote('a\nb\nc\n', [signCosignature(b, s, 'k', 'a\nb\nc\n', 5n)]));
    if (!note.ok) throw new Error('does not parse');
    // The line is looked up under the cosignature key id: an Ed25519 verifier of the key does not even match it.
    expect(verifyNoteSignatures(b, note.value, [ed])).toEqual({ ok: false, reason: 'no-known-signature' });
    expect(verifyNoteSignatures(b, note.value, [co]).ok).toBe(true);
  });

  it('refuses a timestamp past notAfterSeconds', () => {
    const s = signers.r1 as ReturnType<typeof createMemorySigner>;
    const key = noteVerifierKey(b, 'k', NOTE_SIGNATURE_TYPE.cosignatureV1, s.publicKey);
    const note = parseNote(formatNote('a\nb\nc\n', [signCosignature(b, s, 'k', 'a\nb\nc\n', 100n)]));
    if (!note.ok) throw new Error('does not parse');
    expect(verifyNoteSignatures(b, note.value, [key], { notAfterSeconds: 99n })).toMatchObject({ ok: false, reason: 'known-key-timestamp-in-future' });
    expect(verifyNoteSignatures(b, note.value, [key], { notAfterSeconds: 100n }).ok).toBe(true);
  });

  it('any single-byte change of the note text or of a known line is refused', () => {
    const keys = (reg.vkeys as string[]).map((v) => {
      const p = parseVkey(b, v);
      if (!p.ok) throw new Error(v);
      return p.value;
    });
    const bytes = utf8(reg.note);
    for (let i = 0; i < bytes.length; i++) {
      const changed = bytes.slice();
      changed[i] = (changed[i] as number) ^ 0x01;
      const note = parseNote(changed);
      if (!note.ok) continue;
      const verdict = verifyNoteSignatures(b, note.value, keys);
      // Still "ok" only if every known line is intact and the text unchanged: impossible after a flip.
      expect(verdict.ok && verdict.verified.length === 3, `byte ${i}`).toBe(false);
    }
  });
});

describe('note parsing refuses', () => {
  const line = vector.external.sumdbNote.signatureLine as string;
  const text = vector.external.sumdbNote.text as string;
  it.each([
    ['no blank line before the signatures', `${text}${line}\n`, 'no-signature-block'],
    ['a missing final newline', `${text}\n${line}`, 'no-signature-block'],
    ['a control character', `${text.replace('If', 'I\tf')}\n${line}\n`, 'control-character'],
    ['a line without the em dash', `${text}\n- PeterNeumann AAAAAAA=\n`, 'bad-signature-line'],
    ['a signature of four bytes or less', `${text}\n\u2014 PeterNeumann AAAAAA==\n`, 'bad-signature-line'],
    ['non-canonical base64', `${text}\n\u2014 PeterNeumann AAAAAAB=\n`, 'bad-signature-line'],
    ['a name with a plus', `${text}\n\u2014 Peter+Neumann AAAAAAAA\n`, 'bad-signature-line'],
  ])('%s', (_what, note, reason) => {
    expect(parseNote(note)).toMatchObject({ ok: false, reason });
  });

  it('invalid UTF-8 bytes, and more than 100 signature lines', () => {
    expect(parseNote(Uint8Array.of(0x61, 0x0a, 0x0a, 0xff, 0x0a))).toMatchObject({ ok: false, reason: 'not-utf8' });
    expect(parseNote(`${text}\n${`${line}\n`.repeat(101)}`)).toMatchObject({ ok: false, reason: 'too-many-signatures' });
  });

  it('key names with Unicode spaces (as Go defines them) or a plus', () => {
    for (const bad of ['', 'a b', 'a\u00a0b', 'a\u2003b', 'a\u3000b', 'a\u0085b', 'a+b', 'a\u0001b']) expect(isValidKeyName(bad), JSON.stringify(bad)).toBe(false);
    for (const good of ['example.com/log', 'vcr.example/vcr-it', 'ключ', 'a\u200bb']) expect(isValidKeyName(good), good).toBe(true);
  });

  it('vkeys whose key id does not match the key, or of an unknown type', () => {
    expect(parseVkey(b, 'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')).toEqual({ ok: false, reason: 'key-id-mismatch' });
    expect(parseVkey(b, 'rekor.sigstore.dev+12345678+AwEB')).toEqual({ ok: false, reason: 'unknown-type' });
    expect(parseVkey(b, 'bananas.sigstore.dev+12344556')).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('signature rules', () => {
  const s1 = createMemorySigner(new Uint8Array(32).fill(7));
  const s2 = createMemorySigner(new Uint8Array(32).fill(8));
  const k1 = noteVerifierKey(b, 'one', NOTE_SIGNATURE_TYPE.ed25519, s1.publicKey);
  const body = 'hello\n';

  it('ignores lines of unknown keys, and refuses the whole note when a known key fails', () => {
    const good = signNoteEd25519(b, s1, 'one', body);
    const other = signNoteEd25519(b, s2, 'two', body);
    const ok = parseNote(formatNote(body, [other, good]));
    if (!ok.ok) throw new Error('does not parse');
    expect(verifyNoteSignatures(b, ok.value, [k1])).toMatchObject({ ok: true, ignored: [{ name: 'two' }] });
    // s2's signature under s1's name and key id: a known key whose line fails.
    const forged = parseNote(formatNote(body, [formatSignatureLine('one', k1.keyId, s2.sign(utf8(body)))]));
    if (!forged.ok) throw new Error('does not parse');
    expect(verifyNoteSignatures(b, forged.value, [k1])).toMatchObject({ ok: false, reason: 'known-key-signature-invalid' });
  });

  it('refuses a verifier list where two keys share a name and key id', () => {
    const note = parseNote(formatNote(body, [signNoteEd25519(b, s1, 'one', body)]));
    if (!note.ok) throw new Error('does not parse');
    expect(verifyNoteSignatures(b, note.value, [k1, { ...k1, publicKey: s2.publicKey }])).toMatchObject({ ok: false, reason: 'ambiguous-keys' });
  });
});
