/**
 * Small numeric helpers shared by constant folding and shape inference: converting
 * tensors to and from float64 working arrays, broadcasting, and strides.
 */
import { ShapeError } from '../errors.js';
import { Tensor, shapeSize } from '../tensor/tensor.js';
import { type DType, dtypeInfo } from '../tensor/dtype.js';
import { float32ToFloat16Bits, float32ToBfloat16Bits } from '../tensor/float16.js';

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** Build a tensor of `dtype` from float64 working values (ints truncated toward zero, int64 clamped). */
export function fromFloat64(dtype: DType, dims: readonly number[], values: ArrayLike<number>): Tensor {
  const n = values.length;
  switch (dtype) {
    case 'float32':
      return Tensor.from(dtype, dims, Float32Array.from(values));
    case 'float64':
      return Tensor.from(dtype, dims, Float64Array.from(values));
    case 'float16': {
      const o = new Uint16Array(n);
      for (let i = 0; i < n; i++) o[i] = float32ToFloat16Bits(values[i]);
      return Tensor.from(dtype, dims, o);
    }
    case 'bfloat16': {
      const o = new Uint16Array(n);
      for (let i = 0; i < n; i++) o[i] = float32ToBfloat16Bits(values[i]);
      return Tensor.from(dtype, dims, o);
    }
    case 'int64': {
      const o = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        o[i] = v >= 9.223372036854776e18 ? INT64_MAX : v <= -9.223372036854776e18 ? INT64_MIN : BigInt(Math.trunc(v));
      }
      return Tensor.from(dtype, dims, o);
    }
    case 'uint64': {
      const o = new BigUint64Array(n);
      for (let i = 0; i < n; i++) o[i] = BigInt(Math.max(0, Math.trunc(values[i])));
      return Tensor.from(dtype, dims, o);
    }
    case 'bool': {
      const o = new Uint8Array(n);
      for (let i = 0; i < n; i++) o[i] = values[i] ? 1 : 0;
      return Tensor.from(dtype, dims, o);
    }
    case 'int32':
    case 'int16':
    case 'int8':
    case 'uint32':
    case 'uint16':
    case 'uint8': {
      const Ctor = dtypeInfo(dtype).array!;
      const o = new Ctor(n) as Int32Array;
      // Typed-array stores wrap modulo 2^bits, as a C cast would.
      for (let i = 0; i < n; i++) o[i] = Math.trunc(values[i]);
      return Tensor.from(dtype, dims, o);
    }
    default:
      throw new ShapeError(`cannot build a ${dtype} tensor from numbers here`);
  }
}

/** Row-major strides of a shape. */
export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

/** Numpy broadcasting of concrete shapes; throws ShapeError when incompatible. */
export function broadcastDims(a: readonly number[], b: readonly number[], where = ''): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1,
      y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new ShapeError(`${where}cannot broadcast [${a}] with [${b}]`);
    out[i] = x === 1 ? y : x;
  }
  return out;
}

/** For each output index, the flat index into an input of shape `dims` broadcast to `outDims`. */
export function broadcastIndex(dims: readonly number[], outDims: readonly number[]): Int32Array | undefined {
  if (dims.length === outDims.length && dims.every((d, i) => d === outDims[i])) return undefined;
  const total = shapeSize(outDims);
  const rank = outDims.length;
  const padded = [...new Array<number>(rank - dims.length).fill(1), ...dims];
  const inStrides = stridesOf(padded).map((s, i) => (padded[i] === 1 ? 0 : s));
  const idx = new Int32Array(total);
  const counter = new Array<number>(rank).fill(0);
  let flat = 0;
  for (let i = 0; i < total; i++) {
    idx[i] = flat;
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]++;
      flat += inStrides[d];
      if (counter[d] < outDims[d]) break;
      flat -= inStrides[d] * counter[d];
      counter[d] = 0;
    }
  }
  return idx;
}

/** Normalise a possibly negative axis against a rank. */
export function normAxis(axis: number, rank: number, where = ''): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeError(`${where}axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Copy a sub-block along one axis: used by Gather, Slice, Concat and Split. */
export function gatherAlongAxis(
  src: ArrayLike<number>,
  dims: readonly number[],
  axis: number,
  indices: ArrayLike<number>,
): { data: Float64Array; dims: number[] } {
  const outer = shapeSize(dims.slice(0, axis));
  const inner = shapeSize(dims.slice(axis + 1));
  const len = dims[axis];
  const out = new Float64Array(outer * indices.length * inner);
  let o = 0;
  for (let a = 0; a < outer; a++) {
    for (let k = 0; k < indices.length; k++) {
      const base = (a * len + indices[k]) * inner;
      for (let j = 0; j < inner; j++) out[o++] = src[base + j];
    }
  }
  const outDims = [...dims];
  outDims[axis] = indices.length;
  return { data: out, dims: outDims };
}
