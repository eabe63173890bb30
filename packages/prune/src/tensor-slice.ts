import { Tensor } from '@edgeml/core';

/** The entries of `t` whose index along `axis` is in `keep` (ascending), as a new float32 tensor. */
export function keepAlong(t: Tensor, axis: number, keep: readonly number[]): Tensor {
  const dims = [...t.dims];
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const src = t.dtype === 'float32' ? (t.data as Float32Array) : Float32Array.from(t.toFloat64());
  const out = new Float32Array(outer * keep.length * inner);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < keep.length; k++) {
      const from = (o * dims[axis] + keep[k]) * inner;
      out.set(src.subarray(from, from + inner), (o * keep.length + k) * inner);
    }
  }
  dims[axis] = keep.length;
  return Tensor.from('float32', dims, out);
}
