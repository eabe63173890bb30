import { InvalidArgumentError } from '@edgeml/core';
import { SecureAggregationAbortedError, SecureAggregationRefusedError } from './secure-aggregation-errors.js';
import { shamirCombine, shamirShareBytes, shamirSplit } from './shamir.js';
import { addMasks, decodeRing, encodeRing, prgMask, subtle } from './secure-aggregation-masks.js';

export { MASKED_VALUE_BYTES } from './secure-aggregation-masks.js';

type WebCryptoKey = Parameters<ReturnType<typeof subtle>['exportKey']>[1];
type KeyPair = { publicKey: WebCryptoKey; privateKey: WebCryptoKey };

/** What a client advertises before the round: two P-256 public keys as raw uncompressed points. */
export interface AdvertisedKeys {
  /** Agreed with each peer into the AES-GCM key its shares travel under. */
  encryptionKey: Uint8Array;
  /** Agreed with each peer into the seed of their pairwise mask. */
  maskingKey: Uint8Array;
}

/** The server's unmasking request: who sent a masked input, and who did not. */
export interface UnmaskRequest {
  survivors: readonly number[];
  dropped: readonly number[];
}

/** A survivor's answer: self-mask seed shares of survivors, masking-key shares of dropped clients. */
export interface UnmaskResponse {
  seedShares: Map<number, Uint8Array>;
  keyShares: Map<number, Uint8Array>;
}

/** Bytes of a P-256 masking private key (the scalar d), the secret that is Shamir-shared. */
const KEY_BYTES = 32;
/** Bytes of the self-mask seed b_u: an AES-256 key. */
const SEED_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ECDH = { name: 'ECDH', namedCurve: 'P-256' } as const;

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const fromBase64url = (text: string) =>
  Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

async function importPublic(raw: Uint8Array): Promise<WebCryptoKey> {
  return subtle().importKey('raw', raw, ECDH, false, []);
}

/** SHA-256 of the ECDH x-coordinate: the key both sides of a pair derive, never used raw. */
async function agree(privateKey: WebCryptoKey, peer: Uint8Array): Promise<Uint8Array> {
  const bits = await subtle().deriveBits({ name: 'ECDH', public: await importPublic(peer) }, privateKey, 256);
  return new Uint8Array(await subtle().digest('SHA-256', bits));
}

/** The masking private key rebuilt from its reconstructed scalar and the public key it advertised. */
async function privateFromScalar(d: Uint8Array, maskingKey: Uint8Array): Promise<WebCryptoKey> {
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    d: base64url(d),
    x: base64url(maskingKey.subarray(1, 33)),
    y: base64url(maskingKey.subarray(33, 65)),
  };
  return subtle().importKey('jwk', jwk, ECDH, false, ['deriveBits']);
}

/** Sign a client applies the mask it shares with `peer`: the lower id adds, the higher subtracts. */
const pairSign = (self: number, peer: number): 1 | -1 => (peer > self ? 1 : -1);

async function gcmKey(secret: Uint8Array, usage: 'encrypt' | 'decrypt') {
  return subtle().importKey('raw', secret, 'AES-GCM', false, [usage]);
}

/** Bytes of one encrypted share message: IV, sender and recipient ids (u16), both shares, GCM tag. */
export const SHARE_MESSAGE_BYTES =
  IV_BYTES + 4 + shamirShareBytes(KEY_BYTES) + shamirShareBytes(SEED_BYTES) + TAG_BYTES;

/**
 * One client's side of secure aggregation as in Bonawitz et al., "Practical Secure Aggregation
 * for Privacy-Preserving Machine Learning" (CCS 2017), and Flower's SecAgg+ on a complete graph:
 *
 * 1. {@link create}: two P-256 key pairs (Web Crypto) and a private self-mask seed b_u; the
 *    server broadcasts every client's {@link AdvertisedKeys}.
 * 2. {@link shareKeys}: the masking private key and b_u are Shamir-shared (threshold t of n,
 *    GF(2^127 − 1)) among all clients, each share encrypted and authenticated (AES-GCM) for
 *    its recipient; {@link receiveShares} takes the shares meant for this client.
 * 3. {@link maskedInput}: fixed-point values (modulo 2^48, resolution 2^-24) plus the mask
 *    PRG(b_u), plus or minus a pairwise mask per peer from the pair's ECDH secret. Pairwise
 *    masks cancel in the sum; the self-mask hides the input even from a server that learns
 *    its pair secrets.
 * 4. {@link unmask}: for each survivor the share of its b_u, for each dropped client the share
 *    of its masking key — never both for one client, across all requests of the round
 *    ({@link SecureAggregationRefusedError}). A server that calls a late client dropped gets
 *    its pair secrets but not its self-mask, so its input stays hidden.
 *
 * The paper's consistency check (signatures, for an actively malicious server) is not done:
 * a server that sends different clients different survivor lists is not caught.
 */
export class SecureAggregationClient {
  private peers = new Map<number, { keys: AdvertisedKeys; keyShare: Uint8Array; seedShare: Uint8Array }>();
  private threshold = 0;
  private readonly revealed = new Map<number, 'seed' | 'key'>();

  private constructor(
    readonly id: number,
    private readonly encryption: KeyPair,
    private readonly masking: KeyPair,
    private readonly seed: Uint8Array,
    readonly keys: AdvertisedKeys,
  ) {}

  static async create(id: number): Promise<SecureAggregationClient> {
    if (!Number.isInteger(id) || id < 0 || id > 0xffff)
      throw new InvalidArgumentError(`a secure aggregation client id is an integer in [0, 65535], got ${id}`, 'id');
    const encryption = await subtle().generateKey(ECDH, false, ['deriveBits']);
    // Extractable: its scalar is what gets Shamir-shared.
    const masking = await subtle().generateKey(ECDH, true, ['deriveBits']);
    const keys = {
      encryptionKey: new Uint8Array(await subtle().exportKey('raw', encryption.publicKey)),
      maskingKey: new Uint8Array(await subtle().exportKey('raw', masking.publicKey)),
    };
    const seed = globalThis.crypto.getRandomValues(new Uint8Array(SEED_BYTES));
    return new SecureAggregationClient(id, encryption, masking, seed, keys);
  }

  /**
   * Shamir-shares the masking key and b_u among `roster` (every client's advertised keys,
   * this one's included; share x = position in ascending id order + 1). Returns one encrypted
   * message per other client, for the server to route.
   */
  async shareKeys(roster: ReadonlyMap<number, AdvertisedKeys>, threshold: number): Promise<Map<number, Uint8Array>> {
    const ids = [...roster.keys()].sort((a, b) => a - b);
    if (!roster.has(this.id))
      throw new InvalidArgumentError(`client ${this.id} is not in the roster it was sent`, 'roster');
    if (!Number.isInteger(threshold) || threshold < 1 || threshold > ids.length)
      throw new SecureAggregationAbortedError(
        `secure aggregation needs threshold t in [1, ${ids.length}] clients, got ${threshold}`,
        { step: 'share-keys', survivors: ids.length, threshold },
      );
    this.threshold = threshold;
    const jwk = await subtle().exportKey('jwk', this.masking.privateKey);
    const keyShares = shamirSplit(fromBase64url(jwk.d!), ids.length, threshold);
    const seedShares = shamirSplit(this.seed, ids.length, threshold);
    const out = new Map<number, Uint8Array>();
    for (const [i, peer] of ids.entries()) {
      if (peer === this.id) {
        this.peers.set(peer, { keys: this.keys, keyShare: keyShares[i], seedShare: seedShares[i] });
        continue;
      }
      const plain = new Uint8Array(4 + keyShares[i].length + seedShares[i].length);
      new DataView(plain.buffer).setUint16(0, this.id, true);
      new DataView(plain.buffer).setUint16(2, peer, true);
      plain.set(keyShares[i], 4);
      plain.set(seedShares[i], 4 + keyShares[i].length);
      const key = await gcmKey(await agree(this.encryption.privateKey, roster.get(peer)!.encryptionKey), 'encrypt');
      const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
      const sealed = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv }, key, plain));
      const message = new Uint8Array(IV_BYTES + sealed.length);
      message.set(iv);
      message.set(sealed, IV_BYTES);
      out.set(peer, message);
    }
    return out;
  }

  /**
   * Takes the share messages other clients sent this one (`messages` by sender, `roster` as
   * given to {@link shareKeys}). Its peers for masking are the senders. A message that does not
   * decrypt, or names another sender or recipient, is refused.
   */
  async receiveShares(messages: ReadonlyMap<number, Uint8Array>, roster: ReadonlyMap<number, AdvertisedKeys>) {
    const keyLength = shamirShareBytes(KEY_BYTES);
    for (const [sender, message] of messages) {
      const keys = roster.get(sender);
      const refuse = (why: string) =>
        new SecureAggregationRefusedError(`client ${this.id} refused the shares of client ${sender}: ${why}`, {
          client: this.id,
          peer: sender,
        });
      if (!keys || message.length !== SHARE_MESSAGE_BYTES) throw refuse('not in the roster, or malformed');
      const key = await gcmKey(await agree(this.encryption.privateKey, keys.encryptionKey), 'decrypt');
      const plain = await subtle()
        .decrypt({ name: 'AES-GCM', iv: message.subarray(0, IV_BYTES) }, key, message.subarray(IV_BYTES))
        .then((b) => new Uint8Array(b))
        .catch(() => undefined);
      if (!plain) throw refuse('it does not authenticate (tampered, or not for this client)');
      const view = new DataView(plain.buffer);
      if (view.getUint16(0, true) !== sender || view.getUint16(2, true) !== this.id) throw refuse('ids do not match');
      const keyShare = plain.slice(4, 4 + keyLength),
        seedShare = plain.slice(4 + keyLength);
      this.peers.set(sender, { keys, keyShare, seedShare });
    }
  }

  /** `values` masked: fixed point, plus PRG(b_u), plus or minus the pairwise mask of each peer. */
  async maskedInput(values: ArrayLike<number>): Promise<Float64Array> {
    if (!this.peers.has(this.id))
      throw new InvalidArgumentError(`client ${this.id} masks an input before shareKeys()`, 'secureAggregation');
    const out = encodeRing(values);
    addMasks(out, await prgMask(this.seed, values.length), 1);
    for (const [peer, { keys }] of this.peers) {
      if (peer === this.id) continue;
      const secret = await agree(this.masking.privateKey, keys.maskingKey);
      addMasks(out, await prgMask(secret, values.length), pairSign(this.id, peer));
    }
    return out;
  }

  /** This client's shares for the server's unmasking request (see the class comment for what it refuses). */
  unmask(request: UnmaskRequest): UnmaskResponse {
    const refuse = (peer: number, why: string) =>
      new SecureAggregationRefusedError(`client ${this.id} refused to unmask client ${peer}: ${why}`, {
        client: this.id,
        peer,
      });
    const survivors = new Set(request.survivors);
    if (!survivors.has(this.id)) throw refuse(this.id, 'the request does not list this client as a survivor');
    if (survivors.size < this.threshold)
      throw new SecureAggregationAbortedError(
        `${survivors.size} survivors are fewer than the threshold ${this.threshold}: client ${this.id} reveals nothing`,
        { step: 'unmask', survivors: survivors.size, threshold: this.threshold },
      );
    const asks: [number, 'seed' | 'key'][] = [
      ...request.survivors.map((u) => [u, 'seed'] as [number, 'seed']),
      ...request.dropped.map((u) => [u, 'key'] as [number, 'key']),
    ];
    const kinds = new Map<number, 'seed' | 'key'>();
    for (const [peer, kind] of asks) {
      if (!this.peers.has(peer)) throw refuse(peer, 'it sent this client no shares');
      const before = kinds.get(peer) ?? this.revealed.get(peer);
      if (before && before !== kind)
        throw refuse(peer, 'the server asked for both its self-mask seed and its masking key, which would unmask it');
      kinds.set(peer, kind);
    }
    const response: UnmaskResponse = { seedShares: new Map(), keyShares: new Map() };
    for (const [peer, kind] of kinds) {
      this.revealed.set(peer, kind);
      const shares = this.peers.get(peer)!;
      if (kind === 'seed') response.seedShares.set(peer, shares.seedShare);
      else response.keyShares.set(peer, shares.keyShare);
    }
    return response;
  }
}

/** Bytes of an unmask response on the wire: per share a u16 id and the share. */
export function unmaskResponseBytes(response: UnmaskResponse): number {
  let bytes = 0;
  for (const share of [...response.seedShares.values(), ...response.keyShares.values()]) bytes += 2 + share.length;
  return bytes;
}

function reconstruct(
  responses: ReadonlyMap<number, UnmaskResponse>,
  peer: number,
  kind: 'seedShares' | 'keyShares',
  threshold: number,
) {
  const shares = [...responses.values()].flatMap((r) => (r[kind].has(peer) ? [r[kind].get(peer)!] : []));
  if (shares.length < threshold)
    throw new SecureAggregationAbortedError(
      `only ${shares.length} shares of client ${peer}'s ${kind === 'seedShares' ? 'self-mask seed' : 'masking key'} came back, the threshold is ${threshold}`,
      { step: 'unmask', survivors: shares.length, threshold },
    );
  return shamirCombine(shares);
}

/**
 * The server's side: the sum of the survivors' values. `masked` holds the survivors' masked
 * inputs, `roster` the advertised keys of every client that shared keys (survivors and dropped),
 * `responses` the survivors' answers to the unmasking request. Removes each survivor's self-mask
 * (b_u rebuilt from t shares) and, for each dropped client, the pairwise masks it left
 * (its masking key rebuilt from t shares). Throws {@link SecureAggregationAbortedError} with
 * fewer than `threshold` survivors or shares. Returns float64 values (fixed-point rounding
 * ≤ 2^-25 per client and value).
 */
export async function unmaskSum(
  masked: ReadonlyMap<number, Float64Array>,
  responses: ReadonlyMap<number, UnmaskResponse>,
  roster: ReadonlyMap<number, AdvertisedKeys>,
  threshold: number,
): Promise<Float64Array> {
  const inputs = [...masked.values()];
  if (masked.size < threshold || responses.size < threshold)
    throw new SecureAggregationAbortedError(
      `${masked.size} masked inputs and ${responses.size} unmask responses: secure aggregation needs ${threshold}`,
      {
        step: masked.size < threshold ? 'masked-input' : 'unmask',
        survivors: Math.min(masked.size, responses.size),
        threshold,
      },
    );
  const length = inputs[0].length;
  const sum = new Float64Array(length);
  for (const v of inputs) {
    if (v.length !== length)
      throw new InvalidArgumentError(`masked inputs of ${v.length} and ${length} values`, 'masked');
    addMasks(sum, v, 1);
  }
  for (const survivor of masked.keys())
    addMasks(sum, await prgMask(reconstruct(responses, survivor, 'seedShares', threshold), length), -1);
  for (const [dropped, keys] of roster) {
    if (masked.has(dropped)) continue;
    const privateKey = await privateFromScalar(
      reconstruct(responses, dropped, 'keyShares', threshold),
      keys.maskingKey,
    );
    for (const survivor of masked.keys()) {
      const secret = await agree(privateKey, roster.get(survivor)!.maskingKey);
      // The survivor applied pairSign(survivor, dropped) · mask: undo it.
      addMasks(sum, await prgMask(secret, length), pairSign(survivor, dropped) === 1 ? -1 : 1);
    }
  }
  return decodeRing(sum);
}
