/**
 * @edgeml/tflite judged by third parties on synthetic graphs and the ONNX backend test data:
 * every exported file runs on TFLite's own interpreter (@edgeml/runtime-tflite, the wasm build of
 * @tensorflow/tfjs-tflite) and is compared with the ONNX model on onnxruntime-node (float: max
 * relative error ≤ 1e-4), and the test data's node models reproduce their expected outputs.
 * Layouts are where an exporter breaks (onnx2tf's README says so), so the graphs here put
 * channel-axis ops after NHWC convolutions. Real models are in tests/tflite-real-models.test.ts.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  EdgeMLError,
  Tensor,
  decodeModel,
  decodeTensor,
  evaluateNode,
  Node,
  freezeInputs,
  toleranceMismatch,
  type Model,
} from '@edgeml/core';
import { exportTflite } from '@edgeml/tflite';
import { listCases } from './support/testdata.js';
import {
  FLOAT_TOLERANCE,
  compareExport,
  exportAndCompare,
  onOnnxruntime,
  onTflite,
  randomFeeds,
  relativeDiffs,
  transposesInside,
  worst,
} from './support/tflite-oracle.js';
import {
  ModelBuilder,
  branchyModel,
  loopModel,
  mobileCnn,
  recurrentModel,
  type RecurrentCase,
} from '../packages/tflite/src/testing/models.js';
import { opSequence, readTflite } from '../packages/tflite/src/testing/read-tflite.js';

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
