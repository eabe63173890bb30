/**
 * @edgeml/tflite judged by third parties: every exported file runs on TFLite's own interpreter
 * (@edgeml/runtime-tflite, the wasm build of @tensorflow/tfjs-tflite) and is compared with the
 * ONNX model on onnxruntime-node (float: max relative error ≤ 1e-4), and the ONNX backend test
 * data's node models reproduce their expected outputs. Layouts are where an exporter breaks
 * (onnx2tf's README says so), so the graphs here put channel-axis ops after NHWC convolutions.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  EdgeMLError,
  Tensor,
  UnsupportedOpError,
  decodeModel,
  decodeTensor,
  evaluateNode,
  exposeOutputs,
  Node,
  freezeInputs,
  measureFidelity,
  toleranceMismatch,
  type Model,
} from '@edgeml/core';
import { exportTflite, type TfliteExportOptions } from '@edgeml/tflite';
import { listCases } from './support/testdata.js';
import { PPOCR_V4_DET, OWW_MODEL } from './support/model-cache.js';
import { SampleFactory } from './support/real-model-data.js';
import { loadSuite, measuredTree } from './support/real-models.js';
import { TfliteBackend } from '@edgeml/runtime-tflite';
import { compareExport, onOnnxruntime, onTflite, randomFeeds, relativeDiffs } from './support/tflite-oracle.js';
import {
  ModelBuilder,
  branchyModel,
  loopModel,
  mobileCnn,
  recurrentModel,
  type RecurrentCase,
} from '../packages/tflite/src/testing/models.js';
import { opSequence, readTflite } from '../packages/tflite/src/testing/read-tflite.js';

const FLOAT_TOLERANCE = 1e-4;

async function exportAndCompare(model: Model, options: TfliteExportOptions = {}) {
  const { bytes, report } = await exportTflite(model, options);
  return { bytes, report, diffs: await compareExport(model, bytes, report, randomFeeds(model, 1, options.shapes)) };
}

/** TRANSPOSE operators that neither read a graph input nor write a graph output, read from the file. */
function transposesInside(bytes: Uint8Array): number {
  const file = readTflite(bytes);
  const ops = opSequence(file);
  return file.operators.filter(
    (op, i) => ops[i] === 'TRANSPOSE' && !file.inputs.includes(op.inputs[0]) && !file.outputs.includes(op.outputs[0]),
  ).length;
}

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

const worst = (diffs: Record<string, number>) => Math.max(...Object.values(diffs));
const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

describe('exported graphs on TFLite vs the ONNX model on onnxruntime', () => {
  it('a mobile CNN (BN, depthwise, grouped, padded, HardSwish, Gemm, Softmax) in every I/O layout and precision', async () => {
    expect(worst((await exportAndCompare(mobileCnn())).diffs)).toBeLessThanOrEqual(FLOAT_TOLERANCE);
    expect(worst((await exportAndCompare(mobileCnn(), { ioLayout: 'nhwc' })).diffs)).toBeLessThanOrEqual(
      FLOAT_TOLERANCE,
    );
    const half = await exportAndCompare(mobileCnn(), { quantize: 'fp16' });
    expect(worst(half.diffs)).toBeLessThanOrEqual(1e-2);
    expect(worst(half.diffs)).toBeGreaterThan(0); // float16 weights do change the numbers
  });

  /** Graphs whose channel-axis ops run on NHWC tensors: each must remap its axes, not transpose. */
  const layoutCases: [string, (b: ModelBuilder) => ReturnType<ModelBuilder['op']>[]][] = [
    [
      'Concat on channels, Softmax over channels',
      (b) => {
        const x = b.input('x', [1, 3, 9, 9]);
        const [l, r] = [b.conv(x, 3, 4, 3), b.conv(x, 3, 2, 1, { pads: [0, 0, 0, 0] })];
        const cat = b.op(
          'Concat',
          [
            b.op('Slice', [
              l,
              b.constant([2], [1, 1], 'int64'),
              b.constant([2], [8, 8], 'int64'),
              b.constant([2], [2, 3], 'int64'),
            ]),
            b.op('Slice', [
              r,
              b.constant([2], [0, 0], 'int64'),
              b.constant([2], [6, 6], 'int64'),
              b.constant([2], [2, 3], 'int64'),
            ]),
          ],
          { axis: 1 },
        );
        return [b.op('Softmax', [cat], { axis: 1 })];
      },
    ],
    [
      'Split on channels, ReduceMean over C without keepdims, a Mul by a per-channel constant',
      (b) => {
        const x = b.input('x', [1, 2, 8, 8]);
        const h = b.op('Mul', [b.conv(x, 2, 6, 3, { pads: [1, 1, 1, 1] }), b.constant([6, 1, 1], [1, 2, 3, 4, 5, 6])]);
        const parts = b.graph.op(
          'Split',
          [h, b.constant([2], [2, 4], 'int64')],
          { axis: 1 },
          { outputs: ['s0', 's1'] },
        ).outputs;
        return [b.op('ReduceMean', [parts[0]], { axes: [1], keepdims: 0 }), b.op('Sigmoid', [parts[1]])];
      },
    ],
    [
      'a Transpose to NHWC and a Reshape in the middle',
      (b) => {
        const x = b.input('x', [1, 3, 6, 6]);
        const nhwc = b.op('Transpose', [b.conv(x, 3, 4, 3, { strides: [2, 2], pads: [1, 1, 1, 1] })], {
          perm: [0, 2, 3, 1],
        });
        return [b.op('Reshape', [nhwc, b.constant([3], [1, 9, 4], 'int64')])];
      },
    ],
    [
      'asymmetric pads on an odd input, stride 2 (explicit PAD), Pad reflect, MaxPool ceil_mode',
      (b) => {
        const x = b.input('x', [1, 2, 11, 11]);
        const h = b.conv(x, 2, 4, 3, { strides: [2, 2], pads: [0, 1, 2, 1] });
        const padded = b.op('Pad', [h, b.constant([8], [0, 0, 1, 2, 0, 0, 2, 1], 'int64')], { mode: 'reflect' });
        return [b.op('MaxPool', [padded], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 })];
      },
    ],
    [
      'AveragePool with pads, counted and not',
      (b) => {
        const x = b.input('x', [1, 3, 7, 7]);
        const h = b.conv(x, 3, 3, 1);
        return [
          b.op('AveragePool', [h], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 0 }),
          b.op('AveragePool', [h], { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1], count_include_pad: 1 }),
        ];
      },
    ],
    [
      'ConvTranspose stride 2 with pads and output_padding, then Resize nearest and bilinear',
      (b) => {
        const x = b.input('x', [1, 4, 5, 5]);
        const up = b.op('ConvTranspose', [x, b.weight([4, 3, 3, 3]), b.weight([3], 0.1)], {
          kernel_shape: [3, 3],
          strides: [2, 2],
          pads: [1, 1, 1, 1],
          output_padding: [1, 1],
        });
        const sizes = b.constant([4], [1, 3, 20, 20], 'int64');
        return [
          b.op('Resize', [up, undefined, undefined, sizes], {
            mode: 'nearest',
            coordinate_transformation_mode: 'asymmetric',
            nearest_mode: 'floor',
          }),
          b.op('Resize', [up, undefined, undefined, sizes], {
            mode: 'linear',
            coordinate_transformation_mode: 'half_pixel',
          }),
        ];
      },
    ],
    [
      '1-D convolution and pooling on [N, C, L] (audio)',
      (b) => {
        const x = b.input('x', [1, 4, 32]);
        const h = b.op('Conv', [x, b.weight([6, 4, 5]), b.weight([6], 0.1)], {
          kernel_shape: [5],
          strides: [2],
          pads: [2, 2],
        });
        return [b.op('MaxPool', [b.op('Relu', [h])], { kernel_shape: [2], strides: [2] })];
      },
    ],
    [
      'Gather and LayerNormalization over the last axis of a feature map',
      (b) => {
        const x = b.input('x', [1, 4, 6, 6]);
        const h = b.conv(x, 4, 8, 1);
        const rows = b.op('Gather', [h, b.constant([2], [5, 0], 'int64')], { axis: 2 });
        return [b.op('LayerNormalization', [rows, b.weight([6], 1), b.weight([6], 0.1)], { axis: -1 })];
      },
    ],
  ];

  for (const [what, build] of layoutCases)
    it(what, async () => {
      const b = new ModelBuilder();
      const model = b.model(build(b));
      const { bytes, diffs } = await exportAndCompare(model);
      expect(Object.keys(diffs)).toEqual(model.graph.outputs.map((v) => v.name));
      expect(worst(diffs)).toBeLessThanOrEqual(FLOAT_TOLERANCE);
      expect(transposesInside(bytes)).toBe(0);
    });
});

describe('If as TFLite IF with branch subgraphs', () => {
  it('nested Ifs reading outer values across layouts agree with onnxruntime on every branch', async () => {
    const model = branchyModel();
    const { bytes, report } = await exportTflite(model);
    expect(report.opCounts.IF).toBe(2);
    const file = readTflite(bytes);
    expect(file.subgraphCount).toBe(5); // main, then (holding the nested If's two branches), else
    const [x] = Object.values(randomFeeds(model, 3, { x: [1, 3, 8, 8] })).slice(0, 1);
    for (const [level, gate] of [
      [-1, 1],
      [-1, -1],
      [1e6, 1],
    ]) {
      const feeds = { x, level: Tensor.from('float32', [], [level]), gate: Tensor.from('float32', [1], [gate]) };
      const diffs = await compareExport(model, bytes, report, feeds);
      expect(worst(diffs), `level ${level}, gate ${gate}`).toBeLessThanOrEqual(FLOAT_TOLERANCE);
    }
    // fp16 weights reach the branches too: the then branch's Conv weight and bias are stored as float16.
    const half = await exportTflite(model, { quantize: 'fp16' });
    const inMain = opSequence(readTflite(half.bytes)).filter((op) => op === 'DEQUANTIZE').length;
    expect(half.report.opCounts.DEQUANTIZE).toBe(half.report.float16Weights);
    expect(inMain).toBeLessThan(half.report.float16Weights);
    const feeds = { x, level: Tensor.from('float32', [], [-1]), gate: Tensor.from('float32', [1], [1]) };
    expect(worst(await compareExport(model, half.bytes, half.report, feeds))).toBeLessThanOrEqual(1e-2);
  });

  it('an If on a fixed input (specialize) is replaced by its branch: that IF and the input are gone', async () => {
    const model = branchyModel();
    const gate = Tensor.from('float32', [1], [-1]);
    // The nested If tests gate > 0 only: it folds to its else branch; the outer one tests x too and stays.
    const { bytes, report } = await exportTflite(model, { specialize: { gate } });
    expect(report.inputs.map((i) => i.name)).toEqual(['x', 'level']);
    expect(report.prepared.specialize).toBe(1);
    expect(report.opCounts.IF).toBe(1);
    expect(readTflite(bytes).subgraphCount).toBe(3);
    const x = randomFeeds(model, 4, { x: [1, 3, 8, 8] }).x;
    for (const level of [-1, 1e6]) {
      const feeds = { x, level: Tensor.from('float32', [], [level]) };
      const want = await onOnnxruntime(model, { ...feeds, gate });
      expect(worst(relativeDiffs(want, await onTflite(bytes, feeds))), `level ${level}`).toBeLessThanOrEqual(
        FLOAT_TOLERANCE,
      );
    }
  });
});

describe('Loop as TFLite WHILE with cond and body subgraphs', () => {
  it('a data-dependent loop (early exit, trip count, outer value, iteration number) agrees with onnxruntime', async () => {
    const model = loopModel();
    const { bytes, report } = await exportTflite(model);
    expect(report.opCounts.WHILE).toBe(1);
    expect(readTflite(bytes).subgraphCount).toBe(3);
    const x = Tensor.from('float32', [1, 4], [0.5, -1, 2, 0.25]);
    // Exits after the first iteration, part-way, and never (the trip count of 10 stops it).
    const finals = new Set<string>();
    for (const limit of [0, 12, 1e9]) {
      const feeds = { x, limit: Tensor.from('float32', [], [limit]) };
      const diffs = await compareExport(model, bytes, report, feeds);
      expect(worst(diffs), `limit ${limit}`).toBeLessThanOrEqual(FLOAT_TOLERANCE);
      finals.add((await onOnnxruntime(model, feeds)).out0.toFloat64().join());
    }
    expect(finals.size).toBe(3); // three different iteration counts
  });
});

describe('LSTM, GRU and RNN unrolled into FULLY_CONNECTED and elementwise ops', () => {
  const cases: RecurrentCase[] = [
    { op: 'LSTM', seq: 1 },
    { op: 'LSTM', seq: 5, initialStates: true, peepholes: true },
    { op: 'LSTM', seq: 4, direction: 'bidirectional', layout: 1, initialStates: true },
    { op: 'LSTM', seq: 3, direction: 'reverse', clip: 0.5 },
    { op: 'GRU', seq: 6, initialStates: true },
    { op: 'GRU', seq: 3, linearBeforeReset: true, direction: 'bidirectional', initialStates: true },
    { op: 'GRU', seq: 2, layout: 1, linearBeforeReset: true },
    { op: 'RNN', seq: 7, initialStates: true, direction: 'bidirectional' },
    { op: 'RNN', seq: 3, layout: 1 },
  ];
  /** `t` with its axes in the order `perm`, computed by core's reference kernel. */
  const transposed = (t: Tensor, perm: number[]) =>
    evaluateNode(new Node({ opType: 'Transpose', attributes: { perm }, inputs: [], outputs: 1 }), [t], 13)![0];

  /**
   * onnxruntime has no batch-major (layout 1) recurrences: a layout-1 case is judged against
   * its layout-0 twin (the same seeded weights) on onnxruntime, inputs and outputs transposed.
   */
  async function expected(c: RecurrentCase, feeds: Record<string, Tensor>) {
    if (!c.layout) return onOnnxruntime(recurrentModel(c), feeds);
    const swap = [1, 0, 2];
    const twinFeeds = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, transposed(t, swap)]));
    const out = await onOnnxruntime(recurrentModel({ ...c, layout: 0 }), twinFeeds);
    return Object.fromEntries(
      Object.entries(out).map(([k, t]) => [k, transposed(t, t.dims.length === 4 ? [2, 0, 1, 3] : swap)]),
    );
  }

  for (const c of cases)
    it(`${JSON.stringify(c)}: Y, Y_h (and Y_c) agree with onnxruntime on two input sets`, async () => {
      const model = recurrentModel(c);
      const { bytes, report } = await exportTflite(model);
      expect(report.opCounts.FULLY_CONNECTED).toBeGreaterThan(c.seq);
      expect(report.outputs.length).toBe(c.op === 'LSTM' ? 3 : 2);
      for (const seed of [1, 2]) {
        const feeds = randomFeeds(model, seed);
        const diffs = relativeDiffs(await expected(c, feeds), await onTflite(bytes, feeds));
        expect(Object.keys(diffs).length).toBe(report.outputs.length);
        expect(worst(diffs), `seed ${seed}`).toBeLessThanOrEqual(FLOAT_TOLERANCE);
      }
    });
});

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
      const [sample] = await factory.samples(entry.inputs);
      const diffs = await compareExport(model, exported.bytes, exported.report, sample);
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
  }, 600_000);
});

/**
 * Export a test case's model. Parameters the case feeds as graph inputs — weights (TFLite's
 * convolutions need constant ones) and int64 shapes, axes, splits and indices after the first
 * input — are frozen to the case's values, which is what the case computes with them.
 */
async function exportCase(model: Model, inputs: Tensor[]) {
  const names = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name)).map((v) => v.name);
  let fed = names.map((name, i) => [name, inputs[i]] as const);
  const freeze = (which: (t: Tensor) => boolean) => {
    const [first, ...rest] = fed;
    freezeInputs(model, Object.fromEntries(rest.filter(([, t]) => which(t))));
    fed = [first, ...rest.filter(([, t]) => !which(t))];
  };
  if (fed.length && inputs[0].dtype !== 'int64') freeze((t) => t.dtype === 'int64');
  try {
    return { ...(await exportTflite(model)), inputs: fed.map(([, t]) => t) };
  } catch (e) {
    if (!(e instanceof EdgeMLError) || !/must be (a )?constant/.test(e.message)) throw e;
    freeze(() => true);
    return { ...(await exportTflite(model)), inputs: fed.map(([, t]) => t) };
  }
}

describe('the ONNX backend test data (node models) on TFLite', () => {
  it('every case exports and reproduces its expected outputs, or is refused with a typed error', async () => {
    const passed = new Set<string>();
    const coveredOps = new Set<string>();
    const wrong: string[] = [];
    const refusals = new Map<string, string[]>();
    const int64Io: string[] = [];
    for (const c of listCases(['node'])) {
      const set = c.dataSets[0];
      if (!set) continue;
      let inputs: Tensor[];
      let expected: Tensor[];
      try {
        inputs = set.inputs.map((f) => decodeTensor(fs.readFileSync(f)));
        expected = set.outputs.map((f) => decodeTensor(fs.readFileSync(f)));
      } catch {
        continue; // sequences and optionals are not tensors
      }
      const model = decodeModel(fs.readFileSync(c.model));
      const ops = [...model.graph].map((n) => n.opType);
      let exported;
      try {
        exported = await exportCase(model, inputs);
      } catch (e) {
        expect(e, c.name).toBeInstanceOf(EdgeMLError);
        const name = (e as EdgeMLError).name;
        refusals.set(name, [...(refusals.get(name) ?? []), `${c.name}: ${(e as Error).message}`]);
        continue;
      }
      // TFLite's web API carries no int64 tensor in or out (it hands out 0 bytes for them).
      if ([...exported.report.inputs, ...exported.report.outputs].some((io) => io.dtype === 'int64')) {
        int64Io.push(c.name);
        continue;
      }
      const names = exported.report.inputs.map((i) => i.name);
      const feeds = Object.fromEntries(exported.inputs.map((t, i) => [names[i], t]));
      let outputs: Record<string, Tensor>;
      try {
        outputs = await onTflite(exported.bytes, feeds);
      } catch (e) {
        wrong.push(`${c.name}: does not run: ${(e as Error).message.split('\n')[0]}`);
        continue;
      }
      const why = exported.report.outputs
        .map((o, i) => toleranceMismatch(outputs[o.name], expected[i]))
        .find((w) => w !== undefined);
      if (why) wrong.push(`${c.name}: ${why}`);
      else {
        passed.add(c.name);
        ops.forEach((op) => coveredOps.add(op));
      }
    }
    fs.mkdirSync('.tmp', { recursive: true });
    fs.writeFileSync(
      '.tmp/tflite-export-testdata.json',
      JSON.stringify(
        { passed: passed.size, int64Io, refused: Object.fromEntries([...refusals].map(([k, v]) => [k, v.length])) },
        null,
        2,
      ),
    );
    expect(wrong.join('\n')).toBe('');
    expect(passed.size).toBeGreaterThanOrEqual(350);
    // Exported but not checkable on this interpreter: int64 data in or out (ArgMax, int64 Max/Min, Where on int64).
    expect(int64Io.length).toBeLessThanOrEqual(25);
    // A refusal is a typed error saying what TFLite or the exporter cannot do, nothing else.
    const others = [...refusals].filter(([name]) => name !== 'UnsupportedOpError' && name !== 'ShapeError');
    expect(others.flatMap(([, cases]) => cases).join('\n')).toBe('');
    // The op list: each is exported and reproduces at least one case.
    const required = [
      'Conv',
      'ConvTranspose',
      'MaxPool',
      'AveragePool',
      'GlobalAveragePool',
      'Relu',
      'Clip',
      'HardSwish',
      'Sigmoid',
      'Tanh',
      'LeakyRelu',
      'PRelu',
      'Softmax',
      'Add',
      'Sub',
      'Mul',
      'Div',
      'Pow',
      'Sqrt',
      'Concat',
      'Reshape',
      'Flatten',
      'Squeeze',
      'Unsqueeze',
      'Transpose',
      'Pad',
      'Resize',
      'ReduceMean',
      'ReduceMax',
      'Slice',
      'Split',
      'Gather',
      'Cast',
      'MatMul',
      'Gemm',
      'If',
      'LSTM',
      'GRU',
      'RNN',
    ];
    expect(required.filter((op) => !coveredOps.has(op))).toEqual([]);
  }, 900_000);
});
