/**
 * Quantization-aware training of the MNIST CNN trained here (tests/fixtures/mnist-cnn.onnx):
 * with int4 weights and 4-bit activations static quantization loses accuracy on the 2,000
 * held-out digits; QAT on 2,000 training digits — label-free (the float model teaches) or with
 * the labels — must win back at least half of it, and int8 QAT must stay within 0.2 points of
 * float. Every accuracy is onnxruntime's, running the converted QDQ model.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeModel, type Model } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { NodeBackend } from '@edgeml/runtime-node';
import { quantize, type QuantizeResult } from '@edgeml/quantize';
import { QatModel, TensorDataset, quantizationAwareTraining, tf, trainQat } from '@edgeml/distill';
import { mnistBatch, mnistCalibration, mnistSplit, top1Percent } from './support/mnist.js';
import { runOrt } from './support/models.js';
import { checkModels } from './support/onnx-checker.js';

const FIXTURE = path.resolve('tests/fixtures/mnist-cnn.onnx');
const { train, test } = mnistSplit();
const backend = new NodeBackend();
const batchOf = mnistBatch;
const heldOut = batchOf(test.images);
/** 100 training digits (10 of each), in batches of 10: what calibrates PTQ and QAT alike. */
const calibration = () => mnistCalibration(train);

/** Top-1 accuracy (%) of a model on the held-out digits, on onnxruntime-node (graph optimizations on). */
async function accuracy(model: Model): Promise<number> {
  const session = await backend.createSession(model);
  const logits = (await session.run({ image: heldOut })).logits.toFloat64();
  await session.dispose();
  return top1Percent(logits, test.labels);
}

/** 2,000 training digits (a seeded quarter of the 8,000), labelled. */
const [, trainingDigits] = new TensorDataset({ image: batchOf(train.images) }, Int32Array.from(train.labels)).split(
  0.25,
  3,
);
const unlabelled = new TensorDataset(trainingDigits.inputs);

const FOUR_BIT = { weightType: 'int4', activationType: 'uint4', perChannel: true } as const;
const placement = (m: Model) => m.graph.nodes.map((n) => `${n.opType}(${n.inputs.map((v) => v?.name).join(',')})`);

describe('quantization-aware training of the MNIST CNN (held-out accuracy on onnxruntime)', () => {
  let model: Model;
  let floatAccuracy: number;
  let ptq: QuantizeResult;
  let ptqAccuracy: number;
  const results: string[] = [];

  beforeAll(async () => {
    model = await loadModel(FIXTURE);
    floatAccuracy = await accuracy(model);
    ptq = await quantize(model, { mode: 'static', calibrationData: calibration(), backend, ...FOUR_BIT });
    ptqAccuracy = await accuracy(ptq.model);
    // The configuration must be one where post-training quantization loses accuracy.
    expect(floatAccuracy - ptqAccuracy).toBeGreaterThan(1);
  }, 120_000);

  async function qat(
    types: Record<string, unknown>,
    train: Parameters<typeof quantizationAwareTraining>[0],
  ): Promise<{ result: QuantizeResult; accuracy: number }> {
    const result = await quantize(model, {
      mode: 'qat',
      calibrationData: calibration(),
      backend,
      ...types,
      train: quantizationAwareTraining(train),
    });
    return { result, accuracy: await accuracy(result.model) };
  }

  it('label-free (the float model teaches, no labels read) wins back at least half of what PTQ lost', async () => {
    const { result, accuracy: qatAccuracy } = await qat(FOUR_BIT, {
      data: unlabelled,
      epochs: 3,
      learningRate: 1e-3,
      schedule: 'cosine',
      temperature: 1,
      alpha: 0.2,
      learnScales: true,
    });
    results.push(`label-free int4/uint4: float ${floatAccuracy} %, PTQ ${ptqAccuracy} %, QAT ${qatAccuracy} %`);
    expect(qatAccuracy - ptqAccuracy).toBeGreaterThanOrEqual((floatAccuracy - ptqAccuracy) / 2);
    // One placement: QAT's model is PTQ's graph, node for node, with other numbers.
    expect(placement(result.model)).toEqual(placement(ptq.model));
    expect(result.training).toMatchObject({ supervision: 'teacher', learnScales: true });
  }, 180_000);

  it('with labels (cross-entropy) wins back at least half of what PTQ lost', async () => {
    const { accuracy: qatAccuracy } = await qat(FOUR_BIT, {
      data: trainingDigits,
      supervision: 'labels',
      epochs: 2,
      learningRate: 1e-3,
      schedule: 'constant',
      learnScales: true,
    });
    results.push(`labelled int4/uint4: float ${floatAccuracy} %, PTQ ${ptqAccuracy} %, QAT ${qatAccuracy} %`);
    expect(qatAccuracy - ptqAccuracy).toBeGreaterThanOrEqual((floatAccuracy - ptqAccuracy) / 2);
  }, 180_000);

  it('int8 QAT stays within 0.2 points of float, and its model passes the ONNX checker', async () => {
    const [, few] = unlabelled.split(0.5, 5);
    const { result, accuracy: qatAccuracy } = await qat(
      { weightType: 'int8', activationType: 'uint8' },
      { data: few, epochs: 1, learningRate: 1e-4 },
    );
    results.push(`label-free int8/uint8: float ${floatAccuracy} %, QAT ${qatAccuracy} %`);
    expect(Math.abs(qatAccuracy - floatAccuracy)).toBeLessThanOrEqual(0.2);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-qat-')), 'qat.onnx');
    fs.writeFileSync(file, encodeModel(result.model));
    expect(checkModels([file]).get(file)).toBeNull();
    console.log(results.join('\n'));
  }, 180_000);

  it('the converted model computes what the fake-quantized one trained, within one output step', async () => {
    const qatModel = await QatModel.fromQdq(ptq.model, { float: model, learnScales: true });
    const [, some] = trainingDigits.split(0.25, 7);
    await trainQat(qatModel, some, { epochs: 1, learningRate: 1e-3 });
    const converted = qatModel.toQdq();
    const images = batchOf(test.images.slice(0, 500));
    const trained = tf.tidy(() =>
      qatModel.trainable.forward({ image: tf.tensor(images.data, [...images.dims]) }).logits.dataSync(),
    );
    const step = converted.graph.initializers.get('logits_scale')!.const!.toFloat64()[0];
    // Scales and biases moved in training: the comparison is of learned parameters, not PTQ's.
    expect(step).not.toBe(ptq.model.graph.initializers.get('logits_scale')!.const!.toFloat64()[0]);
    for (const run of [
      async () => (await runOrt(converted, { image: images })).logits.data as Float32Array,
      async () => {
        const session = await backend.createSession(converted);
        const out = (await session.run({ image: images })).logits.data as Float32Array;
        await session.dispose();
        return out;
      },
    ]) {
      const out = await run();
      let worst = 0,
        same = 0;
      out.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v - trained[i]));
        if (v === trained[i]) same++;
      });
      console.log(`converted vs fake-quant: max |diff| ${worst} (step ${step}), ${same}/${out.length} equal`);
      expect(worst).toBeLessThanOrEqual(step * 1.0001);
      expect(same / out.length).toBeGreaterThan(0.99);
    }
    qatModel.dispose();
  }, 120_000);

  it('refuses a float model and a qat mode without a trainer, saying what to pass', async () => {
    await expect(QatModel.fromQdq(model)).rejects.toThrow(/no integer weights behind a DequantizeLinear/);
    await expect(quantize(model, { mode: 'qat', calibrationData: calibration(), backend })).rejects.toThrow(
      /pass train, a QatTrainer/,
    );
  });
});
