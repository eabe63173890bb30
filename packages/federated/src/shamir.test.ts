import { describe, expect, it } from 'vitest';
import { SHAMIR_PRIME, shamirCombine, shamirShareBytes, shamirSplit } from './shamir.js';

/** Every k-subset of [0, n). */
function subsets(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  if (n < k) return [];
  return [...subsets(n - 1, k - 1).map((s) => [...s, n - 1]), ...subsets(n - 1, k)];
}

describe('Shamir secret sharing over GF(2^127 − 1)', () => {
  const secret = globalThis.crypto.getRandomValues(new Uint8Array(32));

  it('any t of n shares give the secret back, in any order', () => {
    const shares = shamirSplit(secret, 7, 4);
    expect(shares).toHaveLength(7);
    shares.forEach((s) => expect(s.length).toBe(shamirShareBytes(32)));
    for (const k of [4, 5, 7])
      for (const pick of subsets(7, k)) expect(shamirCombine(pick.reverse().map((i) => shares[i]))).toEqual(secret);
    // Field elements stay below the prime.
    for (const s of shares)
      for (let at = 6; at < s.length; at += 16) {
        let v = 0n;
        for (let i = 15; i >= 0; i--) v = (v << 8n) | BigInt(s[at + i]);
        expect(v < SHAMIR_PRIME).toBe(true);
      }
  });

  it('fewer than t shares are refused; forced through, they interpolate to something else', () => {
    const shares = shamirSplit(secret, 5, 3);
    expect(() => shamirCombine(shares.slice(0, 2))).toThrow(/needs 3 shares, got 2/);
    expect(() => shamirCombine([shares[0], shares[0], shares[1]])).toThrow(/same x/);
    // Rewrite the threshold the shares carry to 2: a degree-2 polynomial through 2 points misses the constant.
    const forged = shares.slice(0, 2).map((s) => {
      const copy = s.slice();
      new DataView(copy.buffer).setUint16(2, 2, true);
      return copy;
    });
    let wrong: Uint8Array | undefined;
    try {
      wrong = shamirCombine(forged);
    } catch (e) {
      expect(String(e)).toMatch(/do not combine to a secret/);
    }
    if (wrong) expect(wrong).not.toEqual(secret);
  });

  it('shares the same secret differently every time, and of any length (not a multiple of 15 bytes)', () => {
    const a = shamirSplit(secret, 3, 2),
      b = shamirSplit(secret, 3, 2);
    expect(a[0]).not.toEqual(b[0]);
    const odd = Uint8Array.from({ length: 47 }, (_, i) => 255 - i);
    const shares = shamirSplit(odd, 4, 4);
    expect(shamirCombine(shares)).toEqual(odd);
    expect(shamirCombine(shamirSplit(odd, 1, 1))).toEqual(odd);
  });

  it('rejects bad parameters and malformed shares with clear errors', () => {
    expect(() => shamirSplit(secret, 3, 4)).toThrow(/1 ≤ threshold ≤ shares, got threshold 4 of 3/);
    expect(() => shamirSplit(secret, 3, 0)).toThrow(/threshold/);
    expect(() => shamirCombine([new Uint8Array(3)])).toThrow(/share 0 holds 3 bytes/);
    const shares = shamirSplit(secret, 3, 2);
    expect(() => shamirCombine([shares[0], shares[1].subarray(0, 20)])).toThrow(/share 1 is malformed/);
    expect(() => shamirCombine([shares[0], shamirSplit(secret.subarray(0, 16), 3, 2)[1]])).toThrow(/different splits/);
  });
});
