// The CLI's output forms: JSON (bigints as decimal strings, bytes as UTF-8
// text plus hex) and aligned tables. Human text is written by each command.

import { bytesToHex } from '@vcr/proofs';

export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

export function valueText(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? '(absent)' : new TextDecoder().decode(bytes);
}

/** A value as JSON fields: the UTF-8 text (replacement characters where it is not UTF-8) and the exact bytes in hex. */
export function valueJson(bytes: Uint8Array | undefined): { value: string | null; valueHex: string | null } {
  return bytes === undefined ? { value: null, valueHex: null } : { value: new TextDecoder().decode(bytes), valueHex: bytesToHex(bytes) };
}

/** Columns padded to their widest cell; the header in capitals. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n');
}

export function isoTime(timestampMs: bigint): string {
  return new Date(Number(timestampMs)).toISOString();
}
