/**
 * Static QDQ quantization, calibrated on onnxruntime-node, checked by onnxruntime and the
 * ONNX checker.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeModel,
  encodeModel,
  modelStats,
  PassManager,
  batchNormFolding,
  deadCodeElimination,
  InvalidArgumentError,
  Tensor,
  Graph,
  Model,
  tensorType,
} from '@edgeml/core';
import { NodeBackend } from '@edgeml/runtime-node';
import { quantize, quantizeStatic } from '@edgeml/quantize';
import { buildConvBnNet, randomTensor, runOrt } from './support/models.js';
import { checkModels } from './support/onnx-checker.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-qstatic-'));
const backend = new NodeBackend();

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += a[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** Smooth, image-like inputs (random fields blurred), so ranges resemble real activations. */
function* samples(n: number, seed: number) {
  for (let i = 0; i < n; i++) yield { x: randomTensor([1, 3, 16, 16], seed + i) };
}

describe('static QDQ quantization', () => {
  for (const perChannel of [false, true]) {
    for (const method of ['minmax', 'percentile'] as const) {
      it(`Conv net, ${method}, per-${perChannel ? 'channel' : 'tensor'}: checker-valid, runs, relative error < 3 % on held-out inputs`, async () => {
        const float = buildConvBnNet();
        await new PassManager([batchNormFolding(), deadCodeElimination()]).run(float);
        const floatBytes = encodeModel(float);
        const model = decodeModel(floatBytes);
        const r = await quantizeStatic(model, { calibrationData: samples(32, 100), backend, perChannel, method });
        expect(r.quantized.map((n) => n.opType)).toEqual(
          expect.arrayContaining(['Conv', 'Conv', 'Gemm', 'Relu', 'GlobalAveragePool', 'Flatten']),
        );
        const ops = modelStats(model).opCounts;
        expect(ops.QuantizeLinear).toBeGreaterThan(3);
        expect(ops.DequantizeLinear).toBeGreaterThan(ops.QuantizeLinear);
        const bytes = encodeModel(model);
        const file = path.join(tmp, `convnet-${method}-${perChannel}.onnx`);
        fs.writeFileSync(file, bytes);
        expect(checkModels([file]).get(file)).toBeNull();
        const floatOut: number[] = [],
          quantOut: number[] = [];
        for (const s of samples(16, 500)) {
          const [a, b] = [await runOrt(floatBytes, s), await runOrt(bytes, s)];
          floatOut.push(...(a.logits.data as Float32Array));
          quantOut.push(...(b.logits.data as Float32Array));
        }
        // uint8 activations through three layers, on 16 held-out inputs: held-out values can
        // fall outside the calibrated ranges and clip, so the bound is on the error over all of them.
        expect(relErr(Float32Array.from(floatOut), Float32Array.from(quantOut))).toBeLessThan(0.03);
      });
    }
  }

  it('int16 activations (opset 21): run on onnxruntime, closer to float than uint8', async () => {
    const float = buildConvBnNet();
    float.opsetImports.set('', 21);
    await new PassManager([batchNormFolding(), deadCodeElimination()]).run(float);
    const floatBytes = encodeModel(float);
    const errors: Record<string, number> = {};
    for (const activationType of ['uint8', 'int16'] as const) {
      const model = decodeModel(floatBytes);
      await quantizeStatic(model, { calibrationData: samples(16, 100), backend, activationType });
      const floatOut: number[] = [],
        quantOut: number[] = [];
      for (const s of samples(8, 700)) {
        const [a, b] = [await runOrt(floatBytes, s), await runOrt(encodeModel(model), s)];
        floatOut.push(...(a.logits.data as Float32Array));
        quantOut.push(...(b.logits.data as Float32Array));
      }
      errors[activationType] = relErr(Float32Array.from(floatOut), Float32Array.from(quantOut));
    }
    // Weights stay int8 in both, so their error dominates; 16-bit activations still remove some.
    expect(errors.int16).toBeLessThan(errors.uint8);
    await expect(
      quantizeStatic(buildConvBnNet(), { calibrationData: samples(1, 1), backend, activationType: 'int16' }),
    ).rejects.toThrow(/needs opset 21/);
  });

  it('QOperator form covers Conv, Add, Mul, Sigmoid, GlobalAveragePool, Concat, MatMul, Softmax and agrees with QDQ', async () => {
    const g = new Graph('blocks');
    const x = g.addInput('x', tensorType('float32', [1, 4, 8, 8]));
    const w = (name: string, dims: number[], seed: number) => g.addInitializer(name, randomTensor(dims, seed, 0.4));
    const c1 = g.op('Conv', [x, w('w1', [4, 4, 3, 3], 1), w('b1', [4], 2)], { pads: [1, 1, 1, 1] }, { name: 'c1' })
      .outputs[0];
    const add = g.op('Add', [c1, x], {}, { name: 'residual' }).outputs[0];
    const gate = g.op('Sigmoid', [add], {}, { name: 'gate' }).outputs[0];
    const mul = g.op('Mul', [add, gate], {}, { name: 'swish' }).outputs[0];
    const cat = g.op('Concat', [mul, add], { axis: 1 }, { name: 'cat' }).outputs[0];
    const gap = g.op('GlobalAveragePool', [cat], {}, { name: 'gap' }).outputs[0];
    const flat = g.op('Flatten', [gap], {}, { name: 'flat' }).outputs[0];
    const fc = g.op('MatMul', [flat, w('fc', [8, 5], 3)], {}, { name: 'fc' }).outputs[0];
    const probs = g.op('Softmax', [fc], { axis: 1 }, { name: 'probs' }).outputs[0];
    // The graph output stays float (its producer keeps QDQ form); everything before it can convert.
    const y = g.op('Sigmoid', [probs], {}, { name: 'head' }).outputs[0];
    y.name = 'y';
    y.type = tensorType('float32', [1, 5]);
    g.outputs.push(y);
    const floatBytes = encodeModel(new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 }));
    const outputs: Float32Array[] = [];
    for (const format of ['qdq', 'qoperator'] as const) {
      const m = decodeModel(floatBytes);
      await quantizeStatic(m, {
        calibrationData: (function* () {
          for (let i = 0; i < 16; i++) yield { x: randomTensor([1, 4, 8, 8], 40 + i) };
        })(),
        backend,
        format,
      });
      if (format === 'qoperator') {
        const ops = modelStats(m).opCounts;
        for (const op of [
          'QLinearConv',
          'com.microsoft.QLinearAdd',
          'com.microsoft.QLinearMul',
          'com.microsoft.QLinearSigmoid',
          'com.microsoft.QLinearConcat',
          'com.microsoft.QLinearGlobalAveragePool',
          'QLinearMatMul',
          'com.microsoft.QLinearSoftmax',
        ])
          expect(ops[op], op).toBe(1);
      }
      outputs.push((await runOrt(encodeModel(m), { x: randomTensor([1, 4, 8, 8], 99) })).y.data as Float32Array);
    }
    expect(relErr(outputs[0], outputs[1])).toBeLessThan(0.02);
  });

  it('refuses an option its mode does not read, naming it and the one most likely meant, instead of ignoring it', async () => {
    const model = buildConvBnNet();
    const calibrationData = [{ x: randomTensor([1, 3, 16, 16], 1) }];
    const typo = { mode: 'static', calibrationData, backend, calibrationMethod: 'entropy' } as never;
    const err = await quantize(model, typo).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).option).toBe('calibrationMethod');
    expect((err as Error).message).toMatch(/mode static has no option 'calibrationMethod' \(did you mean 'method'\?\)/);
    // Another mode's option is refused too; the calibration samples pass in every mode.
    const int4Only = { mode: 'dynamic', calibrationData, backend, blockSize: 32 } as never;
    await expect(quantize(model, int4Only)).rejects.toThrow(/mode dynamic has no option 'blockSize'/);
    const spelt = await quantize(model, { mode: 'static', calibrationData, backend, method: 'entropy' });
    expect(spelt.quantizedNodes.length).toBeGreaterThan(0);
  });

  it('rejects bad calibration data with the sample and input named, writing nothing', async () => {
    const model = buildConvBnNet();
    const before = encodeModel(model);
    await expect(quantizeStatic(model, { calibrationData: [], backend })).rejects.toThrow(/calibration set is empty/);
    await expect(
      quantizeStatic(model, { calibrationData: [{ y: randomTensor([1, 3, 16, 16], 1) }], backend }),
    ).rejects.toThrow(/sample 0 has input 'y'/);
    await expect(
      quantizeStatic(model, { calibrationData: [{ x: randomTensor([1, 3, 8, 8], 1) }], backend }),
    ).rejects.toThrow(/sample 0: input 'x' has shape \[1,3,8,8\], the model expects \[batch,3,16,16\]/);
    await expect(
      quantizeStatic(model, { calibrationData: [{ x: Tensor.from('int32', [1], [1]) }], backend }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(
      quantizeStatic(model, {
        calibrationData: [{ x: randomTensor([1, 3, 16, 16], 1) }],
        backend,
        method: 'kmeans' as never,
      }),
    ).rejects.toThrow(/'kmeans' is not available/);
    expect(encodeModel(model)).toEqual(before);
  });
});

describe('per-tensor overrides', () => {
  it('uses the given scale and zero point for an activation, and validates them', async () => {
    const model = buildConvBnNet();
    await quantizeStatic(model, {
      calibrationData: samples(4, 1),
      backend,
      paramOverrides: { x: { scale: 1 / 128, zeroPoint: 128 } },
    });
    const q = model.graph.nodes.find((n) => n.opType === 'QuantizeLinear' && n.inputs[0]?.name === 'x')!;
    expect(q.inputs[1]!.const!.toNumbers()).toEqual([1 / 128]);
    expect(q.inputs[2]!.const!.toNumbers()).toEqual([128]);
    await expect(
      quantizeStatic(buildConvBnNet(), {
        calibrationData: samples(1, 1),
        backend,
        paramOverrides: { x: { scale: 0, zeroPoint: 0 } },
      }),
    ).rejects.toThrow(/paramOverrides\['x'\]/);
  });
});

describe('static ConvTranspose', () => {
  it('quantizes a ConvTranspose decoder per channel; onnxruntime output stays close', async () => {
    const g = new Graph('up');
    const x = g.addInput('x', tensorType('float32', [1, 8, 6, 6]));
    const y0 = g.op(
      'ConvTranspose',
      [x, g.addInitializer('w', randomTensor([8, 4, 4, 4], 5, 0.3)), g.addInitializer('b', randomTensor([4], 6, 0.1))],
      { strides: [2, 2], pads: [1, 1, 1, 1] },
      { name: 'up' },
    ).outputs[0];
    const y = g.op('Relu', [y0], {}, { name: 'act' }).outputs[0];
    y.name = 'y';
    y.type = tensorType('float32', [1, 4, 12, 12]);
    g.outputs.push(y);
    const floatBytes = encodeModel(new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 }));
    const m = decodeModel(floatBytes);
    const r = await quantizeStatic(m, {
      calibrationData: (function* () {
        for (let i = 0; i < 16; i++) yield { x: randomTensor([1, 8, 6, 6], 60 + i) };
      })(),
      backend,
      perChannel: true,
      opTypes: ['ConvTranspose', 'Relu'],
    });
    expect(r.quantized.map((n) => n.opType)).toContain('ConvTranspose');
    const feeds = { x: randomTensor([1, 8, 6, 6], 77) };
    const [a, b] = [await runOrt(floatBytes, feeds), await runOrt(encodeModel(m), feeds)];
    expect(relErr(a.y.data as Float32Array, b.y.data as Float32Array)).toBeLessThan(0.03);
  });
});

describe('static QDQ on Silero VAD', () => {
  it('specialised to 16 kHz, every convolution is calibrated; speech probability within 0.03 of float', async () => {
    const { loadModel } = await import('@edgeml/core/node');
    const { fixDimensions, freezeInputs, constantFolding, identityElimination, shapeInference } =
      await import('@edgeml/core');
    const { SILERO_VAD, sileroFeeds, maxAbsDiff } = await import('./support/models.js');
    const model = await loadModel(SILERO_VAD);
    fixDimensions(model, { batch: 1, sequence: 512 });
    freezeInputs(model, { sr: Tensor.from('int64', [], [16000n]) });
    await new PassManager(
      [shapeInference({ strict: false }), constantFolding(), identityElimination(), deadCodeElimination()],
      { fixedPoint: true },
    ).run(model);
    const noSr = (seed: number) => {
      const { sr: _sr, ...rest } = sileroFeeds(seed);
      return rest;
    };
    const r = await quantizeStatic(model, {
      calibrationData: [1, 2, 3, 4, 5, 6, 7, 8].map(noSr),
      backend,
      perChannel: true,
    });
    expect(r.quantized.filter((n) => n.opType === 'Conv')).toHaveLength(18);
    const bytes = encodeModel(model);
    for (const seed of [11, 12, 13]) {
      const [a, b] = [await runOrt(SILERO_VAD, sileroFeeds(seed)), await runOrt(bytes, noSr(seed))];
      expect(maxAbsDiff(a.output, b.output)).toBeLessThan(0.03);
    }
  });
});

describe('the float reference of the error report', () => {
  it('kept from calibration (same samples) gives the errors a separate float session gives', async () => {
    const model = buildConvBnNet();
    const data = [...samples(12, 7)];
    const reused = await quantize(model, { mode: 'static', calibrationData: data, evaluationData: data, backend });
    // A copy of the array: not the calibration samples as far as quantize() can tell, so it runs the float model.
    const fresh = await quantize(model, { mode: 'static', calibrationData: data, evaluationData: [...data], backend });
    expect(reused.tensorErrors!.length).toBeGreaterThan(3);
    const byName = new Map(fresh.tensorErrors!.map((e) => [e.name, e]));
    // conv2_out is a Conv output with its BatchNorm folded in: both paths must measure that tensor,
    // not the input model's pre-BatchNorm tensor of the same name (which read 3 dB here).
    expect(reused.tensorErrors!.find((e) => e.name === 'conv2_out')!.sqnrDb).toBeGreaterThan(20);
    for (const e of reused.tensorErrors!) {
      const f = byName.get(e.name)!;
      expect(Math.abs(e.sqnrDb - f.sqnrDb)).toBeLessThan(0.01);
      expect(Math.abs(e.maxAbsError - f.maxAbsError)).toBeLessThan(1e-4);
    }
    expect(reused.outputErrors!.map((e) => e.name)).toEqual(fresh.outputErrors!.map((e) => e.name));
    expect(Math.abs(reused.sqnrDb! - fresh.sqnrDb!)).toBeLessThan(0.01);
  });
});

describe('entropy calibration of a tensor far from zero', () => {
  it('keeps the observed range instead of an empty one (every value above the KL threshold)', async () => {
    const g = new Graph('offset');
    const x = g.addInput('x', tensorType('float32', [1, 2, 8, 8]));
    const shifted = g.op(
      'Add',
      [x, g.addInitializer('offset', Tensor.from('float32', [1], [100]))],
      {},
      { name: 'shift' },
    ).outputs[0];
    const y = g.op('Conv', [shifted, g.addInitializer('w', randomTensor([2, 2, 1, 1], 3, 0.5))], {}, { name: 'conv' })
      .outputs[0];
    y.name = 'y';
    y.type = tensorType('float32', [1, 2, 8, 8]);
    g.outputs.push(y);
    const model = new Model(g, { opsetImports: new Map([['', 13]]), irVersion: 8 });
    const data = Array.from({ length: 8 }, (_, i) => ({ x: randomTensor([1, 2, 8, 8], 10 + i, 0.01) }));
    const r = await quantize(model, {
      mode: 'static',
      calibrationData: data,
      evaluationData: data,
      backend,
      method: 'entropy',
    });
    const range = r.ranges![shifted.name];
    expect(range.min).toBeGreaterThan(99);
    expect(range.max).toBeGreaterThanOrEqual(range.min);
    expect(r.sqnrDb).toBeGreaterThan(20);
  });
});
