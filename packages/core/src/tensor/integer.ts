/**
 * Integer tensors of the quantized element types, built from plain integer values: what both
 * post-training quantization (@edgeml/quantize) and quantization-aware training
 * (@edgeml/distill) write, so they live here, below both.
 */
import { Tensor } from './tensor.js';

/** The integer element types a tensor can be quantized to. */
export type QuantType = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int4' | 'uint4';

/** Round half to even, as numpy.rint and onnxruntime's QuantizeLinear do. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Pack 4-bit values (low nibble first), as ONNX int4/uint4 tensors store them. */
export function packNibbles(values: Int32Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) out[i >> 1] |= (values[i] & 0x0f) << ((i & 1) * 4);
  return out;
}

const STORAGE = { int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array };

/** Storage for `n` values of a whole-byte quantized type (what `Tensor.from` keeps without copying). */
export function integerStorage(
  type: 'int8' | 'uint8' | 'int16' | 'uint16',
  n: number,
): Int8Array | Uint8Array | Int16Array | Uint16Array {
  return new STORAGE[type](n);
}

/**
 * A tensor of a quantized type from integer values (already in the type's range); 4-bit types
 * are packed two to a byte.
 *
 * @example
 * ```ts
 * quantTensor('int4', [3], Int32Array.of(1, -2, 7)).toNumbers(); // [1, -2, 7]
 * ```
 */
export function quantTensor(type: QuantType, dims: readonly number[], q: Int32Array): Tensor {
  if (type === 'int4' || type === 'uint4') return Tensor.fromBytes(type, dims, packNibbles(q));
  const arr = integerStorage(type, q.length);
  arr.set(q);
  return Tensor.from(type, dims, arr);
}
