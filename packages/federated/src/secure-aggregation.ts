import { InvalidArgumentError } from '@edgeml/core';

/** The ring the masked sums live in: integers modulo 2^48, exact in float64 arithmetic. */
const RING = 2 ** 48;
const HALF_RING = 2 ** 47;
/** Fixed-point scale of encoded values: 2^-24 resolution, |sum| < 2^23 representable. */
const SCALE = 2 ** 24;
/** Bytes a client sends per masked value (48 bits). */
export const MASKED_VALUE_BYTES = 6;

type Subtle = typeof globalThis.crypto.subtle;
type WebCryptoKey = Parameters<Subtle['exportKey']>[1];
type KeyPair = { publicKey: WebCryptoKey; privateKey: WebCryptoKey };

function subtle(): Subtle {
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

/** A pairwise mask: a 48-bit integer per value from AES-256-CTR keyed by the pair's shared secret. */
async function pairMask(secret: Uint8Array, length: number): Promise<Float64Array> {
  const key = await subtle().importKey('raw', secret, 'AES-CTR', false, ['encrypt']);
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
function applyMask(into: Float64Array, mask: Float64Array, sign: 1 | -1): void {
  for (let i = 0; i < into.length; i++) into[i] = modRing(into[i] + sign * mask[i]);
}

/**
 * One client's side of secure aggregation by pairwise masking (Bonawitz et al., "Practical
 * Secure Aggregation for Privacy-Preserving Machine Learning", CCS 2017): every pair of clients
 * agrees on a secret by ECDH (P-256, Web Crypto), expands it into a mask, and the lower id adds
 * it while the higher subtracts it, so the masks cancel in the server's sum and each masked
 * input alone looks uniformly random. Values are fixed-point integers modulo 2^48 (resolution
 * 2^-24). When a client drops after the keys were exchanged, the survivors reveal the secrets
 * they shared with it and the server removes those masks ({@link unmaskSum}).
 *
 * Not implemented from the paper: self-masks and Shamir sharing of each client's key, which
 * protect a client whose input arrives late from a server that claims it dropped.
 */
export class SecureAggregationClient {
  private constructor(
    readonly id: number,
    private readonly keys: KeyPair,
    /** The raw (uncompressed point) public key other clients agree with. */
    readonly publicKey: Uint8Array,
  ) {}

  static async create(id: number): Promise<SecureAggregationClient> {
    const keys: KeyPair = await subtle().generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
    const raw = new Uint8Array(await subtle().exportKey('raw', keys.publicKey));
    return new SecureAggregationClient(id, keys, raw);
  }

  private async sharedSecret(peerKey: Uint8Array): Promise<Uint8Array> {
    const key = await subtle().importKey('raw', peerKey, { name: 'ECDH', namedCurve: 'P-256' }, false, []);
    const bits = await subtle().deriveBits({ name: 'ECDH', public: key }, this.keys.privateKey, 256);
    // Hash the ECDH x-coordinate into the AES key rather than using it raw.
    return new Uint8Array(await subtle().digest('SHA-256', bits));
  }

  /**
   * `values` as fixed-point ring elements with every pairwise mask applied. `peers` are the
   * public keys of every other client in the round (ids as given to {@link create}).
   */
  async maskedInput(values: ArrayLike<number>, peers: ReadonlyMap<number, Uint8Array>): Promise<Float64Array> {
    const out = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const fixed = Math.round(values[i] * SCALE);
      if (Math.abs(fixed) >= HALF_RING)
        throw new InvalidArgumentError(
          `value ${values[i]} at ${i} is out of secure aggregation's range (|v| < 2^23); clip updates first`,
          'secureAggregation',
        );
      out[i] = modRing(fixed);
    }
    for (const [peer, key] of peers) {
      if (peer === this.id) continue;
      applyMask(out, await pairMask(await this.sharedSecret(key), values.length), peer > this.id ? 1 : -1);
    }
    return out;
  }

  /** The secrets this client shared with `dropped` clients, revealed so the server can remove their masks. */
  async revealSecrets(dropped: ReadonlyMap<number, Uint8Array>): Promise<Map<number, Uint8Array>> {
    const out = new Map<number, Uint8Array>();
    for (const [peer, key] of dropped) if (peer !== this.id) out.set(peer, await this.sharedSecret(key));
    return out;
  }
}

/**
 * The server's side: the sum of the survivors' values from their masked inputs. `revealed`
 * holds, per survivor, the secrets it shared with each dropped client; with them the masks
 * that no longer cancel are removed. Returns float64 values (fixed-point rounding ≤ 2^-25 per
 * client and value).
 */
export async function unmaskSum(
  masked: ReadonlyMap<number, Float64Array>,
  revealed: ReadonlyMap<number, ReadonlyMap<number, Uint8Array>> = new Map(),
): Promise<Float64Array> {
  const inputs = [...masked.values()];
  if (!inputs.length) throw new InvalidArgumentError('secure aggregation needs at least one masked input', 'masked');
  const length = inputs[0].length;
  const sum = new Float64Array(length);
  for (const v of inputs) {
    if (v.length !== length)
      throw new InvalidArgumentError(`masked inputs of ${v.length} and ${length} values`, 'masked');
    for (let i = 0; i < length; i++) sum[i] = modRing(sum[i] + v[i]);
  }
  for (const [survivor, secrets] of revealed) {
    if (!masked.has(survivor))
      throw new InvalidArgumentError(`client ${survivor} revealed secrets but sent no masked input`, 'revealed');
    // The survivor applied +mask towards higher ids and −mask towards lower ones: undo that.
    for (const [dropped, secret] of secrets)
      applyMask(sum, await pairMask(secret, length), dropped > survivor ? -1 : 1);
  }
  return Float64Array.from(sum, (v) => (v >= HALF_RING ? v - RING : v) / SCALE);
}
