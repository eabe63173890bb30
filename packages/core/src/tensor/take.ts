/**
 * Tensor slicing that keeps the element type: the helpers passes use to cut weights (channel
 * pruning, splitting) without widening to float. They copy bytes, so every dtype works, packed
 * sub-byte types and strings included.
 */
import { InvalidArgumentError } from '../errors.js';
import { dtypeInfo, type DType } from './dtype.js';
import { Tensor, shapeSize } from './tensor.js';

function checkAxis(t: Tensor, axis: number): number {
  const rank = t.dims.length;
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank)
    throw new InvalidArgumentError(`axis ${axis} is out of range for a tensor of shape [${t.dims}]`, 'axis');
  return a;
}

/**
 * The slices of `t` at `indices` along `axis`, in the order given (repeats allowed), as a new
 * tensor of the same dtype. Negative axes count from the end.
 *
 * @example
 * ```ts
 * const w = Tensor.from('float16', [4, 2], new Uint16Array(8));
 * takeAlong(w, 0, [0, 3]).dtype; // 'float16', dims [2, 2]
 * ```
 */
export function takeAlong<D extends DType>(t: Tensor<D>, axis: number, indices: readonly number[]): Tensor<D> {
  const a = checkAxis(t, axis);
  const dims = [...t.dims];
  const extent = dims[a];
  for (const i of indices)
    if (!Number.isInteger(i) || i < 0 || i >= extent)
      throw new InvalidArgumentError(`index ${i} is out of range for axis ${a} of size ${extent}`, 'indices');
  const outer = shapeSize(dims.slice(0, a));
  const inner = shapeSize(dims.slice(a + 1));
  dims[a] = indices.length;
  // Element positions to copy, in output order.
  const positions = new Int32Array(outer * indices.length);
  for (let o = 0, k = 0; o < outer; o++) for (const i of indices) positions[k++] = o * extent + i;
  if (t.dtype === 'string') {
    const src = t.stringBytes;
    const out: Uint8Array[] = [];
    for (const p of positions) for (let j = 0; j < inner; j++) out.push(src[p * inner + j]);
    return Tensor.fromStringBytes(dims, out) as unknown as Tensor<D>;
  }
  const { bits } = dtypeInfo(t.dtype);
  const bytes = t.bytes;
  if (bits % 8 === 0) {
    const run = (inner * bits) / 8;
    const out = new Uint8Array(positions.length * run);
    positions.forEach((p, k) => out.set(bytes.subarray(p * run, (p + 1) * run), k * run));
    return Tensor.fromBytes(t.dtype, dims, out, t.storedAs);
  }
  // Packed sub-byte elements (low bits first): move them one at a time.
  const out = new Uint8Array(Math.ceil((shapeSize(dims) * bits) / 8));
  const mask = (1 << bits) - 1;
  let dst = 0;
  for (const p of positions) {
    for (let j = 0; j < inner; j++, dst++) {
      const srcBit = (p * inner + j) * bits;
      const v = (bytes[srcBit >> 3] >> (srcBit & 7)) & mask;
      const dstBit = dst * bits;
      out[dstBit >> 3] |= v << (dstBit & 7);
    }
  }
  return Tensor.fromBytes(t.dtype, dims, out, t.storedAs);
}

/** Elements `start` (inclusive) to `end` (exclusive) along `axis`, same dtype. */
export function sliceAlong<D extends DType>(t: Tensor<D>, axis: number, start: number, end: number): Tensor<D> {
  const a = checkAxis(t, axis);
  const extent = t.dims[a];
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > extent || start > end)
    throw new InvalidArgumentError(
      `slice [${start}, ${end}) does not fit axis ${a} of size ${extent} (shape [${t.dims}])`,
      'start',
    );
  return takeAlong(
    t,
    a,
    Array.from({ length: end - start }, (_, i) => start + i),
  );
}
