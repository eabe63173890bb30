import { InvalidArgumentError } from '@edgeml/core';

/** The field's prime, the Mersenne prime 2^127 − 1: reduction is cheap and every 120-bit chunk fits. */
export const SHAMIR_PRIME = (1n << 127n) - 1n;
/** Secret bytes per field element: 15 bytes (120 bits) stay below the prime. */
const CHUNK_BYTES = 15;
/** Bytes of one field element on the wire. */
const ELEMENT_BYTES = 16;
/** Share header: x (u16), threshold (u16), secret length (u16). */
const HEADER_BYTES = 6;

const mod = (a: bigint) => {
  const r = a % SHAMIR_PRIME;
  return r < 0n ? r + SHAMIR_PRIME : r;
};

function inverse(a: bigint): bigint {
  // Extended Euclid; a ≠ 0 mod p because share x-coordinates are distinct and nonzero.
  let [r0, r1, s0, s1] = [SHAMIR_PRIME, mod(a), 0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0);
}

function toBig(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}

function writeBig(v: bigint, out: Uint8Array, at: number, length: number): void {
  for (let i = 0; i < length; i++, v >>= 8n) out[at + i] = Number(v & 0xffn);
}

/** A uniform field element by rejection sampling 127-bit draws (no modulo bias). */
function randomElement(): bigint {
  const bytes = new Uint8Array(ELEMENT_BYTES);
  for (;;) {
    globalThis.crypto.getRandomValues(bytes);
    bytes[ELEMENT_BYTES - 1] &= 0x7f;
    const v = toBig(bytes);
    if (v < SHAMIR_PRIME) return v;
  }
}

/**
 * Shamir's secret sharing (1979) of `secret` over GF(2^127 − 1): `shares` shares for x = 1 …
 * `shares`, any `threshold` of which give the secret back ({@link shamirCombine}) while fewer
 * say nothing about it (each 15-byte chunk is the constant term of its own random polynomial
 * of degree threshold − 1). A share is bytes: x, threshold and secret length (u16 little
 * endian each), then one 16-byte field element per chunk.
 *
 * @example
 * ```ts
 * const shares = shamirSplit(new TextEncoder().encode('seed'), 5, 3);
 * shamirCombine([shares[4], shares[0], shares[2]]); // the secret's bytes
 * ```
 */
export function shamirSplit(secret: Uint8Array, shares: number, threshold: number): Uint8Array[] {
  if (!Number.isInteger(threshold) || threshold < 1 || !Number.isInteger(shares) || shares < threshold)
    throw new InvalidArgumentError(
      `Shamir sharing needs 1 ≤ threshold ≤ shares, got threshold ${threshold} of ${shares}`,
      'threshold',
    );
  if (shares > 0xffff || secret.length > 0xffff)
    throw new InvalidArgumentError(`Shamir sharing takes at most 65535 shares and secret bytes`, 'shares');
  const chunks = Math.ceil(secret.length / CHUNK_BYTES);
  const out = Array.from({ length: shares }, (_, i) => {
    const share = new Uint8Array(HEADER_BYTES + ELEMENT_BYTES * chunks);
    new DataView(share.buffer).setUint16(0, i + 1, true);
    new DataView(share.buffer).setUint16(2, threshold, true);
    new DataView(share.buffer).setUint16(4, secret.length, true);
    return share;
  });
  for (let c = 0; c < chunks; c++) {
    const coefficients = [toBig(secret.subarray(c * CHUNK_BYTES, (c + 1) * CHUNK_BYTES))];
    for (let k = 1; k < threshold; k++) coefficients.push(randomElement());
    out.forEach((share, i) => {
      const x = BigInt(i + 1);
      let y = 0n;
      for (let k = coefficients.length - 1; k >= 0; k--) y = mod(y * x + coefficients[k]);
      writeBig(y, share, HEADER_BYTES + c * ELEMENT_BYTES, ELEMENT_BYTES);
    });
  }
  return out;
}

/** Bytes of one share of a `secretLength`-byte secret. */
export function shamirShareBytes(secretLength: number): number {
  return HEADER_BYTES + ELEMENT_BYTES * Math.ceil(secretLength / CHUNK_BYTES);
}

function parseShare(share: Uint8Array, index: number) {
  if (share.length < HEADER_BYTES)
    throw new InvalidArgumentError(`share ${index} holds ${share.length} bytes, less than its header`, 'shares');
  const view = new DataView(share.buffer, share.byteOffset, share.byteLength);
  const [x, threshold, length] = [view.getUint16(0, true), view.getUint16(2, true), view.getUint16(4, true)];
  if (x === 0 || share.length !== shamirShareBytes(length))
    throw new InvalidArgumentError(
      `share ${index} is malformed: x = ${x}, ${share.length} bytes for a ${length}-byte secret`,
      'shares',
    );
  return { x, threshold, length };
}

/**
 * The secret from at least `threshold` distinct shares of one {@link shamirSplit} (Lagrange
 * interpolation at 0). Throws `InvalidArgumentError` for fewer shares than the threshold they
 * carry, for shares of different splits' shapes, or for a repeated x.
 */
export function shamirCombine(shares: readonly Uint8Array[]): Uint8Array {
  if (!shares.length) throw new InvalidArgumentError('Shamir reconstruction needs shares, got none', 'shares');
  const parsed = shares.map(parseShare);
  const { threshold, length } = parsed[0];
  if (parsed.some((p) => p.threshold !== threshold || p.length !== length))
    throw new InvalidArgumentError('the shares come from different splits (threshold or length differ)', 'shares');
  if (new Set(parsed.map((p) => p.x)).size !== parsed.length)
    throw new InvalidArgumentError('two shares have the same x: each share counts once', 'shares');
  if (parsed.length < threshold)
    throw new InvalidArgumentError(
      `Shamir reconstruction needs ${threshold} shares, got ${parsed.length}: fewer reveal nothing of the secret`,
      'shares',
    );
  const xs = parsed.slice(0, threshold).map((p) => BigInt(p.x));
  const weights = xs.map((xi, i) => {
    let num = 1n,
      den = 1n;
    xs.forEach((xj, j) => {
      if (j !== i) [num, den] = [mod(num * xj), mod(den * (xj - xi))];
    });
    return mod(num * inverse(den));
  });
  const secret = new Uint8Array(length);
  for (let c = 0; c * CHUNK_BYTES < length; c++) {
    let v = 0n;
    const at = HEADER_BYTES + c * ELEMENT_BYTES;
    xs.forEach((_, i) => (v = mod(v + weights[i] * toBig(shares[i].subarray(at, at + ELEMENT_BYTES)))));
    if (v >= 1n << BigInt(8 * CHUNK_BYTES))
      throw new InvalidArgumentError('the shares do not combine to a secret: they are not of one split', 'shares');
    writeBig(v, secret, c * CHUNK_BYTES, Math.min(CHUNK_BYTES, length - c * CHUNK_BYTES));
  }
  return secret;
}
