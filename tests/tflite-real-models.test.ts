/**
 * @edgeml/tflite on real models (the real-model cache, scripts/real-models.json), judged by
 * TFLite's own interpreter (@edgeml/runtime-tflite) against onnxruntime-node on the same real
 * inputs (text pages, speech, wake-word features): float within relative error 1e-4, dynamic-range
 * int8 within quantization noise. Synthetic graphs are in tests/tflite-export.test.ts.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tensor, UnsupportedOpError, decodeModel, exposeOutputs, measureFidelity } from '@edgeml/core';
import { exportTflite } from '@edgeml/tflite';
import { TfliteBackend } from '@edgeml/runtime-tflite';
import { PPOCR_V4_DET, OWW_MODEL } from './support/model-cache.js';
import { SampleFactory } from './support/real-model-data.js';
import { loadSuite, measuredTree } from './support/real-models.js';
import {
  FLOAT_TOLERANCE,
  compareExport,
  exportAndCompare,
  onOnnxruntime,
  onTflite,
  relativeDiffs,
  transposesInside,
  worst,
} from './support/tflite-oracle.js';
import { opSequence, readTflite } from '../packages/tflite/src/testing/read-tflite.js';
import { int8Row, quantizeForTflite, type Int8Row } from './support/tflite-int8-real.js';

/** The real-model suite and its sample factory (text pages, speech features), made once. */
let samples: { suite: ReturnType<typeof loadSuite>; factory: SampleFactory } | undefined;
function realModelSamples() {
  if (samples) return samples;
  const suite = loadSuite();
  const factory = new SampleFactory({
    wavFile: suite.files['lena-wav'],
    melspectrogramModel: suite.files['oww-melspectrogram'],
    embeddingModel: suite.files['oww-embedding'],
  });
  return (samples = { suite, factory });
}

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

describe("dynamic-range int8 on TFLite's hybrid kernels", () => {
  it('int8 per-channel weights, float activations: within quantization noise of the float model', async () => {
    const file = PPOCR_V4_DET();
    const model = decodeModel(fs.readFileSync(file));
    const shape = [1, 3, 160, 160];
    const float = await exportTflite(model, { shapes: { x: shape } });
    const int8 = await exportTflite(model, { shapes: { x: shape }, quantize: 'dynamic' });
    expect(int8.report.int8Weights).toBeGreaterThan(40);
    expect(int8.bytes.byteLength).toBeLessThan(0.4 * float.bytes.byteLength);
    const file8 = readTflite(int8.bytes);
    const quantized = file8.tensors.filter((t) => t.type === 9);
    expect(quantized.length).toBe(int8.report.int8Weights);
    const [sample] = await realModelSamples().factory.samples({
      x: { shape, data: { source: 'text-image', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } },
    });
    const [want, got] = [await onOnnxruntime(model, sample), await onTflite(int8.bytes, sample)];
    const [fidelity] = measureFidelity([want], [got]);
    expect(fidelity.cosineSimilarity).toBeGreaterThan(0.99);
    expect(fidelity.sqnrDb).toBeGreaterThan(15);
    // The float file on the same page is exact to 1e-4: the difference is the int8 weights' and inputs' rounding.
    const exact = measureFidelity([want], [await onTflite(float.bytes, sample)])[0];
    expect(exact.maxAbsDiff).toBeLessThan(1e-4);
    expect(fidelity.maxAbsDiff).toBeGreaterThan(exact.maxAbsDiff);
    fs.mkdirSync('.tmp', { recursive: true });
    const sizes = { float: float.bytes.byteLength, int8: int8.bytes.byteLength };
    fs.writeFileSync('.tmp/tflite-dynamic.json', JSON.stringify({ ...sizes, fidelity, exact }, null, 2));
  });
});

describe('real models on TFLite vs onnxruntime', () => {
  it('PP-OCRv4 det (paddle2onnx) on text images: relative error ≤ 1e-4, cosine > 0.99999, no transpose inside', async () => {
    const file = PPOCR_V4_DET();
    const model = decodeModel(fs.readFileSync(file));
    const shape = [1, 3, 320, 320];
    const { bytes, report } = await exportTflite(model, { shapes: { x: shape } });
    expect(report.transposes).toBe(1);
    expect(transposesInside(bytes)).toBe(0);
    const { factory } = realModelSamples();
    const samples = await factory.samples({
      x: { shape, data: { source: 'text-image', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } },
    });
    for (const sample of samples.slice(0, 2)) {
      const diffs = await compareExport(model, bytes, report, sample);
      expect(worst(diffs)).toBeLessThanOrEqual(FLOAT_TOLERANCE);
      const got = await onTflite(bytes, sample);
      const probabilities = got[model.graph.outputs[0].name].toFloat64();
      expect(Math.max(...probabilities)).toBeGreaterThan(0.5); // text found: not a map of zeros
    }
  });

  it('openWakeWord embedding (tf2onnx, NHWC in ONNX already) converts and agrees', async () => {
    const model = decodeModel(fs.readFileSync(OWW_MODEL('embedding_model')));
    const { report, diffs } = await exportAndCompare(model, { shapes: { input_1: [1, 76, 32, 1] } });
    expect(report.opCounts.CONV_2D).toBe(20);
    expect(worst(diffs)).toBeLessThanOrEqual(FLOAT_TOLERANCE);
  });
});

describe('real models with If and LSTM on TFLite vs onnxruntime', () => {
  it('openWakeWord hey-jarvis: its verifier runs in an IF on score ≥ 0.5, agreeing on both branches', async () => {
    const { suite, factory } = realModelSamples();
    const entry = suite.models.find((m) => m.id === 'oww-hey-jarvis')!;
    const model = decodeModel(fs.readFileSync(suite.files[entry.id]));
    const { bytes, report } = await exportTflite(model, { shapes: { 'x.1': [1, 16, 96] } });
    expect(report.opCounts.IF).toBe(1);
    // The real features (scores < 0.5: the else branch) and a synthetic pattern that scores above it (the then branch).
    const pattern = Float32Array.from({ length: 16 * 96 }, (_, i) => Math.sin(i * 0.37 + 1));
    const feeds = [...(await factory.samples(entry.inputs)), { 'x.1': Tensor.from('float32', [1, 16, 96], pattern) }];
    // The If's condition is GreaterOrEqual(p1.1, 0.5); onnxruntime reads p1.1 off a copy that outputs it.
    const { model: probe } = exposeOutputs(model, ['p1.1']);
    const taken = new Set<boolean>();
    for (const sample of feeds) {
      taken.add((await onOnnxruntime(probe, sample))['p1.1'].toFloat64()[0] >= 0.5);
      expect(worst(await compareExport(model, bytes, report, sample))).toBeLessThanOrEqual(FLOAT_TOLERANCE);
    }
    expect([...taken].sort()).toEqual([false, true]);
  });

  it('openWakeWord hey-jarvis int8 with floatFallback: the IF and its branches in float, the rest int8; both branches as onnxruntime', async () => {
    const { suite, factory } = realModelSamples();
    const entry = suite.models.find((m) => m.id === 'oww-hey-jarvis')!;
    const model = decodeModel(fs.readFileSync(suite.files[entry.id]));
    const shapes = { 'x.1': [1, 16, 96] };
    const samples = await factory.samples(entry.inputs);
    const qdq = await quantizeForTflite(model, samples.slice(1), shapes, undefined);
    const strict = await exportTflite(qdq, { quantize: 'int8', shapes }).catch((e: unknown) => e);
    expect(strict).toBeInstanceOf(UnsupportedOpError);
    expect((strict as Error).message).toMatch(/node 'If_32' \(If\) runs subgraphs.*floatFallback/);
    const { bytes, report } = await exportTflite(qdq, { quantize: 'int8', shapes, floatFallback: true });
    expect(report.floatOperators.IF).toBe(1);
    const file = readTflite(bytes);
    const ops = opSequence(file);
    const fc = file.operators.filter((_, i) => ops[i] === 'FULLY_CONNECTED');
    expect(fc.length).toBeGreaterThan(0); // the main graph's layers on int8 kernels
    for (const op of fc) expect(file.tensors[op.inputs[1]].type).toBe(9);
    const pattern = Float32Array.from({ length: 16 * 96 }, (_, i) => Math.sin(i * 0.37 + 1));
    const feeds = [samples[0], { 'x.1': Tensor.from('float32', [1, 16, 96], pattern) }];
    const { model: probe } = exposeOutputs(model, ['p1.1']);
    const taken = new Set<boolean>();
    for (const sample of feeds) {
      taken.add((await onOnnxruntime(probe, sample))['p1.1'].toFloat64()[0] >= 0.5);
      const [want, ref, got] = [
        await onOnnxruntime(model, sample),
        await onOnnxruntime(qdq, sample),
        await onTflite(bytes, sample),
      ];
      // The score as onnxruntime's QDQ run (measured: 1.4e-5 and 4e-7; the then branch reads the float input,
      // as the QDQ model's branch does, the else branch returns the int8 score) and within a point of float.
      expect(measureFidelity([ref], [got])[0].maxAbsDiff).toBeLessThan(1e-3);
      expect(measureFidelity([want], [got])[0].maxAbsDiff).toBeLessThan(0.01);
    }
    expect([...taken].sort()).toEqual([false, true]);
  });

  it('Silero VAD v4, v5, v6 with sr fixed: speech streamed chunk by chunk, state fed back, as onnxruntime', async () => {
    const { suite, factory } = realModelSamples();
    for (const id of ['silero-vad-v4', 'silero-vad-v5', 'silero-vad-v6']) {
      const entry = suite.models.find((m) => m.id === id)!;
      const model = decodeModel(fs.readFileSync(suite.files[entry.id]));
      const sr = Tensor.from('int64', [], [16000]);
      const stateNames = id === 'silero-vad-v4' ? ['h', 'c'] : ['state'];
      const shapes = Object.fromEntries(
        Object.entries(entry.inputs)
          .filter(([name]) => name !== 'sr')
          .map(([name, r]) => [name, r.shape]),
      );
      const { bytes, report } = await exportTflite(model, { shapes, specialize: { sr } });
      expect(report.inputs.map((i) => i.name).sort(), id).toEqual(['input', ...stateNames].sort());
      expect(report.opCounts.IF, id).toBeUndefined(); // every If folded once sr is fixed
      expect(
        Object.keys(report.lowered).some((k) => k.startsWith('LSTM unrolled')),
        id,
      ).toBe(true);
      const chunks = await factory.samples(entry.inputs);
      let feeds = chunks[0];
      for (const chunk of chunks) {
        const want = await onOnnxruntime(model, { ...feeds, input: chunk.input, sr });
        const got = await onTflite(bytes, {
          ...Object.fromEntries(stateNames.map((n) => [n, feeds[n]])),
          input: chunk.input,
        });
        expect(worst(relativeDiffs(want, got)), id).toBeLessThanOrEqual(FLOAT_TOLERANCE);
        // The next chunk starts from onnxruntime's state: each step is judged on the same inputs.
        const outs = model.graph.outputs.map((v) => v.name);
        feeds = { ...feeds, ...Object.fromEntries(stateNames.map((n, i) => [n, want[outs[i + 1]]])) };
      }
    }
  }, 120_000);
});

describe('the real-model suite (scripts/real-models.json): converts, or the op that stops it', () => {
  it('every model exports and agrees on its held-out sample, or is refused naming the op and node', async () => {
    const { suite, factory } = realModelSamples();
    const rows: Record<string, unknown>[] = [];
    for (const entry of suite.models) {
      const model = decodeModel(fs.readFileSync(suite.files[entry.id]));
      const recipes = Object.entries(entry.inputs);
      // Inputs the recipe holds constant (Silero's sample rate) are fixed, as `edgeml export --fix` does.
      const specialize = Object.fromEntries(
        recipes.flatMap(([name, r]) =>
          r.data.source === 'constant'
            ? [[name, Tensor.from(r.dtype ?? 'float32', r.shape, new Array<number>(size(r.shape)).fill(r.data.value))]]
            : [],
        ),
      );
      const shapes = Object.fromEntries(
        recipes.filter(([name]) => !specialize[name]).map(([name, r]) => [name, r.shape]),
      );
      const fixed = Object.keys(specialize);
      const started = performance.now();
      let exported;
      try {
        exported = await exportTflite(model, { shapes, specialize: fixed.length ? specialize : undefined });
      } catch (e) {
        expect(e, entry.id).toBeInstanceOf(UnsupportedOpError);
        const { opType, nodeName } = e as UnsupportedOpError;
        expect(nodeName, entry.id).toBeTruthy();
        rows.push({ id: entry.id, converts: false, fixed, opType, nodeName, reason: (e as Error).message });
        continue;
      }
      const ms = Math.round(performance.now() - started);
      const samples = await factory.samples(entry.inputs);
      const [sample] = samples;
      const diffs = await compareExport(model, exported.bytes, exported.report, sample);
      const int8 = await int8Row(model, samples, shapes, fixed.length ? specialize : undefined);
      rows.push({
        id: entry.id,
        converts: true,
        fixed,
        opCounts: exported.report.opCounts,
        lowered: exported.report.lowered,
        exportMs: ms,
        onnxBytes: fs.statSync(suite.files[entry.id]).size,
        tfliteBytes: exported.bytes.byteLength,
        operators: Object.values(exported.report.opCounts).reduce((a, b) => a + b, 0),
        transposesInside: transposesInside(exported.bytes),
        relativeDiff: worst(diffs),
        maxAbsDiff: worst(await compareExport(model, exported.bytes, exported.report, sample, 0)),
        int8,
      });
    }
    fs.mkdirSync('.tmp', { recursive: true });
    // scripts/tflite-real-models-table.mjs writes this into docs/real-models.md ("Export to TFLite").
    const measured = { ...measuredTree(), tflite: `${new TfliteBackend().name} ${new TfliteBackend().version}` };
    fs.writeFileSync('.tmp/tflite-real-models.json', JSON.stringify({ measured, models: rows }, null, 2) + '\n');
    for (const r of rows.filter((row) => row.converts))
      expect(r.relativeDiff, String(r.id)).toBeLessThanOrEqual(FLOAT_TOLERANCE);
    // Every model converts today (docs/real-models.md, "Export to TFLite"); a model dropping out is a regression.
    expect(rows.filter((r) => !r.converts).map((r) => `${String(r.id)}: ${String(r.reason)}`)).toEqual([]);
    checkInt8(rows.map((r) => [String(r.id), r.int8 as Int8Row] as const));
  }, 600_000);
});

const refusalNamesNode = (r: { opType: string; nodeName: string; reason: string }) =>
  r.reason.includes(`'${r.nodeName}' (${r.opType})`);

/**
 * The int8 columns' bars. Refusals are UnsupportedOpErrors (int8Row rethrows anything else) naming
 * op and node. A written file returns every output at its shape (measureFidelity gives Infinity
 * otherwise), each within int8 noise of the float model on the held-out sample: cosine ≥ 0.9, or
 * within 1% of 1 where the output is ~0 (a wake word not said), or, where static int8 itself loses
 * an output (Silero's recurrent state, calibrated on zero states), as the QDQ model it was made from
 * computes it on onnxruntime (cosine ≥ 0.99). Four calibration samples; the table records the figures.
 */
function checkInt8(int8: (readonly [string, Int8Row])[]) {
  for (const [id, r] of int8) {
    if (r.refusal) expect(refusalNamesNode(r.refusal), `${id}: ${r.refusal.reason}`).toBe(true);
    if (r.fallbackRefusal) expect(refusalNamesNode(r.fallbackRefusal), `${id}: ${r.fallbackRefusal.reason}`).toBe(true);
    expect(!!r.exported, id).toBe(!r.fallbackRefusal);
    if (!r.exported) continue;
    const { vsFloat, vsQdq, relativeDiffs, floatOperators } = r.exported;
    expect(Object.keys(floatOperators).length > 0, id).toBe(!r.converts);
    vsFloat.forEach((f, i) => {
      expect(Number.isFinite(f.maxAbsDiff), `${id} ${f.output}`).toBe(true);
      const close = f.cosineSimilarity >= 0.9 || relativeDiffs[f.output] <= 0.01 || vsQdq[i].cosineSimilarity >= 0.99;
      expect(close, `${id} ${f.output}: ${JSON.stringify([f, vsQdq[i]])}`).toBe(true);
    });
  }
  // What converts today; one dropping out is a regression (docs/real-models.md has what stops the others).
  const ids = (pick: (r: Int8Row) => boolean) => int8.filter(([, r]) => pick(r)).map(([id]) => id);
  expect(ids((r) => r.converts)).toEqual(
    expect.arrayContaining(['ppocr-v4-det', 'ppocr-mobile-v2-cls', 'oww-embedding', 'oww-alexa', 'oww-timer']),
  );
  expect(ids((r) => !r.exported)).toEqual([]); // with floatFallback every model writes a file (an If runs in float)
}
