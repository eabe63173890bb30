/**
 * The guide's "Extend EdgeML" examples, run as written: each ```ts block after an
 * `<!-- example: name -->` marker in docs/guide.md is written to .tmp and imported, and what it
 * exports is checked here — against onnxruntime where a model is involved.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Tensor,
  backendRegistry,
  decodeModel,
  encodeModel,
  measureFidelity,
  npySamples,
  type Model,
  type ValueInfo,
} from '@edgeml/core';
import type { SpeedCheckResult } from '@edgeml/benchmark';
import { quantizationSchemes, type AutoQuantizeResult, type QuantizeResult } from '@edgeml/quantize';
import { runOrt } from './support/models.js';
import { onOnnxruntime, onTflite } from './support/tflite-oracle.js';
import { opSequence, readTflite } from '../packages/tflite/src/testing/read-tflite.js';
import { runCli } from '../packages/cli/src/testing/run-cli.js';

function guideExamples(): Map<string, string> {
  const text = fs.readFileSync(path.resolve('docs/guide.md'), 'utf8');
  const out = new Map<string, string>();
  for (const m of text.matchAll(/<!-- example: ([\w-]+) -->\s*```ts\n([\s\S]*?)```/g)) out.set(m[1], m[2]);
  return out;
}

async function runExample<T>(name: string): Promise<T> {
  const code = guideExamples().get(name);
  if (!code) throw new Error(`docs/guide.md has no example '${name}'`);
  const dir = path.resolve('.tmp', 'guide-examples');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.ts`);
  fs.writeFileSync(file, code);
  return (await import(/* @vite-ignore */ file)) as T;
}

describe('guide examples', () => {
  it('lists the simplify, samples-from-files, tflite-run, mixed-precision, quantize-auto, qat, tflite-export, tflite-recurrent, tflite-int8, secure-aggregation and flower-client examples and the three extension examples', () => {
    expect([...guideExamples().keys()]).toEqual([
      'simplify',
      'samples-from-files',
      'tflite-run',
      'mixed-precision',
      'quantize-auto',
      'qat',
      'tflite-export',
      'tflite-recurrent',
      'tflite-int8',
      'secure-aggregation',
      'flower-client',
      'custom-pass',
      'custom-scheme',
      'custom-backend',
    ]);
  });

  it('simplify: the traced hard-swish becomes one HardSwish, same outputs on onnxruntime', async () => {
    const { model, original, report } = await runExample<{
      model: Model;
      original: Model;
      report: { before: { nodes: number }; after: { nodes: number } };
    }>('simplify');
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['HardSwish']);
    expect([report.before.nodes, report.after.nodes]).toEqual([4, 1]);
    const x = Tensor.from(
      'float32',
      [1, 16],
      Float32Array.from({ length: 16 }, (_, i) => i / 2 - 4),
    );
    const [want, got] = [await runOrt(encodeModel(original), { x }), await runOrt(encodeModel(model), { x })];
    const [a, b] = [want.y.data as Float32Array, got.y.data as Float32Array];
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-6);
  });

  it("samples-from-files: numpy's own .npy files and decoded pixels become the model's input", async () => {
    const { model, fromNpy, fromImage } = await runExample<{
      model: Model;
      fromNpy: Record<string, Tensor>[];
      fromImage: Tensor;
    }>('samples-from-files');
    expect(fromNpy.map((s) => [[...s.image.dims], Array.from(s.image.data as Float32Array)])).toEqual([
      [
        [1, 1, 2, 2],
        [0, 0.25, 0.5, 1],
      ],
    ]);
    expect([[...fromImage.dims], Array.from(fromImage.data as Float32Array)]).toEqual([
      [1, 1, 2, 2],
      [1, 0, 1, 0],
    ]);
    // The same rules on files numpy wrote (float64, and a batch of 2 split for a batch-1 model).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-npy-'));
    const written = spawnSync('/usr/bin/python3', [
      '-c',
      `import numpy; numpy.save('${dir}/b.npy', numpy.arange(8, dtype=numpy.float64).reshape(2, 1, 2, 2) / 8)`,
    ]);
    expect(written.status, String(written.stderr)).toBe(0);
    const fromNumpy = npySamples([{ name: 'b.npy', bytes: fs.readFileSync(path.join(dir, 'b.npy')) }], model);
    expect(fromNumpy.map((s) => [s.image.dtype, [...s.image.dims], Array.from(s.image.toFloat64())])).toEqual([
      ['float64', [1, 1, 2, 2], [0, 0.125, 0.25, 0.375]],
      ['float64', [1, 1, 2, 2], [0.5, 0.625, 0.75, 0.875]],
    ]);
  });

  it('mixed precision: sensitivity finds the layer reading the outlier tensor, and the floor warning names the fix', async () => {
    const { plain, mixed } = await runExample<{ plain: QuantizeResult; mixed: QuantizeResult }>('mixed-precision');
    expect(plain.sqnrDb!).toBeLessThan(20);
    expect(plain.sensitivity![0].layer).toBe('narrow');
    expect(plain.warnings![0].message).toMatch(/under the 20 dB floor; accuracyBudget \{ minSqnrDb: 20 \} meets it/);
    expect(mixed.budgetMet).toBe(true);
    expect(mixed.sqnrDb!).toBeGreaterThanOrEqual(20);
    expect(mixed.mixedPrecision!.map((l) => [l.layer, l.precision])).toEqual([['narrow', 'float']]);
  });

  it('quantize-auto: one candidate chosen, the fastest as accurate as static; the speed check agrees with itself', async () => {
    const { result, speed } = await runExample<{ result: AutoQuantizeResult; speed: SpeedCheckResult }>(
      'quantize-auto',
    );
    expect(result.candidates.map((c) => c.mode)).toEqual(['static', 'hybrid', 'dynamic']);
    const [chosen] = result.candidates.filter((c) => c.chosen);
    expect(result.mode).toBe(chosen.mode);
    const eligible = result.candidates.filter((c) => c.sqnrDb! >= result.candidates[0].sqnrDb! - 1);
    expect(chosen.p50Ms).toBe(Math.min(...eligible.map((c) => c.p50Ms!)));
    expect(speed.speedup).toBeCloseTo(speed.floatP50Ms / speed.quantizedP50Ms, 6);
    expect(speed.reason === undefined).toBe(speed.speedup >= 1);
  }, 60_000);

  it('qat: label-free 4-bit QAT writes the static placement with 4-bit Q/DQ that onnxruntime runs', async () => {
    const { result } = await runExample<{ result: QuantizeResult }>('qat');
    expect(result.mode).toBe('qat');
    expect(result.training).toMatchObject({ supervision: 'teacher', learnScales: true });
    const zeroPoints = result.model.graph.nodes
      .filter((n) => n.opType === 'QuantizeLinear')
      .map((n) => n.inputs[2]?.const?.dtype);
    expect(zeroPoints.length).toBeGreaterThan(0);
    expect(new Set(zeroPoints)).toEqual(new Set(['uint4']));
    const image = Tensor.from('float32', [1, 1, 28, 28], new Float32Array(784).fill(0.5));
    expect((await runOrt(encodeModel(result.model), { image })).logits.dims).toEqual([1, 10]);
  }, 120_000);
  it('tflite-export: NHWC file with the Relu fused and no transpose; TFLite agrees with onnxruntime', async () => {
    const { model, report, image, output } = await runExample<{
      model: Model;
      report: { opCounts: Record<string, number>; inputs: { shape: number[] }[] };
      image: Tensor;
      output: Tensor;
    }>('tflite-export');
    expect(report.opCounts).toEqual({ CONV_2D: 1, MEAN: 1 });
    expect(report.inputs[0].shape).toEqual([1, 32, 32, 3]);
    const want = (await runOrt(encodeModel(model), { x: image })).y;
    expect(output.dims).toEqual([...want.dims]);
    const [a, b] = [want.data as Float32Array, output.data as Float32Array];
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-5);
  });

  it('tflite-recurrent: the LSTM unrolled; Y, Y_h and Y_c on TFLite agree with onnxruntime from given states', async () => {
    const { model, report, feeds, outputs } = await runExample<{
      model: Model;
      report: { lowered: Record<string, number>; opCounts: Record<string, number> };
      feeds: Record<string, Tensor>;
      outputs: Record<string, Tensor>;
    }>('tflite-recurrent');
    expect(report.lowered).toEqual({ 'LSTM unrolled over 4 time steps (FULLY_CONNECTED + elementwise)': 1 });
    const want = await runOrt(encodeModel(model), feeds);
    expect(Object.keys(outputs).sort()).toEqual(['y', 'y_c', 'y_h']);
    for (const name of ['y', 'y_h', 'y_c']) {
      expect(outputs[name].dims).toEqual([...want[name].dims]);
      const [a, b] = [want[name].data as Float32Array, outputs[name].data as Float32Array];
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]))), name).toBeLessThan(1e-5);
    }
  });

  it("tflite-int8: int8 between QUANTIZE and DEQUANTIZE; on held-out digits TFLite tracks onnxruntime's float and QDQ models", async () => {
    const { model, qdq, bytes, report, heldOut, floats, int8s } = await runExample<{
      model: Model;
      qdq: Model;
      bytes: Uint8Array;
      report: { opCounts: Record<string, number>; int8Tensors: number };
      heldOut: { inputs: Record<string, Tensor>; labels?: Int32Array }[];
      floats: Record<string, Tensor>[];
      int8s: Record<string, Tensor>[];
    }>('tflite-int8');
    // What the flatbuffer holds: float only at the QUANTIZE in and the DEQUANTIZE out, per-channel int8 weights.
    const file = readTflite(bytes);
    const ops = opSequence(file);
    expect([ops[0], ops.at(-1)]).toEqual(['QUANTIZE', 'DEQUANTIZE']);
    expect(ops).toEqual(expect.arrayContaining(['CONV_2D', 'MAX_POOL_2D', 'FULLY_CONNECTED']));
    const inner = file.operators.slice(1, -1).flatMap((op) => [...op.inputs, ...op.outputs].filter((i) => i >= 0));
    expect(new Set(inner.map((i) => file.tensors[i].type))).toEqual(new Set([9, 2])); // int8, int32 (biases, shapes)
    expect(report.int8Tensors).toBe(file.tensors.filter((t) => t.type === 9).length);
    const conv = file.operators[ops.indexOf('CONV_2D')];
    expect(file.tensors[conv.inputs[1]].quantization!.scale).toHaveLength(8); // one scale per output channel
    // The example's answers are the interpreters': TFLite is deterministic, onnxruntime the float model.
    const [want, ref, got] = [[], [], []] as Record<string, Tensor>[][];
    for (const { inputs } of heldOut) {
      want.push(await onOnnxruntime(model, inputs));
      ref.push(await onOnnxruntime(qdq, inputs));
      got.push(await onTflite(bytes, inputs));
    }
    expect(heldOut).toHaveLength(200);
    expect(got.map((o) => Array.from(o.logits.toFloat64()))).toEqual(
      int8s.map((o) => Array.from(o.logits.toFloat64())),
    );
    expect(measureFidelity(want, floats)[0].maxAbsDiff).toBeLessThan(1e-4);
    const [tflite] = measureFidelity(want, got);
    const [ort] = measureFidelity(want, ref);
    const [vsQdq] = measureFidelity(ref, got);
    // Int8 rounding costs the float model's digit on at most 2 of 200, as onnxruntime's own QDQ run does;
    // TFLite's integer kernels and onnxruntime's float arithmetic between Q/DQ pick the same digit on all.
    expect(tflite.top1Agreement).toBeGreaterThanOrEqual(0.99);
    expect(tflite.sqnrDb).toBeGreaterThan(Math.min(30, ort.sqnrDb - 1));
    expect(vsQdq.top1Agreement).toBe(1);
    expect(vsQdq.sqnrDb).toBeGreaterThan(35);
    const accuracy = (outs: Record<string, Tensor>[]) =>
      outs.filter((o, i) => {
        const row = Array.from(o.logits.toFloat64());
        return row.indexOf(Math.max(...row)) === heldOut[i].labels![0];
      }).length / outs.length;
    expect(accuracy(got)).toBeGreaterThanOrEqual(accuracy(want) - 0.01);
  }, 120_000);

  it('custom pass: Div by a constant becomes Mul, and onnxruntime gets the same answer', async () => {
    const { model, original } = await runExample<{ model: Model; original: Model }>('custom-pass');
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['Mul']);
    expect(model.graph.outputs[0].name).toBe('y');
    const feeds = { x: Tensor.from('float32', [1, 3], [1, -6, 10]) };
    expect(Array.from((await runOrt(model, feeds)).y.data as Float32Array)).toEqual(
      Array.from((await runOrt(original, feeds)).y.data as Float32Array),
    );
  });

  it('custom scheme: quantize() runs it, weights shrink about 4x, and the CLI lists and runs the mode', async () => {
    const { result, model } = await runExample<{ result: QuantizeResult; model: Model }>('custom-scheme');
    expect(quantizationSchemes.has('weight-only-int8')).toBe(true);
    expect(result.quantizedNodes).toEqual([{ name: expect.any(String) as string, opType: 'MatMul' }]);
    expect(result.sizeBefore / result.sizeAfter).toBeGreaterThan(3);
    expect(result.sqnrDb).toBeGreaterThan(30);
    const help = await runCli(['quantize', '--help']);
    expect(help.out).toMatch(/weight-only-int8\s+int8 MatMul weights dequantized in front of a float MatMul/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-guide-'));
    fs.writeFileSync(path.join(dir, 'm.onnx'), encodeModel(model));
    const cli = await runCli([
      'quantize',
      path.join(dir, 'm.onnx'),
      '-o',
      path.join(dir, 'q.onnx'),
      '--mode',
      'weight-only-int8',
      '--json',
    ]);
    expect(cli.err).toBe('');
    expect(JSON.parse(cli.out)).toMatchObject({ mode: 'weight-only-int8', quantizedNodes: 1 });
    const q = decodeModel(fs.readFileSync(path.join(dir, 'q.onnx')));
    expect(q.graph.nodes.map((n) => n.opType)).toEqual(['DequantizeLinear', 'MatMul']);
  });

  it('tflite-run: the cached .tflite file runs on TFLite and agrees with its ONNX twin on onnxruntime', async () => {
    const { file, input, features, outputs } = await runExample<{
      file: string;
      input: ValueInfo;
      features: Tensor;
      outputs: Record<string, Tensor>;
    }>('tflite-run');
    backendRegistry.unregister('tflite');
    expect(input).toMatchObject({ name: 'serving_default_x.1:0', type: { dtype: 'float32', shape: [1, 16, 96] } });
    const [got] = Object.values(outputs);
    const want = await runOrt(fs.readFileSync(file.replace(/\.tflite$/, '.onnx')), { 'x.1': features });
    const p = (got.data as Float32Array)[0];
    expect(p).toBeGreaterThanOrEqual(0);
    expect(Math.abs(p - (Object.values(want)[0].data as Float32Array)[0])).toBeLessThan(1e-6);
  });

  it('flower-client: the client registers with the Fleet server, trains on the train message and replies with arrays and metrics', async () => {
    const { nodeId, reports, reply } = await runExample<{
      nodeId: bigint;
      reports: { messageType: string; metrics: Record<string, number> }[];
      reply: {
        error?: unknown;
        content?: Map<string, { kind: string; arrays?: Map<string, unknown>; values?: Map<string, unknown> }>;
      };
    }>('flower-client');
    expect(nodeId).toBeGreaterThan(0n);
    expect(reports.map((r) => r.messageType)).toEqual(['train']);
    expect(reply.error).toBeUndefined();
    expect(reply.content!.get('arrays')!.arrays!.size).toBe(4); // two Gemm layers' weights and biases
    expect(reply.content!.get('metrics')!.values!.get('num-examples')).toBe(BigInt(reports[0].metrics['num-examples']));
    expect(Number.isFinite(reports[0].metrics.train_loss)).toBe(true);
  });

  it('secure-aggregation: the unmasked sum is the plain one within fixed-point rounding; a masked input is not', async () => {
    const { sum, masked0 } = await runExample<{ sum: Float64Array; masked0: Float64Array }>('secure-aggregation');
    expect(Math.abs(sum[0] - 3)).toBeLessThan(3 * 2 ** -24);
    expect(Math.abs(sum[1] - 1.5)).toBeLessThan(3 * 2 ** -24);
    expect(masked0[0]).not.toBe(0);
    expect(masked0[1]).not.toBe(2 ** 23);
  });

  it('custom backend: registered, resolved by name, runs a model', async () => {
    const { sum } = await runExample<{ sum: Tensor }>('custom-backend');
    expect(Array.from(sum.data as Float32Array)).toEqual([11, 22]);
  });
});
