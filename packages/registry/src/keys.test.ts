import { describe, expect, it } from 'vitest';
import { checkUserKey } from './keys';
import { registryLimits } from './limits';

describe('the key alphabet (printable ASCII without space)', () => {
  it('refuses the lookalikes of demo/flags/dark-mode: fullwidth slashes, a zero-width space, NFC and NFD spellings', () => {
    expect(checkUserKey('demo/flags/dark-mode')).toBeUndefined();
    expect(checkUserKey('demo\uff0fflags\uff0fdark-mode')).toBe('key-character-not-allowed');
    expect(checkUserKey('demo\u2215flags/dark-mode')).toBe('key-character-not-allowed');
    expect(checkUserKey('demo\u200b/flags/dark-mode')).toBe('key-character-not-allowed');
    expect(checkUserKey('demo/flags/caf\u00e9')).toBe('key-character-not-allowed');
    expect(checkUserKey('demo/flags/cafe\u0301')).toBe('key-character-not-allowed');
    expect(checkUserKey('demo/flags/dark mode')).toBe('key-character-not-allowed');
  });

  it('accepts a one-character key exactly when the character is U+0021 to U+007E', () => {
    const wrong: string[] = [];
    for (let code = 1; code <= 0xffff; code++) {
      const accepted = checkUserKey(`k${String.fromCharCode(code)}`) === undefined;
      if (accepted !== (code >= 0x21 && code <= 0x7e)) wrong.push(`U+${code.toString(16).padStart(4, '0')}`);
    }
    expect(wrong).toEqual([]);
    expect(checkUserKey('k\u{1f600}')).toBe('key-character-not-allowed');
  });

  it('keeps the length bound, the reserved prefix and the type check', () => {
    expect(checkUserKey('a'.repeat(registryLimits.keyBytesMax))).toBeUndefined();
    expect(checkUserKey('a'.repeat(registryLimits.keyBytesMax + 1))).toBe('key-too-long');
    expect(checkUserKey('')).toBe('key-empty');
    expect(checkUserKey('\u0000reply/c1')).toBe('key-reserved');
    expect(checkUserKey(7)).toBe('bad-key-type');
  });
});
