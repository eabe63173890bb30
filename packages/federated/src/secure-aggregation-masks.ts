import { InvalidArgumentError } from '@edgeml/core';

/** The ring the masked sums live in: integers modulo 2^48, exact in float64 arithmetic. */
const RING = 2 ** 48;
const HALF_RING = 2 ** 47;
/** Fixed-point scale of encoded values: 2^-24 resolution, |sum| < 2^23 representable. */
const SCALE = 2 ** 24;
/** Bytes a client sends per masked value (48 bits). */
export const MASKED_VALUE_BYTES = 6;

type Subtle = typeof globalThis.crypto.subtle;

export function subtle(): Subtle {
  const s = globalThis.crypto?.subtle;
  if (!s)
    throw new InvalidArgumentError(
      'secure aggregation needs Web Crypto (globalThis.crypto.subtle): Node ≥ 20 or a browser page served over https',
      'secureAggregation',
    );
  return s;
}

const modRing = (v: number) => {
  const r = v % RING;
  return r < 0 ? r + RING : r;
};

/** A mask: a 48-bit integer per value from AES-256-CTR keyed by a 32-byte seed. */
export async function prgMask(seed: Uint8Array, length: number): Promise<Float64Array> {
  const key = await subtle().importKey('raw', seed, 'AES-CTR', false, ['encrypt']);
  const stream = new Uint8Array(
    await subtle().encrypt(
      { name: 'AES-CTR', counter: new Uint8Array(16), length: 64 },
      key,
      new Uint8Array(6 * length),
    ),
  );
  const mask = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const b = 6 * i;
    mask[i] =
      stream[b] +
      stream[b + 1] * 2 ** 8 +
      stream[b + 2] * 2 ** 16 +
      stream[b + 3] * 2 ** 24 +
      stream[b + 4] * 2 ** 32 +
      stream[b + 5] * 2 ** 40;
  }
  return mask;
}

/** Add (sign 1) or subtract (sign −1) `mask` into `into`, modulo the ring. */
export function addMasks(into: Float64Array, mask: Float64Array, sign: 1 | -1): void {
  for (let i = 0; i < into.length; i++) into[i] = modRing(into[i] + sign * mask[i]);
}

/** Values as fixed-point ring elements; out-of-range values are refused rather than wrapped. */
export function encodeRing(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const fixed = Math.round(values[i] * SCALE);
    if (!(Math.abs(fixed) < HALF_RING))
      throw new InvalidArgumentError(
        `value ${values[i]} at ${i} is out of secure aggregation's range (|v| < 2^23); clip updates first`,
        'secureAggregation',
      );
    out[i] = modRing(fixed);
  }
  return out;
}

/** Ring elements back to signed values. */
export function decodeRing(sum: Float64Array): Float64Array {
  return Float64Array.from(sum, (v) => (v >= HALF_RING ? v - RING : v) / SCALE);
}
