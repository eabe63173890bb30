/**
 * One CNN training step (forward, loss, gradients of every weight) at batch 64 on 28×28 digits:
 * stock tfjs-core CPU kernels (NHWC conv2d and its registered gradients) against @edgeml/distill's
 * im2col + GEMM convolutions and NCHW pooling, same weights, same data, alternating, in one process; the
 * gradients are compared too.
 * Run: node bench/distill-conv.mjs (also part of pnpm bench).
 */
import { tf, tfReady, conv2dNchw, maxPool2dNchw } from '@edgeml/distill';
import { median } from './stats.mjs';

await tfReady();
const STEPS = Number(process.env.STEPS ?? 5),
  B = 64;
let seed = 1;
const rand = (shape, scale = 0.1) =>
  tf.tensor(
    Float32Array.from(
      { length: shape.reduce((a, b) => a * b, 1) },
      () => (((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1) * scale,
    ),
    shape,
  );
// conv 1→16 5×5, relu, maxpool 2, conv 16→32 5×5, relu, maxpool 2, dense 512→10
const x = rand([B, 1, 28, 28], 1),
  labels = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: B }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
const w1 = rand([16, 1, 5, 5]),
  b1 = rand([16]),
  w2 = rand([32, 16, 5, 5]),
  b2 = rand([32]),
  wd = rand([512, 10]),
  bd = rand([10]);
const attrs = { group: 1, strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0] };
const pool = (t) => maxPool2dNchw(t, { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] });

function oursLoss(w1, b1, w2, b2, wd, bd) {
  // The first layer's input is data: no gradient for it (tfjs skips it too, lazily).
  let h = pool(tf.relu(conv2dNchw(x, w1, b1, { ...attrs, inputGradient: false })));
  h = pool(tf.relu(conv2dNchw(h, w2, b2, attrs)));
  return tf.losses.softmaxCrossEntropy(labels, tf.add(tf.matMul(tf.reshape(h, [B, 512]), wd), bd));
}
const xh = tf.transpose(x, [0, 2, 3, 1]);
const hwio = (w) => tf.transpose(w, [2, 3, 1, 0]);
function stockLoss(w1, b1, w2, b2, wd, bd) {
  let h = tf.maxPool(tf.relu(tf.add(tf.conv2d(xh, hwio(w1), 1, 'valid'), b1)), 2, 2, 'valid');
  h = tf.maxPool(tf.relu(tf.add(tf.conv2d(h, hwio(w2), 1, 'valid'), b2)), 2, 2, 'valid');
  // back to NCHW order before flattening, so both models are the same function
  return tf.losses.softmaxCrossEntropy(
    labels,
    tf.add(tf.matMul(tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [B, 512]), wd), bd),
  );
}
const params = [w1, b1, w2, b2, wd, bd];
const step = (f) => {
  const t0 = performance.now();
  let grads;
  // Nothing returned from tidy: it would walk every element of returned typed arrays.
  tf.tidy(() => {
    grads = tf
      .grads(f)(params)
      .map((g) => g.dataSync().slice());
  });
  return [performance.now() - t0, grads];
};
const times = { stock: [], ours: [] };
let maxDiff = 0;
for (let i = 0; i < STEPS; i++) {
  const [ts, gs] = step(stockLoss);
  const [to, go] = step(oursLoss);
  times.stock.push(ts);
  times.ours.push(to);
  gs.forEach((g, k) =>
    g.forEach((v, j) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - go[k][j]));
    }),
  );
}
const s = median(times.stock),
  o = median(times.ours);
console.log(`CNN training step, batch ${B}, ${STEPS} steps each, alternating`);
console.log('| kernels | step (median) |\n|---|---|');
console.log(`| tfjs-core CPU (stock) | ${s.toFixed(0)} ms |`);
console.log(`| @edgeml/distill im2col + GEMM | ${o.toFixed(0)} ms |`);
console.log(`speed-up: ${(s / o).toFixed(1)}×; largest gradient difference: ${maxDiff.toExponential(2)}`);
