import { InvalidArgumentError } from '@edgeml/core';

/** How a client shrinks its update before sending it. */
export interface CompressionOptions {
  /** Keep only this fraction of the values with the largest magnitudes, per update (0 < k ≤ 1). */
  topK?: number;
  /** Send values as int8 with one float32 scale per update (symmetric, max |v| ↦ 127). */
  quantize?: 'int8';
}

const DENSE = 0,
  SPARSE = 1;

/**
 * Encode an update (a flat vector) as the bytes a client would send: a 1-byte kind, the value
 * count, then dense float32 values, or — with `topK` — the kept positions (uint32) and their
 * values, the values as float32 or, with `quantize: 'int8'`, as int8 after one float32 scale.
 * Little-endian throughout. Top-k without error feedback, as Aji and Heafield (2017) without
 * the residual; int8 as QSGD's deterministic rounding.
 */
export function encodeUpdate(values: ArrayLike<number>, options: CompressionOptions = {}): Uint8Array {
  const k = options.topK ?? 1;
  if (!(k > 0 && k <= 1)) throw new InvalidArgumentError(`topK must be in (0, 1], got ${options.topK}`, 'topK');
  if (options.quantize !== undefined && options.quantize !== 'int8')
    throw new InvalidArgumentError(`quantize must be 'int8', got '${String(options.quantize)}'`, 'quantize');
  const n = values.length;
  let positions: Uint32Array | undefined;
  if (k < 1) {
    const keep = Math.max(1, Math.round(k * n));
    const order = Uint32Array.from({ length: n }, (_, i) => i).sort(
      (a, b) => Math.abs(values[b]) - Math.abs(values[a]),
    );
    positions = order.subarray(0, keep).sort();
  }
  const count = positions ? positions.length : n;
  const at = (i: number) => (positions ? values[positions[i]] : values[i]);
  const int8 = options.quantize === 'int8';
  const header = 1 + 4 + (positions ? 4 : 0) + (int8 ? 4 : 0);
  const bytes = new Uint8Array(header + (positions ? 4 * count : 0) + (int8 ? 1 : 4) * count);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, (positions ? SPARSE : DENSE) | (int8 ? 2 : 0));
  view.setUint32(1, n, true);
  let offset = 5;
  if (positions) {
    view.setUint32(offset, count, true);
    offset += 4;
    for (let i = 0; i < count; i++, offset += 4) view.setUint32(offset, positions[i], true);
  }
  if (int8) {
    let max = 0;
    for (let i = 0; i < count; i++) max = Math.max(max, Math.abs(at(i)));
    const scale = max / 127 || 1;
    view.setFloat32(offset, scale, true);
    offset += 4;
    for (let i = 0; i < count; i++, offset++) view.setInt8(offset, Math.round(at(i) / scale));
  } else for (let i = 0; i < count; i++, offset += 4) view.setFloat32(offset, at(i), true);
  return bytes;
}

/** Decode {@link encodeUpdate}'s bytes into a dense vector (values not sent are 0). */
export function decodeUpdate(bytes: Uint8Array, expectedLength: number): Float64Array {
  const fail = (why: string) => new InvalidArgumentError(`a client update of ${bytes.length} bytes ${why}`, 'update');
  if (bytes.length < 5) throw fail('is too short for its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = view.getUint8(0);
  if (kind > 3) throw fail(`has an unknown kind ${kind}`);
  const n = view.getUint32(1, true);
  if (n !== expectedLength) throw fail(`holds ${n} values; the model has ${expectedLength}`);
  const sparse = (kind & 1) === SPARSE,
    int8 = (kind & 2) !== 0;
  let offset = 5;
  const count = sparse ? (bytes.length >= 9 ? view.getUint32(5, true) : -1) : n;
  if (sparse) offset += 4;
  if (count < 0 || count > n) throw fail(`declares ${count} kept values`);
  const need = offset + (sparse ? 4 * count : 0) + (int8 ? 4 + count : 4 * count);
  if (bytes.length !== need) throw fail(`should be ${need} bytes for its header`);
  const out = new Float64Array(n);
  const positionsAt = offset;
  offset += sparse ? 4 * count : 0;
  const scale = int8 ? view.getFloat32(offset, true) : 1;
  if (int8) offset += 4;
  for (let i = 0; i < count; i++) {
    const pos = sparse ? view.getUint32(positionsAt + 4 * i, true) : i;
    if (pos >= n) throw fail(`names position ${pos} past its ${n} values`);
    out[pos] = int8 ? view.getInt8(offset + i) * scale : view.getFloat32(offset + 4 * i, true);
  }
  return out;
}
