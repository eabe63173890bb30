/** NCHW pooling against tfjs-core's own pools and their gradients. */
import { describe, expect, it } from 'vitest';
import { tf, tfReady } from './tf.js';
import { avgPool2dNchw, maxPool2dNchw, type Pool2dAttributes } from './pool-ops.js';

const rand = (shape: number[], seed: number) => {
  let s = seed >>> 0;
  return tf.tensor4d(
    Float32Array.from(
      { length: shape.reduce((a, b) => a * b, 1) },
      () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32 - 0.5,
    ),
    shape as [number, number, number, number],
  );
};
const nhwc = (t: tf.Tensor) => tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D;
const nchw = (t: tf.Tensor) => tf.transpose(t, [0, 3, 1, 2]) as tf.Tensor4D;
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];

const CASES: [string, Pool2dAttributes, 'valid' | number][] = [
  ['2x2 stride 2', { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] }, 'valid'],
  ['3x3 stride 1 pad 1', { kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] }, 1],
  ['3x3 stride 2', { kernel: [3, 3], strides: [2, 2], pads: [0, 0, 0, 0] }, 'valid'],
];

describe('pooling', () => {
  for (const [label, a, pad] of CASES) {
    it(`${label}: max and average (padding excluded from the count) equal tfjs-core's, with gradients`, async () => {
      await tfReady();
      const x = rand([2, 3, 9, 9], 11);
      const weights = rand([2, 3, ...maxPool2dNchw(x, a).shape.slice(2)], 12);
      for (const [kind, ours, theirs] of [
        [
          'max',
          (t: tf.Tensor) => maxPool2dNchw(t as tf.Tensor4D, a),
          (t: tf.Tensor) => nchw(tf.maxPool(nhwc(t), a.kernel, a.strides, pad)),
        ],
        [
          'avg',
          (t: tf.Tensor) => avgPool2dNchw(t as tf.Tensor4D, a),
          (t: tf.Tensor) => nchw(tf.avgPool(nhwc(t), a.kernel, a.strides, pad)),
        ],
      ] as const) {
        expect(maxDiff(ours(x), theirs(x))).toBeLessThan(1e-6);
        // tfjs's AvgPool gradient divides by the whole window even where its forward left the
        // padding out (its gradient is not the adjoint of its forward there); finite differences judge that case below.
        if (kind === 'avg' && pad !== 'valid') continue;
        const g1 = tf.grad((t) => tf.sum(tf.mul(ours(t), weights)))(x);
        const g2 = tf.grad((t) => tf.sum(tf.mul(theirs(t), weights)))(x);
        expect(maxDiff(g1, g2), kind).toBeLessThan(1e-5);
      }
    });
  }

  it('padded average pooling: the gradient matches finite differences of the forward', async () => {
    await tfReady();
    const a: Pool2dAttributes = { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 0, 1] };
    const x = rand([1, 2, 6, 5], 13);
    const weights = rand([1, 2, ...avgPool2dNchw(x, a).shape.slice(2)], 14);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(avgPool2dNchw(t as tf.Tensor4D, a), weights));
    const g = tf.grad(f)(x).dataSync();
    const base = x.dataSync().slice();
    for (let i = 0; i < base.length; i += 7) {
      const at = (d: number) => {
        const v = base.slice();
        v[i] += d;
        return f(tf.tensor(v, x.shape)).dataSync()[0];
      };
      expect(Math.abs((at(1e-2) - at(-1e-2)) / 2e-2 - g[i])).toBeLessThan(1e-3);
    }
  });

  it('ceil_mode adds the partial last window, and count_include_pad divides by the padded size', async () => {
    await tfReady();
    const x = tf.tensor4d(
      Float32Array.from({ length: 25 }, (_, i) => i),
      [1, 1, 5, 5],
    );
    const a: Pool2dAttributes = { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], ceilMode: true };
    // Windows: rows {0,1},{2,3},{4}; columns likewise. Max of each, hand-computed.
    expect(Array.from(maxPool2dNchw(x, a).dataSync())).toEqual([6, 8, 9, 16, 18, 19, 21, 23, 24]);
    const p: Pool2dAttributes = { kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], countIncludePad: true };
    // Corner: (0+1+5+6)/9 padded, vs /4 without.
    expect(avgPool2dNchw(x, p).dataSync()[0]).toBeCloseTo(12 / 9, 6);
    expect(avgPool2dNchw(x, { ...p, countIncludePad: false }).dataSync()[0]).toBeCloseTo(3, 6);
  });
});
