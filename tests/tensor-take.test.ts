/**
 * takeAlong against onnxruntime's Gather (the oracle): the same slices, bit for bit, in the
 * same dtype, for the element types weights come in. (String tensors are checked in
 * take.test.ts: onnxruntime-node 1.30 returns empty strings for most elements of a string Gather.)
 */
import { describe, expect, it } from 'vitest';
import { Graph, Model, Tensor, takeAlong, tensorType, type DType } from '@edgeml/core';
import { rng, runOrt } from './support/models.js';

const CASES: { dtype: DType; make: (n: number, r: () => number) => Tensor }[] = [
  { dtype: 'float32', make: (n, r) => Tensor.from('float32', [n], Float32Array.from({ length: n }, r)) },
  {
    dtype: 'float16',
    make: (n, r) =>
      Tensor.from(
        'float16',
        [n],
        Uint16Array.from({ length: n }, () => (r() * 0x7bff) | 0),
      ),
  },
  { dtype: 'float64', make: (n, r) => Tensor.from('float64', [n], Float64Array.from({ length: n }, r)) },
  {
    dtype: 'int8',
    make: (n, r) =>
      Tensor.from(
        'int8',
        [n],
        Int8Array.from({ length: n }, () => (r() * 255 - 128) | 0),
      ),
  },
  {
    dtype: 'uint8',
    make: (n, r) =>
      Tensor.from(
        'uint8',
        [n],
        Uint8Array.from({ length: n }, () => (r() * 255) | 0),
      ),
  },
  {
    dtype: 'int32',
    make: (n, r) =>
      Tensor.from(
        'int32',
        [n],
        Int32Array.from({ length: n }, () => (r() * 1e6) | 0),
      ),
  },
  {
    dtype: 'int64',
    make: (n, r) =>
      Tensor.from(
        'int64',
        [n],
        BigInt64Array.from({ length: n }, () => BigInt((r() * 1e9) | 0)),
      ),
  },
  {
    dtype: 'bool',
    make: (n, r) =>
      Tensor.from(
        'bool',
        [n],
        Uint8Array.from({ length: n }, () => (r() > 0.5 ? 1 : 0)),
      ),
  },
];

describe('takeAlong matches onnxruntime Gather', () => {
  for (const { dtype, make } of CASES) {
    it(dtype, async () => {
      const dims = [3, 5, 4];
      const r = rng(11);
      const data = make(60, r).reshape(dims);
      for (const [axis, indices] of [
        [0, [2, 0]],
        [1, [4, 1, 1, 0]],
        [2, [3]],
      ] as [number, number[]][]) {
        const g = new Graph('gather');
        const x = g.addInput('x', tensorType(dtype, dims));
        const idx = g.addInitializer('idx', Tensor.from('int64', [indices.length], indices.map(BigInt)));
        g.outputs.push(g.op('Gather', [x, idx], { axis }, { outputs: ['y'] }).outputs[0]);
        g.outputs[0].type = tensorType(dtype);
        const expected = (await runOrt(new Model(g, { opsetImports: new Map([['', 13]]) }), { x: data })).y;
        const got = takeAlong(data, axis, indices);
        expect(got.dtype).toBe(dtype);
        expect(got.dims).toEqual(expected.dims);
        expect(Array.from(got.data as ArrayLike<unknown>)).toEqual(Array.from(expected.data as ArrayLike<unknown>));
      }
    });
  }
});
