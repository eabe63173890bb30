/**
 * @edgeml/runtime-node overhead over a bare onnxruntime-node loop on a ~1 ms model, the two
 * interleaved in blocks (A B A B ...) in one process so drift hits both alike.
 * Run: pnpm bench (or node bench/runtime-overhead.mjs).
 */
import * as ort from 'onnxruntime-node';
import { Graph, Model, Tensor, tensorType, encodeModel } from '@edgeml/core';
import { NodeBackend } from '@edgeml/runtime-node';
import { median, pct } from './stats.mjs';

const WIDTH = 512,
  LAYERS = 14,
  BATCH = 8;
const BLOCKS = Number(process.env.BLOCKS ?? 60),
  PER_BLOCK = Number(process.env.PER_BLOCK ?? 50);

const g = new Graph('mlp');
let v = g.addInput('x', tensorType('float32', [BATCH, WIDTH]));
for (let i = 0; i < LAYERS; i++) {
  const w = Float32Array.from({ length: WIDTH * WIDTH }, (_, j) => ((j * 2654435761) % 1000) / 1000 - 0.5);
  v = g.op('MatMul', [v, g.addInitializer(`w${i}`, Tensor.from('float32', [WIDTH, WIDTH], w))]).outputs[0];
  v = g.op('Relu', [v]).outputs[0];
}
v.name = 'y';
v.type = tensorType('float32', [BATCH, WIDTH]);
g.outputs.push(v);
const bytes = encodeModel(new Model(g, { opsetImports: new Map([['', 17]]) }));
const input = Float32Array.from({ length: BATCH * WIDTH }, (_, i) => Math.sin(i));

const bare = await ort.InferenceSession.create(bytes, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionProviders: ['cpu'],
});
const ours = await new NodeBackend().createSession(bytes, { intraOpThreads: 1, interOpThreads: 1 });

async function bareRun() {
  const out = await bare.run({ x: new ort.Tensor('float32', input, [BATCH, WIDTH]) });
  return out.y;
}
async function oursRun() {
  const out = await ours.run({ x: Tensor.from('float32', [BATCH, WIDTH], input) });
  return out.y;
}

// Same answers first, then time.
const a = await bareRun(),
  b = await oursRun();
if (a.data.some((x, i) => x !== b.data[i])) throw new Error('outputs differ');
for (let i = 0; i < 50; i++) {
  await bareRun();
  await oursRun();
}

const times = { bare: [], ours: [] };
const blockRatios = [];
for (let blk = 0; blk < BLOCKS; blk++) {
  const blockMedian = {};
  for (const [name, fn] of blk % 2
    ? [
        ['ours', oursRun],
        ['bare', bareRun],
      ]
    : [
        ['bare', bareRun],
        ['ours', oursRun],
      ]) {
    const local = [];
    for (let i = 0; i < PER_BLOCK; i++) {
      const t0 = process.hrtime.bigint();
      await fn();
      local.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times[name].push(...local);
    blockMedian[name] = median(local);
  }
  // Adjacent blocks see the same machine state, so their ratio cancels slow drift.
  blockRatios.push(blockMedian.ours / blockMedian.bare);
}
const mb = median(times.bare),
  mo = median(times.ours);
console.log(
  `model: ${LAYERS} x MatMul ${BATCH}x${WIDTH}x${WIDTH} + Relu, 1 thread; ${BLOCKS * PER_BLOCK} runs each, interleaved in blocks of ${PER_BLOCK}`,
);
console.log('| loop | p50 | p90 | p99 |\n|---|---|---|---|');
console.log(
  `| bare onnxruntime-node | ${mb.toFixed(3)} ms | ${pct(times.bare, 90).toFixed(3)} ms | ${pct(times.bare, 99).toFixed(3)} ms |`,
);
console.log(
  `| @edgeml/runtime-node | ${mo.toFixed(3)} ms | ${pct(times.ours, 90).toFixed(3)} ms | ${pct(times.ours, 99).toFixed(3)} ms |`,
);
console.log(
  `overhead at p50: ${(((mo - mb) / mb) * 100).toFixed(2)} % (${((mo - mb) * 1000).toFixed(1)} µs per run); median of paired block ratios: ${((median(blockRatios) - 1) * 100).toFixed(2)} %`,
);
await bare.release();
await ours.dispose();
