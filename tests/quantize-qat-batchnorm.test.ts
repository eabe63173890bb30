/**
 * BatchNorm folding in quantization-aware training on a real model that keeps its
 * BatchNormalization nodes: PaddleOCR's text direction classifier (MobileNetV3, paddle2onnx, 35
 * Conv→BatchNormalization pairs; scripts/real-models.json `ppocr-mobile-v2-cls`), on lines of
 * handwritten MNIST test digits, upright and turned 180°. Each pair trains as torch.ao's ConvBn
 * modules do — the folded weight fake-quantized, batch statistics first, frozen running ones
 * after — and converts to the folded Conv; onnxruntime running the converted model must compute
 * what the fake-quantized model does, within one step of the last quantized activation.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, exposeOutputs, type Model } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { NodeBackend } from '@edgeml/runtime-node';
import { quantize } from '@edgeml/quantize';
import { QatModel, TensorDataset, tf, trainQat } from '@edgeml/distill';
import { loadSuite } from './support/real-models.js';
import { textPage } from './support/real-model-data.js';
import { mnistSplit } from './support/mnist.js';
import { runOrt } from './support/models.js';

const [H, W] = [48, 192];
/** `count` text lines from page seeds `from`…, every other one turned 180° (PaddleOCR's '180' class, label 1). */
function lines(from: number, count: number): Tensor {
  const digits = mnistSplit().test.images;
  const out = new Float32Array(count * 3 * H * W);
  for (let s = 0; s < count; s++) {
    const page = textPage(H, W, from + s, digits);
    if (s % 2) page.reverse();
    // PaddleOCR's normalisation: (x − 0.5) / 0.5 on each of the three channels.
    for (let c = 0; c < 3; c++)
      out.set(
        page.map((v) => (v - 0.5) / 0.5),
        (s * 3 + c) * H * W,
      );
  }
  return Tensor.from('float32', [count, 3, H, W], out);
}

const split = (x: Tensor, batch: number) =>
  Array.from({ length: x.dims[0] / batch }, (_, b) => ({
    x: Tensor.from(
      'float32',
      [batch, 3, H, W],
      (x.data as Float32Array).slice(b * batch * 3 * H * W, (b + 1) * batch * 3 * H * W),
    ),
  }));

/**
 * The converted model's logits (the Softmax input, dequantized) on onnxruntime against the
 * fake-quantized model's, in steps of their quantization scale.
 */
async function logitAgreement(qat: QatModel, x: Tensor): Promise<{ maxSteps: number; equal: number; step: number }> {
  const converted = qat.toQdq();
  const logits = converted.graph.nodes.find((n) => n.opType === 'Softmax')!.inputs[0]!;
  const dq = logits.producer()!;
  expect(dq.opType).toBe('DequantizeLinear');
  const step = dq.inputs[1]!.const!.toFloat64()[0];
  const exposed = exposeOutputs(converted, [logits.name]).model;
  const got = (await runOrt(exposed, { x }))[logits.name].data as Float32Array;
  const want = tf.tidy(() => {
    const out = qat.trainable.forward(
      { x: tf.tensor(x.data as Float32Array, [...x.dims]) },
      { outputs: [logits.name] },
    );
    return out[logits.name].dataSync();
  });
  let maxSteps = 0,
    equal = 0;
  got.forEach((v, i) => {
    maxSteps = Math.max(maxSteps, Math.round(Math.abs(v - want[i]) / step));
    if (v === want[i]) equal++;
  });
  return { maxSteps, equal: equal / got.length, step };
}

describe('BatchNorm folded in QAT, statistics frozen (PP-OCR direction classifier)', () => {
  it('trains each Conv→BatchNormalization pair apart and converts to folded Convs onnxruntime agrees with', async () => {
    const model: Model = await loadModel(loadSuite().files['ppocr-mobile-v2-cls']);
    const backend = new NodeBackend();
    const train = lines(1000, 16);
    const heldOut = lines(5000, 8);
    const types = { weightType: 'int4', activationType: 'uint8', perChannel: true } as const;
    const ptq = await quantize(model, { mode: 'static', calibrationData: split(train, 8), backend, ...types });
    let checked = false;
    const result = await quantize(model, {
      mode: 'qat',
      calibrationData: split(train, 8),
      backend,
      ...types,
      train: async ({ quantized, float, batchNorms }) => {
        expect(batchNorms.length).toBe(35);
        const qat = await QatModel.fromQdq(quantized, { float, batchNorms });
        expect(qat.batchNorms.length).toBe(35);
        const stats = qat.batchNorms[0];
        const before = qat.trainable.getWeights()[stats.mean].toFloat64();
        // 2 steps of 8: the first on batch statistics (the running ones follow), the second frozen.
        await trainQat(qat, new TensorDataset({ x: train }), {
          epochs: 1,
          batchSize: 8,
          learningRate: 1e-3,
          teacher: await backend.createSession(float),
          freezeBatchNormAfter: 1,
          temperature: 1,
        });
        const after = qat.trainable.getWeights()[stats.mean].toFloat64();
        expect(Array.from(after)).not.toEqual(Array.from(before));
        // Frozen: a training-mode forward normalises with the running statistics, as inference does.
        const x = tf.tensor(heldOut.data as Float32Array, [...heldOut.dims]);
        const [training, inference] = tf.tidy(() =>
          [true, false].map((t) =>
            qat.trainable.forward({ x }, { training: t })[qat.trainable.outputNames[0]].dataSync().slice(),
          ),
        );
        expect(Array.from(training)).toEqual(Array.from(inference));
        const agreement = await logitAgreement(qat, heldOut);
        console.log(`BN trained apart, converted vs fake-quant: ${JSON.stringify(agreement)}`);
        // Within one logit step (the residue: float sums in another order, on an activation at a
        // rounding tie, that a later layer carries on).
        expect(agreement.maxSteps).toBeLessThanOrEqual(1);
        expect(agreement.equal).toBeGreaterThanOrEqual(0.9);
        qat.writeInto(quantized);
        x.dispose();
        qat.dispose();
        // The same check with the folded weights trained (no BatchNormalization apart), for comparison.
        const folded = await QatModel.fromQdq(quantized, { float });
        await trainQat(folded, new TensorDataset({ x: train }), {
          epochs: 1,
          batchSize: 8,
          learningRate: 1e-3,
          teacher: await backend.createSession(float),
          temperature: 1,
        });
        console.log(
          `folded weights trained, converted vs fake-quant: ${JSON.stringify(await logitAgreement(folded, heldOut))}`,
        );
        folded.dispose();
        checked = true;
        return {};
      },
    });
    expect(checked).toBe(true);
    // Converted: folded Convs, no BatchNormalization, PTQ's placement node for node.
    const placement = (m: Model) => m.graph.nodes.map((n) => `${n.opType}(${n.inputs.map((v) => v?.name).join(',')})`);
    expect(result.model.graph.nodes.some((n) => n.opType === 'BatchNormalization')).toBe(false);
    expect(placement(result.model)).toEqual(placement(ptq.model));
  }, 600_000);
});
