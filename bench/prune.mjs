/**
 * Structured channel pruning: parameters, MACs and onnxruntime-node latency against the
 * share of channels removed (0.25, 0.5, 0.75), on a VGG-style CNN (3×64×64 input, convolutions
 * of 32-64-128-128 channels with BatchNorm, a 256-unit hidden layer), all candidates
 * interleaved run by run in one process by @edgeml/benchmark's compare(), 1 thread.
 * Run: node bench/prune.mjs (also part of pnpm bench).
 */
import { NodeBackend } from '@edgeml/runtime-node';
import { compare } from '@edgeml/benchmark';
import { buildCnn } from '@edgeml/distill';
import { modelFigures } from '@edgeml/core';
import { pruneChannels } from '@edgeml/prune';

const RUNS = Number(process.env.RUNS ?? 200);
const float = buildCnn({
  input: [3, 64, 64],
  convs: [{ channels: 32, pool: true }, { channels: 64, pool: true }, { channels: 128 }, { channels: 128, pool: true }],
  hidden: [256],
  classes: 10,
  batchNorm: true,
  seed: 3,
});
const candidates = [{ model: float, label: 'float (unpruned)' }];
const figures = [modelFigures(float)];
for (const ratio of [0.25, 0.5, 0.75]) {
  const { model } = await pruneChannels(float, { ratio, criterion: 'l1' });
  candidates.push({ model, label: `${ratio * 100} % channels removed` });
  figures.push(modelFigures(model));
}
const { results } = await compare(candidates, { backend: new NodeBackend(), runs: RUNS, warmup: 20, threads: 1 });
console.log(`VGG-style CNN, 1×3×64×64, onnxruntime-node, 1 thread, ${RUNS} runs each, interleaved`);
console.log(
  '| model | parameters | MACs | p50 latency | params ÷ | MACs ÷ | speed-up (p50) |\n|---|---|---|---|---|---|---|',
);
results.forEach((r, i) => {
  const f = figures[i];
  console.log(
    `| ${r.model} | ${f.params.toLocaleString()} | ${(f.macs / 1e6).toFixed(1)} M | ${r.latencyMs.p50.toFixed(3)} ms | ${(figures[0].params / f.params).toFixed(2)}× | ${(figures[0].macs / f.macs).toFixed(2)}× | ${r.speedup.toFixed(2)}× |`,
  );
});
