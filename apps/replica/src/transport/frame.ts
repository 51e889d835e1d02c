// Data frames after the handshake (docs/peer-transport.md section 3): one JSON
// text message per frame, {"m": payload} for a PBFT message, {"r": payload}
// for a relayed client request. The payload stays untrusted JSON: the replica
// parses and verifies it; the transport only names the authenticated sender.

export type FrameKind = 'message' | 'request';

export interface PeerFrame {
  kind: FrameKind;
  payload: unknown;
}

export type FrameRejection = 'not-json' | 'malformed';

export type FrameVerdict = { ok: true; frame: PeerFrame } | { ok: false; reason: FrameRejection };

const KEY_OF: Record<FrameKind, 'm' | 'r'> = { message: 'm', request: 'r' };

/**
 * The frame as UTF-8 bytes, encoded once and sent to every peer as is.
 * Throws (a caller bug) if the payload is not JSON-serializable.
 */
export function encodeFrame(kind: FrameKind, payload: unknown): Buffer {
  const text = JSON.stringify({ [KEY_OF[kind]]: payload });
  if (text === undefined) throw new TypeError('peer frame payload is not JSON-serializable');
  return Buffer.from(text, 'utf8');
}

/** Parses one frame's text. Exactly one key, "m" or "r"; anything else is refused. */
export function decodeFrame(untrustedText: string): FrameVerdict {
  let untrusted: unknown;
  try {
    untrusted = JSON.parse(untrustedText);
  } catch {
    return { ok: false, reason: 'not-json' };
  }
  if (typeof untrusted !== 'object' || untrusted === null || Array.isArray(untrusted)) return { ok: false, reason: 'malformed' };
  const keys = Object.keys(untrusted);
  if (keys.length !== 1) return { ok: false, reason: 'malformed' };
  const record = untrusted as Record<string, unknown>;
  if (keys[0] === 'm') return { ok: true, frame: { kind: 'message', payload: record.m } };
  if (keys[0] === 'r') return { ok: true, frame: { kind: 'request', payload: record.r } };
  return { ok: false, reason: 'malformed' };
}
