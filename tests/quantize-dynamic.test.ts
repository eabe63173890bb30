/**
 * Dynamic int8 quantization checked by onnxruntime and the ONNX checker: the quantized
 * model loads, runs, and stays close to the float model on real inputs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, modelStats, Graph, Model, Tensor, tensorType } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { quantizeDynamic } from '@edgeml/quantize';
import {
  REDUCE_RANGE,
  SILERO_VAD,
  buildConvBnNet,
  buildMlp as mlp,
  randomTensor,
  runOrt,
  sileroFeeds,
  maxAbsDiff,
  relErr,
} from './support/models.js';
import { checkModels } from './support/onnx-checker.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-qdyn-'));
function checked(bytes: Uint8Array, name: string): Uint8Array {
  const file = path.join(tmp, `${name}.onnx`);
  fs.writeFileSync(file, bytes);
  expect(checkModels([file]).get(file)).toBeNull();
  return bytes;
}

describe('dynamic quantization', () => {
  for (const perChannel of [false, true]) {
    it(`MLP (Gemm + MatMul), per-${perChannel ? 'channel' : 'tensor'}: ~4x smaller, relative error < 2 %`, async () => {
      const float = mlp();
      const floatBytes = encodeModel(float);
      const model = decodeModel(floatBytes);
      const r = quantizeDynamic(model, { perChannel, reduceRange: REDUCE_RANGE });
      expect(r.quantized.map((n) => n.name)).toEqual(['gemm0', 'mm1', 'gemm2', 'mm3']);
      expect(r.skipped).toEqual([]);
      const bytes = checked(encodeModel(model), `mlp-${perChannel}`);
      expect(floatBytes.byteLength / bytes.byteLength).toBeGreaterThan(3.9);
      const feeds = { x: randomTensor([8, 512], 3) };
      const [a, b] = [await runOrt(floatBytes, feeds), await runOrt(bytes, feeds)];
      // 8-bit activations and weights over four layers: a few percent of relative error is the expected cost.
      expect(relErr(a.y.data as Float32Array, b.y.data as Float32Array)).toBeLessThan(0.02);
    });
  }

  it('Conv net (Conv, depthwise Conv, Gemm): loads in onnxruntime and stays close', async () => {
    const float = buildConvBnNet();
    const floatBytes = encodeModel(float);
    const model = decodeModel(floatBytes);
    const r = quantizeDynamic(model, { perChannel: true, opTypes: ['Conv', 'Gemm'], reduceRange: REDUCE_RANGE });
    expect(r.quantized.map((n) => n.opType).sort()).toEqual(['Conv', 'Conv', 'Gemm']);
    const bytes = checked(encodeModel(model), 'convbn');
    const feeds = { x: randomTensor([2, 3, 16, 16], 4) };
    const [a, b] = [await runOrt(floatBytes, feeds), await runOrt(bytes, feeds)];
    expect(relErr(a.logits.data as Float32Array, b.logits.data as Float32Array)).toBeLessThan(0.05);
  });

  it('Silero VAD (convolutions and LSTMs inside If branches): speech probability within 0.02 of float', async () => {
    const model = await loadModel(SILERO_VAD);
    const r = quantizeDynamic(model, { opTypes: ['Conv', 'LSTM'] });
    expect(r.quantized.filter((n) => n.opType === 'LSTM')).toHaveLength(8);
    expect(r.skipped).toEqual([]);
    expect(modelStats(model).opCounts['com.microsoft.DynamicQuantizeLSTM']).toBe(8);
    expect(modelStats(model).opCounts.LSTM).toBeUndefined();
    const bytes = checked(encodeModel(model), 'silero');
    for (const seed of [1, 2, 3]) {
      const feeds = sileroFeeds(seed);
      const [a, b] = [await runOrt(SILERO_VAD, feeds), await runOrt(bytes, feeds)];
      expect(maxAbsDiff(a.output, b.output)).toBeLessThan(0.02);
    }
    expect(modelStats(model).opCounts.ConvInteger).toBe(36);
  });

  it('refuses models below opset 11 and leaves nodes without constant weights in float, with a reason', () => {
    const g = new Graph('g');
    const x = g.addInput('x', tensorType('float32', [1, 4]));
    const w = g.addInput('w', tensorType('float32', [4, 4]));
    const y = g.op('MatMul', [x, w], {}, { name: 'mm' }).outputs[0];
    g.outputs.push(y);
    expect(() => quantizeDynamic(new Model(g, { opsetImports: new Map([['', 9]]) }))).toThrow(/opset 11/);
    const r = quantizeDynamic(new Model(g, { opsetImports: new Map([['', 13]]) }));
    expect(r.skipped).toEqual([{ name: 'mm', opType: 'MatMul', reason: 'weight (input 1) is not a float32 constant' }]);
  });
});

describe('dynamic quantization of embeddings', () => {
  it('stores a Gather table in 8 bits and dequantizes the looked-up rows', async () => {
    const g = new Graph('emb');
    const ids = g.addInput('ids', tensorType('int64', [2, 5]));
    const table = g.addInitializer('table', randomTensor([1000, 64], 31, 0.5));
    const e = g.op('Gather', [table, ids], { axis: 0 }, { name: 'lookup' }).outputs[0];
    const y = g.op('ReduceMean', [e], { axes: [1], keepdims: 0 }, { name: 'pool' }).outputs[0];
    y.name = 'y';
    y.type = tensorType('float32', [2, 64]);
    g.outputs.push(y);
    const fb = encodeModel(new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 }));
    const model = decodeModel(fb);
    const r = quantizeDynamic(model);
    expect(r.quantized).toEqual([{ name: 'lookup', opType: 'Gather' }]);
    const bytes = checked(encodeModel(model), 'gather');
    expect(fb.byteLength / bytes.byteLength).toBeGreaterThan(3.9);
    const feeds = { ids: Tensor.from('int64', [2, 5], [0n, 5n, 999n, 3n, 42n, 7n, 7n, 1n, 500n, 2n]) };
    const [a, b] = [await runOrt(fb, feeds), await runOrt(bytes, feeds)];
    // Symmetric int8 over a table within ±0.5: step 0.5/127, so every looked-up value (and any mean of them) is within half a step.
    expect(maxAbsDiff(a.y, b.y)).toBeLessThanOrEqual(0.5 / 254 + 1e-6);
  });
});

describe('dynamic LSTM', () => {
  it('per-channel DynamicQuantizeLSTM on Silero VAD matches float within 0.02 and shrinks the model', async () => {
    const model = await loadModel(SILERO_VAD);
    const r = quantizeDynamic(model, { opTypes: ['LSTM'], perChannel: true });
    expect(r.quantized).toHaveLength(8);
    const bytes = encodeModel(model);
    expect(bytes.byteLength).toBeLessThan(fs.statSync(SILERO_VAD).size * 0.8);
    for (const seed of [4, 5]) {
      const feeds = sileroFeeds(seed);
      const [a, b] = [await runOrt(SILERO_VAD, feeds), await runOrt(bytes, feeds)];
      expect(maxAbsDiff(a.output, b.output)).toBeLessThan(0.02);
      expect(maxAbsDiff(a.hn, b.hn)).toBeLessThan(0.1);
    }
  });
});

describe('dynamic GRU (weight-only)', () => {
  /** A bidirectional GRU over 6 steps of 12 features, 32 hidden units: weights dominate its size. */
  function gruModel(): Model {
    const g = new Graph('gru');
    const x = g.addInput('x', tensorType('float32', [6, 1, 12]));
    const w = g.addInitializer('W', randomTensor([2, 96, 12], 31, 0.4));
    const r = g.addInitializer('R', randomTensor([2, 96, 32], 32, 0.3));
    const b = g.addInitializer('B', randomTensor([2, 192], 33, 0.1));
    const [y, yh] = g.op(
      'GRU',
      [x, w, r, b],
      { hidden_size: 32, direction: 'bidirectional', linear_before_reset: 1 },
      { name: 'gru', outputs: ['y', 'y_h'] },
    ).outputs;
    y.type = tensorType('float32', [6, 2, 1, 32]);
    yh.type = tensorType('float32', [2, 1, 32]);
    g.outputs.push(y, yh);
    return new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 });
  }

  for (const perChannel of [false, true]) {
    it(`stores W and R in 8 bits${perChannel ? ' per gate row' : ''}; onnxruntime runs it close to float and the checker accepts it`, async () => {
      const float = encodeModel(gruModel());
      const model = gruModel();
      const r = quantizeDynamic(model, { perChannel, reduceRange: REDUCE_RANGE });
      expect(r.quantized).toEqual([{ name: 'gru', opType: 'GRU' }]);
      const bytes = encodeModel(model);
      // W and R (34 kB of 35 kB) shrink 4×; the float bias and the scales stay.
      expect(model.graph.initializers.get('W_quantized')!.const!.byteLength).toBe(2 * 96 * 12);
      expect(float.byteLength / bytes.byteLength).toBeGreaterThan(3);
      for (const seed of [1, 2, 3]) {
        const feeds = { x: randomTensor([6, 1, 12], seed) };
        const [a, b] = [await runOrt(float, feeds), await runOrt(bytes, feeds)];
        expect(relErr(a.y.data as Float32Array, b.y.data as Float32Array)).toBeLessThan(0.02);
      }
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-gru-')), 'gru.onnx');
      fs.writeFileSync(file, bytes);
      expect(checkModels([file]).get(file)).toBeNull();
    });
  }
});
