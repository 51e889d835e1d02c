// Whether an untrusted JSON value (from JSON.parse) is the same JSON value
// as one this process made: strings, numbers, booleans and null equal by
// value, arrays element by element, objects with the same own keys (in any
// order: the schemas read keys by name) and equal values. The trust state
// recognizes a certificate it verified before this way (trust-state.ts),
// instead of serializing every answer's certificate to compare texts.

export function sameJson(untrusted: unknown, known: unknown): boolean {
  if (untrusted === known) return true;
  if (typeof untrusted !== 'object' || typeof known !== 'object' || untrusted === null || known === null) return false;
  if (Array.isArray(known)) {
    if (!Array.isArray(untrusted) || untrusted.length !== known.length) return false;
    for (let i = 0; i < known.length; i++) if (!sameJson(untrusted[i], known[i])) return false;
    return true;
  }
  if (Array.isArray(untrusted)) return false;
  const u = untrusted as Record<string, unknown>;
  const k = known as Record<string, unknown>;
  let count = 0;
  for (const key in u) {
    if (!Object.prototype.hasOwnProperty.call(u, key) || !Object.prototype.hasOwnProperty.call(k, key)) return false;
    if (!sameJson(u[key], k[key])) return false;
    count++;
  }
  let knownCount = 0;
  for (const key in k) if (Object.prototype.hasOwnProperty.call(k, key)) knownCount++;
  return count === knownCount;
}
