/** The fast convolution kernels against tfjs-core's own conv2d and finite differences. */
import { describe, expect, it } from 'vitest';
import { tf, tfReady } from './tf.js';
import { conv2dNchw, convTranspose2dNchw, type Conv2dAttributes } from './conv-op.js';

function rand(shape: number[], seed: number): tf.Tensor {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1),
    shape,
  );
}

/** tfjs-core's reference: NHWC conv2d (or depthwise) with explicit pads, transposed from and to NCHW. */
function reference(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, a: Conv2dAttributes): tf.Tensor4D {
  const xh = tf.transpose<tf.Tensor4D>(x, [0, 2, 3, 1]);
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [a.pads[0], a.pads[2]],
    [a.pads[1], a.pads[3]],
    [0, 0],
  ];
  const [M, Cg] = w.shape;
  const C = x.shape[1];
  let y: tf.Tensor4D;
  if (a.group === 1) {
    y = tf.conv2d(xh, tf.transpose<tf.Tensor4D>(w, [2, 3, 1, 0]), a.strides, pad, 'NHWC', a.dilations);
  } else if (a.group === C && Cg === 1) {
    // depthwise with multiplier M/C: tfjs filter [kH, kW, C, M/C]
    const mult = M / C;
    const wd = tf.transpose<tf.Tensor4D>(tf.reshape(w, [C, mult, w.shape[2], w.shape[3]]), [2, 3, 0, 1]);
    y = tf.depthwiseConv2d(xh, wd, a.strides, pad, 'NHWC', a.dilations);
  } else {
    throw new Error('reference covers group 1 and depthwise');
  }
  return tf.transpose(tf.add(y, b), [0, 3, 1, 2]) as tf.Tensor4D;
}

const CASES: [string, number[], number[], Conv2dAttributes][] = [
  ['3x3 pad 1', [2, 3, 9, 8], [5, 3, 3, 3], { group: 1, strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1] }],
  [
    '5x5 stride 2, asymmetric pads',
    [2, 4, 11, 10],
    [6, 4, 5, 5],
    { group: 1, strides: [2, 2], dilations: [1, 1], pads: [2, 1, 1, 2] },
  ],
  // tfjs refuses stride and dilation above 1 together; the finite-difference case below covers that.
  [
    '3x3 dilation 2',
    [1, 2, 12, 12],
    [4, 2, 3, 3],
    { group: 1, strides: [1, 1], dilations: [2, 2], pads: [0, 1, 0, 1] },
  ],
  ['depthwise 3x3', [2, 4, 7, 7], [4, 1, 3, 3], { group: 4, strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1] }],
  [
    'depthwise multiplier 2, stride 2',
    [1, 3, 8, 8],
    [6, 1, 3, 3],
    { group: 3, strides: [2, 2], dilations: [1, 1], pads: [1, 1, 1, 1] },
  ],
  ['1x1', [3, 8, 5, 5], [4, 8, 1, 1], { group: 1, strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0] }],
];

describe('conv2dNchw', () => {
  for (const [label, xs, ws, attrs] of CASES) {
    it(`${label}: forward${attrs.dilations.some((d) => d > 1) ? '' : ' and gradients'} equal tfjs-core's`, async () => {
      await tfReady();
      const x = rand(xs, 1) as tf.Tensor4D,
        w = rand(ws, 2) as tf.Tensor4D,
        b = rand([ws[0]], 3) as tf.Tensor1D;
      const ours = conv2dNchw(x, w, b, attrs),
        ref = reference(x, w, b, attrs);
      expect(ours.shape).toEqual(ref.shape);
      expect(tf.max(tf.abs(tf.sub(ours, ref))).dataSync()[0]).toBeLessThan(1e-4);
      // tfjs has no gradient for dilated convolutions (ours does: see the finite-difference test).
      if (attrs.dilations.some((d) => d > 1)) return;
      // A loss that weighs every output element differently, so every gradient entry matters.
      const weights = rand(ref.shape, 4);
      const loss = (f: typeof conv2dNchw | typeof reference) => (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
        tf.sum(tf.mul(f(xi as tf.Tensor4D, wi as tf.Tensor4D, bi as tf.Tensor1D, attrs), weights));
      const g1 = tf.grads(loss(conv2dNchw))([x, w, b]);
      const g2 = tf.grads(loss(reference))([x, w, b]);
      for (let i = 0; i < 3; i++)
        expect(tf.max(tf.abs(tf.sub(g1[i], g2[i]))).dataSync()[0], ['dx', 'dw', 'db'][i]).toBeLessThan(1e-3);
    });
  }

  it('gradients match central finite differences, with stride and dilation together', async () => {
    await tfReady();
    const attrs: Conv2dAttributes = { group: 1, strides: [2, 1], dilations: [1, 2], pads: [1, 0, 0, 1] };
    const x = rand([1, 2, 6, 7], 5) as tf.Tensor4D,
      w = rand([3, 2, 3, 2], 6) as tf.Tensor4D,
      b = rand([3], 7) as tf.Tensor1D;
    const weights = rand(conv2dNchw(x, w, b, attrs).shape, 8);
    const f = (xi: tf.Tensor, wi: tf.Tensor) =>
      tf.sum(tf.mul(conv2dNchw(xi as tf.Tensor4D, wi as tf.Tensor4D, b, attrs), weights));
    const [gx, gw] = tf.grads(f)([x, w]);
    const eps = 1e-2;
    for (const [which, t, g] of [
      ['x', x, gx],
      ['w', w, gw],
    ] as const) {
      const base = t.dataSync().slice();
      for (const i of [0, 3, Math.floor(base.length / 2), base.length - 1]) {
        const at = (delta: number) => {
          const v = base.slice();
          v[i] += delta;
          const moved = tf.tensor(v, t.shape);
          return (which === 'x' ? f(moved, w) : f(x, moved)).dataSync()[0];
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        expect(Math.abs(numeric - g.dataSync()[i]), `${which}[${i}]`).toBeLessThan(
          2e-2 * Math.max(1, Math.abs(numeric)),
        );
      }
    }
  });

  it('transposed convolution: gradients match central finite differences', async () => {
    await tfReady();
    const attrs = {
      group: 2,
      strides: [2, 1] as [number, number],
      dilations: [1, 2] as [number, number],
      pads: [1, 0, 0, 1] as [number, number, number, number],
      outputPadding: [1, 0] as [number, number],
    };
    const x = rand([1, 4, 4, 5], 15) as tf.Tensor4D,
      w = rand([4, 3, 3, 2], 16) as tf.Tensor4D,
      b = rand([6], 17) as tf.Tensor1D;
    const weights = rand(convTranspose2dNchw(x, w, b, attrs).shape, 18);
    const f = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
      tf.sum(tf.mul(convTranspose2dNchw(xi as tf.Tensor4D, wi as tf.Tensor4D, bi as tf.Tensor1D, attrs), weights));
    const grads = tf.grads(f)([x, w, b]);
    const eps = 1e-2;
    ([x, w, b] as tf.Tensor[]).forEach((t, which) => {
      const base = t.dataSync().slice();
      for (const i of [0, Math.floor(base.length / 3), base.length - 1]) {
        const at = (delta: number) => {
          const v = base.slice();
          v[i] += delta;
          const args = [x, w, b] as tf.Tensor[];
          args[which] = tf.tensor(v, t.shape);
          return f(args[0], args[1], args[2]).dataSync()[0];
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        expect(Math.abs(numeric - grads[which].dataSync()[i]), `input ${which}[${i}]`).toBeLessThan(
          2e-2 * Math.max(1, Math.abs(numeric)),
        );
      }
    });
  });
});

describe('matMul2d', () => {
  it('equals tfjs-core matMul, forward and gradients, in every transpose combination', async () => {
    await tfReady();
    const { matMul2d } = await import('./matmul-op.js');
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const a = rand(ta ? [7, 5] : [5, 7], 21) as tf.Tensor2D,
        b = rand(tb ? [3, 7] : [7, 3], 22) as tf.Tensor2D;
      const w = rand([5, 3], 23);
      const ours = (x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(tf.mul(matMul2d(x as tf.Tensor2D, y as tf.Tensor2D, ta, tb), w));
      const theirs = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), w));
      expect(tf.max(tf.abs(tf.sub(matMul2d(a, b, ta, tb), tf.matMul(a, b, ta, tb)))).dataSync()[0]).toBeLessThan(1e-5);
      const [g1, g2] = [tf.grads(ours)([a, b]), tf.grads(theirs)([a, b])];
      for (let i = 0; i < 2; i++)
        expect(tf.max(tf.abs(tf.sub(g1[i], g2[i]))).dataSync()[0], `${ta} ${tb} d${i}`).toBeLessThan(1e-5);
    }
  });
});

describe('batchNormTrainNchw', () => {
  it('equals the tfjs-core moments formulation, forward, batch statistics and gradients', async () => {
    await tfReady();
    const { batchNormTrainNchw } = await import('./batchnorm-op.js');
    for (const shape of [
      [4, 3, 5, 6],
      [8, 5],
    ]) {
      const x = tf.add(tf.mul(rand(shape, 31), 3), 1),
        gamma = rand([shape[1]], 32) as tf.Tensor1D,
        beta = rand([shape[1]], 33) as tf.Tensor1D;
      const w = rand(shape, 34);
      const axes = [0, ...shape.slice(2).map((_, i) => i + 2)];
      const bshape = [1, shape[1], ...shape.slice(2).map(() => 1)];
      const reference = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const m = tf.moments(xi, axes);
        return tf.add(
          tf.mul(
            tf.div(tf.sub(xi, tf.reshape(m.mean, bshape)), tf.sqrt(tf.add(tf.reshape(m.variance, bshape), 1e-5))),
            tf.reshape(g, bshape),
          ),
          tf.reshape(b, bshape),
        );
      };
      const ours = batchNormTrainNchw(x, gamma, beta, 1e-5);
      expect(tf.max(tf.abs(tf.sub(ours.y, reference(x, gamma, beta)))).dataSync()[0]).toBeLessThan(1e-4);
      const m = tf.moments(x, axes);
      expect(Math.max(...Array.from(ours.mean, (v, i) => Math.abs(v - m.mean.dataSync()[i])))).toBeLessThan(1e-5);
      expect(Math.max(...Array.from(ours.variance, (v, i) => Math.abs(v - m.variance.dataSync()[i])))).toBeLessThan(
        1e-4,
      );
      const g1 = tf.grads((a, b, c) =>
        tf.sum(tf.mul(batchNormTrainNchw(a, b as tf.Tensor1D, c as tf.Tensor1D, 1e-5).y, w)),
      )([x, gamma, beta]);
      const g2 = tf.grads((a, b, c) => tf.sum(tf.mul(reference(a, b, c), w)))([x, gamma, beta]);
      for (let i = 0; i < 3; i++)
        expect(tf.max(tf.abs(tf.sub(g1[i], g2[i]))).dataSync()[0], `${shape} d${i}`).toBeLessThan(2e-4);
    }
  });
});
