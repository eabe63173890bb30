/**
 * Flower's node authentication (1.26.1, `NodeAuthClientInterceptor`): every Fleet call carries
 * the node's EC public key (PEM, SubjectPublicKeyInfo) in `flwr-public-key-bin`, the current
 * time (Python's `datetime.isoformat()`, UTC) in `flwr-timestamp`, and an ECDSA-SHA256
 * signature of that timestamp (DER, as Python's `cryptography` writes it) in
 * `flwr-signature-bin`. The SuperLink refuses calls whose signature does not verify or whose
 * timestamp is more than ~5 minutes old. Keys are Web Crypto P-384 (Flower's default curve).
 */
import { FlowerProtocolError } from './errors.js';

/** The three authentication headers of one call. */
export interface FleetAuthHeaders {
  publicKey: Uint8Array;
  timestamp: string;
  signature: Uint8Array;
}

type Subtle = typeof globalThis.crypto.subtle;
type WebCryptoKey = Parameters<Subtle['sign']>[1];

function subtle(): Subtle {
  const s = globalThis.crypto?.subtle;
  if (!s)
    throw new FlowerProtocolError(
      "Flower's node authentication needs Web Crypto (globalThis.crypto.subtle): Node ≥ 20 or a page served over https",
    );
  return s;
}

function base64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** PEM text of a DER SubjectPublicKeyInfo, 64 base64 characters a line (as OpenSSL writes it). */
export function spkiPem(der: Uint8Array): string {
  const lines = base64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`;
}

/** An unsigned big-endian integer as a DER INTEGER (leading zeros dropped, a 0 added when the top bit is set). */
function derInteger(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const body = bytes.subarray(start);
  const pad = body[0] & 0x80 ? 1 : 0;
  return Uint8Array.of(0x02, body.length + pad, ...(pad ? [0] : []), ...body);
}

/** Web Crypto's ECDSA signature (r ‖ s, IEEE P1363) as the DER SEQUENCE {r, s} that OpenSSL and `cryptography` use. */
export function p1363ToDer(signature: Uint8Array): Uint8Array {
  const half = signature.length / 2;
  const r = derInteger(signature.subarray(0, half));
  const s = derInteger(signature.subarray(half));
  if (r.length + s.length > 127) throw new FlowerProtocolError('ECDSA signature too long for a short-form DER length');
  return Uint8Array.of(0x30, r.length + s.length, ...r, ...s);
}

/** Python's `datetime.now(timezone.utc).isoformat()`: microseconds and `+00:00`. */
export function isoTimestamp(date = new Date()): string {
  return date.toISOString().replace('Z', '000+00:00');
}

/**
 * A SuperNode's key pair. Like `flower-supernode` without `--auth-supernode-private-key`, a
 * client makes a fresh one per connection and registers its public key with RegisterNode.
 *
 * @example
 * ```ts
 * const identity = await NodeIdentity.generate();
 * const headers = await identity.sign(); // { publicKey, timestamp, signature }
 * ```
 */
export class NodeIdentity {
  private constructor(
    private readonly privateKey: WebCryptoKey,
    /** The public key as PEM bytes: what RegisterNode and ActivateNode send. */
    readonly publicKey: Uint8Array,
  ) {}

  static async generate(): Promise<NodeIdentity> {
    const keys = await subtle().generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, false, ['sign', 'verify']);
    const der = new Uint8Array(await subtle().exportKey('spki', keys.publicKey));
    return new NodeIdentity(keys.privateKey, new TextEncoder().encode(spkiPem(der)));
  }

  /** The authentication headers for a call made now. */
  async sign(now = new Date()): Promise<FleetAuthHeaders> {
    const timestamp = isoTimestamp(now);
    const raw = await subtle().sign(
      { name: 'ECDSA', hash: 'SHA-256' },
      this.privateKey,
      new TextEncoder().encode(timestamp),
    );
    return { publicKey: this.publicKey, timestamp, signature: p1363ToDer(new Uint8Array(raw)) };
  }
}
