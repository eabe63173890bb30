/**
 * A CNN trained here on real MNIST digits (scripts/train-mnist-cnn.mjs, fixture committed)
 * quantized to int8: accuracy on 2,000 held-out digits must stay within 0.5 points of float.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NotApplicableError, Tensor, encodeModel } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { NodeBackend } from '@edgeml/runtime-node';
import { quantize, quantizeStatic } from '@edgeml/quantize';
import { runOrt } from './support/models.js';
import { mnistBatch, mnistCalibration, mnistSplit, top1Percent } from './support/mnist.js';
import { checkModels } from './support/onnx-checker.js';

const FIXTURE = path.resolve('tests/fixtures/mnist-cnn.onnx');
const { train, test } = mnistSplit();
const batchOf = mnistBatch;
const calibration = () => mnistCalibration(train);

async function accuracy(model: Uint8Array): Promise<number> {
  const out = await runOrt(model, { image: batchOf(test.images) });
  return top1Percent(out.logits.data as Float32Array, test.labels);
}

describe('MNIST CNN trained here, quantized', () => {
  it('the fixture is a valid model that onnxruntime runs at > 95 % held-out accuracy', async () => {
    expect(checkModels([FIXTURE]).get(FIXTURE)).toBeNull();
    expect(test.labels).toHaveLength(2000);
    expect(await accuracy(new Uint8Array(fs.readFileSync(FIXTURE)))).toBeGreaterThan(95);
  });

  for (const [label, options] of [
    ['static QDQ int8, per-channel, minmax', { mode: 'static', perChannel: true }],
    ['static QDQ int8, per-tensor, percentile', { mode: 'static', method: 'percentile' }],
    ['dynamic int8 (Gemm)', { mode: 'dynamic' }],
  ] as const) {
    it(`${label}: held-out accuracy within 0.5 points of float`, async () => {
      const model = await loadModel(FIXTURE);
      const floatAcc = await accuracy(encodeModel(model));
      const backend = new NodeBackend();
      const r = await quantize(model, {
        ...options,
        calibrationData: calibration(),
        backend,
        evaluationData: calibration(),
      });
      const bytes = encodeModel(r.model);
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-mnist-')), 'q.onnx');
      fs.writeFileSync(file, bytes);
      expect(checkModels([file]).get(file)).toBeNull();
      const qAcc = await accuracy(bytes);
      console.log(
        `MNIST ${label}: float ${floatAcc.toFixed(2)} %, int8 ${qAcc.toFixed(2)} %, size ${r.sizeBefore} -> ${r.sizeAfter} bytes, output SQNR ${r.sqnrDb?.toFixed(1)} dB`,
      );
      expect(Math.abs(qAcc - floatAcc)).toBeLessThanOrEqual(0.5);
      expect(r.sizeAfter).toBeLessThan(r.sizeBefore / 2.5);
    });
  }
});

describe('accuracy budget and per-tensor report', () => {
  it("reports every quantized activation's SQNR, and falls back layer by layer to meet a budget", async () => {
    const model = await loadModel(FIXTURE);
    const backend = new NodeBackend();
    const base = await quantize(model, {
      mode: 'static',
      calibrationData: calibration(),
      backend,
      evaluationData: calibration(),
    });
    expect(base.tensorErrors!.map((e) => e.name)).toEqual(expect.arrayContaining(['image', 'logits']));
    expect(base.tensorErrors!.every((e) => e.sqnrDb > 10)).toBe(true);
    // Ask for more than full int8 gives: the worst layers go back to float until the outputs reach it.
    const target = base.sqnrDb! + 6;
    const r = await quantize(model, {
      mode: 'static',
      calibrationData: calibration(),
      backend,
      evaluationData: calibration(),
      accuracyBudget: { minSqnrDb: target },
    });
    expect(r.fallbackNodes!.length).toBeGreaterThan(0);
    expect(r.budgetMet).toBe(true);
    expect(r.sqnrDb!).toBeGreaterThanOrEqual(target);
    expect(r.skippedNodes.map((n) => n.name)).toEqual(expect.arrayContaining(r.fallbackNodes!));
    expect(await accuracy(encodeModel(r.model))).toBeGreaterThan(95);
  });
});

describe('full-integer model', () => {
  it('takes uint8 images and returns uint8 scores, with parameters in the metadata, at float accuracy', async () => {
    const model = await loadModel(FIXTURE);
    const r = await quantize(model, {
      mode: 'static',
      calibrationData: calibration(),
      backend: new NodeBackend(),
      perChannel: true,
      fullInteger: true,
    });
    const q = r.model;
    expect(q.graph.inputs.find((v) => v.name === 'image')?.dtype).toBe('uint8');
    expect(q.graph.outputs.find((v) => v.name === 'logits')?.dtype).toBe('uint8');
    const inParams = JSON.parse(q.metadata.get('edgeml.quantization.image')!) as { scale: number; zeroPoint: number };
    const outParams = JSON.parse(q.metadata.get('edgeml.quantization.logits')!) as { scale: number; zeroPoint: number };
    expect(inParams.zeroPoint).toBe(0);
    const bytes = encodeModel(q);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-fullint-')), 'q.onnx');
    fs.writeFileSync(file, bytes);
    expect(checkModels([file]).get(file)).toBeNull();
    const images = new Uint8Array(test.images.length * 784);
    test.images.forEach((img, i) =>
      img.forEach((v, j) => {
        images[i * 784 + j] = Math.min(255, Math.max(0, Math.round(v / inParams.scale) + inParams.zeroPoint));
      }),
    );
    const out = await runOrt(bytes, { image: Tensor.from('uint8', [test.images.length, 1, 28, 28], images) });
    const scores = out.logits.data as Uint8Array;
    let correct = 0;
    test.labels.forEach((label, i) => {
      const row = Array.from(scores.subarray(i * 10, i * 10 + 10), (s) => (s - outParams.zeroPoint) * outParams.scale);
      if (row.indexOf(Math.max(...row)) === label) correct++;
    });
    const floatAcc = await accuracy(encodeModel(await loadModel(FIXTURE)));
    expect(Math.abs((100 * correct) / test.labels.length - floatAcc)).toBeLessThanOrEqual(0.5);
  });

  it('is evaluated as it is fed: float samples quantized at its input, scores dequantized at its output', async () => {
    const model = await loadModel(FIXTURE);
    const samples = calibration().slice(0, 4);
    const options = {
      mode: 'static',
      calibrationData: samples,
      evaluationData: samples,
      backend: new NodeBackend(),
    } as const;
    const r = await quantize(model, { ...options, fullInteger: true, sqnrFloorDb: false });
    // The SQNR it reports is what onnxruntime gives, fed and read here with the metadata's parameters.
    const [inP, outP] = ['image', 'logits'].map(
      (n) => JSON.parse(r.model.metadata.get(`edgeml.quantization.${n}`)!) as { scale: number; zeroPoint: number },
    );
    let signal = 0,
      noise = 0;
    for (const { image } of samples) {
      const want = (await runOrt(model, { image })).logits.data as Float32Array;
      const q = Uint8Array.from(image.data, (v) =>
        Math.min(255, Math.max(0, Math.round(v / inP.scale) + inP.zeroPoint)),
      );
      const got = (await runOrt(r.model, { image: Tensor.from('uint8', image.dims, q) })).logits.data as Uint8Array;
      want.forEach((v, i) => ((signal += v * v), (noise += (v - (got[i] - outP.zeroPoint) * outP.scale) ** 2)));
    }
    expect(r.sqnrDb!).toBeCloseTo(10 * Math.log10(signal / noise), 1);
    // As close to float as the same quantization in QDQ form, whose inputs and outputs stay float.
    const qdq = await quantize(model, { ...options, sqnrFloorDb: false });
    expect(Math.abs(r.sqnrDb! - qdq.sqnrDb!)).toBeLessThan(1);
  });
});

describe('QOperator format', () => {
  it('QLinearConv/QLinearMatMul-style graph matches the QDQ model on onnxruntime and keeps accuracy', async () => {
    const backend = new NodeBackend();
    const qdq = await quantize(await loadModel(FIXTURE), {
      mode: 'static',
      calibrationData: calibration(),
      backend,
      perChannel: true,
    });
    const qop = await quantize(await loadModel(FIXTURE), {
      mode: 'static',
      calibrationData: calibration(),
      backend,
      perChannel: true,
      format: 'qoperator',
    });
    const { modelStats } = await import('@edgeml/core');
    const ops = modelStats(qop.model).opCounts;
    expect(ops.QLinearConv).toBe(1);
    expect(ops.Conv).toBeUndefined();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-qop-')), 'q.onnx');
    fs.writeFileSync(file, encodeModel(qop.model));
    expect(checkModels([file]).get(file)).toBeNull();
    const floatAcc = await accuracy(encodeModel(await loadModel(FIXTURE)));
    const [accQdq, accQop] = [await accuracy(encodeModel(qdq.model)), await accuracy(encodeModel(qop.model))];
    // onnxruntime fuses QDQ into the same integer kernels: the two forms agree on the digits.
    expect(Math.abs(accQop - accQdq)).toBeLessThanOrEqual(0.1);
    expect(Math.abs(accQop - floatAcc)).toBeLessThanOrEqual(0.5);
  });
});

describe('static QDQ with int4 and int16 weights (opset 21)', () => {
  for (const weightType of ['int4', 'int16'] as const) {
    it(`${weightType} weights, per channel: onnxruntime runs it, accuracy within ${weightType === 'int4' ? 2 : 0.5} points`, async () => {
      const model = await loadModel(FIXTURE);
      model.opsetImports.set('', 21);
      const floatAcc = await accuracy(encodeModel(model));
      const r = await quantize(model, {
        mode: 'static',
        calibrationData: calibration(),
        backend: new NodeBackend(),
        perChannel: true,
        weightType,
      });
      const acc = await accuracy(encodeModel(r.model));
      console.log(`MNIST static ${weightType} weights: float ${floatAcc.toFixed(2)} %, quantized ${acc.toFixed(2)} %`);
      // Measured: int4 96.35 %, int16 96.50 % against 96.55 % float; the int4 bound leaves room for 15-level weights.
      expect(Math.abs(acc - floatAcc)).toBeLessThanOrEqual(weightType === 'int4' ? 2 : 0.5);
      const w = r.model.graph.initializers.get('conv.weight_quantized');
      expect(w?.const?.dtype).toBe(weightType);
    });
  }

  it('int4 weights on the opset-17 model: quantize() converts it to 21 first; quantizeStatic alone refuses', async () => {
    const model = await loadModel(FIXTURE);
    expect(model.opset()).toBe(17);
    const options = { calibrationData: calibration(), backend: new NodeBackend(), weightType: 'int4' as const };
    await expect(quantizeStatic(model.clone(), options)).rejects.toThrow(/needs opset 21.*convertOpset\(model, 21\)/);
    const r = await quantize(model, { mode: 'static', ...options });
    expect(r.prepared.find((p) => p.step === 'convert-opset')?.detail).toMatch(/^opset 17 converted to 21/);
    expect(r.model.opset()).toBe(21);
    expect(model.opset()).toBe(17); // the input is untouched
    // onnxruntime is the judge: the converted, quantized model still reads the digits.
    expect(Math.abs((await accuracy(encodeModel(r.model))) - (await accuracy(encodeModel(model))))).toBeLessThanOrEqual(
      2,
    );
  });
});

describe('per-tensor type overrides', () => {
  it('keeps one activation in int16 and shrinks one weight to int4; the ONNX package reads those types, onnxruntime keeps accuracy', async () => {
    const model = await loadModel(FIXTURE);
    model.opsetImports.set('', 21);
    const floatAcc = await accuracy(encodeModel(model));
    const r = await quantize(model, {
      mode: 'static',
      calibrationData: calibration(),
      backend: new NodeBackend(),
      perChannel: true,
      typeOverrides: { pool_out: 'int16', 'fc.weight': 'int4' },
    });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-types-')), 'mixed.onnx');
    fs.writeFileSync(file, encodeModel(r.model));
    // The checker here (onnx 1.12) stops at opset 17, so it cannot judge int16/int4 QuantizeLinear
    // (opset 21); onnxruntime loading and running the model below is the check of validity.
    // The oracle: the onnx package's view of which element type each quantized tensor has.
    const py = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        `
import json, sys, onnx
m = onnx.load(sys.argv[1])
inits = {i.name: i.data_type for i in m.graph.initializer}
out = {}
for n in m.graph.node:
    if n.op_type == 'QuantizeLinear': out[n.input[0]] = inits[n.input[2]]
    if n.op_type == 'DequantizeLinear' and n.input[0] in inits: out[n.input[0]] = inits[n.input[0]]
print(json.dumps(out))`,
        file,
      ],
      { encoding: 'utf8' },
    );
    expect(py.status, py.stderr).toBe(0);
    // TensorProto.DataType numbers (onnx 1.12 predates INT4's name, not its number): UINT8 2, INT8 3, INT16 5, INT4 22.
    const types = JSON.parse(py.stdout) as Record<string, number>;
    expect(types.pool_out).toBe(5);
    expect(types.image).toBe(2);
    expect(types['fc.weight_quantized']).toBe(22);
    expect(types['conv.weight_quantized']).toBe(3);
    const acc = await accuracy(encodeModel(r.model));
    console.log(
      `MNIST static, pool_out int16 + fc.weight int4: float ${floatAcc.toFixed(2)} %, quantized ${acc.toFixed(2)} %`,
    );
    expect(Math.abs(acc - floatAcc)).toBeLessThanOrEqual(2);
  });

  it('refuses overrides that name nothing, name a type activations cannot take, or ask QOperator for them', async () => {
    const model = await loadModel(FIXTURE);
    model.opsetImports.set('', 21);
    const base = { mode: 'static' as const, calibrationData: calibration(), backend: new NodeBackend() };
    await expect(quantize(model, { ...base, typeOverrides: { nope: 'int8' } })).rejects.toThrow(
      /typeOverrides\['nope'\]: the model has no tensor of that name/,
    );
    await expect(quantize(model, { ...base, typeOverrides: { pool_out: 'uint16' as 'int8' } })).rejects.toThrow(
      /an activation takes uint8, int8, int16, uint4, int4, got 'uint16'/,
    );
    await expect(
      quantize(model, { ...base, format: 'qoperator', typeOverrides: { pool_out: 'int16' } }),
    ).rejects.toThrow(/QDQ form only/);
  });
});

describe('accuracy budget with a user metric', () => {
  it('puts layers back in float until held-out accuracy reaches the bar', async () => {
    const model = await loadModel(FIXTURE);
    model.opsetImports.set('', 21);
    const floatAcc = await accuracy(encodeModel(model));
    const metric = (m: typeof model) => accuracy(encodeModel(m));
    // int4 weights lose ~0.2 points here; ask for float accuracy exactly.
    const r = await quantize(model, {
      mode: 'static',
      calibrationData: calibration(),
      backend: new NodeBackend(),
      evaluationData: calibration(),
      weightType: 'int4',
      perChannel: true,
      accuracyBudget: { metric, minMetric: floatAcc },
    });
    expect(r.metric).toBe(await metric(r.model));
    if (r.fallbackNodes!.length === 0) expect(r.metric!).toBeGreaterThanOrEqual(floatAcc);
    expect(r.budgetMet).toBe(r.metric! >= floatAcc);
    expect(r.budgetMet).toBe(true);
    await expect(
      quantize(model, {
        mode: 'static',
        calibrationData: calibration(),
        backend: new NodeBackend(),
        evaluationData: calibration(),
        accuracyBudget: { metric },
      }),
    ).rejects.toThrow(/metric and minMetric together/);
  });
});

describe('already-quantized models', () => {
  it('are refused by every integer mode, naming what is already integer, instead of being wrapped twice', async () => {
    const backend = new NodeBackend();
    const once = await quantize(await loadModel(FIXTURE), { mode: 'static', calibrationData: calibration(), backend });
    const dynamic = await quantize(await loadModel(FIXTURE), { mode: 'dynamic', opTypes: ['Gemm', 'MatMul', 'Conv'] });
    for (const [model, found] of [
      [once.model, /QuantizeLinear ×\d+/],
      [dynamic.model, /DynamicQuantizeLinear ×\d+/],
    ] as const)
      for (const mode of ['static', 'dynamic', 'int4'] as const) {
        const e = await quantize(model, { mode, calibrationData: calibration(), backend }).catch((err: unknown) => err);
        expect(e).toBeInstanceOf(NotApplicableError);
        expect((e as Error).message).toMatch(found);
        expect((e as Error).message).toMatch(/already quantized.*Quantize the float original instead/);
      }
  });
});
